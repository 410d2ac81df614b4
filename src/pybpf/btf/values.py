"""BTF-typed values: bytes → Python values, Python values → bytes, and bpftool's ``formatted`` JSON.

Three views of the same bytes (map keys/values, global variables, ring buffer records), all
read in the host's byte order as the kernel stores them:

* :func:`format_value` / :func:`format_map_entry` — exactly what ``bpftool map dump`` prints
  (its ``btf_dumper``): the ``"formatted"`` object of ``-j`` output, or the plain-text listing
  (``plain=True``). The result is a tree of Python values (``dict``/``list``/``str``/``int``/
  ``bool`` and :class:`~pybpf.jsonw.Raw` tokens) for :func:`pybpf.jsonw.dumps`. bpftool's
  quirks are kept: bitfields and 128-bit integers print as hex strings, ``char`` prints as a
  number unless it is in a printable NUL-terminated char array, ``_Bool`` reads four bytes,
  anonymous members get the key ``""``, kinds it cannot print stop the output with
  ``(unsupported-kind`` (and ``ok`` is False).
* :func:`decode` — plain Python values: ``int``, ``bool``, ``float``, ``bytes`` for ``char``
  arrays (up to the first NUL, like a C string) and ``unsigned char`` arrays (all of them),
  ``list`` for other arrays, ``dict`` for structs/unions/DATASECs (anonymous
  members' fields merged into the parent, as C lets you name them), ``int`` for pointers and
  enums.
* :func:`encode` — the inverse, for map updates and ``.rodata`` edits.

:class:`ValueCodec` bundles decode/encode for one type (the map layer's value-codec hook).
"""

from __future__ import annotations

import struct
import sys
from typing import TYPE_CHECKING, Any

from pybpf.errors import BTFError
from pybpf.btf.spec import MAX_NESTING
from pybpf.btf import model as m
from pybpf.btf.model import IntEncoding, Kind
from pybpf.jsonw import Object, Raw

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["format_value", "format_map_entry", "decode", "encode", "ValueCodec"]

_LITTLE = sys.byteorder == "little"
_HOST = "<" if _LITTLE else ">"


def _le_int(data: bytes, start: int, n: int) -> int:
    """``n`` bytes at ``start`` as a host-order unsigned int (missing bytes read as 0)."""
    chunk = data[start:start + n]
    if len(chunk) < n:
        chunk = chunk + bytes(n - len(chunk))
    return int.from_bytes(chunk, sys.byteorder)


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if bits > 0 and v >> (bits - 1) & 1 else v


def _hex128(v: int, plain: bool) -> Raw:
    upper, lower = v >> 64, v & 0xFFFFFFFFFFFFFFFF
    text = f"0x{lower:x}" if upper == 0 else f"0x{upper:x}{lower:016x}"
    return Raw(text if plain else f'"{text}"')


def _bitfield(data: bytes, at: int, bit_offset: int, nr_bits: int, plain: bool) -> Raw:
    """bpftool's btf_dumper_bitfield: ``nr_bits`` bits from ``bit_offset`` of the bytes at ``at``."""
    nbytes = (bit_offset + nr_bits + 7) // 8
    raw = data[at:at + nbytes]
    raw = raw + bytes(max(0, nbytes - len(raw)))
    if _LITTLE:
        num = int.from_bytes(raw, "little")
        v = (num >> bit_offset) & ((1 << nr_bits) - 1)
    else:  # big-endian hosts count bit offsets from the most significant bit
        num = int.from_bytes(raw.ljust(16, b"\0"), "big")
        v = ((num << bit_offset) & ((1 << 128) - 1)) >> (128 - nr_bits)
    return _hex128(v, plain)


class _Formatter:
    """bpftool's btf_dumper. ``failed`` is set where bpftool's dumper returns an error: the
    value printed at that point is kept and every enclosing container stops there."""

    def __init__(self, btf: BTF, plain: bool) -> None:
        self.btf = btf
        self.plain = plain
        self.failed = False
        self.depth = 0

    def do_type(self, type_id: int, bit_offset: int, data: bytes, at: int) -> Any:
        """The value at ``at``; None when bpftool prints nothing (and fails)."""
        btf = self.btf
        t = btf[type_id]
        k = t.kind
        if k == Kind.INT:
            return self.int_(t, bit_offset, data, at)  # type: ignore[arg-type]
        if k in (Kind.STRUCT, Kind.UNION, Kind.ARRAY, Kind.DATASEC, Kind.VAR):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise BTFError(f"BTF type id {type_id}: type nests too deeply to format")
            try:
                if k == Kind.ARRAY:
                    return self.array(t, data, at)  # type: ignore[arg-type]
                if k == Kind.DATASEC:
                    return self.datasec(t, data, at)  # type: ignore[arg-type]
                if k == Kind.VAR:
                    return Object([(t.name, self.do_type(t.type, bit_offset, data, at))])  # type: ignore[attr-defined]
                return self.struct(t, data, at)  # type: ignore[arg-type]
            finally:
                self.depth -= 1
        if k == Kind.ENUM:
            return self.enum(t, data, at)  # type: ignore[arg-type]
        if k == Kind.ENUM64:
            return self.enum64(t, data, at)  # type: ignore[arg-type]
        if k == Kind.PTR:
            v = _le_int(data, at, 8)
            if self.plain:
                return Raw("(nil)" if v == 0 else f"0x{v:x}")
            return Raw(str(v))
        if k == Kind.UNKN:
            return Raw("(unknown)")
        if k == Kind.FWD:
            self.failed = True
            return Raw("(fwd-kind-invalid)")
        if k in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT):
            return self.do_type(btf.resolve_type(type_id), bit_offset, data, at)
        self.failed = True
        return Raw("(unsupported-kind")

    def int_(self, t: m.Int, bit_offset: int, data: bytes, at: int) -> Any:
        nr_bits = t.bits
        if bit_offset or t.offset or nr_bits % 8:
            total = bit_offset + t.offset
            return _bitfield(data, at + total // 8, total % 8, nr_bits, self.plain)
        if nr_bits == 128:
            return _hex128(_le_int(data, at, 16), self.plain)
        enc = t.encoding
        if enc == 0:
            if nr_bits in (8, 16, 32, 64):
                return Raw(str(_le_int(data, at, nr_bits // 8)))
            return _bitfield(data, at, 0, nr_bits, self.plain)
        if enc == IntEncoding.SIGNED:
            if nr_bits in (8, 16, 32, 64):
                return Raw(str(_signed(_le_int(data, at, nr_bits // 8), nr_bits)))
            return _bitfield(data, at, 0, nr_bits, self.plain)
        if enc == IntEncoding.CHAR:
            c = _le_int(data, at, 1)
            if 0x20 <= c < 0x7F:
                return Raw(f'"{chr(c)}"')
            return Raw(f"0x{c:x}" if self.plain else f'"\\u00{c:02x}"')
        if enc == IntEncoding.BOOL:
            return bool(_le_int(data, at, 4))  # bpftool reads a _Bool as an int
        self.failed = True  # "shouldn't happen": bpftool prints nothing and fails
        return None

    def struct(self, t: m.Composite, data: bytes, at: int) -> Object:
        out = Object()
        for mem in t.members:
            pos = at + mem.bit_offset // 8
            if mem.bitfield_size:
                val = _bitfield(data, pos, mem.bit_offset % 8, mem.bitfield_size, self.plain)
            else:
                val = self.do_type(mem.type, mem.bit_offset % 8, data, pos)
            out.append((mem.name, val))
            if self.failed:
                break
        return out

    def array(self, t: m.Array, data: bytes, at: int) -> Any:
        btf = self.btf
        if self._is_str_array(t, data, at):
            end = data.find(b"\0", at)  # bytes past the end of data read as NUL
            return data[at:end if end >= 0 else len(data)].decode("ascii")
        elem_size = btf.resolve_size(t.type)
        _check_array_span(t, elem_size, at, len(data))
        out: list[Any] = []
        for i in range(t.nelems):
            val = self.do_type(t.type, 0, data, at + i * elem_size)
            if val is not None:
                out.append(val)
            if self.failed:
                break
        return out

    def _is_str_array(self, t: m.Array, data: bytes, at: int) -> bool:
        if not t.nelems:
            return False
        btf = self.btf
        elem = btf[t.type]
        seen = 0
        # bpftool skips CONST/VOLATILE/RESTRICT/TYPE_TAG here, but not typedefs
        while elem.kind in m.MODIFIER_KINDS and seen <= len(btf):
            elem = btf[elem.type]  # type: ignore[attr-defined]
            seen += 1
        if not isinstance(elem, m.Int) or elem.size != 1:
            return False
        if elem.encoding != IntEncoding.CHAR and elem.name != "char":
            return False
        for i in range(t.nelems):
            c = data[at + i] if at + i < len(data) else 0
            if c == 0:
                return True
            if c <= 0x1F or c >= 0x7F:
                return False
        return False

    def enum(self, t: m.Enum, data: bytes, at: int) -> Any:
        if t.size not in (1, 2, 4, 8):
            self.failed = True
            return None
        value = _signed(_le_int(data, at, t.size), 8 * t.size)
        for v in t.values:
            if value == _signed(v.value & 0xFFFFFFFF, 32):
                return v.name
        return Raw(str(value))

    def enum64(self, t: m.Enum64, data: bytes, at: int) -> Any:
        raw = _le_int(data, at, 8)
        for v in t.values:
            if raw == v.value & 0xFFFFFFFFFFFFFFFF:
                return v.name
        return Raw(str(_signed(raw, 64)))

    def datasec(self, t: m.Datasec, data: bytes, at: int) -> Object:
        items: list[Any] = []
        for v in t.vars:
            val = self.do_type(v.type, 0, data, at + v.offset)
            if val is not None:
                items.append(val)
            if self.failed:
                break
        return Object([(t.name, items)])


def format_value(btf: BTF, type_id: int, data: bytes, *, plain: bool = False) -> tuple[Any, bool]:
    """bpftool's formatting of ``data`` as type ``type_id``: ``(value tree, ok)``.

    ``plain=True`` is the text mode of ``bpftool map dump`` (pointers as ``%p``, unprintable
    chars and bitfields as bare hex); otherwise the ``-j`` ``"formatted"`` flavour. ``ok`` is
    False when bpftool's dumper fails part way (a kind it cannot print): the tree then holds
    what it printed until then. Objects are :class:`~pybpf.jsonw.Object` (ordered pairs;
    ``.to_dict()``); serialise with :func:`pybpf.jsonw.dumps`.
    """
    data = bytes(data)
    try:
        need = btf.resolve_size(type_id)
    except BTFError:
        need = 0
    if need > len(data):
        # bpftool reads past a short buffer; we read zeros, within reason
        if need - len(data) > MAX_PAD:
            raise BTFError(f"{len(data)} bytes are far too few for BTF type id {type_id} ({need} bytes)")
        data = data.ljust(need, b"\0")
    f = _Formatter(btf, plain)
    val = f.do_type(type_id, 0, data, 0)
    return val, not f.failed


def format_map_entry(btf: BTF, key_type_id: int, value_type_id: int, key: bytes, value: bytes, *,
                     percpu: int | None = None, value_size: int | None = None,
                     plain: bool = False) -> tuple[Object, bool]:
    """bpftool's ``do_dump_btf``: ``{"key": …, "value": …}`` for one map entry; ``(tree, ok)``.

    ``key_type_id`` 0 leaves out ``"key"``. For per-CPU maps pass ``percpu`` (the number of
    possible CPUs) and ``value_size``: ``value`` then holds one 8-byte-aligned slot per CPU and
    the result has ``"values": [{"cpu": i, "value": …}, …]``.
    """
    out = Object()
    if key_type_id:
        val, ok = format_value(btf, key_type_id, key, plain=plain)
        if val is not None:
            out.append(("key", val))
        if not ok:
            return out, False
    if percpu is None:
        val, ok = format_value(btf, value_type_id, value, plain=plain)
        out.append(("value", val if val is not None else Raw("")))
        return out, ok
    size = value_size if value_size is not None else btf.resolve_size(value_type_id)
    step = (size + 7) & ~7
    values: list[Any] = []
    out.append(("values", values))
    for cpu in range(percpu):
        val, ok = format_value(btf, value_type_id, value[cpu * step:cpu * step + size], plain=plain)
        entry = Object([("cpu", cpu)])
        if val is not None:
            entry.append(("value", val))
        values.append(entry)
        if not ok:
            return out, False
    return out, True


# ---------------------------------------------------------------------- Python values
_FLOAT_FMT = {2: "e", 4: "f", 8: "d"}


def _char_array_elem(btf: BTF, t: m.Array) -> str | None:
    """"text" for arrays of ``char`` (C strings), "bytes" for ``unsigned char``, else None."""
    elem = btf[btf.skip_mods_and_typedefs(t.type)]
    if not isinstance(elem, m.Int) or elem.size != 1 or elem.is_bool:
        return None
    if elem.is_char or elem.name == "char":
        return "text"
    if not elem.signed:
        return "bytes"
    return None


def decode(btf: BTF, type_id: int, data: bytes, offset: int = 0) -> Any:
    """``data`` (host byte order) at ``offset`` as a Python value of BTF type ``type_id``.

    BTFError if ``data`` holds fewer bytes than the type needs.
    """
    data = bytes(data)
    try:
        need = btf.resolve_size(type_id)
    except BTFError:
        need = 0  # kinds without a size are reported by the decoder itself
    if offset < 0 or offset + need > len(data):
        raise BTFError(f"BTF type id {type_id} needs {need} bytes at offset {offset}, "
                       f"only {max(0, len(data) - offset)} given")
    return _Decoder(btf).value(type_id, data, offset, 0)


#: Most zero bytes format_value pads a short buffer with (bpftool would read past it).
MAX_PAD = 1 << 20
#: Largest type encode() builds a buffer for.
MAX_ENCODE = 1 << 28


def _check_array_span(t: m.Array, elem_size: int, at: int, data_len: int) -> None:
    """Refuse arrays that cannot be walked element by element: zero-sized elements by the
    million, or elements far past the end of the value (a member array longer than its
    struct says, in malformed BTF; bpftool would read past its buffer)."""
    if elem_size == 0 and t.nelems > 0xFFFF:
        raise BTFError(f"BTF type id {t.id}: array of {t.nelems} zero-sized elements")
    end = at + t.nelems * elem_size
    if end > data_len + MAX_PAD:
        raise BTFError(f"BTF type id {t.id}: array of {t.nelems} elements ends {end - data_len} bytes past "
                       "the end of the value")


class _Decoder:
    def __init__(self, btf: BTF) -> None:
        self.btf = btf

    def value(self, type_id: int, data: bytes, at: int, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise BTFError(f"BTF type id {type_id}: type nests too deeply to decode")
        btf = self.btf
        tid = btf.resolve_type(type_id)
        t = btf[tid]
        k = t.kind
        if k == Kind.INT:
            assert isinstance(t, m.Int)
            if t.offset or t.bits % 8 or t.bits != 8 * t.size and t.bits < 8 * t.size:
                raw = _le_int(data, at, t.size)
                v = (raw >> t.offset) & ((1 << t.bits) - 1)
                return _signed(v, t.bits) if t.signed else v
            raw = _le_int(data, at, t.size)
            if t.is_bool:
                return bool(raw)
            return _signed(raw, 8 * t.size) if t.signed else raw
        if k in (Kind.ENUM, Kind.ENUM64):
            assert isinstance(t, m.Enum)
            raw = _le_int(data, at, t.size)
            return _signed(raw, 8 * t.size) if t.signed else raw
        if k == Kind.PTR:
            return _le_int(data, at, btf.pointer_size)
        if k == Kind.FLOAT:
            assert isinstance(t, m.Float)
            fmt = _FLOAT_FMT.get(t.size)
            if fmt is None:
                return bytes(data[at:at + t.size])
            return struct.unpack_from(_HOST + fmt, data.ljust(at + t.size, b"\0"), at)[0]
        if k == Kind.ARRAY:
            assert isinstance(t, m.Array)
            flavour = _char_array_elem(btf, t)
            if flavour is not None:
                chars = data[at:at + t.nelems]
                nul = chars.find(b"\0") if flavour == "text" else -1
                return chars if nul < 0 else chars[:nul]
            size = btf.resolve_size(t.type)
            _check_array_span(t, size, at, len(data))
            return [self.value(t.type, data, at + i * size, depth + 1) for i in range(t.nelems)]
        if k in (Kind.STRUCT, Kind.UNION):
            assert isinstance(t, m.Composite)
            out: dict[str, Any] = {}
            for mem in t.members:
                pos = at + mem.bit_offset // 8
                if mem.bitfield_size:
                    out[mem.name] = self.bitfield(mem, data, at)
                elif not mem.name and btf.kind_of(btf.skip_mods_and_typedefs(mem.type)) in (Kind.STRUCT, Kind.UNION):
                    out.update(self.value(mem.type, data, pos, depth + 1))
                else:
                    out[mem.name] = self.value(mem.type, data, pos, depth + 1)
            return out
        if k == Kind.DATASEC:
            assert isinstance(t, m.Datasec)
            return {btf.name_of(v.type): self.value(v.type, data, at + v.offset, depth + 1) for v in t.vars}
        raise BTFError(f"BTF type id {tid} ({k.name}) has no value representation")

    def bitfield(self, mem: m.Member, data: bytes, at: int) -> int:
        btf = self.btf
        first = mem.bit_offset // 8
        nbytes = (mem.bit_offset % 8 + mem.bitfield_size + 7) // 8
        raw = int.from_bytes(data[at + first:at + first + nbytes].ljust(nbytes, b"\0"), sys.byteorder)
        shift = mem.bit_offset % 8 if _LITTLE else 8 * nbytes - mem.bit_offset % 8 - mem.bitfield_size
        v = (raw >> shift) & ((1 << mem.bitfield_size) - 1)
        base = btf[btf.skip_mods_and_typedefs(mem.type)]
        signed = (isinstance(base, m.Int) and base.signed) or (isinstance(base, m.Enum) and base.signed)
        return _signed(v, mem.bitfield_size) if signed else v


def encode(btf: BTF, type_id: int, value: Any, size: int | None = None) -> bytes:
    """``value`` as the bytes of BTF type ``type_id`` (host order); the inverse of :func:`decode`.

    Structs/unions/DATASECs take dicts (missing members are zero); arrays take sequences
    (shorter ones are zero-padded) or, for char arrays, ``bytes``/``str``; ``bytes`` of exactly
    the type's size are accepted as is for any type.
    """
    n = btf.resolve_size(type_id) if size is None else size
    if n > MAX_ENCODE:
        raise BTFError(f"BTF type id {type_id} is {n} bytes: too large to encode")
    buf = bytearray(n)
    _Encoder(btf).put(type_id, value, buf, 0, 0)
    return bytes(buf)


class _Encoder:
    def __init__(self, btf: BTF) -> None:
        self.btf = btf

    def put(self, type_id: int, value: Any, buf: bytearray, at: int, depth: int) -> None:
        if depth > MAX_NESTING:
            raise BTFError(f"BTF type id {type_id}: type nests too deeply to encode")
        btf = self.btf
        tid = btf.resolve_type(type_id)
        t = btf[tid]
        k = t.kind
        size = btf.resolve_size(tid) if k not in (Kind.PTR,) else btf.pointer_size
        if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == size and k != Kind.ARRAY:
            buf[at:at + size] = bytes(value)
            return
        if k == Kind.INT:
            assert isinstance(t, m.Int)
            v = _as_int(value, t)
            if t.offset or t.bits < 8 * t.size:
                _check_range(v, t.bits, t.signed, t)
                mask = ((1 << t.bits) - 1) << t.offset
                old = int.from_bytes(buf[at:at + t.size], sys.byteorder)
                new = (old & ~mask) | ((v << t.offset) & mask)
                buf[at:at + t.size] = new.to_bytes(t.size, sys.byteorder)
                return
            _check_range(v, 8 * t.size, t.signed or t.is_bool, t)
            buf[at:at + t.size] = (v & ((1 << (8 * t.size)) - 1)).to_bytes(t.size, sys.byteorder)
        elif k in (Kind.ENUM, Kind.ENUM64):
            assert isinstance(t, m.Enum)
            if isinstance(value, str):
                match = [v.value for v in t.values if v.name == value]
                if not match:
                    raise BTFError(f"'{value}' is not a value of enum '{t.name}'")
                value = match[0]
            v = _as_int(value, t)
            _check_range(v, 8 * t.size, True, t, allow_both=True)
            buf[at:at + t.size] = (v & ((1 << (8 * t.size)) - 1)).to_bytes(t.size, sys.byteorder)
        elif k == Kind.PTR:
            v = _as_int(value, t)
            ps = btf.pointer_size
            _check_range(v, 8 * ps, False, t)
            buf[at:at + ps] = v.to_bytes(ps, sys.byteorder)
        elif k == Kind.FLOAT:
            assert isinstance(t, m.Float)
            fmt = _FLOAT_FMT.get(t.size)
            if fmt is None:
                raise BTFError(f"cannot encode a {t.size}-byte float from {type(value).__name__}")
            struct.pack_into(_HOST + fmt, buf, at, float(value))
        elif k == Kind.ARRAY:
            assert isinstance(t, m.Array)
            if _char_array_elem(btf, t) and isinstance(value, (str, bytes, bytearray)):
                raw = value.encode() if isinstance(value, str) else bytes(value)
                if len(raw) > t.nelems:
                    raise BTFError(f"{len(raw)} bytes do not fit char[{t.nelems}]")
                buf[at:at + len(raw)] = raw
                return
            if isinstance(value, (bytes, bytearray)) and len(value) == size:
                buf[at:at + size] = bytes(value)
                return
            items = list(value)
            if len(items) > t.nelems:
                raise BTFError(f"{len(items)} elements do not fit array[{t.nelems}]")
            esize = btf.resolve_size(t.type)
            for i, item in enumerate(items):
                self.put(t.type, item, buf, at + i * esize, depth + 1)
        elif k in (Kind.STRUCT, Kind.UNION):
            assert isinstance(t, m.Composite)
            if not isinstance(value, dict):
                raise BTFError(f"{t.kind.name.lower()} '{t.name}' needs a dict, not {type(value).__name__}")
            rest = dict(value)
            self.put_members(t, rest, buf, at, depth)
            if rest:
                raise BTFError(f"{t.kind.name.lower()} '{t.name}' has no member(s) {', '.join(map(repr, rest))}")
        elif k == Kind.DATASEC:
            assert isinstance(t, m.Datasec)
            if not isinstance(value, dict):
                raise BTFError(f"DATASEC '{t.name}' needs a dict, not {type(value).__name__}")
            rest = dict(value)
            for sec in t.vars:
                name = btf.name_of(sec.type)
                if name in rest:
                    self.put(sec.type, rest.pop(name), buf, at + sec.offset, depth + 1)
            if rest:
                raise BTFError(f"DATASEC '{t.name}' has no variable(s) {', '.join(map(repr, rest))}")
        else:
            raise BTFError(f"BTF type id {tid} ({k.name}) cannot be encoded")

    def put_members(self, t: m.Composite, rest: dict[str, Any], buf: bytearray, at: int, depth: int) -> None:
        btf = self.btf
        for mem in t.members:
            pos = at + mem.bit_offset // 8
            if not mem.name:
                inner = btf.skip_mods_and_typedefs(mem.type)
                it = btf[inner]
                if isinstance(it, m.Composite):
                    self.put_members(it, rest, buf, pos, depth + 1)
                continue
            if mem.name not in rest:
                continue
            v = rest.pop(mem.name)
            if mem.bitfield_size:
                self.put_bitfield(mem, v, buf, at)
            else:
                self.put(mem.type, v, buf, pos, depth + 1)

    def put_bitfield(self, mem: m.Member, value: Any, buf: bytearray, at: int) -> None:
        btf = self.btf
        base = btf[btf.skip_mods_and_typedefs(mem.type)]
        signed = isinstance(base, (m.Int, m.Enum)) and bool(getattr(base, "signed", False))
        v = _as_int(value, base)
        _check_range(v, mem.bitfield_size, signed, base)
        first = mem.bit_offset // 8
        nbytes = (mem.bit_offset % 8 + mem.bitfield_size + 7) // 8
        shift = mem.bit_offset % 8 if _LITTLE else 8 * nbytes - mem.bit_offset % 8 - mem.bitfield_size
        mask = ((1 << mem.bitfield_size) - 1) << shift
        lo = at + first
        old = int.from_bytes(buf[lo:lo + nbytes], sys.byteorder)
        new = (old & ~mask) | ((v << shift) & mask)
        buf[lo:lo + nbytes] = new.to_bytes(nbytes, sys.byteorder)


def _as_int(value: Any, t: m.Type) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BTFError(f"{t.kind.name} '{t.name}' needs an integer, not {type(value).__name__}") from None


def _check_range(v: int, bits: int, signed: bool, t: m.Type, allow_both: bool = False) -> None:
    if bits <= 0:
        if v:
            raise BTFError(f"{v} does not fit {t.kind.name} '{t.name}' (0 bits)")
        return
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << bits) - 1 if (not signed or allow_both) else (1 << (bits - 1)) - 1
    if allow_both:
        lo = -(1 << (bits - 1))
    if not lo <= v <= hi:
        raise BTFError(f"{v} does not fit {t.kind.name} '{t.name}' ({bits} bits)")


class ValueCodec:
    """Decode/encode one BTF type (a map's key or value, a ring buffer record).

    ``codec.decode(raw) -> Python value``, ``codec.encode(value) -> bytes`` (``size`` bytes),
    ``codec.format(raw)`` → bpftool's formatted tree. ``codec.ctype`` is the matching ctypes
    class (see :mod:`pybpf.btf.ctypes_view`) for zero-copy access.
    """

    def __init__(self, btf: BTF, type_id: int) -> None:
        self.btf = btf
        self.type_id = type_id
        self.size = btf.resolve_size(type_id)
        self._ctype: Any = None

    def decode(self, raw: bytes) -> Any:
        return decode(self.btf, self.type_id, raw)

    def encode(self, value: Any) -> bytes:
        """Bytes for ``value``; :class:`~pybpf.errors.InvalidArgumentError` if it does not fit
        (the map codec protocol's error)."""
        try:
            return encode(self.btf, self.type_id, value, self.size)
        except BTFError as exc:
            from pybpf.errors import InvalidArgumentError

            raise InvalidArgumentError(f"{self.btf.name_of(self.type_id) or 'value'}: {exc.message}") from None

    def format(self, raw: bytes, *, plain: bool = False) -> tuple[Any, bool]:
        return format_value(self.btf, self.type_id, raw, plain=plain)

    @property
    def ctype(self) -> Any:
        if self._ctype is None:
            from pybpf.btf.ctypes_view import ctype_for

            self._ctype = ctype_for(self.btf, self.type_id)
        return self._ctype

    def __repr__(self) -> str:
        return f"<ValueCodec type {self.type_id} '{self.btf.name_of(self.type_id)}' size {self.size}>"
