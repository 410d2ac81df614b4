// SPDX-License-Identifier: GPL-2.0
/* kfuncs: calls through BPF_PSEUDO_KFUNC_CALL with their kernel BTF ids, a kfunc's address
 * through ld_imm64 (bpf_ksym_exists), and a weak kfunc the kernel does not have, guarded so
 * that its poisoned call is dead code. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern void bpf_pybpf_no_such_kfunc(void) __ksym __weak;

int want_pid;
int got_pid;
int have_missing;
int have_release;

SEC("syscall")
int kfunc_run(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(want_pid);

	if (t) {
		got_pid = t->pid;
		bpf_task_release(t);
	}
	have_release = bpf_ksym_exists(bpf_task_release);
	have_missing = bpf_ksym_exists(bpf_pybpf_no_such_kfunc);
	if (bpf_ksym_exists(bpf_pybpf_no_such_kfunc))
		bpf_pybpf_no_such_kfunc();
	return 0;
}
