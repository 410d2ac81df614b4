/* SPDX-License-Identifier: GPL-2.0 */
/* Shared pieces of the object loader's fixtures (tests/progs/obj_*.bpf.c): the kernel's types
 * come from a pybpf-generated vmlinux.h (the vmlinux_h fixture), helpers from libbpf's headers,
 * and a few macros that newer libbpf headers have and the installed libbpf 1.1 lacks. */
#ifndef OBJ_COMMON_H
#define OBJ_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ \
	_Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak"); \
	!!sym; \
})
#endif

#ifndef __exception_cb
#define __exception_cb(name) __attribute__((btf_decl_tag("exception_callback:" #name)))
#endif

#endif
