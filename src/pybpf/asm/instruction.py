"""The :class:`Instruction` model, registers, source-line metadata and :class:`InstructionError`.

One :class:`Instruction` is one eBPF instruction as the kernel sees it: ``opcode``, ``dst``,
``src``, ``off``, ``imm``. LD_IMM64 (opcode 0x18) is a *single* Instruction that occupies two
8-byte slots; its ``imm`` holds the whole 64-bit value (``imm_lo``/``imm_hi`` give the halves).

Besides the encoding, every instruction carries four metadata slots the loader and the
disassemblers use, none of which affects the encoding or equality:

``symbol``
    a name defined at this instruction (function or label), e.g. ``"handle_exec"``.
``reference``
    a name this instruction refers to and that a later step resolves: a label for jumps and
    bpf-to-bpf calls, a map or variable for LD_IMM64, a kfunc name for kfunc calls.
``line``
    a :class:`LineInfo` (source file, line, column, text) from ``.BTF.ext`` or the kernel.
``core``
    the CO-RE relocation that applies to this instruction (owned by :mod:`pybpf.core`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from pybpf.asm import opcodes as op
from pybpf.errors import BPFError

__all__ = ["Instruction", "InstructionError", "LineInfo", "Reg", "R0", "R1", "R2", "R3", "R4",
           "R5", "R6", "R7", "R8", "R9", "R10", "FP", "REGISTERS"]


class InstructionError(BPFError, ValueError):
    """Malformed or invalid instruction bytes or text.

    ``offset`` is the byte offset of the offending instruction (in the buffer given to the
    decoder), ``index`` its slot index (offset // 8); ``line`` is the 1-based source line for
    assembler errors. Any of them may be None when not applicable.
    """

    def __init__(self, message: str, *, offset: int | None = None, line: int | None = None) -> None:
        where = []
        if offset is not None:
            where.append(f"byte offset {offset} (insn {offset // 8})")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{message} at {', '.join(where)}" if where else message)
        self.offset = offset
        self.index = None if offset is None else offset // 8
        self.line = line

    def __str__(self) -> str:
        return BPFError.__str__(self)


class Reg:
    """A register operand (``R0`` .. ``R10``); distinct from ``int`` so the builder can tell
    ``mov64(R0, R1)`` (register source) from ``mov64(R0, 1)`` (immediate)."""

    __slots__ = ("num",)

    def __init__(self, num: int) -> None:
        self.num = num

    def __repr__(self) -> str:
        return f"R{self.num}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reg) and other.num == self.num

    def __hash__(self) -> int:
        return hash(("Reg", self.num))


REGISTERS = tuple(Reg(i) for i in range(op.MAX_REG + 1))
R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = REGISTERS
FP = R10  #: the frame pointer


@dataclass(frozen=True)
class LineInfo:
    """Source position of an instruction: ``file``, 1-based ``line``, ``column`` and the
    source ``text`` of that line (as stored in ``.BTF.ext`` line info)."""

    file: str
    line: int
    column: int = 0
    text: str = ""


class Instruction:
    """One eBPF instruction (LD_IMM64 included, as one 16-byte instruction).

    Fields are plain ints: ``opcode`` (u8), ``dst`` and ``src`` (register numbers or, for
    pseudo instructions, the pseudo-source value), ``off`` (s16) and ``imm`` (s32, or the
    64-bit value for LD_IMM64). Equality compares the encoding only, not the metadata.
    """

    __slots__ = ("opcode", "dst", "src", "off", "imm", "symbol", "reference", "line", "core")

    def __init__(self, opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0, *,
                 symbol: str | None = None, reference: str | None = None,
                 line: LineInfo | None = None, core: Any = None) -> None:
        self.opcode = opcode
        self.dst = dst
        self.src = src
        self.off = off
        self.imm = imm
        self.symbol = symbol
        self.reference = reference
        self.line = line
        self.core = core

    # --- shape -------------------------------------------------------------------------
    @property
    def is_ld_imm64(self) -> bool:
        """True for the 16-byte LD_IMM64 (``rD = imm64 ll`` and its pseudo forms)."""
        return self.opcode == op.LD_IMM64

    @property
    def size(self) -> int:
        """Encoded size in bytes: 16 for LD_IMM64, else 8."""
        return 16 if self.opcode == op.LD_IMM64 else 8

    @property
    def slots(self) -> int:
        """Number of 8-byte slots (what jump offsets count): 2 for LD_IMM64, else 1."""
        return 2 if self.opcode == op.LD_IMM64 else 1

    @property
    def cls(self) -> int:
        """The instruction class (``BPF_ALU64``, ``BPF_JMP``, ...)."""
        return self.opcode & 0x07

    @property
    def imm_lo(self) -> int:
        """Low 32 bits of ``imm`` as a signed value (the first slot's imm field)."""
        v = self.imm & 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v

    @property
    def imm_hi(self) -> int:
        """High 32 bits of a LD_IMM64 value as a signed value (the second slot's imm field)."""
        v = (self.imm >> 32) & 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v

    # --- kind predicates used by the loader and the formatters ---------------------------
    @property
    def is_jump(self) -> bool:
        """A jump with a pc-relative target (conditional, ``goto``, ``gotol``, ``may_goto``)."""
        cls = self.opcode & 0x07
        if cls != op.BPF_JMP and cls != op.BPF_JMP32:
            return False
        o = self.opcode & 0xF0
        return o != op.BPF_CALL and o != op.BPF_EXIT

    @property
    def is_call(self) -> bool:
        return self.opcode == op.CALL

    @property
    def is_helper_call(self) -> bool:
        return self.opcode == op.CALL and self.src == 0

    @property
    def is_pseudo_call(self) -> bool:
        """A bpf-to-bpf call (``src == BPF_PSEUDO_CALL``; ``imm`` is pc-relative)."""
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_CALL

    @property
    def is_kfunc_call(self) -> bool:
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_KFUNC_CALL

    @property
    def is_exit(self) -> bool:
        return self.opcode == op.EXIT

    @property
    def is_load_from_map(self) -> bool:
        """LD_IMM64 of a map (fd, index, or value address)."""
        return self.opcode == op.LD_IMM64 and self.src in (
            op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE, op.BPF_PSEUDO_MAP_IDX,
            op.BPF_PSEUDO_MAP_IDX_VALUE)

    def jump_target(self, index: int) -> int | None:
        """Slot index this instruction transfers control to when at slot ``index``.

        Covers jumps (``off``, or ``imm`` for ``gotol``), bpf-to-bpf calls and LD_IMM64 of a
        function address (``imm``). None for everything else.
        """
        if self.opcode == op.BPF_JMP32 | op.BPF_JA:
            return index + 1 + self.imm
        if self.is_jump:
            return index + 1 + self.off
        if self.is_pseudo_call:
            return index + 1 + self.imm
        if self.opcode == op.LD_IMM64 and self.src == op.BPF_PSEUDO_FUNC:
            return index + 1 + self.imm_lo
        return None

    # --- value semantics -----------------------------------------------------------------
    def key(self) -> tuple[int, int, int, int, int]:
        """The encoding as a tuple (opcode, dst, src, off, imm)."""
        return (self.opcode, self.dst, self.src, self.off, self.imm)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        return (self.opcode == other.opcode and self.dst == other.dst and self.src == other.src
                and self.off == other.off and self.imm == other.imm)

    __hash__ = None  # type: ignore[assignment]  # mutable: the loader patches in place

    def copy(self) -> Instruction:
        """A shallow copy (metadata objects are shared)."""
        return Instruction(self.opcode, self.dst, self.src, self.off, self.imm,
                           symbol=self.symbol, reference=self.reference, line=self.line,
                           core=self.core)

    def with_symbol(self, name: str) -> Instruction:
        """Set ``symbol`` (a label or function name defined here) and return self."""
        self.symbol = name
        return self

    sym = with_symbol

    def __bytes__(self) -> bytes:
        """The encoding in the host's byte order (what ``BPF_PROG_LOAD`` takes)."""
        from pybpf.asm.codec import encode

        return encode([self], sys.byteorder)  # type: ignore[arg-type]

    def __str__(self) -> str:
        from pybpf.asm.llvm import format_instruction

        return format_instruction(self, alu32=True, symbolic=True)

    def __repr__(self) -> str:
        meta = "".join(f", {k}={getattr(self, k)!r}" for k in ("symbol", "reference")
                       if getattr(self, k) is not None)
        return (f"Instruction(0x{self.opcode:02x}, dst={self.dst}, src={self.src}, "
                f"off={self.off}, imm={self.imm}{meta})")
