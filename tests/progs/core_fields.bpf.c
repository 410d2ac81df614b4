// SPDX-License-Identifier: GPL-2.0
/* Field relocations of every kind against "old kernel" definitions of test types; the target
 * BTFs in tests/core/targets/ describe "newer kernels" where fields moved, were renamed,
 * resized, turned into bitfields and so on. */
#include "core_common.h"

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
struct core_inner {
	int x;
	int y;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef unsigned int core_u32;

struct core_sample {
	int a;
	unsigned int u;
	int s;
	unsigned char c;
	struct core_inner in;
	struct {
		long anon_l;
		char anon_c;
	};
	union {
		int ui;
		short us;
	};
	unsigned int bf1:3, bf2:7, bf3:22;
	int sbf:5;
	int arr[4];
	int grid[2][3];
	enum core_color col;
	enum core_big big;
	core_u32 tu;
	struct core_inner *next;
	void *ptr;
	unsigned long long ull;
	char flex[];
};
#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int core_probe_reads(void *ctx)
{
	struct core_sample *s = ctx;

	SINK(BPF_CORE_READ(s, a));
	SINK(BPF_CORE_READ(s, in.y));
	SINK(BPF_CORE_READ(s, anon_l));
	SINK(BPF_CORE_READ(s, anon_c));
	SINK(BPF_CORE_READ(s, us));
	SINK(BPF_CORE_READ(s, arr[3]));
	SINK(BPF_CORE_READ(s, grid[1][2]));
	SINK(BPF_CORE_READ(s, next, y));
	SINK(BPF_CORE_READ(s, tu));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(s, bf1));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(s, bf2));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(s, bf3));
	SINK(BPF_CORE_READ_BITFIELD_PROBED(s, sbf));
	return 0;
}

SEC("raw_tp/sys_enter")
int core_direct_access(void *ctx)
{
	struct core_sample *s = ctx;

	SINK(s->a);
	SINK(s->u);
	SINK(s->s);
	SINK(s->c);
	SINK(s->in.x);
	SINK(s->tu);
	SINK(s->ptr);
	SINK(s->ull);
	SINK(s->next);
	SINK(s->arr[1]);
	SINK(BPF_CORE_READ_BITFIELD(s, bf2));
	s->u = 7;
	s->c = (unsigned char)(long)ctx;
	s->in.y = (int)(long)ctx;
	return 0;
}

SEC("raw_tp/sys_enter")
int core_field_info(void *ctx)
{
	struct core_sample *s = ctx;

	SINK(bpf_core_field_exists(s->a));
	SINK(bpf_core_field_exists(s->anon_c));
	SINK(bpf_core_field_exists(s->bf3));
	SINK(bpf_core_field_exists(s->arr[3]));
	SINK(bpf_core_field_exists(s->flex));
	SINK(bpf_core_field_size(s->a));
	SINK(bpf_core_field_size(s->in));
	SINK(bpf_core_field_size(s->bf2));
	SINK(bpf_core_field_size(s->arr));
	SINK(bpf_core_field_size(s->arr[0]));
	SINK(bpf_core_field_size(s->grid[1]));
	SINK(bpf_core_field_size(s->big));
	SINK(bpf_core_field_offset(s->in.y));
	SINK(bpf_core_field_offset(s->arr[2]));
	SINK(bpf_core_field_offset(s->flex[5]));
	SINK(bpf_core_field_offset(s->ui));
	SINK(__builtin_preserve_field_info(s->a, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->u, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->col, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->big, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->sbf, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->tu, BPF_FIELD_SIGNED));
	SINK(__builtin_preserve_field_info(s->bf2, BPF_FIELD_LSHIFT_U64));
	SINK(__builtin_preserve_field_info(s->bf2, BPF_FIELD_RSHIFT_U64));
	SINK(__builtin_preserve_field_info(s->in, BPF_FIELD_LSHIFT_U64));
	SINK(__builtin_preserve_field_info(s->c, BPF_FIELD_RSHIFT_U64));
	return 0;
}

SEC("raw_tp/sys_enter")
int core_type_and_enum_info(void *ctx)
{
	SINK(bpf_core_type_exists(struct core_sample));
	SINK(bpf_core_type_exists(struct core_inner));
	SINK(bpf_core_type_exists(core_u32));
	SINK(bpf_core_type_size(struct core_sample));
	SINK(bpf_core_type_size(struct core_inner));
	SINK(bpf_core_type_size(enum core_big));
	SINK(bpf_core_type_matches(struct core_inner));
	SINK(bpf_core_type_matches(enum core_color));
	SINK(bpf_core_type_id_local(struct core_sample));
	SINK(bpf_core_type_id_kernel(struct core_sample));
	SINK(bpf_core_type_id_kernel(struct core_inner));
	SINK(bpf_core_enum_value_exists(enum core_color, CORE_RED));
	SINK(bpf_core_enum_value_exists(enum core_color, CORE_BLUE));
	SINK(bpf_core_enum_value(enum core_color, CORE_GREEN));
	SINK(bpf_core_enum_value(enum core_color, CORE_BLUE));
	SINK(bpf_core_enum_value(enum core_color, CORE_RED));
	SINK(bpf_core_enum_value_exists(enum core_big, CORE_B2));
	SINK(bpf_core_enum_value(enum core_big, CORE_B1));
	SINK(bpf_core_enum_value(enum core_big, CORE_B2));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
