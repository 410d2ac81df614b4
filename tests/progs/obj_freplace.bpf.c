// SPDX-License-Identifier: GPL-2.0
/* An freplace (BPF_PROG_TYPE_EXT) program replacing obj_freplace_target's pick_verdict():
 * it needs its target program set before loading (set_attach_target(program=...)). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 replaced_runs;
int verdict = XDP_DROP;

SEC("freplace/pick_verdict")
int new_verdict(struct xdp_md *ctx)
{
	replaced_runs++;
	return verdict;
}
