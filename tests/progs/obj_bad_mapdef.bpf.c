// SPDX-License-Identifier: GPL-2.0
/* A BTF map definition with an attribute libbpf does not know (refused in strict mode). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pybpf_color, 3);
} weird SEC(".maps");

SEC("xdp")
int uses_weird(struct xdp_md *ctx)
{
	__u32 k = 0;

	bpf_map_lookup_elem(&weird, &k);
	return XDP_PASS;
}
