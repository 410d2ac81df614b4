"""A corpus of assembly lines covering every instruction form llvm-19 knows, for the
llvm-mc differential tests (decimal and hex immediates, negative offsets, every size)."""

from __future__ import annotations

ALU_OPS = ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "%=", "^=", "s>>=", "s/=", "s%="]
JMP_OPS = ["==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&"]
SIZES = ["u8", "u16", "u32", "u64"]
IMMS = ["0", "1", "-1", "0x7fffffff", "-0x80000000", "1234"]
OFFS = ["+ 0", "+ 8", "- 8", "+ 0x7fff", "- 0x8000"]


def corpus() -> list[str]:
    lines: list[str] = []
    for reg in ("r", "w"):
        for o in ALU_OPS:
            lines.append(f"{reg}1 {o} {reg}2")
            lines.append(f"{reg}10 {o} {reg}0")
            for imm in IMMS[:4]:
                lines.append(f"{reg}3 {o} {imm}")
        lines.append(f"{reg}1 = {reg}2")
        lines.append(f"{reg}4 = -{reg}4")
        for imm in IMMS:
            lines.append(f"{reg}5 = {imm}")
        lines.append(f"{reg}6 = (s8){reg}7")
        lines.append(f"{reg}6 = (s16){reg}7")
        for o in JMP_OPS:
            lines.append(f"if {reg}1 {o} {reg}2 goto +3")
            lines.append(f"if {reg}9 {o} {reg}10 goto -0x8000")
            for imm in IMMS[:4]:
                lines.append(f"if {reg}3 {o} {imm} goto +0x7fff")
    lines.append("r6 = (s32)r7")
    for bits in (16, 32, 64):
        for kind in ("le", "be", "bswap"):
            lines.append(f"r2 = {kind}{bits} r2")
    lines += ["goto +0", "goto -1", "goto +0x7fff", "gotol +5", "gotol -0x8000",
              "gotol +0x7fff", "may_goto +4", "call 1", "call 0x7fffffff", "call -1",
              "exit", "callx r3"]
    for v in ["0", "1", "-1", "0x123456789abcdef0", "-0x8000000000000000",
              "0x7fffffffffffffff", "0xffffffff", "4294967296"]:
        lines.append(f"r7 = {v} ll")
    for src in range(1, 7):
        lines.append(f"ld_pseudo r1, {src}, 0x12345678")
    for off in OFFS:
        for size in SIZES:
            lines.append(f"r1 = *({size} *)(r2 {off})")
            lines.append(f"*({size} *)(r10 {off}) = r3")
            lines.append(f"*({size} *)(r10 {off}) = 0x7f")
            lines.append(f"*({size} *)(r10 {off}) = -5")
            if size != "u64":
                lines.append(f"w1 = *({size} *)(r2 {off})")
                lines.append(f"*({size} *)(r10 {off}) = w3")
                lines.append(f"r4 = *(s{size[1:]} *)(r5 {off})")
        for width, reg, xchg, cmpxchg in (("u64", "r", "xchg_64", "cmpxchg_64"),
                                          ("u32", "w", "xchg32_32", "cmpxchg32_32")):
            for o in ("+=", "|=", "&=", "^="):
                lines.append(f"lock *({width} *)(r1 {off}) {o} {reg}2")
            for name in ("add", "or", "and", "xor"):
                lines.append(f"{reg}2 = atomic_fetch_{name}(({width} *)(r1 {off}), {reg}2)")
            lines.append(f"{reg}3 = {xchg}(r1 {off}, {reg}3)")
            lines.append(f"{reg}0 = {cmpxchg}(r1 {off}, {reg}0, {reg}4)")
    for size in ("u8", "u16", "u32"):
        lines.append(f"r0 = *({size} *)skb[12]")
        lines.append(f"r0 = *({size} *)skb[-1]")
        lines.append(f"r0 = *({size} *)skb[r3]")
    lines.append("r1 = addr_space_cast(r2, 1, 0)")
    lines.append("r1 = addr_space_cast(r2, 0x1234, 0xffff)")
    return lines
