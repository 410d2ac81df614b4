// SPDX-License-Identifier: GPL-2.0
/* The target of obj_freplace: an XDP program whose verdict comes from a global function
 * (global functions are verified on their own, so an freplace program can replace them). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 target_runs;

__noinline int pick_verdict(struct xdp_md *ctx)
{
	if (!ctx)
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("xdp")
int freplace_target(struct xdp_md *ctx)
{
	target_runs++;
	return pick_verdict(ctx);
}
