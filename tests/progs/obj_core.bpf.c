// SPDX-License-Identifier: GPL-2.0
/* CO-RE against the running kernel through vmlinux.h: field reads through pointers, a bitfield,
 * field existence (also of a field only a ___flavor has), type existence and size, enum values.
 * core_getpid runs on sys_enter_getpid for target_pid and fills the globals. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct task_struct___pybpf {
	int pybpf_no_such_field;
} __attribute__((preserve_access_index));

struct pybpf_no_such_type {
	int x;
} __attribute__((preserve_access_index));

int target_pid;
int seen_pid;
int seen_tgid;
int seen_ppid;
char seen_comm[16];
int has_pid;
int has_missing;
int has_type;
int missing_type;
int task_size;
__u64 enum_val;
__u64 reset_on_fork;
int hits;

SEC("tp/syscalls/sys_enter_getpid")
int core_getpid(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	if (BPF_CORE_READ(t, tgid) != target_pid)
		return 0;
	hits++;
	seen_pid = BPF_CORE_READ(t, pid);
	seen_tgid = BPF_CORE_READ(t, tgid);
	seen_ppid = BPF_CORE_READ(t, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&seen_comm, t, comm);
	has_pid = bpf_core_field_exists(t->pid);
	has_missing = bpf_core_field_exists(((struct task_struct___pybpf *)t)->pybpf_no_such_field);
	has_type = bpf_core_type_exists(struct task_struct);
	missing_type = bpf_core_type_exists(struct pybpf_no_such_type);
	task_size = bpf_core_type_size(struct task_struct);
	enum_val = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	return 0;
}
