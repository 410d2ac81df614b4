"""BPF iterators (``SEC("iter/<target>")``): ``BPF_LINK_CREATE`` with ``BPF_TRACE_ITER`` and the
target's parameters in ``union bpf_iter_link_info``, as libbpf's
``bpf_program__attach_iter()``. Reading is :func:`pybpf.sys.commands.iter_create` on the link
(or :meth:`IterLink.open`), which gives a file whose reads run the program. Linux 5.8+.

Parameters by target: ``map`` (bpf_map_elem, bpf_sk_storage_map, sockmap...: the map to walk),
``cgroup`` + ``order`` (cgroup iterators, 6.1+), ``tid``/``pid``/``pid_fd`` (task, task_file,
task_vma iterators restricted to one thread/process, 6.1+).
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from pybpf.errors import InvalidArgumentError
from pybpf.link.base import Link, fd_of
from pybpf.sys import uapi
from pybpf.sys.commands import iter_create, link_create
from pybpf.sys.fd import FD

__all__ = ["attach_iter", "iter_link_info", "IterLink", "CGROUP_ITER_ORDERS"]

#: bpf_cgroup_iter_order by the names libbpf/bpftool use.
CGROUP_ITER_ORDERS = {
    "self_only": uapi.BPF_CGROUP_ITER_SELF_ONLY if hasattr(uapi, "BPF_CGROUP_ITER_SELF_ONLY") else 1,
    "descendants_pre": 2, "descendants_post": 3, "ancestors_up": 4,
}

_INFO = struct.Struct("<16s")


def iter_link_info(*, map: Any = None, cgroup: Any = None, order: int | str = 0, cgroup_id: int = 0,
                   tid: int = 0, pid: int = 0, pid_fd: int = 0) -> bytes:
    """The 16 bytes of ``union bpf_iter_link_info`` for these parameters (b"" for none)."""
    given = [x for x in (map is not None, cgroup is not None or cgroup_id, tid or pid or pid_fd) if x]
    if len(given) > 1:
        raise InvalidArgumentError("iterator parameters: give a map, a cgroup or a task, not several")
    if map is not None:
        return struct.pack("<I12x", fd_of(map, "iterator map"))
    if cgroup is not None or cgroup_id:
        if isinstance(order, str):
            try:
                order = CGROUP_ITER_ORDERS[order]
            except KeyError:
                raise InvalidArgumentError(f"unknown cgroup iterator order {order!r} "
                                           f"(known: {', '.join(CGROUP_ITER_ORDERS)})") from None
        cfd = fd_of(cgroup, "iterator cgroup") if cgroup is not None else 0
        return struct.pack("<IIQ", int(order), cfd, cgroup_id)
    if tid or pid or pid_fd:
        if sum(1 for x in (tid, pid, pid_fd) if x) > 1:
            raise InvalidArgumentError("iterator parameters: give one of tid, pid, pid_fd")
        return struct.pack("<III4x", tid, pid, pid_fd)
    return b""


class IterLink(Link):
    """An iterator link; :meth:`open` creates a readable iterator file from it."""

    def open(self) -> FD:
        """``BPF_ITER_CREATE``: a new descriptor; each ``read()`` runs the program further."""
        return iter_create(self.fileno())

    def read_all(self, chunk: int = 1 << 16) -> bytes:
        """Run the iterator once to the end and return everything it wrote."""
        import os

        with self.open() as fd:
            parts: list[bytes] = []
            while True:
                data = os.read(fd.fileno(), chunk)
                if not data:
                    return b"".join(parts)
                parts.append(data)


def attach_iter(program: Any, *, map: Any = None, cgroup: Any = None, order: int | str = 0,
                cgroup_id: int = 0, tid: int = 0, pid: int = 0, pid_fd: int = 0) -> IterLink:
    """Create the iterator link of an ``iter/<target>`` program (loaded with
    ``BPF_TRACE_ITER`` and the ``bpf_iter_<target>`` BTF id)."""
    prog_fd = fd_of(program, "iterator attach: program")
    info = iter_link_info(map=map, cgroup=cgroup, order=order, cgroup_id=cgroup_id, tid=tid,
                          pid=pid, pid_fd=pid_fd)
    buf = ctypes.create_string_buffer(info, max(len(info), 1))

    def fill(attr: Any) -> Any:
        if info:
            attr.iter_info = ctypes.addressof(buf)
            attr.iter_info_len = len(info)
        return buf

    name = getattr(program, "name", "") or "program"
    fd = link_create(prog_fd, 0, uapi.BPF_TRACE_ITER, fill=fill,
                     what=f"creating iterator link for {name}")
    target = "map" if map is not None else "cgroup" if (cgroup is not None or cgroup_id) else \
        "task" if (tid or pid or pid_fd) else ""
    return IterLink("iter", fd=fd, program=program, target=target)
