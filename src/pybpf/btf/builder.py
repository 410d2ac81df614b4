"""Building BTF in code and marshalling it to bytes (either byte order).

:class:`BTFBuilder` collects types (as :mod:`pybpf.btf.model` objects) and writes the standard
layout libbpf writes: a 24-byte header, the type section, then a deduplicated string section.
Type ids are handed out in order: 1, 2, … — or, on top of a ``base`` BTF, continuing after the
base's last id (split BTF, as kernel modules have), with strings the base already holds reused
from the base's string section the way libbpf's ``btf__add_str`` does.

::

    b = BTFBuilder()
    i32 = b.add_int("int", 4, IntEncoding.SIGNED)
    s = b.add_struct("pair", 8, [("a", i32, 0), ("b", i32, 32)])
    raw = b.encode()            # bytes, host byte order by default; encode(">") for big endian
    btf = b.build()             # the same, parsed back into a BTF
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import Iterable, Sequence

from pybpf.errors import BTFError
from pybpf.btf import model as m
from pybpf.btf.model import IntEncoding, Kind, Linkage
from pybpf.btf.spec import BTF, BTF_MAGIC, HEADER_SIZE, MAX_TYPE_ID

__all__ = ["BTFBuilder", "encode_types"]

_NATIVE = "<" if sys.byteorder == "little" else ">"


def _info(kind: int, vlen: int, kflag: bool | int) -> int:
    return (int(bool(kflag)) << 31) | ((kind & 0x1F) << 24) | (vlen & 0xFFFF)


class _Strings:
    """A deduplicated string section (offset 0 is ""), optionally continuing a base's."""

    def __init__(self, base: BTF | None) -> None:
        self.base = base
        self._base_index: dict[str, int] | None = None
        self.offsets: dict[str, int] = {}
        self.data = bytearray() if base is not None else bytearray(b"\0")
        self.start = base._str_len_total if base is not None else 0
        if base is None:
            self.offsets[""] = 0

    def add(self, s: str) -> int:
        if not s:
            return 0
        off = self.offsets.get(s)
        if off is not None:
            return off
        if self.base is not None:
            if self._base_index is None:
                index: dict[str, int] = {}
                b: BTF | None = self.base
                while b is not None:  # outermost base first wins: lowest offsets
                    for o, text in b.load_strings().items():
                        index.setdefault(text, o)
                    b = b.base
                self._base_index = index
            off = self._base_index.get(s)
            if off is not None:
                self.offsets[s] = off
                return off
        encoded = s.encode()
        if b"\0" in encoded:
            raise BTFError(f"BTF string {s!r} contains a NUL byte")
        off = self.start + len(self.data)
        self.data += encoded + b"\0"
        self.offsets[s] = off
        return off


def encode_types(types: Sequence[m.Type], strings: _Strings, n_ids: int) -> array:
    """Encode model types into host-order 32-bit words (references must be < ``n_ids``)."""
    words = array("I")
    add = strings.add
    t: m.Type = m.VOID

    def ref(tid: int) -> int:
        if not 0 <= tid < n_ids:
            raise BTFError(f"BTF type id {t.id} ({t.kind.name} '{t.name}') refers to unknown type id {tid}")
        return tid

    for t in types:
        k = t.kind
        name_off = add(t.name)

        if isinstance(t, m.Int):
            if t.size not in (1, 2, 4, 8, 16) or t.bits > 128 or t.offset + t.bits > 8 * t.size:
                raise BTFError(f"BTF type id {t.id}: INT '{t.name}' size {t.size} bits {t.bits} is invalid")
            words.extend((name_off, _info(k, 0, 0), t.size,
                          ((t.encoding & 0xF) << 24) | ((t.offset & 0xFF) << 16) | (t.bits & 0xFF)))
        elif isinstance(t, m._Ref):
            words.extend((name_off, _info(k, 0, 0), ref(t.type)))
        elif isinstance(t, m.Array):
            words.extend((name_off, _info(k, 0, 0), 0, ref(t.type), ref(t.index_type), t.nelems))
        elif isinstance(t, m.Composite):
            kflag = t.kflag or any(mem.bitfield_size for mem in t.members)
            if len(t.members) > 0xFFFF:
                raise BTFError(f"BTF type id {t.id}: too many members ({len(t.members)})")
            words.extend((name_off, _info(k, len(t.members), kflag), t.size))
            for mem in t.members:
                if kflag:
                    if mem.bit_offset > 0xFFFFFF or mem.bitfield_size > 0xFF:
                        raise BTFError(f"BTF type id {t.id}: member '{mem.name}' offset/size too large")
                    off = (mem.bitfield_size << 24) | mem.bit_offset
                else:
                    off = mem.bit_offset
                words.extend((add(mem.name), ref(mem.type), off))
        elif isinstance(t, m.Enum64):
            words.extend((name_off, _info(k, len(t.values), t.signed), t.size))
            for v in t.values:
                u = v.value & 0xFFFFFFFFFFFFFFFF
                words.extend((add(v.name), u & 0xFFFFFFFF, u >> 32))
        elif isinstance(t, m.Enum):
            words.extend((name_off, _info(k, len(t.values), t.signed), t.size))
            for v in t.values:
                if not -(1 << 31) <= v.value < (1 << 32):
                    raise BTFError(f"BTF type id {t.id}: enum value {v.name}={v.value} does not fit 32 bits")
                words.extend((add(v.name), v.value & 0xFFFFFFFF))
        elif isinstance(t, m.Fwd):
            words.extend((name_off, _info(k, 0, t.is_union), 0))
        elif isinstance(t, m.Func):
            words.extend((name_off, _info(k, t.linkage, 0), ref(t.type)))
        elif isinstance(t, m.FuncProto):
            words.extend((name_off, _info(k, len(t.params), 0), ref(t.type)))
            for p in t.params:
                words.extend((add(p.name), ref(p.type)))
        elif isinstance(t, m.Var):
            words.extend((name_off, _info(k, 0, 0), ref(t.type), t.linkage))
        elif isinstance(t, m.Datasec):
            words.extend((name_off, _info(k, len(t.vars), 0), t.size))
            for sec in t.vars:
                words.extend((ref(sec.type), sec.offset, sec.size))
        elif isinstance(t, m.Float):
            words.extend((name_off, _info(k, 0, 0), t.size))
        elif isinstance(t, m.DeclTag):
            words.extend((name_off, _info(k, 0, 0), ref(t.type), t.component_idx & 0xFFFFFFFF))
        else:
            raise BTFError(f"cannot encode {type(t).__name__}")
    return words


class BTFBuilder:
    """Collects types and marshals them to raw BTF (see the module docstring).

    Every ``add_*`` method returns the new type's id. Types may refer to ids added later (a
    struct pointing to itself through a pointer, say); references are checked at encode time.
    """

    def __init__(self, base: BTF | None = None) -> None:
        self.base = base
        self.start_id = len(base) if base is not None else 1
        self.types: list[m.Type] = []

    # ------------------------------------------------------------------ generic
    @property
    def next_id(self) -> int:
        """The id the next added type gets."""
        return self.start_id + len(self.types)

    def __len__(self) -> int:
        """Number of type ids including void and the base's (like ``len(BTF)``)."""
        return self.next_id

    def __getitem__(self, type_id: int) -> m.Type:
        if type_id >= self.start_id:
            return self.types[type_id - self.start_id]
        if type_id == 0:
            return m.VOID
        if self.base is None:
            raise BTFError(f"BTF type id {type_id} out of range")
        return self.base[type_id]

    def add_type(self, t: m.Type) -> int:
        """Append a model type; its ``id`` is replaced by the next id (returned)."""
        if self.next_id > MAX_TYPE_ID:
            raise BTFError(f"BTF can hold at most {MAX_TYPE_ID} types")
        tid = self.next_id
        if t.id != tid:
            t = _with_id(t, tid)
        self.types.append(t)
        return tid

    @classmethod
    def from_btf(cls, btf: BTF) -> BTFBuilder:
        """A builder holding every type of ``btf`` with the same ids (and the same base)."""
        b = cls(btf.base)
        btf.decode_all()
        for t in btf.types():
            b.types.append(t)
        return b

    # ------------------------------------------------------------------ kinds
    def add_int(self, name: str, size: int, encoding: int = 0, bits: int | None = None, offset: int = 0) -> int:
        """INT of ``size`` bytes; ``encoding`` is :class:`IntEncoding` bits."""
        return self.add_type(m.Int(0, name, size, encoding, offset, 8 * size if bits is None else bits))

    def add_ptr(self, type_id: int) -> int:
        return self.add_type(m.Pointer(0, "", type_id))

    def add_const(self, type_id: int) -> int:
        return self.add_type(m.Const(0, "", type_id))

    def add_volatile(self, type_id: int) -> int:
        return self.add_type(m.Volatile(0, "", type_id))

    def add_restrict(self, type_id: int) -> int:
        return self.add_type(m.Restrict(0, "", type_id))

    def add_typedef(self, name: str, type_id: int) -> int:
        return self.add_type(m.Typedef(0, name, type_id))

    def add_type_tag(self, name: str, type_id: int) -> int:
        return self.add_type(m.TypeTag(0, name, type_id))

    def add_array(self, elem_type: int, index_type: int, nelems: int) -> int:
        return self.add_type(m.Array(0, "", elem_type, index_type, nelems))

    def _composite(self, cls: type[m.Composite], name: str, size: int,
                   members: Iterable[m.Member | tuple]) -> int:
        mems = tuple(mem if isinstance(mem, m.Member) else m.Member(*mem) for mem in members)
        return self.add_type(cls(0, name, size, mems, any(mem.bitfield_size for mem in mems)))

    def add_struct(self, name: str, size: int, members: Iterable[m.Member | tuple] = ()) -> int:
        """STRUCT; members are ``Member`` or ``(name, type, bit_offset[, bitfield_size])``."""
        return self._composite(m.Struct, name, size, members)

    def add_union(self, name: str, size: int, members: Iterable[m.Member | tuple] = ()) -> int:
        """UNION; members as for :meth:`add_struct`."""
        return self._composite(m.Union, name, size, members)

    def add_enum(self, name: str, size: int, values: Iterable[tuple[str, int]] = (),
                 signed: bool | None = None) -> int:
        """ENUM (32-bit values); ``signed`` defaults to "any value is negative"."""
        vals = tuple(m.EnumValue(n, v) for n, v in values)
        if signed is None:
            signed = any(v.value < 0 for v in vals)
        return self.add_type(m.Enum(0, name, size, vals, signed))

    def add_enum64(self, name: str, size: int, values: Iterable[tuple[str, int]] = (),
                   signed: bool | None = None) -> int:
        """ENUM64 (64-bit values, Linux 6.0+)."""
        vals = tuple(m.EnumValue(n, v) for n, v in values)
        if signed is None:
            signed = any(v.value < 0 for v in vals)
        return self.add_type(m.Enum64(0, name, size, vals, signed))

    def add_fwd(self, name: str, union: bool = False) -> int:
        return self.add_type(m.Fwd(0, name, union))

    def add_func_proto(self, ret_type: int, params: Iterable[m.Param | tuple[str, int]] = ()) -> int:
        """FUNC_PROTO; a trailing ``("", 0)`` parameter makes it variadic."""
        return self.add_type(m.FuncProto(0, "", ret_type, tuple(m.Param(*p) for p in params)))

    def add_func(self, name: str, proto: int, linkage: int = Linkage.STATIC) -> int:
        return self.add_type(m.Func(0, name, proto, linkage))

    def add_var(self, name: str, type_id: int, linkage: int = Linkage.STATIC) -> int:
        return self.add_type(m.Var(0, name, type_id, linkage))

    def add_datasec(self, name: str, size: int, vars: Iterable[m.VarSecinfo | tuple[int, int, int]] = ()) -> int:
        """DATASEC; entries are ``(var type id, offset, size)``."""
        return self.add_type(m.Datasec(0, name, size, tuple(m.VarSecinfo(*v) for v in vars)))

    def add_float(self, name: str, size: int) -> int:
        return self.add_type(m.Float(0, name, size))

    def add_decl_tag(self, name: str, type_id: int, component_idx: int = -1) -> int:
        return self.add_type(m.DeclTag(0, name, type_id, component_idx))

    # ------------------------------------------------------------------ output
    def encode(self, endian: str | None = None) -> bytes:
        """Raw BTF bytes in ``endian`` (``"<"``, ``">"``; default: host order)."""
        e = endian or _NATIVE
        if e not in ("<", ">"):
            raise BTFError(f"byte order must be '<' or '>', not {endian!r}")
        strings = _Strings(self.base)
        words = encode_types(self.types, strings, self.next_id)
        if e != _NATIVE:
            words.byteswap()
        type_bytes = words.tobytes()
        str_bytes = bytes(strings.data)
        header = struct.pack(e + "HBBIIIII", BTF_MAGIC, 1, 0, HEADER_SIZE, 0, len(type_bytes),
                             len(type_bytes), len(str_bytes))
        return header + type_bytes + str_bytes

    def build(self, endian: str | None = None) -> BTF:
        """The encoded types parsed back into a :class:`BTF` (split on ``base`` if any)."""
        return BTF.parse(self.encode(endian), self.base)


def _with_id(t: m.Type, tid: int) -> m.Type:
    """A copy of model type ``t`` with id ``tid``."""
    new = object.__new__(type(t))
    for cls in type(t).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(t, slot):
                object.__setattr__(new, slot, getattr(t, slot))
    new.id = tid
    return new


# Convenience re-exports for callers building types.
IntEncoding = IntEncoding
Kind = Kind
