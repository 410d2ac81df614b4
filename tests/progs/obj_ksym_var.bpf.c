// SPDX-License-Identifier: GPL-2.0
/* A typed __ksym variable: resolved to its BTF VAR id in vmlinux (BPF_PSEUDO_BTF_ID). The
 * kernel then needs the symbol's address from kallsyms, which it only has for data symbols
 * with CONFIG_KALLSYMS_ALL. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern const struct rq runqueues __ksym;

__u64 nr;

SEC("raw_tp/sys_enter")
int ksym_var(void *ctx)
{
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 0);

	if (rq)
		nr = rq->nr_running;
	return 0;
}
