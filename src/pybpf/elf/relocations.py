"""Relocation sections (``SHT_REL``, ``SHT_RELA``, and ``SHT_RELR`` of host binaries).

A :class:`RelocationSection` knows its symbol table (``sh_link``) and, when ``sh_info`` names
one, the section it patches (``.relxdp`` patches ``xdp``). Entries are decoded on first use and
validated: the entry size must be the ELF64 one, every symbol index must exist, and in a
relocatable object (``ET_REL``, e.g. a BPF object) every ``r_offset`` plus the bytes the
relocation touches must lie inside the target section. In executables and shared libraries
``r_offset`` is a virtual address, so only the symbol index is checked there.

``SHT_RELR`` (compact relative relocations, e.g. in glibc 2.36+) decodes to one relative
relocation per address, typed with the machine's ``*_RELATIVE`` number, as llvm-readelf shows it.

Relocation types are kept as numbers; :func:`pybpf.elf.constants.relocation_type_name` names
the BPF ones (``R_BPF_64_64``, ``R_BPF_64_ABS64``, ``R_BPF_64_ABS32``, ``R_BPF_64_NODYLD32``,
``R_BPF_64_32``). x86_64/aarch64 relocations of host binaries are listed as numbers only.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Iterator, NamedTuple

from pybpf.errors import ELFError
from pybpf.elf import constants as c

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile, Section
    from pybpf.elf.symbols import Symbol, SymbolTable

__all__ = ["Relocation", "RelocationSection", "REL_SIZE", "RELA_SIZE", "RELR_SIZE", "RELATIVE_TYPES"]

REL_SIZE = 16
RELA_SIZE = 24
RELR_SIZE = 8
_REL = {e: struct.Struct(e + "QQ") for e in "<>"}
_RELA = {e: struct.Struct(e + "QQq") for e in "<>"}
_RELR = {e: struct.Struct(e + "Q") for e in "<>"}

#: The machine's relative relocation type, which every SHT_RELR entry stands for.
RELATIVE_TYPES = {
    c.EM_X86_64: 8, c.EM_386: 8, c.EM_AARCH64: 1027, c.EM_ARM: 23, c.EM_RISCV: 3,
    c.EM_PPC64: 22, c.EM_S390: 12, c.EM_LOONGARCH: 3,
}


class Relocation(NamedTuple):
    """One relocation: ``offset`` (``r_offset``), ``type`` and ``symbol_index`` (from
    ``r_info``), ``addend`` (``None`` for ``SHT_REL``), ``index`` within its section."""

    index: int
    offset: int
    type: int
    symbol_index: int
    addend: int | None


class RelocationSection:
    """A validated ``SHT_REL``/``SHT_RELA`` section.

    ``section`` is the relocation section itself, ``target`` the section it applies to (or
    ``None`` when ``sh_info`` is 0, as in ``.rela.dyn``), ``symbols`` the symbol table it
    refers to (or ``None`` when ``sh_link`` is 0). Iterate, index or call :meth:`entries` for
    the decoded :class:`Relocation` list.
    """

    def __init__(self, elf: "ELFFile", sec: "Section") -> None:
        self._elf = elf
        self.section = sec
        self.is_rela = sec.type == c.SHT_RELA
        self.is_relr = sec.type == c.SHT_RELR
        where = f"{elf.name}: relocation {sec.describe()}"
        if sec.type not in (c.SHT_REL, c.SHT_RELA, c.SHT_RELR):
            raise ELFError(f"{where} has type {sec.type_name}, not SHT_REL, SHT_RELA or SHT_RELR")
        self.entry_size = RELA_SIZE if self.is_rela else RELR_SIZE if self.is_relr else REL_SIZE
        if sec.entsize != self.entry_size:
            raise ELFError(f"{where}: unsupported relocation entry size sh_entsize={sec.entsize} "
                           f"({sec.type_name} entries are {self.entry_size} bytes in ELF64)")
        if sec.size % self.entry_size:
            raise ELFError(f"{where}: size {sec.size} is not a multiple of the entry size {self.entry_size}")
        self.symbols: "SymbolTable | None" = None
        if sec.link and not self.is_relr:
            symsec = elf._linked_section(sec, sec.link, "sh_link", (c.SHT_SYMTAB, c.SHT_DYNSYM))
            self.symbols = elf.symbol_table(symsec)
        self.target: "Section | None" = None
        if sec.info and (elf.type == c.ET_REL or sec.flags & c.SHF_INFO_LINK):
            self.target = elf._linked_section(sec, sec.info, "sh_info", ())
        self._entries: list[Relocation] | None = None

    def __repr__(self) -> str:
        target = self.target.name if self.target is not None else None
        return f"<RelocationSection {self.section.name!r} -> {target!r}: {len(self)} entries>"

    def __len__(self) -> int:
        if self.is_relr:
            return len(self.entries())
        return self.section.size // self.entry_size

    def entries(self) -> list[Relocation]:
        """All relocations, decoded and validated (cached)."""
        if self._entries is None:
            self._entries = self._decode()
        return self._entries

    def __iter__(self) -> Iterator[Relocation]:
        return iter(self.entries())

    def __getitem__(self, i: int) -> Relocation:
        return self.entries()[i]

    def symbol(self, rel: Relocation) -> "Symbol | None":
        """The symbol ``rel`` refers to (``None`` for symbol index 0 or no symbol table)."""
        if rel.symbol_index == 0 or self.symbols is None:
            return None
        return self.symbols[rel.symbol_index]

    def type_name(self, rel: Relocation) -> str:
        """``"R_BPF_64_64"`` etc. for BPF; the number as text for other machines."""
        return c.relocation_type_name(self._elf.machine, rel.type)

    def _decode_relr(self) -> list[Relocation]:
        rtype = RELATIVE_TYPES.get(self._elf.machine, 0)
        out: list[Relocation] = []
        where = 0
        for (word,) in _RELR[self._elf.endian].iter_unpack(self.section.data):
            if not word & 1:            # an address: relocate it, continue after it
                out.append(Relocation(len(out), word, rtype, 0, None))
                where = word + 8
            else:                       # a bitmap of the next 63 words
                bits = word >> 1
                i = 0
                while bits:
                    if bits & 1:
                        out.append(Relocation(len(out), where + i * 8, rtype, 0, None))
                    bits >>= 1
                    i += 1
                where += 63 * 8
        return out

    def _decode(self) -> list[Relocation]:
        if self.is_relr:
            return self._decode_relr()
        elf = self._elf
        sec = self.section
        layout = (_RELA if self.is_rela else _REL)[elf.endian]
        nsyms = len(self.symbols) if self.symbols is not None else None
        target = self.target
        check_offsets = target is not None and elf.type == c.ET_REL
        target_size = target.size if target is not None else 0
        bpf = elf.machine == c.EM_BPF
        width = c.R_BPF_WIDTH
        out: list[Relocation] = []
        for i, fields in enumerate(layout.iter_unpack(sec.data)):
            r_offset, r_info = fields[0], fields[1]
            addend = fields[2] if self.is_rela else None
            sym = r_info >> 32
            rtype = r_info & 0xFFFFFFFF
            if sym and (nsyms is None or sym >= nsyms):
                have = "no symbol table (sh_link=0)" if nsyms is None else f"{nsyms} symbols"
                raise ELFError(f"{elf.name}: relocation #{i} in {sec.describe()} (file offset "
                               f"0x{sec.offset + i * self.entry_size:x}): symbol index {sym} out of "
                               f"range ({have})")
            if check_offsets:
                span = width.get(rtype, 1) if bpf else 1
                if r_offset + max(span, 1) > target_size:
                    assert target is not None
                    raise ELFError(f"{elf.name}: relocation #{i} in {sec.describe()} (file offset "
                                   f"0x{sec.offset + i * self.entry_size:x}): r_offset 0x{r_offset:x} "
                                   f"(+{max(span, 1)} bytes for type {c.relocation_type_name(elf.machine, rtype)}) "
                                   f"is outside target {target.describe()} of {target_size} bytes")
            out.append(Relocation(i, r_offset, rtype, sym, addend))
        return out
