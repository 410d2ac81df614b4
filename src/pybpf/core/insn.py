"""A minimal view of raw 8-byte BPF instructions, just what CO-RE patching reads and writes.

The CO-RE engine works on the instruction bytes of a program (a ``bytearray``) so that it
needs nothing from the instruction model; everything it touches goes through :class:`RawInsn`
and :func:`read_insn` / :func:`write_insn`, the one place to switch over to ``pybpf.asm``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = [
    "INSN_SIZE", "RawInsn", "read_insn", "write_insn",
    "CLASS_LD", "CLASS_LDX", "CLASS_ST", "CLASS_STX", "CLASS_ALU", "CLASS_JMP", "CLASS_ALU64",
    "SRC_K", "LD_IMM64", "CALL", "SIZE_BYTES", "BYTES_SIZE", "insn_class",
]

INSN_SIZE = 8

CLASS_LD = 0x00
CLASS_LDX = 0x01
CLASS_ST = 0x02
CLASS_STX = 0x03
CLASS_ALU = 0x04
CLASS_JMP = 0x05
CLASS_ALU64 = 0x07

SRC_K = 0x00
SRC_MASK = 0x08
SIZE_MASK = 0x18
MODE_MASK = 0xE0

#: ``BPF_LD | BPF_IMM | BPF_DW``: the first half of a 16-byte 64-bit immediate load.
LD_IMM64 = 0x18
#: ``BPF_JMP | BPF_CALL``.
CALL = 0x85

#: BPF_SIZE(code) -> bytes, and back.
SIZE_BYTES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}
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
