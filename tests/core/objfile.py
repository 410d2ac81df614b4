"""Test-only reader for what the CO-RE tests need from a clang-built BPF object.

pybpf.elf and the .BTF.ext parser of pybpf.btf are written in parallel; until the object loader
exists, the CO-RE tests read the few things they need here: section bytes, the programs
(STT_FUNC symbols of executable sections, like libbpf's program discovery) and the
``core_relo`` records of ``.BTF.ext`` in file order. Nothing in src/ uses this module.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pybpf.core import CORERelo

SHT_SYMTAB = 2
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
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "ELF64 expected"
    e = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
    raw = []
    for i in range(shnum):
        name, typ, flags, _addr, off, size, link, info, _align, entsize = struct.unpack_from(
            e + "IIQQQQIIQQ", data, shoff + i * shentsize)
        raw.append((name, typ, flags, off, size, link, entsize))
    strtab_off = raw[shstrndx][3]

    def cstr(base: int, off: int) -> str:
        end = data.index(b"\0", base + off)
        return data[base + off:end].decode()

    secs_by_index = {}
    sections = {}
    for i, (name, typ, flags, off, size, link, entsize) in enumerate(raw):
        sec = Section(i, cstr(strtab_off, name), typ, flags, data[off:off + size] if typ != 8 else b"",
                      off)
        secs_by_index[i] = sec
        sections.setdefault(sec.name, sec)
    programs: list[Program] = []
    for i, (name, typ, flags, off, size, link, entsize) in enumerate(raw):
        if typ != SHT_SYMTAB:
            continue
        str_off = raw[link][3]
        for s in range(size // entsize):
            st_name, st_info, _other, st_shndx, st_value, st_size = struct.unpack_from(
                e + "IBBHQQ", data, off + s * entsize)
            if st_info & 0xF != STT_FUNC or st_shndx not in secs_by_index:
                continue
            sec = secs_by_index[st_shndx]
            if not sec.flags & SHF_EXECINSTR:
                continue
            programs.append(Program(cstr(str_off, st_name), sec.name, st_shndx, st_value // 8,
                                    st_size // 8,
                                    bytearray(sec.data[st_value:st_value + st_size])))
    programs.sort(key=lambda p: (p.sec_index, p.first_insn))
    return ObjectFile(sections, programs, e)


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
