// SPDX-License-Identifier: GPL-2.0
/* Type-based relocations (exists, size, matches, target id) over many kinds of types, each
 * paired with a differently shaped namesake in tests/core/targets/core_types_target.c. */
#include "core_common.h"

struct core_m_fwd;

struct core_m_subset { int a; long b; };
struct core_m_intsize { int a; };
struct core_m_sign { unsigned int a; };
struct core_m_ptr { struct core_m_fwd *p; struct core_m_subset *q; };
struct core_m_ptr_kind { struct core_m_subset *p; };
union core_m_union { int a; char b; };
struct core_m_vs_union { int a; };
enum core_m_enum { CME_A, CME_B };
enum core_m_enum_missing { CMM_A, CMM_B };
enum core_m_enum64 { CM64_A = 0x100000000ULL, CM64_B };
enum core_m_enum_size { CMS_A, CMS_B };
typedef int (*core_m_fn)(int, long);
typedef int (*core_m_fn_arity)(int, long);
typedef long core_m_long;
typedef unsigned int core_m_uint;
struct core_m_arr { int a[4]; };
struct core_m_nested { struct core_m_subset s; int z; };
struct core_m_anon { struct { int x; }; int y; };
struct core_m_flavor___local { int a; };
struct core_m_names { int a; int b; };
struct core_m_float { float f; double d; };
struct core_m_absent { int a; };

#define PROBE(T)						\
	do {							\
		SINK(bpf_core_type_exists(T));			\
		SINK(bpf_core_type_size(T));			\
		SINK(bpf_core_type_matches(T));			\
	} while (0)

SEC("raw_tp/sys_enter")
int core_types(void *ctx)
{
	PROBE(struct core_m_subset);
	PROBE(struct core_m_intsize);
	PROBE(struct core_m_sign);
	PROBE(struct core_m_ptr);
	PROBE(struct core_m_ptr_kind);
	PROBE(union core_m_union);
	PROBE(struct core_m_vs_union);
	PROBE(enum core_m_enum);
	PROBE(enum core_m_enum_missing);
	PROBE(enum core_m_enum64);
	PROBE(enum core_m_enum_size);
	PROBE(core_m_fn);
	PROBE(core_m_fn_arity);
	PROBE(core_m_long);
	PROBE(core_m_uint);
	PROBE(struct core_m_arr);
	PROBE(struct core_m_nested);
	PROBE(struct core_m_anon);
	PROBE(struct core_m_flavor___local);
	PROBE(struct core_m_names);
	PROBE(struct core_m_float);
	PROBE(struct core_m_absent);
	SINK(bpf_core_type_id_kernel(struct core_m_subset));
	SINK(bpf_core_type_id_kernel(core_m_fn));
	SINK(bpf_core_type_id_local(struct core_m_nested));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
