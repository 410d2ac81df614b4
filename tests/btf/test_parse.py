"""The raw BTF parser, checked against bpftool's own decoding of the same bytes."""

from __future__ import annotations

import json
import struct
import subprocess

import pytest

from pybpf.btf import BTF, Kind
from pybpf.errors import BTFError

from .bpftool_json import as_bpftool

VMLINUX = "/sys/kernel/btf/vmlinux"


def bpftool_json(path: str) -> list[dict]:
    out = subprocess.run(["bpftool", "btf", "dump", "file", path, "-j"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["types"]


def dump_btf_section(obj: str, tmp_path) -> bytes:
    out = tmp_path / "btf.raw"
    subprocess.run(["llvm-objcopy-19", f"--dump-section=.BTF={out}", obj, str(tmp_path / "x.o")],
                   check=True)
    return out.read_bytes()


@pytest.mark.kernel
def test_vmlinux_every_type_matches_bpftool(require_tools):
    require_tools("bpftool")
    expected = bpftool_json(VMLINUX)
    with open(VMLINUX, "rb") as f:
        btf = BTF.parse(f.read())
    assert len(btf) - 1 == len(expected)
    kinds_seen = set()
    for exp in expected:
        got = as_bpftool(btf, btf[exp["id"]])
        assert got == exp
        kinds_seen.add(exp["kind"])
    # vmlinux exercises most kinds; the object fixture below covers the rest.
    assert {"STRUCT", "UNION", "ENUM", "ENUM64", "FUNC_PROTO", "DATASEC", "DECL_TAG"} <= kinds_seen


@pytest.mark.parametrize("endian", ["bpfel", "bpfeb"])
def test_object_btf_matches_bpftool_both_byte_orders(compile_bpf, require_tools, tmp_path, endian):
    require_tools("bpftool", "llvm-objcopy-19")
    obj = compile_bpf("btf_kinds.bpf.c", endian=endian, mcpu="v3")
    raw = dump_btf_section(obj, tmp_path)
    btf = BTF.parse(raw)
    assert btf.endian == ("<" if endian == "bpfel" else ">")
    expected = bpftool_json(obj)
    assert [as_bpftool(btf, t) for t in btf.types()] == expected
    kinds = {t.kind for t in btf.types()}
    assert {Kind.INT, Kind.PTR, Kind.ARRAY, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64,
            Kind.FWD, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.FUNC,
            Kind.FUNC_PROTO, Kind.VAR, Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG,
            Kind.TYPE_TAG} <= kinds


def test_layout_helpers_agree_with_clang(compile_bpf, require_tools, tmp_path):
    """sizeof/alignof/offsetof from clang itself, compiled into .rodata, vs our resolution."""
    require_tools("llvm-objcopy-19", "llvm-readelf-19")
    src = open(__file__.replace("test_parse.py", "../progs/btf_kinds.bpf.c")).read()
    src += """
struct holder_nopack { char c; struct bits b; long l; };
const volatile unsigned long long layout[] = {
    sizeof(struct bits), _Alignof(struct bits), sizeof(union anon_holder),
    _Alignof(union anon_holder), sizeof(struct holder), _Alignof(struct holder),
    sizeof(struct holder_nopack), _Alignof(struct holder_nopack),
    __builtin_offsetof(union anon_holder, y), __builtin_offsetof(struct holder, matrix),
};
struct holder_nopack nopack_var;
"""
    obj = compile_bpf(source=src, name="btf_layout")
    btf = BTF.parse(dump_btf_section(obj, tmp_path))
    rodata = tmp_path / "rodata.bin"
    subprocess.run(["llvm-objcopy-19", f"--dump-section=.rodata={rodata}", obj, str(tmp_path / "y.o")],
                   check=True)
    raw = rodata.read_bytes()
    # clang leaves DATASEC offsets 0 (libbpf fixes them up from symbols): ask the symbol table.
    syms = subprocess.run(["llvm-readelf-19", "-s", obj], capture_output=True, text=True, check=True)
    off = next(int(line.split()[1], 16) for line in syms.stdout.splitlines()
               if line.split()[-1:] == ["layout"])
    vals = struct.unpack_from("<10Q", raw, off)
    bits = btf.find_one("bits", Kind.STRUCT)
    anon = btf.find_one("anon_holder", Kind.UNION)
    holder = btf.find_one("holder", Kind.STRUCT)
    nopack = btf.find_one("holder_nopack", Kind.STRUCT)
    ours = [
        btf.resolve_size(bits), btf.alignment(bits), btf.resolve_size(anon), btf.alignment(anon),
        btf.resolve_size(holder), btf.alignment(holder), btf.resolve_size(nopack), btf.alignment(nopack),
    ]
    path = btf.member_path(anon, "y")
    assert path is not None and [mem.name for _, mem in path] == ["", "", "y"]
    ours.append(sum(mem.bit_offset for _, mem in path) // 8)
    matrix = btf.member_path(holder, "matrix")
    assert matrix is not None
    ours.append(matrix[-1][1].bit_offset // 8)
    assert ours == list(vals)


def _header(magic=0xEB9F, version=1, flags=0, hdr_len=24, type_off=0, type_len=0, str_off=0, str_len=1):
    return struct.pack("<HBBIIIII", magic, version, flags, hdr_len, type_off, type_len, str_off, str_len)


def _int_type(name_off=0, size=4, bits=32):
    return struct.pack("<IIII", name_off, 1 << 24, size, bits)


@pytest.mark.parametrize(
    "blob, words",
    [
        (b"\x9f\xeb\x01", ["truncated"]),
        (_header(magic=0x1234) + b"\0", ["magic"]),
        (_header(version=2) + b"\0", ["version"]),
        (_header(hdr_len=4) + b"\0", ["hdr_len"]),
        (_header(str_len=50) + b"\0", ["string section", "past the end"]),
        (_header(type_len=12, str_off=12) + struct.pack("<III", 0, 25 << 24, 0) + b"\0",
         ["unknown kind 25", "type id 1"]),
        (_header(type_len=12, str_off=12) + struct.pack("<III", 0, (4 << 24) | 3, 8) + b"\0",
         ["past the end", "type id 1"]),
        (_header(type_len=16, str_off=16, str_len=2) + _int_type() + b"a\0", ["NUL"]),
    ],
)
def test_malformed_headers_and_records(blob, words):
    with pytest.raises(BTFError) as info:
        BTF.parse(blob)
    for w in words:
        assert w in str(info.value)


def test_bad_references_are_reported_on_access():
    # type 1: PTR to type 7 (does not exist); type 2: INT with a name past the strings
    types = struct.pack("<III", 0, 2 << 24, 7) + _int_type(name_off=99)
    blob = _header(type_len=len(types), str_off=len(types)) + types + b"\0"
    btf = BTF.parse(blob)
    assert len(btf) == 3
    with pytest.raises(BTFError, match=r"type id 1 .*refers to type id 7"):
        btf[1]
    with pytest.raises(BTFError, match=r"type id 2 .*string offset 99 out of range"):
        btf[2]
    with pytest.raises(BTFError, match="out of range"):
        btf[3]


def test_forward_declared_enum_matches_bpftool(compile_bpf, require_tools, tmp_path):
    """``enum empty_fwd_enum;`` is emitted by clang as an ENUM of size 0 without values; bpftool
    (libbpf) takes it, and so must the parser: the whole object decodes as bpftool lists it."""
    require_tools("bpftool", "llvm-objcopy-19")
    from pybpf.btf.dump_raw import dump_json, dump_raw

    obj = compile_bpf("btf_c_decls.bpf.c")
    btf = BTF.parse(dump_btf_section(obj, tmp_path))
    expected = bpftool_json(obj)
    fwd = next(t for t in expected if t["name"] == "empty_fwd_enum")
    assert (fwd["kind"], fwd["size"], fwd["vlen"]) == ("ENUM", 0, 0)
    assert [as_bpftool(btf, t) for t in btf.types()] == expected
    t = btf[fwd["id"]]
    assert (t.kind, t.size, t.values) == (Kind.ENUM, 0, ())
    text = subprocess.run(["bpftool", "btf", "dump", "file", obj], capture_output=True, text=True,
                          check=True).stdout
    assert dump_raw(btf) == text
    assert dump_json(btf) == subprocess.run(["bpftool", "btf", "dump", "file", obj, "-j"], capture_output=True,
                                            text=True, check=True).stdout


def test_forward_declared_enum64_matches_bpftool(require_tools, tmp_path):
    """The same for ENUM64 of size 0 without values; with values, size 0 stays an error."""
    require_tools("bpftool")
    from .test_dump_c_fuzz import ENUM64, PTR, RawBTF, info

    raw = RawBTF()
    raw.add([raw.s("fwd64"), info(ENUM64, 0, 1), 0])  # [1] signed enum64, no values, size 0
    raw.add([0, info(PTR), 1])                          # [2] pointer to it
    path = tmp_path / "fwd64.btf"
    path.write_bytes(raw.encode())
    btf = BTF.parse(raw.encode())
    assert [as_bpftool(btf, t) for t in btf.types()] == bpftool_json(str(path))
    assert (btf[1].kind, btf[1].size, btf[1].values) == (Kind.ENUM64, 0, ())
    bad = RawBTF()
    bad.add([bad.s("e"), info(ENUM64, 1), 0, bad.s("A"), 1, 0])
    with pytest.raises(BTFError, match="invalid size 0"):
        BTF.parse(bad.encode())[1]
