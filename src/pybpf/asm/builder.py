"""Write eBPF programs in Python, without clang.

Every function returns one :class:`~pybpf.asm.Instruction`; :func:`program` collects them,
attaches :func:`label` markers and resolves jumps and calls to labels::

    from pybpf.asm.builder import *

    insns = program(
        mov64(R0, 0),                 # r0 = 0
        label("loop"),
        add64(R0, 1),                 # r0 += 1
        jlt(R0, 10, "loop"),          # if r0 < 10 goto loop
        exit_(),
    )
    code = to_bytes(insns)            # 8 bytes per slot, ready for BPF_PROG_LOAD

Conventions:

* Registers are ``R0`` .. ``R10`` (``FP`` is ``R10``). A second operand that is a register
  selects the register form, an ``int`` the immediate form: ``add64(R1, R2)``, ``add64(R1, 2)``.
* ``...64`` functions operate on 64-bit registers (``rN``), ``...32`` on the low halves
  (``wN``, zero-extending) -- ``mov32(R0, 1)`` is ``w0 = 1``.
* Memory operands follow the kernel's ``filter.h`` macros: ``ldx(size, dst, src, off)``,
  ``stx(size, dst, src, off)``, ``st(size, dst, off, imm)``; ``size`` is ``"b"``, ``"h"``,
  ``"w"``, ``"dw"`` or the byte count 1/2/4/8, and the ``ldxw``/``stxdw``/... shorthands
  drop it.
* Jump targets are a label name (``"loop"``) or a signed slot offset relative to the next
  instruction (``+2``), as in the ISA.
* ``exit_()`` (alias ``exit``) ends the program; ``call(1)`` or ``call("bpf_map_lookup_elem")``
  calls a helper, ``call_local("fn")`` a bpf-to-bpf function defined by ``label("fn")``.
* Map access: ``ld_map_fd(R1, map.fd)`` for a live map, or ``ld_map(R1, "counts")`` to leave a
  by-name reference the loader resolves.

Kernel requirements are the ISA's: signed division, ``movsx``, ``bswap``, sign-extending loads
and ``gotol`` need Linux 6.6+ (cpu v4); ``may_goto`` 6.9+; load-acquire/store-release 6.15+.
"""

from __future__ import annotations

from typing import Iterable, Union

from pybpf.asm import opcodes as op
from pybpf.asm.codec import ByteOrder, encode, validate
from pybpf.asm.instruction import (FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, Instruction,
                                   InstructionError, Reg)
from pybpf.asm.labels import link

Operand = Union[Reg, int]
Target = Union[str, int]
Size = Union[str, int]

__all__ = [
    "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "FP", "Reg",
    "Label", "label", "program", "to_bytes",
    # alu
    "add64", "sub64", "mul64", "div64", "sdiv64", "mod64", "smod64", "or64", "and64", "lsh64",
    "rsh64", "arsh64", "xor64", "mov64",
    "add32", "sub32", "mul32", "div32", "sdiv32", "mod32", "smod32", "or32", "and32", "lsh32",
    "rsh32", "arsh32", "xor32", "mov32",
    "neg64", "neg32", "movsx64", "movsx32", "bswap", "to_le", "to_be", "addr_space_cast",
    # jumps
    "ja", "gotol", "may_goto",
    "jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset",
    "jeq32", "jne32", "jgt32", "jge32", "jlt32", "jle32", "jsgt32", "jsge32", "jslt32",
    "jsle32", "jset32",
    "call", "call_local", "call_kfunc", "exit_", "exit",
    # memory
    "ldx", "ldxb", "ldxh", "ldxw", "ldxdw", "ldxs", "ldxsb", "ldxsh", "ldxsw",
    "st", "stb", "sth", "stw", "stdw", "stx", "stxb", "stxh", "stxw", "stxdw",
    "atomic", "atomic_add", "atomic_or", "atomic_and", "atomic_xor", "atomic_xchg",
    "atomic_cmpxchg", "load_acquire", "store_release",
    # 64-bit immediates
    "ld_imm64", "ld_map_fd", "ld_map_value", "ld_map_idx", "ld_map_idx_value", "ld_btf_id",
    "ld_func", "ld_map",
    # legacy packet access
    "ld_abs", "ld_ind",
]


class Label:
    """A position marker: names the next instruction in :func:`program`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"label({self.name!r})"


def label(name: str) -> Label:
    """Mark the next instruction as ``name`` (a jump target or bpf-to-bpf function)."""
    return Label(name)


Item = Union[Instruction, Label, Iterable["Item"]]


def program(*items: Item, check: bool = True) -> list[Instruction]:
    """Collect instructions (nested lists allowed), attach labels, resolve references to them.

    A label after the last instruction refers to the end of the program. With ``check``
    (the default) every instruction is validated against the ISA.
    Raises :class:`InstructionError` for duplicate labels, unknown jump targets, invalid
    instructions.
    """
    out: list[Instruction] = []
    pending: list[str] = []
    aliases: dict[str, str] = {}

    def walk(item: Item) -> None:
        if isinstance(item, Instruction):
            insn = item.copy()
            if pending:
                insn.symbol = pending[0]
                for extra in pending[1:]:
                    aliases[extra] = pending[0]
                pending.clear()
            out.append(insn)
        elif isinstance(item, Label):
            pending.append(item.name)
        elif isinstance(item, (list, tuple)) or hasattr(item, "__iter__"):
            for sub in item:  # type: ignore[union-attr]
                walk(sub)
        else:
            raise InstructionError(f"not an instruction or label: {item!r}")

    for item in items:
        walk(item)
    for insn in out:
        if insn.reference in aliases:
            insn.reference = aliases[insn.reference]
    link(out, end_symbols=pending)
    if check:
        validate(out)
    return out


def to_bytes(insns: Iterable[Instruction], byteorder: ByteOrder = "little") -> bytes:
    """Encode instructions (see :func:`program`) for BPF_PROG_LOAD."""
    return encode(insns, byteorder)


# --- helpers ---------------------------------------------------------------------------

def _reg(r: Operand, what: str = "register") -> int:
    if not isinstance(r, Reg):
        raise InstructionError(f"{what} must be a register (R0..R10), not {r!r}")
    return r.num


def _imm32(v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InstructionError(f"immediate must be an int, not {v!r}")
    if not -0x80000000 <= v <= 0xFFFFFFFF:
        raise InstructionError(f"immediate {v} does not fit 32 bits")
    return v - (1 << 32) if v > 0x7FFFFFFF else v


def _size(size: Size) -> int:
    table = {"b": op.BPF_B, "h": op.BPF_H, "w": op.BPF_W, "dw": op.BPF_DW,
             1: op.BPF_B, 2: op.BPF_H, 4: op.BPF_W, 8: op.BPF_DW}
    try:
        return table[size]
    except (KeyError, TypeError):
        raise InstructionError(f"size must be b/h/w/dw or 1/2/4/8, not {size!r}") from None


def _off16(v: int) -> int:
    if not -0x8000 <= v <= 0x7FFF:
        raise InstructionError(f"offset {v} does not fit 16 bits")
    return v


def _alu(cls: int, code: int, dst: Reg, src: Operand, off: int = 0) -> Instruction:
    d = _reg(dst, "dst")
    if isinstance(src, Reg):
        return Instruction(cls | code | op.BPF_X, d, src.num, off)
    return Instruction(cls | code | op.BPF_K, d, 0, off, _imm32(src))


def _make_alu(cls: int, code: int, off: int, name: str, text: str):  # type: ignore[no-untyped-def]
    def f(dst: Reg, src: Operand) -> Instruction:
        return _alu(cls, code, dst, src, off)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``{text}`` (register or immediate source)."
    return f


_ALU = [("add", op.BPF_ADD, 0, "+="), ("sub", op.BPF_SUB, 0, "-="), ("mul", op.BPF_MUL, 0, "*="),
        ("div", op.BPF_DIV, 0, "/="), ("sdiv", op.BPF_DIV, 1, "s/="),
        ("mod", op.BPF_MOD, 0, "%="), ("smod", op.BPF_MOD, 1, "s%="), ("or", op.BPF_OR, 0, "|="),
        ("and", op.BPF_AND, 0, "&="), ("lsh", op.BPF_LSH, 0, "<<="),
        ("rsh", op.BPF_RSH, 0, ">>="), ("arsh", op.BPF_ARSH, 0, "s>>="),
        ("xor", op.BPF_XOR, 0, "^="), ("mov", op.BPF_MOV, 0, "=")]

add64 = _make_alu(op.BPF_ALU64, op.BPF_ADD, 0, "add64", "dst += src")
sub64 = _make_alu(op.BPF_ALU64, op.BPF_SUB, 0, "sub64", "dst -= src")
mul64 = _make_alu(op.BPF_ALU64, op.BPF_MUL, 0, "mul64", "dst *= src")
div64 = _make_alu(op.BPF_ALU64, op.BPF_DIV, 0, "div64", "dst /= src (unsigned)")
sdiv64 = _make_alu(op.BPF_ALU64, op.BPF_DIV, 1, "sdiv64", "dst s/= src (signed; Linux 6.6+)")
mod64 = _make_alu(op.BPF_ALU64, op.BPF_MOD, 0, "mod64", "dst %= src (unsigned)")
smod64 = _make_alu(op.BPF_ALU64, op.BPF_MOD, 1, "smod64", "dst s%= src (signed; Linux 6.6+)")
or64 = _make_alu(op.BPF_ALU64, op.BPF_OR, 0, "or64", "dst |= src")
and64 = _make_alu(op.BPF_ALU64, op.BPF_AND, 0, "and64", "dst &= src")
lsh64 = _make_alu(op.BPF_ALU64, op.BPF_LSH, 0, "lsh64", "dst <<= src")
rsh64 = _make_alu(op.BPF_ALU64, op.BPF_RSH, 0, "rsh64", "dst >>= src (logical)")
arsh64 = _make_alu(op.BPF_ALU64, op.BPF_ARSH, 0, "arsh64", "dst s>>= src (arithmetic)")
xor64 = _make_alu(op.BPF_ALU64, op.BPF_XOR, 0, "xor64", "dst ^= src")
mov64 = _make_alu(op.BPF_ALU64, op.BPF_MOV, 0, "mov64", "dst = src")
add32 = _make_alu(op.BPF_ALU, op.BPF_ADD, 0, "add32", "wdst += wsrc")
sub32 = _make_alu(op.BPF_ALU, op.BPF_SUB, 0, "sub32", "wdst -= wsrc")
mul32 = _make_alu(op.BPF_ALU, op.BPF_MUL, 0, "mul32", "wdst *= wsrc")
div32 = _make_alu(op.BPF_ALU, op.BPF_DIV, 0, "div32", "wdst /= wsrc (unsigned)")
sdiv32 = _make_alu(op.BPF_ALU, op.BPF_DIV, 1, "sdiv32", "wdst s/= wsrc (signed; Linux 6.6+)")
mod32 = _make_alu(op.BPF_ALU, op.BPF_MOD, 0, "mod32", "wdst %= wsrc (unsigned)")
smod32 = _make_alu(op.BPF_ALU, op.BPF_MOD, 1, "smod32", "wdst s%= wsrc (signed; Linux 6.6+)")
or32 = _make_alu(op.BPF_ALU, op.BPF_OR, 0, "or32", "wdst |= wsrc")
and32 = _make_alu(op.BPF_ALU, op.BPF_AND, 0, "and32", "wdst &= wsrc")
lsh32 = _make_alu(op.BPF_ALU, op.BPF_LSH, 0, "lsh32", "wdst <<= wsrc")
rsh32 = _make_alu(op.BPF_ALU, op.BPF_RSH, 0, "rsh32", "wdst >>= wsrc (logical)")
arsh32 = _make_alu(op.BPF_ALU, op.BPF_ARSH, 0, "arsh32", "wdst s>>= wsrc (arithmetic)")
xor32 = _make_alu(op.BPF_ALU, op.BPF_XOR, 0, "xor32", "wdst ^= wsrc")
mov32 = _make_alu(op.BPF_ALU, op.BPF_MOV, 0, "mov32", "wdst = wsrc (zero-extends)")


def neg64(dst: Reg) -> Instruction:
    """``dst = -dst``."""
    return Instruction(op.BPF_ALU64 | op.BPF_NEG, _reg(dst))


def neg32(dst: Reg) -> Instruction:
    """``wdst = -wdst``."""
    return Instruction(op.BPF_ALU | op.BPF_NEG, _reg(dst))


def movsx64(dst: Reg, src: Reg, bits: int) -> Instruction:
    """``dst = (s8|s16|s32)src``: sign-extending move (Linux 6.6+)."""
    if bits not in (8, 16, 32):
        raise InstructionError(f"movsx64 extends from 8, 16 or 32 bits, not {bits}")
    return Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, _reg(dst), _reg(src), bits)


def movsx32(dst: Reg, src: Reg, bits: int) -> Instruction:
    """``wdst = (s8|s16)wsrc``: sign-extending move (Linux 6.6+)."""
    if bits not in (8, 16):
        raise InstructionError(f"movsx32 extends from 8 or 16 bits, not {bits}")
    return Instruction(op.BPF_ALU | op.BPF_MOV | op.BPF_X, _reg(dst), _reg(src), bits)


def _width(bits: int) -> int:
    if bits not in (16, 32, 64):
        raise InstructionError(f"byte swap width must be 16, 32 or 64, not {bits}")
    return bits


def bswap(dst: Reg, bits: int) -> Instruction:
    """``dst = bswapN dst``: unconditional byte swap (Linux 6.6+)."""
    return Instruction(op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE, _reg(dst), imm=_width(bits))


def to_le(dst: Reg, bits: int) -> Instruction:
    """``dst = leN dst``: convert to little endian (truncating to ``bits``)."""
    return Instruction(op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, _reg(dst), imm=_width(bits))


def to_be(dst: Reg, bits: int) -> Instruction:
    """``dst = beN dst``: convert to big endian (truncating to ``bits``)."""
    return Instruction(op.BPF_ALU | op.BPF_END | op.BPF_TO_BE, _reg(dst), imm=_width(bits))


def addr_space_cast(dst: Reg, src: Reg, dst_as: int, src_as: int) -> Instruction:
    """``dst = addr_space_cast(src, dst_as, src_as)`` for BPF arenas (Linux 6.9+)."""
    return Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, _reg(dst), _reg(src), 1,
                       ((dst_as & 0xFFFF) << 16) | (src_as & 0xFFFF))


# --- jumps -----------------------------------------------------------------------------

def _target(target: Target) -> tuple[int, str | None]:
    if isinstance(target, str):
        return 0, target
    if isinstance(target, bool) or not isinstance(target, int):
        raise InstructionError(f"jump target must be a label or an int offset, not {target!r}")
    return target, None


def ja(target: Target) -> Instruction:
    """``goto target`` (16-bit offset)."""
    off, ref = _target(target)
    return Instruction(op.BPF_JMP | op.BPF_JA, off=_off16(off), reference=ref)


def gotol(target: Target) -> Instruction:
    """``gotol target``: unconditional jump with a 32-bit offset (Linux 6.6+)."""
    off, ref = _target(target)
    return Instruction(op.BPF_JMP32 | op.BPF_JA, imm=_imm32(off), reference=ref)


def may_goto(target: Target) -> Instruction:
    """``may_goto target``: bounded-loop escape hatch (Linux 6.9+)."""
    off, ref = _target(target)
    return Instruction(op.BPF_JMP | op.BPF_JCOND, off=_off16(off), reference=ref)


def _make_jmp(cls: int, code: int, name: str, text: str):  # type: ignore[no-untyped-def]
    def f(dst: Reg, src: Operand, target: Target) -> Instruction:
        off, ref = _target(target)
        d = _reg(dst, "dst")
        if isinstance(src, Reg):
            return Instruction(cls | code | op.BPF_X, d, src.num, _off16(off), reference=ref)
        return Instruction(cls | code | op.BPF_K, d, 0, _off16(off), _imm32(src), reference=ref)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``if {text} goto target`` (register or immediate ``src``)."
    return f


jeq = _make_jmp(op.BPF_JMP, op.BPF_JEQ, "jeq", "dst == src")
jne = _make_jmp(op.BPF_JMP, op.BPF_JNE, "jne", "dst != src")
jgt = _make_jmp(op.BPF_JMP, op.BPF_JGT, "jgt", "dst > src (unsigned)")
jge = _make_jmp(op.BPF_JMP, op.BPF_JGE, "jge", "dst >= src (unsigned)")
jlt = _make_jmp(op.BPF_JMP, op.BPF_JLT, "jlt", "dst < src (unsigned)")
jle = _make_jmp(op.BPF_JMP, op.BPF_JLE, "jle", "dst <= src (unsigned)")
jsgt = _make_jmp(op.BPF_JMP, op.BPF_JSGT, "jsgt", "dst s> src")
jsge = _make_jmp(op.BPF_JMP, op.BPF_JSGE, "jsge", "dst s>= src")
jslt = _make_jmp(op.BPF_JMP, op.BPF_JSLT, "jslt", "dst s< src")
jsle = _make_jmp(op.BPF_JMP, op.BPF_JSLE, "jsle", "dst s<= src")
jset = _make_jmp(op.BPF_JMP, op.BPF_JSET, "jset", "dst & src")
jeq32 = _make_jmp(op.BPF_JMP32, op.BPF_JEQ, "jeq32", "wdst == wsrc")
jne32 = _make_jmp(op.BPF_JMP32, op.BPF_JNE, "jne32", "wdst != wsrc")
jgt32 = _make_jmp(op.BPF_JMP32, op.BPF_JGT, "jgt32", "wdst > wsrc (unsigned)")
jge32 = _make_jmp(op.BPF_JMP32, op.BPF_JGE, "jge32", "wdst >= wsrc (unsigned)")
jlt32 = _make_jmp(op.BPF_JMP32, op.BPF_JLT, "jlt32", "wdst < wsrc (unsigned)")
jle32 = _make_jmp(op.BPF_JMP32, op.BPF_JLE, "jle32", "wdst <= wsrc (unsigned)")
jsgt32 = _make_jmp(op.BPF_JMP32, op.BPF_JSGT, "jsgt32", "wdst s> wsrc")
jsge32 = _make_jmp(op.BPF_JMP32, op.BPF_JSGE, "jsge32", "wdst s>= wsrc")
jslt32 = _make_jmp(op.BPF_JMP32, op.BPF_JSLT, "jslt32", "wdst s< wsrc")
jsle32 = _make_jmp(op.BPF_JMP32, op.BPF_JSLE, "jsle32", "wdst s<= wsrc")
jset32 = _make_jmp(op.BPF_JMP32, op.BPF_JSET, "jset32", "wdst & wsrc")


def call(helper: int | str) -> Instruction:
    """Call a helper by id (``call(1)``) or name (``call("bpf_map_lookup_elem")``)."""
    if isinstance(helper, str):
        from pybpf.asm.helpers import helper_id

        hid = helper_id(helper)
        if hid is None:
            raise InstructionError(f"unknown helper {helper!r}")
        return Instruction(op.CALL, imm=hid)
    return Instruction(op.CALL, imm=_imm32(helper))


def call_local(target: Target) -> Instruction:
    """bpf-to-bpf call of the function at ``label(target)`` (or a slot offset)."""
    off, ref = _target(target)
    return Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=_imm32(off if ref is None else -1),
                       reference=ref)


def call_kfunc(func: int | str, module_btf_fd: int = 0) -> Instruction:
    """Call a kernel function by BTF id, or leave ``func`` (a name) for the loader to
    resolve against kernel BTF. ``module_btf_fd`` goes in ``off`` (the fd-array index of a
    module's BTF). Needs Linux 5.13+."""
    if isinstance(func, str):
        return Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, off=module_btf_fd,
                           reference=func)
    return Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, off=module_btf_fd,
                       imm=_imm32(func))


def exit_() -> Instruction:
    """``exit``: return r0 to the caller."""
    return Instruction(op.EXIT)


exit = exit_  # noqa: A001 - the instruction's name; shadows the builtin only on star-import


# --- memory ----------------------------------------------------------------------------

def ldx(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(uN *)(src + off)`` (zero-extending)."""
    return Instruction(op.BPF_LDX | op.BPF_MEM | _size(size), _reg(dst), _reg(src), _off16(off))


def ldxs(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(sN *)(src + off)`` (sign-extending; sizes b/h/w; Linux 6.6+)."""
    s = _size(size)
    if s == op.BPF_DW:
        raise InstructionError("sign-extending loads are 1, 2 or 4 bytes")
    return Instruction(op.BPF_LDX | op.BPF_MEMSX | s, _reg(dst), _reg(src), _off16(off))


def st(size: Size, dst: Reg, off: int, imm: int) -> Instruction:
    """``*(uN *)(dst + off) = imm``."""
    return Instruction(op.BPF_ST | op.BPF_MEM | _size(size), _reg(dst), 0, _off16(off),
                       _imm32(imm))


def stx(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``*(uN *)(dst + off) = src``."""
    return Instruction(op.BPF_STX | op.BPF_MEM | _size(size), _reg(dst), _reg(src), _off16(off))


def ldxb(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(u8 *)(src + off)``."""
    return ldx("b", dst, src, off)


def ldxh(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(u16 *)(src + off)``."""
    return ldx("h", dst, src, off)


def ldxw(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(u32 *)(src + off)``."""
    return ldx("w", dst, src, off)


def ldxdw(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(u64 *)(src + off)``."""
    return ldx("dw", dst, src, off)


def ldxsb(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(s8 *)(src + off)`` (Linux 6.6+)."""
    return ldxs("b", dst, src, off)


def ldxsh(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(s16 *)(src + off)`` (Linux 6.6+)."""
    return ldxs("h", dst, src, off)


def ldxsw(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = *(s32 *)(src + off)`` (Linux 6.6+)."""
    return ldxs("w", dst, src, off)


def stb(dst: Reg, off: int, imm: int) -> Instruction:
    """``*(u8 *)(dst + off) = imm``."""
    return st("b", dst, off, imm)


def sth(dst: Reg, off: int, imm: int) -> Instruction:
    """``*(u16 *)(dst + off) = imm``."""
    return st("h", dst, off, imm)


def stw(dst: Reg, off: int, imm: int) -> Instruction:
    """``*(u32 *)(dst + off) = imm``."""
    return st("w", dst, off, imm)


def stdw(dst: Reg, off: int, imm: int) -> Instruction:
    """``*(u64 *)(dst + off) = imm`` (imm sign-extended)."""
    return st("dw", dst, off, imm)


def stxb(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``*(u8 *)(dst + off) = src``."""
    return stx("b", dst, src, off)


def stxh(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``*(u16 *)(dst + off) = src``."""
    return stx("h", dst, src, off)


def stxw(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``*(u32 *)(dst + off) = src``."""
    return stx("w", dst, src, off)


def stxdw(dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``*(u64 *)(dst + off) = src``."""
    return stx("dw", dst, src, off)


def atomic(size: Size, imm: int, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``BPF_ATOMIC_OP(size, imm, dst, src, off)``: the raw atomic form (``imm`` is one of
    :data:`pybpf.asm.opcodes.ATOMIC_OPS`). Sizes w/dw (b/h only for acquire/release)."""
    return Instruction(op.BPF_STX | op.BPF_ATOMIC | _size(size), _reg(dst), _reg(src),
                       _off16(off), imm)


def _atomic_size(size: Size) -> Size:
    if _size(size) not in (op.BPF_W, op.BPF_DW):
        raise InstructionError("atomic read-modify-write operations are 4 or 8 bytes")
    return size


def atomic_add(size: Size, dst: Reg, src: Reg, off: int = 0, *, fetch: bool = False) -> Instruction:
    """``lock *(uN *)(dst + off) += src``; with ``fetch`` the old value lands in ``src``."""
    return atomic(_atomic_size(size), op.BPF_ADD | (op.BPF_FETCH if fetch else 0), dst, src, off)


def atomic_or(size: Size, dst: Reg, src: Reg, off: int = 0, *, fetch: bool = False) -> Instruction:
    """``lock *(uN *)(dst + off) |= src``; with ``fetch`` the old value lands in ``src``."""
    return atomic(_atomic_size(size), op.BPF_OR | (op.BPF_FETCH if fetch else 0), dst, src, off)


def atomic_and(size: Size, dst: Reg, src: Reg, off: int = 0, *, fetch: bool = False) -> Instruction:
    """``lock *(uN *)(dst + off) &= src``; with ``fetch`` the old value lands in ``src``."""
    return atomic(_atomic_size(size), op.BPF_AND | (op.BPF_FETCH if fetch else 0), dst, src, off)


def atomic_xor(size: Size, dst: Reg, src: Reg, off: int = 0, *, fetch: bool = False) -> Instruction:
    """``lock *(uN *)(dst + off) ^= src``; with ``fetch`` the old value lands in ``src``."""
    return atomic(_atomic_size(size), op.BPF_XOR | (op.BPF_FETCH if fetch else 0), dst, src, off)


def atomic_xchg(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``src = xchg(dst + off, src)``."""
    return atomic(_atomic_size(size), op.BPF_XCHG, dst, src, off)


def atomic_cmpxchg(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``r0 = cmpxchg(dst + off, r0, src)``: store ``src`` if the value equals r0."""
    return atomic(_atomic_size(size), op.BPF_CMPXCHG, dst, src, off)


def load_acquire(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``dst = load_acquire((uN *)(src + off))`` (Linux 6.15+)."""
    return atomic(size, op.BPF_LOAD_ACQ, dst, src, off)


def store_release(size: Size, dst: Reg, src: Reg, off: int = 0) -> Instruction:
    """``store_release((uN *)(dst + off), src)`` (Linux 6.15+)."""
    return atomic(size, op.BPF_STORE_REL, dst, src, off)


# --- 64-bit immediates -------------------------------------------------------------------

def ld_imm64(dst: Reg, value: int) -> Instruction:
    """``dst = value ll``: load a 64-bit constant (two slots)."""
    if not -(1 << 63) <= value < (1 << 64):
        raise InstructionError(f"value {value} does not fit 64 bits")
    value &= (1 << 64) - 1
    return Instruction(op.LD_IMM64, _reg(dst), 0, 0, value - (1 << 64) if value >> 63 else value)


def _ld_pseudo(dst: Reg, src: int, lo: int, hi: int = 0, ref: str | None = None) -> Instruction:
    lo &= 0xFFFFFFFF
    return Instruction(op.LD_IMM64, _reg(dst), src, 0, (_imm32(hi) << 32) | lo, reference=ref)


def ld_map_fd(dst: Reg, fd: int) -> Instruction:
    """``dst = map_by_fd(fd)`` (BPF_PSEUDO_MAP_FD)."""
    return _ld_pseudo(dst, op.BPF_PSEUDO_MAP_FD, fd)


def ld_map_value(dst: Reg, fd: int, off: int = 0) -> Instruction:
    """``dst = &map_value(fd) + off`` for array maps (BPF_PSEUDO_MAP_VALUE; Linux 5.2+)."""
    return _ld_pseudo(dst, op.BPF_PSEUDO_MAP_VALUE, fd, off)


def ld_map_idx(dst: Reg, idx: int) -> Instruction:
    """``dst = map_by_idx(idx)`` into the fd_array (BPF_PSEUDO_MAP_IDX; Linux 5.14+)."""
    return _ld_pseudo(dst, op.BPF_PSEUDO_MAP_IDX, idx)


def ld_map_idx_value(dst: Reg, idx: int, off: int = 0) -> Instruction:
    """``dst = &map_value(map_by_idx(idx)) + off`` (BPF_PSEUDO_MAP_IDX_VALUE; Linux 5.14+)."""
    return _ld_pseudo(dst, op.BPF_PSEUDO_MAP_IDX_VALUE, idx, off)


def ld_btf_id(dst: Reg, btf_id: int, btf_fd: int = 0) -> Instruction:
    """``dst = &ksym`` of a kernel variable by BTF id (BPF_PSEUDO_BTF_ID; Linux 5.10+);
    ``btf_fd`` selects a module's BTF."""
    return _ld_pseudo(dst, op.BPF_PSEUDO_BTF_ID, btf_id, btf_fd)


def ld_func(dst: Reg, target: Target) -> Instruction:
    """``dst = &function`` for callbacks (BPF_PSEUDO_FUNC; Linux 5.13+); ``target`` is a
    label or a slot offset."""
    off, ref = _target(target)
    return _ld_pseudo(dst, op.BPF_PSEUDO_FUNC, off, 0, ref)


def ld_map(dst: Reg, name: str) -> Instruction:
    """LD_IMM64 referring to the map or variable ``name``, for the loader to fill in."""
    return Instruction(op.LD_IMM64, _reg(dst), 0, 0, 0, reference=name)


# --- legacy packet access ------------------------------------------------------------------

def ld_abs(size: Size, imm: int) -> Instruction:
    """``r0 = *(uN *)skb[imm]`` (socket filters only; sizes b/h/w)."""
    s = _size(size)
    if s == op.BPF_DW:
        raise InstructionError("packet loads are 1, 2 or 4 bytes")
    return Instruction(op.BPF_LD | op.BPF_ABS | s, imm=_imm32(imm))


def ld_ind(size: Size, src: Reg, imm: int = 0) -> Instruction:
    """``r0 = *(uN *)skb[src + imm]`` (socket filters only; sizes b/h/w)."""
    s = _size(size)
    if s == op.BPF_DW:
        raise InstructionError("packet loads are 1, 2 or 4 bytes")
    return Instruction(op.BPF_LD | op.BPF_IND | s, src=_reg(src), imm=_imm32(imm))
