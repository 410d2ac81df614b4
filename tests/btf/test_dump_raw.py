"""Raw text and JSON dumps, byte for byte against bpftool 7.1 on the same input."""

from __future__ import annotations

import difflib
import os

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.dump_raw import dump_json, dump_raw, raw_json

from .helpers import VMLINUX, bpftool, dump_section


def same(expected: str, got: str) -> None:
    if expected != got:
        diff = "\n".join(list(difflib.unified_diff(expected.splitlines(), got.splitlines(), "bpftool", "pybpf",
                                                    lineterm=""))[:40])
        raise AssertionError(f"output differs from bpftool:\n{diff}")


@pytest.fixture(scope="module")
def vmlinux_btf():
    if not os.path.exists(VMLINUX):
        from ..conftest import skip_or_fail

        skip_or_fail("kernel has no BTF (/sys/kernel/btf/vmlinux missing)")
    with open(VMLINUX, "rb") as f:
        return BTF.parse(f.read())


@pytest.mark.parametrize("flags", [[], ["-j"], ["-p"]], ids=["text", "json", "pretty"])
def test_vmlinux_dump_identical(vmlinux_btf, require_tools, flags):
    require_tools("bpftool")
    expected = bpftool(*flags, "btf", "dump", "file", VMLINUX)
    if not flags:
        got = dump_raw(vmlinux_btf)
    else:
        got = dump_json(vmlinux_btf, pretty=flags == ["-p"])
    same(expected, got)


@pytest.mark.parametrize("endian", ["bpfel", "bpfeb"])
@pytest.mark.parametrize("flags", [[], ["-j"], ["-p"]], ids=["text", "json", "pretty"])
@pytest.mark.parametrize("prog", ["btf_kinds.bpf.c", "btf_values.bpf.c", "btf_ext.bpf.c"])
def test_object_dump_identical(compile_bpf, require_tools, tmp_path, endian, flags, prog):
    require_tools("bpftool", "llvm-objcopy-19")
    obj = compile_bpf(prog, endian=endian)
    btf = BTF.parse(dump_section(obj, ".BTF", tmp_path))
    expected = bpftool(*flags, "btf", "dump", "file", obj)
    got = dump_raw(btf) if not flags else dump_json(btf, pretty=flags == ["-p"])
    same(expected, got)


def _split_on_vmlinux(vmlinux: BTF) -> bytes:
    """Split BTF on top of vmlinux touching every kind and reusing base types and strings."""
    b = BTFBuilder(base=vmlinux)
    task = vmlinux.find_one("task_struct", Kind.STRUCT)
    u32 = vmlinux.find_one("u32", Kind.TYPEDEF)
    i32 = vmlinux.find("int", Kind.INT)[0]
    ptr = b.add_ptr(task)
    arr = b.add_array(u32, u32, 16)
    fwd = b.add_fwd("mod_fwd_union", union=True)
    s = b.add_struct("mod_state", 48, [("task", ptr, 0), ("ids", arr, 64), ("flag", i32, 576, 3),
                                        ("sign", i32, 579, 5)])
    b.add_union("", 8, [("p", ptr, 0), ("n", i32, 0)])
    b.add_enum("mod_mode", 4, [("MOD_OFF", 0), ("MOD_NEG", -2), ("MOD_HIGH", 0x7FFFFFFF)])
    b.add_enum("mod_umode", 4, [("MOD_BIG", 0x80000000), ("MOD_ONE", 1)], signed=False)
    b.add_enum64("mod_wide", 8, [("MOD_W", 1 << 40), ("MOD_NW", -(1 << 40))])
    proto = b.add_func_proto(i32, [("state", b.add_ptr(s)), ("", 0)])
    func = b.add_func("mod_entry", proto, 1)
    b.add_decl_tag("mod_tag", func, -1)
    b.add_decl_tag("mod_arg_tag", func, 0)
    var = b.add_var("mod_counter", i32, 1)
    b.add_datasec(".data..mod", 4, [(var, 0, 4)])
    b.add_typedef("mod_state_t", s)
    b.add_type_tag("user", b.add_const(b.add_volatile(b.add_restrict(ptr))))
    b.add_float("mod_float", 8)
    b.add_ptr(fwd)
    return b.encode()


@pytest.mark.parametrize("flags", [[], ["-j"], ["-p"]], ids=["text", "json", "pretty"])
def test_split_btf_identical(vmlinux_btf, require_tools, tmp_path, flags, run_pybpf):
    """Split BTF (as modules have) built on vmlinux: parse and dump like bpftool -B vmlinux."""
    require_tools("bpftool")
    split = tmp_path / "module.btf"
    split.write_bytes(_split_on_vmlinux(vmlinux_btf))
    expected = bpftool(*flags, "-B", VMLINUX, "btf", "dump", "file", str(split))
    btf = BTF.parse(split.read_bytes(), base=vmlinux_btf)
    assert btf.start_id == len(vmlinux_btf)
    got = dump_raw(btf) if not flags else dump_json(btf, pretty=flags == ["-p"])
    same(expected, got)
    # the CLI, with bpftool's -B and with the "base FILE" keyword
    same(expected, run_pybpf(*flags, "-B", VMLINUX, "btf", "dump", "file", str(split)).stdout)
    same(expected, run_pybpf(*flags, "btf", "dump", "file", str(split), "base", VMLINUX).stdout)


def test_split_strings_come_from_base(vmlinux_btf):
    raw = _split_on_vmlinux(vmlinux_btf)
    btf = BTF.parse(raw, base=vmlinux_btf)
    own = raw[btf._str_start:btf._str_start + btf._str_len].split(b"\0")
    # names vmlinux already has ("int", "user", "u32" …) are referenced, not repeated
    assert b"user" not in own and b"mod_state" in own
    assert len(own) == len(set(own))


def test_selected_ids_and_raw_json_value(vmlinux_btf, require_tools):
    """Dumping chosen ids (btf dump map/… root ids) gives bpftool's blocks for those ids."""
    require_tools("bpftool")
    full = bpftool("btf", "dump", "file", VMLINUX)
    blocks: dict[int, str] = {}
    for block in ("\n" + full.rstrip("\n")).split("\n[")[1:]:
        blocks[int(block.split("]", 1)[0])] = "[" + block + "\n"
    ids = [vmlinux_btf.find_one("task_struct", Kind.STRUCT), 1, len(vmlinux_btf) - 1]
    assert dump_raw(vmlinux_btf, ids) == "".join(blocks[i] for i in ids)
    assert [t["id"] for t in raw_json(vmlinux_btf, ids)["types"]] == ids


def test_star_import_names_exist():
    """Every name the module exports exists (``from pybpf.btf.dump_raw import *`` works)."""
    import pybpf.btf.dump_raw as mod

    assert [n for n in mod.__all__ if not hasattr(mod, n)] == []
