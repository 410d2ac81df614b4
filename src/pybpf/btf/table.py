"""A columnar view of a whole BTF, for consumers that visit every type (C and raw dumpers).

Building ~130 000 model objects for vmlinux costs a few hundred milliseconds even on the fast
path; a dumper that only needs kinds, names and a few fields per type is better served by flat
columns indexed by type id. :class:`TypeTable` gives exactly that, computed in one pass from the
raw words (tens of milliseconds for vmlinux) and shared by everyone through ``btf.table``.

All columns are indexed by **type id** over the whole id space ``range(len(btf))`` — for split
BTF the base's types come first — with id 0 (void) as kind 0, name ``""``.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["TypeTable"]


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


class TypeTable:
    """Flat columns describing every type id of a BTF (see the module docstring).

    Columns (lists/bytes indexed by type id):

    * ``kinds`` — ``bytes``: the BTF_KIND_* number,
    * ``names`` — ``list[str]``: the name (``""`` if anonymous),
    * ``size_type`` — ``list[int]``: the record's size-or-type word (size of INT/STRUCT/UNION/
      ENUM/ENUM64/DATASEC/FLOAT, referenced id of PTR/TYPEDEF/modifiers/FUNC/VAR/DECL_TAG,
      return type of FUNC_PROTO; 0 for ARRAY and FWD),
    * ``vlens`` — ``list[int]``: vlen (member/param/value count; FUNC linkage),
    * ``kflags`` — ``bytes``: the kind flag (bitfield encoding, FWD union, enum signedness),
    * ``words``/``woff`` — the raw host-order words and each record's start word, for the
      variable parts; the accessors below decode them on demand.

    Strings referenced by members/params/values go through :meth:`string` (a dict lookup).
    """

    __slots__ = ("btf", "count", "kinds", "names", "size_type", "vlens", "kflags", "words", "woff", "_strings")

    def __init__(self, btf: BTF, columns: tuple[Any, Any, Any] | None = None) -> None:
        """Build the table of ``btf``; ``columns`` = (info words, size/type words, names as a
        list or NUL-joined UTF-8 bytes) of its local types when already known (the on-disk
        cache), else they are read from the BTF."""
        self.btf = btf
        self.words: Any
        self.woff: array
        self.kinds: bytes
        self.kflags: bytes
        self.names: list[str]
        self.size_type: list[int]
        self.vlens: list[int]
        if btf.base is not None:
            base = btf.base.table
            words: Any = array("I", base.words)
            shift = len(words)
            words.extend(btf.words)
            woff = array("I", base.woff)
            woff.extend(w + shift for w in btf.word_offsets)
            self.words = words
            self.woff = woff
            first = len(base.kinds)
            kinds = bytearray(base.kinds)
            names = list(base.names)
            size_type = list(base.size_type)
            vlens = list(base.vlens)
            kflags = bytearray(base.kflags)
        else:
            self.words = words = btf.words
            woff = array("I", [0])
            woff.extend(btf.word_offsets)
            self.woff = woff
            first = 1
            kinds = bytearray(1)
            names = [""]
            size_type = [0]
            vlens = [0]
            kflags = bytearray(1)
        local = woff[first:]
        local_names: list[str] | None = None
        if columns is not None:
            names_col = columns[2]
            if isinstance(names_col, (bytes, bytearray)):  # NUL-joined, from the on-disk cache
                try:
                    local_names = names_col.decode().split("\0") if len(local) else []
                except UnicodeDecodeError:
                    local_names = None
            else:
                local_names = list(names_col)
            if local_names is not None and len(local_names) != len(local):
                local_names = None
        if columns is not None and local_names is not None:
            infos = columns[0].tolist() if hasattr(columns[0], "tolist") else list(columns[0])
            local_st = columns[1].tolist() if hasattr(columns[1], "tolist") else list(columns[1])
        else:
            infos = [words[w + 1] for w in local]
            local_st = [words[w + 2] for w in local]
            strings = btf.load_strings()
            name_offs = [words[w] for w in local]
            get = strings.get
            found = [get(o) for o in name_offs]
            if None in found:
                string = btf.string
                found = [n if n is not None else string(o) for n, o in zip(found, name_offs)]
            local_names = found  # type: ignore[assignment]
        kinds += bytes([(i >> 24) & 0x1F for i in infos])
        kflags += bytes([i >> 31 for i in infos])
        vlens += [i & 0xFFFF for i in infos]
        size_type += local_st
        assert local_names is not None
        names += local_names
        self.kinds = bytes(kinds)
        self.kflags = bytes(kflags)
        self.names = names
        self.size_type = size_type
        self.vlens = vlens
        self.count = len(names)
        self._strings: dict[int, str] | None = None

    def __len__(self) -> int:
        return self.count

    def string(self, offset: int) -> str:
        """The string at ``offset`` of the (combined) string section."""
        strings = self._strings
        if strings is None:
            strings = self._strings = self.btf.load_strings()
        s = strings.get(offset)
        return s if s is not None else self.btf.string(offset)

    def _body(self, type_id: int, per: int) -> list[int]:
        w = self.woff[type_id] + 3
        return self.words[w:w + per * self.vlens[type_id]].tolist()

    def members(self, type_id: int) -> list[tuple[str, int, int, int]]:
        """STRUCT/UNION members as ``(name, type, bit_offset, bitfield_size)`` tuples."""
        string = self.string
        it = iter(self._body(type_id, 3))
        if self.kflags[type_id]:
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
        signed = self.kflags[type_id]
        if self.kinds[type_id] == 19:
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
        return _s32(v) if self.kinds[type_id] == 17 else v

    def secinfos(self, type_id: int) -> list[tuple[int, int, int]]:
        """DATASEC entries as ``(type, offset, size)``."""
        it = iter(self._body(type_id, 3))
        return list(zip(it, it, it))

    def check_id(self, type_id: int) -> None:
        """Raise :class:`BTFError` unless ``type_id`` names a type of this table."""
        if not 0 <= type_id < self.count:
            raise BTFError(f"BTF type id {type_id} out of range (last id is {self.count - 1})")
