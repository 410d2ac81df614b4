"""struct_ops maps: registering BPF implementations of kernel operation tables
(``tcp_congestion_ops``, ``sched_ext_ops``, ...).

A struct_ops map's single value is ``struct bpf_struct_ops_<name>`` (a common header, then
``data``: the kernel struct itself) whose function-pointer members hold descriptors of
``BPF_PROG_TYPE_STRUCT_OPS`` programs. As libbpf's ``bpf_map__attach_struct_ops()``: the value
is written (``BPF_MAP_UPDATE_ELEM``, key 0); for maps created with ``BPF_F_LINK`` (Linux 6.4+)
a struct_ops bpf_link then registers it (``BPF_LINK_CREATE``, ``BPF_STRUCT_OPS``; replaceable
with :meth:`StructOpsLink.update_map`), otherwise the update itself registers it and detaching
deletes the element.

:func:`struct_ops_layout` and :func:`struct_ops_value` build the value from the kernel's BTF
(member offsets, function pointers -> program descriptors), for callers without a loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError, NotFoundError
from pybpf.link.base import Link, fd_of
from pybpf.sys import uapi
from pybpf.sys.commands import link_update

__all__ = ["attach_struct_ops", "StructOpsLink", "StructOpsLayout", "struct_ops_layout",
           "struct_ops_value", "BPF_F_LINK"]

BPF_F_LINK = 1 << 13
_ZERO = b"\0\0\0\0"


class StructOpsLink(Link):
    """A registered struct_ops map."""

    def update_map(self, new_map: Any) -> None:
        """Switch the link to another struct_ops map of the same type (``BPF_LINK_UPDATE``)."""
        link_update(self.fileno(), fd_of(new_map, "struct_ops map"))
        self.program = new_map


def attach_struct_ops(struct_ops_map: Any, value: bytes | None = None) -> StructOpsLink:
    """Register ``struct_ops_map`` (writing ``value`` first when given)."""
    map_fd = fd_of(struct_ops_map, "struct_ops attach: map")
    info = struct_ops_map.info() if hasattr(struct_ops_map, "info") else None
    flags = int(getattr(info, "map_flags", 0) or 0)
    name = getattr(struct_ops_map, "name", "") or "struct_ops"
    if value is not None:
        struct_ops_map.update(_ZERO, value)
    if flags & BPF_F_LINK:
        from pybpf.sys.commands import link_create

        fd = link_create(map_fd, 0, uapi.BPF_STRUCT_OPS, what=f"registering struct_ops map '{name}'")
        return StructOpsLink("struct_ops", fd=fd, program=struct_ops_map, target=name)
    if value is None:
        raise InvalidArgumentError(f"struct_ops map '{name}' without BPF_F_LINK is registered by "
                                   "writing its value: pass value=")

    def unregister() -> None:
        try:
            struct_ops_map.delete(_ZERO)
        except BPFError as exc:
            if exc.errno != 2:
                raise

    return StructOpsLink("struct_ops", program=struct_ops_map, target=name, on_detach=unregister,
                         legacy=True)


@dataclass(frozen=True)
class StructOpsLayout:
    """Where things are in ``struct bpf_struct_ops_<name>``: the kernel struct's BTF id
    (programs are loaded with it as ``attach_btf_id``), the value type id (the map's
    ``btf_vmlinux_value_type_id``), the value size, the offset of ``data`` and each member's
    ``(index, byte offset, is function pointer, size)``."""

    name: str
    type_id: int
    value_type_id: int
    value_size: int
    data_offset: int
    members: dict[str, tuple[int, int, bool, int]]


def struct_ops_layout(name: str, btf: Any = None) -> StructOpsLayout:
    """The layout of struct_ops type ``name`` (``"tcp_congestion_ops"``) in the kernel's BTF."""
    from pybpf.btf import Kind
    from pybpf.link.btf_targets import vmlinux_btf

    b = btf if btf is not None else vmlinux_btf()
    ids = b.find(name, Kind.STRUCT)
    vids = b.find(f"bpf_struct_ops_{name}", Kind.STRUCT)
    if not ids or not vids:
        raise NotFoundError(f"the kernel has no struct_ops type '{name}' (no struct bpf_struct_ops_{name} in its BTF)")
    st = b[ids[0]]
    value = b[vids[0]]
    data_off = next((m.bit_offset // 8 for m in value.members if m.name == "data"), None)
    if data_off is None:
        raise NotFoundError(f"struct bpf_struct_ops_{name} has no 'data' member")
    members = {}
    for i, m in enumerate(st.members):
        target = b[b.skip_mods_and_typedefs(m.type)]
        is_fn = target.kind == Kind.PTR and b.kind_of(b.skip_mods_and_typedefs(target.type)) == Kind.FUNC_PROTO
        members[m.name] = (i, m.bit_offset // 8, is_fn, b.resolve_size(m.type))
    return StructOpsLayout(name, ids[0], vids[0], value.size, data_off, members)


def struct_ops_value(layout: StructOpsLayout, fields: dict[str, Any]) -> bytes:
    """The map value with ``fields`` set: programs (or descriptors) for function pointers,
    ``bytes``/``str`` for arrays such as ``name``, ints for scalars."""
    out = bytearray(layout.value_size)
    for key, val in fields.items():
        if key not in layout.members:
            raise InvalidArgumentError(f"struct {layout.name} has no member '{key}'")
        _idx, off, is_fn, size = layout.members[key]
        pos = layout.data_offset + off
        if is_fn:
            out[pos:pos + 8] = fd_of(val, f"{layout.name}.{key}").to_bytes(8, "little")
        elif isinstance(val, (bytes, str)):
            raw = val.encode() if isinstance(val, str) else val
            if len(raw) >= size:
                raise InvalidArgumentError(f"{layout.name}.{key}: {len(raw)} bytes do not fit in {size}")
            out[pos:pos + len(raw)] = raw
        else:
            out[pos:pos + size] = int(val).to_bytes(size, "little", signed=int(val) < 0)
    return bytes(out)
