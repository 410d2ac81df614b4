"""The BTF builder/writer: bytes it writes must read back, in bpftool, as the types meant."""

from __future__ import annotations

import os
import struct

import pytest

from pybpf.btf import BTF, IntEncoding, Kind, Linkage, model as m
from pybpf.btf.builder import BTFBuilder
from pybpf.errors import BTFError

from .bpftool_json import as_bpftool
from .helpers import VMLINUX, bpftool, bpftool_types, btf_from_bpftool, dump_section


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("prog", ["btf_kinds.bpf.c", "btf_values.bpf.c"])
def test_object_btf_rewritten_dumps_identically(compile_bpf, require_tools, tmp_path, endian, prog):
    require_tools("bpftool", "llvm-objcopy-19")
    obj = compile_bpf(prog)
    original = BTF.parse(dump_section(obj, ".BTF", tmp_path))
    raw = BTFBuilder.from_btf(original).encode(endian)
    assert raw[:2] == (b"\x9f\xeb" if endian == "<" else b"\xeb\x9f")
    out = tmp_path / "rewritten.btf"
    out.write_bytes(raw)
    assert bpftool("btf", "dump", "file", str(out)) == bpftool("btf", "dump", "file", obj)
    assert bpftool("-j", "btf", "dump", "file", str(out)) == bpftool("-j", "btf", "dump", "file", obj)


def test_vmlinux_rewritten_dumps_identically(require_tools, tmp_path):
    require_tools("bpftool")
    if not os.path.exists(VMLINUX):
        from ..conftest import skip_or_fail

        skip_or_fail("kernel has no BTF")
    with open(VMLINUX, "rb") as f:
        original = BTF.parse(f.read())
    out = tmp_path / "vmlinux.btf"
    out.write_bytes(BTFBuilder.from_btf(original).encode())
    assert bpftool("btf", "dump", "file", str(out)) == bpftool("btf", "dump", "file", VMLINUX)


def build_every_kind(b: BTFBuilder) -> None:
    i32 = b.add_int("int", 4, IntEncoding.SIGNED)
    u8 = b.add_int("unsigned char", 1)
    ch = b.add_int("char", 1, IntEncoding.CHAR)
    bl = b.add_int("_Bool", 1, IntEncoding.BOOL)
    odd = b.add_int("odd", 8, 0, bits=12, offset=4)
    ptr = b.add_ptr(0)
    arr = b.add_array(ch, i32, 16)
    fwd = b.add_fwd("later", union=True)
    s = b.add_struct("rec", 32, [("a", i32, 0), ("bits", u8, 32, 3), ("more", u8, 35, 5), ("", b.next_id + 1, 64),
                                  ("name", arr, 128)])
    b.add_union("", 8, [("x", i32, 0), ("y", ptr, 0)])
    b.add_enum("signed_e", 4, [("A", -1), ("B", 0x7FFFFFFF)])
    b.add_enum("unsigned_e", 4, [("C", 0xFFFFFFFF), ("D", 0)])
    b.add_enum("small_e", 1, [("E", 3)])
    b.add_enum64("wide", 8, [("W", 1 << 63), ("X", 5)])
    b.add_enum64("swide", 8, [("Y", -(1 << 62))])
    td = b.add_typedef("rec_t", s)
    cv = b.add_const(b.add_volatile(b.add_restrict(b.add_ptr(td))))
    tag = b.add_type_tag("user", cv)
    proto = b.add_func_proto(i32, [("r", b.add_ptr(s)), ("flag", bl), ("", 0)])
    fn = b.add_func("entry", proto, Linkage.GLOBAL)
    b.add_func("helper", b.add_func_proto(0, []), Linkage.STATIC)
    var = b.add_var("counter", i32, Linkage.GLOBAL)
    svar = b.add_var("hidden", tag, Linkage.STATIC)
    b.add_datasec(".data", 16, [(var, 0, 4), (svar, 8, 8)])
    b.add_float("double", 8)
    b.add_decl_tag("kfunc", fn, -1)
    b.add_decl_tag("arg", fn, 1)
    b.add_ptr(fwd)
    b.add_int("__int128", 16, IntEncoding.SIGNED)
    b.add_type(m.Struct(0, "empty", 0, ()))
    del odd


@pytest.mark.parametrize("endian", ["<", ">"])
def test_every_kind_reads_back_in_bpftool(require_tools, tmp_path, endian):
    """bpftool's decoding of the builder's bytes equals the types the builder was given."""
    require_tools("bpftool")
    b = BTFBuilder()
    build_every_kind(b)
    out = tmp_path / "built.btf"
    out.write_bytes(b.encode(endian))
    meant = [as_bpftool(b, t) for t in b.types]  # type: ignore[arg-type]
    assert bpftool_types("file", str(out)) == meant
    assert {t.kind for t in b.types} == set(Kind) - {Kind.UNKN}


def test_strings_are_deduplicated_and_layout_is_libbpf_s():
    b = BTFBuilder()
    build_every_kind(b)
    raw = b.encode("<")
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", raw)
    assert (magic, version, flags, hdr_len, type_off, str_off) == (0xEB9F, 1, 0, 24, 0, type_len)
    assert len(raw) == 24 + type_len + str_len
    strings = raw[24 + str_off:].split(b"\0")[:-1]
    assert strings[0] == b"" and len(strings) == len(set(strings))
    btf = BTF.parse(raw)
    assert [t.name for t in btf.types()] == [t.name for t in b.types]


def test_bpftool_json_round_trip_through_builder(compile_bpf, require_tools, tmp_path):
    """Types rebuilt from bpftool's JSON listing dump to the same listing."""
    require_tools("bpftool")
    obj = compile_bpf("btf_values.bpf.c")
    types = bpftool_types("file", obj)
    btf = btf_from_bpftool(types)
    assert [as_bpftool(btf, t) for t in btf.types()] == types


def test_builder_errors():
    b = BTFBuilder()
    b.add_ptr(5)
    with pytest.raises(BTFError, match="unknown type id 5"):
        b.encode()
    b = BTFBuilder()
    b.add_int("bad", 3)
    with pytest.raises(BTFError, match="INT 'bad'"):
        b.encode()
    b = BTFBuilder()
    b.add_enum("e", 4, [("BIG", 1 << 40)])
    with pytest.raises(BTFError, match="does not fit 32 bits"):
        b.encode()
    b = BTFBuilder()
    b.add_int("a\0b", 4)
    with pytest.raises(BTFError, match="NUL"):
        b.encode()
    with pytest.raises(BTFError, match="byte order"):
        BTFBuilder().encode("x")


def test_split_builder_continues_ids_and_strings():
    base = BTFBuilder()
    i32 = base.add_int("int", 4, IntEncoding.SIGNED)
    base.add_struct("shared_name", 4, [("v", i32, 0)])
    base_btf = base.build()
    split = BTFBuilder(base_btf)
    p = split.add_ptr(i32)
    s = split.add_struct("shared_name", 8, [("p", p, 0)])
    raw = split.encode()
    btf = BTF.parse(raw, base=base_btf)
    assert (p, s) == (3, 4) and btf[s].name == "shared_name" and btf[s].members[0].name == "p"
    # "shared_name" comes from the base's strings: the split string section only has "p"
    assert raw[btf._str_start:btf._str_start + btf._str_len] == b"p\0"
    assert btf.find("shared_name") == [2, 4]
