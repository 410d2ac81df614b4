"""The kernel's trace pipe, where ``bpf_printk()``/``bpf_trace_printk()`` output goes.

:func:`find_trace_pipe` locates ``trace_pipe`` as bpftool's ``prog tracelog`` does: a tracefs
at one of the usual mount points (checked by file system magic), else any tracefs in
``/proc/self/mounts``, else it mounts tracefs on ``/sys/kernel/tracing``. :func:`follow` yields
its lines as they arrive. Reading the pipe consumes what it returns (another reader will not see
those lines).
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

from pybpf.errors import NotFoundError, error_from_errno
from pybpf.sys.mounts import TRACEFS_MAGIC, mount_fs, mounts_of_type, statfs_type

__all__ = ["KNOWN_MOUNTS", "find_trace_pipe", "follow"]

#: bpftool's list of usual tracefs locations, in its order.
KNOWN_MOUNTS = ("/sys/kernel/debug/tracing", "/sys/kernel/tracing", "/tracing", "/trace")
MOUNT_POINT = "/sys/kernel/tracing"
PIPE = "trace_pipe"


def find_trace_pipe(*, mount: bool = True, info: Callable[[str], None] | None = None) -> str:
    """The path of ``trace_pipe``; mounts tracefs when none is mounted and ``mount`` is true
    (``info`` receives bpftool's notice before mounting). Needs root to mount."""
    for path in KNOWN_MOUNTS:
        if statfs_type(path) == TRACEFS_MAGIC:
            return os.path.join(path, PIPE)
    for path in mounts_of_type("tracefs"):
        if statfs_type(path) == TRACEFS_MAGIC:
            return os.path.join(path, PIPE)
    if not mount:
        raise NotFoundError("could not find tracefs, and not mounting it")
    if info is not None:
        info("could not find tracefs, attempting to mount it now")
    mount_fs(MOUNT_POINT, "tracefs")
    return os.path.join(MOUNT_POINT, PIPE)


def follow(path: str | None = None) -> Iterator[str]:
    """Lines of the trace pipe (with their newline) as the kernel writes them; blocks between
    lines. ``path`` defaults to :func:`find_trace_pipe`."""
    pipe = path if path is not None else find_trace_pipe()
    try:
        f = open(pipe, "rb", buffering=0)
    except OSError as exc:
        raise error_from_errno(exc.errno or 0, f"could not open trace pipe {pipe}", op="open") from None
    with f:
        pending = b""
        while True:
            try:
                chunk = f.read(1 << 16)
            except OSError as exc:
                raise error_from_errno(exc.errno or 0, f"failed to read content from trace pipe {pipe}",
                                       op="read") from None
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace") + "\n"
