"""Property-based fuzzing: random bytes and mutated real files give ELFError or a usable
result, never IndexError/struct.error/UnicodeDecodeError/RecursionError or anything else."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pybpf.elf import ELFFile, split_stapsdt_desc
from pybpf.elf import constants as c
from pybpf.errors import ELFError, NotFoundError

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def exercise(data: bytes) -> None:
    """Parse ``data`` and use every reader feature; only ELFError may escape."""
    try:
        elf = ELFFile(data, name="fuzz")
    except ELFError:
        return
    steps = [
        lambda: [bytes(s.data) for s in elf.sections],
        lambda: [(s.type_name, s.describe(), repr(s)) for s in elf.sections],
        lambda: [list(elf.symbol_table(s)) for s in elf.sections if s.type in (c.SHT_SYMTAB, c.SHT_DYNSYM)],
        lambda: [elf.symbol_table(s).by_name() for s in elf.sections if s.type in (c.SHT_SYMTAB, c.SHT_DYNSYM)],
        lambda: [elf.find_symbols(n) for n in ("main", "xdp_pass", "counts", "", "pybpf_add")],
        lambda: [(rs.entries(), [rs.symbol(r) for r in rs], [rs.type_name(r) for r in rs])
                 for rs in elf.relocation_sections()],
        lambda: [rs for s in elf.sections for rs in elf.relocations_for(s)],
        lambda: elf.program_headers,
        lambda: [elf.vaddr_to_offset(a) for a in (0, 0x1000, 0x401000, 2**63)],
        lambda: [elf.offset_to_vaddr(a) for a in (0, 0x40, 0x1000)],
        lambda: [split_stapsdt_desc(n.desc, elf.endian) for n in elf.notes()
                 if n.name == "stapsdt" and n.type == c.NT_STAPSDT],
        lambda: list(elf.segment_notes()),
        lambda: [elf.versions.versioned_name(s) for s in (elf.dynsym or [])] if elf.versions else None,
        lambda: [elf.section(n) for n in (".text", ".symtab", "nope", 0, 10**6)],
    ]
    for step in steps:
        try:
            step()
        except ELFError:
            pass
    for name in ("main", "pybpf_add", "pybpf_ver@V1", "pybpf_ver@@V2", "malloc", "pybpf_*"):
        try:
            elf.find_func_offset(name)
        except (ELFError, NotFoundError):
            pass
    elf.close()


@SETTINGS
@given(st.binary(max_size=512))
def test_random_bytes(data):
    exercise(data)


@SETTINGS
@given(st.sampled_from([1, 2]), st.binary(min_size=0, max_size=600))
def test_random_bytes_with_elf64_ident(order, rest):
    exercise(b"\x7fELF\x02" + bytes([order]) + b"\x01" + rest)


@pytest.fixture(scope="module")
def corpus(bpf_objects, host_bins) -> list[bytes]:
    files = [bpf_objects["bpfel"], bpf_objects["bpfeb"], host_bins["target_pie"], host_bins["libver.so"],
             host_bins["target_stripped"]]
    out = []
    for path in files:
        with open(path, "rb") as f:
            out.append(f.read())
    return out


_BOUNDARY = [0, 1, 2, 7, 8, 0x10, 0x18, 0x40, 0xFF, 0xFFFF, 0xFF00, 0xFFF1, 0xFFF2, 0x7FFFFFFF,
             0xFFFFFFFF, 2**63, 2**64 - 1]


@SETTINGS
@given(data=st.data())
def test_flipped_bytes(corpus, data):
    blob = bytearray(data.draw(st.sampled_from(corpus)))
    for _ in range(data.draw(st.integers(1, 12))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] ^= data.draw(st.integers(1, 255))
    exercise(bytes(blob))


@SETTINGS
@given(data=st.data())
def test_truncated(corpus, data):
    blob = data.draw(st.sampled_from(corpus))
    exercise(blob[: data.draw(st.integers(0, len(blob)))])


def _fields(blob: bytes) -> list[tuple[int, int]]:
    """(offset, width) of the structural fields of an intact file: ELF header, every section
    header field, the symbol and relocation entries (found by parsing the intact file)."""
    elf = ELFFile(blob)
    e = elf.endian
    out = [(o, w) for o, w in ((0x10, 2), (0x12, 2), (0x20, 8), (0x28, 8), (0x36, 2), (0x38, 2),
                               (0x3A, 2), (0x3C, 2), (0x3E, 2))]
    shdr_fields = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8), (56, 8)]
    for s in elf.sections:
        base = elf.shoff + s.index * 64
        out += [(base + o, w) for o, w in shdr_fields]
        if s.type in (c.SHT_SYMTAB, c.SHT_DYNSYM):
            for i in range(min(s.size // 24, 64)):
                b = s.offset + i * 24
                out += [(b, 4), (b + 6, 2), (b + 8, 8)]
        if s.type in (c.SHT_REL, c.SHT_RELA):
            for i in range(min(s.size // max(s.entsize, 1), 64)):
                b = s.offset + i * s.entsize
                out += [(b, 8), (b + 8, 8)]
        if s.type == c.SHT_NOTE:
            out += [(s.offset, 4), (s.offset + 4, 4)]
        if s.type in (c.SHT_GNU_verdef, c.SHT_GNU_verneed):
            out += [(s.offset + o, 4) for o in range(0, min(s.size, 64), 4)]
    for p in elf.program_headers:
        b = elf.phoff + p.index * 56
        out += [(b + 8, 8), (b + 16, 8), (b + 32, 8)]
    assert e in "<>"
    return out


@SETTINGS
@given(data=st.data())
def test_spliced_fields(corpus, data):
    blob = data.draw(st.sampled_from(corpus))
    fields = _fields(blob)
    buf = bytearray(blob)
    endian = "<" if buf[5] == 1 else ">"
    for _ in range(data.draw(st.integers(1, 4))):
        off, width = data.draw(st.sampled_from(fields))
        value = data.draw(st.one_of(st.sampled_from(_BOUNDARY), st.integers(0, 2 ** (8 * width) - 1),
                                    st.integers(0, len(buf) + 64)))
        value %= 2 ** (8 * width)
        struct.pack_into(endian + {2: "H", 4: "I", 8: "Q"}[width], buf, off, value)
    exercise(bytes(buf))
