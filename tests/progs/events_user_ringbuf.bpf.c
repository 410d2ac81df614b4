// SPDX-License-Identifier: GPL-2.0
/* Drains a user ring buffer (bpf_user_ringbuf_drain) and records what it saw.
 *
 * Samples written by the test start with a header {u32 len; u32 seq} followed by len payload
 * bytes. For each sample the program stores its seq, len, a checksum of the payload, and
 * whether the sample is exactly 8 + len bytes long as the kernel hands it over (the last byte
 * is readable, the one after it is not).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SEEN 256
#define MAX_PAYLOAD 64

struct header {
	__u32 len;
	__u32 seq;
};

struct seen {
	__u32 len;
	__u32 seq;
	__u64 checksum;		/* sum of payload[i] * (i + 1) */
	__u32 size_ok;
	__u32 pad;
};

enum { COUNT, LAST_RET, CALLS, NSTATE };

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} urb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SEEN);
	__type(key, __u32);
	__type(value, struct seen);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSTATE);
	__type(key, __u32);
	__type(value, __s64);
} state SEC(".maps");

/* The dynptr pointer cannot be spilled to the stack (the verifier forgets what it is), so all
 * reads of the sample come first, while it still lives in a register. */
static long on_sample(struct bpf_dynptr *sample, void *ctx)
{
	__u32 idx = COUNT, slot, i;
	struct header h;
	struct seen rec = {};
	__u8 payload[MAX_PAYLOAD];
	__u8 byte;
	struct seen *out;
	__s64 *count;
	__u64 sum = 0;

	__builtin_memset(payload, 0, sizeof(payload));
	if (bpf_dynptr_read(&h, sizeof(h), sample, 0, 0))
		return 1;
	if (h.len > MAX_PAYLOAD)
		return 1;
	if (h.len && bpf_dynptr_read(payload, h.len, sample, sizeof(h), 0))
		return 1;
	rec.size_ok = bpf_dynptr_read(&byte, 1, sample, sizeof(h) + h.len - 1, 0) == 0;
	if (rec.size_ok)
		rec.size_ok = bpf_dynptr_read(&byte, 1, sample, sizeof(h) + h.len, 0) != 0;
	for (i = 0; i < MAX_PAYLOAD; i++)
		sum += (__u64)payload[i] * (i + 1);
	rec.len = h.len;
	rec.seq = h.seq;
	rec.checksum = sum;

	count = bpf_map_lookup_elem(&state, &idx);
	if (!count)
		return 1;
	slot = *count;
	out = bpf_map_lookup_elem(&seen, &slot);
	if (!out)
		return 1;
	*out = rec;
	*count += 1;
	return 0;
}

SEC("xdp")
int drain(struct xdp_md *ctx)
{
	__u32 idx = LAST_RET;
	__s64 *ret = bpf_map_lookup_elem(&state, &idx);
	long n;

	n = bpf_user_ringbuf_drain(&urb, on_sample, NULL, 0);
	if (ret)
		*ret = n;
	idx = CALLS;
	ret = bpf_map_lookup_elem(&state, &idx);
	if (ret)
		*ret += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
