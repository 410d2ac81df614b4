"""Program headers (segments) and virtual address <-> file offset translation.

uprobes are placed by file offset, while symbols and USDT notes give virtual addresses; the
``PT_LOAD`` segments say which file bytes are loaded where. For a non-PIE executable the
addresses are absolute (``0x400000`` + ...), for PIE and shared libraries they are relative to
the load base (first ``PT_LOAD`` usually at 0); the translation is the same in every case:
``offset = vaddr - p_vaddr + p_offset`` inside the segment that maps ``vaddr``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple, Sequence

from pybpf.errors import ELFError
from pybpf.elf import constants as c

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile

__all__ = ["ProgramHeader", "parse_program_headers", "vaddr_to_offset", "offset_to_vaddr", "PHDR_SIZE"]

PHDR_SIZE = 56
_PHDR = {e: struct.Struct(e + "IIQQQQQQ") for e in "<>"}


class ProgramHeader(NamedTuple):
    """One ``Elf64_Phdr``: ``type`` (``PT_*``), ``flags`` (``PF_R|PF_W|PF_X``), ``offset``,
    ``vaddr``, ``paddr``, ``filesz``, ``memsz``, ``align``; ``index`` in the table."""

    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def type_name(self) -> str:
        return c.name_of(c.PT_NAMES, self.type)

    @property
    def is_load(self) -> bool:
        return self.type == c.PT_LOAD

    @property
    def is_executable(self) -> bool:
        return bool(self.flags & c.PF_X)


def parse_program_headers(elf: "ELFFile") -> list[ProgramHeader]:
    """Decode and validate ``elf``'s program header table (empty if it has none)."""
    phnum = elf.phnum
    if phnum == 0 or elf.phoff == 0:
        return []
    if elf.phentsize != PHDR_SIZE:
        raise ELFError(f"{elf.name}: unsupported program header size e_phentsize={elf.phentsize} "
                       f"at offset 54 (ELF64 program headers are {PHDR_SIZE} bytes)")
    end = elf.phoff + phnum * PHDR_SIZE
    if end > elf.size:
        raise ELFError(f"{elf.name}: program header table [0x{elf.phoff:x}, 0x{end:x}) with {phnum} "
                       f"entries (e_phoff, e_phnum) runs past the end of the file (0x{elf.size:x} bytes)")
    out: list[ProgramHeader] = []
    table = elf.buffer[elf.phoff:end]
    for i, f in enumerate(_PHDR[elf.endian].iter_unpack(table)):
        ph = ProgramHeader(i, *f)
        if ph.filesz and ph.offset + ph.filesz > elf.size:
            raise ELFError(f"{elf.name}: program header #{i} ({ph.type_name}, at file offset "
                           f"0x{elf.phoff + i * PHDR_SIZE:x}): segment [0x{ph.offset:x}, "
                           f"0x{ph.offset + ph.filesz:x}) runs past the end of the file (0x{elf.size:x} bytes)")
        out.append(ph)
    return out


def vaddr_to_offset(headers: Sequence[ProgramHeader], vaddr: int) -> int | None:
    """File offset of ``vaddr`` via the ``PT_LOAD`` segment mapping it from the file, or ``None``."""
    for ph in headers:
        if ph.type == c.PT_LOAD and ph.vaddr <= vaddr < ph.vaddr + ph.filesz:
            return vaddr - ph.vaddr + ph.offset
    return None


def offset_to_vaddr(headers: Sequence[ProgramHeader], offset: int) -> int | None:
    """Virtual address where file ``offset`` is loaded (first ``PT_LOAD`` covering it), or ``None``."""
    for ph in headers:
        if ph.type == c.PT_LOAD and ph.offset <= offset < ph.offset + ph.filesz:
            return offset - ph.offset + ph.vaddr
    return None
