"""Assembler input forms and errors (the encodings themselves are checked against llvm-mc in
test_llvm_mc.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.asm import (Instruction, InstructionError, assemble, assemble_bytes,
                       assemble_sections, encode, format_instruction)
from pybpf.asm import opcodes as op

from .oracle import code_sections, mc_object
from .test_codec import valid_instructions


def test_labels_comments_and_number_forms(require_tools, tmp_path):
    require_tools("llvm-mc-19")
    source = """
        # a comment line
        entry:  r0 = 0          // trailing comment
                r1 = 0x10; r2 = r1   # two statements
        .Lloop: r0 += 1
                if r0 < r1 goto .Lloop
                if w0 == 16 goto done
                r0 = -5
        done:
                exit
    """
    obj = str(tmp_path / "a.o")
    mc_object(source, obj)
    _, [text] = code_sections(obj)
    insns = assemble(source)
    assert encode(insns) == text.data
    assert [i.symbol for i in insns] == ["entry", None, None, ".Lloop", None, None, None, "done"]
    assert insns[4].reference == ".Lloop" and insns[5].reference == "done"


def test_objdump_listing_with_headers_annotations_and_relocations():
    listing = """
p.o:\tfile format elf64-bpf

Disassembly of section .text:

0000000000000000 <sub>:
; static int sub(int x) { return x * 3; }
       0:\t24 01 00 00 03 00 00 00\tw1 *= 0x3
       1:\tbc 10 00 00 00 00 00 00\tw0 = w1
       2:\t95 00 00 00 00 00 00 00\texit

Disassembly of section xdp:

0000000000000000 <prog>:
       0:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll
\t\t0000000000000000:  R_BPF_64_64\tcounts
       2:\t85 10 00 00 ff ff ff ff\tcall -0x1
\t\t0000000000000010:  R_BPF_64_32\tsub
       3:\t15 00 01 00 00 00 00 00\tif r0 == 0x0 goto +0x1 <prog+0x28>
       4:\t6f 21 00 00 00 00 00 00\tr1 <<= r2
       5:\t95 00 00 00 00 00 00 00\texit
"""
    sections = assemble_sections(listing)
    assert list(sections) == [".text", "xdp"]
    assert sections[".text"][0].symbol == "sub"
    xdp = sections["xdp"]
    assert xdp[0].symbol == "prog" and xdp[0].reference == "counts"
    # The relocated call keeps clang's encoding (pseudo call, imm -1) and names its target.
    assert (xdp[1].src, xdp[1].imm, xdp[1].reference) == (op.BPF_PSEUDO_CALL, -1, "sub")
    assert xdp[2].off == 1 and xdp[3].opcode == 0x6F
    raw = [line.split("\t")[1] for line in listing.split("section xdp")[1].splitlines()
           if line.strip()[:1].isdigit() and "\t" in line and ":  R_BPF" not in line]
    assert encode(xdp) == bytes.fromhex("".join(raw))


def test_symbolic_ld_imm64_and_local_calls():
    insns = assemble("""
        r1 = my_map ll
        r2 = cb ll
        call cb
        exit
    cb:
        r0 = 0
        exit
    """)
    assert insns[0].reference == "my_map" and insns[0].src == 0 and insns[0].imm == 0
    assert insns[1].src == op.BPF_PSEUDO_FUNC and insns[1].imm == 3   # slot 2 -> slot 5
    assert insns[2].src == op.BPF_PSEUDO_CALL and insns[2].imm == 1   # slot 4 -> slot 5


def test_section_directive_and_single_section_api():
    text = ".section xdp\nr0 = 1\nexit\n.section tc\nr0 = 2\nexit\n"
    assert list(assemble_sections(text)) == ["xdp", "tc"]
    with pytest.raises(InstructionError, match="2 sections"):
        assemble(text)
    assert assemble_bytes("r0 = 1\nexit") == encode([Instruction(0xB7, imm=1), Instruction(0x95)])
    assert assemble_bytes("r0 = 1", "big") == bytes.fromhex("b700000000000001")


@pytest.mark.parametrize("source,line,words", [
    ("r0 = 0\nr0 = r1 +\nexit", 2, "unexpected"),
    ("r0 = 0\n\nfrob r1\n", 3, "unknown instruction 'frob'"),
    ("r1 += w2", 1, "mixed r and w"),
    ("r12 = 1", 1, "expected a register"),
    ("w1 = 5 ll", 1, "64-bit load writes an r register"),
    ("r1 = 0x100000000", 1, "does not fit 32 bits"),
    ("goto +0x8000", 1, "does not fit 16 bits"),
    ("r1 = *(u64 *)(r2 + 0x8000)", 1, "does not fit 16 bits"),
    ("w1 = *(u64 *)(r2 + 0)", 1, "64-bit load"),
    ("*(s8 *)(r1 + 0) = r2", 1, "stores take"),
    ("r1 = -r2", 1, "same register"),
    ("r1 = xchg_64(r2 + 0, r3)", 1, "source register"),
    ("\t0:\t00 00 00 00 00 00 00 00\t<unknown>", 1, "<unknown>"),
    ("if r1 ~ 2 goto +1", 1, "cannot read"),
])
def test_syntax_errors_name_the_line(source, line, words):
    with pytest.raises(InstructionError) as info:
        assemble(source)
    assert info.value.line == line
    assert words in str(info.value)
    assert f"line {line}" in str(info.value)


def test_unknown_targets():
    with pytest.raises(InstructionError, match="unknown label 'out'"):
        assemble("goto out\nexit")
    with pytest.raises(InstructionError, match="unknown function or helper 'frobnicate'"):
        assemble("call frobnicate\nexit")
    # Without resolution the references are just kept.
    insns = assemble("goto out\ncall frobnicate\nexit", resolve=False)
    assert [i.reference for i in insns] == ["out", "frobnicate", None]


def test_helper_names_from_a_table():
    insns = assemble("call lookup\ncall 0x5\nexit", helpers={"lookup": 1}.get)
    assert (insns[0].src, insns[0].imm, insns[0].reference) == (0, 1, None)
    assert insns[1].imm == 5


@settings(max_examples=400)
@given(st.lists(valid_instructions(), min_size=1, max_size=20), st.booleans())
def test_formatted_text_assembles_back(insns, little):
    """format -> assemble is the identity for everything llvm's syntax can express (a call's
    pseudo source, an ld_pseudo's upper half and an indirect packet load's imm cannot be
    written in it)."""
    insns = [i for i in insns
             if not (i.opcode == op.CALL and i.src)
             and not (i.opcode == op.LD_IMM64 and i.src and i.imm_hi)
             and not (i.opcode & 0xE7 == op.BPF_LD | op.BPF_IND and i.imm)]
    text = "\n".join(format_instruction(i, alu32=True) for i in insns)
    byteorder = "little" if little else "big"
    assert encode(assemble(text, resolve=False), byteorder) == encode(insns, byteorder)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(
    ["r1", "w2", "=", "+=", "s/=", "*", "(", ")", "u32", "s8", "+", "-", "0x10", "5", "ll",
     "goto", "if", "==", "call", "exit", "lock", "skb", "[", "]", ",", ":", "lbl", ";", "#",
     "atomic_fetch_add", "xchg_64", "be16", "addr_space_cast", "ld_pseudo", "\n", "<unknown>",
     "99999999999999999999", "r11", "r16"]), max_size=14))
def test_garbage_raises_instruction_error_only(tokens):
    try:
        assemble(" ".join(tokens))
    except InstructionError:
        pass


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_arbitrary_text_raises_instruction_error_only(text):
    try:
        assemble(text)
    except InstructionError:
        pass
