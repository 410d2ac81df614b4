"""``LinkInfo``: what ``BPF_OBJ_GET_INFO_BY_FD`` reports about a bpf_link, decoded per link type.

The kernel fills a ``struct bpf_link_info`` whose union part depends on the link type; strings
and arrays (tracepoint names, iterator targets, probe paths, kprobe.multi addresses) need a
second call with buffers, which :func:`query_link_info` makes. ``details`` holds the union's
fields under the kernel's names (``tp_name``, ``target_name``, ``ifindex``, ``cgroup_id``,
``attach_type``...), with strings decoded and arrays as lists.
"""

from __future__ import annotations

import ctypes
from pybpf.record import Record, field_spec
from typing import Any

from pybpf.sys import uapi
from pybpf.sys.commands import get_info
from pybpf.sys.names import link_type_name

__all__ = ["LinkInfo", "query_link_info"]

_T = uapi.bpf_link_type


class LinkInfo(Record):
    """A snapshot of ``struct bpf_link_info``: ``type`` (``BPF_LINK_TYPE_*``), ``id``,
    ``prog_id`` and the type's ``details``."""

    type: int
    id: int
    prog_id: int
    details: dict[str, Any] = field_spec(default_factory=dict)

    @property
    def type_name(self) -> str:
        """bpftool's name of the link type (``"raw_tracepoint"``, ``"xdp"``...)."""
        return link_type_name(self.type)

    def __getattr__(self, name: str) -> Any:
        details = self.__dict__.get("details", {})
        if name in details:
            return details[name]
        raise AttributeError(name)


def _string(buf: ctypes.Array[ctypes.c_char]) -> str:
    return buf.value.decode("utf-8", "replace")


def _struct_fields(obj: ctypes.Structure) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, *_ in obj._fields_:  # type: ignore[attr-defined]
        if name.startswith("_u") or name.startswith("_s"):
            sub = getattr(obj, name)
            out.update(_struct_fields(sub) if isinstance(sub, ctypes.Structure) else {})
            continue
        value = getattr(obj, name)
        if isinstance(value, (ctypes.Structure, ctypes.Union)):
            continue
        out[name] = int(value)
    return out


def query_link_info(fd: int, what: str = "link") -> LinkInfo:
    """Fetch and decode the info of link ``fd`` (strings and arrays included)."""
    first = get_info(fd, uapi.bpf_link_info(), what)
    ltype = int(first.type)
    details: dict[str, Any] = {}
    keep: list[Any] = []

    def buffer(size: int) -> tuple[ctypes.Array[ctypes.c_char], int]:
        b = ctypes.create_string_buffer(max(size, 1))
        keep.append(b)
        return b, ctypes.addressof(b)

    if ltype == _T.BPF_LINK_TYPE_RAW_TRACEPOINT:
        second = uapi.bpf_link_info()
        size = int(first.raw_tracepoint.tp_name_len) or 256
        buf, addr = buffer(size)
        second.raw_tracepoint.tp_name = addr
        second.raw_tracepoint.tp_name_len = size
        get_info(fd, second, what)
        details = {"tp_name": _string(buf), "cookie": int(second.raw_tracepoint.cookie)}
    elif ltype == _T.BPF_LINK_TYPE_TRACING:
        details = _struct_fields(first.tracing)
    elif ltype == _T.BPF_LINK_TYPE_CGROUP:
        details = _struct_fields(first.cgroup)
    elif ltype == _T.BPF_LINK_TYPE_ITER:
        second = uapi.bpf_link_info()
        size = int(first.iter.target_name_len) or 64
        buf, addr = buffer(size)
        second.iter.target_name = addr
        second.iter.target_name_len = size
        get_info(fd, second, what)
        target = _string(buf)
        details = {"target_name": target}
        if target.startswith("bpf_map") or target == "bpf_sk_storage_map":
            details["map_id"] = int(second.iter.map.map_id)
        elif target == "cgroup":
            details["cgroup_id"] = int(second.iter.cgroup.cgroup_id)
            details["order"] = int(second.iter.cgroup.order)
        elif target in ("task", "task_file", "task_vma"):
            details["tid"] = int(second.iter.task.tid)
            details["pid"] = int(second.iter.task.pid)
    elif ltype == _T.BPF_LINK_TYPE_NETNS:
        details = _struct_fields(first.netns)
    elif ltype == _T.BPF_LINK_TYPE_XDP:
        details = _struct_fields(first.xdp)
    elif ltype == _T.BPF_LINK_TYPE_STRUCT_OPS:
        details = {"map_id": int(first.struct_ops.map_id)}
    elif ltype == _T.BPF_LINK_TYPE_NETFILTER:
        details = _struct_fields(first.netfilter)
    elif ltype in (_T.BPF_LINK_TYPE_TCX, _T.BPF_LINK_TYPE_NETKIT):
        details = _struct_fields(first.tcx)
    elif ltype == _T.BPF_LINK_TYPE_SOCKMAP:
        details = _struct_fields(first.sockmap)
    elif ltype == _T.BPF_LINK_TYPE_KPROBE_MULTI:
        km = first.kprobe_multi
        count = int(km.count)
        second = uapi.bpf_link_info()
        addrs = (ctypes.c_uint64 * max(count, 1))()
        cookies = (ctypes.c_uint64 * max(count, 1))()
        second.kprobe_multi.addrs = ctypes.addressof(addrs)
        second.kprobe_multi.cookies = ctypes.addressof(cookies)
        second.kprobe_multi.count = count
        get_info(fd, second, what)
        details = {"count": count, "flags": int(second.kprobe_multi.flags),
                   "missed": int(second.kprobe_multi.missed),
                   "addrs": list(addrs[:count]), "cookies": list(cookies[:count])}
    elif ltype == _T.BPF_LINK_TYPE_UPROBE_MULTI:
        um = first.uprobe_multi
        count = int(um.count)
        size = int(um.path_size) or 4096
        second = uapi.bpf_link_info()
        buf, addr = buffer(size)
        offsets = (ctypes.c_uint64 * max(count, 1))()
        refs = (ctypes.c_uint64 * max(count, 1))()
        cookies = (ctypes.c_uint64 * max(count, 1))()
        s = second.uprobe_multi
        s.path = addr
        s.path_size = size
        s.offsets = ctypes.addressof(offsets)
        s.ref_ctr_offsets = ctypes.addressof(refs)
        s.cookies = ctypes.addressof(cookies)
        s.count = count
        get_info(fd, second, what)
        details = {"path": _string(buf), "count": count, "flags": int(s.flags), "pid": int(s.pid),
                   "offsets": list(offsets[:count]), "ref_ctr_offsets": list(refs[:count]),
                   "cookies": list(cookies[:count])}
    elif ltype == _T.BPF_LINK_TYPE_PERF_EVENT:
        details = _perf_event_details(fd, first, what, buffer)
    return LinkInfo(ltype, int(first.id), int(first.prog_id), details)


_PE = uapi.bpf_perf_event_type


def _perf_event_details(fd: int, first: Any, what: str, buffer: Any) -> dict[str, Any]:
    ptype = int(first.perf_event.type)
    second = uapi.bpf_link_info()
    pe = second.perf_event
    if ptype in (_PE.BPF_PERF_EVENT_UPROBE, _PE.BPF_PERF_EVENT_URETPROBE):
        buf, addr = buffer(4096)
        pe.uprobe.file_name = addr
        pe.uprobe.name_len = 4096
        get_info(fd, second, what)
        u = second.perf_event.uprobe
        return {"event_type": ptype, "file_name": _string(buf), "offset": int(u.offset),
                "cookie": int(u.cookie), "ref_ctr_offset": int(u.ref_ctr_offset)}
    if ptype in (_PE.BPF_PERF_EVENT_KPROBE, _PE.BPF_PERF_EVENT_KRETPROBE):
        buf, addr = buffer(512)
        pe.kprobe.func_name = addr
        pe.kprobe.name_len = 512
        get_info(fd, second, what)
        k = second.perf_event.kprobe
        return {"event_type": ptype, "func_name": _string(buf), "offset": int(k.offset),
                "addr": int(k.addr), "missed": int(k.missed), "cookie": int(k.cookie)}
    if ptype == _PE.BPF_PERF_EVENT_TRACEPOINT:
        buf, addr = buffer(512)
        pe.tracepoint.tp_name = addr
        pe.tracepoint.name_len = 512
        get_info(fd, second, what)
        return {"event_type": ptype, "tp_name": _string(buf),
                "cookie": int(second.perf_event.tracepoint.cookie)}
    if ptype == _PE.BPF_PERF_EVENT_EVENT:
        e = first.perf_event.event
        return {"event_type": ptype, "config": int(e.config), "type": int(e.type),
                "cookie": int(e.cookie)}
    return {"event_type": ptype}
