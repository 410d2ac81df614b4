"""The CO-RE engine's slot access (pybpf.core.insn) reads and writes the bytes pybpf.asm's codec
does: every slot of clang-compiled programs in both byte orders, and random fields written back."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pybpf.asm.codec import decode, encode
from pybpf.asm.instruction import Instruction
from pybpf.core.insn import LD_IMM64, RawInsn, read_insn, write_insn

from .objfile import read_object

_ORDER = {"<": "little", ">": "big"}


@pytest.mark.parametrize("endian", ["bpfel", "bpfeb"])
def test_every_slot_reads_as_the_codec_decodes(compile_bpf, endian):
    obj = read_object(compile_bpf("core_fields.bpf.c", endian=endian))
    e = obj.endian
    checked = 0
    for prog in obj.programs:
        slot = 0
        for insn in decode(bytes(prog.insns), _ORDER[e], strict=False):  # type: ignore[arg-type]
            got = read_insn(prog.insns, slot, e)
            assert got == RawInsn(insn.opcode, insn.dst, insn.src, insn.off, insn.imm_lo), (prog.name, slot)
            if insn.opcode == LD_IMM64:
                assert read_insn(prog.insns, slot + 1, e) == RawInsn(0, 0, 0, 0, insn.imm_hi)
            slot += insn.slots
            checked += 1
    assert checked > 50


@given(code=st.integers(0, 255), dst=st.integers(0, 15), src=st.integers(0, 15),
       off=st.integers(-0x8000, 0x7FFF), imm=st.integers(-(1 << 31), (1 << 31) - 1),
       endian=st.sampled_from(["<", ">"]))
def test_written_slots_are_the_codecs_encoding(code, dst, src, off, imm, endian):
    buf = bytearray(b"\xAA" * 24)
    write_insn(buf, 1, RawInsn(code, dst, src, off, imm), endian)
    assert bytes(buf[8:16]) == encode([Instruction(code, dst, src, off, imm)], _ORDER[endian])[:8]  # type: ignore[arg-type]
    assert buf[:8] == buf[16:] == b"\xAA" * 8
    assert read_insn(buf, 1, endian) == RawInsn(code, dst, src, off, imm)
    # out-of-range offsets and immediates wrap to their field widths, as the codec's do
    write_insn(buf, 0, RawInsn(code, dst, src, off + 0x10000, imm + (1 << 32)), endian)
    assert read_insn(buf, 0, endian) == RawInsn(code, dst, src, off, imm)
