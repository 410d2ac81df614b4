"""GNU symbol versioning: ``.gnu.version`` (versym), ``.gnu.version_d`` (verdef),
``.gnu.version_r`` (verneed).

Shared libraries export several versions of one name (``memcpy@GLIBC_2.2.5`` and
``memcpy@@GLIBC_2.14``); ``.dynsym`` stores only ``memcpy`` and the version lives in the versym
word of the same index: bits 0-14 select a version definition (``vd_ndx``) or requirement
(``vna_other``), bit 15 (``VERSYM_HIDDEN``) marks a non-default version. libbpf resolves
``SEC("uprobe/libc.so.6:malloc@@GLIBC_2.2.5")`` through the definitions; llvm-readelf prints
``name@@VER`` for a default definition and ``name@VER`` otherwise.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import TYPE_CHECKING, NamedTuple

from pybpf.errors import ELFError
from pybpf.elf import constants as c

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile, Section
    from pybpf.elf.symbols import Symbol

__all__ = ["SymbolVersion", "SymbolVersions"]

_NATIVE = "<" if sys.byteorder == "little" else ">"
_VERDEF = {e: struct.Struct(e + "HHHHIII") for e in "<>"}     # version flags ndx cnt hash aux next
_VERDAUX = {e: struct.Struct(e + "II") for e in "<>"}         # name next
_VERNEED = {e: struct.Struct(e + "HHIII") for e in "<>"}      # version cnt file aux next
_VERNAUX = {e: struct.Struct(e + "IHHII") for e in "<>"}      # hash flags other name next


class SymbolVersion(NamedTuple):
    """The version of one dynamic symbol: ``name`` (``"GLIBC_2.2.5"``), ``hidden`` (versym bit
    15), ``is_definition`` (from verdef rather than verneed), ``file`` (the needed library for a
    requirement, else ``None``)."""

    name: str
    hidden: bool
    is_definition: bool
    file: str | None


class SymbolVersions:
    """Version information of a file's ``.dynsym``; build with :meth:`from_elf`."""

    def __init__(self, elf: "ELFFile", versym: "Section") -> None:
        self._elf = elf
        self.section = versym
        if versym.entsize not in (0, 2):
            raise ELFError(f"{elf.name}: {versym.describe()}: unsupported versym entry size {versym.entsize}")
        words = array("H")
        data = versym.data
        words.frombytes(data[: len(data) - len(data) % 2])
        if elf.endian != _NATIVE:
            words.byteswap()
        self.words = words
        #: vd_ndx -> version name (first verdaux)
        self.definitions: dict[int, str] = {}
        #: vna_other -> (version name, needed file)
        self.requirements: dict[int, tuple[str, str]] = {}
        for sec in elf.sections:
            if sec.type == c.SHT_GNU_verdef:
                self._parse_verdef(sec)
            elif sec.type == c.SHT_GNU_verneed:
                self._parse_verneed(sec)

    @classmethod
    def from_elf(cls, elf: "ELFFile") -> "SymbolVersions | None":
        """Versions of ``elf``'s dynamic symbols, or ``None`` without a ``SHT_GNU_versym`` section."""
        for sec in elf.sections:
            if sec.type == c.SHT_GNU_versym:
                return cls(elf, sec)
        return None

    def _strings(self, sec: "Section"):
        strsec = self._elf._linked_section(sec, sec.link, "sh_link", (c.SHT_STRTAB,))
        return self._elf.string_table(strsec)

    def _entry(self, sec: "Section", layout: struct.Struct, off: int, what: str) -> tuple[int, ...]:
        if off < 0 or off + layout.size > sec.size:
            raise ELFError(f"{self._elf.name}: {sec.describe()}: {what} at section offset {off} "
                           f"(file offset 0x{sec.offset + off:x}) runs past the end of the section "
                           f"({sec.size} bytes)")
        return layout.unpack_from(sec.data, off)

    def _parse_verdef(self, sec: "Section") -> None:
        strings = self._strings(sec)
        e = self._elf.endian
        off = 0
        while sec.size:
            _ver, _flags, ndx, cnt, _hash, aux, nxt = self._entry(sec, _VERDEF[e], off, "verdef entry")
            if cnt:
                vda_name, _ = self._entry(sec, _VERDAUX[e], off + aux, "verdaux entry")
                name = strings.get(vda_name, user=f"{self._elf.name}: {sec.describe()} verdef {ndx}")
                self.definitions.setdefault(ndx & c.VERSYM_VERSION, name)
            if nxt == 0:
                break
            off += nxt

    def _parse_verneed(self, sec: "Section") -> None:
        strings = self._strings(sec)
        e = self._elf.endian
        off = 0
        while sec.size:
            _ver, cnt, vn_file, vn_aux, vn_next = self._entry(sec, _VERNEED[e], off, "verneed entry")
            user = f"{self._elf.name}: {sec.describe()} verneed at offset {off}"
            file = strings.get(vn_file, user=user)
            aoff = off + vn_aux
            for _ in range(cnt):
                _hash, _flags, other, vna_name, vna_next = self._entry(sec, _VERNAUX[e], aoff, "vernaux entry")
                self.requirements.setdefault(other & c.VERSYM_VERSION, (strings.get(vna_name, user=user), file))
                if vna_next == 0:
                    break
                aoff += vna_next
            if vn_next == 0:
                break
            off += vn_next

    def word(self, index: int) -> int | None:
        """The raw versym word of dynamic symbol ``index`` (``None`` past the table's end)."""
        return self.words[index] if 0 <= index < len(self.words) else None

    def definition_name(self, version: int) -> str | None:
        """Name of version definition ``version`` (a ``vd_ndx``), as libbpf's ``elf_get_vername``."""
        return self.definitions.get(version)

    def version(self, index: int) -> SymbolVersion | None:
        """Version of dynamic symbol ``index``; ``None`` if unversioned (local/global/no entry).

        :class:`ELFError` if the versym word refers to a version that is neither defined nor
        required.
        """
        w = self.word(index)
        if w is None:
            return None
        ndx = w & c.VERSYM_VERSION
        hidden = bool(w & c.VERSYM_HIDDEN)
        if ndx in (c.VER_NDX_LOCAL, c.VER_NDX_GLOBAL):
            return None
        name = self.definitions.get(ndx)
        if name is not None:
            return SymbolVersion(name, hidden, True, None)
        req = self.requirements.get(ndx)
        if req is not None:
            return SymbolVersion(req[0], hidden, False, req[1])
        raise ELFError(f"{self._elf.name}: {self.section.describe()}: symbol #{index} refers to "
                       f"version index {ndx}, which is neither defined nor required")

    def versioned_name(self, sym: "Symbol") -> str:
        """``name@@VER`` for a default definition, ``name@VER`` otherwise, plain name if unversioned."""
        v = self.version(sym.index)
        if v is None:
            return sym.name
        default = v.is_definition and not v.hidden and not sym.is_undefined
        return f"{sym.name}{'@@' if default else '@'}{v.name}"
