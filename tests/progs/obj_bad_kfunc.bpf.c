// SPDX-License-Identifier: GPL-2.0
/* A strong kfunc the kernel does not have. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern int bpf_pybpf_no_such_kfunc(int x) __ksym;
int out;

SEC("syscall")
int needs_kfunc(void *ctx)
{
	out = bpf_pybpf_no_such_kfunc(1);
	return 0;
}
