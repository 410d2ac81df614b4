// SPDX-License-Identifier: GPL-2.0
/* CO-RE relocations inside a BPF-to-BPF subprogram (.text), which libbpf relocates in the
 * subprogram's own instructions before appending them to each program that calls it. */
#include "core_common.h"

struct core_inner {
	int x;
	int y;
} __attribute__((preserve_access_index));

struct core_sample {
	int a;
	unsigned int u;
	struct core_inner in;
} __attribute__((preserve_access_index));

static __noinline int core_sub(struct core_sample *s)
{
	SINK(BPF_CORE_READ(s, in.y));
	SINK(bpf_core_field_exists(s->u));
	return bpf_core_type_size(struct core_inner);
}

SEC("raw_tp/sys_enter")
int core_with_sub(void *ctx)
{
	struct core_sample *s = ctx;

	SINK(BPF_CORE_READ(s, a));
	return core_sub(s);
}

SEC("raw_tp/sys_exit")
int core_with_sub2(void *ctx)
{
	return core_sub(ctx) + bpf_core_field_size(((struct core_sample *)ctx)->in);
}

char LICENSE[] SEC("license") = "GPL";
