// SPDX-License-Identifier: GPL-2.0
/* BTF-targeted tracing programs (attach_btf_id of a kernel function / LSM hook), sleepable
 * variants (BPF_F_SLEEPABLE) and a program that is not loaded by default (SEC("?...")). On a
 * kernel without BPF trampolines they pass the verifier and are then refused. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 calls;

SEC("fentry/do_nanosleep")
int BPF_PROG(fentry_nanosleep)
{
	calls++;
	return 0;
}

SEC("fexit/do_nanosleep")
int BPF_PROG(fexit_nanosleep, void *a, int b, int ret)
{
	calls++;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
	return 0;
}

SEC("fentry.s/do_nanosleep")
int BPF_PROG(sleepable_nanosleep)
{
	return 0;
}

SEC("?fentry/vfs_read")
int BPF_PROG(not_loaded)
{
	return 0;
}
