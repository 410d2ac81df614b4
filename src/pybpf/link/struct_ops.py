"""struct_ops maps: registering BPF implementations of kernel operation tables
(``tcp_congestion_ops``, ``sched_ext_ops``, ...).

A struct_ops map's single value is ``struct bpf_struct_ops_<name>`` (a common header, then
``data``: the kernel struct itself) whose function-pointer members hold descriptors of
``BPF_PROG_TYPE_STRUCT_OPS`` programs. As libbpf's ``bpf_map__attach_struct_ops()``: the value
is written (``BPF_MAP_UPDATE_ELEM``, key 0); for maps created with ``BPF_F_LINK`` (Linux 6.4+,
``SEC(".struct_ops.link")``) a struct_ops bpf_link then registers it (``BPF_LINK_CREATE``,
``BPF_STRUCT_OPS``; replaceable with :meth:`StructOpsLink.update_map`; closing the link
unregisters), otherwise (``SEC(".struct_ops")``) the update itself registers it and detaching
deletes the element. A legacy registration outlives the map's descriptors (the kernel holds
the map), so the link keeps its own descriptor to undo it.

Maps of an object loaded by :mod:`pybpf.object` carry their value (``Map.struct_ops_value``,
program descriptors in place), so ``attach_struct_ops(obj.maps["my_ops"])`` is all it takes.
:func:`struct_ops_layout` and :func:`struct_ops_value` build a value from the kernel's BTF for
maps made by hand.
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
_EBUSY = 16
_ENOENT = 2


class StructOpsLink(Link):
    """A registered struct_ops map: a struct_ops bpf_link (``BPF_F_LINK`` maps), or a legacy
    registration (``legacy`` is True; detaching deletes the map's element). ``map`` is the
    registered map."""

    @property
    def map(self) -> Any:
        return self.program

    def _describe(self) -> str:
        how = "registration" if self.legacy else "link"
        return f"struct_ops {how} of map '{self.target}'"

    def update_map(self, new_map: Any, value: bytes | None = None) -> None:
        """Switch the link to another ``BPF_F_LINK`` struct_ops map of the same type, atomically
        (libbpf's ``bpf_link__update_map``): the new map's value (``value``, else the map's
        ``struct_ops_value``) is written first unless it already is, then ``BPF_LINK_UPDATE``.
        Needs Linux 6.4+; legacy registrations cannot be updated."""
        if self.legacy:
            raise InvalidArgumentError(f"{self._describe()} is a legacy struct_ops registration (map "
                                       "without BPF_F_LINK): it has no link to update")
        label = _map_label(new_map)
        data = _value_of(new_map, value)
        if data is not None:
            own = _own_map(new_map, label)
            try:
                _write_value(own, data, busy_ok=True)
            finally:
                own.close()
        link_update(self.fileno(), fd_of(new_map, f"struct_ops update: {label}"))
        self.program = new_map
        self.target = getattr(new_map, "name", "") or self.target


def _map_label(m: Any) -> str:
    name = getattr(m, "name", "")
    return f"struct_ops map '{name}'" if name else "struct_ops map"


def _value_of(m: Any, value: bytes | None) -> bytes | None:
    if value is None:
        value = getattr(m, "struct_ops_value", None)
    return bytes(value) if value is not None else None


def _own_map(m: Any, label: str) -> Any:
    """A descriptor of our own on the map, with raw key/value codecs (whatever the caller's
    Map object decodes values as)."""
    from pybpf.maps import Map

    return Map.from_fd(fd_of(m, f"struct_ops: {label}"))


def _write_value(own: Any, value: bytes, *, busy_ok: bool) -> None:
    """``BPF_MAP_UPDATE_ELEM`` of the value; EBUSY (the value of a BPF_F_LINK map is set once,
    libbpf skips it too) is fine with ``busy_ok``."""
    try:
        own.update(_ZERO, value)
    except BPFError as exc:
        if not (busy_ok and exc.errno == _EBUSY):
            raise


def attach_struct_ops(struct_ops_map: Any, value: bytes | None = None) -> StructOpsLink:
    """Register ``struct_ops_map`` (libbpf's ``bpf_map__attach_struct_ops``).

    ``value`` is the map's value (``struct bpf_struct_ops_<name>`` with program descriptors in
    the function slots); by default the one :mod:`pybpf.object` prepared when loading the map's
    object (``struct_ops_map.struct_ops_value``). A ``BPF_F_LINK`` map gets a struct_ops
    bpf_link (its value may have been written already); otherwise writing the value registers
    the map and the returned link deletes it again when detached. Needs Linux 5.6+ (bpf_link:
    6.4+).
    """
    label = _map_label(struct_ops_map)
    own = _own_map(struct_ops_map, label)
    try:
        info = own.info()
        if int(info.type) != uapi.BPF_MAP_TYPE_STRUCT_OPS:
            raise InvalidArgumentError(f"{label} is not a struct_ops map (type {int(info.type)})")
        name = getattr(struct_ops_map, "name", "") or info.name or "struct_ops"
        data = _value_of(struct_ops_map, value)
        if int(info.map_flags) & BPF_F_LINK:
            if data is not None:
                _write_value(own, data, busy_ok=True)
            from pybpf.sys.commands import link_create

            fd = link_create(own.fileno(), 0, uapi.BPF_STRUCT_OPS, what=f"registering {label}")
            own.close()
            return StructOpsLink("struct_ops", fd=fd, program=struct_ops_map, target=name)
        if data is None:
            raise InvalidArgumentError(f"{label} without BPF_F_LINK is registered by writing its value: "
                                       "pass value= (or load it with pybpf.object, which prepares it)")
        _write_value(own, data, busy_ok=False)
    except BaseException:
        own.close()
        raise

    def unregister() -> None:
        try:
            own.delete(_ZERO)
        except BPFError as exc:
            if exc.errno != _ENOENT:
                raise

    # the registration outlives the caller's descriptor: the link keeps its own to undo it
    return StructOpsLink("struct_ops", program=struct_ops_map, target=name, on_detach=unregister,
                         owned=(own,), legacy=True)


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
