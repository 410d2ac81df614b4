"""Differential tests against llvm-mc-19 for every instruction form, both byte orders.

For each corpus line llvm-mc (-mcpu=v4) gives its encoding; pybpf's assembler must produce
the same bytes from the same line. ``llvm-mc --disassemble`` gives the text of those bytes;
pybpf's formatter must print exactly that, and that text must assemble back to the bytes.
"""

from __future__ import annotations

import pytest

from pybpf.asm import assemble, decode, encode, format_instruction

from .corpus import corpus
from .oracle import code_sections, mc_disassemble, mc_encode, mc_object


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return corpus()


@pytest.mark.parametrize("triple,byteorder", [("bpfel", "little"), ("bpfeb", "big")])
def test_assembler_and_formatter_match_llvm_mc(require_tools, lines, triple, byteorder):
    require_tools("llvm-mc-19")
    expected = mc_encode("\n".join(lines) + "\n", triple=triple)
    assert len(expected) == len(lines)
    texts = mc_disassemble([raw for _, raw in expected], triple=triple)
    assert len(texts) == len(lines)
    mismatches = []
    for line, (_, llvm_bytes), llvm_text in zip(lines, expected, texts):
        ours = encode(assemble(line), byteorder)
        if ours != llvm_bytes:
            mismatches.append(f"assemble {line!r}: {ours.hex()} != llvm {llvm_bytes.hex()}")
        insns = decode(llvm_bytes, byteorder, strict=False)
        assert len(insns) == 1
        text = format_instruction(insns[0], alu32=True)
        if text != llvm_text:
            mismatches.append(f"format {llvm_bytes.hex()}: {text!r} != llvm {llvm_text!r}")
        # Our own canonical text assembles to the same bytes (text round trip).
        if encode(assemble(text), byteorder) != llvm_bytes:
            mismatches.append(f"re-assemble {text!r} differs")
    assert not mismatches, "\n".join(mismatches[:40])


@pytest.mark.parametrize("triple,byteorder", [("bpfel", "little"), ("bpfeb", "big")])
def test_program_with_labels_matches_llvm_mc_object(require_tools, tmp_path, lines, triple,
                                                    byteorder):
    """A whole source with labels and jumps to them assembles like llvm-mc's object code."""
    require_tools("llvm-mc-19")
    source = ("start:\n" + "\n".join(lines[:60]) + "\nif r1 == 0 goto start\n"
              "if w1 s< 3 goto end\ngoto end\nmay_goto start\n"
              + "\n".join(lines[60:]) + "\nend:\nexit\n")
    obj = str(tmp_path / "prog.o")
    mc_object(source, obj, triple=triple)
    _, sections = code_sections(obj)
    assert [s.name for s in sections] == [".text"]
    assert encode(assemble(source), byteorder) == sections[0].data
