// SPDX-License-Identifier: GPL-2.0
/* A map pinned by name (LIBBPF_PIN_BY_NAME): created and pinned by the first load, reused by
 * the next ones. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pybpf_pinned_counts SEC(".maps");

SEC("xdp")
int pinned_xdp(struct xdp_md *ctx)
{
	__u32 k = 1;
	__u64 one = 1, *v = bpf_map_lookup_elem(&pybpf_pinned_counts, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&pybpf_pinned_counts, &k, &one, BPF_ANY);
	return XDP_PASS;
}
