"""Decoder/encoder: round trips in both byte orders, malformed bytes -> InstructionError."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.asm import Instruction, InstructionError, check_instruction, decode, encode
from pybpf.asm import opcodes as op
from pybpf.errors import BPFError


def _raw(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0, *,
         little: bool = True) -> bytes:
    regs = (src << 4 | dst) if little else (dst << 4 | src)
    return struct.pack("<BBhi" if little else ">BBhi", code, regs, off, imm)


@st.composite
def valid_instructions(draw) -> Instruction:  # type: ignore[no-untyped-def]
    """Any encoding RULES accepts (the whole ISA), drawn field by field."""
    code = draw(st.sampled_from(sorted(op.RULES)))
    rule = op.RULES[code]

    def field(allowed, strategy):  # type: ignore[no-untyped-def]
        return draw(st.sampled_from(sorted(allowed))) if allowed is not None else draw(strategy)

    dst = field(rule.dst, st.integers(0, 10))
    src = field(rule.src, st.integers(0, 10))
    off = field(rule.off, st.integers(-0x8000, 0x7FFF))
    if code == op.LD_IMM64:
        imm = draw(st.integers(-(1 << 63), (1 << 63) - 1))
    else:
        imm = field(rule.imm, st.integers(-0x80000000, 0x7FFFFFFF))
    insn = Instruction(code, dst, src, off, imm)
    if rule.extra is not None and rule.extra(dst, src, off, imm):
        insn.imm = 0
    return insn


@settings(max_examples=300)
@given(st.lists(valid_instructions(), max_size=40), st.sampled_from(["little", "big"]))
def test_round_trip(insns, byteorder):
    data = encode(insns, byteorder)
    assert len(data) == 8 * sum(i.slots for i in insns)
    back = decode(data, byteorder)
    assert back == insns
    assert encode(back, byteorder) == data


@settings(max_examples=200)
@given(st.binary(max_size=200), st.sampled_from(["little", "big"]), st.booleans())
def test_arbitrary_bytes_never_escape_as_other_errors(data, byteorder, strict):
    try:
        insns = decode(data, byteorder, strict=strict)
    except InstructionError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        assert "byte offset" in str(exc)
        return
    assert encode(insns, byteorder) == data or strict is False


def test_byte_orders_swap_register_nibbles():
    insn = Instruction(0xBF, dst=1, src=2)
    assert encode([insn], "little") == bytes.fromhex("bf21000000000000")
    assert encode([insn], "big") == bytes.fromhex("bf12000000000000")
    ld = Instruction(op.LD_IMM64, dst=3, imm=0x1122334455667788)
    assert encode([ld], "little") == bytes.fromhex("18030000 88776655 00000000 44332211")
    assert encode([ld], "big") == bytes.fromhex("18300000 55667788 00000000 11223344")


def test_ld_imm64_is_one_instruction_with_halves():
    [insn] = decode(_raw(op.LD_IMM64, 1, 0, 0, -2) + _raw(0, imm=7))
    assert insn.is_ld_imm64 and insn.size == 16 and insn.slots == 2
    assert insn.imm == (7 << 32) | 0xFFFFFFFE
    assert insn.imm_lo == -2 and insn.imm_hi == 7
    [neg] = decode(_raw(op.LD_IMM64, 1, 0, 0, -1) + _raw(0, imm=-1))
    assert neg.imm == -1


@pytest.mark.parametrize("data,offset,words", [
    (_raw(0xB7) + _raw(op.LD_IMM64, 1), 8, "truncated LD_IMM64"),
    (_raw(0xB7) * 3 + _raw(0xFF), 24, "unknown opcode 0xff"),
    (_raw(0xB7, dst=11), 0, "bad register r11"),
    (_raw(0xB7) + _raw(0xBF, 1, 12), 8, "bad register r12"),
    (_raw(0x79, 1, 15), 0, "bad register r15"),
    (_raw(0x07, 1, 2), 0, "reserved src field"),
    (_raw(0x0F, 1, 2, imm=3), 0, "reserved imm field"),
    (_raw(0x05, imm=1), 0, "reserved imm field"),
    (_raw(0x95, dst=1), 0, "reserved dst field"),
    (_raw(0x04, 1, off=1), 0, "reserved off field"),
    (_raw(0x3F, 1, 2, off=2), 0, "invalid off 2"),
    (_raw(0xBC, 1, 2, off=32), 0, "invalid off 32"),
    (_raw(0xD4, 1, imm=8), 0, "invalid imm 0x8"),
    (_raw(0xDB, 1, 2, imm=0x02), 0, "invalid imm 0x2"),
    (_raw(op.LD_IMM64, 1, 7) + _raw(0), 0, "pseudo source 7"),
    (_raw(op.LD_IMM64, 1) + _raw(0, 1), 8, "second half"),
    (_raw(0x85, src=3), 0, "unknown call source 3"),
    (_raw(0xB7)[:5], 0, "not a multiple of 8"),
    (_raw(0xB7) + _raw(0xB7)[:7], 8, "not a multiple of 8"),
])
def test_malformed_bytes_name_the_offset(data, offset, words):
    with pytest.raises(InstructionError) as info:
        decode(data)
    assert isinstance(info.value, BPFError)
    assert info.value.offset == offset
    assert words in str(info.value)
    assert f"byte offset {offset}" in str(info.value)


def test_base_shifts_reported_offsets():
    with pytest.raises(InstructionError) as info:
        decode(_raw(0xB7) + _raw(0xFF), base=4096)
    assert info.value.offset == 4096 + 8 and info.value.index == 513


def test_lenient_decode_keeps_kernel_internal_forms():
    # xlated dumps contain encodings outside the ISA (e.g. BPF_ST|BPF_NOSPEC, 0xc2).
    data = _raw(0xC2) + _raw(op.LD_IMM64, 1, 2, imm=5) + _raw(0, imm=9)
    insns = decode(data, strict=False)
    assert [i.opcode for i in insns] == [0xC2, op.LD_IMM64]
    assert insns[1].src == op.BPF_PSEUDO_MAP_VALUE and insns[1].imm_hi == 9
    assert encode(insns) == data
    with pytest.raises(InstructionError):
        decode(data)


def test_check_instruction_covers_rfc_table():
    # A few rows of RFC 9669's opcode table, with the fields it allows.
    assert check_instruction(Instruction(0xBF, 1, 2, 8)) is None       # movsx
    assert check_instruction(Instruction(0xBF, 1, 2, 1, 0x10002)) is None  # addr_space_cast
    assert check_instruction(Instruction(0xBF, 1, 2, 8, 5)) is not None
    assert check_instruction(Instruction(0xD7, 1, imm=64)) is None      # bswap64
    assert check_instruction(Instruction(0xDF, 1, imm=64)) is not None  # no ALU64 END|TO_BE
    assert check_instruction(Instruction(0xE5, off=3)) is None          # may_goto
    assert check_instruction(Instruction(0x06, imm=-100000)) is None    # gotol
    assert check_instruction(Instruction(0xD3, 1, 2, 0, op.BPF_LOAD_ACQ)) is None
    assert check_instruction(Instruction(0xD3, 1, 2, 0, op.BPF_ADD)) is not None
    assert check_instruction(Instruction(0x99, 1, 2)) is not None       # no 64-bit MEMSX


def test_encode_rejects_out_of_range_fields():
    with pytest.raises(InstructionError):
        encode([Instruction(0xB7, imm=1 << 32)])
    with pytest.raises(InstructionError):
        encode([Instruction(0x05, off=1 << 16)])
    with pytest.raises(InstructionError):
        encode([Instruction(0xBF, dst=16)])
    # Unsigned spellings of 32-bit immediates encode like their signed values.
    assert encode([Instruction(0xB7, imm=0xFFFFFFFF)]) == encode([Instruction(0xB7, imm=-1)])


def test_metadata_is_not_part_of_equality():
    a = Instruction(0x05, off=2, symbol="x", reference="y")
    b = Instruction(0x05, off=2)
    assert a == b
    assert a.copy().reference == "y"
    assert a.jump_target(10) == 13
    assert Instruction(0x06, imm=-5).jump_target(10) == 6
    assert Instruction(0x85, src=1, imm=4).jump_target(0) == 5
    assert Instruction(0x85, imm=4).jump_target(0) is None
