// SPDX-License-Identifier: GPL-2.0
/* Several candidates for one local type: they must agree, and the candidate list of a type
 * shrinks to the candidates that matched as relocations go (libbpf's cache pruning). */
#include "core_common.h"

struct core_amb {
	int a;
	int b;
	int c;
	long d;
} __attribute__((preserve_access_index));

SEC("raw_tp/sys_enter")
int core_ambig(void *ctx)
{
	struct core_amb *s = ctx;

	SINK(BPF_CORE_READ(s, a));
	SINK(BPF_CORE_READ(s, b));
	SINK(bpf_core_field_size(s->b));
	SINK(bpf_core_field_exists(s->c));
	SINK(BPF_CORE_READ(s, c));
	SINK(BPF_CORE_READ(s, d));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
