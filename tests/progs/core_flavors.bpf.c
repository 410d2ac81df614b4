// SPDX-License-Identifier: GPL-2.0
/* Flavors: local "___suffix" variants of a type, used to follow a field rename across kernel
 * versions, and flavored / unusually underscored names on both sides. */
#include "core_common.h"

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
struct core_task {
	int pid;
	long state;
};

struct core_task___new {
	int pid;
	unsigned int __state;
};

struct core_flv___local {
	int a;
	int b;
};

struct core____odd {
	int a;
};

struct core_trail___ {
	int a;
};
#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int core_flavors(void *ctx)
{
	struct core_task *t = ctx;
	struct core_task___new *tn = ctx;
	struct core_flv___local *f = ctx;
	struct core____odd *o = ctx;
	struct core_trail___ *tr = ctx;

	SINK(BPF_CORE_READ(t, pid));
	if (bpf_core_field_exists(t->state))
		SINK(BPF_CORE_READ(t, state));
	else
		SINK(BPF_CORE_READ(tn, __state));
	SINK(bpf_core_field_exists(tn->__state));
	SINK(BPF_CORE_READ(tn, pid));
	SINK(bpf_core_type_exists(struct core_task___new));
	SINK(bpf_core_type_size(struct core_task___new));
	SINK(BPF_CORE_READ(f, b));
	SINK(bpf_core_type_matches(struct core_flv___local));
	SINK(BPF_CORE_READ(o, a));
	SINK(BPF_CORE_READ(tr, a));
	/* last: two flavors of core_task give two different ids, which is ambiguous */
	SINK(bpf_core_type_id_kernel(struct core_task___new));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
