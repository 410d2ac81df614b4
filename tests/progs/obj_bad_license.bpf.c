// SPDX-License-Identifier: GPL-2.0
/* No license section, but a GPL-only helper (bpf_probe_read_kernel): the kernel refuses it. */
#include "obj_common.h"

__u64 value;

SEC("raw_tp/sys_enter")
int needs_gpl(void *ctx)
{
	bpf_probe_read_kernel(&value, sizeof(value), ctx);
	return 0;
}
