"""eBPF opcode fields and the tables that describe every valid encoding (kernel + RFC 9669).

An opcode byte is ``class | (op or size|mode) | source``. The names below follow the kernel's
uapi (``BPF_ALU64``, ``BPF_JEQ``, ...). :data:`RULES` is the single place that says which
encodings are valid: for every known opcode byte it lists the allowed values of the other fields.
The decoder (strict mode) and the builder both consult it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

__all__ = [
    # classes
    "BPF_LD", "BPF_LDX", "BPF_ST", "BPF_STX", "BPF_ALU", "BPF_JMP", "BPF_JMP32", "BPF_ALU64",
    # sizes and modes
    "BPF_W", "BPF_H", "BPF_B", "BPF_DW", "BPF_IMM", "BPF_ABS", "BPF_IND", "BPF_MEM",
    "BPF_MEMSX", "BPF_ATOMIC",
    # source
    "BPF_K", "BPF_X", "BPF_TO_LE", "BPF_TO_BE",
    # alu ops
    "BPF_ADD", "BPF_SUB", "BPF_MUL", "BPF_DIV", "BPF_OR", "BPF_AND", "BPF_LSH", "BPF_RSH",
    "BPF_NEG", "BPF_MOD", "BPF_XOR", "BPF_MOV", "BPF_ARSH", "BPF_END",
    # jmp ops
    "BPF_JA", "BPF_JEQ", "BPF_JGT", "BPF_JGE", "BPF_JSET", "BPF_JNE", "BPF_JSGT", "BPF_JSGE",
    "BPF_CALL", "BPF_EXIT", "BPF_JLT", "BPF_JLE", "BPF_JSLT", "BPF_JSLE", "BPF_JCOND",
    # atomics
    "BPF_FETCH", "BPF_XCHG", "BPF_CMPXCHG", "BPF_LOAD_ACQ", "BPF_STORE_REL", "ATOMIC_OPS",
    # pseudo sources
    "BPF_PSEUDO_MAP_FD", "BPF_PSEUDO_MAP_VALUE", "BPF_PSEUDO_BTF_ID", "BPF_PSEUDO_FUNC",
    "BPF_PSEUDO_MAP_IDX", "BPF_PSEUDO_MAP_IDX_VALUE", "BPF_PSEUDO_CALL",
    "BPF_PSEUDO_KFUNC_CALL", "PSEUDO_LD_IMM64_NAMES", "PSEUDO_CALL_NAMES",
    # misc
    "LD_IMM64", "CALL", "EXIT", "MAX_REG", "REG_SET", "SIZE_BYTES", "BYTES_SIZE",
    "ALU_OP_NAMES", "JMP_OP_NAMES", "CLASS_NAMES", "Rule", "RULES",
    "bpf_class", "bpf_op", "bpf_src", "bpf_size", "bpf_mode",
]

# Instruction classes (low 3 bits).
BPF_LD = 0x00
BPF_LDX = 0x01
BPF_ST = 0x02
BPF_STX = 0x03
BPF_ALU = 0x04
BPF_JMP = 0x05
BPF_JMP32 = 0x06
BPF_ALU64 = 0x07

# Load/store sizes (bits 3-4) and modes (bits 5-7).
BPF_W = 0x00
BPF_H = 0x08
BPF_B = 0x10
BPF_DW = 0x18
BPF_IMM = 0x00
BPF_ABS = 0x20
BPF_IND = 0x40
BPF_MEM = 0x60
BPF_MEMSX = 0x80
BPF_ATOMIC = 0xC0

# Source operand (bit 3) for ALU/JMP; byte order for BPF_END.
BPF_K = 0x00
BPF_X = 0x08
BPF_TO_LE = 0x00
BPF_TO_BE = 0x08

# ALU operations (bits 4-7).
BPF_ADD = 0x00
BPF_SUB = 0x10
BPF_MUL = 0x20
BPF_DIV = 0x30
BPF_OR = 0x40
BPF_AND = 0x50
BPF_LSH = 0x60
BPF_RSH = 0x70
BPF_NEG = 0x80
BPF_MOD = 0x90
BPF_XOR = 0xA0
BPF_MOV = 0xB0
BPF_ARSH = 0xC0
BPF_END = 0xD0

# Jump operations (bits 4-7).
BPF_JA = 0x00
BPF_JEQ = 0x10
BPF_JGT = 0x20
BPF_JGE = 0x30
BPF_JSET = 0x40
BPF_JNE = 0x50
BPF_JSGT = 0x60
BPF_JSGE = 0x70
BPF_CALL = 0x80
BPF_EXIT = 0x90
BPF_JLT = 0xA0
BPF_JLE = 0xB0
BPF_JSLT = 0xC0
BPF_JSLE = 0xD0
BPF_JCOND = 0xE0  # may_goto (Linux 6.9+)

# Atomic operations (the imm field of BPF_STX|BPF_ATOMIC).
BPF_FETCH = 0x01
BPF_XCHG = 0xE0 | BPF_FETCH
BPF_CMPXCHG = 0xF0 | BPF_FETCH
BPF_LOAD_ACQ = 0x100  # Linux 6.15+
BPF_STORE_REL = 0x110  # Linux 6.15+

#: imm of an atomic instruction -> (name, fetches). ``name`` is the operation as llvm spells it.
ATOMIC_OPS: dict[int, tuple[str, bool]] = {
    BPF_ADD: ("add", False),
    BPF_OR: ("or", False),
    BPF_AND: ("and", False),
    BPF_XOR: ("xor", False),
    BPF_ADD | BPF_FETCH: ("add", True),
    BPF_OR | BPF_FETCH: ("or", True),
    BPF_AND | BPF_FETCH: ("and", True),
    BPF_XOR | BPF_FETCH: ("xor", True),
    BPF_XCHG: ("xchg", True),
    BPF_CMPXCHG: ("cmpxchg", True),
    BPF_LOAD_ACQ: ("load_acquire", True),
    BPF_STORE_REL: ("store_release", False),
}

# Pseudo sources of LD_IMM64 (src field).
BPF_PSEUDO_MAP_FD = 1
BPF_PSEUDO_MAP_VALUE = 2
BPF_PSEUDO_BTF_ID = 3
BPF_PSEUDO_FUNC = 4
BPF_PSEUDO_MAP_IDX = 5
BPF_PSEUDO_MAP_IDX_VALUE = 6
# Pseudo sources of CALL (src field).
BPF_PSEUDO_CALL = 1
BPF_PSEUDO_KFUNC_CALL = 2

PSEUDO_LD_IMM64_NAMES = {
    0: "imm64", BPF_PSEUDO_MAP_FD: "map_fd", BPF_PSEUDO_MAP_VALUE: "map_value",
    BPF_PSEUDO_BTF_ID: "btf_id", BPF_PSEUDO_FUNC: "func", BPF_PSEUDO_MAP_IDX: "map_idx",
    BPF_PSEUDO_MAP_IDX_VALUE: "map_idx_value",
}
PSEUDO_CALL_NAMES = {0: "helper", BPF_PSEUDO_CALL: "bpf-to-bpf", BPF_PSEUDO_KFUNC_CALL: "kfunc"}

LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW  # 0x18, the only 16-byte instruction
CALL = BPF_JMP | BPF_CALL  # 0x85
EXIT = BPF_JMP | BPF_EXIT  # 0x95
MAX_REG = 10  # r0..r10; r10 is the read-only frame pointer

SIZE_BYTES = {BPF_B: 1, BPF_H: 2, BPF_W: 4, BPF_DW: 8}
BYTES_SIZE = {v: k for k, v in SIZE_BYTES.items()}

ALU_OP_NAMES = {
    BPF_ADD: "add", BPF_SUB: "sub", BPF_MUL: "mul", BPF_DIV: "div", BPF_OR: "or",
    BPF_AND: "and", BPF_LSH: "lsh", BPF_RSH: "rsh", BPF_NEG: "neg", BPF_MOD: "mod",
    BPF_XOR: "xor", BPF_MOV: "mov", BPF_ARSH: "arsh", BPF_END: "end",
}
JMP_OP_NAMES = {
    BPF_JA: "ja", BPF_JEQ: "jeq", BPF_JGT: "jgt", BPF_JGE: "jge", BPF_JSET: "jset",
    BPF_JNE: "jne", BPF_JSGT: "jsgt", BPF_JSGE: "jsge", BPF_CALL: "call", BPF_EXIT: "exit",
    BPF_JLT: "jlt", BPF_JLE: "jle", BPF_JSLT: "jslt", BPF_JSLE: "jsle", BPF_JCOND: "jcond",
}
CLASS_NAMES = {
    BPF_LD: "ld", BPF_LDX: "ldx", BPF_ST: "st", BPF_STX: "stx", BPF_ALU: "alu",
    BPF_JMP: "jmp", BPF_JMP32: "jmp32", BPF_ALU64: "alu64",
}


def bpf_class(opcode: int) -> int:
    return opcode & 0x07


def bpf_op(opcode: int) -> int:
    return opcode & 0xF0


def bpf_src(opcode: int) -> int:
    return opcode & 0x08


def bpf_size(opcode: int) -> int:
    return opcode & 0x18


def bpf_mode(opcode: int) -> int:
    return opcode & 0xE0


class Rule(NamedTuple):
    """Allowed field values of one opcode byte. ``None`` means any value.

    ``extra(dst, src, off, imm)`` returns an error text for cross-field constraints, or None.
    ``since`` names the kernel that introduced the encoding (for messages and docs).
    """

    dst: frozenset[int] | None
    src: frozenset[int] | None
    off: frozenset[int] | None
    imm: frozenset[int] | None
    extra: Callable[[int, int, int, int], str | None] | None = None
    since: str = ""


REG_SET = frozenset(range(MAX_REG + 1))  #: valid register numbers
_REGS = REG_SET
_ZERO = frozenset({0})


def _mov64_x_extra(dst: int, src: int, off: int, imm: int) -> str | None:
    # off=1 is addr_space_cast (imm = dst_as << 16 | src_as); every other form has imm=0.
    if off != 1 and imm != 0:
        return "reserved imm field is not 0"
    return None


def _build_rules() -> dict[int, Rule]:
    rules: dict[int, Rule] = {}
    signed_ok = frozenset({0, 1})  # off=1 selects sdiv/smod (Linux 6.6+, cpu v4)
    for cls in (BPF_ALU, BPF_ALU64):
        for op in ALU_OP_NAMES:
            if op == BPF_END:
                continue
            if op == BPF_NEG:
                rules[cls | op] = Rule(_REGS, _ZERO, _ZERO, _ZERO)
                continue
            off_k = signed_ok if op in (BPF_DIV, BPF_MOD) else _ZERO
            off_x = off_k
            extra = None
            if op == BPF_MOV:
                # movsx (Linux 6.6+): off = 8/16 (32-bit) or 8/16/32 (64-bit); addr_space_cast: off=1.
                off_x = frozenset({0, 8, 16, 32, 1}) if cls == BPF_ALU64 else frozenset({0, 8, 16})
                extra = _mov64_x_extra if cls == BPF_ALU64 else None
            rules[cls | op | BPF_K] = Rule(_REGS, _ZERO, off_k, None)
            rules[cls | op | BPF_X] = Rule(_REGS, _REGS, off_x, None if extra else _ZERO, extra)
    widths = frozenset({16, 32, 64})
    rules[BPF_ALU | BPF_END | BPF_TO_LE] = Rule(_REGS, _ZERO, _ZERO, widths)
    rules[BPF_ALU | BPF_END | BPF_TO_BE] = Rule(_REGS, _ZERO, _ZERO, widths)
    rules[BPF_ALU64 | BPF_END | BPF_TO_LE] = Rule(_REGS, _ZERO, _ZERO, widths, since="6.6")
    for cls in (BPF_JMP, BPF_JMP32):
        for op in JMP_OP_NAMES:
            if op in (BPF_JA, BPF_CALL, BPF_EXIT, BPF_JCOND):
                continue
            rules[cls | op | BPF_K] = Rule(_REGS, _ZERO, None, None)
            rules[cls | op | BPF_X] = Rule(_REGS, _REGS, None, _ZERO)
    rules[BPF_JMP | BPF_JA] = Rule(_ZERO, _ZERO, None, _ZERO)
    rules[BPF_JMP32 | BPF_JA] = Rule(_ZERO, _ZERO, _ZERO, None, since="6.6")  # gotol
    rules[BPF_JMP | BPF_JCOND] = Rule(_ZERO, _ZERO, None, _ZERO, since="6.9")  # may_goto
    rules[CALL] = Rule(_ZERO, frozenset({0, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL}), _ZERO, None)
    rules[EXIT] = Rule(_ZERO, _ZERO, _ZERO, _ZERO)
    rules[LD_IMM64] = Rule(_REGS, frozenset(PSEUDO_LD_IMM64_NAMES), _ZERO, None)
    for size in (BPF_W, BPF_H, BPF_B):
        rules[BPF_LD | BPF_ABS | size] = Rule(_ZERO, _ZERO, _ZERO, None)
        rules[BPF_LD | BPF_IND | size] = Rule(_ZERO, _REGS, _ZERO, None)
        rules[BPF_LDX | BPF_MEMSX | size] = Rule(_REGS, _REGS, None, _ZERO, since="6.6")
    atomic_w = frozenset(op for op in ATOMIC_OPS)
    atomic_bh = frozenset({BPF_LOAD_ACQ, BPF_STORE_REL})
    for size in (BPF_W, BPF_H, BPF_B, BPF_DW):
        rules[BPF_LDX | BPF_MEM | size] = Rule(_REGS, _REGS, None, _ZERO)
        rules[BPF_ST | BPF_MEM | size] = Rule(_REGS, _ZERO, None, None)
        rules[BPF_STX | BPF_MEM | size] = Rule(_REGS, _REGS, None, _ZERO)
        rules[BPF_STX | BPF_ATOMIC | size] = Rule(
            _REGS, _REGS, None, atomic_w if size in (BPF_W, BPF_DW) else atomic_bh)
    return rules


#: opcode byte -> :class:`Rule` for every encoding the kernel or RFC 9669 defines.
RULES: dict[int, Rule] = _build_rules()
