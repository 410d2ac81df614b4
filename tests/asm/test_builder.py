"""The Python builder: every function encodes like llvm-mc-19 encodes the same instruction."""

from __future__ import annotations

import pytest

from pybpf.asm import InstructionError, decode, encode
from pybpf.asm.builder import *  # noqa: F401,F403 - the builder is meant to be star-imported
from pybpf.asm.builder import exit as exit_insn

from .oracle import mc_encode

# (builder instruction, the same instruction in llvm's syntax)
CASES = [
    (add64(R1, R2), "r1 += r2"), (add64(R1, -3), "r1 += -3"), (sub32(R3, 7), "w3 -= 7"),
    (mul64(R4, R5), "r4 *= r5"), (div32(R1, R2), "w1 /= w2"), (sdiv64(R1, 9), "r1 s/= 9"),
    (mod64(R1, R2), "r1 %= r2"), (smod32(R1, R2), "w1 s%= w2"), (or64(R1, 0x10), "r1 |= 16"),
    (and32(R1, R2), "w1 &= w2"), (lsh64(R1, 3), "r1 <<= 3"), (rsh32(R1, R9), "w1 >>= w9"),
    (arsh64(R1, 1), "r1 s>>= 1"), (xor64(R1, R2), "r1 ^= r2"), (mov64(R0, 0), "r0 = 0"),
    (mov64(R6, R1), "r6 = r1"), (mov32(R0, -1), "w0 = -1"), (mov32(R0, 0xFFFFFFFF), "w0 = -1"),
    (neg64(R3), "r3 = -r3"), (neg32(R3), "w3 = -w3"), (movsx64(R1, R2, 32), "r1 = (s32)r2"),
    (movsx32(R1, R2, 8), "w1 = (s8)w2"), (bswap(R4, 64), "r4 = bswap64 r4"),
    (to_le(R4, 16), "r4 = le16 r4"), (to_be(R4, 32), "r4 = be32 r4"),
    (addr_space_cast(R1, R2, 1, 0), "r1 = addr_space_cast(r2, 1, 0)"),
    (ja(3), "goto +3"), (gotol(-2), "gotol -2"), (may_goto(1), "may_goto +1"),
    (jeq(R1, 0, 2), "if r1 == 0 goto +2"), (jne(R1, R2, -1), "if r1 != r2 goto -1"),
    (jgt(R1, 5, 1), "if r1 > 5 goto +1"), (jge32(R1, R2, 1), "if w1 >= w2 goto +1"),
    (jlt(R1, 5, 1), "if r1 < 5 goto +1"), (jle32(R1, 5, 1), "if w1 <= 5 goto +1"),
    (jsgt(R1, -5, 1), "if r1 s> -5 goto +1"), (jsge32(R1, R2, 1), "if w1 s>= w2 goto +1"),
    (jslt(R1, R2, 1), "if r1 s< r2 goto +1"), (jsle32(R1, -1, 1), "if w1 s<= -1 goto +1"),
    (jset(R1, 8, 1), "if r1 & 8 goto +1"), (jset32(R1, R2, 1), "if w1 & w2 goto +1"),
    (call(1), "call 1"), (exit_(), "exit"), (exit_insn(), "exit"),
    (ldxb(R1, R2, 3), "r1 = *(u8 *)(r2 + 3)"), (ldxh(R1, R2, -2), "r1 = *(u16 *)(r2 - 2)"),
    (ldxw(R1, R2), "r1 = *(u32 *)(r2 + 0)"), (ldxdw(R1, FP, -8), "r1 = *(u64 *)(r10 - 8)"),
    (ldx(4, R1, R2, 4), "r1 = *(u32 *)(r2 + 4)"),
    (ldxsb(R1, R2, 1), "r1 = *(s8 *)(r2 + 1)"), (ldxsh(R1, R2), "r1 = *(s16 *)(r2 + 0)"),
    (ldxsw(R1, R2, 4), "r1 = *(s32 *)(r2 + 4)"),
    (stb(FP, -1, 7), "*(u8 *)(r10 - 1) = 7"), (sth(FP, -2, -1), "*(u16 *)(r10 - 2) = -1"),
    (stw(FP, -4, 1), "*(u32 *)(r10 - 4) = 1"), (stdw(FP, -8, 0), "*(u64 *)(r10 - 8) = 0"),
    (stxb(FP, R1, -1), "*(u8 *)(r10 - 1) = r1"), (stxh(FP, R1, -2), "*(u16 *)(r10 - 2) = r1"),
    (stxw(FP, R1, -4), "*(u32 *)(r10 - 4) = r1"), (stxdw(FP, R1, -8), "*(u64 *)(r10 - 8) = r1"),
    (atomic_add("dw", R1, R2, 8), "lock *(u64 *)(r1 + 8) += r2"),
    (atomic_add("w", R1, R2), "lock *(u32 *)(r1 + 0) += w2"),
    (atomic_or("dw", R1, R2, fetch=True), "r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)"),
    (atomic_and("w", R1, R2, fetch=True), "w2 = atomic_fetch_and((u32 *)(r1 + 0), w2)"),
    (atomic_xor("dw", R1, R2), "lock *(u64 *)(r1 + 0) ^= r2"),
    (atomic_xchg("dw", R1, R3, -8), "r3 = xchg_64(r1 - 8, r3)"),
    (atomic_cmpxchg("w", R1, R4), "w0 = cmpxchg32_32(r1 + 0, w0, w4)"),
    (ld_imm64(R1, 0x123456789ABCDEF0), "r1 = 0x123456789abcdef0 ll"),
    (ld_imm64(R1, -1), "r1 = -1 ll"), (ld_imm64(R1, 1 << 63), "r1 = -0x8000000000000000 ll"),
    (ld_map_fd(R1, 5), "ld_pseudo r1, 1, 5"), (ld_map_idx(R1, 2), "ld_pseudo r1, 5, 2"),
    (ld_btf_id(R2, 77), "ld_pseudo r2, 3, 77"),
    (ld_abs("b", 12), "r0 = *(u8 *)skb[12]"), (ld_ind("w", R3), "r0 = *(u32 *)skb[r3]"),
]


def test_builder_matches_llvm_mc(require_tools):
    require_tools("llvm-mc-19")
    for byteorder, triple in (("little", "bpfel"), ("big", "bpfeb")):
        expected = mc_encode("\n".join(text for _, text in CASES) + "\n", triple=triple)
        assert len(expected) == len(CASES)
        for (insn, text), (_, raw) in zip(CASES, expected):
            assert encode([insn], byteorder) == raw, f"{text} ({byteorder})"


def test_pseudo_loads_keep_their_second_half():
    # llvm's ld_pseudo syntax cannot say the upper half; the kernel's encodings need it.
    [v] = decode(encode([ld_map_value(R1, 5, 24)]))
    assert (v.src, v.imm_lo, v.imm_hi) == (2, 5, 24)
    [v] = decode(encode([ld_map_idx_value(R1, 3, 8)]))
    assert (v.src, v.imm_lo, v.imm_hi) == (6, 3, 8)
    [v] = decode(encode([load_acquire("dw", R0, R1, -8)]))
    assert (v.opcode, v.dst, v.src, v.off, v.imm) == (0xDB, 0, 1, -8, 0x100)
    [v] = decode(encode([store_release("b", R1, R2, 4)]))
    assert (v.opcode, v.dst, v.src, v.off, v.imm) == (0xD3, 1, 2, 4, 0x110)


def test_labels_jumps_and_calls():
    insns = program(
        mov64(R0, 0),
        label("loop"),
        add64(R0, 1),
        jlt(R0, 10, "loop"),
        ld_imm64(R2, 7),               # two slots between here and the targets
        jeq(R0, 10, "done"),
        call_local("fn"),
        ld_func(R3, "fn"),
        gotol("done"),
        label("fn"),
        mov32(R0, 2),
        exit_(),
        label("done"),
        exit_(),
    )
    offsets = {i.symbol: n for n, i in enumerate(insns) if i.symbol}
    assert offsets == {"loop": 1, "fn": 8, "done": 10}
    jlt_, jeq_, call_, ldf, gl = insns[2], insns[4], insns[5], insns[6], insns[7]
    assert jlt_.off == -2                      # back to slot 1 from slot 2
    # slots: LD_IMM64s at 3-4 and 7-8 count two; fn is slot 10, done slot 12
    assert jeq_.off == 6                       # slot 5 -> slot 12
    assert call_.src == 1 and call_.imm == 3   # slot 6 -> slot 10
    assert ldf.src == 4 and ldf.imm_lo == 2    # slot 7 -> slot 10
    assert gl.imm == 2                         # slot 9 -> slot 12
    assert decode(to_bytes(insns)) == insns


def test_label_at_end_and_aliases():
    insns = program(ja("end"), mov64(R0, 1), label("end"))
    assert insns[0].off == 1
    insns = program(label("a"), label("b"), jeq(R1, 0, "b"), exit_())
    assert insns[0].symbol == "a" and insns[0].off == -1


@pytest.mark.parametrize("build,words", [
    (lambda: program(ja("nowhere"), exit_()), "unknown label 'nowhere'"),
    (lambda: program(label("x"), exit_(), label("x"), exit_()), "defined twice"),
    (lambda: mov64(R0, 1 << 32), "does not fit 32 bits"),
    (lambda: mov64(0, 1), "must be a register"),
    (lambda: ldx("q", R0, R1), "size must be"),
    (lambda: movsx64(R1, R2, 64), "8, 16 or 32"),
    (lambda: ldxs("dw", R1, R2), "1, 2 or 4"),
    (lambda: atomic_add("h", R1, R2), "4 or 8 bytes"),
    (lambda: stxdw(FP, R1, 1 << 15), "does not fit 16 bits"),
    (lambda: program(*([ja("far")] + [mov64(R0, 0)] * 40000 + [label("far"), exit_()])),
     "out of 16-bit range"),
])
def test_builder_errors(build, words):
    with pytest.raises(InstructionError) as info:
        build()
    assert words in str(info.value)


def test_program_validates():
    from pybpf.asm import Instruction

    with pytest.raises(InstructionError) as info:
        program(mov64(R0, 0), Instruction(0xFF), exit_())
    assert info.value.offset == 8
    assert program(Instruction(0xFF), check=False)[0].opcode == 0xFF


def test_str_is_assembler_input():
    from pybpf.asm import assemble, format_program

    insns = program(label("top"), mov64(R0, 0), jne(R0, 0, "top"), call_local("f"),
                    ld_map(R1, "counts"), exit_(), label("f"), exit_())
    assert str(insns[1]) == "if r0 != 0x0 goto top"
    assert str(insns[2]) == "call f"
    assert str(insns[3]) == "r1 = counts ll"
    again = assemble(format_program(insns))
    assert again == insns
    assert [(i.symbol, i.reference) for i in again] == [(i.symbol, i.reference) for i in insns]
