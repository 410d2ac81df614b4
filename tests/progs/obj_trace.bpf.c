// SPDX-License-Identifier: GPL-2.0
/* Tracing programs this kernel attaches: tp, raw_tp, tp_btf (attach_btf_id of
 * btf_trace_sys_enter), an iterator over tasks (attach_btf_id of bpf_iter_task), plus
 * programs libbpf does not auto-attach (a bare SEC("raw_tp"), an XDP program). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

int target_pid;
__u64 tp_hits, raw_hits, btf_hits, bare_hits;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("tp/syscalls/sys_enter_getpid")
int on_tp(void *ctx)
{
	if (mine())
		tp_hits++;
	return 0;
}

SEC("raw_tp/sys_enter")
int on_raw(void *ctx)
{
	if (mine())
		raw_hits++;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_btf, struct pt_regs *regs, long id)
{
	if (mine() && id == 39)
		btf_hits++;
	return 0;
}

SEC("raw_tp")
int on_bare(void *ctx)
{
	bare_hits++;
	return 0;
}

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	if (task->tgid == target_pid && task->pid == task->tgid)
		BPF_SEQ_PRINTF(ctx->meta->seq, "pid %d comm %s\n", task->pid, task->comm);
	return 0;
}

SEC("xdp")
int not_attached(struct xdp_md *ctx)
{
	return XDP_PASS;
}
