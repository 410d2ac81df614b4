// SPDX-License-Identifier: GPL-2.0
/* BPF-to-BPF calls: static subprograms shared by several entry programs (each gets its own
 * copy, appended in first-use order), a global subprogram, a hidden global (its BTF FUNC made
 * static at load), callbacks passed to bpf_loop() and bpf_for_each_map_elem() (ld_imm64 of a
 * function: BPF_PSEUDO_FUNC). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 results[8];
int mode = 3;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

static __noinline int sub_c(int x)
{
	return x * 3 + 1;
}

static __noinline int sub_b(int x)
{
	return sub_c(x) + 2;
}

static __noinline int sub_a(int x)
{
	return sub_b(x) * 2;
}

__noinline int global_sub(int x)
{
	return x + 100;
}

__hidden __noinline int hidden_sub(int x)
{
	return (x ^ 5) + results[7];
}

static int loop_cb(__u32 idx, void *ctx)
{
	__u64 *sum = ctx;

	*sum += idx;
	return 0;
}

static __u64 each_cb(struct bpf_map *map, __u32 *key, __u64 *val, void *ctx)
{
	*(__u64 *)ctx += *val + *key;
	return 0;
}

SEC("xdp")
int calls_a(struct xdp_md *ctx)
{
	results[0] = sub_a(mode);
	results[1] = global_sub(mode);
	return XDP_PASS;
}

SEC("xdp")
int calls_b(struct xdp_md *ctx)
{
	__u64 sum = 0;

	results[2] = sub_c(mode) + hidden_sub(mode);
	bpf_loop(10, loop_cb, &sum, 0);
	results[3] = sum;
	return XDP_PASS;
}

SEC("tc")
int calls_c(struct __sk_buff *skb)
{
	__u64 sum = 0;

	bpf_for_each_map_elem(&arr, each_cb, &sum, 0);
	results[4] = sum + sub_b(mode);
	return 0;
}
