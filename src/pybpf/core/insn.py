"""Raw 8-byte instruction slots, just what CO-RE patching reads and writes.

The CO-RE engine works on the instruction bytes of a program (a ``bytearray``) and patches them
in place, one slot at a time (the two halves of a 64-bit immediate load separately); it reads
and writes them as :class:`RawInsn` with :func:`read_insn` / :func:`write_insn`.

The opcode constants are :mod:`pybpf.asm.opcodes`'. The slot layout is the one
:mod:`pybpf.asm.codec` encodes (``u8 code; u8 dst:4, src:4; s16 off; s32 imm``, register nibbles
swapped on big-endian; tests/core/test_insn.py holds the two to the same bytes), read here with
one precompiled ``struct`` per slot: going through :func:`pybpf.asm.codec.decode`/``encode``
for each slot (an :class:`~pybpf.asm.Instruction` and a list per call) made relocating measurably
slower (about 25% of the engine's time on the CO-RE fixtures), for no difference in the bytes.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pybpf.asm import opcodes as op

__all__ = [
    "INSN_SIZE", "RawInsn", "read_insn", "write_insn",
    "CLASS_LD", "CLASS_LDX", "CLASS_ST", "CLASS_STX", "CLASS_ALU", "CLASS_JMP", "CLASS_ALU64",
    "SRC_K", "LD_IMM64", "CALL", "SIZE_BYTES", "BYTES_SIZE", "insn_class",
]

INSN_SIZE = 8

CLASS_LD = op.BPF_LD
CLASS_LDX = op.BPF_LDX
CLASS_ST = op.BPF_ST
CLASS_STX = op.BPF_STX
CLASS_ALU = op.BPF_ALU
CLASS_JMP = op.BPF_JMP
CLASS_ALU64 = op.BPF_ALU64

SRC_K = op.BPF_K
SRC_MASK = op.BPF_X  # the source bit: BPF_K (immediate) or BPF_X (register)
SIZE_MASK = op.BPF_DW  # bits 3-4: BPF_W/H/B/DW
MODE_MASK = 0xE0

#: ``BPF_LD | BPF_IMM | BPF_DW``: the first half of a 16-byte 64-bit immediate load.
LD_IMM64 = op.LD_IMM64
#: ``BPF_JMP | BPF_CALL``.
CALL = op.CALL

#: BPF_SIZE(code) -> bytes, and back.
SIZE_BYTES = {op.BPF_DW: 8, op.BPF_W: 4, op.BPF_H: 2, op.BPF_B: 1}
BYTES_SIZE = {v: k for k, v in SIZE_BYTES.items()}

_LAYOUT = {"<": struct.Struct("<BBhi"), ">": struct.Struct(">BBhi")}


class RawInsn(NamedTuple):
    """One instruction slot: opcode, registers, signed 16-bit offset, signed 32-bit immediate."""

    code: int
    dst: int
    src: int
    off: int
    imm: int


def insn_class(code: int) -> int:
    """BPF_CLASS(code)."""
    return code & 0x07


def read_insn(buf: bytes | bytearray | memoryview, index: int, endian: str = "<") -> RawInsn:
    """Decode instruction slot ``index`` of ``buf`` in byte order ``endian`` ("<" or ">")."""
    code, regs, off, imm = _LAYOUT[endian].unpack_from(buf, index * INSN_SIZE)
    if endian == "<":
        return RawInsn(code, regs & 0x0F, regs >> 4, off, imm)
    return RawInsn(code, regs >> 4, regs & 0x0F, off, imm)


def write_insn(buf: bytearray | memoryview, index: int, insn: RawInsn, endian: str = "<") -> None:
    """Encode ``insn`` into slot ``index`` of ``buf``; ``off``/``imm`` are truncated to their widths."""
    regs = (insn.src << 4 | insn.dst) if endian == "<" else (insn.dst << 4 | insn.src)
    off = (insn.off + 0x8000) % 0x10000 - 0x8000
    imm = (insn.imm + 0x80000000) % 0x100000000 - 0x80000000
    _LAYOUT[endian].pack_into(buf, index * INSN_SIZE, insn.code & 0xFF, regs & 0xFF, off, imm)
