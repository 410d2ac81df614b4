"""Name lookups in a BTF that has no name index, by searching its raw bytes.

Building the sorted name index of vmlinux (:meth:`pybpf.btf.spec.BTF.build_name_order`) costs
a quarter of a second; a process that only needs a few dozen lookups (a tool loading one
object: its CO-RE candidates and attach targets) answers them faster straight from the bytes:

1. the string offsets whose string is the name (or starts with a prefix) are found with
   ``find`` over the string section (every position counts, also the tail of a longer
   string: a name offset may point there);
2. the type records naming one of those offsets are found with ``find`` over the type section
   for the offset's four bytes, keeping only hits at a record's first word (the record start
   words are sorted, so a binary search tells); when an offset's bytes turn up too often
   elsewhere in the records (small offsets are common values), the name-offset column of all
   records is built once (~25 ms for vmlinux) and searched instead.

Both steps run in C over a few MB; a lookup takes well under a millisecond. Only for base
BTF in host byte order (the kernel's own BTF); the results equal the name index's.
"""

from __future__ import annotations

import struct
import weakref
from array import array
from bisect import bisect_left
from typing import Any

__all__ = ["usable", "ids_named", "names_with_prefix", "ids_with_name_offset"]

_U32 = struct.Struct("=I")


def usable(btf: Any) -> bool:
    """Whether ``btf`` can be searched this way (base BTF, host byte order)."""
    from pybpf.btf.spec import NATIVE_ENDIAN

    return btf.base is None and btf.endian == NATIVE_ENDIAN


def _string_offsets(btf: Any, needle: bytes) -> list[int]:
    """String offsets at which ``needle`` occurs (any position of the string section)."""
    data = btf._data
    start = btf._str_start
    end = start + btf._str_len
    out = []
    p = data.find(needle, start, end)
    while p != -1:
        out.append(p - start)
        p = data.find(needle, p + 1, end)
    return out


#: Stray hits (the offset's bytes inside a record, not as its name) tolerated in one lookup
#: before the name-offset column is built for this BTF (small offsets such as ``long``'s are
#: common values in the type section).
_MAX_STRAY = 32
# BTF -> bytes of its name-offset column (one u32 per type, in id order)
_COLUMNS: "weakref.WeakKeyDictionary[Any, bytes]" = weakref.WeakKeyDictionary()


def _column(btf: Any) -> bytes:
    col = _COLUMNS.get(btf)
    if col is None:
        words = btf._words
        col = array("I", map(words.__getitem__, btf._woff)).tobytes()
        _COLUMNS[btf] = col
    return col


def _ids_in_column(btf: Any, col: bytes, needle: bytes) -> list[int]:
    first = btf.start_id
    out = []
    p = col.find(needle)
    while p != -1:
        if p & 3:
            p = col.find(needle, p + 1)
            continue
        out.append(first + (p >> 2))
        p = col.find(needle, p + 4)
    return out


def ids_with_name_offset(btf: Any, offset: int) -> list[int]:
    """Ids of the types whose name is the string at ``offset``, ascending."""
    if offset <= 0:
        return []
    needle = _U32.pack(offset)
    col = _COLUMNS.get(btf)
    if col is not None:
        return _ids_in_column(btf, col, needle)
    data = btf._data
    start = btf._types_start
    end = btf._types_end
    woff = btf._woff
    n = len(woff)
    first = btf.start_id
    out = []
    stray = 0
    p = data.find(needle, start, end)
    while p != -1:
        rel = p - start
        if not rel & 3:
            w = rel >> 2
            i = bisect_left(woff, w)
            if i < n and woff[i] == w:
                out.append(first + i)
                p = data.find(needle, p + 4, end)
                continue
        stray += 1
        if stray > _MAX_STRAY:
            return _ids_in_column(btf, _column(btf), needle)
        p = data.find(needle, p + 1, end)
    return out


def ids_named(btf: Any, name: str) -> list[int]:
    """Ids of the types named ``name`` (not ``""``), ascending, as the name index gives them."""
    try:
        target = name.encode()
    except UnicodeEncodeError:
        return []
    out: list[int] = []
    for off in _string_offsets(btf, target + b"\0"):
        out.extend(ids_with_name_offset(btf, off))
    out.sort()
    return out


def names_with_prefix(btf: Any, prefix: bytes) -> list[tuple[int, bytes]]:
    """``(string offset, string)`` of every string offset whose string starts with ``prefix``."""
    data = btf._data
    end = btf._str_start + btf._str_len
    base = btf._str_start
    out = []
    for off in _string_offsets(btf, prefix):
        p = base + off
        out.append((off, bytes(data[p:data.find(b"\0", p, end)])))
    return out
