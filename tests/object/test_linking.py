"""Linked instructions against libbpf's: the code each loader hands the kernel, byte for byte.

libbpf 1.1 (libbpf.so.1 through tests/object/libbpf_oracle.py) loads the same object; after
``bpf_object__load`` its ``bpf_program__insns()`` are the instructions it built (CO-RE applied,
subprograms appended, calls and callbacks resolved, maps and externs filled in), whether or not
the kernel then accepted them. pybpf's :meth:`ObjectSpec.link` plus
:func:`~pybpf.object.linker.apply_data` must give the same bytes; map descriptors (which differ
per process) are the only thing masked, on both sides.
"""

from __future__ import annotations

import struct

import pytest

from pybpf.object import ObjectSpec
from pybpf.object.linker import apply_data

from .conftest import FIXTURES

pytestmark = pytest.mark.kernel

_INSN = struct.Struct("<BBhi")

#: fixtures libbpf 1.1 cannot link (or links differently, for features it lacks)
SKIP = {
    "obj_sections": "libbpf 1.1 does not map .bss.X sections",
    "obj_exceptions": "libbpf 1.1 does not append exception callbacks",
    "obj_bad_mapdef": "libbpf refuses to open it",
    "obj_bad_legacy": "libbpf refuses to open it",
    "obj_bad_extern": "extern resolution fails before linking",
    "obj_bad_ksym": "extern resolution fails before linking",
    "obj_bad_kfunc": "extern resolution fails before linking",
    "obj_bad_section": "libbpf fails on the untyped program before linking",
}


def _mask_map_fds(code: bytes) -> bytes:
    """Zero the descriptor of every ld_imm64 of a map (BPF_PSEUDO_MAP_FD / MAP_VALUE)."""
    buf = bytearray(code)
    for i in range(0, len(buf) - 15, 8):
        op, regs, off, imm = _INSN.unpack_from(buf, i)
        if op == 0x18 and (regs >> 4) in (1, 2):
            _INSN.pack_into(buf, i, op, regs, off, 0)
    return bytes(buf)


def _pybpf_insns(spec: ObjectSpec, **kw) -> dict[str, bytes]:
    linked = spec.link(**kw)
    n = len(spec.maps)
    fds = [1000 + i if mp.autocreate else None for i, mp in enumerate(spec.maps.values())]
    kcfg = next((fds[i] for i, mp in enumerate(spec.maps.values()) if mp.kind == "kconfig"), None)
    del n
    return {name: _mask_map_fds(apply_data(lp, spec, fds, lp.externs, kcfg)) for name, lp in linked.items()}


@pytest.mark.parametrize("name", [f for f in FIXTURES if f not in SKIP])
def test_linked_code_matches_libbpf(name, build, libbpf):
    path = build(name)
    want = libbpf(path, load=True)
    assert want["open_err"] == 0
    spec = ObjectSpec.open(path)
    got = _pybpf_insns(spec)
    expected = {p: _mask_map_fds(bytes.fromhex(h)) for p, h in want["insns"].items()
                if spec.programs[p].autoload}
    assert set(got) == set(expected)
    for prog in got:
        assert got[prog].hex() == expected[prog].hex(), prog


def test_custom_target_btf_matches_libbpf(build, libbpf, core_target_btf):
    """CO-RE against a custom BTF (libbpf's btf_custom_path): the same patched instructions."""
    path = build("obj_core")
    want = libbpf(path, load=True, btf=core_target_btf)
    got = _pybpf_insns(ObjectSpec.open(path), kernel_btf=core_target_btf)
    assert got["core_getpid"].hex() == _mask_map_fds(bytes.fromhex(want["insns"]["core_getpid"])).hex()


def test_autoload_off_and_type_change_like_libbpf(build, libbpf):
    """A program that is not loaded is not linked (and its CO-RE records are skipped)."""
    spec = ObjectSpec.open(build("obj_fentry"))
    assert "not_loaded" not in spec.link()


def test_call_order_per_program(build):
    """Each entry program appends the functions it reaches, depth first, in call order: the
    relative call offsets in its code point at the right copies."""
    spec = ObjectSpec.open(build("obj_calls"))
    linked = spec.link()
    for name, lp in linked.items():
        starts = {}
        pos = spec.programs[name].insn_count
        for sub in lp.subprograms:
            starts[pos] = sub
            pos += spec.subprograms[sub].insn_count
        assert pos == len(lp.insns) // 8
        for i in range(0, len(lp.insns), 8):
            op, regs, off, imm = _INSN.unpack_from(lp.insns, i)
            if op == 0x85 and regs >> 4 == 1:                 # BPF_PSEUDO_CALL
                assert i // 8 + imm + 1 in starts
            if op == 0x18 and regs >> 4 == 4:                 # BPF_PSEUDO_FUNC
                assert i // 8 + imm + 1 in starts
