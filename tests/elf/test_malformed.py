"""Malformed ELF input: each defect gives an ELFError that names what is wrong and where.

Defects are made by patching one field of a real object; the field's file position comes from
llvm-readelf-19's view of the intact file (section header table offset, section indices), not
from pybpf.
"""

from __future__ import annotations

import os
import struct

import pytest

from pybpf.elf import ELFFile
from pybpf.elf import constants as c
from pybpf.errors import BPFError, ClosedError, ELFError, NotFoundError

from tests.conftest import skip_or_fail, tool_unavailable_reason

from . import readelf

SHDR = 64
SYM = 24


@pytest.fixture(scope="module")
def obj(bpf_objects):
    """(bytes, endian prefix, llvm-readelf header, llvm-readelf sections) of the LE fixture."""
    reason = tool_unavailable_reason(readelf.READELF)
    if reason:
        skip_or_fail(reason)
    path = bpf_objects["bpfel"]
    with open(path, "rb") as f:
        data = f.read()
    hdr = readelf.readelf_json(path, "-h")["ElfHeader"]
    return data, "<", hdr, readelf.sections(path)


def _patch(data: bytes, off: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, off, value)
    return bytes(buf)


def _shdr_field(hdr, index: int, field_off: int) -> int:
    return hdr["SectionHeaderOffset"] + index * SHDR + field_off


def _sec(secs, name):
    return next(s for s in secs if s["name"] == name)


def _full_walk(elf: ELFFile) -> None:
    """Touch everything the reader offers."""
    for s in elf.sections:
        bytes(s.data)
    for sec in elf.sections:
        if sec.type in (c.SHT_SYMTAB, c.SHT_DYNSYM):
            list(elf.symbol_table(sec))
    for rs in elf.relocation_sections():
        rs.entries()
    list(elf.notes())
    elf.program_headers


def _expect(data: bytes, *fragments: str) -> str:
    with pytest.raises(ELFError) as err:
        _full_walk(ELFFile(data, name="bad.o"))
    msg = str(err.value)
    assert msg.startswith("bad.o: ")
    for frag in fragments:
        assert frag in msg, (frag, msg)
    return msg


def test_intact_object_walks(obj):
    _full_walk(ELFFile(obj[0]))


@pytest.mark.parametrize("size", [0, 3, 15, 16, 40, 63])
def test_truncated_header(obj, size):
    _expect(obj[0][:size], "truncated")


def test_empty_file_opened(tmp_path):
    p = tmp_path / "empty.o"
    p.write_bytes(b"")
    with pytest.raises(ELFError, match="empty file"):
        ELFFile.open(p)


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(NotFoundError, match="cannot map ELF file"):
        ELFFile.open(tmp_path / "missing.o")
    with pytest.raises(BPFError):
        ELFFile.open(tmp_path)      # a directory


def test_bad_magic(obj):
    _expect(b"\x7fELG" + obj[0][4:], "bad magic", "offset 0")


def test_elf32_is_rejected(obj):
    _expect(obj[0][:4] + b"\x01" + obj[0][5:], "ELF32", "not supported")


@pytest.mark.parametrize("value", [0, 3, 255])
def test_bad_class(obj, value):
    _expect(obj[0][:4] + bytes([value]) + obj[0][5:], "invalid ELF class", "offset 4")


@pytest.mark.parametrize("value", [0, 3])
def test_bad_data_encoding(obj, value):
    _expect(obj[0][:5] + bytes([value]) + obj[0][6:], "data encoding", "offset 5")


def test_section_table_outside_file(obj):
    data, e, hdr, _ = obj
    _expect(_patch(data, 0x28, e + "Q", len(data) - 10), "section header table", "outside the file")
    _expect(_patch(data, 0x3C, e + "H", 0x7000), "section header table", "runs past the end")


def test_bad_section_header_size(obj):
    data, e, _, _ = obj
    _expect(_patch(data, 0x3A, e + "H", 40), "e_shentsize=40")


def test_section_data_outside_file(obj):
    data, e, hdr, secs = obj
    text = _sec(secs, ".text")
    msg = _expect(_patch(data, _shdr_field(hdr, text["index"], 32), e + "Q", len(data)),
                  f"section [{text['index']}]", "runs past the end of the file")
    assert "0x" in msg


def test_shstrndx_out_of_range(obj):
    data, e, hdr, secs = obj
    _expect(_patch(data, 0x3E, e + "H", len(secs) + 5), "e_shstrndx", "out of range")


def test_section_name_offset_out_of_range(obj):
    data, e, hdr, secs = obj
    _expect(_patch(data, _shdr_field(hdr, 2, 0), e + "I", 0xFFFFFF), "section [2] name", "outside string table")


def test_section_name_not_terminated(obj):
    data, e, hdr, secs = obj
    shstr = secs[int(hdr["StringTableSectionIndex"])]
    buf = bytearray(data)
    end = shstr["offset"] + shstr["size"]
    buf[end - 1] = ord("x")       # the last name loses its NUL
    last_name_offset = max(s["name_offset"] for s in secs)
    msg = _expect(bytes(buf), "not NUL-terminated")
    assert "file offset" in msg
    assert last_name_offset < shstr["size"]


def test_symtab_entry_size(obj):
    data, e, hdr, secs = obj
    symtab = _sec(secs, ".symtab")
    _expect(_patch(data, _shdr_field(hdr, symtab["index"], 56), e + "Q", 16),
            "'.symtab'", "entry size", "sh_entsize=16")


def test_symtab_bad_link(obj):
    data, e, hdr, secs = obj
    symtab = _sec(secs, ".symtab")
    _expect(_patch(data, _shdr_field(hdr, symtab["index"], 40), e + "I", 999), "sh_link=999")
    text = _sec(secs, ".text")
    _expect(_patch(data, _shdr_field(hdr, symtab["index"], 40), e + "I", text["index"]),
            "sh_link", "SHT_STRTAB")


def _symbol_index(path_syms, name):
    return next(i for i, s in enumerate(path_syms) if s["name"] == name)


def test_symbol_section_index_out_of_range(obj, bpf_objects):
    data, e, hdr, secs = obj
    syms = readelf.symbols(bpf_objects["bpfel"])
    i = _symbol_index(syms, "xdp_pass")
    symtab = _sec(secs, ".symtab")
    off = symtab["offset"] + i * SYM + 6
    msg = _expect(_patch(data, off, e + "H", 0xFE00), "symbol", "'xdp_pass'", "section index 65024 out of range")
    assert f"0x{symtab['offset'] + i * SYM:x}" in msg
    _expect(_patch(data, off, e + "H", c.SHN_XINDEX), "'xdp_pass'", "SHN_XINDEX", "SHT_SYMTAB_SHNDX")


def test_symbol_name_out_of_range(obj, bpf_objects):
    data, e, hdr, secs = obj
    syms = readelf.symbols(bpf_objects["bpfel"])
    i = _symbol_index(syms, "counts")
    symtab = _sec(secs, ".symtab")
    _expect(_patch(data, symtab["offset"] + i * SYM, e + "I", 0x7FFFFFFF), f"symbol #{i}", "outside string table")


def test_relocation_entry_size(obj):
    data, e, hdr, secs = obj
    rel = _sec(secs, ".relxdp")
    _expect(_patch(data, _shdr_field(hdr, rel["index"], 56), e + "Q", 24),
            "'.relxdp'", "unsupported relocation entry size", "sh_entsize=24")


def test_relocation_symbol_out_of_range(obj):
    data, e, hdr, secs = obj
    rel = _sec(secs, ".relxdp")
    off = rel["offset"] + 8          # r_info of entry 0
    msg = _expect(_patch(data, off, e + "Q", (5000 << 32) | c.R_BPF_64_64),
                  "relocation #0", "'.relxdp'", "symbol index 5000 out of range")
    assert f"0x{rel['offset']:x}" in msg


def test_relocation_offset_outside_target(obj):
    data, e, hdr, secs = obj
    rel = _sec(secs, ".relxdp")
    target = secs[rel["info"]]
    # an ld_imm64 needs 16 bytes: 8 before the end is already outside
    msg = _expect(_patch(data, rel["offset"], e + "Q", target["size"] - 8),
                  "relocation #0", "outside target", f"'{target['name']}'", "R_BPF_64_64")
    assert f"{target['size']} bytes" in msg


def test_relocation_bad_target(obj):
    data, e, hdr, secs = obj
    rel = _sec(secs, ".relxdp")
    _expect(_patch(data, _shdr_field(hdr, rel["index"], 44), e + "I", 4000), "sh_info=4000")


def test_program_headers_outside_file(host_bins):
    path = host_bins["target_pie"]
    with open(path, "rb") as f:
        data = f.read()
    _expect(_patch(data, 0x20, "<Q", len(data) - 8), "program header table", "runs past the end")
    _expect(_patch(data, 0x36, "<H", 32), "e_phentsize=32")


def test_note_overflow(host_bins):
    path = host_bins["target_pie"]
    with open(path, "rb") as f:
        data = f.read()
    note = next(s for s in readelf.sections(path) if s["name"] == ".note.gnu.build-id")
    msg = _expect(_patch(data, note["offset"] + 4, "<I", 4096), "runs past the end of its container",
                  "descsz=4096", ".note.gnu.build-id")
    assert f"0x{note['offset']:x}" in msg


def test_truncated_files_never_crash(obj):
    """Every truncation of a real object fails cleanly or parses what is left."""
    data = obj[0]
    for size in range(0, len(data), max(1, len(data) // 400)):
        try:
            _full_walk(ELFFile(data[:size]))
        except ELFError:
            pass


def test_mapped_file_closes(bpf_objects):
    elf = ELFFile.open(bpf_objects["bpfel"])
    text = elf.section(".text")
    view = text.data
    assert len(view) == text.size
    del view
    elf.close()
    elf.close()   # idempotent
    with pytest.raises(ClosedError):
        text.data
    assert os.path.exists(bpf_objects["bpfel"])
