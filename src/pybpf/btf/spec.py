"""Parsing raw BTF into :class:`BTF`, the container every other layer asks for types.

Parsing is lazy: :meth:`BTF.parse` validates the header and walks the type section once to
record where each type's record starts (an ``array`` of offsets); a type is decoded into a
:mod:`pybpf.btf.model` object the first time it is asked for, then cached. Names are indexed on
the first :meth:`BTF.find`. This keeps ``vmlinux`` (≈130 000 types) cheap to open when a caller
needs only a handful of types, which is the common case (CO-RE, kfunc lookup, attach targets).

Both byte orders are accepted (the magic tells). Split BTF (kernel modules) is parsed on top of
its base: ids and string offsets continue where the base's end.

Malformed input raises :class:`pybpf.errors.BTFError` naming the byte offset and type id.
"""

from __future__ import annotations

import struct
from array import array
from typing import Iterator

from pybpf.errors import BTFError
from pybpf.btf import model as m
from pybpf.btf.model import Kind

__all__ = ["BTF", "BTF_MAGIC", "HEADER_SIZE", "MAX_TYPE_ID", "record_size"]

BTF_MAGIC = 0xEB9F
HEADER_SIZE = 24
MAX_TYPE_ID = 0x000FFFFF
MAX_VLEN = 0xFFFF

# kind -> (bytes after the 12-byte common header, bytes per vlen entry)
_RECORD_LAYOUT: dict[int, tuple[int, int]] = {
    Kind.INT: (4, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (12, 0),
    Kind.STRUCT: (0, 12),
    Kind.UNION: (0, 12),
    Kind.ENUM: (0, 8),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 8),
    Kind.VAR: (4, 0),
    Kind.DATASEC: (0, 12),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (4, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 12),
}
# Flat tables indexed by kind number for the scan loop (None = unknown kind).
_FIXED = [None] * 32
_PER = [0] * 32
for _k, (_fixed, _per) in _RECORD_LAYOUT.items():
    _FIXED[_k] = _fixed
    _PER[_k] = _per


def record_size(kind: int, vlen: int) -> int:
    """Size in bytes of one type record of ``kind`` with ``vlen`` entries."""
    fixed, per = _RECORD_LAYOUT[Kind(kind)]
    return 12 + fixed + per * vlen


class _Header:
    __slots__ = ("endian", "version", "flags", "hdr_len", "type_off", "type_len", "str_off", "str_len")


def _parse_header(data: bytes | memoryview) -> _Header:
    if len(data) < HEADER_SIZE:
        raise BTFError(f"BTF header truncated: {len(data)} bytes, need {HEADER_SIZE}")
    magic_le = struct.unpack_from("<H", data, 0)[0]
    if magic_le == BTF_MAGIC:
        endian = "<"
    elif magic_le == 0x9FEB:
        endian = ">"
    else:
        raise BTFError(f"bad BTF magic 0x{magic_le:04x} at offset 0 (want 0xeb9f)")
    h = _Header()
    h.endian = endian
    (_, h.version, h.flags, h.hdr_len, h.type_off, h.type_len, h.str_off, h.str_len) = struct.unpack_from(
        endian + "HBBIIIII", data, 0
    )
    if h.version != 1:
        raise BTFError(f"unsupported BTF version {h.version} at offset 2")
    if h.hdr_len < HEADER_SIZE or h.hdr_len > len(data):
        raise BTFError(f"BTF hdr_len {h.hdr_len} out of range (file is {len(data)} bytes)")
    # Bytes of a longer header than we know must be zero (as the kernel requires).
    if h.hdr_len > HEADER_SIZE and any(bytes(data[HEADER_SIZE:h.hdr_len])):
        raise BTFError(f"BTF header has unknown non-zero fields between offsets {HEADER_SIZE} and {h.hdr_len}")
    body = len(data) - h.hdr_len
    for what, off, ln in (("type", h.type_off, h.type_len), ("string", h.str_off, h.str_len)):
        if off + ln > body:
            raise BTFError(
                f"BTF {what} section [{h.hdr_len + off}, {h.hdr_len + off + ln}) runs past the end "
                f"of the data ({len(data)} bytes)"
            )
    if h.type_off % 4:
        raise BTFError(f"BTF type section offset {h.type_off} is not 4-byte aligned")
    if h.type_len % 4:
        raise BTFError(f"BTF type section length {h.type_len} is not a multiple of 4")
    if h.type_off < h.str_off + h.str_len and h.str_off < h.type_off + h.type_len:
        raise BTFError("BTF type and string sections overlap")
    return h


class BTF:
    """A parsed set of BTF types (``.BTF`` of an object, vmlinux, or a module's split BTF).

    ``btf[type_id]`` returns the decoded type (id 0 is :data:`pybpf.btf.model.VOID`);
    ``len(btf)`` is the number of type ids including void (so ids are ``range(len(btf))``);
    :meth:`find` looks types up by name. Instances are read-only views of the bytes they
    were parsed from.
    """

    def __init__(self) -> None:  # use BTF.parse()
        self._data: bytes = b""
        self.base: BTF | None = None
        self.endian = "<"
        self.start_id = 1
        self._offsets = array("I")
        self._types_start = 0
        self._str_start = 0
        self._str_len = 0
        self._str_base_len = 0
        self._cache: dict[int, m.Type] = {}
        self._strings: dict[int, str] = {}
        self._name_index: dict[str, list[int]] | None = None
        self._ptr_size: int | None = None

    # ------------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, base: BTF | None = None) -> BTF:
        """Parse raw BTF ``data`` (a ``.BTF`` section or a /sys/kernel/btf file).

        With ``base``, ``data`` is split BTF on top of it (kernel module BTF): its type ids start
        at ``len(base)`` and its string offsets at the base's string section length.
        """
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        h = _parse_header(data)
        self = cls()
        self._data = data
        self.base = base
        self.endian = h.endian
        self.version = h.version
        self.flags = h.flags
        self._types_start = h.hdr_len + h.type_off
        self._types_end = self._types_start + h.type_len
        self._str_start = h.hdr_len + h.str_off
        self._str_len = h.str_len
        if base is not None:
            if base.endian != h.endian:
                raise BTFError("split BTF byte order differs from its base BTF")
            self.start_id = len(base)
            self._str_base_len = base._str_len_total
        else:
            if h.str_len == 0 or data[self._str_start] != 0:
                raise BTFError(f"BTF string section at offset {self._str_start} must start with a NUL byte")
        if h.str_len and data[self._str_start + h.str_len - 1] != 0:
            raise BTFError(f"BTF string section at offset {self._str_start} is not NUL-terminated")
        self._scan()
        return self

    @property
    def _str_len_total(self) -> int:
        return self._str_base_len + self._str_len

    def _scan(self) -> None:
        """Record the start offset of every type record, validating kinds and bounds."""
        data = self._data
        info_at = struct.Struct(self.endian + "I").unpack_from
        fixed_tab, per_tab = _FIXED, _PER
        offsets = array("I")
        append = offsets.append
        off = self._types_start
        end = self._types_end
        max_local = MAX_TYPE_ID - self.start_id + 1
        while off < end:
            if off + 12 > end:
                raise BTFError(
                    f"BTF type id {self.start_id + len(offsets)} at offset {off}: record header truncated"
                )
            info = info_at(data, off + 4)[0]
            kind = (info >> 24) & 0x1F
            fixed = fixed_tab[kind]
            if fixed is None:
                raise BTFError(
                    f"BTF type id {self.start_id + len(offsets)} at offset {off}: unknown kind {kind}"
                )
            append(off)
            off += 12 + fixed + per_tab[kind] * (info & 0xFFFF)
            if len(offsets) > max_local:
                raise BTFError(f"BTF has more than {MAX_TYPE_ID} types")
        if off != end:
            raise BTFError(
                f"BTF type id {self.start_id + len(offsets) - 1} at offset {offsets[-1]}: record runs "
                f"{off - end} bytes past the end of the type section"
            )
        self._offsets = offsets

    # ------------------------------------------------------------------ strings
    def string(self, offset: int) -> str:
        """The string at ``offset`` of the string section (base strings first for split BTF)."""
        s = self._strings.get(offset)
        if s is not None:
            return s
        if offset < self._str_base_len:
            assert self.base is not None
            s = self.base.string(offset)
        else:
            local = offset - self._str_base_len
            if local >= self._str_len:
                raise BTFError(
                    f"BTF string offset {offset} out of range (string section has {self._str_total_desc()})"
                )
            start = self._str_start + local
            endpos = self._data.find(b"\0", start)
            try:
                s = self._data[start:endpos].decode()
            except UnicodeDecodeError:
                raise BTFError(f"BTF string at offset {offset} is not valid UTF-8") from None
        self._strings[offset] = s
        return s

    def _str_total_desc(self) -> str:
        return f"{self._str_len_total} bytes"

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        """Number of type ids, counting void and the base's types: valid ids are ``range(len(self))``."""
        return self.start_id + len(self._offsets)

    def __getitem__(self, type_id: int) -> m.Type:
        t = self._cache.get(type_id)
        if t is not None:
            return t
        if type_id == 0:
            return m.VOID
        if type_id < self.start_id:
            if self.base is None or type_id < 0:
                raise BTFError(f"BTF type id {type_id} out of range")
            return self.base[type_id]
        idx = type_id - self.start_id
        if idx >= len(self._offsets):
            raise BTFError(f"BTF type id {type_id} out of range (last id is {len(self) - 1})")
        t = self._decode(type_id, self._offsets[idx])
        self._cache[type_id] = t
        return t

    def types(self, start: int | None = None) -> Iterator[m.Type]:
        """Every type of this BTF (not its base), in id order; decodes them all."""
        first = self.start_id if start is None else max(start, self.start_id)
        for tid in range(first, len(self)):
            yield self[tid]

    def __iter__(self) -> Iterator[m.Type]:
        return self.types()

    def kind_of(self, type_id: int) -> Kind:
        """The kind of ``type_id`` without decoding the whole type."""
        if type_id == 0:
            return Kind.UNKN
        if type_id < self.start_id:
            if self.base is None:
                raise BTFError(f"BTF type id {type_id} out of range")
            return self.base.kind_of(type_id)
        idx = type_id - self.start_id
        if not 0 <= idx < len(self._offsets):
            raise BTFError(f"BTF type id {type_id} out of range (last id is {len(self) - 1})")
        info = struct.unpack_from(self.endian + "I", self._data, self._offsets[idx] + 4)[0]
        return Kind((info >> 24) & 0x1F)

    def name_of(self, type_id: int) -> str:
        """The name of ``type_id`` without decoding the whole type (``""`` if anonymous)."""
        if type_id == 0:
            return ""
        if type_id < self.start_id:
            if self.base is None:
                raise BTFError(f"BTF type id {type_id} out of range")
            return self.base.name_of(type_id)
        idx = type_id - self.start_id
        if not 0 <= idx < len(self._offsets):
            raise BTFError(f"BTF type id {type_id} out of range (last id is {len(self) - 1})")
        return self.string(struct.unpack_from(self.endian + "I", self._data, self._offsets[idx])[0])

    @property
    def raw(self) -> bytes:
        """The bytes this BTF was parsed from."""
        return self._data

    # ------------------------------------------------------------------ names
    def _build_name_index(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        name_at = struct.Struct(self.endian + "I").unpack_from
        data = self._data
        string = self.string
        tid = self.start_id
        for off in self._offsets:
            name_off = name_at(data, off)[0]
            if name_off:
                name = string(name_off)
                ids = index.get(name)
                if ids is None:
                    index[name] = [tid]
                else:
                    ids.append(tid)
            tid += 1
        return index

    @property
    def name_index(self) -> dict[str, list[int]]:
        """name → type ids of this BTF (not its base), built on first use."""
        if self._name_index is None:
            self._name_index = self._build_name_index()
        return self._name_index

    def set_name_index(self, index: dict[str, list[int]]) -> None:
        """Install a name index computed earlier for the same bytes (the on-disk cache)."""
        self._name_index = index

    def find(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of the types named ``name`` (optionally only of ``kind``), base BTF first."""
        ids = list(self.base.find(name, kind)) if self.base is not None else []
        local = self.name_index.get(name, ())
        if kind is None:
            ids.extend(local)
        else:
            ids.extend(t for t in local if self.kind_of(t) == kind)
        return ids

    def find_one(self, name: str, kind: Kind | None = None) -> int:
        """The single id named ``name`` (of ``kind``); BTFError if none or several."""
        ids = self.find(name, kind)
        what = f"{kind.name.lower()} " if kind is not None else ""
        if not ids:
            raise BTFError(f"no BTF type {what}'{name}'")
        if len(ids) > 1:
            raise BTFError(f"BTF type {what}'{name}' is ambiguous: ids {ids}")
        return ids[0]

    # ------------------------------------------------------------------ decoding
    def _check_ref(self, owner: int, ref: int, off: int) -> int:
        if ref >= len(self):
            raise BTFError(
                f"BTF type id {owner} at offset {off}: refers to type id {ref}, last id is {len(self) - 1}"
            )
        return ref

    def _decode(self, tid: int, off: int) -> m.Type:
        e = self.endian
        data = self._data
        name_off, info, size_type = struct.unpack_from(e + "III", data, off)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = info >> 31
        try:
            name = self.string(name_off) if name_off else ""
            return _DECODERS[kind](self, tid, off, name, vlen, kflag, size_type)
        except BTFError as exc:
            if f"type id {tid}" in str(exc):
                raise
            raise BTFError(f"BTF type id {tid} at offset {off}: {exc.message}") from None

    # ------------------------------------------------------------------ layout helpers
    def skip_modifiers(self, type_id: int) -> int:
        """Follow CONST/VOLATILE/RESTRICT/TYPE_TAG to the first other type."""
        seen = 0
        while self.kind_of(type_id) in m.MODIFIER_KINDS:
            type_id = self[type_id].type  # type: ignore[attr-defined]
            seen += 1
            if seen > len(self):
                raise BTFError(f"BTF type id {type_id}: modifier loop")
        return type_id

    def skip_mods_and_typedefs(self, type_id: int) -> int:
        """Follow modifiers and typedefs (libbpf's skip_mods_and_typedefs)."""
        seen = 0
        while True:
            kind = self.kind_of(type_id)
            if kind not in m.MODIFIER_KINDS and kind != Kind.TYPEDEF:
                return type_id
            type_id = self[type_id].type  # type: ignore[attr-defined]
            seen += 1
            if seen > len(self):
                raise BTFError(f"BTF type id {type_id}: typedef/modifier loop")

    @property
    def pointer_size(self) -> int:
        """Pointer size of the target that produced this BTF: the size of ``long``, else 8."""
        if self._ptr_size is None:
            size = 8
            for name in ("long", "unsigned long", "long int", "long unsigned int"):
                ids = self.find(name, Kind.INT)
                if ids:
                    size = self[ids[0]].size  # type: ignore[attr-defined]
                    break
            self._ptr_size = size
        return self._ptr_size

    def resolve_size(self, type_id: int) -> int:
        """Byte size of ``type_id`` as libbpf's btf__resolve_size computes it."""
        nelems = 1
        depth = 0
        while True:
            depth += 1
            if depth > 32 + len(self):
                raise BTFError(f"BTF type id {type_id}: reference loop while resolving size")
            t = self[type_id]
            kind = t.kind
            if kind in (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT):
                size = t.size  # type: ignore[attr-defined]
                break
            if kind == Kind.PTR:
                size = self.pointer_size
                break
            if kind in m.MODIFIER_KINDS or kind in (Kind.TYPEDEF, Kind.VAR, Kind.DECL_TAG):
                type_id = t.type  # type: ignore[attr-defined]
                continue
            if kind == Kind.ARRAY:
                nelems *= t.nelems  # type: ignore[attr-defined]
                type_id = t.type  # type: ignore[attr-defined]
                continue
            raise BTFError(f"BTF type id {t.id} ({kind.name}) has no size")
        total = nelems * size
        if total > 0xFFFFFFFF:
            raise BTFError(f"BTF type id {type_id}: size {total} overflows 32 bits")
        return total

    def alignment(self, type_id: int) -> int:
        """Alignment of ``type_id`` as libbpf's btf__align_of computes it (1 for packed)."""
        depth = 0
        while True:
            depth += 1
            if depth > 32 + len(self):
                raise BTFError(f"BTF type id {type_id}: reference loop while resolving alignment")
            t = self[type_id]
            kind = t.kind
            if kind in (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT):
                return min(self.pointer_size, t.size)  # type: ignore[attr-defined]
            if kind == Kind.PTR:
                return self.pointer_size
            if kind in m.MODIFIER_KINDS or kind in (Kind.TYPEDEF, Kind.ARRAY):
                type_id = t.type  # type: ignore[attr-defined]
                continue
            if kind in (Kind.STRUCT, Kind.UNION):
                assert isinstance(t, m.Composite)
                max_align = 1
                for mem in t.members:
                    align = self.alignment(mem.type)
                    if mem.bitfield_size == 0 and mem.bit_offset % (8 * align):
                        return 1  # a member placed off its natural alignment: packed
                    max_align = max(max_align, align)
                if t.size % max_align:
                    return 1  # size not a multiple of alignment: packed
                return max_align
            raise BTFError(f"BTF type id {t.id} ({kind.name}) has no alignment")

    def member_path(self, type_id: int, name: str) -> list[tuple[int, m.Member]] | None:
        """Find member ``name`` in struct/union ``type_id``, looking through anonymous members.

        Returns the path as ``[(composite_id, member), ...]`` from the outer type inward (the
        last entry is the named member), or None when there is no such member.
        """
        cid = self.skip_mods_and_typedefs(type_id)
        t = self[cid]
        if not isinstance(t, m.Composite):
            raise BTFError(f"BTF type id {type_id} ({t.kind.name}) is not a struct or union")
        for mem in t.members:
            if mem.name == name:
                return [(cid, mem)]
        for mem in t.members:
            if not mem.name:
                inner = self.skip_mods_and_typedefs(mem.type)
                if isinstance(self[inner], m.Composite):
                    rest = self.member_path(inner, name)
                    if rest is not None:
                        return [(cid, mem), *rest]
        return None

    def __repr__(self) -> str:
        split = f", split on {len(self.base)} base ids" if self.base is not None else ""
        return f"<BTF {len(self) - self.start_id} types{split}>"


# ---------------------------------------------------------------------- per-kind decoders
def _dec_int(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    raw = struct.unpack_from(b.endian + "I", b._data, off + 12)[0]
    encoding = (raw >> 24) & 0x0F
    offset = (raw >> 16) & 0xFF
    bits = raw & 0xFF
    if size not in (1, 2, 4, 8, 16):
        raise BTFError(f"INT '{name}' has invalid size {size}")
    if bits > 128 or offset + bits > size * 8:
        raise BTFError(f"INT '{name}' has {bits} bits at bit offset {offset}, more than its {size} bytes")
    return m.Int(tid, name, size, encoding, offset, bits)


def _ref_decoder(cls: type[m._Ref]):  # noqa: ANN202 - small factory
    def dec(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
        return cls(tid, name, b._check_ref(tid, ref, off))

    return dec


def _dec_array(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    elem, index, nelems = struct.unpack_from(b.endian + "III", b._data, off + 12)
    return m.Array(tid, name, b._check_ref(tid, elem, off), b._check_ref(tid, index, off), nelems)


def _members(b: BTF, tid: int, off: int, vlen: int, kflag: int) -> tuple[m.Member, ...]:
    e = b.endian
    data = b._data
    string = b.string
    check = b._check_ref
    out = []
    p = off + 12
    for name_off, mtype, moff in struct.iter_unpack(e + "III", data[p:p + 12 * vlen]):
        if kflag:
            out.append(m.Member(string(name_off) if name_off else "", check(tid, mtype, off),
                                moff & 0xFFFFFF, moff >> 24))
        else:
            out.append(m.Member(string(name_off) if name_off else "", check(tid, mtype, off), moff, 0))
    return tuple(out)


def _dec_struct(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    return m.Struct(tid, name, size, _members(b, tid, off, vlen, kflag), bool(kflag))


def _dec_union(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    return m.Union(tid, name, size, _members(b, tid, off, vlen, kflag), bool(kflag))


def _dec_enum(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    if size not in (1, 2, 4, 8):
        raise BTFError(f"ENUM '{name}' has invalid size {size}")
    fmt = b.endian + ("Ii" if kflag else "II")
    p = off + 12
    string = b.string
    values = tuple(
        m.EnumValue(string(n) if n else "", v) for n, v in struct.iter_unpack(fmt, b._data[p:p + 8 * vlen])
    )
    return m.Enum(tid, name, size, values, bool(kflag))


def _dec_enum64(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    if size not in (1, 2, 4, 8):
        raise BTFError(f"ENUM64 '{name}' has invalid size {size}")
    p = off + 12
    string = b.string
    values = []
    for n, lo, hi in struct.iter_unpack(b.endian + "III", b._data[p:p + 12 * vlen]):
        v = (hi << 32) | lo
        if kflag and v >= 1 << 63:
            v -= 1 << 64
        values.append(m.EnumValue(string(n) if n else "", v))
    return m.Enum64(tid, name, size, tuple(values), bool(kflag))


def _dec_fwd(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    return m.Fwd(tid, name, bool(kflag))


def _dec_func(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    # FUNC reuses vlen for linkage.
    return m.Func(tid, name, b._check_ref(tid, ref, off), vlen)


def _dec_func_proto(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, ret: int) -> m.Type:
    p = off + 12
    string = b.string
    params = tuple(
        m.Param(string(n) if n else "", b._check_ref(tid, t, off))
        for n, t in struct.iter_unpack(b.endian + "II", b._data[p:p + 8 * vlen])
    )
    return m.FuncProto(tid, name, b._check_ref(tid, ret, off), params)


def _dec_var(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    linkage = struct.unpack_from(b.endian + "I", b._data, off + 12)[0]
    return m.Var(tid, name, b._check_ref(tid, ref, off), linkage)


def _dec_datasec(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    p = off + 12
    vars_ = tuple(
        m.VarSecinfo(b._check_ref(tid, t, off), o, s)
        for t, o, s in struct.iter_unpack(b.endian + "III", b._data[p:p + 12 * vlen])
    )
    return m.Datasec(tid, name, size, vars_)


def _dec_float(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    if size not in (2, 4, 8, 12, 16):
        raise BTFError(f"FLOAT '{name}' has invalid size {size}")
    return m.Float(tid, name, size)


def _dec_decl_tag(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    idx = struct.unpack_from(b.endian + "i", b._data, off + 12)[0]
    return m.DeclTag(tid, name, b._check_ref(tid, ref, off), idx)


def _dec_unknown(b: BTF, tid: int, off: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    raise BTFError("kind 0 (UNKN) is not a valid type record")


_DECODERS = {
    Kind.UNKN: _dec_unknown,
    Kind.INT: _dec_int,
    Kind.PTR: _ref_decoder(m.Pointer),
    Kind.ARRAY: _dec_array,
    Kind.STRUCT: _dec_struct,
    Kind.UNION: _dec_union,
    Kind.ENUM: _dec_enum,
    Kind.FWD: _dec_fwd,
    Kind.TYPEDEF: _ref_decoder(m.Typedef),
    Kind.VOLATILE: _ref_decoder(m.Volatile),
    Kind.CONST: _ref_decoder(m.Const),
    Kind.RESTRICT: _ref_decoder(m.Restrict),
    Kind.FUNC: _dec_func,
    Kind.FUNC_PROTO: _dec_func_proto,
    Kind.VAR: _dec_var,
    Kind.DATASEC: _dec_datasec,
    Kind.FLOAT: _dec_float,
    Kind.DECL_TAG: _dec_decl_tag,
    Kind.TYPE_TAG: _ref_decoder(m.TypeTag),
    Kind.ENUM64: _dec_enum64,
}
# dict lookup by plain int kind works because Kind is an IntEnum (same hash/eq).
