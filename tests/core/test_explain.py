"""Explanations (what ``pybpf object core`` prints), checked against libbpf's account of the
same relocations and against the target layout as bpftool reads it."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from pybpf.btf import BTF
from pybpf.core import Relocator, render_explanations

from .harness import load_target, run_libbpf, run_pybpf
from .objfile import core_relos, read_object

_CAND = re.compile(r"^prog '([^']*)': relo #(\d+): (non-matching|matching) candidate #(\d+) (.*)$")
_LOCAL = re.compile(r"^prog '([^']*)': relo #(\d+): (<\w+> \[.*)$")
_PATCH = re.compile(r"^prog '([^']*)': relo #(\d+): patched insn #(\d+) \(([^)]*)\) (?:imm|off|imm64) (\d+) -> (\d+)$")
_POISON = re.compile(r"^prog '([^']*)': relo #(\d+): substituting insn #(\d+) w/ invalid insn$")


def libbpf_account(lines):
    """Per (prog, relo #): local spec, candidates [(#, matched, spec)], values, poisoned insns."""
    out: dict[tuple[str, int], dict] = {}
    for _lvl, text in lines:
        for rx, what in ((_CAND, "cand"), (_PATCH, "patch"), (_POISON, "poison"), (_LOCAL, "local")):
            mt = rx.match(text)
            if not mt:
                continue
            rec = out.setdefault((mt.group(1), int(mt.group(2))),
                                 {"local": None, "cands": [], "patch": [], "poison": []})
            if what == "cand":
                rec["cands"].append((int(mt.group(4)), mt.group(3) == "matching", mt.group(5)))
            elif what == "patch":
                rec["patch"].append((int(mt.group(3)), int(mt.group(5)), int(mt.group(6))))
            elif what == "poison":
                rec["poison"].append(int(mt.group(3)))
            else:
                rec["local"] = mt.group(3)
            break
    return out


@pytest.mark.kernel
@pytest.mark.parametrize("target", ["core_renamed", "core_enums", "core_resized"])
def test_explanations_tell_what_libbpf_did(compile_bpf, core_target, require_libbpf, target):
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target(target)
    account = libbpf_account(run_libbpf(obj, tgt).core_log())
    pb = run_pybpf(obj, load_target(tgt))
    assert len(pb.explanations) == len(account)
    for e in pb.explanations:
        rec = account[(e.prog_name, e.relo_idx)]
        assert e.local_spec == rec["local"]
        assert [(c.index, c.matched, c.spec) for c in e.candidates] == rec["cands"]
        if e.chosen is not None:
            assert e.chosen.index == next(i for i, matched, _s in rec["cands"] if matched)
        assert e.poisoned == bool(rec["poison"])
        if rec["patch"]:
            insn, old, new = rec["patch"][0]
            assert (e.insn_idx, e.result.new_val) == (insn, new)
        for c in e.candidates:
            assert c.matched == (c.reason is None)


@pytest.mark.kernel
def test_rejections_name_the_missing_field(compile_bpf, core_target, require_tools, require_libbpf):
    """Against the renamed target, every rejected candidate's reason names a field that bpftool
    confirms the target struct does not have."""
    require_tools("bpftool")
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_renamed")
    types = json.loads(subprocess.run(["bpftool", "btf", "dump", "file", tgt, "-j"], capture_output=True,
                                      text=True, check=True).stdout)["types"]
    names = {m["name"] for t in types if t["kind"] in ("STRUCT", "UNION") for m in t.get("members", [])}
    pb = run_pybpf(obj, load_target(tgt))
    rejected = [c for e in pb.explanations if e.kind <= 5 for c in e.candidates if not c.matched]
    assert rejected
    for c in rejected:
        mt = re.search(r"has no field '(\w+)'", c.reason)
        assert mt, c.reason
        assert mt.group(1) not in names
    poisoned = [e for e in pb.explanations if e.poisoned and e.kind <= 5]
    assert poisoned and all("no field" in e.poison_reason for e in poisoned if e.candidates)


def test_report_text(compile_bpf, core_target):
    obj = compile_bpf("core_fields.bpf.c")
    pb = run_pybpf(obj, load_target(core_target("core_renamed")))
    text = render_explanations(pb.explanations)
    for e in pb.explanations:
        assert e.local_spec in text
    assert text.count("rejected:") == sum(not c.matched for e in pb.explanations for c in e.candidates)
    assert text.count("poisoned:") == sum(e.poisoned for e in pb.explanations)
    n = len(pb.explanations)
    p = sum(e.poisoned for e in pb.explanations)
    assert text.rstrip().endswith(f"{n} CO-RE relocations: {n - p} applied, {p} poisoned, 0 failed")
    # the example of the brief: local spec with the field path, raw accessors and offset
    assert "<byte_off> [" in text and "struct core_sample.in.y (0:4:1 @ offset 20)" in text


def test_explain_matches_relocate_and_leaves_bytes_alone(compile_bpf, core_target):
    path = compile_bpf("core_fields.bpf.c")
    obj = read_object(path)
    local = BTF.parse(obj.btf)
    target = load_target(core_target("core_resized"))
    applied = Relocator(local, target)
    explained = Relocator(local, target)
    for sec_name, recs in core_relos(obj):
        for idx, rec in enumerate(recs):
            prog = obj.program_at(sec_name, rec.insn_off // 8)
            insn_idx = rec.insn_off // 8 - prog.first_insn
            before = bytes(prog.insns)
            e1 = explained.explain(rec, prog_name=prog.name, relo_idx=idx, insn_idx=insn_idx, insns=prog.insns)
            assert bytes(prog.insns) == before
            e2 = applied.relocate(prog.insns, rec, prog_name=prog.name, relo_idx=idx, insn_idx=insn_idx)
            assert (e1.log, e1.poisoned, e1.patch, e1.error) == (e2.log, e2.poisoned, e2.patch, e2.error)


def test_explain_without_instructions(compile_bpf, core_target):
    path = compile_bpf("core_fields.bpf.c")
    obj = read_object(path)
    reloc = Relocator(BTF.parse(obj.btf), load_target(core_target("core_renamed")))
    explanations = [reloc.explain(rec, relo_idx=i) for _s, recs in core_relos(obj) for i, rec in enumerate(recs)]
    assert any(e.poisoned for e in explanations)
    assert all(e.error is None and not e.patch for e in explanations)


def test_explain_mode_goes_on_after_a_failure(compile_bpf, core_target):
    """``pybpf object core`` explains every relocation, even after one that would stop a load,
    and leaves the object's instructions alone."""
    path = compile_bpf("core_ambig.bpf.c")
    target = load_target(core_target("core_ambig_value"))
    stopped = run_pybpf(path, target)
    explained = run_pybpf(path, target, stop_on_error=False)
    assert stopped.error is not None and len(stopped.explanations) < len(explained.explanations)
    assert [e.error is not None for e in explained.explanations].count(True) == 1
    failed = next(e for e in explained.explanations if e.error)
    assert failed.error == str(stopped.error)
    assert explained.insns == {p.name: bytes(p.insns) for p in read_object(path).programs}
    text = render_explanations(explained.explanations)
    assert "1 failed" in text and "ambiguous candidates" in text


def test_json_view(compile_bpf, core_target):
    pb = run_pybpf(compile_bpf("core_ambig.bpf.c"), load_target(core_target("core_ambig_prune")))
    data = json.loads(json.dumps([e.to_dict() for e in pb.explanations]))
    assert [d["relo"] for d in data] == [e.relo_idx for e in pb.explanations]
    for d, e in zip(data, pb.explanations):
        assert d["local_spec"] == e.local_spec and d["poisoned"] == e.poisoned
        assert [c["matched"] for c in d["candidates"]] == [c.matched for c in e.candidates]
        assert (d["new_val"] is None) == e.poisoned
