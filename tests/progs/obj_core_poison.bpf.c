// SPDX-License-Identifier: GPL-2.0
/* A CO-RE relocation that cannot be applied (the field exists nowhere) and is not guarded:
 * the loader poisons the instruction, the verifier reaches it and refuses the program. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct task_struct___pybpf {
	int pybpf_no_such_field;
} __attribute__((preserve_access_index));

int value;

SEC("tp/syscalls/sys_enter_getpid")
int core_poisoned(void *ctx)
{
	struct task_struct___pybpf *t = (void *)bpf_get_current_task();

	value = BPF_CORE_READ(t, pybpf_no_such_field);
	return 0;
}
