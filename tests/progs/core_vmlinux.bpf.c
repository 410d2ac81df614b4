// SPDX-License-Identifier: GPL-2.0
/* CO-RE against the running kernel: minimal local definitions of real kernel types (no
 * vmlinux.h), relocated against /sys/kernel/btf/vmlinux. */
#include "core_common.h"

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
struct list_head {
	struct list_head *next, *prev;
};

struct mm_struct {
	unsigned long task_size;
};

struct sched_entity {
	unsigned long long vruntime;
	unsigned long long sum_exec_runtime;
};

struct task_struct {
	unsigned int flags;
	int prio;
	struct sched_entity se;
	struct mm_struct *mm;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	char comm[16];
	unsigned int sched_reset_on_fork:1;
	unsigned int sched_contributes_to_load:1;
	struct list_head children;
};

/* Before Linux 5.14 the task state was 'long state'; since then 'unsigned int __state'. */
struct task_struct___old {
	long state;
};

struct task_struct___new {
	unsigned int __state;
};

struct sk_buff {
	unsigned int len;
	unsigned char cloned:1, nohdr:1, fclone:2, peeked:1, head_frag:1;
};

/* Two different types are called syscall_tp_t in the kernel's BTF. */
struct syscall_tp_t {
	int syscall_nr;
	unsigned long ret;
	unsigned long args[6];
};

struct pybpf_no_such_kernel_struct {
	int x;
};
#pragma clang attribute pop

enum bpf_map_type { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_RINGBUF = 27, BPF_MAP_TYPE_NO_SUCH = 4242 };
enum pid_type { PIDTYPE_PID, PIDTYPE_TGID };
enum perf_callchain_context { PERF_CONTEXT_HV = 0xffffffffffffffe0ULL, PERF_CONTEXT_KERNEL = 0xffffffffffffff80ULL };

SEC("raw_tp/sched_switch")
int core_vmlinux_task(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___old *to = (void *)t;
	struct task_struct___new *tn = (void *)t;
	struct sk_buff *skb = (void *)t;

	SINK(BPF_CORE_READ(t, pid));
	SINK(BPF_CORE_READ(t, tgid));
	SINK(BPF_CORE_READ(t, flags));
	SINK(BPF_CORE_READ(t, prio));
	SINK(BPF_CORE_READ(t, se.vruntime));
	SINK(BPF_CORE_READ(t, se.sum_exec_runtime));
	SINK(BPF_CORE_READ(t, real_parent, tgid));
	SINK(BPF_CORE_READ(t, mm, task_size));
	SINK(BPF_CORE_READ(t, children.next));
	SINK(BPF_CORE_READ(t, comm[3]));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(t, sched_contributes_to_load));
	if (bpf_core_field_exists(to->state))
		SINK(BPF_CORE_READ(to, state));
	else
		SINK(BPF_CORE_READ(tn, __state));
	SINK(bpf_core_field_size(t->comm));
	SINK(bpf_core_field_offset(t->comm[15]));
	SINK(bpf_core_field_size(tn->__state));
	SINK(BPF_CORE_READ(skb, len));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(skb, cloned));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(skb, fclone));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(skb, head_frag));
	return 0;
}

SEC("raw_tp/sched_switch")
int core_vmlinux_types(void *ctx)
{
	struct syscall_tp_t *sc = ctx;

	SINK(bpf_core_type_exists(struct task_struct));
	SINK(bpf_core_type_exists(struct pybpf_no_such_kernel_struct));
	SINK(bpf_core_type_size(struct task_struct));
	SINK(bpf_core_type_size(struct list_head));
	SINK(bpf_core_type_matches(struct list_head));
	SINK(bpf_core_type_matches(struct task_struct));
	SINK(bpf_core_type_id_kernel(struct task_struct));
	SINK(bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF));
	SINK(bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_NO_SUCH));
	SINK(bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF));
	SINK(bpf_core_enum_value(enum pid_type, PIDTYPE_TGID));
	SINK(bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL));
	SINK(BPF_CORE_READ(sc, syscall_nr));
	SINK(BPF_CORE_READ(sc, ret));
	SINK(BPF_CORE_READ(sc, args[1]));
	return 0;
}

SEC("tp_btf/sched_switch")
int core_vmlinux_btf(unsigned long long *ctx)
{
	struct task_struct *prev = (void *)ctx[1];

	SINK(prev->pid);
	SINK(prev->tgid);
	SINK(prev->flags);
	SINK(prev->se.vruntime);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
