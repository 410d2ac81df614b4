// SPDX-License-Identifier: GPL-2.0
/* __kconfig externs of every type libbpf supports (virtual LINUX_* values, CONFIG_* from the
 * running kernel's Kconfig as bool, tristate, char, integers of each size, char arrays, weak
 * ones that stay zero) and a typeless __ksym resolved from /proc/kallsyms (plus a weak one
 * that is missing). kconfig_run copies every value into the out_* globals. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_PYBPF_UNKNOWN __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern char CONFIG_BPF __kconfig;
extern int CONFIG_HZ __kconfig;
extern __u16 CONFIG_NR_CPUS __kconfig;
extern unsigned char CONFIG_NR_CPUS_RANGE_BEGIN __kconfig;
extern __u64 CONFIG_PHYSICAL_START __kconfig;
extern __s64 CONFIG_ILLEGAL_POINTER_VALUE __kconfig;
extern char CONFIG_LOCALVERSION[16] __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[4] __kconfig;
extern bool CONFIG_KPROBES __kconfig __weak;
extern int CONFIG_PYBPF_NOT_AN_OPTION __kconfig __weak;

extern const void __start_BTF __ksym;
extern const void pybpf_no_such_symbol __ksym __weak;

__u64 out_num[12];
char out_localversion[16];
char out_hostname[4];

SEC("syscall")
int kconfig_run(void *ctx)
{
	out_num[0] = LINUX_KERNEL_VERSION;
	out_num[1] = LINUX_HAS_BPF_COOKIE;
	out_num[2] = LINUX_HAS_SYSCALL_WRAPPER;
	out_num[3] = LINUX_PYBPF_UNKNOWN + CONFIG_PYBPF_NOT_AN_OPTION + CONFIG_KPROBES;
	out_num[4] = CONFIG_BPF_SYSCALL;
	out_num[5] = CONFIG_BPF_JIT;
	out_num[6] = CONFIG_BPF;
	out_num[7] = CONFIG_HZ + CONFIG_NR_CPUS * 1000 + CONFIG_NR_CPUS_RANGE_BEGIN * 10000000ULL;
	out_num[8] = CONFIG_PHYSICAL_START;
	out_num[9] = CONFIG_ILLEGAL_POINTER_VALUE;
	out_num[10] = (__u64)&__start_BTF;
	out_num[11] = (__u64)&pybpf_no_such_symbol;
	__builtin_memcpy(out_localversion, CONFIG_LOCALVERSION, 16);
	__builtin_memcpy(out_hostname, CONFIG_DEFAULT_HOSTNAME, 4);
	return 0;
}
