"""Map definitions of a BPF object: BTF-defined maps in ``.maps`` and the internal maps of global data.

A BTF-defined map is a global variable in ``SEC(".maps")`` whose type is an anonymous struct
of "attribute" members, as ``bpf_helpers.h``'s ``__uint``/``__type``/``__array`` macros write
them: ``int (*type)[BPF_MAP_TYPE_HASH]`` encodes an integer in an array dimension,
``u32 *key`` a type. :func:`parse_btf_map_def` reads them exactly as libbpf's
``parse_btf_map_def()`` (strict mode: unknown attributes are errors), including an inner map
template given with ``__array(values, struct {...})`` for map-in-map types.

Global data sections become one-element array maps named as libbpf names them
(:func:`internal_map_name`): ``<object name prefix>.rodata`` and so on, at most 15 characters.

:class:`MapSpec` is the editable description; setters mirror libbpf's (``bpf_map__set_*``).
"""

from __future__ import annotations

import mmap
from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING, Any

from pybpf.btf import Kind
from pybpf.btf import model as m
from pybpf.errors import InvalidArgumentError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.object.struct_ops import StructOpsSpec

__all__ = ["MapSpec", "BTFMapDef", "parse_btf_map_def", "internal_map_name", "adjust_ringbuf_size",
           "MAP_USER", "MAP_DATA", "MAP_BSS", "MAP_RODATA", "MAP_KCONFIG", "MAP_STRUCT_OPS", "PIN_NONE",
           "PIN_BY_NAME",
           "BPF_F_RDONLY_PROG", "BPF_F_MMAPABLE"]

# libbpf_map_type (plus struct_ops maps, which libbpf marks by their st_ops part)
MAP_USER = "user"
MAP_STRUCT_OPS = "struct_ops"
MAP_DATA = "data"
MAP_BSS = "bss"
MAP_RODATA = "rodata"
MAP_KCONFIG = "kconfig"
INTERNAL_KINDS = (MAP_DATA, MAP_BSS, MAP_RODATA, MAP_KCONFIG)

PIN_NONE = 0
PIN_BY_NAME = 1

BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10

# bpf_map_type numbers used while parsing (stable UAPI values; no import of pybpf.sys here).
MAP_TYPE_ARRAY = 2
MAP_TYPE_PROG_ARRAY = 3
MAP_TYPE_PERF_EVENT_ARRAY = 4
MAP_TYPE_ARRAY_OF_MAPS = 12
MAP_TYPE_HASH_OF_MAPS = 13
MAP_TYPE_RINGBUF = 27
MAP_TYPE_USER_RINGBUF = 31
MAP_IN_MAP = (MAP_TYPE_ARRAY_OF_MAPS, MAP_TYPE_HASH_OF_MAPS)
#: map types libbpf creates without BTF key/value type ids (the kernel refuses them).
NO_BTF_TYPES = frozenset({4, 8, 7, 12, 13, 14, 25, 16, 17, 15, 18, 22, 23})


def adjust_ringbuf_size(size: int) -> int:
    """libbpf's adjust_ringbuf_sz(): round a ring buffer size up to a power-of-2 number of pages."""
    page = mmap.PAGESIZE
    if size == 0:
        return 0
    if size % page == 0 and ((size // page) & (size // page - 1)) == 0:
        return size
    mul = 1
    while mul <= 0xFFFFFFFF // page:
        if mul * page > size:
            return mul * page
        mul <<= 1
    return size


def internal_map_name(obj_name: str, real_name: str) -> str:
    """libbpf's internal_map_name(): ``"execsno.kconfig"``, ``"myobj.rodata"``, ``".rodata.str1.1"``.

    The suffix (the section name) keeps at least 7 characters, the object name fills the rest of
    15; custom ``.data.*``/``.rodata.*`` sections (two dots) keep no prefix. Characters the
    kernel refuses become ``_``.
    """
    sfx_len = min(max(7, len(real_name)), 15)
    pfx_len = 0 if "." in real_name[1:] else min(16 - sfx_len - 1, len(obj_name))
    name = (obj_name[:pfx_len] + real_name[:sfx_len])[:15]
    return "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "_." else "_" for ch in name)


class BTFMapDef(Record, frozen=False):
    """What ``parse_btf_map_def`` read (libbpf's ``struct btf_map_def``)."""

    map_type: int = 0
    key_type_id: int = 0
    key_size: int = 0
    value_type_id: int = 0
    value_size: int = 0
    max_entries: int = 0
    map_flags: int = 0
    numa_node: int = 0
    pinning: int = 0
    map_extra: int = 0
    parts: set[str] = field_spec(default_factory=set)


def _field_int(map_name: str, btf: "BTF", mem: m.Member) -> int:
    """libbpf's get_map_field_int(): ``int (*name)[N]`` -> N."""
    t = btf[btf.skip_mods_and_typedefs(mem.type)]
    if t.kind != Kind.PTR:
        raise ObjectError(f"map '{map_name}': attr '{mem.name}': expected PTR, got {t.kind.name.lower()}")
    arr = btf[t.type]  # type: ignore[attr-defined]
    if arr.kind != Kind.ARRAY:
        raise ObjectError(f"map '{map_name}': attr '{mem.name}': expected ARRAY, got {arr.kind.name.lower()}")
    return arr.nelems  # type: ignore[attr-defined]


def _type_size(map_name: str, btf: "BTF", mem: m.Member, what: str) -> tuple[int, int]:
    t = btf[mem.type]
    if t.kind != Kind.PTR:
        raise ObjectError(f"map '{map_name}': {what} spec is not PTR: {t.kind.name.lower()}")
    target = t.type  # type: ignore[attr-defined]
    try:
        size = btf.resolve_size(target)
    except Exception as exc:  # noqa: BLE001 - BTFError from malformed input
        raise ObjectError(f"map '{map_name}': can't determine {what} size for type [{target}]: {exc}") from None
    return target, size


def parse_btf_map_def(map_name: str, btf: "BTF", def_t: m.Composite, *,
                      inner: BTFMapDef | None = None, strict: bool = True) -> BTFMapDef:
    """Read a BTF map definition struct (libbpf's parse_btf_map_def()).

    ``inner`` receives the inner map template of a map-in-map (``__array(values, struct{...})``);
    pass None when parsing an inner definition (nested inner maps are refused).
    """
    d = BTFMapDef()
    is_inner = inner is None
    members = def_t.members
    for i, mem in enumerate(members):
        name = mem.name
        if name == "type":
            d.map_type = _field_int(map_name, btf, mem)
            d.parts.add("type")
        elif name == "max_entries":
            d.max_entries = _field_int(map_name, btf, mem)
            d.parts.add("max_entries")
        elif name == "map_flags":
            d.map_flags = _field_int(map_name, btf, mem)
            d.parts.add("map_flags")
        elif name == "numa_node":
            d.numa_node = _field_int(map_name, btf, mem)
            d.parts.add("numa_node")
        elif name in ("key_size", "value_size"):
            sz = _field_int(map_name, btf, mem)
            what = name[:-5]
            have = getattr(d, name)
            if have and have != sz:
                raise ObjectError(f"map '{map_name}': conflicting {what} size {have} != {sz}")
            setattr(d, name, sz)
            d.parts.add(name)
        elif name in ("key", "value"):
            tid, sz = _type_size(map_name, btf, mem, name)
            have = getattr(d, name + "_size")
            if have and have != sz:
                raise ObjectError(f"map '{map_name}': conflicting {name} size {have} != {sz}")
            setattr(d, name + "_size", sz)
            setattr(d, name + "_type_id", tid)
            d.parts.update((name + "_size", name + "_type"))
        elif name == "values":
            is_mim = d.map_type in MAP_IN_MAP
            is_pa = d.map_type == MAP_TYPE_PROG_ARRAY
            desc = "map-in-map inner" if is_mim else "prog-array value"
            if is_inner:
                raise ObjectError(f"map '{map_name}': multi-level inner maps not supported")
            if i != len(members) - 1:
                raise ObjectError(f"map '{map_name}': 'values' member should be last")
            if not is_mim and not is_pa:
                raise ObjectError(f"map '{map_name}': 'values' needs a map-in-map or prog-array map "
                                  f"(type {d.map_type})")
            if d.value_size and d.value_size != 4:
                raise ObjectError(f"map '{map_name}': conflicting value size {d.value_size} != 4")
            d.value_size = 4
            t = btf[mem.type]
            if t.kind != Kind.ARRAY or t.nelems:  # type: ignore[attr-defined]
                raise ObjectError(f"map '{map_name}': {desc} spec is not a zero-sized array")
            t = btf[btf.skip_mods_and_typedefs(t.type)]  # type: ignore[attr-defined]
            if t.kind != Kind.PTR:
                raise ObjectError(f"map '{map_name}': {desc} def is of unexpected kind {t.kind.name.lower()}")
            t = btf[btf.skip_mods_and_typedefs(t.type)]  # type: ignore[attr-defined]
            if is_pa:
                if t.kind != Kind.FUNC_PROTO:
                    raise ObjectError(f"map '{map_name}': prog-array value def is of unexpected kind "
                                      f"{t.kind.name.lower()}")
                continue
            if t.kind != Kind.STRUCT:
                raise ObjectError(f"map '{map_name}': map-in-map inner def is of unexpected kind "
                                  f"{t.kind.name.lower()}")
            assert inner is not None
            got = parse_btf_map_def(f"{map_name}.inner", btf, t, inner=None, strict=strict)  # type: ignore[arg-type]
            inner.__dict__.update(got.__dict__)
            d.parts.add("inner_map")
        elif name == "pinning":
            if is_inner:
                raise ObjectError(f"map '{map_name}': inner def can't be pinned")
            val = _field_int(map_name, btf, mem)
            if val not in (PIN_NONE, PIN_BY_NAME):
                raise ObjectError(f"map '{map_name}': invalid pinning value {val} (0 = none, "
                                  "1 = LIBBPF_PIN_BY_NAME)")
            d.pinning = val
            d.parts.add("pinning")
        elif name == "map_extra":
            d.map_extra = _field_int(map_name, btf, mem)
            d.parts.add("map_extra")
        elif strict:
            raise ObjectError(f"map '{map_name}': unknown field '{name}' (known: type, key, value, "
                              "key_size, value_size, max_entries, map_flags, numa_node, pinning, "
                              "map_extra, values)")
    if d.map_type == 0:
        raise ObjectError(f"map '{map_name}': map type isn't specified")
    return d


_DEFAULT: Any = object()  # "not given" (None is a value)


class MapSpec(Record, frozen=False):
    """A map the object defines, before it exists in the kernel (see the module docstring).

    ``kind`` is ``"user"`` for maps in ``.maps``, ``"data"``, ``"rodata"``, ``"bss"`` or
    ``"kconfig"`` for internal ones (``real_name`` is then the ELF section name),
    ``"struct_ops"`` for the variables of ``.struct_ops*`` sections (``struct_ops`` is then
    their :class:`~pybpf.object.struct_ops.StructOpsSpec`: the struct's contents and which
    program each function pointer names; ``value_size`` becomes the kernel's at load). ``type`` is
    the kernel's map type number (``type_name`` the bpftool name). ``inner`` is the template of
    a map-in-map's inner maps; ``init_slots`` the initial ``{index: name}`` values of a
    prog-array (program names) or map-in-map (map names). ``data`` holds an internal map's
    initial contents (edit them through ``ObjectSpec.variables``). ``pin_path`` is set for
    ``LIBBPF_PIN_BY_NAME`` maps when the object is loaded (under ``pin_root``), or by you.
    ``autocreate`` off: the map is not created at load (libbpf's ``bpf_map__set_autocreate``);
    ``autoattach`` off: :meth:`pybpf.Object.attach` does not register this struct_ops map
    (libbpf's ``bpf_map__set_autoattach``).
    """

    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    pinning: int = PIN_NONE
    pin_path: str | None = None
    kind: str = MAP_USER
    real_name: str = ""
    section_index: int = 0
    section_offset: int = 0
    btf_var_index: int = -1
    inner: "MapSpec | None" = None
    init_slots: dict[int, str] = field_spec(default_factory=dict)
    data: bytearray | None = None
    autocreate: bool = True
    ifindex: int = 0
    reuse_fd: Any = None
    struct_ops: "StructOpsSpec | None" = None
    autoattach: bool = True

    def __init__(self, name: str, type: int, key_size: int, value_size: int, max_entries: int,
                 flags: int = 0, numa_node: int = 0, map_extra: int = 0, btf_key_type_id: int = 0,
                 btf_value_type_id: int = 0, pinning: int = PIN_NONE, pin_path: str | None = None,
                 kind: str = MAP_USER, real_name: str = "", section_index: int = 0,
                 section_offset: int = 0, btf_var_index: int = -1, inner: "MapSpec | None" = None,
                 init_slots: Any = _DEFAULT, data: bytearray | None = None,
                 autocreate: bool = True, ifindex: int = 0, reuse_fd: Any = None,
                 struct_ops: "StructOpsSpec | None" = None, autoattach: bool = True) -> None:
        # Field by field through __setattr__, in declaration order: the checks that apply once
        # ``type``/``kind`` are set (ring buffer sizes, 32-bit values) apply here too.
        self.name = name
        self.type = type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.numa_node = numa_node
        self.map_extra = map_extra
        self.btf_key_type_id = btf_key_type_id
        self.btf_value_type_id = btf_value_type_id
        self.pinning = pinning
        self.pin_path = pin_path
        self.kind = kind
        self.real_name = real_name
        self.section_index = section_index
        self.section_offset = section_offset
        self.btf_var_index = btf_var_index
        self.inner = inner
        self.init_slots = {} if init_slots is _DEFAULT else init_slots
        self.data = data
        self.autocreate = autocreate
        self.ifindex = ifindex
        self.reuse_fd = reuse_fd
        self.struct_ops = struct_ops
        self.autoattach = autoattach

    def reuse(self, map_or_fd: Any) -> None:
        """Use an existing map instead of creating one (libbpf's ``bpf_map__reuse_fd``): a
        :class:`pybpf.Map`, an :class:`~pybpf.sys.FD` or a descriptor number. The map's type
        and sizes become the existing map's when the object is loaded."""
        object.__setattr__(self, "reuse_fd", map_or_fd)

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "max_entries" and "type" in self.__dict__ and self.type in (MAP_TYPE_RINGBUF, MAP_TYPE_USER_RINGBUF):
            value = adjust_ringbuf_size(_u32(value, "max_entries"))
        elif key in ("max_entries", "key_size", "flags", "numa_node", "ifindex") and "kind" in self.__dict__:
            value = _u32(value, key)
            if key == "key_size" and self.kind in INTERNAL_KINDS:
                raise InvalidArgumentError(f"map '{self.name}': the key size of a global data map is 4")
        elif key == "value_size" and "kind" in self.__dict__:
            value = _u32(value, key)
            if self.kind in INTERNAL_KINDS and value != self.value_size:
                raise InvalidArgumentError(f"map '{self.name}': the value size of a global data map "
                                           f"is the size of its section ({self.value_size} bytes)")
        elif key == "type" and "kind" in self.__dict__:
            value = _map_type(value)
            if self.kind in INTERNAL_KINDS and value != self.type:
                raise InvalidArgumentError(f"map '{self.name}': global data maps are arrays")
        elif key in ("autocreate", "autoattach") and "kind" in self.__dict__:
            value = bool(value)
        elif key == "map_extra" and "kind" in self.__dict__:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
                raise InvalidArgumentError(f"map '{self.name}': map_extra must be a 64-bit number")
        object.__setattr__(self, key, value)

    @property
    def type_name(self) -> str:
        """bpftool's name of the map type (``"hash"``)."""
        from pybpf.sys.names import map_type_name

        return map_type_name(self.type)

    @property
    def is_internal(self) -> bool:
        """A map libbpf creates for global data or ``.kconfig``."""
        return self.kind in INTERNAL_KINDS

    @property
    def mmapable(self) -> bool:
        return bool(self.flags & BPF_F_MMAPABLE)

    def copy(self) -> "MapSpec":
        new = self.__copy__()
        new.__dict__["init_slots"] = dict(self.init_slots)
        new.__dict__["data"] = bytearray(self.data) if self.data is not None else None
        new.__dict__["inner"] = self.inner.copy() if self.inner is not None else None
        new.__dict__["struct_ops"] = self.struct_ops.copy() if self.struct_ops is not None else None
        return new

    def __copy__(self) -> "MapSpec":
        # every attribute, not only the fields (Record's copy rebuilds from the fields)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    __reduce__ = object.__reduce__  # copy.deepcopy and pickle: the whole __dict__, as before

    def __repr__(self) -> str:
        return (f"<MapSpec {self.name} type={self.type} key={self.key_size} value={self.value_size} "
                f"max_entries={self.max_entries} flags={self.flags:#x}>")


def _u32(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise InvalidArgumentError(f"{what} must be an integer from 0 to 2**32-1, not {value!r}")
    return value


def _map_type(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return _u32(value, "map type")
    from pybpf.sys.names import parse_map_type

    return parse_map_type(value)


def map_from_def(name: str, d: BTFMapDef, **kw: Any) -> MapSpec:
    """libbpf's fill_map_from_def()."""
    max_entries = d.max_entries
    if d.map_type in (MAP_TYPE_RINGBUF, MAP_TYPE_USER_RINGBUF):
        max_entries = adjust_ringbuf_size(max_entries)
    return MapSpec(name=name, type=d.map_type, key_size=d.key_size, value_size=d.value_size,
                   max_entries=max_entries, flags=d.map_flags, numa_node=d.numa_node,
                   map_extra=d.map_extra, btf_key_type_id=d.key_type_id,
                   btf_value_type_id=d.value_type_id, pinning=d.pinning, **kw)


def user_maps(btf: "BTF", maps_index: int, maps_size: int, where: str, *, strict: bool = True) -> list[MapSpec]:
    """The maps of the ``.maps`` section, in its DATASEC order (bpf_object__init_user_btf_maps)."""
    secs = btf.find(".maps", Kind.DATASEC)
    if not secs:
        raise ObjectError(f"{where}: DATASEC '.maps' not found in .BTF (maps must be BTF-defined)")
    sec = btf[min(secs)]
    out: list[MapSpec] = []
    for var_idx, vs in enumerate(sec.vars):  # type: ignore[attr-defined]
        var = btf[vs.type]
        name = var.name
        if not name:
            raise ObjectError(f"{where}: map #{var_idx} in .maps has an empty name")
        if vs.offset + vs.size > maps_size:
            raise ObjectError(f"{where}: map '{name}' BTF data is corrupted: [{vs.offset}, "
                              f"{vs.offset + vs.size}) is outside .maps ({maps_size} bytes)")
        if var.kind != Kind.VAR:
            raise ObjectError(f"{where}: map '{name}': unexpected var kind {var.kind.name.lower()}")
        if var.linkage != m.Linkage.GLOBAL:  # type: ignore[attr-defined]
            linkage = {0: "static", 2: "extern"}.get(var.linkage, "unknown")  # type: ignore[attr-defined]
            raise ObjectError(f"{where}: map '{name}': unsupported map linkage {linkage} (maps must be "
                              "global variables)")
        def_t = btf[btf.skip_mods_and_typedefs(var.type)]  # type: ignore[attr-defined]
        if def_t.kind != Kind.STRUCT:
            raise ObjectError(f"{where}: map '{name}': unexpected def kind {def_t.kind.name.lower()} "
                              "(a BTF map definition is a struct)")
        if def_t.size > vs.size:  # type: ignore[attr-defined]
            raise ObjectError(f"{where}: map '{name}': invalid def size")
        inner = BTFMapDef()
        try:
            d = parse_btf_map_def(name, btf, def_t, inner=inner, strict=strict)  # type: ignore[arg-type]
        except ObjectError as exc:
            raise ObjectError(f"{where}: {exc.message}") from None
        spec = map_from_def(name, d, section_index=maps_index, section_offset=vs.offset,
                            btf_var_index=var_idx)
        if "inner_map" in d.parts:
            spec.inner = map_from_def(f"{name}.inner", inner, section_index=maps_index)
        out.append(spec)
    return out


def internal_map(obj_name: str, kind: str, real_name: str, section_index: int, data: bytes, size: int,
                 btf: "BTF | None") -> MapSpec:
    """libbpf's bpf_object__init_internal_map(): a one-element array holding a section."""
    if size > 0xFFFFFFFF:
        raise ObjectError(f"section '{real_name}': {size} bytes, more than a map value can hold")
    flags = BPF_F_RDONLY_PROG if kind in (MAP_RODATA, MAP_KCONFIG) else 0
    value_type = 0
    if btf is not None:
        ids = btf.find(real_name)
        if ids:
            value_type = min(ids)
    if value_type and _mmapable(btf, value_type):  # type: ignore[arg-type]
        flags |= BPF_F_MMAPABLE
    buf = bytearray(size)
    buf[:len(data)] = data[:size]
    return MapSpec(name=internal_map_name(obj_name, real_name), type=MAP_TYPE_ARRAY, key_size=4,
                   value_size=size, max_entries=1, flags=flags, btf_value_type_id=value_type,
                   kind=kind, real_name=real_name, section_index=section_index, data=buf)


def _mmapable(btf: "BTF", value_type: int) -> bool:
    """libbpf's map_is_mmapable(): a DATASEC with at least one non-static VAR."""
    if btf.kind_of(value_type) != Kind.DATASEC:
        return False
    for v in btf[value_type].vars:  # type: ignore[attr-defined]
        if btf.kind_of(v.type) == Kind.VAR and btf[v.type].linkage != m.Linkage.STATIC:  # type: ignore[attr-defined]
            return True
    return False
