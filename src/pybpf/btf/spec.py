"""Parsing raw BTF into :class:`BTF`, the container every other layer asks for types.

Parsing is lazy: :meth:`BTF.parse` validates the header and walks the type section once to
record where each type's record starts (an ``array`` of word offsets); a type is decoded into a
:mod:`pybpf.btf.model` object the first time it is asked for, then cached. Names are indexed on
the first :meth:`BTF.find`. This keeps ``vmlinux`` (≈130 000 types) cheap to open when a caller
needs only a handful of types, which is the common case (CO-RE, kfunc lookup, attach targets).

The type section is read as 32-bit words (a zero-copy ``memoryview`` when the BTF has the host's
byte order, a byte-swapped ``array`` otherwise); every decoder works on those words, so the lazy
single-type path and the bulk paths (:meth:`BTF.decode_all`, :attr:`BTF.table`) share one
implementation.

Both byte orders are accepted (the magic tells). Split BTF (kernel modules) is parsed on top of
its base: ids and string offsets continue where the base's end.

Malformed input raises :class:`pybpf.errors.BTFError` naming the byte offset and type id.
"""

from __future__ import annotations

import gc
import struct
import sys
from array import array
from bisect import bisect_left
from itertools import accumulate, count
from operator import add
from typing import TYPE_CHECKING, Any, Iterator

from pybpf.errors import BTFError
from pybpf.btf import model as m
from pybpf.btf.model import Kind

if TYPE_CHECKING:
    from pybpf.btf.table import TypeTable

__all__ = ["BTF", "BTF_MAGIC", "HEADER_SIZE", "MAX_TYPE_ID", "record_size", "Buffer"]

BTF_MAGIC = 0xEB9F
HEADER_SIZE = 24
MAX_TYPE_ID = 0x000FFFFF
MAX_VLEN = 0xFFFF
#: Deepest struct/union/array nesting any recursive walk follows before giving up with BTFError
#: (far beyond real C types, well inside Python's recursion limit).
MAX_NESTING = 150
NATIVE_ENDIAN = "<" if sys.byteorder == "little" else ">"

#: What :meth:`BTF.parse` accepts: ``bytes``, ``bytearray``, ``memoryview`` or an ``mmap``
#: (bytearray/memoryview are copied to bytes; an mmap is kept).
Buffer = Any

# kind -> (words after the 3-word common header, words per vlen entry)
_RECORD_WORDS: dict[int, tuple[int, int]] = {
    Kind.INT: (1, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (3, 0),
    Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3),
    Kind.ENUM: (0, 2),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 2),
    Kind.VAR: (1, 0),
    Kind.DATASEC: (0, 3),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 3),
}
# Flat tables indexed by kind number for the scan loop (None = unknown kind).
_FIXED: list[int | None] = [None] * 32
_PER = [0] * 32
for _k, (_fixed, _per) in _RECORD_WORDS.items():
    _FIXED[_k] = 3 + _fixed
    _PER[_k] = _per
# The same by the top byte of the info word (kind flag, two unused bits, kind), so the scan
# loop needs no masking.
_FIXED_BY_TOP: list[int | None] = [_FIXED[b & 0x1F] for b in range(256)]
_PER_BY_TOP: list[int] = [_PER[b & 0x1F] for b in range(256)]
_KINDS: tuple[Kind, ...] = tuple(Kind(k) if k <= max(Kind) else Kind.UNKN for k in range(32))
_SIZED_KINDS = frozenset({Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT})
_MODS = m.MODIFIER_KINDS


def record_size(kind: int, vlen: int) -> int:
    """Size in bytes of one type record of ``kind`` with ``vlen`` entries."""
    fixed, per = _RECORD_WORDS[Kind(kind)]
    return 4 * (3 + fixed + per * vlen)


class _Header:
    __slots__ = ("endian", "version", "flags", "hdr_len", "type_off", "type_len", "str_off", "str_len")
    endian: str
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int


def _parse_header(data: Buffer) -> _Header:
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


_tuple_new = tuple.__new__  # builds NamedTuple instances without the Python-level __new__


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


class BTF:
    """A parsed set of BTF types (``.BTF`` of an object, vmlinux, or a module's split BTF).

    ``btf[type_id]`` returns the decoded type (id 0 is :data:`pybpf.btf.model.VOID`);
    ``len(btf)`` is the number of type ids including void (so ids are ``range(len(btf))``);
    :meth:`find` looks types up by name. Instances are read-only views of the bytes they
    were parsed from.

    Bulk access for whole-BTF consumers (dumpers): :meth:`decode_all` decodes every type in
    one fast pass; :attr:`table` is a columnar :class:`pybpf.btf.table.TypeTable` (kinds, names,
    raw words) that avoids building model objects at all.
    """

    def __init__(self) -> None:  # use BTF.parse()
        self._data: Buffer = b""
        self.base: BTF | None = None
        self.endian = "<"
        self.version = 1
        self.flags = 0
        self.start_id = 1
        self._woff = array("I")
        self._words: Any = array("I")
        self._types_start = 0
        self._types_end = 0
        self._str_start = 0
        self._str_len = 0
        self._str_base_len = 0
        self._cache: dict[int, m.Type] = {}
        self._strings: dict[int, str] = {}
        self._all_strings = False
        self._name_index: dict[str, list[int]] | None = None
        self._name_order: Any = None
        self._ptr_size: int | None = None
        self._table: TypeTable | None = None
        self._table_columns: Any = None
        self._scan_infos: array | None = None  # info word of each local type, from _scan
        self._all_decoded = False

    # ------------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, data: Buffer, base: BTF | None = None) -> BTF:
        """Parse raw BTF ``data`` (a ``.BTF`` section or a /sys/kernel/btf file).

        ``data`` may be ``bytes``, ``bytearray``, ``memoryview`` or a read-only ``mmap`` (kept,
        not copied). With ``base``, ``data`` is split BTF on top of it (kernel module BTF): its
        type ids start at ``len(base)`` and its string offsets at the base's string section
        length.
        """
        return cls._parse(data, base, None)

    @classmethod
    def from_elf(cls, source: Any, base: BTF | None = None) -> BTF:
        """The ``.BTF`` section of an ELF object or ``vmlinux`` (a path, or the file's bytes)."""
        from pybpf.btf.elf import btf_from_elf

        return btf_from_elf(source, base)

    @classmethod
    def _parse(cls, data: Buffer, base: BTF | None, word_offsets: Any) -> BTF:
        """Parse; with ``word_offsets`` (from a trusted cache keyed by the content), skip the scan."""
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
        if h.endian == NATIVE_ENDIAN:
            self._words = memoryview(data)[self._types_start:self._types_end].cast("I")
        else:
            words = array("I")
            words.frombytes(data[self._types_start:self._types_end])
            words.byteswap()
            self._words = words
        if word_offsets is None:
            self._scan()
        else:
            self._woff = word_offsets
        return self

    @property
    def _str_len_total(self) -> int:
        return self._str_base_len + self._str_len

    def _scan(self) -> None:
        """Record the start word of every type record, validating kinds and bounds.

        The loop does the least per record (vmlinux has ~130 000): record sizes come from
        tables indexed by the info word's top byte (kind and kind flag), an unknown kind's
        ``None`` stops it with a TypeError and a truncated header with an IndexError; the
        messages are worked out afterwards.
        """
        words = self._words
        fixed_tab, per_tab = _FIXED_BY_TOP, _PER_BY_TOP
        woff = array("I")
        append = woff.append
        infos = array("I")  # kept for the columnar view (TypeTable), which needs them all
        append_info = infos.append
        w = 0
        end = len(words)
        try:
            while w < end:
                info = words[w + 1]
                top = info >> 24
                append(w)
                append_info(info)
                w += fixed_tab[top] + per_tab[top] * (info & 0xFFFF)
        except (TypeError, IndexError):
            # w is the failing record's start (appended only if its info word was read)
            n = len(woff) - (1 if woff and woff[-1] == w else 0)
            if w + 3 > end:
                raise BTFError(
                    f"BTF type id {self.start_id + n} at offset {self._types_start + 4 * w}: "
                    "record header truncated"
                ) from None
            kind = (words[w + 1] >> 24) & 0x1F
            raise BTFError(
                f"BTF type id {self.start_id + n} at offset {self._types_start + 4 * w}: unknown kind {kind}"
            ) from None
        if w != end:
            last = woff[-1]
            if last + 3 > end:
                raise BTFError(
                    f"BTF type id {self.start_id + len(woff) - 1} at offset {self._types_start + 4 * last}: "
                    "record header truncated"
                )
            raise BTFError(
                f"BTF type id {self.start_id + len(woff) - 1} at offset {self._types_start + 4 * last}: "
                f"record runs {4 * (w - end)} bytes past the end of the type section"
            )
        if len(woff) > MAX_TYPE_ID - self.start_id + 1:
            raise BTFError(f"BTF has more than {MAX_TYPE_ID} types")
        self._woff = woff
        self._scan_infos = infos

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
                    f"BTF string offset {offset} out of range (string section has {self._str_len_total} bytes)"
                )
            start = self._str_start + local
            endpos = self._data.find(b"\0", start)
            try:
                s = self._data[start:endpos].decode()
            except UnicodeDecodeError:
                raise BTFError(f"BTF string at offset {offset} is not valid UTF-8") from None
        self._strings[offset] = s
        return s

    def _string_bytes(self, offset: int) -> bytes:
        """Raw bytes of the string at ``offset`` (no decoding); for the sorted name index."""
        if offset < self._str_base_len:
            assert self.base is not None
            return self.base._string_bytes(offset)
        start = self._str_start + offset - self._str_base_len
        return self._data[start:self._data.find(b"\0", start)]

    def load_strings(self) -> dict[int, str]:
        """Decode the whole string section at once (fast for bulk consumers).

        Returns the offset → string dict that :meth:`string` consults first. Offsets pointing
        into the middle of a string are still answered by :meth:`string`.
        """
        if self._all_strings:
            return self._strings
        sec = self._data[self._str_start:self._str_start + self._str_len]
        base = self._str_base_len
        strings = self._strings
        # The section ends with a NUL: drop the empty piece after it. The offset of piece i is
        # base + (total length of the pieces before it) + i separators.
        if sec.isascii():
            pieces: list[str] = sec.decode("ascii").split("\0")[:-1]
            new = dict(zip(map(add, accumulate(map(len, pieces), initial=base), count()), pieces))
        else:
            new = {}
            pieces_b = sec.split(b"\0")[:-1]
            for off, pb in zip(map(add, accumulate(map(len, pieces_b), initial=base), count()), pieces_b):
                try:
                    new[off] = pb.decode()
                except UnicodeDecodeError:
                    pass  # left to string(), which reports it
        new.update(strings)
        self._strings = new
        self._all_strings = True
        return new

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        """Number of type ids, counting void and the base's types: valid ids are ``range(len(self))``."""
        return self.start_id + len(self._woff)

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
        if idx >= len(self._woff):
            raise BTFError(f"BTF type id {type_id} out of range (last id is {len(self) - 1})")
        t = self._decode(type_id, self._woff[idx])
        self._cache[type_id] = t
        return t

    def get(self, type_id: int) -> m.Type | None:
        """``self[type_id]``, or None when the id is out of range."""
        if not 0 <= type_id < len(self):
            return None
        return self[type_id]

    def types(self, start: int | None = None) -> Iterator[m.Type]:
        """Every type of this BTF (not its base), in id order; decodes them all."""
        first = self.start_id if start is None else max(start, self.start_id)
        if not self._all_decoded and len(self._woff) > 64:
            self.decode_all()
        cache = self._cache
        for tid in range(first, len(self)):
            t = cache.get(tid)
            yield t if t is not None else self[tid]

    def __iter__(self) -> Iterator[m.Type]:
        return self.types()

    def _local_index(self, type_id: int) -> int:
        idx = type_id - self.start_id
        if not 0 <= idx < len(self._woff):
            raise BTFError(f"BTF type id {type_id} out of range (last id is {len(self) - 1})")
        return idx

    def kind_of(self, type_id: int) -> Kind:
        """The kind of ``type_id`` without decoding the whole type."""
        if type_id == 0:
            return Kind.UNKN
        if type_id < self.start_id:
            if self.base is None or type_id < 0:
                raise BTFError(f"BTF type id {type_id} out of range")
            return self.base.kind_of(type_id)
        w = self._woff[self._local_index(type_id)]
        return _KINDS[(self._words[w + 1] >> 24) & 0x1F]

    def name_of(self, type_id: int) -> str:
        """The name of ``type_id`` without decoding the whole type (``""`` if anonymous)."""
        if type_id == 0:
            return ""
        if type_id < self.start_id:
            if self.base is None or type_id < 0:
                raise BTFError(f"BTF type id {type_id} out of range")
            return self.base.name_of(type_id)
        w = self._woff[self._local_index(type_id)]
        return self.string(self._words[w])

    def record_offset(self, type_id: int) -> int:
        """Byte offset of ``type_id``'s record in :attr:`raw` (for messages and tools)."""
        return self._types_start + 4 * self._woff[self._local_index(type_id)]

    @property
    def raw(self) -> Buffer:
        """The bytes this BTF was parsed from (``bytes``, or the ``mmap`` it was given)."""
        return self._data

    @property
    def words(self) -> Any:
        """The type section as host-order 32-bit words (``memoryview`` or ``array('I')``)."""
        return self._words

    @property
    def word_offsets(self) -> array:
        """Start word (index into :attr:`words`) of each local type's record, in id order."""
        return self._woff

    @property
    def is_split(self) -> bool:
        """Whether this BTF is split BTF on top of :attr:`base`."""
        return self.base is not None

    @property
    def table(self) -> TypeTable:
        """A columnar view of this BTF's own types (built on first use, then kept)."""
        if self._table is None:
            from pybpf.btf.table import TypeTable

            self._table = TypeTable(self, self._table_columns)
            self._table_columns = None
        return self._table

    # ------------------------------------------------------------------ names
    def _build_name_index(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        words = self._words
        string = self.string
        if len(self._woff) > 4096:
            self.load_strings()
        tid = self.start_id
        for w in self._woff:
            name_off = words[w]
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

    def build_name_order(self) -> array:
        """Local named type ids sorted by name bytes (then id): the compact name index.

        :meth:`find` answers from it by binary search, so installing one (from the on-disk
        cache, :meth:`set_name_order`) makes lookups ready without building a dict.
        """
        words = self._words
        woff = self._woff
        sb = self._string_bytes
        start = self.start_id
        named = [(sb(words[w]), i + start) for i, w in enumerate(woff) if words[w]]
        named.sort()
        return array("I", [tid for _, tid in named])

    def set_name_order(self, order: Any) -> None:
        """Install a name order from :meth:`build_name_order` computed for the same bytes."""
        self._name_order = order

    @property
    def name_order(self) -> Any:
        """The compact sorted name index (built on first use if none was installed)."""
        if self._name_order is None:
            self._name_order = self.build_name_order()
        return self._name_order

    def _find_local(self, name: str) -> list[int]:
        if self._name_index is not None:
            return list(self._name_index.get(name, ()))
        order = self._name_order
        if order is None:
            return list(self.name_index.get(name, ()))
        try:
            target = name.encode()
        except UnicodeEncodeError:
            return []
        words = self._words
        woff = self._woff
        start = self.start_id
        sb = self._string_bytes

        def key(tid: int) -> bytes:
            return sb(words[woff[tid - start]])

        i = bisect_left(order, target, key=key)
        out = []
        n = len(order)
        while i < n and key(order[i]) == target:
            out.append(order[i])
            i += 1
        return out

    def find(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of the types named ``name`` (optionally only of ``kind``), base BTF first."""
        ids = list(self.base.find(name, kind)) if self.base is not None else []
        local = self._find_local(name)
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
    def _check_ref(self, owner: int, ref: int, w: int) -> int:
        if ref >= len(self):
            raise BTFError(
                f"BTF type id {owner} at offset {self._types_start + 4 * w}: refers to type id {ref}, "
                f"last id is {len(self) - 1}"
            )
        return ref

    def _decode(self, tid: int, w: int) -> m.Type:
        words = self._words
        name_off = words[w]
        info = words[w + 1]
        try:
            name = self.string(name_off) if name_off else ""
            return _DECODERS[(info >> 24) & 0x1F](self, tid, w, name, info & 0xFFFF, info >> 31, words[w + 2])
        except BTFError as exc:
            if f"type id {tid}" in str(exc):
                raise
            raise BTFError(f"BTF type id {tid} at offset {self._types_start + 4 * w}: {exc.message}") from None

    def decode_all(self) -> None:
        """Decode every local type into the cache in one pass (the fast path for dumpers).

        Raises :class:`BTFError` for the first malformed type, as ``btf[id]`` would.
        """
        if self._all_decoded:
            return
        self.load_strings()
        # Hundreds of thousands of acyclic objects: the cyclic GC would only rescan them.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._decode_all()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _decode_all(self) -> None:
        words = self._words
        cache = self._cache
        decoders = _DECODERS
        strings = self._strings
        string = self.string
        limit = len(self)
        # The commonest kinds are built inline (vmlinux is ~45% FUNC, ~23% FUNC_PROTO).
        Func, FuncProto, Param = m.Func, m.FuncProto, m.Param
        simple_refs = _SIMPLE_REF_CLASSES
        tid = self.start_id
        for w in self._woff:
            if tid not in cache:
                name_off = words[w]
                info = words[w + 1]
                st = words[w + 2]
                kind = (info >> 24) & 0x1F
                name = strings.get(name_off) if name_off else ""
                if name is None:
                    name = string(name_off)
                try:
                    if kind == 12 and st < limit:  # FUNC
                        cache[tid] = Func(tid, name, st, info & 0xFFFF)
                    elif kind == 13 and st < limit:  # FUNC_PROTO
                        vlen = info & 0xFFFF
                        params = []
                        if vlen:
                            it = iter(words[w + 3:w + 3 + 2 * vlen].tolist())
                            for n, t in zip(it, it):
                                if t >= limit:
                                    raise BTFError("bad parameter type")
                                pname = (strings.get(n) or string(n)) if n else ""
                                params.append(_tuple_new(Param, (pname, t)))
                        cache[tid] = FuncProto(tid, name, st, tuple(params))
                    elif simple_refs[kind] is not None and st < limit:
                        cache[tid] = simple_refs[kind](tid, name, st)
                    else:
                        cache[tid] = decoders[kind](self, tid, w, name, info & 0xFFFF, info >> 31, st)
                except BTFError:
                    cache.pop(tid, None)
                    self[tid]  # re-decode on the checked path: raises with full context
                    raise
            tid += 1
        self._all_decoded = True

    # ------------------------------------------------------------------ layout helpers
    def skip_modifiers(self, type_id: int) -> int:
        """Follow CONST/VOLATILE/RESTRICT/TYPE_TAG to the first other type."""
        seen = 0
        start = type_id
        while self.kind_of(type_id) in _MODS:
            type_id = self[type_id].type  # type: ignore[attr-defined]
            seen += 1
            if seen > len(self):
                raise BTFError(f"BTF type id {start}: modifier loop")
        return type_id

    def skip_mods_and_typedefs(self, type_id: int) -> int:
        """Follow modifiers and typedefs (libbpf's skip_mods_and_typedefs)."""
        seen = 0
        start = type_id
        while True:
            kind = self.kind_of(type_id)
            if kind not in _MODS and kind != Kind.TYPEDEF:
                return type_id
            type_id = self[type_id].type  # type: ignore[attr-defined]
            seen += 1
            if seen > len(self):
                raise BTFError(f"BTF type id {start}: typedef/modifier loop")

    def resolve_type(self, type_id: int) -> int:
        """Follow modifiers, typedefs, VAR and DECL_TAG to a concrete type (libbpf's btf__resolve_type)."""
        seen = 0
        start = type_id
        while True:
            kind = self.kind_of(type_id)
            if kind not in _MODS and kind not in (Kind.TYPEDEF, Kind.VAR, Kind.DECL_TAG):
                return type_id
            type_id = self[type_id].type  # type: ignore[attr-defined]
            seen += 1
            if seen > len(self):
                raise BTFError(f"BTF type id {start}: reference loop")

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

    @pointer_size.setter
    def pointer_size(self, size: int) -> None:
        if size not in (4, 8):
            raise BTFError(f"unsupported pointer size {size}")
        self._ptr_size = size

    def resolve_size(self, type_id: int) -> int:
        """Byte size of ``type_id`` as libbpf's btf__resolve_size computes it."""
        nelems = 1
        depth = 0
        start = type_id
        while True:
            depth += 1
            if depth > 32 + len(self):
                raise BTFError(f"BTF type id {start}: reference loop while resolving size")
            t = self[type_id]
            kind = t.kind
            if kind in _SIZED_KINDS:
                size = t.size  # type: ignore[attr-defined]
                break
            if kind == Kind.PTR:
                size = self.pointer_size
                break
            if kind in _MODS or kind in (Kind.TYPEDEF, Kind.VAR, Kind.DECL_TAG):
                type_id = t.type  # type: ignore[attr-defined]
                continue
            if kind == Kind.ARRAY:
                nelems *= t.nelems  # type: ignore[attr-defined]
                if nelems > 0xFFFFFFFF:
                    raise BTFError(f"BTF type id {start}: array size overflows 32 bits")
                type_id = t.type  # type: ignore[attr-defined]
                continue
            raise BTFError(f"BTF type id {t.id} ({kind.name}) has no size")
        total = nelems * size
        if total > 0xFFFFFFFF:
            raise BTFError(f"BTF type id {start}: size {total} overflows 32 bits")
        return total

    def alignment(self, type_id: int) -> int:
        """Alignment of ``type_id`` as libbpf's btf__align_of computes it (1 for packed)."""
        return self._alignment(type_id, set())

    def _alignment(self, type_id: int, active: set[int]) -> int:
        depth = 0
        start = type_id
        while True:
            depth += 1
            if depth > 32 + len(self):
                raise BTFError(f"BTF type id {start}: reference loop while resolving alignment")
            t = self[type_id]
            kind = t.kind
            if kind in (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT):
                return min(self.pointer_size, t.size)  # type: ignore[attr-defined]
            if kind == Kind.PTR:
                return self.pointer_size
            if kind in _MODS or kind in (Kind.TYPEDEF, Kind.ARRAY):
                type_id = t.type  # type: ignore[attr-defined]
                continue
            if kind in (Kind.STRUCT, Kind.UNION):
                assert isinstance(t, m.Composite)
                if type_id in active or len(active) > MAX_NESTING:
                    raise BTFError(f"BTF type id {type_id}: struct contains itself")
                active.add(type_id)
                max_align = 1
                try:
                    for mem in t.members:
                        align = self._alignment(mem.type, active)
                        if mem.bitfield_size == 0 and mem.bit_offset % (8 * align):
                            return 1  # a member placed off its natural alignment: packed
                        max_align = max(max_align, align)
                finally:
                    active.discard(type_id)
                if t.size % max_align:
                    return 1  # size not a multiple of alignment: packed
                return max_align
            raise BTFError(f"BTF type id {t.id} ({kind.name}) has no alignment")

    def member_path(self, type_id: int, name: str) -> list[tuple[int, m.Member]] | None:
        """Find member ``name`` in struct/union ``type_id``, looking through anonymous members.

        Returns the path as ``[(composite_id, member), ...]`` from the outer type inward (the
        last entry is the named member), or None when there is no such member.
        """
        return self._member_path(type_id, name, set())

    def _member_path(self, type_id: int, name: str, active: set[int]) -> list[tuple[int, m.Member]] | None:
        cid = self.skip_mods_and_typedefs(type_id)
        t = self[cid]
        if not isinstance(t, m.Composite):
            raise BTFError(f"BTF type id {type_id} ({t.kind.name}) is not a struct or union")
        if cid in active or len(active) > MAX_NESTING:
            raise BTFError(f"BTF type id {cid}: anonymous member loop")
        for mem in t.members:
            if mem.name == name:
                return [(cid, mem)]
        active.add(cid)
        try:
            for mem in t.members:
                if not mem.name:
                    inner = self.skip_mods_and_typedefs(mem.type)
                    if isinstance(self[inner], m.Composite):
                        rest = self._member_path(inner, name, active)
                        if rest is not None:
                            return [(cid, mem), *rest]
        finally:
            active.discard(cid)
        return None

    def __repr__(self) -> str:
        split = f", split on {len(self.base)} base ids" if self.base is not None else ""
        return f"<BTF {len(self) - self.start_id} types{split}>"


# ---------------------------------------------------------------------- per-kind decoders
# Each takes (btf, type id, word offset, name, vlen, kflag, size_or_type word).
def _dec_int(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    raw = b._words[w + 3]
    encoding = (raw >> 24) & 0x0F
    offset = (raw >> 16) & 0xFF
    bits = raw & 0xFF
    if size not in (1, 2, 4, 8, 16):
        raise BTFError(f"INT '{name}' has invalid size {size}")
    if bits > 128 or offset + bits > size * 8:
        raise BTFError(f"INT '{name}' has {bits} bits at bit offset {offset}, more than its {size} bytes")
    return m.Int(tid, name, size, encoding, offset, bits)


def _ref_decoder(cls: type[m._Ref]):  # noqa: ANN202 - small factory
    def dec(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
        if ref >= len(b):
            b._check_ref(tid, ref, w)
        return cls(tid, name, ref)

    return dec


def _dec_array(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    words = b._words
    elem, index, nelems = words[w + 3], words[w + 4], words[w + 5]
    return m.Array(tid, name, b._check_ref(tid, elem, w), b._check_ref(tid, index, w), nelems)


def _members(b: BTF, tid: int, w: int, vlen: int, kflag: int) -> tuple[m.Member, ...]:
    if not vlen:
        return ()
    strings = b._strings
    string = b.string
    limit = len(b)
    it = iter(b._words[w + 3:w + 3 + 3 * vlen].tolist())
    out = []
    Member = m.Member
    for name_off, mtype, moff in zip(it, it, it):
        if mtype >= limit:
            b._check_ref(tid, mtype, w)
        name = (strings.get(name_off) or string(name_off)) if name_off else ""
        if kflag:
            out.append(_tuple_new(Member, (name, mtype, moff & 0xFFFFFF, moff >> 24)))
        else:
            out.append(_tuple_new(Member, (name, mtype, moff, 0)))
    return tuple(out)


def _dec_struct(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    return m.Struct(tid, name, size, _members(b, tid, w, vlen, kflag), bool(kflag))


def _dec_union(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    return m.Union(tid, name, size, _members(b, tid, w, vlen, kflag), bool(kflag))


#: Sizes an ENUM/ENUM64 may have; 0 only without values (a forward declaration such as
#: ``enum e;``, which clang emits with size 0 and bpftool/libbpf accept).
_ENUM_SIZES = (1, 2, 4, 8)


def _check_enum_size(kind: str, name: str, size: int, vlen: int) -> None:
    if size not in _ENUM_SIZES and (size or vlen):
        raise BTFError(f"{kind} '{name}' has invalid size {size}")


def _dec_enum(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    _check_enum_size("ENUM", name, size, vlen)
    strings = b._strings
    string = b.string
    it = iter(b._words[w + 3:w + 3 + 2 * vlen].tolist())
    EnumValue = m.EnumValue
    values = []
    for n, v in zip(it, it):
        if kflag and v & 0x80000000:
            v -= 1 << 32
        values.append(_tuple_new(EnumValue, ((strings.get(n) or string(n)) if n else "", v)))
    return m.Enum(tid, name, size, tuple(values), bool(kflag))


def _dec_enum64(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    _check_enum_size("ENUM64", name, size, vlen)
    string = b.string
    it = iter(b._words[w + 3:w + 3 + 3 * vlen].tolist())
    values = []
    for n, lo, hi in zip(it, it, it):
        v = (hi << 32) | lo
        if kflag and v >= 1 << 63:
            v -= 1 << 64
        values.append(m.EnumValue(string(n) if n else "", v))
    return m.Enum64(tid, name, size, tuple(values), bool(kflag))


def _dec_fwd(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    return m.Fwd(tid, name, bool(kflag))


def _dec_func(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    # FUNC reuses vlen for linkage.
    if ref >= len(b):
        b._check_ref(tid, ref, w)
    return m.Func(tid, name, ref, vlen)


def _dec_func_proto(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, ret: int) -> m.Type:
    limit = len(b)
    if ret >= limit:
        b._check_ref(tid, ret, w)
    if not vlen:
        return m.FuncProto(tid, name, ret, ())
    strings = b._strings
    string = b.string
    it = iter(b._words[w + 3:w + 3 + 2 * vlen].tolist())
    Param = m.Param
    params = []
    for n, t in zip(it, it):
        if t >= limit:
            b._check_ref(tid, t, w)
        params.append(_tuple_new(Param, ((strings.get(n) or string(n)) if n else "", t)))
    return m.FuncProto(tid, name, ret, tuple(params))


def _dec_var(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    return m.Var(tid, name, b._check_ref(tid, ref, w), b._words[w + 3])


def _dec_datasec(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    it = iter(b._words[w + 3:w + 3 + 3 * vlen].tolist())
    vars_ = tuple(m.VarSecinfo(b._check_ref(tid, t, w), o, s) for t, o, s in zip(it, it, it))
    return m.Datasec(tid, name, size, vars_)


def _dec_float(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, size: int) -> m.Type:
    if size not in (2, 4, 8, 12, 16):
        raise BTFError(f"FLOAT '{name}' has invalid size {size}")
    return m.Float(tid, name, size)


def _dec_decl_tag(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, ref: int) -> m.Type:
    return m.DeclTag(tid, name, b._check_ref(tid, ref, w), _s32(b._words[w + 3]))


def _dec_unknown(b: BTF, tid: int, w: int, name: str, vlen: int, kflag: int, _: int) -> m.Type:
    raise BTFError("kind 0 (UNKN) is not a valid type record")


_DECODERS: list = [_dec_unknown] * 32
for _kind, _dec in {
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
}.items():
    _DECODERS[_kind] = _dec

# Kinds whose record is just (name, info, referenced type): class by kind number, else None.
_SIMPLE_REF_CLASSES: list = [None] * 32
for _kind, _cls in {
    Kind.PTR: m.Pointer,
    Kind.TYPEDEF: m.Typedef,
    Kind.VOLATILE: m.Volatile,
    Kind.CONST: m.Const,
    Kind.RESTRICT: m.Restrict,
    Kind.TYPE_TAG: m.TypeTag,
}.items():
    _SIMPLE_REF_CLASSES[_kind] = _cls
