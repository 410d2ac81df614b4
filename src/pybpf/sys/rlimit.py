"""RLIMIT_MEMLOCK, raised only where the kernel still charges BPF memory against it.

Before Linux 5.11, maps and programs were charged to RLIMIT_MEMLOCK, whose default (64 KiB or
8 MiB) is far too small. Since 5.11 they are charged to the memory cgroup instead and the limit
does not matter. Like libbpf, pybpf detects which accounting the kernel does with a probe that
only loads on 5.11+ kernels (a program calling ``bpf_ktime_get_coarse_ns``, which arrived in the
same release as memcg accounting) and raises the limit to infinity only when the probe fails.
"""

from __future__ import annotations

import resource
import threading

__all__ = ["kernel_uses_memcg", "ensure_memlock_rlimit", "memlock_limit_raised"]

_lock = threading.Lock()
_state: dict[str, bool] = {}


def kernel_uses_memcg() -> bool:
    """True when BPF memory is charged to the memory cgroup (Linux 5.11+), cached."""
    if "memcg" not in _state:
        from pybpf.features import probe_memcg_account

        _state["memcg"] = probe_memcg_account()
    return _state["memcg"]


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
