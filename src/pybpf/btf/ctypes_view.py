"""Types for Python: ctypes classes generated from BTF types, for decoding records fast.

``ctype_for(btf, type_id)`` returns a ctypes type whose layout is exactly the BTF type's:
member offsets, total size, padding, arrays, nested and anonymous structs/unions. Use it to view
map values or ring buffer records without copying field by field::

    Event = ctype_for(btf, btf.find_one("event", Kind.STRUCT))
    ev = Event.from_buffer_copy(raw)      # or from_buffer(bytearray) to write
    ev.pid, ev.comm.value, ev.flags       # members of anonymous members are promoted too

Layout rules: structs are built packed (``_pack_ = 1``) with explicit padding fields
(``_pad_<offset>``), so every member sits at the byte offset BTF gives, whatever ctypes' own
alignment rules would say; the class's size is the BTF size. Bitfields are not ctypes bitfields
(whose layout depends on the compiler ctypes emulates): the bytes holding a run of bitfields are
one raw field (``_bits_<offset>``) and each bitfield is a property that extracts (and assigns)
its bits, sign-extended when its type is signed.

Scalars: ints → ``c_(u)intN`` (``_Bool`` → ``c_bool``, ``char`` → ``c_char`` so ``char[N]``
arrays have ``.value``/``.raw``), enums → ``c_(u)intN`` of their size, pointers → ``c_uint64``
(they are target addresses, not host pointers), ``float``/``double`` → ``c_float``/
``c_double``, other sizes → raw byte arrays. Values are read in the host's byte order.
"""

from __future__ import annotations

import ctypes
import keyword
import sys
from typing import TYPE_CHECKING, Any

from pybpf.errors import BTFError
from pybpf.btf.spec import MAX_NESTING
from pybpf.btf import model as m
from pybpf.btf.model import Kind

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["ctype_for", "CTypeBuilder"]

_INTS = {
    (1, False): ctypes.c_uint8, (1, True): ctypes.c_int8,
    (2, False): ctypes.c_uint16, (2, True): ctypes.c_int16,
    (4, False): ctypes.c_uint32, (4, True): ctypes.c_int32,
    (8, False): ctypes.c_uint64, (8, True): ctypes.c_int64,
}
_LITTLE = sys.byteorder == "little"


def ctype_for(btf: BTF, type_id: int) -> Any:
    """The ctypes type laid out like BTF type ``type_id`` (memoized per BTF)."""
    cache = getattr(btf, "_ctypes_cache", None)
    if cache is None:
        cache = {}
        btf._ctypes_cache = cache  # type: ignore[attr-defined]
    builder = CTypeBuilder(btf, cache)
    try:
        return builder.build(type_id)
    except (OverflowError, ValueError, TypeError, MemoryError) as exc:  # ctypes refusing a layout
        raise BTFError(f"BTF type id {type_id} has no ctypes layout: {exc}") from None


def _bitfield_property(storage: str, start_bit: int, nbits: int, nbytes: int, signed: bool) -> property:
    mask = (1 << nbits) - 1
    shift = start_bit if _LITTLE else 8 * nbytes - start_bit - nbits
    sign = 1 << (nbits - 1)

    def get(self: Any) -> int:
        raw = int.from_bytes(bytes(getattr(self, storage)), sys.byteorder)
        v = (raw >> shift) & mask
        if signed and v & sign:
            v -= 1 << nbits
        return v

    def put(self: Any, value: int) -> None:
        arr = getattr(self, storage)
        raw = int.from_bytes(bytes(arr), sys.byteorder)
        raw = (raw & ~(mask << shift)) | ((int(value) & mask) << shift)
        ctypes.memmove(arr, raw.to_bytes(nbytes, sys.byteorder), nbytes)

    return property(get, put)


def _forward_property(holder: str, name: str) -> property:
    def get(self: Any) -> Any:
        return getattr(getattr(self, holder), name)

    def put(self: Any, value: Any) -> None:
        setattr(getattr(self, holder), name, value)

    return property(get, put)


class CTypeBuilder:
    """Builds (and memoizes in ``cache``) the ctypes types of one BTF."""

    def __init__(self, btf: BTF, cache: dict[int, Any] | None = None) -> None:
        self.btf = btf
        self.cache: dict[int, Any] = {} if cache is None else cache
        self._active: set[int] = set()

    def build(self, type_id: int) -> Any:
        got = self.cache.get(type_id)
        if got is not None:
            return got
        if type_id in self._active or len(self._active) > MAX_NESTING:
            raise BTFError(f"BTF type id {type_id} contains itself: no ctypes layout")
        self._active.add(type_id)
        try:
            ct = self._make(type_id)
        finally:
            self._active.discard(type_id)
        self.cache[type_id] = ct
        return ct

    def _make(self, type_id: int) -> Any:
        btf = self.btf
        t = btf[type_id]
        k = t.kind
        if k in m.MODIFIER_KINDS or k in (Kind.TYPEDEF, Kind.VAR, Kind.DECL_TAG):
            return self.build(t.type)  # type: ignore[attr-defined]
        if isinstance(t, m.Int):
            if t.size == 1 and (t.is_char or t.name == "char") and not t.is_bool:
                return ctypes.c_char
            if t.is_bool and t.size == 1:
                return ctypes.c_bool
            ct = _INTS.get((t.size, t.signed))
            return ct if ct is not None else ctypes.c_ubyte * t.size
        if isinstance(t, m.Enum):
            ct = _INTS.get((t.size, t.signed))
            return ct if ct is not None else ctypes.c_ubyte * t.size
        if k == Kind.PTR:
            return _INTS[(btf.pointer_size, False)]
        if isinstance(t, m.Float):
            return {4: ctypes.c_float, 8: ctypes.c_double}.get(t.size) or ctypes.c_ubyte * t.size
        if isinstance(t, m.Array):
            return self.build(t.type) * t.nelems
        if isinstance(t, m.Composite):
            return self._composite(t)
        if isinstance(t, m.Datasec):
            return self._datasec(t)
        if k == Kind.FWD:
            raise BTFError(f"BTF type id {type_id}: forward declaration '{t.name}' has no layout")
        raise BTFError(f"BTF type id {type_id} ({k.name}) has no ctypes layout")

    def _pyname(self, name: str) -> str:
        return name + "_" if keyword.iskeyword(name) else name

    def _composite(self, t: m.Composite) -> Any:
        btf = self.btf
        is_union = t.kind == Kind.UNION
        base = ctypes.Union if is_union else ctypes.Structure
        fields: list[tuple[Any, ...]] = []
        anonymous: list[str] = []
        props: dict[str, property] = {}
        cursor = 0  # structs: next free byte
        members = list(t.members)
        i = 0
        n_anon = 0
        while i < len(members):
            mem = members[i]
            if mem.bitfield_size or self._is_int_bitfield(mem):
                # a run of bitfields: one storage field covering their bytes
                run = [mem]
                j = i + 1
                while not is_union and j < len(members) and (
                        members[j].bitfield_size or self._is_int_bitfield(members[j])):
                    run.append(members[j])
                    j += 1
                first = min(r.bit_offset for r in run) // 8
                last = max(r.bit_offset + self._bits_of(r) - 1 for r in run) // 8
                # a following plain member may not start inside the run's bytes
                if not is_union and j < len(members):
                    nxt = members[j].bit_offset // 8
                    last = min(last, max(first, nxt - 1)) if nxt > first else last
                if not is_union and first < cursor:
                    raise BTFError(f"BTF type id {t.id}: bitfield '{mem.name}' overlaps the previous member")
                if not is_union and first > cursor:
                    fields.append((f"_pad_{cursor}", ctypes.c_ubyte * (first - cursor)))
                nbytes = last - first + 1
                storage = f"_bits_{first}" if not is_union else f"_bits_{first}_{i}"
                if is_union:
                    holder = type(f"_bits_{t.id}_{i}", (ctypes.Structure,), {
                        "_pack_": 1,
                        "_fields_": ([("_pad", ctypes.c_ubyte * first)] if first else [])
                        + [("raw", ctypes.c_ubyte * nbytes)],
                    })
                    fields.append((storage, holder))
                    store_expr = storage
                else:
                    fields.append((storage, ctypes.c_ubyte * nbytes))
                    store_expr = storage
                for r in run:
                    bits = self._bits_of(r)
                    if r.bit_offset // 8 + (r.bit_offset % 8 + bits - 1) // 8 > last:
                        raise BTFError(f"BTF type id {t.id}: bitfield '{r.name}' layout not representable")
                    signed = self._signed(r.type)
                    if not r.name:
                        continue  # unnamed padding bitfield
                    if is_union:
                        prop = _union_bitfield_property(store_expr, r.bit_offset - 8 * first, bits, nbytes, signed)
                    else:
                        prop = _bitfield_property(store_expr, r.bit_offset - 8 * first, bits, nbytes, signed)
                    props[self._pyname(r.name)] = prop
                if not is_union:
                    cursor = last + 1
                i = j
                continue
            off = mem.bit_offset // 8
            if mem.bit_offset % 8:
                raise BTFError(f"BTF type id {t.id}: member '{mem.name}' is not byte aligned")
            ct = self.build(mem.type)
            size = ctypes.sizeof(ct)
            if not mem.name:
                name = f"_anon{n_anon}"
                n_anon += 1
                inner = btf[btf.skip_mods_and_typedefs(mem.type)]
                if isinstance(inner, m.Composite):
                    anonymous.append(name)
                    for pname, holder_name in getattr(ct, "_pybpf_props_", {}).items():
                        props.setdefault(pname, _forward_property(name, holder_name if holder_name else pname))
            else:
                name = self._pyname(mem.name)
            if is_union:
                if off:
                    holder = type(f"_at_{t.id}_{i}", (ctypes.Structure,), {
                        "_pack_": 1, "_fields_": [("_pad", ctypes.c_ubyte * off), ("v", ct)]})
                    fields.append((f"_at_{off}_{i}", holder))
                    props[name] = _forward_property(f"_at_{off}_{i}", "v")
                else:
                    fields.append((name, ct))
            else:
                if off < cursor:
                    raise BTFError(f"BTF type id {t.id}: member '{mem.name}' overlaps the previous member")
                if off > cursor:
                    fields.append((f"_pad_{cursor}", ctypes.c_ubyte * (off - cursor)))
                fields.append((name, ct))
                cursor = off + size
            i += 1
        if not is_union and cursor < t.size:
            fields.append((f"_pad_{cursor}", ctypes.c_ubyte * (t.size - cursor)))
        elif not is_union and cursor > t.size:
            raise BTFError(f"BTF type id {t.id}: members of '{t.name}' run past its size {t.size}")
        ns: dict[str, Any] = {"_pack_": 1, "_anonymous_": tuple(anonymous), "_fields_": fields}
        cls_name = t.name or f"anon_{t.kind.name.lower()}_{t.id}"
        cls = type(cls_name, (base,), ns)
        for pname, prop in props.items():
            setattr(cls, pname, prop)
        cls._pybpf_props_ = {p: "" for p in props}  # type: ignore[attr-defined]
        if is_union and ctypes.sizeof(cls) < t.size:
            cls = type(cls_name, (base,), {"_pack_": 1, "_anonymous_": tuple(anonymous),
                                           "_fields_": fields + [("_size", ctypes.c_ubyte * t.size)]})
            for pname, prop in props.items():
                setattr(cls, pname, prop)
            cls._pybpf_props_ = {p: "" for p in props}  # type: ignore[attr-defined]
        if ctypes.sizeof(cls) != t.size:
            raise BTFError(f"BTF type id {t.id}: '{t.name}' lays out as {ctypes.sizeof(cls)} bytes, BTF says {t.size}")
        cls._btf_type_id_ = t.id  # type: ignore[attr-defined]
        return cls

    def _datasec(self, t: m.Datasec) -> Any:
        fields: list[tuple[str, Any]] = []
        cursor = 0
        for v in sorted(t.vars, key=lambda x: x.offset):
            if v.offset < cursor:
                raise BTFError(f"BTF type id {t.id}: variables of DATASEC '{t.name}' overlap")
            if v.offset > cursor:
                fields.append((f"_pad_{cursor}", ctypes.c_ubyte * (v.offset - cursor)))
            fields.append((self._pyname(self.btf.name_of(v.type)), self.build(v.type)))
            cursor = v.offset + v.size
        size = max(t.size, cursor)
        if cursor < size:
            fields.append((f"_pad_{cursor}", ctypes.c_ubyte * (size - cursor)))
        return type(t.name.strip(".") or f"datasec_{t.id}", (ctypes.Structure,), {"_pack_": 1, "_fields_": fields})

    def _is_int_bitfield(self, mem: m.Member) -> bool:
        """A non-kflag member whose INT type has fewer bits than bytes (old-style bitfield)."""
        if mem.bitfield_size:
            return True
        if mem.bit_offset % 8 == 0:
            t = self.btf[self.btf.skip_mods_and_typedefs(mem.type)]
            return isinstance(t, m.Int) and (t.bits % 8 != 0 or t.offset != 0)
        return True

    def _bits_of(self, mem: m.Member) -> int:
        if mem.bitfield_size:
            return mem.bitfield_size
        t = self.btf[self.btf.skip_mods_and_typedefs(mem.type)]
        if isinstance(t, m.Int):
            return t.bits
        return 8 * self.btf.resolve_size(mem.type)

    def _signed(self, type_id: int) -> bool:
        t = self.btf[self.btf.skip_mods_and_typedefs(type_id)]
        return bool(getattr(t, "signed", False))


def _union_bitfield_property(storage: str, start_bit: int, nbits: int, nbytes: int, signed: bool) -> property:
    inner = _bitfield_property("raw", start_bit, nbits, nbytes, signed)

    def get(self: Any) -> int:
        return inner.fget(getattr(self, storage))  # type: ignore[misc]

    def put(self: Any, value: int) -> None:
        inner.fset(getattr(self, storage), value)  # type: ignore[misc]

    return property(get, put)
