""".BTF.ext parsing, checked against LLVM's own readers of the same object.

* CO-RE relocations: ``llvm-objdump-19 -dr`` prints each one (section, byte offset, kind, type id,
  access spec);
* line info: with DWARF stripped, ``llvm-objdump-19 -d -S -l`` prints the source position and
  line from BTF line info before the instruction each record names;
* function info: every record must name the FUNC whose ELF symbol starts at that offset of
  that section (``llvm-readelf-19 -s``).
"""

from __future__ import annotations

import re
import struct

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf.ext import BTFExt, CoreReloKind
from pybpf.errors import BTFError

from .helpers import dump_section, run

# llvm-objdump's names for enum bpf_core_relo_kind
_LLVM_KIND = {
    "byte_off": CoreReloKind.FIELD_BYTE_OFFSET, "byte_sz": CoreReloKind.FIELD_BYTE_SIZE,
    "field_exists": CoreReloKind.FIELD_EXISTS, "signed": CoreReloKind.FIELD_SIGNED,
    "lshift_u64": CoreReloKind.FIELD_LSHIFT_U64, "rshift_u64": CoreReloKind.FIELD_RSHIFT_U64,
    "local_type_id": CoreReloKind.TYPE_ID_LOCAL, "target_type_id": CoreReloKind.TYPE_ID_TARGET,
    "type_exists": CoreReloKind.TYPE_EXISTS, "type_size": CoreReloKind.TYPE_SIZE,
    "enumval_exists": CoreReloKind.ENUMVAL_EXISTS, "enumval_value": CoreReloKind.ENUMVAL_VALUE,
    "type_matches": CoreReloKind.TYPE_MATCHES,
}
_SECTION = re.compile(r"^Disassembly of section (.+):$")
_INSN = re.compile(r"^\s+(\d+):\t")


def parsed(obj: str, tmp_path) -> tuple[BTF, BTFExt]:
    btf = BTF.parse(dump_section(obj, ".BTF", tmp_path))
    return btf, BTFExt.parse(dump_section(obj, ".BTF.ext", tmp_path), btf)


@pytest.fixture(params=["bpfel", "bpfeb"])
def ext_obj(request, compile_bpf, require_tools):
    require_tools("llvm-objcopy-19", "llvm-objdump-19", "llvm-readelf-19")
    return compile_bpf("btf_ext.bpf.c", endian=request.param)


def test_core_relos_match_llvm_objdump(ext_obj, tmp_path):
    btf, ext = parsed(ext_obj, tmp_path)
    expected = []
    section = None
    for line in run("llvm-objdump-19", "-dr", ext_obj).stdout.splitlines():
        mo = _SECTION.match(line)
        if mo:
            section = mo.group(1)
            continue
        mo = re.match(r"^\s+([0-9a-f]{16}):\s+CO-RE <(\w+)> \[(\d+)\] (.*)$", line)
        if mo:
            off, kind, tid, spec = mo.groups()
            access = re.search(r"\(([\d:]+)\)$", spec)
            expected.append((section, int(off, 16), _LLVM_KIND[kind], int(tid), access.group(1) if access else None))
    got = []
    for sec, relos in ext.core_relos.items():
        for r in relos:
            field_kind = r.kind <= CoreReloKind.FIELD_RSHIFT_U64
            got.append((sec, r.insn_off, r.kind, r.type_id, r.access_str if field_kind else None))
    assert sorted(got) == sorted(expected)
    assert {k for _, _, k, _, _ in got} == set(CoreReloKind)  # the fixture exercises every kind
    assert ext.core_relo_rec_size == 16
    for relos in ext.core_relos.values():
        for r in relos:
            if r.kind in (CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE):
                assert btf.kind_of(r.type_id) == Kind.ENUM
                assert r.kind_name.startswith("ENUMVAL")


def test_line_info_matches_llvm_objdump(ext_obj, tmp_path):
    btf, ext = parsed(ext_obj, tmp_path)
    stripped = str(tmp_path / "stripped.o")
    run("llvm-objcopy-19", "--strip-debug", ext_obj, stripped)
    expected = []
    section = None
    pending: list[str] = []
    for line in run("llvm-objdump-19", "-d", "-S", "-l", stripped).stdout.splitlines():
        mo = _SECTION.match(line)
        if mo:
            section, pending = mo.group(1), []
            continue
        if line.startswith("; "):
            pending.append(line[2:])
            continue
        mo = _INSN.match(line)
        if mo and pending:
            pos = [p for p in pending if re.match(r"^/.*:\d+$", p)]
            text = [p for p in pending if p not in pos]
            file, lineno = pos[-1].rsplit(":", 1) if pos else ("", "0")
            expected.append((section, int(mo.group(1)), file, int(lineno), text[-1] if text else ""))
            pending = []
    # llvm-objdump prints a record only where (file, line) differs from what the previous
    # instruction had (its own record, or nothing): apply the same display rule to ours.
    got = []
    for sec, infos in ext.line_info.items():
        at = {li.insn: li for li in infos}
        for li in infos:
            prev = at.get(li.insn - 1)
            if prev is None or (prev.file_name, prev.line) != (li.file_name, li.line):
                got.append((sec, li.insn, li.file_name, li.line, li.line_text))
    assert got and sorted(got) == sorted(expected)
    assert ext.line_info_rec_size == 16


def test_func_info_names_the_symbol_at_each_offset(ext_obj, tmp_path):
    btf, ext = parsed(ext_obj, tmp_path)
    sections = {}
    for line in run("llvm-readelf-19", "-S", "-W", ext_obj).stdout.splitlines():
        mo = re.match(r"^\s+\[\s*(\d+)\]\s+(\S+)", line)
        if mo:
            sections[mo.group(1)] = mo.group(2)
    funcs = set()
    for line in run("llvm-readelf-19", "-s", "-W", ext_obj).stdout.splitlines():
        cols = line.split()
        if len(cols) >= 8 and cols[3] == "FUNC":
            funcs.add((sections[cols[6]], int(cols[1], 16), cols[7]))
    got = set()
    for sec, infos in ext.func_info.items():
        for fi in infos:
            assert btf.kind_of(fi.type_id) == Kind.FUNC
            got.add((sec, fi.insn_off, btf.name_of(fi.type_id)))
    assert got == funcs
    assert {"helper", "global_helper", "handle_open", "handle_xdp"} == {n for _, _, n in got}


def _regrow(raw: bytes, endian: str, extra: int) -> bytes:
    """The same .BTF.ext with every record ``extra`` bytes longer (zero tail), as a future
    format version could write it."""
    e = "<" if endian == "bpfel" else ">"
    _, _, _, hdr_len = struct.unpack_from(e + "HBBI", raw, 0)
    offs = struct.unpack_from(e + "IIIIII", raw, 8)
    blocks = []
    for off, ln in zip(offs[0::2], offs[1::2]):
        start, end = hdr_len + off, hdr_len + off + ln
        rec = struct.unpack_from(e + "I", raw, start)[0]
        out = bytearray(struct.pack(e + "I", rec + extra))
        p = start + 4
        while p < end:
            name, n = struct.unpack_from(e + "II", raw, p)
            out += struct.pack(e + "II", name, n)
            p += 8
            for _ in range(n):
                out += raw[p:p + rec] + bytes(extra)
                p += rec
        blocks.append(bytes(out))
    header = bytearray(raw[:hdr_len])
    pos = 0
    for i, blk in enumerate(blocks):
        struct.pack_into(e + "II", header, 8 + 8 * i, pos, len(blk))
        pos += len(blk)
    return bytes(header) + b"".join(blocks)


def test_larger_record_sizes_are_honoured(ext_obj, tmp_path):
    endian = "bpfeb" if "bpfeb" in open(ext_obj, "rb").read(6).hex() else None
    btf, ext = parsed(ext_obj, tmp_path)
    raw = dump_section(ext_obj, ".BTF.ext", tmp_path)
    grown = BTFExt.parse(_regrow(raw, "bpfel" if btf.endian == "<" else "bpfeb", 8), btf)
    assert grown.func_info == ext.func_info and grown.line_info == ext.line_info
    assert grown.core_relos == ext.core_relos
    assert (grown.func_info_rec_size, grown.line_info_rec_size, grown.core_relo_rec_size) == (16, 24, 24)
    del endian


def _ext(*blocks: bytes, hdr_len: int = 32, e: str = "<", flags: int = 0, magic: int = 0xEB9F) -> bytes:
    offs, pos, body = [], 0, b""
    for blk in blocks:
        offs += [pos, len(blk)]
        pos += len(blk)
        body += blk
    offs += [0, 0] * (3 - len(blocks))
    hdr = struct.pack(e + "HBBI", magic, 1, flags, hdr_len) + struct.pack(e + "6I", *offs)[:hdr_len - 8]
    return hdr + body


@pytest.mark.parametrize("blob, words", [
    (b"\x9f\xeb", ["truncated"]),
    (_ext(magic=0x1234), ["magic"]),
    (_ext(flags=1), ["flags"]),
    (_ext(hdr_len=16), ["hdr_len"]),
    (_ext(hdr_len=200), ["hdr_len", "past the end"]),
    (_ext(struct.pack("<I", 4)), ["record size 4"]),
    (_ext(struct.pack("<I", 10)), ["record size 10"]),
    (_ext(struct.pack("<III", 8, 0, 0)), ["no records"]),
    (_ext(struct.pack("<IIII", 8, 0, 5, 1)), ["past the end of the block"]),
    (_ext(struct.pack("<III", 8, 0, 1)), ["past the end of the block"]),
    (_ext(struct.pack("<II", 8, 0)), ["truncated"]),
    (_ext(b"\0\0"), ["too short"]),
])
def test_malformed_ext(blob, words):
    with pytest.raises(BTFError) as info:
        BTFExt.parse(blob)
    for w in words:
        assert w in str(info.value)


def test_unaligned_block_offset_and_bad_strings():
    blob = bytearray(_ext(struct.pack("<IIIII", 8, 0, 1, 0, 0)))
    struct.pack_into("<I", blob, 8, 2)  # func_info_off = 2
    with pytest.raises(BTFError, match="aligned"):
        BTFExt.parse(bytes(blob))
    btf = BTF.parse(struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, 1) + b"\0")
    with pytest.raises(BTFError, match="string offset 99"):
        BTFExt.parse(_ext(struct.pack("<IIIII", 8, 99, 1, 0, 0)), btf)
    ext = BTFExt.parse(_ext(struct.pack("<IIIII", 8, 99, 1, 0, 0)))
    assert ext.func_info == {"#99": [(0, 0)]}


def test_from_elf_reads_the_same_sections(ext_obj, tmp_path):
    btf, ext = parsed(ext_obj, tmp_path)
    from_path = BTF.from_elf(ext_obj)
    with open(ext_obj, "rb") as f:
        from_bytes = BTF.from_elf(f.read())
    assert bytes(from_path.raw) == bytes(btf.raw) == bytes(from_bytes.raw)
    ext2 = BTFExt.from_elf(ext_obj)
    assert ext2 is not None
    assert (ext2.func_info, ext2.line_info, ext2.core_relos) == (ext.func_info, ext.line_info, ext.core_relos)
    stripped = str(tmp_path / "noext.o")
    run("llvm-objcopy-19", "--remove-section=.BTF.ext", "--remove-section=.rel.BTF.ext", ext_obj, stripped)
    assert BTFExt.from_elf(stripped) is None
    with pytest.raises(BTFError, match="not a readable ELF"):
        BTF.from_elf(b"\x7fELF" + bytes(10))
    nobtf = str(tmp_path / "nobtf.o")
    run("llvm-objcopy-19", "--remove-section=.BTF", "--remove-section=.rel.BTF", ext_obj, nobtf)
    with pytest.raises(BTFError, match="no .BTF section"):
        BTF.from_elf(nobtf)
