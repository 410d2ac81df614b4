"""Kernel interface: the only layer that makes system calls.

``bpf()`` per architecture (:func:`bpf`), the ``bpf_attr`` layouts and BPF enums generated
from the kernel's BTF (:mod:`pybpf.sys.uapi`), ``perf_event_open``, errno → :mod:`pybpf.errors`,
:class:`FD` ownership, RLIMIT_MEMLOCK handling and the possible-CPU list.

The names below are imported from their modules on first use, so that importing one
submodule (``from pybpf.sys import uapi``) does not load the others.
"""

from __future__ import annotations

from pybpf.lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.sys.cpus import num_possible_cpus, online_cpus, parse_cpu_list, possible_cpus
    from pybpf.sys.fd import FD
    from pybpf.sys.perf import perf_event_ioctl, perf_event_open
    from pybpf.sys.probe import probe_bpf_syscall
    from pybpf.sys.rlimit import ensure_memlock_rlimit, kernel_uses_memcg
    from pybpf.sys.syscall import SYSCALL_NUMBERS, bpf, bpf_raw, command_name, syscall_numbers

__all__ = [
    "FD",
    "SYSCALL_NUMBERS",
    "bpf",
    "bpf_raw",
    "command_name",
    "ensure_memlock_rlimit",
    "kernel_uses_memcg",
    "num_possible_cpus",
    "online_cpus",
    "parse_cpu_list",
    "perf_event_ioctl",
    "perf_event_open",
    "possible_cpus",
    "probe_bpf_syscall",
    "syscall_numbers",
]

#: exported name -> the submodule defining it
_LAZY = {
    "FD": "fd",
    "SYSCALL_NUMBERS": "syscall", "bpf": "syscall", "bpf_raw": "syscall",
    "command_name": "syscall", "syscall_numbers": "syscall",
    "ensure_memlock_rlimit": "rlimit", "kernel_uses_memcg": "rlimit",
    "num_possible_cpus": "cpus", "online_cpus": "cpus", "parse_cpu_list": "cpus",
    "possible_cpus": "cpus",
    "perf_event_ioctl": "perf", "perf_event_open": "perf",
    "probe_bpf_syscall": "probe",
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY, f"{__name__}.")

