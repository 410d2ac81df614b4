"""pybpf.core against libbpf itself, on the same objects and the same target BTFs.

Each case relocates a test program (tests/progs/core_*.bpf.c, written against "old kernel"
types) against a target BTF (tests/core/targets/*.c, a "newer kernel") twice: with the system's
libbpf (``btf_custom_path``; its debug log captured) and with :class:`pybpf.core.Relocator`.
Both must print the same CO-RE messages -- every local spec, every candidate considered and
whether it matched, every patched value, every poisoned instruction, every failure -- and
leave byte-identical instructions.
"""

from __future__ import annotations

import re

import pytest

from pybpf.core import TargetBTF

from .harness import core_log, load_target, run_libbpf, run_pybpf

FIELDS_TARGETS = ["core_same", "core_moved", "core_renamed", "core_resized", "core_missing",
                  "core_bitfields", "core_enums", "core_typechange"]

CASES = (
    [("core_fields.bpf.c", t) for t in FIELDS_TARGETS]
    + [("core_flavors.bpf.c", "core_flavors_old"), ("core_flavors.bpf.c", "core_flavors_new")]
    + [("core_ambig.bpf.c", t) for t in ("core_ambig_prune", "core_ambig_offset", "core_ambig_value")]
    + [("core_types.bpf.c", "core_types_target"), ("core_types.bpf.c", "core_missing")]
    + [("core_subprog.bpf.c", t) for t in ("core_moved", "core_renamed")]
)


def assert_same_as_libbpf(lb, pb) -> None:
    lines_lb = [f"{lvl}: {text}" for lvl, text in lb.core_log()]
    lines_pb = [f"{lvl}: {text}" for lvl, text in pb.log]
    assert lines_pb == lines_lb
    assert lines_lb, "libbpf printed no CO-RE messages: the oracle did not run"
    libbpf_failed = any("failed to relocate" in t or "failed to patch" in t for t in lines_lb)
    assert (pb.error is not None) == libbpf_failed
    if libbpf_failed:
        assert lb.load_err is not None and lb.load_err < 0
    for prog in pb.obj.programs:
        ours = pb.insns[prog.name]
        if prog.name in lb.insns:
            theirs = lb.insns[prog.name][:len(ours)]
            assert len(theirs) == len(ours)
            # BPF-to-BPF calls (code 0x85, src_reg 1) get their target from libbpf's linker.
            calls = [i for i in range(0, len(ours), 8) if ours[i] == 0x85 and ours[i + 1] >> 4 == 1]
            for i in calls:
                theirs = theirs[:i + 4] + ours[i + 4:i + 8] + theirs[i + 8:]
            assert theirs == ours, f"instructions of {prog.name} differ"
        else:
            # A subprogram: libbpf appended its relocated code to the programs calling it.
            assert any(any(code[i:i + len(ours)] == ours for i in range(0, len(code), 8))
                       for code in lb.insns.values()), f"subprogram {prog.name} differs"


@pytest.mark.kernel
@pytest.mark.parametrize("prog,target", CASES, ids=[f"{p.split('.')[0]}-{t}" for p, t in CASES])
def test_same_decisions_as_libbpf(compile_bpf, core_target, require_libbpf, prog, target):
    obj = compile_bpf(prog)
    tgt = core_target(target)
    lb = run_libbpf(obj, tgt)
    pb = run_pybpf(obj, load_target(tgt))
    assert_same_as_libbpf(lb, pb)


def _count(lines, pattern: str) -> int:
    return sum(1 for _lvl, text in lines if re.search(pattern, text))


@pytest.mark.kernel
def test_cases_cover_the_hard_paths(compile_bpf, core_target, require_libbpf):
    """The fixtures really exercise what the differential test is meant to check (judged on
    libbpf's own log, so that a silently trivial fixture fails here)."""
    obj = compile_bpf("core_fields.bpf.c")
    logs = {t: run_libbpf(obj, core_target(t)).core_log() for t in FIELDS_TARGETS}
    every = [line for lines in logs.values() for line in lines]
    for kind in ("byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
                 "local_type_id", "target_type_id", "type_exists", "type_size", "type_matches",
                 "enumval_exists", "enumval_value"):
        assert _count(every, rf": <{kind}> "), kind
    assert _count(logs["core_resized"], r"mem_sz 4 -> 8")  # unsigned load widened
    assert _count(logs["core_resized"], r"accesses field incorrectly")  # signed one poisoned
    assert _count(logs["core_renamed"], r"substituting insn")
    assert _count(logs["core_renamed"], r"non-matching candidate")
    assert _count(logs["core_moved"], r"\(LDX/ST/STX\) off")
    assert _count(logs["core_moved"], r"@ offset \d+\.\d+\)")  # bitfield positions
    assert _count(logs["core_enums"], r"\(LDIMM64\) imm64")
    assert _count(logs["core_missing"], r"no matching targets found")
    assert _count(logs["core_bitfields"], r"<lshift_u64> .* @ offset \d+\.\d+\)")
    flavors = run_libbpf(compile_bpf("core_flavors.bpf.c"), core_target("core_flavors_new")).core_log()
    assert _count(flavors, r"matching candidate #1 ")  # two flavors agreeing
    assert _count(flavors, r"relocation decision ambiguity")


@pytest.mark.kernel
def test_poisoned_ld_imm64_same_bytes_as_libbpf(compile_bpf, core_target, require_libbpf):
    """An enum value missing from the target poisons a 64-bit immediate load: both halves."""
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_enums")
    lb = run_libbpf(obj, tgt)
    pb = run_pybpf(obj, load_target(tgt))
    assert_same_as_libbpf(lb, pb)
    poisoned = [e for e in pb.explanations if e.poisoned and e.kind == 11]
    assert poisoned
    prog = next(p for p in pb.obj.programs if p.name == poisoned[0].prog_name)
    i = poisoned[0].insn_idx * 8
    call = bytes.fromhex("850000001023ad0b")  # call 0xbad2310, little endian
    assert lb.insns[prog.name][i:i + 16] == call * 2


@pytest.mark.kernel
def test_libbpf_log_filter_sees_only_core_lines(compile_bpf, core_target, require_libbpf):
    # The filter is part of the oracle: it must keep candidate lines and drop ELF relocation
    # lines that also say "relo #".
    lb = run_libbpf(compile_bpf("core_ambig.bpf.c"), core_target("core_ambig_prune"))
    kept = core_log(lb.log)
    assert any("CO-RE relocating" in t for _l, t in kept)
    assert not any(t.startswith("sec ") for _l, t in kept)
    assert all("relo" in t or "CO-RE" in t for _l, t in kept)


def test_target_as_named_list(compile_bpf, core_target):
    # A TargetBTF list with just "vmlinux" is the same as the bare BTF.
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_moved")
    a = run_pybpf(obj, load_target(tgt))
    b = run_pybpf(obj, [TargetBTF("vmlinux", load_target(tgt))])
    assert a.log == b.log and a.insns == b.insns
