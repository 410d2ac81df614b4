// SPDX-License-Identifier: GPL-2.0
/* Perf buffer producer for the events tests: one bpf_perf_event_output() per run.
 *
 * Record n carries its sequence number, its size and a payload that is a function of n, so
 * the test checks every byte; sizes vary ((n * 37) % 241 payload bytes) so that records wrap
 * around the end of the per-CPU rings. Failed outputs (a full ring) are counted.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_PAYLOAD 256

enum { SEQ, SENT, FAILED, NSTATS };

struct var_event {
	__u64 seq;
	__u32 size;		/* payload bytes */
	__u32 magic;
	__u8 payload[MAX_PAYLOAD];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 64);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* failed[seq] = 1 when the output of record seq failed (seq < 4096) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} failed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct var_event);
} scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int perf_variable(struct xdp_md *ctx)
{
	struct var_event *e;
	__u32 zero = 0, idx = SEQ, size, i;
	__u64 seq, *s;
	long err;

	e = bpf_map_lookup_elem(&scratch, &zero);
	s = bpf_map_lookup_elem(&stats, &idx);
	if (!e || !s)
		return XDP_ABORTED;
	seq = __sync_fetch_and_add(s, 1);
	size = (seq * 37) % 241;
	e->seq = seq;
	e->size = size;
	e->magic = 0xfeedbeef;
	for (i = 0; i < MAX_PAYLOAD; i++)
		e->payload[i] = (seq + i) & 0xff;
	asm volatile("%0 &= 0xff" : "+r"(size));
	err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, 16 + size);
	count(err ? FAILED : SENT);
	if (err) {
		__u32 k = seq, one = 1;

		bpf_map_update_elem(&failed, &k, &one, BPF_ANY);
	}
	return XDP_PASS;
}

/* Fixed 24-byte records: runs of same-size samples. */
SEC("xdp")
int perf_fixed(struct xdp_md *ctx)
{
	__u32 idx = SEQ;
	__u64 *s = bpf_map_lookup_elem(&stats, &idx);
	struct { __u64 seq; __u64 square; __u64 inverse; } e;
	long err;

	if (!s)
		return XDP_ABORTED;
	e.seq = __sync_fetch_and_add(s, 1);
	e.square = e.seq * e.seq;
	e.inverse = ~e.seq;
	err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	count(err ? FAILED : SENT);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
