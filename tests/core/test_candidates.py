"""Candidate search: flavors and the indexed lookup against libbpf's plain linear scan."""

from __future__ import annotations

import random

import pytest

from pybpf.btf import BTF, Kind
from pybpf.core import TargetBTF, essential_name
from pybpf.core.candidates import CandidateFinder, CandidateIndex, kinds_compatible


@pytest.mark.parametrize("name,essential", [
    ("task_struct", "task_struct"),
    ("task_struct___2", "task_struct"),
    ("task_struct___old___v2", "task_struct___old"),   # only the last flavor goes
    ("a___b", "a"),
    ("___x", "___x"),              # nothing before the separator
    ("x___", "x___"),              # nothing after it
    ("core____odd", "core____odd"),  # the separator must not follow an underscore
    ("core___odd", "core"),
    ("x____", "x____"),
    ("ab___c_", "ab"),
    ("", ""),
])
def test_essential_name(name, essential):
    # libbpf: the name up to the last "X___Y" where X and Y are not underscores.
    assert essential_name(name) == essential


def test_kind_compatibility():
    assert kinds_compatible(Kind.ENUM, Kind.ENUM64) and kinds_compatible(Kind.ENUM64, Kind.ENUM)
    assert kinds_compatible(Kind.STRUCT, Kind.STRUCT)
    assert not kinds_compatible(Kind.STRUCT, Kind.UNION)
    assert not kinds_compatible(Kind.TYPEDEF, Kind.STRUCT)


def linear_scan(btf: BTF) -> dict[tuple[str, object], list[int]]:
    """libbpf's bpf_core_add_cands done literally for every name at once: one pass over every
    type in id order, grouped by (essential name, kind; enums and enum64 together)."""
    out: dict[tuple[str, object], list[int]] = {}
    for tid in range(btf.start_id, len(btf)):
        name = btf.name_of(tid)
        if name:
            kind = btf.kind_of(tid)
            out.setdefault((essential_name(name), "enum" if kind in (Kind.ENUM, Kind.ENUM64) else kind),
                           []).append(tid)
    return out


@pytest.mark.kernel
def test_indexed_lookup_equals_linear_scan_on_vmlinux(vmlinux_btf):
    index = CandidateIndex(TargetBTF("vmlinux", vmlinux_btf))
    scan = linear_scan(vmlinux_btf)
    rng = random.Random(5)
    ids = rng.sample(range(1, len(vmlinux_btf)), 2000)
    probes = {(vmlinux_btf.name_of(i), vmlinux_btf.kind_of(i)) for i in ids if vmlinux_btf.name_of(i)}
    probes |= {("task_struct", Kind.STRUCT), ("syscall_tp_t", Kind.STRUCT), ("syscall_tp_t___7", Kind.STRUCT),
               ("perf_callchain_context", Kind.ENUM), ("bpf_map_type", Kind.ENUM64), ("pid_t", Kind.TYPEDEF),
               ("no_such_type___x", Kind.STRUCT)}
    probes |= {(f"{ess}___local", kind) for (ess, kind), ids_ in scan.items() if len(ids_) > 1
               and kind != "enum"}
    assert any(len(scan.get((essential_name(n), k), ())) > 1 for n, k in probes)
    for name, kind in sorted(probes, key=str):
        key = (essential_name(name), "enum" if kind in (Kind.ENUM, Kind.ENUM64) else kind)
        assert index.lookup(essential_name(name), kind) == scan.get(key, []), name


def test_modules_are_searched_only_without_vmlinux_candidates(compile_bpf):
    src = "struct only_mod { int a; }; struct both { int b; }; struct only_mod *x; struct both *y;"
    vm_src = "struct both { int b; }; struct both *y;"
    from .objfile import read_object
    from .splitbtf import make_split

    vm_raw = read_object(compile_bpf(source=vm_src, name="cand_vm")).btf
    mod_raw = make_split(read_object(compile_bpf(source=src, name="cand_mod")).btf, vm_raw)
    vm = BTF.parse(vm_raw)
    mod = BTF.parse(mod_raw, base=vm)
    local = BTF.parse(read_object(compile_bpf(source=src, name="cand_local")).btf)
    finder = CandidateFinder(vm, [TargetBTF("mod", mod)])
    both = finder.find(local, local.find_one("both", Kind.STRUCT))
    assert [(c.target.name, c.type_id) for c in both] == [("vmlinux", vm.find_one("both", Kind.STRUCT))]
    only = finder.find(local, local.find_one("only_mod", Kind.STRUCT))
    assert [(c.target.name, mod.name_of(c.type_id)) for c in only] == [("mod", "only_mod")]
    assert only[0].type_id >= len(vm)
