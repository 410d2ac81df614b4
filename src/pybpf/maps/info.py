"""``MapInfo``: what the kernel reports about a live map (``BPF_OBJ_GET_INFO_BY_FD`` plus the
descriptor's fdinfo)."""

from __future__ import annotations

from pybpf.sys import uapi
from pybpf.sys.commands import get_info
from pybpf.sys.fdinfo import read_fdinfo
from pybpf.sys.names import map_type_name
from pybpf.record import Record

__all__ = ["MapInfo", "query_map_info"]


class MapInfo(Record):
    """A snapshot of a map's kernel-side description.

    Field names follow ``struct bpf_map_info``; ``memlock``, ``frozen``, ``owner_prog_type``
    and ``owner_jited`` come from ``/proc/self/fdinfo`` (None where the kernel does not say).
    """

    type: int
    id: int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: str
    ifindex: int = 0
    btf_vmlinux_value_type_id: int = 0
    netns_dev: int = 0
    netns_ino: int = 0
    btf_id: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf_vmlinux_id: int = 0
    map_extra: int = 0
    memlock: int | None = None
    frozen: bool | None = None
    owner_prog_type: int | None = None
    owner_jited: bool | None = None

    @property
    def type_name(self) -> str:
        """bpftool's name for the type (``"hash"``, ``"percpu_array"``...)."""
        return map_type_name(self.type)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def query_map_info(fd: int, what: str = "map") -> MapInfo:
    """Ask the kernel about the map behind ``fd``."""
    raw = get_info(fd, uapi.bpf_map_info(), what)
    fdinfo = read_fdinfo(fd)
    frozen = _int(fdinfo.get("frozen"))
    owner_type = _int(fdinfo.get("owner_prog_type"))
    owner_jited = _int(fdinfo.get("owner_jited"))
    try:
        map_type = uapi.bpf_map_type(raw.type)
    except ValueError:
        map_type = raw.type
    return MapInfo(
        type=map_type,
        id=raw.id,
        key_size=raw.key_size,
        value_size=raw.value_size,
        max_entries=raw.max_entries,
        map_flags=raw.map_flags,
        name=raw.name.decode("utf-8", "replace"),
        ifindex=raw.ifindex,
        btf_vmlinux_value_type_id=raw.btf_vmlinux_value_type_id,
        netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino,
        btf_id=raw.btf_id,
        btf_key_type_id=raw.btf_key_type_id,
        btf_value_type_id=raw.btf_value_type_id,
        btf_vmlinux_id=raw.btf_vmlinux_id,
        map_extra=raw.map_extra,
        memlock=_int(fdinfo.get("memlock")),
        frozen=None if frozen is None else bool(frozen),
        owner_prog_type=owner_type,
        owner_jited=None if owner_jited is None else bool(owner_jited),
    )
