"""``pybpf object disasm -S`` (source lines from .BTF.ext) against ``llvm-objdump-19 -S``
(source lines from DWARF).

The two sources of line information differ in two documented ways:

* DWARF has rows for compiler-generated code (line 0), after which llvm-objdump prints the
  current source line again; .BTF.ext has no such rows.
* When a function's first instruction has no location, clang's BTF line info uses the
  function's declaration line there, where DWARF has the opening brace or the first
  statement.

So: every instruction line must be identical; a source line pybpf prints must be the one
llvm prints before the same instruction, except at a function's first instruction; a source
line llvm prints that pybpf does not must repeat the last one llvm printed, except there.
"""

from __future__ import annotations

import pytest

from pybpf.cli.object import disassemble_object

from .oracle import objdump


def _split(listing: str) -> list[tuple[list[str], str]]:
    """(source lines before it, instruction or header line) for each non-source line."""
    out: list[tuple[list[str], str]] = []
    pending: list[str] = []
    for line in listing.splitlines():
        if line.startswith("; "):
            pending.append(line)
        else:
            out.append((pending, line))
            pending = []
    return out


@pytest.mark.parametrize("source,mcpu,endian", [
    ("asm_isa.bpf.c", "v1", "bpfel"), ("asm_isa.bpf.c", "v3", "bpfel"),
    ("asm_isa.bpf.c", "v4", "bpfeb"), ("asm_xlated.bpf.c", "v3", "bpfel"),
])
def test_source_lines_follow_llvm_objdump(require_tools, compile_bpf, source, mcpu, endian):
    require_tools("clang-19", "llvm-objdump-19")
    path = compile_bpf(source, mcpu=mcpu, endian=endian)
    ours = _split(disassemble_object(path, source=True))
    theirs = _split(objdump(path, "-S"))
    assert [line for _, line in ours] == [line for _, line in theirs]
    printed = 0
    last = None
    previous = ""
    for (our_src, line), (llvm_src, _) in zip(ours, theirs):
        function_start = previous.endswith(">:")
        for text in our_src:
            if not function_start:
                assert text in llvm_src, f"{text!r} not printed by llvm before {line!r}"
        for text in llvm_src:
            if text not in our_src and not function_start:
                assert text == last, f"llvm prints {text!r} before {line!r}, pybpf does not"
            last = text
        printed += len(our_src)
        previous = line
    assert printed > 10  # the fixtures do carry line info


def test_command_line_source_option(require_tools, compile_bpf, run_pybpf):
    require_tools("clang-19")
    path = compile_bpf("asm_xlated.bpf.c", mcpu="v3")
    out = run_pybpf("object", "disasm", path, "-S").stdout
    assert out == disassemble_object(path, source=True)
    assert "; \t__u32 key = xdp->ingress_ifindex & 3;" in out
