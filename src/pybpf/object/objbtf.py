"""The object's own BTF, rewritten the way libbpf rewrites it while opening and loading.

clang leaves parts of an object's BTF for the loader to finish, and libbpf changes a few records
before handing the BTF to the kernel. :class:`BTFPatcher` edits the raw type records in place
(type ids never move) and can append types and strings; :meth:`BTFPatcher.encode` writes the
canonical layout (header, types, strings) that ``btf__raw_data()`` produces.

What is rewritten, in libbpf's order:

* at open, :func:`pybpf.object.externs.collect_externs`: a ``dummy_ksym`` VAR when ``.ksyms``
  holds functions; ``.ksyms`` VARs typed as ``int`` and made global, ``.ksyms`` FUNCs made global
  with their DATASEC entry pointing at ``dummy_ksym``; ``.kconfig`` VARs made global with their
  offsets in the ``.kconfig`` map;
* at open, :func:`fixup_datasecs` (libbpf's ``btf_fixup_datasec``): DATASEC sizes from the ELF
  sections, VAR offsets from the ELF symbols, hidden globals made static, entries sorted by offset;
* at load, :func:`mark_static_funcs`: FUNCs of hidden global subprograms made static.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import TYPE_CHECKING, Iterable

from pybpf.btf import BTF, Kind
from pybpf.btf.spec import BTF_MAGIC, HEADER_SIZE
from pybpf.errors import BTFError, ObjectError

if TYPE_CHECKING:
    from pybpf.elf import Symbol

__all__ = ["BTFPatcher", "fixup_datasecs", "mark_static_funcs", "VAR_STATIC", "VAR_GLOBAL_ALLOCATED",
           "VAR_GLOBAL_EXTERN", "FUNC_STATIC", "FUNC_GLOBAL", "FUNC_EXTERN"]

VAR_STATIC, VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN = 0, 1, 2
FUNC_STATIC, FUNC_GLOBAL, FUNC_EXTERN = 0, 1, 2
_NATIVE = "<" if sys.byteorder == "little" else ">"
_STT_OBJECT, _STB_GLOBAL, _STB_WEAK = 1, 1, 2
_STV_INTERNAL, _STV_HIDDEN = 1, 2


class BTFPatcher:
    """Raw, editable copy of a BTF blob. ``btf`` is the parsed original (for reading types)."""

    def __init__(self, raw: bytes, what: str = ".BTF") -> None:
        try:
            self.btf = BTF.parse(raw)
        except BTFError as exc:
            raise BTFError(f"{what}: {exc.message}") from None
        self.what = what
        e = self.btf.endian
        self.endian = e
        (_, _, self.flags, hdr_len, type_off, type_len, str_off,
         str_len) = struct.unpack_from(e + "HBBIIIII", raw, 0)
        start = hdr_len + type_off
        words = array("I")
        words.frombytes(bytes(raw[start:start + type_len]))
        if e != _NATIVE:
            words.byteswap()
        self.words = words
        sstart = hdr_len + str_off
        self.strings = bytearray(raw[sstart:sstart + str_len])
        self.offsets = self.btf.word_offsets
        self.count = len(self.btf)
        self._string_index: dict[bytes, int] | None = None

    # ------------------------------------------------------------------ records
    def word(self, type_id: int, k: int) -> int:
        """Word ``k`` of type ``type_id``'s record (0 name_off, 1 info, 2 size/type, ...)."""
        return self.words[self.offsets[type_id - 1] + k]

    def set_word(self, type_id: int, k: int, value: int) -> None:
        self.words[self.offsets[type_id - 1] + k] = value & 0xFFFFFFFF

    def kind(self, type_id: int) -> int:
        return (self.word(type_id, 1) >> 24) & 0x1F

    def vlen(self, type_id: int) -> int:
        return self.word(type_id, 1) & 0xFFFF

    # ------------------------------------------------------------------ appending
    def add_string(self, text: str) -> int:
        """Offset of ``text`` in the string section, appended if absent (btf__add_str)."""
        raw = text.encode()
        if self._string_index is None:
            index: dict[bytes, int] = {}
            pos = 0
            data = bytes(self.strings)
            while pos < len(data):
                end = data.find(b"\0", pos)
                if end < 0:
                    break
                index.setdefault(data[pos:end], pos)
                pos = end + 1
            self._string_index = index
        off = self._string_index.get(raw)
        if off is None:
            off = len(self.strings)
            self.strings += raw + b"\0"
            self._string_index[raw] = off
        return off

    def add_var(self, name: str, type_id: int, linkage: int) -> int:
        """Append a VAR (btf__add_var); returns its id."""
        name_off = self.add_string(name)
        tid = self.count
        self.offsets = array("I", self.offsets)
        self.offsets.append(len(self.words))
        self.words.extend((name_off, Kind.VAR << 24, type_id, linkage))
        self.count += 1
        return tid

    # ------------------------------------------------------------------ output
    def encode(self) -> bytes:
        """Header + types + strings, in the object's byte order."""
        words = array("I", self.words)
        if self.endian != _NATIVE:
            words.byteswap()
        types = words.tobytes()
        strings = bytes(self.strings)
        header = struct.pack(self.endian + "HBBIIIII", BTF_MAGIC, 1, self.flags, HEADER_SIZE, 0,
                             len(types), len(types), len(strings))
        return header + types + strings

    def build(self) -> BTF:
        """The edited BTF, parsed."""
        try:
            return BTF.parse(self.encode())
        except BTFError as exc:
            raise BTFError(f"{self.what} after the loader's fixups: {exc.message}") from None


def _elf_var_symbols(symbols: Iterable["Symbol"]) -> dict[str, "Symbol"]:
    """libbpf's find_elf_var_sym(): the first global/weak STT_OBJECT symbol of each name."""
    out: dict[str, Symbol] = {}
    for sym in symbols:
        if sym.type == _STT_OBJECT and sym.bind in (_STB_GLOBAL, _STB_WEAK):
            out.setdefault(sym.name, sym)
    return out


def fixup_datasecs(p: BTFPatcher, symbols: Iterable["Symbol"], section_sizes: dict[str, int],
                   where: str) -> None:
    """libbpf's btf_fixup_datasec() for every DATASEC (see the module docstring).

    ``section_sizes`` maps ELF section names to sizes (the first section of each name).
    """
    btf = p.btf
    var_syms: dict[str, Symbol] | None = None
    for tid in range(1, p.count):
        if p.kind(tid) != Kind.DATASEC:
            continue
        sec_name = btf.name_of(tid)
        n = p.vlen(tid)
        if sec_name not in (".kconfig", ".ksyms"):
            fix_offsets = False
            if p.word(tid, 2) == 0:
                size = section_sizes.get(sec_name, 0)
                if not size:
                    raise ObjectError(f"{where}: BTF DATASEC '{sec_name}' [{tid}] has no size and the "
                                      f"object has no non-empty ELF section of that name")
                p.set_word(tid, 2, size)
                fix_offsets = True
            for j in range(n):
                var_id = p.word(tid, 3 + 3 * j)
                if not 0 < var_id < p.count or p.kind(var_id) != Kind.VAR:
                    raise ObjectError(f"{where}: BTF DATASEC '{sec_name}' [{tid}] entry #{j} refers "
                                      f"to type [{var_id}], which is not a VAR")
                linkage = p.word(var_id, 3)
                if linkage in (VAR_STATIC, VAR_GLOBAL_EXTERN):
                    continue
                var_name = btf.name_of(var_id)
                if var_syms is None:
                    var_syms = _elf_var_symbols(symbols)
                sym = var_syms.get(var_name)
                if sym is None:
                    raise ObjectError(f"{where}: BTF DATASEC '{sec_name}': no ELF symbol for "
                                      f"variable '{var_name}' [{var_id}]")
                if fix_offsets:
                    p.set_word(tid, 3 + 3 * j + 1, sym.value)
                if sym.visibility in (_STV_HIDDEN, _STV_INTERNAL):
                    p.set_word(var_id, 3, VAR_STATIC)
        _sort_datasec(p, tid, n)


def _sort_datasec(p: BTFPatcher, tid: int, n: int) -> None:
    if n < 2:
        return
    base = p.offsets[tid - 1] + 3
    entries = [tuple(p.words[base + 3 * j: base + 3 * j + 3]) for j in range(n)]
    ordered = sorted(entries, key=lambda e: e[1])
    if ordered != entries:
        for j, e in enumerate(ordered):
            p.words[base + 3 * j: base + 3 * j + 3] = array("I", e)


def mark_static_funcs(p: BTFPatcher, names: Iterable[str]) -> None:
    """Make the global FUNC of each name static (libbpf does this for hidden subprograms)."""
    wanted = set(names)
    if not wanted:
        return
    btf = p.btf
    for name in wanted:
        for tid in btf.find(name, Kind.FUNC):
            if p.kind(tid) == Kind.FUNC and p.vlen(tid) == FUNC_GLOBAL:
                p.set_word(tid, 1, (Kind.FUNC << 24) | FUNC_STATIC)
                break
