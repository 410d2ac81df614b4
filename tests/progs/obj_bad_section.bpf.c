// SPDX-License-Identifier: GPL-2.0
/* A program in a section no SEC() definition matches: it opens, but cannot be loaded until its
 * type is set. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("pybpf_no_such_section")
int mystery(void *ctx)
{
	return 0;
}

SEC("xdp")
int fine(struct xdp_md *ctx)
{
	return XDP_PASS;
}
