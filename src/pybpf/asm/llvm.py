"""Instruction text in LLVM's BPF assembly syntax, exactly as ``llvm-objdump-19 -d`` prints it.

``format_instruction(insn)`` gives the text after the raw bytes (``r0 = 0x1``,
``if r1 > 0x5 goto +0x1``, ``r1 = 0x0 ll``, ...). Immediates are hexadecimal with a sign, as
llvm-objdump prints them. ``alu32`` selects the register view of llvm's ``--mcpu``:

* ``alu32=False`` is llvm-objdump's default (cpu "generic"): loads/stores of 8/16/32 bits use
  ``r`` registers and 32-bit atomics other than ``lock ... +=`` are ``<unknown>``.
* ``alu32=True`` is ``--mcpu=v3``/``v4``: ``w`` registers for sub-64-bit loads/stores and
  every 32-bit atomic.

Like llvm, fields an instruction does not use are not printed (so non-canonical encodings
print like their canonical form); encodings llvm cannot decode print as ``<unknown>``.
Deliberate difference from llvm 19: the Linux 6.15 load-acquire/store-release atomics
(imm 0x100/0x110) print in llvm 20's syntax instead of llvm 19's mis-decoding as ``lock``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction

__all__ = ["format_instruction", "format_program", "UNKNOWN", "hex_signed", "ALU_SYMBOLS", "JMP_SYMBOLS",
           "branch_target"]

UNKNOWN = "<unknown>"

#: ALU operation -> llvm's compound-assignment operator.
ALU_SYMBOLS = {
    op.BPF_ADD: "+=", op.BPF_SUB: "-=", op.BPF_MUL: "*=", op.BPF_DIV: "/=", op.BPF_OR: "|=",
    op.BPF_AND: "&=", op.BPF_LSH: "<<=", op.BPF_RSH: ">>=", op.BPF_MOD: "%=", op.BPF_XOR: "^=",
    op.BPF_ARSH: "s>>=",
}
#: Conditional jump operation -> llvm's comparison operator.
JMP_SYMBOLS = {
    op.BPF_JEQ: "==", op.BPF_JGT: ">", op.BPF_JGE: ">=", op.BPF_JSET: "&", op.BPF_JNE: "!=",
    op.BPF_JSGT: "s>", op.BPF_JSGE: "s>=", op.BPF_JLT: "<", op.BPF_JLE: "<=",
    op.BPF_JSLT: "s<", op.BPF_JSLE: "s<=",
}
_SIZE_NAMES = {op.BPF_B: "8", op.BPF_H: "16", op.BPF_W: "32", op.BPF_DW: "64"}
_ATOMIC_LOCK = {op.BPF_ADD: "+=", op.BPF_OR: "|=", op.BPF_AND: "&=", op.BPF_XOR: "^="}
_ATOMIC_FETCH = {0x01: "add", 0x41: "or", 0x51: "and", 0xA1: "xor"}
_MAX_LLVM_REG = 11  # llvm knows r0..r11

_Fmt = Callable[[Instruction, bool], Optional[str]]


def hex_signed(v: int) -> str:
    """``0x1f`` / ``-0x1f``, llvm-objdump's immediate format."""
    return f"-0x{-v:x}" if v < 0 else f"0x{v:x}"


def _pc(v: int) -> str:
    return f"-0x{-v:x}" if v < 0 else f"+0x{v:x}"


def _mem(base: int, off: int) -> str:
    return f"(r{base} - 0x{-off:x})" if off < 0 else f"(r{base} + 0x{off:x})"


def _alu(code: int) -> _Fmt:
    cls = code & 0x07
    r = "r" if cls == op.BPF_ALU64 else "w"
    o = code & 0xF0
    x = code & op.BPF_X
    if o in ALU_SYMBOLS:
        sym = ALU_SYMBOLS[o]
        ssym = "s" + sym if o in (op.BPF_DIV, op.BPF_MOD) else None
        if x:
            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11 or i.src > 11:
                    return None
                if i.off:
                    if i.off == 1 and ssym:
                        return f"{r}{i.dst} {ssym} {r}{i.src}"
                    return None
                return f"{r}{i.dst} {sym} {r}{i.src}"
        else:
            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11:
                    return None
                if i.off:
                    if i.off == 1 and ssym:
                        return f"{r}{i.dst} {ssym} {hex_signed(i.imm)}"
                    return None
                return f"{r}{i.dst} {sym} {hex_signed(i.imm)}"
        return f
    if o == op.BPF_MOV:
        if x:
            sx = {8: "s8", 16: "s16", 32: "s32"} if cls == op.BPF_ALU64 else {8: "s8", 16: "s16"}

            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11 or i.src > 11:
                    return None
                if i.off == 0:
                    return f"{r}{i.dst} = {r}{i.src}"
                if i.off in sx:
                    return f"{r}{i.dst} = ({sx[i.off]}){r}{i.src}"
                if i.off == 1 and cls == op.BPF_ALU64:
                    return (f"r{i.dst} = addr_space_cast(r{i.src}, 0x{(i.imm >> 16) & 0xFFFF:x}, "
                            f"0x{i.imm & 0xFFFF:x})")
                return None
        else:
            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11 or i.off:
                    return None
                return f"{r}{i.dst} = {hex_signed(i.imm)}"
        return f
    if o == op.BPF_NEG and not x:
        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11:
                return None
            return f"{r}{i.dst} = -{r}{i.dst}"
        return f
    if o == op.BPF_END and not (cls == op.BPF_ALU64 and x):
        name = "bswap" if cls == op.BPF_ALU64 else ("be" if x else "le")

        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11 or i.imm not in (16, 32, 64):
                return None
            return f"r{i.dst} = {name}{i.imm} r{i.dst}"
        return f
    return _unknown


def _jmp(code: int) -> _Fmt:
    cls = code & 0x07
    r = "r" if cls == op.BPF_JMP else "w"
    o = code & 0xF0
    x = code & op.BPF_X
    if o in JMP_SYMBOLS:
        sym = JMP_SYMBOLS[o]
        if x:
            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11 or i.src > 11:
                    return None
                return f"if {r}{i.dst} {sym} {r}{i.src} goto {_pc(i.off)}"
        else:
            def f(i: Instruction, a: bool) -> str | None:
                if i.dst > 11:
                    return None
                return f"if {r}{i.dst} {sym} {hex_signed(i.imm)} goto {_pc(i.off)}"
        return f
    if code == op.BPF_JMP | op.BPF_JA:
        return lambda i, a: f"goto {_pc(i.off)}"
    if code == op.BPF_JMP32 | op.BPF_JA:
        return lambda i, a: f"gotol {_pc(i.imm)}"
    if code == op.CALL:
        return lambda i, a: f"call {hex_signed(i.imm)}"
    if code == op.BPF_JMP | op.BPF_CALL | op.BPF_X:  # callx (llvm only; not a kernel insn)
        return lambda i, a: f"callx r{i.dst}" if i.dst <= 11 else None
    if code == op.EXIT:
        return lambda i, a: "exit" if not i.imm else None
    if code == op.BPF_JMP | op.BPF_JCOND:
        return lambda i, a: f"may_goto {_pc(i.off)}"
    return _unknown


def _ldx(code: int) -> _Fmt:
    size = code & 0x18
    mode = code & 0xE0
    bits = _SIZE_NAMES[size]
    if mode == op.BPF_MEM:
        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11 or i.src > 11:
                return None
            r = "w" if a and size != op.BPF_DW else "r"
            return f"{r}{i.dst} = *(u{bits} *){_mem(i.src, i.off)}"
        return f
    if mode == op.BPF_MEMSX and size != op.BPF_DW:
        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11 or i.src > 11:
                return None
            return f"r{i.dst} = *(s{bits} *){_mem(i.src, i.off)}"
        return f
    return _unknown


def _st(code: int) -> _Fmt:
    size = code & 0x18
    if code & 0xE0 != op.BPF_MEM:
        return _unknown
    bits = _SIZE_NAMES[size]

    def f(i: Instruction, a: bool) -> str | None:
        if i.dst > 11:
            return None
        return f"*(u{bits} *){_mem(i.dst, i.off)} = {hex_signed(i.imm)}"
    return f


def _stx(code: int) -> _Fmt:
    size = code & 0x18
    mode = code & 0xE0
    bits = _SIZE_NAMES[size]
    if mode == op.BPF_MEM:
        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11 or i.src > 11:
                return None
            r = "w" if a and size != op.BPF_DW else "r"
            return f"*(u{bits} *){_mem(i.dst, i.off)} = {r}{i.src}"
        return f
    if mode != op.BPF_ATOMIC:
        return _unknown
    wide = size == op.BPF_DW

    def f(i: Instruction, a: bool) -> str | None:
        if i.dst > 11 or i.src > 11:
            return None
        imm = i.imm
        m = _mem(i.dst, i.off)
        r = "w" if a and not wide else "r"
        if imm == op.BPF_LOAD_ACQ:  # dst = load_acquire(src + off)
            return f"{r}{i.dst} = load_acquire((u{bits} *){_mem(i.src, i.off)})"
        if imm == op.BPF_STORE_REL:
            return f"store_release((u{bits} *){m}, {r}{i.src})"
        if size != op.BPF_W and not wide:
            return None
        b = imm & 0xFF
        if not wide and not a:
            # llvm's generic cpu only knows the 32-bit "lock +=" and ignores the low nibble.
            return f"lock *(u32 *){m} += r{i.src}" if b & 0xF0 == 0 else None
        if b in _ATOMIC_FETCH:
            return f"{r}{i.src} = atomic_fetch_{_ATOMIC_FETCH[b]}((u{bits} *){m}, {r}{i.src})"
        if b == op.BPF_XCHG:
            name = "xchg_64" if wide else "xchg32_32"
            return f"{r}{i.src} = {name}({m[1:-1]}, {r}{i.src})"
        if b == op.BPF_CMPXCHG:
            name = "cmpxchg_64" if wide else "cmpxchg32_32"
            return f"{r}0 = {name}({m[1:-1]}, {r}0, {r}{i.src})"
        sym = _ATOMIC_LOCK.get(b & 0xF0)
        if sym is None:
            return None
        return f"lock *(u{bits} *){m} {sym} {r}{i.src}"
    return f


def _ld(code: int) -> _Fmt:
    size = code & 0x18
    mode = code & 0xE0
    if code == op.LD_IMM64:
        def f(i: Instruction, a: bool) -> str | None:
            if i.dst > 11 or i.off:
                return None
            if i.src == 0:
                return f"r{i.dst} = {hex_signed(_s64(i.imm))} ll"
            return f"ld_pseudo\tr{i.dst}, 0x{i.src:x}, 0x{i.imm & 0xFFFFFFFF:x}"
        return f
    if size == op.BPF_DW:
        return _unknown
    bits = _SIZE_NAMES[size]
    if mode == op.BPF_ABS:
        return lambda i, a: f"r0 = *(u{bits} *)skb[{hex_signed(i.imm)}]"
    if mode == op.BPF_IND:
        return lambda i, a: f"r0 = *(u{bits} *)skb[r{i.src}]" if i.src <= 11 else None
    return _unknown


def _s64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


def _unknown(i: Instruction, a: bool) -> str | None:
    return None


def _build() -> list[_Fmt]:
    table: list[_Fmt] = []
    for code in range(256):
        cls = code & 0x07
        if cls in (op.BPF_ALU, op.BPF_ALU64):
            table.append(_alu(code))
        elif cls in (op.BPF_JMP, op.BPF_JMP32):
            table.append(_jmp(code))
        elif cls == op.BPF_LDX:
            table.append(_ldx(code))
        elif cls == op.BPF_ST:
            table.append(_st(code))
        elif cls == op.BPF_STX:
            table.append(_stx(code))
        else:
            table.append(_ld(code))
    return table


_TABLE = _build()


def format_instruction(insn: Instruction, *, alu32: bool = False, symbolic: bool = False) -> str:
    """llvm-objdump's text for ``insn`` (``<unknown>`` for what llvm cannot decode).

    With ``symbolic``, an instruction whose ``reference`` is set names it the way llvm-mc
    accepts as input: ``goto loop``, ``call subprog``, ``r1 = counts ll``.
    """
    text = _TABLE[insn.opcode & 0xFF](insn, alu32) or UNKNOWN
    ref = insn.reference
    if symbolic and ref is not None and text != UNKNOWN:
        code = insn.opcode
        if code == op.CALL:
            return f"call {ref}"
        if code == op.LD_IMM64:
            return f"r{insn.dst} = {ref} ll"
        if branch_target(insn) is not None:
            return text[:text.rindex(" ") + 1] + ref
    return text


def branch_target(insn: Instruction) -> int | None:
    """Slot displacement llvm-objdump annotates with ``<sym+0x..>``: the target of a jump
    (conditional, ``goto``, ``gotol``, ``may_goto``) relative to the next slot, else None."""
    code = insn.opcode
    if code == op.BPF_JMP32 | op.BPF_JA:
        return insn.imm
    cls = code & 0x07
    if cls != op.BPF_JMP and cls != op.BPF_JMP32:
        return None
    o = code & 0xF0
    if o == op.BPF_JA or o == op.BPF_JCOND:
        return insn.off if code in (op.BPF_JMP | op.BPF_JA, op.BPF_JMP | op.BPF_JCOND) else None
    if o in JMP_SYMBOLS:
        return insn.off
    return None


def format_program(insns: Iterable[Instruction], *, alu32: bool = True,
                   symbolic: bool = True) -> str:
    """Instructions as llvm assembly source: one per line, ``name:`` before each instruction
    with a ``symbol``; with ``symbolic``, references by name. :func:`pybpf.asm.assemble`
    reads it back."""
    lines = []
    for insn in insns:
        if insn.symbol is not None:
            lines.append(f"{insn.symbol}:")
        lines.append("\t" + format_instruction(insn, alu32=alu32, symbolic=symbolic))
    return "\n".join(lines) + "\n"
