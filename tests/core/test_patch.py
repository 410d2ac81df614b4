"""Instruction patching checked with independent tools, no kernel needed.

The relocated programs are written back into a copy of the object and disassembled by
llvm-objdump-19; the offsets and sizes it shows must be the target's field layout as bpftool
reads it from the target BTF, and poisoned instructions must read ``call 0xbad2310``.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from pybpf.core import POISON_IMM

from .harness import load_target, run_pybpf
from .objfile import patched_copy

def disassemble(path: str) -> dict[str, dict[int, str]]:
    """program name -> instruction index -> llvm-objdump text."""
    out = subprocess.run(["llvm-objdump-19", "-d", "--no-show-raw-insn", path], capture_output=True, text=True,
                         check=True).stdout
    progs: dict[str, dict[int, str]] = {}
    current: dict[int, str] | None = None
    first = 0
    for line in out.splitlines():
        mt = re.match(r"^([0-9a-f]+) <(\w+)>:$", line)
        if mt:
            current = progs.setdefault(mt.group(2), {})
            first = int(mt.group(1), 16) // 8  # objdump numbers instructions within the section
            continue
        mt = re.match(r"^\s*(\d+):\s+(.*)$", line)
        if mt and current is not None:
            current[int(mt.group(1)) - first] = mt.group(2).strip()
    return progs


def write_back(pb, src: str, dst: str) -> str:
    edits = []
    for prog in pb.obj.programs:
        sec = pb.obj.sections[prog.section]
        data = pb.insns[prog.name]
        edits.append((sec.offset + prog.first_insn * 8, f"{len(data)}s", data))
    return patched_copy(src, dst, edits)


def target_members(path: str, struct_name: str) -> dict[str, tuple[int, int]]:
    """bpftool's view of a target struct: member -> (byte offset, byte size of its type)."""
    types = json.loads(subprocess.run(["bpftool", "btf", "dump", "file", path, "-j"], capture_output=True,
                                      text=True, check=True).stdout)["types"]
    by_id = {t["id"]: t for t in types}

    def size(tid: int) -> int:
        t = by_id[tid]
        if t["kind"] == "PTR":
            return 8
        if t["kind"] == "ARRAY":
            return t["nr_elems"] * size(t["type_id"])
        if "size" in t:
            return t["size"]
        return size(t["type_id"])

    st = next(t for t in types if t["name"] == struct_name and t["kind"] == "STRUCT")
    return {m["name"]: (m["bits_offset"] // 8, size(m["type_id"])) for m in st["members"]}


SIZE_NAMES = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}


def test_loads_and_stores_hit_the_target_fields(compile_bpf, core_target, require_tools, tmp_path):
    require_tools("llvm-objdump-19", "bpftool")
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_resized")
    pb = run_pybpf(obj, load_target(tgt))
    patched = disassemble(write_back(pb, obj, str(tmp_path / "patched.o")))
    layout = target_members(tgt, "core_sample")
    checked = 0
    for e in pb.explanations:
        if e.prog_name != "core_direct_access" or e.poisoned or not e.patch or "LDX/ST/STX" not in e.patch[0]:
            continue
        field = e.local_spec.split(" (")[0].rsplit(".", 1)[-1]
        if field not in layout:
            continue
        off, size = layout[field]
        text = patched["core_direct_access"][e.insn_idx]
        assert f"*({SIZE_NAMES[size]} *)" in text and f"+ 0x{off:x})" in text, (field, text)
        checked += 1
    assert checked >= 3


def test_poisoned_instructions_are_calls_to_0xbad2310(compile_bpf, core_target, require_tools, tmp_path):
    require_tools("llvm-objdump-19")
    obj = compile_bpf("core_fields.bpf.c")
    pb = run_pybpf(obj, load_target(core_target("core_enums")))
    patched = disassemble(write_back(pb, obj, str(tmp_path / "patched.o")))
    original = disassemble(obj)
    poisoned = [e for e in pb.explanations if e.poisoned]
    assert any(e.kind == 11 for e in poisoned)  # an enum value load (64-bit immediate)
    for e in poisoned:
        text = patched[e.prog_name][e.insn_idx]
        assert text == f"call 0x{POISON_IMM:x}", text
        if "= " in original[e.prog_name][e.insn_idx] and " ll" in original[e.prog_name][e.insn_idx]:
            # both halves of the 64-bit load: objdump shows the second as its own call
            assert patched[e.prog_name][e.insn_idx + 1] == f"call 0x{POISON_IMM:x}"


def test_immediates_become_target_offsets(compile_bpf, core_target, require_tools, tmp_path):
    require_tools("llvm-objdump-19", "bpftool")
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_moved")
    pb = run_pybpf(obj, load_target(tgt))
    patched = disassemble(write_back(pb, obj, str(tmp_path / "patched.o")))
    layout = target_members(tgt, "core_sample")
    checked = 0
    for e in pb.explanations:
        if e.prog_name != "core_field_info" or e.kind_name != "byte_sz" or e.poisoned:
            continue
        field = e.local_spec.split(" (")[0].rsplit(".", 1)[-1]
        if field in layout and "[" not in field:
            text = patched["core_field_info"][e.insn_idx]
            assert text.endswith(f"= 0x{layout[field][1]:x}") or text.endswith(f"= {layout[field][1]}"), text
            checked += 1
    assert checked >= 3


def _with_types(src: str, types_src: str) -> str:
    start = src.index("#pragma clang attribute push")
    end = src.index("#pragma clang attribute pop")
    return (src[:start] + "#pragma clang attribute push (__attribute__((preserve_access_index)), "
            "apply_to = record)\n" + types_src + "\n" + src[end:])


@pytest.mark.parametrize("endian", ["bpfel", "bpfeb"])
@pytest.mark.parametrize("target", ["core_moved", "core_bitfields"])
def test_clang_agrees_with_the_relocated_values(compile_bpf, core_target, endian, target):
    """Relocating the program written against the old layout must give the values clang itself
    emits when the same program is compiled against the target layout (both byte orders, so
    bitfield shifts are checked for big-endian objects too)."""
    from pathlib import Path

    from pybpf.core.insn import read_insn

    from .harness import TARGETS_DIR
    from .objfile import read_object

    src = (Path(__file__).parent.parent / "progs" / "core_fields.bpf.c").read_text()
    # Lines clang cannot compile against every target (a shift of a 16-byte struct, stores
    # into what became a bitfield) are left out of both versions.
    skip = ("s->in, BPF_FIELD_LSHIFT_U64", "s->c = ", "BPF_CORE_READ(s, c)", "SINK(s->c)")
    src = "\n".join(line for line in src.splitlines() if not any(k in line for k in skip))
    own_types = src[src.index("#pragma clang attribute push"):src.index("#pragma clang attribute pop")]
    old_src = _with_types(src, own_types.split("\n", 1)[1])
    new_src = _with_types(src, (Path(TARGETS_DIR) / f"{target}.c").read_text())
    old = compile_bpf(source=old_src, name="core_fields_old", endian=endian)
    new = compile_bpf(source=new_src, name=f"core_fields_{target}", endian=endian)
    pb = run_pybpf(old, load_target(core_target(target, endian)))
    assert pb.error is None
    e = "<" if endian == "bpfel" else ">"
    new_insns = {p.name: p.insns for p in read_object(new).programs}
    compared = 0
    groups: dict[tuple[str, str], dict[int, tuple[int, int]]] = {}
    for prog in pb.obj.programs:
        ours = pb.insns[prog.name]
        theirs = new_insns[prog.name]
        assert len(ours) == len(theirs)
        for ex in pb.explanations:
            if ex.prog_name != prog.name or ex.poisoned or ex.kind in (6, 7):
                continue
            a = read_insn(ours, ex.insn_idx, e)
            b = read_insn(theirs, ex.insn_idx, e)
            if not ex.result.validate:
                # Bitfield offset/size/left shift: libbpf and clang may pick different loads
                # (libbpf does not validate them); compared below by the bits they select.
                groups.setdefault((prog.name, ex.local_spec.split("<", 1)[1].split(">", 1)[1]), {})[ex.kind] = (
                    a.imm, b.imm)
                continue
            assert (a.code, a.off, a.imm) == (b.code, b.off, b.imm), (prog.name, ex.render())
            compared += 1
    assert compared > 50

    def selected_bits(byte_off: int, byte_sz: int, lshift: int, rshift: int) -> tuple[int, int]:
        """(bit offset in the struct, width) of the bits a load + shifts extract."""
        if endian == "bpfel":
            return byte_off * 8 + rshift - lshift, 64 - rshift
        return byte_off * 8 + lshift - (8 - byte_sz) * 8, 64 - rshift

    full = 0
    for key, kinds in groups.items():
        if not {0, 1, 4} <= set(kinds):
            continue
        rshift = next(ex for ex in pb.explanations if ex.kind == 5 and ex.local_spec.endswith(key[1])).result.new_val
        ours = selected_bits(kinds[0][0], kinds[1][0], kinds[4][0], rshift)
        clang = selected_bits(kinds[0][1], kinds[1][1], kinds[4][1], rshift)
        assert ours == clang, (key, kinds, rshift)
        full += 1
    assert full >= 4
