// SPDX-License-Identifier: GPL-2.0
/* USDT through libbpf's own usdt.bpf.h (its __weak __hidden subprograms, its
 * LINUX_HAS_BPF_COOKIE kconfig extern, its spec and ip maps): auto-attached to the pybpf:tick
 * probe of the binary USDT_TARGET (given with -DUSDT_TARGET="path"). */
#include "obj_common.h"
#include <bpf/usdt.bpf.h>

#ifndef USDT_TARGET
#define USDT_TARGET "/bin/true"
#endif

char LICENSE[] SEC("license") = "GPL";

__u64 ticks;
long last_arg;
long arg_sum;

SEC("usdt/" USDT_TARGET ":pybpf:tick")
int BPF_USDT(on_tick, int i, long total)
{
	ticks++;
	last_arg = i;
	arg_sum += total;
	return 0;
}
