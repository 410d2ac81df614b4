"""Raw tracepoint programs (``SEC("raw_tp/<name>")``, ``raw_tp.w``): ``BPF_RAW_TRACEPOINT_OPEN``
with the tracepoint's name, as libbpf's ``bpf_program__attach_raw_tracepoint()``.
Needs Linux 4.17+ (a cookie 6.10+)."""

from __future__ import annotations

from typing import Any

from pybpf.errors import BPFError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys.commands import raw_tracepoint_open

__all__ = ["attach_raw_tracepoint"]

_ENOENT = 2


def attach_raw_tracepoint(program: Any, name: str, *, cookie: int = 0) -> Link:
    """Attach ``program`` to raw tracepoint ``name`` (``"sched_switch"``, no category)."""
    prog_fd = fd_of(program, "raw_tracepoint attach: program")
    try:
        fd = raw_tracepoint_open(name, prog_fd, cookie)
    except BPFError as exc:
        if exc.errno == _ENOENT:
            raise error_from_errno(exc.errno, f"raw tracepoint '{name}' does not exist in this kernel "
                                   "(raw tracepoints take the bare event name, e.g. 'sched_switch')",
                                   op=exc.op) from None
        raise
    return Link("raw_tracepoint", fd=fd, program=program, target=name)
