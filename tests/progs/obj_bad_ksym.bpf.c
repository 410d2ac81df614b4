// SPDX-License-Identifier: GPL-2.0
/* A strong typeless __ksym that /proc/kallsyms does not list. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern const void pybpf_no_such_kernel_symbol __ksym;
__u64 out;

SEC("syscall")
int needs_symbol(void *ctx)
{
	out = (__u64)&pybpf_no_such_kernel_symbol;
	return 0;
}
