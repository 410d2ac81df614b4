"""Typed wrappers of the ``bpf()`` commands shared by several layers.

Each wrapper fills the part of ``union bpf_attr`` its command uses (the generated member
struct, e.g. :class:`~pybpf.sys.uapi.bpf_attr_obj`), passes only the bytes up to the last field
it sets (as libbpf does, so older kernels that know fewer fields accept the call), wraps a
returned descriptor in :class:`~pybpf.sys.fd.FD` at once, and raises a :mod:`pybpf.errors`
subclass naming the command and the object on failure.

Map element operations and program loading live with :class:`pybpf.Map` and
:class:`pybpf.Program`; this module holds the commands about objects in general (pin, get,
ids, info, stats) and the link/attach commands the attach layer builds on.
"""

from __future__ import annotations

import ctypes
import os
import struct
from types import SimpleNamespace
from typing import Any, TypeVar

from pybpf.errors import InvalidArgumentError, NotFoundError, error_from_errno
from pybpf.sys import uapi
from pybpf.sys.fd import FD
from pybpf.sys.syscall import bpf, bpf_raw, command_name

__all__ = [
    "attr_size",
    "struct_of",
    "cstr",
    "obj_pin",
    "obj_get",
    "get_next_id",
    "get_fd_by_id",
    "iter_ids",
    "get_info",
    "enable_stats",
    "raw_tracepoint_open",
    "link_create",
    "link_update",
    "link_detach",
    "iter_create",
    "prog_attach",
    "prog_detach",
    "prog_query",
    "prog_bind_map",
    "btf_load",
    "OBJECT_KINDS",
]

#: The bpf() command numbers by name (plain ints: building the bpf_cmd enum is not needed
#: to make a call; error messages name commands through command_name()).
C: Any = SimpleNamespace(**dict(uapi.enum_members("bpf_cmd")))
T = TypeVar("T", bound=ctypes.Structure)


def attr_size(cls: Any, last_field: str) -> int:
    """``offsetofend(cls, last_field)``: the bytes of ``cls`` up to and including that field."""
    f = getattr(cls, last_field)
    return int(f.offset + f.size)


def struct_of(cls: Any, fields: tuple[str, ...]) -> struct.Struct:
    """A ``struct.Struct`` packing ``fields`` of ctypes structure ``cls`` at their offsets
    (native byte order, explicit padding), for filling or reading a whole attr in one call."""
    codes = {1: "B", 2: "H", 4: "I", 8: "Q"}
    fmt = ["="]
    pos = 0
    for name in fields:
        f = getattr(cls, name)
        if f.offset < pos or f.size not in codes:
            raise ValueError(f"{cls.__name__}.{name}: cannot pack at offset {f.offset}")
        if f.offset > pos:
            fmt.append(f"{f.offset - pos}x")
        fmt.append(codes[f.size])
        pos = f.offset + f.size
    return struct.Struct("".join(fmt))


def cstr(text: str | bytes) -> ctypes.Array[ctypes.c_char]:
    """A NUL-terminated C string buffer for a path or name."""
    raw = os.fsencode(text) if isinstance(text, str) else bytes(text)
    if b"\0" in raw:
        raise InvalidArgumentError(f"{raw!r} contains a NUL byte")
    return ctypes.create_string_buffer(raw)


_OBJ_SIZE = attr_size(uapi.bpf_attr_obj, "file_flags")


def obj_pin(fd: int, path: str, what: str = "object") -> None:
    """``BPF_OBJ_PIN``: pin ``fd`` at ``path`` in a bpffs."""
    name = cstr(path)
    attr = uapi.bpf_attr_obj()
    attr.pathname = ctypes.addressof(name)
    attr.bpf_fd = fd
    bpf(C.BPF_OBJ_PIN, attr, _OBJ_SIZE, what=f"pinning {what} at {path}")


def obj_get(path: str, flags: int = 0, what: str = "object") -> FD:
    """``BPF_OBJ_GET``: open the object pinned at ``path``."""
    name = cstr(path)
    attr = uapi.bpf_attr_obj()
    attr.pathname = ctypes.addressof(name)
    attr.file_flags = flags
    fd = bpf(C.BPF_OBJ_GET, attr, _OBJ_SIZE, what=f"opening pinned {what} {path}")
    return FD(fd, f"pinned {what} {path}")


#: kind -> (GET_NEXT_ID command, GET_FD_BY_ID command, id field of get_id)
OBJECT_KINDS: dict[str, tuple[int, int, str]] = {
    "prog": (C.BPF_PROG_GET_NEXT_ID, C.BPF_PROG_GET_FD_BY_ID, "prog_id"),
    "map": (C.BPF_MAP_GET_NEXT_ID, C.BPF_MAP_GET_FD_BY_ID, "map_id"),
    "btf": (C.BPF_BTF_GET_NEXT_ID, C.BPF_BTF_GET_FD_BY_ID, "btf_id"),
    "link": (C.BPF_LINK_GET_NEXT_ID, C.BPF_LINK_GET_FD_BY_ID, "link_id"),
}

_GET_ID_SIZE = attr_size(uapi.bpf_attr_get_id, "open_flags")


def _kind(kind: str) -> tuple[int, int, str]:
    try:
        return OBJECT_KINDS[kind]
    except KeyError:
        raise InvalidArgumentError(f"unknown object kind {kind!r} (expected one of {', '.join(OBJECT_KINDS)})") \
            from None


def get_next_id(kind: str, start_id: int = 0) -> int | None:
    """The next ``kind`` id after ``start_id`` (``BPF_*_GET_NEXT_ID``), or None at the end."""
    cmd, _, _ = _kind(kind)
    attr = uapi.bpf_attr_get_id()
    attr.start_id = start_id
    ret, err = bpf_raw(cmd, attr, _GET_ID_SIZE)
    if ret < 0:
        if err == 2:  # ENOENT: no more ids
            return None
        raise error_from_errno(err, f"listing {kind} ids after {start_id}", op=command_name(cmd))
    return int(attr.next_id)


def iter_ids(kind: str) -> list[int]:
    """Every ``kind`` id in the system right now, ascending."""
    ids: list[int] = []
    cur = 0
    while True:
        nxt = get_next_id(kind, cur)
        if nxt is None:
            return ids
        ids.append(nxt)
        cur = nxt


def get_fd_by_id(kind: str, obj_id: int, flags: int = 0) -> FD:
    """``BPF_*_GET_FD_BY_ID``: a descriptor for the ``kind`` object with id ``obj_id``."""
    _, cmd, field = _kind(kind)
    if not 0 < obj_id < 1 << 32:
        raise NotFoundError(f"{kind} id {obj_id} is out of range", errno=2,
                            op=command_name(cmd))
    attr = uapi.bpf_attr_get_id()
    setattr(attr, field, obj_id)
    attr.open_flags = flags
    word = _KIND_WORDS[kind]
    fd = bpf(cmd, attr, _GET_ID_SIZE, what=f"{word} id {obj_id}")
    return FD(fd, f"{word} id {obj_id}")


_KIND_WORDS = {"prog": "program", "map": "map", "btf": "BTF object", "link": "link"}


_INFO_SIZE = attr_size(uapi.bpf_attr_info, "info")


def get_info(fd: int, info: T, what: str = "object") -> T:
    """``BPF_OBJ_GET_INFO_BY_FD`` into ``info`` (a ``bpf_*_info`` struct); returns it.

    Pointer/count fields already set in ``info`` ask the kernel to fill those arrays.
    """
    attr = uapi.bpf_attr_info()
    attr.bpf_fd = fd
    attr.info_len = ctypes.sizeof(info)
    attr.info = ctypes.addressof(info)
    bpf(C.BPF_OBJ_GET_INFO_BY_FD, attr, _INFO_SIZE, what=f"{what}: get info")
    return info


def enable_stats(stats_type: int = 0) -> FD:
    """``BPF_ENABLE_STATS``: run-time statistics are collected while the returned FD is open.

    ``stats_type`` 0 is ``BPF_STATS_RUN_TIME`` (run_time_ns and run_cnt of every program).
    Needs Linux 5.8+.
    """
    attr = uapi.bpf_attr_enable_stats()
    attr.type = stats_type
    fd = bpf(C.BPF_ENABLE_STATS, attr, ctypes.sizeof(attr), what="enabling BPF statistics")
    return FD(fd, "BPF stats")


def raw_tracepoint_open(name: str | None, prog_fd: int, cookie: int = 0) -> FD:
    """``BPF_RAW_TRACEPOINT_OPEN``: attach ``prog_fd`` to raw tracepoint ``name``.

    ``name`` None attaches BTF-typed tracing programs to their load-time target. A cookie
    needs Linux 6.10+.
    """
    attr = uapi.bpf_attr_raw_tracepoint()
    buf = cstr(name) if name else None
    attr.name = ctypes.addressof(buf) if buf is not None else 0
    attr.prog_fd = prog_fd
    size = attr_size(uapi.bpf_attr_raw_tracepoint, "cookie" if cookie else "prog_fd")
    attr.cookie = cookie
    fd = bpf(C.BPF_RAW_TRACEPOINT_OPEN, attr, size,
             what=f"attaching to raw tracepoint {name or '(BTF target)'}")
    return FD(fd, f"raw_tracepoint link {name or ''}".rstrip())


def link_create(prog_fd: int, target: int, attach_type: int, flags: int = 0, *,
                fill: Any = None, what: str = "", target_is_ifindex: bool = False) -> FD:
    """``BPF_LINK_CREATE``: a bpf_link attaching ``prog_fd`` (or a struct_ops map fd) to
    ``target`` (a descriptor, or an ifindex with ``target_is_ifindex``) for ``attach_type``.

    ``fill(attr)`` sets the attach-type specific part (``attr.tracing``, ``attr.tcx``,
    ``attr.uprobe_multi``...) and keeps any buffers it points to alive until the call returns.
    Needs Linux 5.7+ (per attach type later).
    """
    attr = uapi.bpf_attr_link_create()
    attr.prog_fd = prog_fd
    if target_is_ifindex:
        attr.target_ifindex = target
    else:
        attr.target_fd = target
    attr.attach_type = attach_type
    attr.flags = flags
    keep = fill(attr) if fill is not None else None
    fd = bpf(C.BPF_LINK_CREATE, attr, ctypes.sizeof(attr), what=what or "creating link")
    del keep
    return FD(fd, what or "link")


def link_update(link_fd: int, new_prog_fd: int, old_prog_fd: int = 0, flags: int = 0) -> None:
    """``BPF_LINK_UPDATE``: replace a link's program (``old_prog_fd`` with BPF_F_REPLACE)."""
    attr = uapi.bpf_attr_link_update()
    attr.link_fd = link_fd
    attr.new_prog_fd = new_prog_fd
    attr.flags = flags
    attr.old_prog_fd = old_prog_fd
    bpf(C.BPF_LINK_UPDATE, attr, ctypes.sizeof(attr), what="updating link's program")


def link_detach(link_fd: int) -> None:
    """``BPF_LINK_DETACH``: detach a link from its hook; the FD stays valid. Linux 5.9+."""
    attr = uapi.bpf_attr_link_detach()
    attr.link_fd = link_fd
    bpf(C.BPF_LINK_DETACH, attr, ctypes.sizeof(attr), what="detaching link")


def iter_create(link_fd: int) -> FD:
    """``BPF_ITER_CREATE``: a readable file that runs the iterator link's program."""
    attr = uapi.bpf_attr_iter_create()
    attr.link_fd = link_fd
    fd = bpf(C.BPF_ITER_CREATE, attr, ctypes.sizeof(attr), what="creating iterator")
    return FD(fd, "iterator")


_ATTACH_SIZE = attr_size(uapi.bpf_attr_prog_attach, "replace_bpf_fd")


def prog_attach(prog_fd: int, target_fd: int, attach_type: int, flags: int = 0,
                replace_prog_fd: int = 0) -> None:
    """``BPF_PROG_ATTACH`` (the pre-link attach API: cgroups, sockmaps, flow dissector)."""
    attr = uapi.bpf_attr_prog_attach()
    attr.target_fd = target_fd
    attr.attach_bpf_fd = prog_fd
    attr.attach_type = attach_type
    attr.attach_flags = flags
    attr.replace_bpf_fd = replace_prog_fd
    bpf(C.BPF_PROG_ATTACH, attr, _ATTACH_SIZE, what=f"attaching program (attach type {attach_type})")


def prog_detach(target_fd: int, attach_type: int, prog_fd: int = 0) -> None:
    """``BPF_PROG_DETACH``."""
    attr = uapi.bpf_attr_prog_attach()
    attr.target_fd = target_fd
    attr.attach_bpf_fd = prog_fd
    attr.attach_type = attach_type
    bpf(C.BPF_PROG_DETACH, attr, _ATTACH_SIZE, what=f"detaching program (attach type {attach_type})")


def prog_query(target_fd: int, attach_type: int, query_flags: int = 0,
               max_progs: int = 64) -> tuple[int, list[int]]:
    """``BPF_PROG_QUERY``: ``(attach_flags, program ids)`` attached at ``target_fd``."""
    ids = (ctypes.c_uint32 * max_progs)()
    attr = uapi.bpf_attr_query()
    attr.target_fd = target_fd
    attr.attach_type = attach_type
    attr.query_flags = query_flags
    attr.prog_ids = ctypes.addressof(ids)
    attr.prog_cnt = max_progs
    bpf(C.BPF_PROG_QUERY, attr, attr_size(uapi.bpf_attr_query, "prog_cnt"),
        what=f"querying programs (attach type {attach_type})")
    return int(attr.attach_flags), list(ids[: attr.prog_cnt])


def prog_bind_map(prog_fd: int, map_fd: int) -> None:
    """``BPF_PROG_BIND_MAP``: keep ``map_fd`` alive as long as the program (Linux 5.10+)."""
    attr = uapi.bpf_attr_prog_bind_map()
    attr.prog_fd = prog_fd
    attr.map_fd = map_fd
    bpf(C.BPF_PROG_BIND_MAP, attr, ctypes.sizeof(attr), what="binding map to program")


_BTF_LOG_START = 1 << 16
_BTF_LOG_MAX = (1 << 32) - 1 >> 2


def btf_load(data: bytes, *, log_level: int = 0, what: str = "BTF") -> FD:
    """``BPF_BTF_LOAD`` of a raw BTF blob; returns its :class:`FD`.

    As for programs, the first attempt asks for no log; a refusal is retried with a log that
    grows on ENOSPC, and the kernel's explanation ends up in the :class:`BTFError`.
    """
    from pybpf.errors import BTFError

    raw = bytes(data)
    if not raw:
        raise InvalidArgumentError(f"{what}: empty BTF")
    blob = ctypes.create_string_buffer(raw, len(raw))
    level = log_level
    size = _BTF_LOG_START
    while True:
        attr = uapi.bpf_attr_btf_load()
        attr.btf = ctypes.addressof(blob)
        attr.btf_size = len(raw)
        log = ctypes.create_string_buffer(size) if level else None
        if log is not None:
            attr.btf_log_buf = ctypes.addressof(log)
            attr.btf_log_size = size
            attr.btf_log_level = level
        fd, err = bpf_raw(C.BPF_BTF_LOAD, attr, attr_size(uapi.bpf_attr_btf_load, "btf_log_level"))
        if fd >= 0:
            return FD(fd, what)
        if level == 0:
            level = 1
            continue
        if err == 28 and size < _BTF_LOG_MAX:  # ENOSPC: a bigger log
            size = min(size * 4, _BTF_LOG_MAX)
            continue
        text = log.value.decode("utf-8", "replace").strip() if log is not None else ""
        exc = error_from_errno(err, f"loading {what} ({len(raw)} bytes)"
                               + (f": {text.splitlines()[-1]}" if text else ""),
                               op=command_name(C.BPF_BTF_LOAD), cls=BTFError if err == 22 else None)
        if text:
            exc.log = text  # type: ignore[attr-defined]
        raise exc
