"""pybpf's llvm-objdump emulation against llvm-objdump-19 itself.

* Raw sweep: thousands of encodings (valid and invalid: unknown opcodes, reserved fields
  set, registers past r10, truncated LD_IMM64, stray bytes) in one section; the whole
  ``-d -z`` listing must be identical, for ``--mcpu`` generic (no alu32) and v4, in both
  byte orders.
* Compiled objects: tests/progs/asm_*.bpf.c built with clang-19 at -mcpu=v1..v4 (and
  big-endian); ``-d``, ``-d --mcpu=v4`` and ``-d -r`` listings must be identical, and the
  listing must assemble back to the very same section bytes.
"""

from __future__ import annotations

import itertools
import random
import struct

import pytest

from pybpf.asm import (Relocation, Symbol, assemble_sections, decode, disassemble_section,
                       encode, objdump_header)
from pybpf.asm import opcodes as op

from .oracle import BPF_RELOC_NAMES, code_sections, mc_object, objdump

MCPUS = ["v1", "v2", "v3", "v4"]


def _sweep_chunks(seed: int, byteorder: str) -> list[bytes]:
    rnd = random.Random(seed)
    fmt = "<BBhi" if byteorder == "little" else ">BBhi"

    def insn(code: int, dst: int, src: int, off: int, imm: int) -> bytes:
        regs = (src << 4 | dst) if byteorder == "little" else (dst << 4 | src)
        return struct.pack(fmt, code, regs, off, imm)

    dsts = [0, 1, 10, 11, 12, 15]
    srcs = [0, 1, 2, 10, 11, 12]
    offs = [0, 1, -3, 8, 16, 32, 0x7FFF, -0x8000]
    # 0x100/0x110 are load-acquire/store-release, which llvm 19 mis-decodes (see pybpf.asm.llvm).
    imms = [0, 1, -1, 16, 32, 64, 0x7FFFFFFF, -0x80000000, 0x10002, 0x101, 0x111, 0xE1, 0xF1, 0x41]
    combos = list(itertools.product(dsts, srcs, offs, imms))
    chunks = []
    for code in range(256):
        if code == op.LD_IMM64:
            continue
        for d, s, o, i in rnd.sample(combos, 40) + [(1, 2, 0, 0), (1, 2, 1, 0), (1, 2, 8, 0)]:
            chunks.append(insn(code, d, s, o, i))
    for s in range(16):
        for d in (0, 1, 11, 12):
            for off in (0, 1):
                for lo, hi in ((0, 0), (-1, -1), (5, 7), (0x7FFFFFFF, -0x80000000)):
                    chunks.append(insn(op.LD_IMM64, d, s, off, lo) + insn(0, d, s, off, hi))
    rnd.shuffle(chunks)
    # Irregular tails: zero runs (folded to "..." without -z), a truncated LD_IMM64, stray bytes.
    chunks += [bytes(20), insn(0xB7, 0, 0, 0, 1), bytes(4), insn(op.LD_IMM64, 1, 0, 0, 5),
               b"\x00\x00\x00\x00\x05"]
    return chunks


@pytest.mark.parametrize("byteorder,triple", [("little", "bpfel"), ("big", "bpfeb")])
@pytest.mark.parametrize("mcpu", ["generic", "v4"])
@pytest.mark.parametrize("zeroes", [True, False])
def test_raw_sweep_matches_llvm_objdump(require_tools, tmp_path, byteorder, triple, mcpu, zeroes):
    require_tools("llvm-mc-19", "llvm-objdump-19")
    chunks = _sweep_chunks(7, byteorder)
    source = '.section .text,"ax",@progbits\n' + "".join(
        ".byte " + ",".join(str(b) for b in c) + "\n" for c in chunks)
    obj = str(tmp_path / "sweep.o")
    mc_object(source, obj, triple=triple)
    args = ["-d"] + (["-z"] if zeroes else []) + ([f"--mcpu={mcpu}"] if mcpu != "generic" else [])
    expected = objdump(obj, *args)
    data = b"".join(chunks)
    ours = objdump_header(obj) + disassemble_section(
        ".text", data, [], byteorder=byteorder, alu32=mcpu != "generic", zeroes=zeroes)
    _assert_same_text(ours, expected)


def _assert_same_text(ours: str, expected: str) -> None:
    if ours != expected:
        a, b = ours.splitlines(), expected.splitlines()
        for n, (x, y) in enumerate(zip(a, b)):
            if x != y:
                pytest.fail(f"first difference at line {n + 1}:\n  pybpf: {x!r}\n  llvm:  {y!r}")
        pytest.fail(f"lengths differ: pybpf {len(a)} lines, llvm {len(b)} lines")


def _objects(compile_bpf) -> list[tuple[str, str]]:
    out = []
    for mcpu in MCPUS:
        out.append((f"isa-{mcpu}", compile_bpf("asm_isa.bpf.c", mcpu=mcpu)))
    out.append(("isa-v4-be", compile_bpf("asm_isa.bpf.c", mcpu="v4", endian="bpfeb")))
    out.append(("isa-v1-be", compile_bpf("asm_isa.bpf.c", mcpu="v1", endian="bpfeb")))
    out.append(("inline-v4", compile_bpf("asm_inline.bpf.c", mcpu="v4")))
    out.append(("inline-v4-be", compile_bpf("asm_inline.bpf.c", mcpu="v4", endian="bpfeb")))
    return out


def _ours(path: str, *, alu32: bool, relocs: bool) -> str:
    byteorder, sections = code_sections(path)
    text = objdump_header(path)
    for sec in sections:
        text += disassemble_section(
            sec.name, sec.data, [Symbol(n, v, t) for n, v, t in sec.symbols],
            byteorder=byteorder, alu32=alu32,
            relocations=[Relocation(o, BPF_RELOC_NAMES[t], s) for o, t, s in sec.relocations]
            if relocs else None)
    return text


@pytest.mark.parametrize("flags", [(), ("--mcpu=v4",), ("-r",), ("-r", "--mcpu=v3")])
def test_compiled_objects_match_llvm_objdump(require_tools, compile_bpf, flags):
    require_tools("clang-19", "llvm-objdump-19")
    for name, path in _objects(compile_bpf):
        expected = objdump(path, "-d", *flags)
        ours = _ours(path, alu32=any(f.startswith("--mcpu") for f in flags), relocs="-r" in flags)
        try:
            _assert_same_text(ours, expected)
        except pytest.fail.Exception as exc:
            raise AssertionError(f"{name} ({' '.join(flags)}): {exc}") from None


def test_listing_assembles_back_to_section_bytes(require_tools, compile_bpf):
    """disassemble -> assemble is byte-identical (the -r listing carries call relocations)."""
    require_tools("clang-19")
    for name, path in _objects(compile_bpf):
        byteorder, sections = code_sections(path)
        listing = _ours(path, alu32=True, relocs=True)
        assembled = assemble_sections(listing)
        sections = [s for s in sections if s.data]
        assert list(assembled) == [s.name for s in sections], name
        for sec in sections:
            insns = assembled[sec.name]
            assert encode(insns, byteorder) == sec.data, f"{name} {sec.name}"
            # Relocation lines became references on the right instructions.
            refs = {o: s for o, t, s in sec.relocations}
            pos = 0
            for insn in insns:
                if pos in refs:
                    assert insn.reference == refs[pos], f"{name} {sec.name} +{pos}"
                pos += insn.size


def test_compiled_code_decodes_strictly(require_tools, compile_bpf):
    """Everything clang emits is valid ISA; decode/encode is the identity in both orders."""
    require_tools("clang-19")
    for name, path in _objects(compile_bpf):
        byteorder, sections = code_sections(path)
        for sec in sections:
            insns = decode(sec.data, byteorder)
            assert encode(insns, byteorder) == sec.data, name
            other = "big" if byteorder == "little" else "little"
            assert decode(encode(insns, other), other) == insns


def test_fixtures_exercise_the_isa(require_tools, compile_bpf):
    """The fixtures really contain what these tests claim to cover."""
    require_tools("clang-19")
    seen: set[str] = set()
    for name, path in _objects(compile_bpf):
        byteorder, sections = code_sections(path)
        for sec in sections:
            relocated = {o for o, _, _ in sec.relocations}
            pos = 0
            for insn in decode(sec.data, byteorder):
                seen.update(_kinds(insn, pos in relocated))
                pos += insn.size
    wanted = {"alu64", "alu32", "sdiv", "smod", "movsx64", "movsx32", "bswap", "le", "be",
              "neg", "ldx", "ldsx", "st", "stx", "atomic32", "atomic64", "atomic_fetch32",
              "atomic_fetch64", "xchg", "cmpxchg", "jmp", "jmp32", "ja", "gotol", "may_goto",
              "helper_call", "pseudo_call", "exit", "ld_imm64", "ld_imm64_reloc", "ld_abs",
              "ld_ind", "addr_space_cast"}
    assert wanted <= seen, f"not exercised: {sorted(wanted - seen)}"


def _kinds(insn, relocated: bool) -> set[str]:  # type: ignore[no-untyped-def]
    code, cls = insn.opcode, insn.opcode & 7
    out = set()
    if cls == op.BPF_ALU64:
        out.add("alu64")
    if cls == op.BPF_ALU:
        out.add("alu32")
    if cls in (op.BPF_ALU, op.BPF_ALU64):
        o = code & 0xF0
        if o == op.BPF_DIV and insn.off == 1:
            out.add("sdiv")
        if o == op.BPF_MOD and insn.off == 1:
            out.add("smod")
        if o == op.BPF_MOV and code & op.BPF_X and insn.off in (8, 16, 32):
            out.add("movsx64" if cls == op.BPF_ALU64 else "movsx32")
        if o == op.BPF_MOV and code & op.BPF_X and insn.off == 1:
            out.add("addr_space_cast")
        if o == op.BPF_END:
            out.add("bswap" if cls == op.BPF_ALU64 else ("be" if code & op.BPF_X else "le"))
        if o == op.BPF_NEG:
            out.add("neg")
    if cls == op.BPF_LDX:
        out.add("ldsx" if code & 0xE0 == op.BPF_MEMSX else "ldx")
    if cls == op.BPF_ST:
        out.add("st")
    if cls == op.BPF_STX:
        if code & 0xE0 == op.BPF_ATOMIC:
            wide = "64" if code & 0x18 == op.BPF_DW else "32"
            if insn.imm == op.BPF_XCHG:
                out.add("xchg")
            elif insn.imm == op.BPF_CMPXCHG:
                out.add("cmpxchg")
            elif insn.imm & op.BPF_FETCH:
                out.add("atomic_fetch" + wide)
            else:
                out.add("atomic" + wide)
        else:
            out.add("stx")
    if cls in (op.BPF_JMP, op.BPF_JMP32):
        if code == op.BPF_JMP | op.BPF_JA:
            out.add("ja")
        elif code == op.BPF_JMP32 | op.BPF_JA:
            out.add("gotol")
        elif code == op.BPF_JMP | op.BPF_JCOND:
            out.add("may_goto")
        elif code == op.CALL:
            out.add("pseudo_call" if insn.src == op.BPF_PSEUDO_CALL else "helper_call")
        elif code == op.EXIT:
            out.add("exit")
        else:
            out.add("jmp" if cls == op.BPF_JMP else "jmp32")
    if code == op.LD_IMM64:
        out.add("ld_imm64_reloc" if relocated else "ld_imm64")
    if cls == op.BPF_LD and code & 0xE0 == op.BPF_ABS:
        out.add("ld_abs")
    if cls == op.BPF_LD and code & 0xE0 == op.BPF_IND:
        out.add("ld_ind")
    return out
