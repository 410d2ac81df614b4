"""A columnar view of a whole BTF, for consumers that visit every type (C and raw dumpers).

Building ~130 000 model objects for vmlinux costs a few hundred milliseconds even on the fast
path; a dumper that only needs kinds, names and a few fields per type is better served by flat
columns indexed by type id. :class:`TypeTable` gives exactly that, computed from the raw words
with C-level bulk operations (and from the on-disk cache's columns when the BTF came through
it), and shared by everyone through ``btf.table``.

All columns are indexed by **type id** over the whole id space ``range(len(btf))`` — for split
BTF the base's types come first, and string offsets continue after the base's, as in BTF
itself — with id 0 (void) as kind 0, name ``""``.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import accumulate, count, repeat
from operator import add, itemgetter
from typing import TYPE_CHECKING, Any, Callable

from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["TypeTable", "LONG_ALIASES"]

#: Spellings of ``long`` libbpf accepts when it guesses the pointer size of a BTF's target.
LONG_ALIASES = frozenset({
    "long", "long int", "int long", "unsigned long", "long unsigned", "unsigned long int",
    "unsigned int long", "long unsigned int", "long int unsigned", "int unsigned long",
    "int long unsigned",
})

_INT, _ARRAY, _STRUCT, _UNION, _ENUM, _FUNC_PROTO, _DATASEC, _DECL_TAG, _ENUM64 = 1, 3, 4, 5, 6, 13, 15, 17, 19
_SINGLE_REF = frozenset({2, 8, 9, 10, 11, 12, 14, 17, 18})  # PTR TYPEDEF mods FUNC VAR DECL_TAG TYPE_TAG
#: byte of a host-order word that holds its top 8 bits
_TOP_BYTE = 3 if sys.byteorder == "little" else 0
_KIND_OF_TOP_BYTE = bytes(b & 0x1F for b in range(256))
_KFLAG_OF_TOP_BYTE = bytes(b >> 7 for b in range(256))


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _gather(seq: Any, positions: list[int]) -> list[int]:
    """``[seq[p] for p in positions]`` with one C-level call."""
    if not positions:
        return []
    if len(positions) == 1:
        return [seq[positions[0]]]
    return list(itemgetter(*positions)(seq))


class _Strings(dict):
    """offset -> string of a string section; a missing offset is decoded (and kept) on access.

    ``text`` is the whole section as ``str`` when it is ASCII (then a lookup is one slice, with
    no further Python call: the dumpers miss ~60 000 times on vmlinux), else None.
    """

    __slots__ = ("decode", "text")
    decode: Callable[[int], str]
    text: str | None

    def __missing__(self, off: int) -> str:
        text = self.text
        if text is not None and off >= 0:
            try:
                s = text[off:text.index("\0", off)]
            except ValueError:  # past the end: decode() names the offset
                s = self.decode(off)
        else:
            s = self.decode(off)
        self[off] = s
        return s


class TypeTable:
    """Flat columns describing every type id of a BTF (see the module docstring).

    Built eagerly (bulk operations only):

    * ``words`` — ``array('I')``: every record's words in host byte order (base's first);
    * ``woff`` — ``list[int]``: where each type's record starts in ``words`` (so its name
      offset is ``words[woff[id]]``, its info word ``words[woff[id] + 1]``, its size/type
      ``words[woff[id] + 2]``, the kind-specific data after); a list, since indexing it hands
      out existing int objects (the dumpers read it at almost every step);
    * ``kinds`` — ``bytes``: the BTF_KIND_* number;
    * ``count`` — the number of type ids (``len(btf)``).

    Built on first use (from the on-disk cache's columns when there are some):

    * ``names`` — ``list[str]``: the name of each type (``""`` if anonymous),
    * ``size_type`` — the record's size-or-type word (size of INT/STRUCT/UNION/ENUM/ENUM64/
      DATASEC/FLOAT, referenced id of PTR/TYPEDEF/modifiers/FUNC/VAR/DECL_TAG, return type of
      FUNC_PROTO; 0 for ARRAY and FWD),
    * ``vlens`` — vlen (member/param/value count; FUNC linkage),
    * ``kflags`` — ``bytes``: the kind flag (bitfield encoding, FWD union, enum signedness),
    * ``strings`` — offset → string over the whole string section (:meth:`string`),
    * ``ptr_size`` — the target's pointer size as libbpf guesses it.

    Strings that are not UTF-8 come back with surrogate escapes (``"utf-8"``,
    ``"surrogateescape"``), so byte-exact writers can reproduce them.
    """

    __slots__ = ("btf", "count", "kinds", "words", "woff", "_first", "_columns",
                 "_names", "_size_type", "_vlens", "_kflags", "_strings", "_str_bytes",
                 "_str_ascii", "_strings_complete", "_ptr_size", "_infos")

    def __init__(self, btf: BTF, columns: tuple[Any, Any, Any] | None = None) -> None:
        """Build the table of ``btf``; ``columns`` = (info words, size/type words, names as a
        list or NUL-joined UTF-8 bytes) of its local types when already known (the on-disk
        cache), else they are read from the BTF when first needed."""
        self.btf = btf
        local_words = btf.words
        words: array = array("I")
        woff: list[int]
        if btf.base is not None:
            base = btf.base.table
            words.extend(base.words)
            woff = list(base.woff)
            kinds = bytearray(base.kinds)
        else:
            woff = [0]
            kinds = bytearray(1)
        shift = len(words)
        words.frombytes(memoryview(local_words).cast("B"))
        self.words: array = words
        self._first = len(woff)
        local = btf.word_offsets
        if shift:
            woff.extend(map(add, local, repeat(shift)))
        else:
            woff.extend(local)
        self.woff: list[int] = woff
        # info words of the local types (itemgetter over the words shifted by one: the record
        # offsets themselves are the positions); kind = the top 5 bits, read as the top byte
        cols = columns
        scanned = getattr(btf, "_scan_infos", None)
        if cols is not None:
            infos = array("I", cols[0])
        elif scanned is not None and len(scanned) == len(woff) - self._first:
            infos = scanned  # the parser's scan read them all already
        else:
            infos = array("I", _gather(words[1:], woff[self._first:]))
        self._infos = infos
        kinds += infos.tobytes()[_TOP_BYTE::4].translate(_KIND_OF_TOP_BYTE)
        self.kinds: bytes = bytes(kinds)
        self.count = len(woff)
        self._columns = columns
        self._names: list[str] | None = None
        self._size_type: list[int] | None = None
        self._vlens: list[int] | None = None
        self._kflags: bytes | None = None
        self._strings: _Strings | None = None
        self._str_bytes = b""
        self._str_ascii: str | None = None
        self._strings_complete = False
        self._ptr_size: int | None = None

    def __len__(self) -> int:
        return self.count

    # ------------------------------------------------------------------ lazy columns
    def _base_table(self) -> TypeTable | None:
        return self.btf.base.table if self.btf.base is not None else None

    @property
    def size_type(self) -> list[int]:
        if self._size_type is None:
            base = self._base_table()
            cols = self._columns
            if cols is not None:
                local = cols[1].tolist() if hasattr(cols[1], "tolist") else list(cols[1])
            else:
                local = _gather(self.words[2:], self.woff[self._first:])
            self._size_type = (list(base.size_type) if base is not None else [0]) + local
        return self._size_type

    def _fill_info_columns(self) -> None:
        base = self._base_table()
        raw = self._infos.tobytes()
        # vlen = the low half of the info word, kflag = its top bit
        halves = memoryview(raw).cast("H")[0 if sys.byteorder == "little" else 1::2]
        self._vlens = (list(base.vlens) if base is not None else [0]) + halves.tolist()
        self._kflags = ((base.kflags if base is not None else b"\0")
                        + raw[_TOP_BYTE::4].translate(_KFLAG_OF_TOP_BYTE))

    @property
    def vlens(self) -> list[int]:
        if self._vlens is None:
            self._fill_info_columns()
        assert self._vlens is not None
        return self._vlens

    @property
    def kflags(self) -> bytes:
        if self._kflags is None:
            self._fill_info_columns()
        assert self._kflags is not None
        return self._kflags

    @property
    def names(self) -> list[str]:
        if self._names is None:
            base = self._base_table()
            out = list(base.names) if base is not None else [""]
            local: list[str] | None = None
            cols = self._columns
            n_local = self.count - self._first
            if cols is not None:
                names_col = cols[2]
                if isinstance(names_col, (bytes, bytearray)):  # NUL-joined, from the on-disk cache
                    try:
                        local = names_col.decode().split("\0") if n_local else []
                    except UnicodeDecodeError:
                        local = None
                else:
                    local = list(names_col)
                if local is not None and len(local) != n_local:
                    local = None
            if local is None:
                strings = self._all_strings()
                local = list(map(strings.__getitem__, _gather(self.words, self.woff[self._first:])))
            self._names = out + local
        return self._names

    @property
    def strings(self) -> dict[int, str]:
        """offset → string of the (base + split) string section; any offset, decoded on first use."""
        if self._strings is None:
            parts = []
            b: BTF | None = self.btf
            while b is not None:
                parts.append(b.raw[b._str_start:b._str_start + b._str_len])
                b = b.base
            raw = b"".join(reversed(parts))
            self._str_bytes = raw
            self._str_ascii = raw.decode("ascii") if raw.isascii() else None
            strings = _Strings({0: ""})
            strings.decode = self._decode
            strings.text = self._str_ascii
            self._strings = strings
        return self._strings

    def _all_strings(self) -> dict[int, str]:
        """:attr:`strings` with every string of the section decoded at once (for consumers that
        read them all: one split instead of a decode per offset)."""
        strings = self.strings
        if self._strings_complete:
            return strings
        text = self._str_ascii
        if text is not None:
            pieces: list[str] = text.split("\0")[:-1]
        else:
            pieces = [p.decode("utf-8", "surrogateescape") for p in self._str_bytes.split(b"\0")[:-1]]
        # piece i starts after the pieces before it and their i NUL separators
        strings.update(zip(map(add, accumulate(map(len, pieces), initial=0), count()), pieces))
        self._strings_complete = True
        return strings

    def _decode(self, off: int) -> str:
        raw = self._str_bytes
        if not 0 <= off < len(raw):
            raise BTFError(f"BTF string offset {off} out of range (string section has {len(raw)} bytes)")
        text = self._str_ascii
        if text is not None:
            return text[off:text.index("\0", off)]
        return raw[off:raw.index(b"\0", off)].decode("utf-8", "surrogateescape")

    def string(self, offset: int) -> str:
        """The string at ``offset`` of the (combined) string section."""
        return self.strings[offset]

    @property
    def ptr_size(self) -> int:
        """Pointer size of the BTF's target as libbpf guesses it: the size of the first 4- or
        8-byte INT spelled like ``long`` (in id order), else the host's."""
        if self._ptr_size is None:
            words, woff, kinds, strings = self.words, self.woff, self.kinds, self.strings
            size = 0
            pos = kinds.find(_INT, 1)
            while pos != -1:
                o = woff[pos]
                if words[o + 2] in (4, 8) and strings[words[o]] in LONG_ALIASES:
                    size = words[o + 2]
                    break
                pos = kinds.find(_INT, pos + 1)
            self._ptr_size = size or struct.calcsize("P")
        return self._ptr_size

    # ------------------------------------------------------------------ records
    def _body(self, type_id: int, per: int) -> list[int]:
        w = self.woff[type_id] + 3
        return self.words[w:w + per * (self.words[w - 2] & 0xFFFF)].tolist()

    def members(self, type_id: int) -> list[tuple[str, int, int, int]]:
        """STRUCT/UNION members as ``(name, type, bit_offset, bitfield_size)`` tuples."""
        string = self.string
        it = iter(self._body(type_id, 3))
        if self.words[self.woff[type_id] + 1] >> 31:
            return [(string(n) if n else "", t, o & 0xFFFFFF, o >> 24) for n, t, o in zip(it, it, it)]
        return [(string(n) if n else "", t, o, 0) for n, t, o in zip(it, it, it)]

    def params(self, type_id: int) -> list[tuple[str, int]]:
        """FUNC_PROTO parameters as ``(name, type)``; a trailing ``("", 0)`` means ``...``."""
        string = self.string
        it = iter(self._body(type_id, 2))
        return [(string(n) if n else "", t) for n, t in zip(it, it)]

    def enum_values(self, type_id: int) -> list[tuple[str, int]]:
        """ENUM/ENUM64 values as ``(name, value)``, sign-interpreted by the kind flag."""
        string = self.string
        signed = self.words[self.woff[type_id] + 1] >> 31
        if self.kinds[type_id] == _ENUM64:
            it = iter(self._body(type_id, 3))
            out = []
            for n, lo, hi in zip(it, it, it):
                v = (hi << 32) | lo
                if signed and v >= 1 << 63:
                    v -= 1 << 64
                out.append((string(n) if n else "", v))
            return out
        it = iter(self._body(type_id, 2))
        if signed:
            return [(string(n) if n else "", _s32(v)) for n, v in zip(it, it)]
        return [(string(n) if n else "", v) for n, v in zip(it, it)]

    def array(self, type_id: int) -> tuple[int, int, int]:
        """ARRAY as ``(element type, index type, nelems)``."""
        w = self.woff[type_id] + 3
        words = self.words
        return words[w], words[w + 1], words[w + 2]

    def int_encoding(self, type_id: int) -> tuple[int, int, int]:
        """INT's extra word as ``(encoding, bit offset, bits)``."""
        raw = self.words[self.woff[type_id] + 3]
        return (raw >> 24) & 0x0F, (raw >> 16) & 0xFF, raw & 0xFF

    def extra_word(self, type_id: int) -> int:
        """The single word after the header of INT/VAR (linkage)/DECL_TAG (signed component_idx)."""
        v = self.words[self.woff[type_id] + 3]
        return _s32(v) if self.kinds[type_id] == _DECL_TAG else v

    def secinfos(self, type_id: int) -> list[tuple[int, int, int]]:
        """DATASEC entries as ``(type, offset, size)``."""
        it = iter(self._body(type_id, 3))
        return list(zip(it, it, it))

    # ------------------------------------------------------------------ validation
    def check_id(self, type_id: int) -> None:
        """Raise :class:`BTFError` unless ``type_id`` names a type of this table."""
        if not 0 <= type_id < self.count:
            raise BTFError(f"BTF type id {type_id} out of range (last id is {self.count - 1})")

    def check(self) -> None:
        """Walk every record and raise :class:`BTFError` naming the first bad reference or name.

        Bulk consumers trust the table on their fast path and call this only after something
        went wrong, to turn an IndexError into a message naming the type id.
        """
        from pybpf.btf.model import Kind

        words, woff, kinds, n, strings = self.words, self.woff, self.kinds, self.count, self.strings
        for tid in range(1, n):
            o = woff[tid]
            kind = kinds[tid]
            vlen = words[o + 1] & 0xFFFF
            refs: list[int] = []
            if kind in _SINGLE_REF:
                refs.append(words[o + 2])
            elif kind == _ARRAY:
                refs += (words[o + 3], words[o + 4])
            elif kind in (_STRUCT, _UNION, _DATASEC):
                refs += words[o + 3 + (kind != _DATASEC):o + 3 + 3 * vlen:3]
            elif kind == _FUNC_PROTO:
                refs.append(words[o + 2])
                refs += words[o + 4:o + 3 + 2 * vlen:2]
            for r in refs:
                if r >= n:
                    raise BTFError(f"BTF type id {tid} ({Kind(kind).name}): refers to type id {r}, "
                                   f"last id is {n - 1}")
            strings[words[o]]
            if kind in (_STRUCT, _UNION, _FUNC_PROTO):
                step = 3 if kind != _FUNC_PROTO else 2
                for name_off in words[o + 3:o + 3 + step * vlen:step]:
                    strings[name_off]
            elif kind in (_ENUM, _ENUM64):
                step = 2 if kind == _ENUM else 3
                for name_off in words[o + 3:o + 3 + step * vlen:step]:
                    strings[name_off]
