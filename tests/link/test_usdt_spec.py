"""USDT note parsing and argument-spec encoding (no kernel): the byte layout of
``struct __bpf_usdt_spec`` is checked against offsets clang computes from libbpf's installed
usdt.bpf.h, and argument strings of the forms gcc emits on x86-64 decode as libbpf's do."""

from __future__ import annotations

import struct
import subprocess

import pytest

from pybpf.errors import InvalidArgumentError, NotSupportedError
from pybpf.link.usdt import (ARG_CONST, ARG_REG, ARG_REG_DEREF, USDT_SPEC_SIZE, X86_64_PT_REGS_OFFSETS,
                             encode_usdt_spec, parse_usdt_arg)


@pytest.mark.parametrize("text,expected", [
    ("-4@%eax", (0, ARG_REG, 80, True, 32)),
    ("8@%rdx", (0, ARG_REG, 96, False, 0)),
    ("-2@%bx", (0, ARG_REG, 40, True, 48)),
    ("1@%r12b", (0, ARG_REG, 24, False, 56)),
    ("-4@-20(%rbp)", ((-20) & (2 ** 64 - 1), ARG_REG_DEREF, 32, True, 32)),
    ("8@(%rsp)", (0, ARG_REG_DEREF, 152, False, 0)),
    ("4@0x10(%rip)", (16, ARG_REG_DEREF, 128, False, 32)),
    ("-4@$7", (7, ARG_CONST, 0, True, 32)),
    ("8@$-1", (2 ** 64 - 1, ARG_CONST, 0, False, 0)),
])
def test_parse_x86_64_args(text, expected):
    s = parse_usdt_arg(text, "x86_64")
    assert (s.val_off, s.arg_type, s.reg_off, s.arg_signed, s.arg_bitshift) == expected


@pytest.mark.parametrize("bad", ["", "4@", "3@%eax", "4@%xyz", "x@%eax", "4@-8(%eax", "4@$", "\udcff"])
def test_bad_args_raise_a_pybpf_error(bad):
    with pytest.raises(InvalidArgumentError):
        parse_usdt_arg(bad, "x86_64")


def test_other_architectures_say_so():
    with pytest.raises(NotSupportedError, match="x86-64 only"):
        parse_usdt_arg("4@[sp, 8]", "aarch64")


def test_pt_regs_offsets_match_the_kernel_headers(compile_bpf, tmp_path):
    """offsetof(struct pt_regs, ...) from <asm/ptrace.h> (compiled by gcc) equals our table."""
    src = tmp_path / "regs.c"
    src.write_text('#include <stdio.h>\n#include <stddef.h>\n#include <asm/ptrace.h>\n'
                   'int main(void){printf("%zu %zu %zu %zu %zu %zu\\n", offsetof(struct pt_regs, rax),'
                   'offsetof(struct pt_regs, rbp), offsetof(struct pt_regs, rsp), offsetof(struct pt_regs, rip),'
                   'offsetof(struct pt_regs, r8), offsetof(struct pt_regs, rdi));return 0;}\n')
    exe = tmp_path / "regs"
    if subprocess.run(["gcc", str(src), "-o", str(exe)], capture_output=True).returncode:
        pytest.skip("gcc cannot build against <asm/ptrace.h>")
    got = [int(x) for x in subprocess.run([str(exe)], capture_output=True, text=True).stdout.split()]
    assert got == [X86_64_PT_REGS_OFFSETS[r] for r in ("rax", "rbp", "rsp", "rip", "r8", "rdi")]


def test_spec_layout_matches_usdt_bpf_h(compile_bpf):
    """sizeof/offsetof of libbpf's structs, as clang lays them out for BPF, equal our encoding."""
    src = ('#include <stdbool.h>\n#include <linux/types.h>\n#include <linux/bpf.h>\n'
           '#include "usdt_layout.h"\n'
           'struct __bpf_usdt_spec spec_sample = {};\n'
           'char sizes[] SEC(".data.layout") = { sizeof(struct __bpf_usdt_spec),\n'
           '  __builtin_offsetof(struct __bpf_usdt_spec, usdt_cookie),\n'
           '  __builtin_offsetof(struct __bpf_usdt_spec, arg_cnt),\n'
           '  __builtin_offsetof(struct __bpf_usdt_arg_spec, arg_type),\n'
           '  __builtin_offsetof(struct __bpf_usdt_arg_spec, reg_off),\n'
           '  __builtin_offsetof(struct __bpf_usdt_arg_spec, arg_signed),\n'
           '  __builtin_offsetof(struct __bpf_usdt_arg_spec, arg_bitshift) };\n')
    header = open("/usr/include/bpf/usdt.bpf.h").read()
    start = header.index("enum __bpf_usdt_arg_type")
    end = header.index("struct {", header.index("struct __bpf_usdt_spec {"))
    import os
    import tempfile

    d = tempfile.mkdtemp()
    with open(os.path.join(d, "usdt_layout.h"), "w") as f:
        f.write("#include <bpf/bpf_helpers.h>\n" + header[start:end])
    from pybpf.elf import ELFFile

    obj = compile_bpf(source=src, name="usdt_layout", include_dirs=(d,))
    with ELFFile.open(obj) as elf:
        sizes = bytes(elf.section_by_name(".data.layout").data)
    assert list(sizes) == [USDT_SPEC_SIZE, 192, 200, 8, 12, 14, 15]
    raw = encode_usdt_spec("-4@%eax 8@$5", cookie=0x1122)
    assert len(raw) == USDT_SPEC_SIZE
    assert struct.unpack_from("<QIhbb", raw, 16) == (5, ARG_CONST, 0, 0, 0)
    assert struct.unpack_from("<Qh", raw, 192) == (0x1122, 2)
