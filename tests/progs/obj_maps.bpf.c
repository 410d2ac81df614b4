// SPDX-License-Identifier: GPL-2.0
/* BTF-defined maps of every flavour libbpf parses: types and sizes given as types or sizes,
 * flags, numa_node, map_extra, a ring buffer whose size libbpf rounds up, a perf event array
 * sized by the loader, map-in-maps with an inner map template and initial slots, and a
 * program array whose initial slots point at other programs (tail calls). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_b, [2] = &inner_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 5);
	__type(key, int);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [4] = &inner_a },
};

SEC("tc") int tail_1(struct __sk_buff *skb);
SEC("tc") int tail_3(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_1, [3] = (void *)&tail_3 },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} hash_noprealloc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32);
	__uint(key_size, 8);
	__uint(value_size, 16);
} lru_sized SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 16);
	__uint(map_extra, 3);
	__type(value, __u32);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__type(key, __u32);
	__type(value, __u32);
} numa SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

__u64 results[4];

SEC("tc")
int tail_1(struct __sk_buff *skb)
{
	results[1] = 11;
	return 1;
}

SEC("tc")
int tail_3(struct __sk_buff *skb)
{
	results[3] = 33;
	return 3;
}

SEC("tc")
int maps_main(struct __sk_buff *skb)
{
	__u32 k0 = 0, k1 = 1;
	int k4 = 4;
	void *inner;
	__u64 *v;

	inner = bpf_map_lookup_elem(&outer_arr, &k0);
	if (inner) {
		v = bpf_map_lookup_elem(inner, &k1);
		if (v)
			results[0] = *v;
	}
	inner = bpf_map_lookup_elem(&outer_hash, &k4);
	if (inner) {
		v = bpf_map_lookup_elem(inner, &k0);
		if (v)
			results[2] = *v;
	}
	bpf_tail_call(skb, &jmp_table, skb->mark);
	return 0;
}
