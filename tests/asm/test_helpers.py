"""Helper id <-> name (from the generated uapi enum) against the installed uapi header's
``__BPF_FUNC_MAPPER``, and kfunc names against the kernel's BTF."""

from __future__ import annotations

import os
import re

import pytest

from pybpf.asm import assemble
from pybpf.asm.helpers import helper_id, helper_name, helper_names, kfunc_name

HEADER = "/usr/include/linux/bpf.h"


def _header_helpers() -> list[str]:
    with open(HEADER) as f:
        text = f.read()
    start = text.index("#define __BPF_FUNC_MAPPER")
    body = text[start:text.index("\n\n", start)]
    return re.findall(r"\bFN\((\w+)", body)


def test_ids_match_the_uapi_header():
    if not os.path.exists(HEADER):
        pytest.skip(f"{HEADER} not installed")
    names = _header_helpers()
    assert names[0] == "unspec" and len(names) > 200
    table = helper_names()
    for hid, name in enumerate(names[1:], 1):
        assert table[hid] == f"bpf_{name}", hid
        assert helper_id(f"bpf_{name}") == hid
        assert helper_id(name) == hid
    assert helper_name(0) is None and helper_name(1 << 20) is None
    assert helper_id("bpf_no_such_helper") is None


def test_assembler_and_builder_call_helpers_by_name():
    from pybpf.asm.builder import call

    [insn, _] = assemble("call bpf_ktime_get_ns\nexit")
    assert (insn.src, insn.imm) == (0, helper_id("bpf_ktime_get_ns"))
    assert call("bpf_map_lookup_elem").imm == 1
    assert call("map_update_elem").imm == 2
    # A label of the same name wins over a helper.
    insns = assemble("call bpf_ktime_get_ns\nexit\nbpf_ktime_get_ns:\nexit")
    assert insns[0].src == 1 and insns[0].imm == 1


def test_kfunc_names_from_kernel_btf():
    from pybpf.btf import BTF
    from pybpf.btf.model import Kind

    path = "/sys/kernel/btf/vmlinux"
    if not os.path.exists(path):
        pytest.skip("no kernel BTF")
    with open(path, "rb") as f:
        btf = BTF.parse(f.read())
    [fid] = btf.find("bpf_rcu_read_lock", Kind.FUNC)
    assert kfunc_name(fid, btf) == "bpf_rcu_read_lock"
    assert kfunc_name(btf.kind_of(fid) and btf[fid].type, btf) is None  # a FUNC_PROTO
    assert kfunc_name(len(btf) + 5, btf) is None
