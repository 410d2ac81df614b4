/* Shared by the CO-RE test programs (tests/progs/core_*.bpf.c). */
#ifndef CORE_COMMON_H
#define CORE_COMMON_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Keep a value alive without emitting code or touching maps/global data, so the only
 * instructions libbpf changes in these programs are CO-RE relocations. */
#define SINK(x) asm volatile("" :: "r"((long)(x)))

#endif
