/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Definitions the tools' BPF sources share; vmlinux.h carries types, not macros. */
#ifndef __PYBPF_TOOLS_BPF_H
#define __PYBPF_TOOLS_BPF_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255
#define INVALID_UID ((uid_t)-1)

#endif /* __PYBPF_TOOLS_BPF_H */
