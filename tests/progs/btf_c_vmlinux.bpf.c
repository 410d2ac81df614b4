/* Built against the vmlinux.h pybpf generates (the vmlinux_h fixture) together with libbpf's
 * helper headers: CO-RE reads, BPF_PROG/BPF_KPROBE wrappers, a ring buffer map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct event {
	pid_t pid;
	pid_t ppid;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(p, tgid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	bpf_core_read_str(e->comm, sizeof(e->comm), &p->comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_nanosleep, struct hrtimer_sleeper *t)
{
	if (bpf_core_field_exists(t->timer.state))
		return BPF_CORE_READ(t, timer.state);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
