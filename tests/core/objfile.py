"""Test-only: what the CO-RE tests need from a clang-built BPF object, until the loader exists.

Sections and programs (STT_FUNC symbols of executable sections, like libbpf's program
discovery) come from pybpf.elf. The ``core_relo`` records of ``.BTF.ext`` are read here in file
order until pybpf.btf's .BTF.ext parser lands; nothing in src/ uses this module.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pybpf.core import CORERelo

SHF_EXECINSTR = 0x4
STT_FUNC = 2


@dataclass
class Section:
    index: int
    name: str
    type: int
    flags: int
    data: bytes
    offset: int = 0  # in the file


@dataclass
class Program:
    name: str
    section: str
    sec_index: int
    first_insn: int  # within the section
    insn_cnt: int
    insns: bytearray = field(repr=False, default_factory=bytearray)


@dataclass
class ObjectFile:
    sections: dict[str, Section]
    programs: list[Program]
    endian: str

    @property
    def btf(self) -> bytes:
        return self.sections[".BTF"].data

    def program_at(self, sec_name: str, insn_idx: int) -> Program | None:
        for prog in self.programs:
            if prog.section == sec_name and prog.first_insn <= insn_idx < prog.first_insn + prog.insn_cnt:
                return prog
        return None


def read_object(path: str) -> ObjectFile:
    """Sections and programs of a BPF object, through pybpf.elf."""
    from pybpf.elf import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f.read())
    sections: dict[str, Section] = {}
    by_index: dict[int, Section] = {}
    for sec in elf.sections:
        item = Section(sec.index, sec.name, sec.type, sec.flags,
                       bytes(sec.data) if sec.has_file_data else b"", sec.offset)
        by_index[sec.index] = item
        sections.setdefault(sec.name, item)
    programs: list[Program] = []
    for sym in elf.symtab or ():
        sec = by_index.get(sym.section_index) if sym.section_index is not None else None
        if sym.type != STT_FUNC or sec is None or not sec.flags & SHF_EXECINSTR:
            continue
        programs.append(Program(sym.name, sec.name, sec.index, sym.value // 8, sym.size // 8,
                                bytearray(sec.data[sym.value:sym.value + sym.size])))
    programs.sort(key=lambda p: (p.sec_index, p.first_insn))
    return ObjectFile(sections, programs, elf.endian)


def core_relos(obj: ObjectFile) -> list[tuple[str, list[CORERelo]]]:
    """The ``core_relo`` subsection of ``.BTF.ext``: ``[(section name, [records])]`` in file order."""
    out: dict[str, list[CORERelo]] = {}
    for sec_name, _idx, _off, rec in core_relo_locations(obj):
        out.setdefault(sec_name, []).append(rec)
    return list(out.items())


def core_relo_locations(obj: ObjectFile) -> list[tuple[str, int, int, CORERelo]]:
    """Every ``core_relo`` record as ``(section name, index in section, file offset, record)``."""
    from pybpf.btf import BTF

    ext = obj.sections[".BTF.ext"].data
    e = obj.endian
    magic, version, flags, hdr_len = struct.unpack_from(e + "HBBI", ext, 0)
    assert magic == 0xEB9F and hdr_len >= 32
    core_off, core_len = struct.unpack_from(e + "II", ext, 24)
    btf = BTF.parse(obj.btf)
    pos = hdr_len + core_off
    end = pos + core_len
    out: list[tuple[str, int, int, CORERelo]] = []
    if core_len == 0:
        return out
    base = obj.sections[".BTF.ext"].offset
    rec_size, = struct.unpack_from(e + "I", ext, pos)
    pos += 4
    while pos < end:
        sec_name_off, num = struct.unpack_from(e + "II", ext, pos)
        pos += 8
        name = btf.string(sec_name_off)
        for i in range(num):
            insn_off, type_id, access_off, kind = struct.unpack_from(e + "IIII", ext, pos)
            out.append((name, i, base + pos, CORERelo(insn_off, type_id, access_off, kind)))
            pos += rec_size
    return out


def patched_copy(path: str, out: str, edits: list[tuple[int, str, int]]) -> str:
    """Copy object ``path`` to ``out`` with ``struct.pack_into(fmt, data, offset, value)`` applied
    for every ``(offset, fmt, value)`` edit (to forge bad relocation records or instructions)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    for offset, fmt, value in edits:
        struct.pack_into(fmt, data, offset, value)
    with open(out, "wb") as f:
        f.write(data)
    return out
