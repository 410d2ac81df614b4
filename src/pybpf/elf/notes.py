"""ELF notes (``SHT_NOTE`` sections, ``PT_NOTE`` segments), generically.

Each note is ``namesz, descsz, type`` (three words in the file's byte order), then the owner
name and the descriptor, each padded to the container's alignment (4, or 8 for containers
aligned to 8 such as ``.note.gnu.property``). A :class:`Note` carries the owner ``name``, the
``type`` (whose meaning depends on the owner) and ``desc`` as a zero-copy view.

USDT probes are notes of owner ``"stapsdt"``, type ``NT_STAPSDT`` (3), in ``.note.stapsdt``;
their descriptor is three addresses (probe pc, ``.stapsdt.base`` address, semaphore address)
followed by the NUL-terminated provider, probe name and argument string, so a USDT parser is a
few lines on top of :meth:`ELFFile.notes` (see :func:`split_stapsdt_desc`).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Iterator, NamedTuple

from pybpf.errors import ELFError
from pybpf.elf.strtab import decode_name

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile, Section
    from pybpf.elf.segments import ProgramHeader

__all__ = ["Note", "iter_notes", "iter_section_notes", "iter_segment_notes", "split_stapsdt_desc",
           "NHDR_SIZE"]

NHDR_SIZE = 12
_NHDR = {e: struct.Struct(e + "III") for e in "<>"}


class Note(NamedTuple):
    """One note: owner ``name``, ``type``, descriptor bytes ``desc``; ``offset`` is the file
    offset of its header and ``container`` names the section or segment holding it."""

    name: str
    type: int
    desc: memoryview
    offset: int
    container: str


def _align(value: int, to: int) -> int:
    return (value + to - 1) & ~(to - 1)


def iter_notes(elf: "ELFFile", offset: int, size: int, alignment: int, container: str) -> Iterator[Note]:
    """Notes stored in the file bytes ``[offset, offset + size)`` with the given alignment.

    ``alignment`` is the container's ``sh_addralign``/``p_align``; values below 4 mean 4,
    and only 4 and 8 are valid (as in LLVM and libelf).
    """
    align = max(alignment, 4)
    if align not in (4, 8):
        raise ELFError(f"{elf.name}: {container}: unsupported note alignment {alignment} (must be 4 or 8)")
    buf = elf.read(offset, size, container)
    layout = _NHDR[elf.endian]
    pos = 0
    while pos < size:
        where = offset + pos
        if size - pos < NHDR_SIZE:
            raise ELFError(f"{elf.name}: {container}: truncated note header at file offset 0x{where:x} "
                           f"({size - pos} bytes left, need {NHDR_SIZE})")
        namesz, descsz, ntype = layout.unpack_from(buf, pos)
        name_end = pos + NHDR_SIZE + namesz
        desc_start = pos + _align(NHDR_SIZE + namesz, align)
        desc_end = desc_start + descsz
        if name_end > size or desc_end > size:
            raise ELFError(f"{elf.name}: {container}: note at file offset 0x{where:x} (namesz={namesz}, "
                           f"descsz={descsz}) runs past the end of its container ({size} bytes)")
        raw_name = bytes(buf[pos + NHDR_SIZE:name_end])
        if raw_name.endswith(b"\0"):
            raw_name = raw_name[:-1]
        yield Note(decode_name(raw_name), ntype, buf[desc_start:desc_end], where, container)
        pos = desc_start + _align(descsz, align)


def iter_section_notes(elf: "ELFFile", sec: "Section") -> Iterator[Note]:
    """Notes of ``SHT_NOTE`` section ``sec``."""
    if not sec.has_file_data:
        return iter(())
    return iter_notes(elf, sec.offset, sec.size, sec.addralign, sec.describe())


def iter_segment_notes(elf: "ELFFile", ph: "ProgramHeader") -> Iterator[Note]:
    """Notes of ``PT_NOTE`` segment ``ph``."""
    return iter_notes(elf, ph.offset, ph.filesz, ph.align, f"segment #{ph.index} (PT_NOTE)")


def split_stapsdt_desc(desc: memoryview | bytes, endian: str = "<") -> tuple[int, int, int, list[bytes]]:
    """Split a ``stapsdt`` note descriptor of a 64-bit file into
    ``(pc, base, semaphore, [provider, name, args])``.

    :class:`ELFError` if the descriptor is shorter than three addresses or its strings are not
    NUL-terminated.
    """
    if len(desc) < 24:
        raise ELFError(f"stapsdt note descriptor of {len(desc)} bytes is shorter than 3 addresses (24 bytes)")
    pc, base, sem = struct.unpack_from(endian + "QQQ", desc, 0)
    rest = bytes(desc[24:])
    parts = rest.split(b"\0")
    if len(parts) < 4:
        raise ELFError("stapsdt note descriptor: provider, name and arguments must be three "
                       "NUL-terminated strings")
    return pc, base, sem, parts[:3]
