"""``pybpf object disasm`` against ``llvm-objdump-19 -d`` on compiled objects."""

from __future__ import annotations

import json

import pytest

from pybpf.cli.object import disassemble_object

from .oracle import code_sections, objdump

FLAGS = [
    ((), {}),
    (("-r",), {"relocs": True}),
    (("--mcpu=v3",), {"mcpu": "v3"}),
    (("-r", "--mcpu=v4", "-z"), {"relocs": True, "mcpu": "v4", "zeroes": True}),
    (("-j", ".data", "-j", "xdp"), {"sections": [".data", "xdp"]}),
    (("-j", ".maps"), {"sections": [".maps"]}),
]


@pytest.fixture(scope="module")
def objects(compile_bpf):
    return [compile_bpf("asm_isa.bpf.c", mcpu="v1"),
            compile_bpf("asm_isa.bpf.c", mcpu="v4"),
            compile_bpf("asm_isa.bpf.c", mcpu="v3", endian="bpfeb"),
            compile_bpf("asm_inline.bpf.c", mcpu="v4"),
            compile_bpf("asm_xlated.bpf.c", mcpu="v3")]


@pytest.mark.parametrize("flags,kwargs", FLAGS)
def test_matches_llvm_objdump(require_tools, objects, flags, kwargs):
    require_tools("clang-19", "llvm-objdump-19")
    for path in objects:
        if kwargs.get("sections") and not all(_has_section(path, s) for s in kwargs["sections"]):
            continue
        assert disassemble_object(path, **kwargs) == objdump(path, "-d", *flags), (path, flags)


def _has_section(path: str, name: str) -> bool:
    from pybpf.elf import ELFFile

    with ELFFile.open(path) as elf:
        return elf.section_by_name(name) is not None


def test_command_line(require_tools, run_pybpf, objects):
    require_tools("clang-19", "llvm-objdump-19")
    path = objects[1]
    assert run_pybpf("object", "disasm", path, "-r").stdout == objdump(path, "-d", "-r")
    assert (run_pybpf("object", "disasm", path, "section", "xdp", "mcpu", "v4").stdout
            == objdump(path, "-d", "-j", "xdp", "--mcpu=v4"))

    doc = json.loads(run_pybpf("-j", "object", "disasm", path, "--mcpu=v4").stdout)
    byteorder, sections = code_sections(path)
    assert [s["name"] for s in doc] == [s.name for s in sections]
    for sec_json, sec in zip(doc, sections):
        assert b"".join(bytes.fromhex(r["bytes"]) for r in sec_json["insns"]) == sec.data
        relocs = {r["offset"]: r["relocation"]["symbol"] for r in sec_json["insns"]
                  if "relocation" in r}
        assert relocs == {o: s for o, _, s in sec.relocations}
        funcs = {n: v for n, v, t in sec.symbols if t == 2}
        for name, value in funcs.items():
            [row] = [r for r in sec_json["insns"] if r["offset"] == value]
            assert row["symbol"] == name

    proc = run_pybpf("object", "disasm", path, "section", "nope", check=False)
    assert proc.returncode != 0 and "no section named 'nope'" in proc.stderr
    proc = run_pybpf("object", "disasm", "/nonexistent.o", check=False)
    assert proc.returncode != 0 and "Error:" in proc.stderr
