"""Flat tables over raw BTF records, for the C dumper's bulk walk (no model objects).

The C dumper visits every type of vmlinux (≈130 000) and reads a few words of most of them.
Building :mod:`pybpf.btf.model` objects for all of them costs more than the whole dump may
take, so :class:`TypeTables` reads the records in place instead:

* ``words``: every record's 32-bit words in host byte order (an ``array('I')``);
* ``woff[type_id]``: where that type's record starts in ``words`` (so its ``name_off`` is
  ``words[woff[id]]``, its ``info`` ``words[woff[id] + 1]``, its size/type ``words[woff[id] + 2]``
  and its kind-specific data follows);
* ``kinds[type_id]``: the kind of every type as one ``bytes`` object (0 for void);
* ``names[offset]``: a string by its offset, decoded on first use (a dict whose misses
  decode: one subscript on the hot path); :meth:`name` is the same.

Split BTF (kernel modules) is laid out after its base: type ids and string offsets continue
where the base's end, exactly as in BTF itself, so the dumper sees one id space.

The record boundaries come from the parser's scan (:class:`pybpf.btf.spec.BTF` already walked
the type section once); the per-type work here is a handful of C-level bulk operations.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import repeat
from operator import add, itemgetter
from typing import Callable

from pybpf.errors import BTFError
from pybpf.btf.model import Kind
from pybpf.btf.spec import BTF, HEADER_SIZE

__all__ = ["TypeTables", "LONG_ALIASES"]

_HOST_ENDIAN = "<" if sys.byteorder == "little" else ">"

#: Spellings of ``long`` libbpf accepts when it guesses the pointer size of a BTF's target.
LONG_ALIASES = frozenset({
    "long", "long int", "int long", "unsigned long", "long unsigned", "unsigned long int",
    "unsigned int long", "long unsigned int", "long int unsigned", "int unsigned long",
    "int long unsigned",
})

# kind -> (words after the 3-word common header, words per vlen entry)
_LAYOUT = {
    Kind.INT: (1, 0), Kind.PTR: (0, 0), Kind.ARRAY: (3, 0), Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3), Kind.ENUM: (0, 2), Kind.FWD: (0, 0), Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0), Kind.CONST: (0, 0), Kind.RESTRICT: (0, 0), Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 2), Kind.VAR: (1, 0), Kind.DATASEC: (0, 3), Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0), Kind.TYPE_TAG: (0, 0), Kind.ENUM64: (0, 3),
}


class _Layer:
    """One BTF of the chain (base first): its bytes, record offsets and string section."""

    __slots__ = ("data", "offsets", "types_start", "types_end", "str_start", "str_end", "swap", "little")

    def __init__(self, btf: BTF) -> None:
        data = btf.raw
        endian = btf.endian
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(endian + "4xIIIII", data, 0)
        if hdr_len < HEADER_SIZE:  # BTF.parse checked this; keep the tables self-contained
            raise BTFError(f"BTF hdr_len {hdr_len} too small")
        self.data = data
        self.types_start = hdr_len + type_off
        self.types_end = self.types_start + type_len
        self.str_start = hdr_len + str_off
        self.str_end = self.str_start + str_len
        self.swap = endian != _HOST_ENDIAN
        self.little = endian == "<"
        offsets = getattr(btf, "_offsets", None)
        if not isinstance(offsets, array) or len(offsets) != len(btf) - btf.start_id:
            offsets = _scan(data, endian, self.types_start, self.types_end)
        self.offsets = offsets


def _scan(data: bytes, endian: str, start: int, end: int) -> array:
    """Byte offsets of every record of a type section (used when the parser's are not at hand)."""
    info_at = struct.Struct(endian + "I").unpack_from
    offsets = array("I")
    append = offsets.append
    off = start
    while off < end:
        info = info_at(data, off + 4)[0]
        kind = (info >> 24) & 0x1F
        fixed, per = _LAYOUT.get(kind, (None, 0))  # type: ignore[call-overload]
        if fixed is None:
            raise BTFError(f"BTF record at offset {off}: unknown kind {kind}")
        append(off)
        off += 12 + 4 * (fixed + per * (info & 0xFFFF))
    return offsets


class _Names(dict):
    """offset -> string; a missing offset is decoded (and kept) by the owning tables."""

    __slots__ = ("decode",)
    decode: Callable[[int], str]

    def __missing__(self, off: int) -> str:
        s = self.decode(off)
        self[off] = s
        return s


class TypeTables:
    """The records of ``btf`` (and its base chain) as flat tables; see the module docstring."""

    __slots__ = ("words", "woff", "kinds", "count", "_strings", "_str_ascii", "names",
                 "_ptr_size")

    def __init__(self, btf: BTF) -> None:
        chain = []
        b: BTF | None = btf
        while b is not None:
            chain.append(b)
            b = b.base
        chain.reverse()
        layers = [_Layer(x) for x in chain]

        words = array("I")
        # A list, not an array: indexing it hands out existing int objects instead of boxing
        # a new one each time (woff is read on almost every step of the dump).
        woff: list[int] = [0]  # void has no record
        kinds = bytearray(1)
        strings = bytearray()
        for layer in layers:
            data = layer.data
            # Align the type section on a word boundary inside a copy of the bytes we need.
            ts, te = layer.types_start, layer.types_end
            w = array("I")
            w.frombytes(data[ts:te])
            if layer.swap:
                w.byteswap()
            base_word = len(words)
            words += w
            offs = layer.offsets
            if offs:
                # word index of each record = base_word + (byte offset - ts) / 4
                delta = base_word * 4 - ts
                woff += [(o + delta) >> 2 for o in offs]
                kind_byte = 7 if layer.little else 4  # top byte of the info word
                get = itemgetter(*map(add, offs, repeat(kind_byte)))
                top = get(data)
                if len(offs) == 1:
                    top = (top,)
                kinds += bytes(top).translate(_KIND_OF_TOP_BYTE)
            strings += data[layer.str_start:layer.str_end]
        self.words = words
        self.woff = woff
        self.kinds = bytes(kinds)
        self.count = len(woff)
        self._strings = bytes(strings)
        self._str_ascii = self._strings.decode("ascii") if self._strings.isascii() else None
        self.names = _Names({0: ""})
        self.names.decode = self._decode
        self._ptr_size: int | None = None

    # ------------------------------------------------------------------ strings
    def name(self, off: int) -> str:
        """The string at ``off`` of the (base + split) string section."""
        return self.names[off]

    def _decode(self, off: int) -> str:
        if off >= len(self._strings):
            raise BTFError(f"BTF string offset {off} out of range (string section has "
                           f"{len(self._strings)} bytes)")
        if self._str_ascii is not None:
            text = self._str_ascii
            return text[off:text.index("\0", off)]
        raw = self._strings
        # Names are C identifiers in practice; anything else survives a round trip through
        # surrogateescape so a byte-exact writer can reproduce it.
        return raw[off:raw.index(b"\0", off)].decode("utf-8", "surrogateescape")

    def type_name(self, type_id: int) -> str:
        """The raw (unresolved) name of ``type_id``."""
        if type_id == 0:
            return ""
        return self.name(self.words[self.woff[type_id]])

    # ------------------------------------------------------------------ layout
    @property
    def ptr_size(self) -> int:
        """Pointer size of the BTF's target as libbpf guesses it: the size of the first 4- or
        8-byte INT spelled like ``long`` (in id order), else the host's."""
        if self._ptr_size is None:
            words, woff, kinds = self.words, self.woff, self.kinds
            size = 0
            pos = kinds.find(Kind.INT, 1)
            while pos != -1:
                o = woff[pos]
                if words[o + 2] in (4, 8) and self.name(words[o]) in LONG_ALIASES:
                    size = words[o + 2]
                    break
                pos = kinds.find(Kind.INT, pos + 1)
            self._ptr_size = size or struct.calcsize("P")
        return self._ptr_size

    # ------------------------------------------------------------------ validation
    def check(self) -> None:
        """Walk every record and raise :class:`BTFError` naming the first bad reference.

        The dumper trusts the tables on its fast path and calls this only after something
        went wrong, to turn an IndexError into a message naming the type id.
        """
        words, woff, kinds, n = self.words, self.woff, self.kinds, self.count
        for tid in range(1, n):
            o = woff[tid]
            kind = kinds[tid]
            info = words[o + 1]
            vlen = info & 0xFFFF
            refs: list[int] = []
            if kind in _SINGLE_REF:
                refs.append(words[o + 2])
            elif kind == Kind.ARRAY:
                refs += (words[o + 3], words[o + 4])
            elif kind in (Kind.STRUCT, Kind.UNION, Kind.DATASEC):
                refs += words[o + 3 + (kind != Kind.DATASEC):o + 3 + 3 * vlen:3]
            elif kind == Kind.FUNC_PROTO:
                refs.append(words[o + 2])
                refs += words[o + 4:o + 3 + 2 * vlen:2]
            for r in refs:
                if r >= n:
                    raise BTFError(f"BTF type id {tid} ({Kind(kind).name}): refers to type id {r}, "
                                   f"last id is {n - 1}")
            self.name(words[o])
            if kind in (Kind.STRUCT, Kind.UNION, Kind.FUNC_PROTO):
                step = 3 if kind != Kind.FUNC_PROTO else 2
                for name_off in words[o + 3:o + 3 + step * vlen:step]:
                    self.name(name_off)
            elif kind in (Kind.ENUM, Kind.ENUM64):
                step = 2 if kind == Kind.ENUM else 3
                for name_off in words[o + 3:o + 3 + step * vlen:step]:
                    self.name(name_off)


_KIND_OF_TOP_BYTE = bytes(b & 0x1F for b in range(256))
_SINGLE_REF = frozenset({Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT,
                         Kind.FUNC, Kind.VAR, Kind.DECL_TAG, Kind.TYPE_TAG})
