"""Decode bytes into :class:`Instruction` lists and encode them back, in either byte order.

The wire format is ``struct bpf_insn``: ``u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm``.
The register nibbles swap with the byte order: on little-endian ``dst`` is the low nibble, on
big-endian the high one. LD_IMM64 spans two slots; the second slot carries only the upper 32
bits of the immediate (every other field must be zero).

:func:`decode` is the loader's hot path: one precompiled :class:`struct.Struct`, one pass, one
table lookup per instruction for validation.
"""

from __future__ import annotations

import struct
from typing import Iterable, Literal

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction, InstructionError

__all__ = ["decode", "encode", "validate", "check_instruction", "ByteOrder"]

ByteOrder = Literal["little", "big"]

_LE = struct.Struct("<BBhi")
_BE = struct.Struct(">BBhi")
_RULES = op.RULES
_LD_IMM64 = op.LD_IMM64


def _struct(byteorder: str) -> struct.Struct:
    if byteorder == "little":
        return _LE
    if byteorder == "big":
        return _BE
    raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")


def check_instruction(insn: Instruction) -> str | None:
    """Why ``insn`` is not a valid encoding (kernel + RFC 9669), or None when it is valid."""
    rule = _RULES.get(insn.opcode)
    if rule is None:
        return f"unknown opcode 0x{insn.opcode:02x}"
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if rule.dst is not None and dst not in rule.dst:
        if dst > op.MAX_REG:
            return f"bad register r{dst} (dst) in opcode 0x{insn.opcode:02x}"
        return f"reserved dst field is {dst}, not 0, in opcode 0x{insn.opcode:02x}"
    if rule.src is not None and src not in rule.src:
        if rule.src is op.REG_SET:
            return f"bad register r{src} (src) in opcode 0x{insn.opcode:02x}"
        if insn.opcode == _LD_IMM64:
            return f"unknown LD_IMM64 pseudo source {src}"
        if insn.opcode == op.CALL:
            return f"unknown call source {src}"
        return f"reserved src field is {src}, not 0, in opcode 0x{insn.opcode:02x}"
    if rule.off is not None and off not in rule.off:
        if rule.off == frozenset({0}):
            return f"reserved off field is {off}, not 0, in opcode 0x{insn.opcode:02x}"
        return f"invalid off {off} for opcode 0x{insn.opcode:02x}"
    if rule.imm is not None and imm not in rule.imm:
        if rule.imm == frozenset({0}):
            return f"reserved imm field is {imm}, not 0, in opcode 0x{insn.opcode:02x}"
        return f"invalid imm {imm:#x} for opcode 0x{insn.opcode:02x}"
    if rule.extra is not None:
        why = rule.extra(dst, src, off, imm)
        if why:
            return f"{why} in opcode 0x{insn.opcode:02x}"
    return None


def validate(insns: Iterable[Instruction], *, base: int = 0) -> None:
    """Raise :class:`InstructionError` (naming the byte offset) for the first invalid one."""
    pos = base
    for insn in insns:
        why = check_instruction(insn)
        if why:
            raise InstructionError(why, offset=pos)
        pos += 16 if insn.opcode == _LD_IMM64 else 8


def _fast_rules() -> list[tuple[int, int, frozenset[int] | None, frozenset[int] | None,
                               object] | None]:
    """RULES as a 256-entry list of (max dst, max src, off set, imm set, extra) for the hot
    loop: every dst/src set in RULES is a range 0..N, so one comparison checks it."""
    table: list = [None] * 256
    for code, rule in _RULES.items():
        for name, allowed in (("dst", rule.dst), ("src", rule.src)):
            assert allowed is not None and allowed == frozenset(range(max(allowed) + 1)), name
        table[code] = (max(rule.dst), max(rule.src), rule.off, rule.imm,  # type: ignore[arg-type]
                       rule.extra)
    return table


_FAST = _fast_rules()


def decode(data: bytes | bytearray | memoryview, byteorder: ByteOrder = "little", *,
           strict: bool = True, base: int = 0) -> list[Instruction]:
    """Decode ``data`` into instructions.

    ``strict`` (the default) also checks every field against the ISA (unknown opcode, bad
    register, reserved fields not zero); ``strict=False`` only checks the structure (length,
    LD_IMM64 pairs), for kernel-internal forms in xlated dumps. ``base`` is added to byte
    offsets in error messages (the position of ``data`` in a larger section).
    Raises :class:`InstructionError` naming the byte offset.
    """
    n = len(data)
    if n % 8:
        raise InstructionError(f"code length {n} is not a multiple of 8 bytes",
                               offset=base + n - n % 8)
    s = _struct(byteorder)
    # Register nibbles: dst is the low nibble on little-endian, the high one on big-endian.
    dshift, sshift = (0, 4) if byteorder == "little" else (4, 0)
    out: list[Instruction] = []
    append = out.append
    it = s.iter_unpack(data)
    fast = _FAST
    Insn = Instruction
    pos = base
    for code, regs, off, imm in it:
        dst = (regs >> dshift) & 15
        src = (regs >> sshift) & 15
        if code == 0x18:  # LD_IMM64
            try:
                code2, regs2, off2, imm2 = next(it)
            except StopIteration:
                raise InstructionError("truncated LD_IMM64 (second half missing)",
                                       offset=pos) from None
            insn = Insn(code, dst, src, off, (imm2 << 32) | (imm & 0xFFFFFFFF))
            if strict:
                if code2 or regs2 or off2:
                    raise InstructionError("LD_IMM64 second half has non-zero reserved fields",
                                           offset=pos + 8)
                if dst > 10 or src > 6 or off:
                    raise InstructionError(check_instruction(insn) or "invalid", offset=pos)
            append(insn)
            pos += 16
            continue
        insn = Insn(code, dst, src, off, imm)
        if strict:
            r = fast[code]
            if (r is None or dst > r[0] or src > r[1]
                    or (r[2] is not None and off not in r[2])
                    or (r[3] is not None and imm not in r[3])
                    or (r[4] is not None and r[4](dst, src, off, imm))):
                raise InstructionError(check_instruction(insn) or "invalid", offset=pos)
        append(insn)
        pos += 8
    return out


def encode(insns: Iterable[Instruction], byteorder: ByteOrder = "little") -> bytes:
    """Encode instructions to bytes (no validation, no label resolution; see
    :func:`pybpf.asm.link`). Immediates are truncated to their field widths, so both
    ``-1`` and ``0xffffffff`` encode the same 32-bit imm."""
    s = _struct(byteorder)
    pack = s.pack
    little = byteorder == "little"
    parts: list[bytes] = []
    append = parts.append
    pos = 0
    for insn in insns:
        code = insn.opcode
        dst = insn.dst
        src = insn.src
        if not (0 <= dst <= 15 and 0 <= src <= 15 and 0 <= code <= 255):
            raise InstructionError(f"field out of range in {insn!r}", offset=pos)
        regs = (src << 4 | dst) if little else (dst << 4 | src)
        off = insn.off
        if not -0x8000 <= off <= 0xFFFF:
            raise InstructionError(f"off {off} does not fit 16 bits in {insn!r}", offset=pos)
        off = off - 0x10000 if off > 0x7FFF else off
        imm = insn.imm
        if code == _LD_IMM64:
            lo = imm & 0xFFFFFFFF
            hi = (imm >> 32) & 0xFFFFFFFF
            append(pack(code, regs, off, lo - (1 << 32) if lo & 0x80000000 else lo))
            append(pack(0, 0, 0, hi - (1 << 32) if hi & 0x80000000 else hi))
            pos += 16
        else:
            if not -0x80000000 <= imm <= 0xFFFFFFFF:
                raise InstructionError(f"imm {imm} does not fit 32 bits in {insn!r}",
                                       offset=pos)
            append(pack(code, regs, off, imm - (1 << 32) if imm > 0x7FFFFFFF else imm))
            pos += 8
    return b"".join(parts)
