// SPDX-License-Identifier: GPL-2.0
/* A map in the legacy "maps" section (struct bpf_map_def), which libbpf 1.0+ refuses. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def old_style SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
};

SEC("xdp")
int uses_old(struct xdp_md *ctx)
{
	__u32 k = 0;

	bpf_map_lookup_elem(&old_style, &k);
	return XDP_PASS;
}
