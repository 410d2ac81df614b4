"""RLIMIT_MEMLOCK, raised only where the kernel still charges BPF memory against it.

Before Linux 5.11, maps and programs were charged to RLIMIT_MEMLOCK, whose default (64 KiB or
8 MiB) is far too small. Since 5.11 they are charged to the memory cgroup instead and the limit
does not matter. Like libbpf, pybpf detects which accounting the kernel does with a probe that
only loads on 5.11+ kernels (a program calling ``bpf_ktime_get_coarse_ns``, which arrived in the
same release as memcg accounting) and raises the limit to infinity only when the probe fails.
"""

from __future__ import annotations

import ctypes
import resource
import struct
import _thread  # threading's Lock without importing threading (start-up time)

__all__ = ["kernel_uses_memcg", "ensure_memlock_rlimit", "memlock_limit_raised"]

_lock = _thread.allocate_lock()
_state: dict[str, bool] = {}


def kernel_uses_memcg() -> bool:
    """True when BPF memory is charged to the memory cgroup (Linux 5.11+), cached."""
    if "memcg" not in _state:
        _state["memcg"] = _probe_memcg_account()
    return _state["memcg"]


def _probe_memcg_account() -> bool:
    # "call bpf_ktime_get_coarse_ns; exit" as a socket filter: loads only on 5.11+.
    from pybpf.sys import uapi
    from pybpf.sys.commands import attr_size
    from pybpf.sys.syscall import bpf_raw
    import os

    # Numbers from the enum tables: building bpf_func_id (211 members) for one number would
    # cost more than the probe itself.
    func = dict(uapi.enum_members("bpf_func_id"))["BPF_FUNC_ktime_get_coarse_ns"]
    insns = struct.pack("<BBhiBBhi", 0x85, 0, 0, func, 0x95, 0, 0, 0)
    buf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = uapi.bpf_attr_prog_load()
    attr.prog_type = dict(uapi.enum_members("bpf_prog_type"))["BPF_PROG_TYPE_SOCKET_FILTER"]
    attr.insn_cnt = 2
    attr.insns = ctypes.addressof(buf)
    attr.license = ctypes.addressof(lic)
    fd, _ = bpf_raw(dict(uapi.enum_members("bpf_cmd"))["BPF_PROG_LOAD"], attr,
                    attr_size(uapi.bpf_attr_prog_load, "prog_name"))
    if fd < 0:
        return False
    os.close(fd)
    return True


def ensure_memlock_rlimit() -> None:
    """Raise RLIMIT_MEMLOCK to infinity once per process, if the kernel still charges it.

    Called before the first map creation and program load. Failure to raise it (no
    CAP_SYS_RESOURCE) is not an error here: the kernel's own EPERM comes later and says more.
    """
    if "done" in _state:
        return
    with _lock:
        if "done" in _state:
            return
        try:
            if not kernel_uses_memcg():
                resource.setrlimit(resource.RLIMIT_MEMLOCK,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                _state["raised"] = True
        except (OSError, ValueError):
            pass
        _state["done"] = True


def memlock_limit_raised() -> bool:
    """True when this process raised RLIMIT_MEMLOCK (only on kernels before 5.11)."""
    return _state.get("raised", False)
