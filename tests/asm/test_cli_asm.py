"""``pybpf asm``: the listing equals llvm-objdump's view of llvm-mc's object of the same
source; ``-o`` writes the same bytes llvm-mc puts in the section."""

from __future__ import annotations

import json

from .oracle import code_sections, mc_object, objdump

SOURCE = """\
entry:
    r6 = r1
    r1 = counts ll
    r2 = r10
    r2 += -8
    call 1
    if r0 == 0 goto out
    w1 = 1
    lock *(u32 *)(r0 + 0) += w1
loop:
    r6 += -1
    if w6 s> 3 goto loop
out:
    r0 = 0
    exit
"""


def test_listing_and_output_match_llvm(require_tools, run_pybpf, tmp_path):
    require_tools("llvm-mc-19", "llvm-objdump-19")
    src = tmp_path / "prog.s"
    src.write_text(SOURCE)
    obj = str(tmp_path / "prog.o")
    mc_object(SOURCE, obj)
    expected = objdump(obj, "-d", "-r", "-z", "--mcpu=v4")
    expected = expected.split("\n", 3)[3]  # drop the file banner
    assert run_pybpf("asm", str(src)).stdout == "\n" + expected.lstrip("\n")

    out = tmp_path / "prog.bin"
    run_pybpf("asm", str(src), "-o", str(out))
    _, [text] = code_sections(obj)
    assert out.read_bytes() == text.data

    # The listing itself is valid input and gives the same bytes again.
    listing = tmp_path / "prog.lst"
    listing.write_text(run_pybpf("asm", str(src)).stdout)
    again = tmp_path / "again.bin"
    run_pybpf("asm", str(listing), "-o", str(again))
    assert again.read_bytes() == text.data


def test_json_big_endian_and_errors(require_tools, run_pybpf, tmp_path):
    require_tools("llvm-mc-19")
    src = tmp_path / "prog.s"
    src.write_text(SOURCE)
    obj = str(tmp_path / "prog-be.o")
    mc_object(SOURCE, obj, triple="bpfeb")
    out = tmp_path / "prog.bin"
    run_pybpf("asm", str(src), "-o", str(out), "big-endian")
    _, [text] = code_sections(obj)
    assert out.read_bytes() == text.data

    doc = json.loads(run_pybpf("-j", "asm", str(src)).stdout)
    [sec] = doc
    assert sec["section"] == ".text" and sec["size"] == len(text.data)
    assert sec["insns"][1] == {"offset": 8, "bytes": "18010000000000000000000000000000",
                               "text": "r1 = 0x0 ll", "reference": "counts"}

    bad = tmp_path / "bad.s"
    bad.write_text("r0 = 0\nr0 = frob\n")
    proc = run_pybpf("asm", str(bad), check=False)
    assert proc.returncode != 0
    assert "line 2" in proc.stderr and "Error:" in proc.stderr
    proc = run_pybpf("asm", str(tmp_path / "missing.s"), check=False)
    assert proc.returncode != 0 and "cannot read" in proc.stderr
