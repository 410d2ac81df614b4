"""``perf_event_open(2)``: the descriptor behind perf buffers, perf_event programs and the
kprobe/uprobe/tracepoint perf links."""

from __future__ import annotations

import ctypes
import fcntl

from pybpf.errors import error_from_errno
from pybpf.sys import consts, uapi
from pybpf.sys.fd import FD
from pybpf.sys.syscall import perf_event_open_raw

__all__ = ["perf_event_open", "perf_event_ioctl"]


def perf_event_open(attr: uapi.perf_event_attr, pid: int = -1, cpu: int = 0, group_fd: int = -1,
                    flags: int = consts.PERF_FLAG_FD_CLOEXEC, what: str = "perf event") -> FD:
    """Open a perf event; returns its :class:`FD`.

    ``attr.size`` is filled in when left 0. ``pid=-1, cpu=N`` counts every process on CPU N;
    ``pid=P, cpu=-1`` follows process P on every CPU.
    """
    if not attr.size:
        attr.size = ctypes.sizeof(attr)
    fd, err = perf_event_open_raw(attr, pid, cpu, group_fd, flags)
    if fd < 0:
        raise error_from_errno(err, f"{what} (type {attr.type}, config {attr.config}, "
                                    f"pid {pid}, cpu {cpu})", op="perf_event_open")
    return FD(fd, what)


def perf_event_ioctl(fd: int, request: int, arg: int = 0, what: str = "perf event") -> int:
    """``ioctl(fd, request, arg)`` on a perf event (PERF_EVENT_IOC_ENABLE, SET_BPF, ...)."""
    try:
        return fcntl.ioctl(fd, request, arg)
    except OSError as exc:
        raise error_from_errno(exc.errno or 0, f"{what}: ioctl {request:#x}", op="ioctl") from None
