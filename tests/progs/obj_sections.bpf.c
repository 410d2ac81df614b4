// SPDX-License-Identifier: GPL-2.0
/* Data sections newer libbpf (1.2+) maps and libbpf 1.1 does not: a custom .bss.X section
 * (zero-filled, its own internal map named after the section), next to .rodata strings in
 * clang's .rodata.str1.1 (no BTF: a map that is not mmapable). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u32 custom_bss SEC(".bss.custom");
__u64 seen;

SEC("xdp")
int sections_xdp(struct xdp_md *ctx)
{
	custom_bss += 2;
	seen = custom_bss;
	return XDP_PASS;
}
