"""CO-RE against real kernel BTF and against module (split) BTF.

* The running kernel: tests/progs/core_vmlinux.bpf.c declares a few real kernel types
  minimally (task_struct, sk_buff bitfields, two flavors of the task state field, enums and an
  enum64, the two different ``syscall_tp_t`` types the kernel's BTF has) and is relocated by
  libbpf (no custom BTF: /sys/kernel/btf/vmlinux) and by pybpf against the same file.
* Modules: libbpf only searches module BTFs for types vmlinux lacks, and never with a custom
  target BTF -- and this machine has no module BTF -- so module search is checked by
  equivalence: a type that only a (split BTF) module has must relocate exactly as libbpf
  relocates it when the same types are the whole target.
"""

from __future__ import annotations

import re

import pytest

from pybpf.core import TargetBTF

from .harness import run_libbpf, run_pybpf
from .objfile import read_object
from .splitbtf import make_split
from .test_libbpf_differential import assert_same_as_libbpf


@pytest.mark.kernel
def test_live_vmlinux_same_as_libbpf(compile_bpf, require_libbpf, vmlinux_btf):
    obj = compile_bpf("core_vmlinux.bpf.c")
    lb = run_libbpf(obj, None)
    pb = run_pybpf(obj, vmlinux_btf)
    assert_same_as_libbpf(lb, pb)
    text = "\n".join(t for _l, t in lb.core_log())
    # The interesting parts really happened on this kernel.
    assert "struct task_struct___new.__state" in text
    assert re.search(r"task_struct___old.state .*\n.*non-matching", text)
    assert re.search(r"syscall_tp_t.ret .*\n.*matching candidate #0.*\n.*non-matching candidate #1", text)
    assert "enum64 perf_callchain_context" in text


@pytest.mark.kernel
def test_live_vmlinux_program_with_direct_access_loads(compile_bpf, require_libbpf, vmlinux_btf):
    """The tp_btf program reads task_struct fields directly (LDX offsets relocated); libbpf's
    relocated instructions pass the verifier, and ours are the same bytes."""
    obj = compile_bpf("core_vmlinux.bpf.c")
    lb = run_libbpf(obj, None)
    pb = run_pybpf(obj, vmlinux_btf)
    assert any(e.patch and "(LDX/ST/STX) off" in e.patch[0] for e in pb.explanations
               if e.prog_name == "core_vmlinux_btf")
    assert not any("prog 'core_vmlinux_btf': BPF program load failed" in t for _l, t in lb.log)
    ours = pb.insns["core_vmlinux_btf"]
    assert lb.insns["core_vmlinux_btf"][:len(ours)] == ours


def _split_module(base_path: str, module_path: str) -> tuple[bytes, bytes]:
    base_raw = read_object(base_path).btf
    return base_raw, make_split(read_object(module_path).btf, base_raw)


@pytest.mark.kernel
def test_type_only_in_module_relocates_like_libbpf(compile_bpf, core_target, require_libbpf):
    from pybpf.btf import BTF

    obj = compile_bpf("core_fields.bpf.c")
    base_raw, mod_raw = _split_module(core_target("core_missing"), core_target("core_moved"))
    base = BTF.parse(base_raw)
    module = BTF.parse(mod_raw, base=base)
    shift = len(base) - 1
    pb = run_pybpf(obj, [TargetBTF("vmlinux", base), TargetBTF("core_mod", module)])
    lb = run_libbpf(obj, core_target("core_moved"))  # same types as the whole target
    assert pb.error is None
    # Every candidate came from the module, with ids after the base's.
    searched = [s for e in pb.explanations if e.searched for s in e.searched]
    assert searched and all(t == "core_mod" for t, _d in searched)
    # Same decisions as libbpf once type ids are mapped (module ids = standalone ids + shift).
    def normalize(text: str) -> str:
        # Only target type ids moved: "found target candidate [id]", "candidate #N <kind> [id]".
        text = re.sub(r"(found target candidate |candidate #\d+ <\w+> )\[(\d+)\]",
                      lambda mt: f"{mt.group(1)}[{int(mt.group(2)) - shift}]", text)
        return text.replace("[core_mod]", "[vmlinux]")
    expected = lb.core_log()
    got = [(lvl, normalize(text)) for lvl, text in pb.log]
    # target_type_id relocations carry the shifted id as their value.
    target_id_relos = {e.relo_idx for e in pb.explanations if e.kind == 7}
    def unshift_values(lines):
        out = []
        for lvl, text in lines:
            mt = re.match(r"(prog '[^']*': relo #(\d+): patched insn #\d+ \(LDIMM64\) imm64 \d+ -> )(\d+)$", text)
            if mt and int(mt.group(2)) in target_id_relos:
                text = mt.group(1) + str(int(mt.group(3)) - shift)
            out.append((lvl, text))
        return out
    assert unshift_values(got) == expected


@pytest.mark.kernel
def test_vmlinux_candidates_hide_module_ones(compile_bpf, core_target, require_libbpf):
    """A type vmlinux has is never looked up in modules (even with another layout there)."""
    from pybpf.btf import BTF

    obj = compile_bpf("core_fields.bpf.c")
    base_raw, mod_raw = _split_module(core_target("core_same"), core_target("core_moved"))
    base = BTF.parse(base_raw)
    module = BTF.parse(mod_raw, base=base)
    pb = run_pybpf(obj, [TargetBTF("vmlinux", base), TargetBTF("core_mod", module)])
    lb = run_libbpf(obj, core_target("core_same"))
    assert_same_as_libbpf(lb, pb)


def test_module_btfs_loaded_only_when_needed(compile_bpf, core_target):
    from pybpf.btf import BTF

    obj = compile_bpf("core_fields.bpf.c")
    calls = []

    def modules():
        calls.append(1)
        return []

    run_pybpf(obj, BTF.parse(read_object(core_target("core_same")).btf), modules=modules)
    assert calls == []  # every type was in "vmlinux"
    run_pybpf(obj, BTF.parse(read_object(core_target("core_missing")).btf), modules=modules)
    assert calls == [1]  # looked once, for the first type vmlinux lacks


def test_candidates_from_several_modules_must_agree(compile_bpf, core_target):
    """Candidates are collected from every module; two modules with the same layout agree,
    and the result is what one of them alone gives."""
    from pybpf.btf import BTF

    obj = compile_bpf("core_fields.bpf.c")
    base_raw, mod_raw = _split_module(core_target("core_missing"), core_target("core_moved"))
    base = BTF.parse(base_raw)
    one = run_pybpf(obj, [TargetBTF("vmlinux", base), TargetBTF("m1", BTF.parse(mod_raw, base=base))])
    two = run_pybpf(obj, [TargetBTF("vmlinux", base), TargetBTF("m1", BTF.parse(mod_raw, base=base)),
                          TargetBTF("m2", BTF.parse(mod_raw, base=base))])
    assert two.error is None
    assert one.insns == two.insns
    assert any([t for t, _d in e.searched] == ["m1", "m2"] for e in two.explanations if e.searched)
    # Moved layout vs. renamed layout in two modules: the field offsets disagree.
    _, other_raw = _split_module(core_target("core_missing"), core_target("core_bitfields"))
    mixed = run_pybpf(obj, [TargetBTF("vmlinux", base), TargetBTF("m1", BTF.parse(mod_raw, base=base)),
                            TargetBTF("m2", BTF.parse(other_raw, base=base))])
    assert mixed.error is not None and "ambiguous" in str(mixed.error)
