// SPDX-License-Identifier: GPL-2.0
/* A kprobe: it loads everywhere, but auto-attaching needs CONFIG_KPROBES. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 hits;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_nanosleep)
{
	hits++;
	return 0;
}
