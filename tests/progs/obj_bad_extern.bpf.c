// SPDX-License-Identifier: GPL-2.0
/* A strong __kconfig extern no kernel configuration has. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern int CONFIG_PYBPF_NO_SUCH_OPTION __kconfig;
int out;

SEC("syscall")
int needs_option(void *ctx)
{
	out = CONFIG_PYBPF_NO_SUCH_OPTION;
	return 0;
}
