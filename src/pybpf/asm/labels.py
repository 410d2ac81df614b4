"""Label resolution: turn symbolic jump/call targets into pc-relative offsets.

Instructions name a position with ``symbol`` and refer to one with ``reference``. :func:`link`
fills in the pc-relative field of every jump, ``gotol``, bpf-to-bpf call and LD_IMM64
function address whose ``reference`` names a symbol of the same instruction list. References
to anything else (maps, variables, kfuncs) are left for the loader.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction, InstructionError

__all__ = ["symbol_slots", "link", "slot_offsets"]


def slot_offsets(insns: Iterable[Instruction]) -> list[int]:
    """Slot index of every instruction (LD_IMM64 counts two slots)."""
    out = []
    pos = 0
    for insn in insns:
        out.append(pos)
        pos += 2 if insn.opcode == op.LD_IMM64 else 1
    return out


def symbol_slots(insns: Sequence[Instruction]) -> dict[str, int]:
    """``symbol`` name -> slot index; a name defined twice is an error."""
    out: dict[str, int] = {}
    pos = 0
    for insn in insns:
        if insn.symbol is not None:
            if insn.symbol in out:
                raise InstructionError(f"symbol {insn.symbol!r} defined twice", offset=pos * 8)
            out[insn.symbol] = pos
        pos += 2 if insn.opcode == op.LD_IMM64 else 1
    return out


def link(insns: Sequence[Instruction], *, end_symbols: Iterable[str] = ()) -> list[Instruction]:
    """Resolve references to local symbols in place and return ``insns`` as a list.

    A jump whose reference is not a local symbol is an error (jumps cannot leave a program);
    calls and LD_IMM64 with an unknown reference keep it for the loader. ``end_symbols`` are
    names that refer to the position just past the last instruction (a trailing label).
    """
    insns = list(insns)
    syms = symbol_slots(insns)
    total = sum(2 if i.opcode == op.LD_IMM64 else 1 for i in insns)
    for name in end_symbols:
        syms[name] = total
    pos = 0
    for insn in insns:
        ref = insn.reference
        here = pos
        pos += 2 if insn.opcode == op.LD_IMM64 else 1
        if ref is None:
            continue
        target = syms.get(ref)
        code = insn.opcode
        if code == op.BPF_JMP32 | op.BPF_JA:
            if target is None:
                raise InstructionError(f"jump to unknown label {ref!r}", offset=here * 8)
            insn.imm = target - here - 1
        elif insn.is_jump:
            if target is None:
                raise InstructionError(f"jump to unknown label {ref!r}", offset=here * 8)
            delta = target - here - 1
            if not -0x8000 <= delta <= 0x7FFF:
                raise InstructionError(f"jump to {ref!r} is out of 16-bit range ({delta}); "
                                       "use gotol", offset=here * 8)
            insn.off = delta
        elif code == op.CALL and target is not None:
            insn.src = op.BPF_PSEUDO_CALL
            insn.imm = target - here - 1
        elif code == op.LD_IMM64 and target is not None and insn.src in (0, op.BPF_PSEUDO_FUNC):
            insn.src = op.BPF_PSEUDO_FUNC
            insn.imm = target - here - 1
    return insns
