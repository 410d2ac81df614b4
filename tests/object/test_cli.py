"""``pybpf object dump``, ``pybpf object core`` and ``pybpf prog load ... autoattach`` (the
CLI end to end, in a child process as a user runs it).

Oracles: ``object dump -j`` against libbpf's own open of the same object (program names,
sections and types; map names, types and sizes) and the ObjectSpec API; ``object core``
against libbpf's debug log of the same load (its ``relo #N: <spec>`` and ``patched insn`` lines,
with the running kernel's BTF and with a custom target); ``autoattach`` by triggering the
attached programs and reading their counters through the pinned maps. Failing commands exit
non-zero with a message naming the culprit and leave nothing in the kernel.
"""

from __future__ import annotations

import json
import os
import re
import struct

import pytest

from pybpf.object import ObjectSpec

pytestmark = pytest.mark.kernel


def _prog_type_number(name):
    from pybpf.sys.names import parse_prog_type

    return parse_prog_type(name) if name is not None else 0


def _map_type_number(name):
    from pybpf.sys.names import parse_map_type

    return parse_map_type(name)


@pytest.mark.parametrize("name", ["obj_maps", "obj_globals", "obj_externs", "obj_calls", "obj_tool"])
def test_dump_json_matches_libbpf_and_spec(name, build, libbpf, run_pybpf):
    path = build(name)
    info = json.loads(run_pybpf("object", "dump", path, "-j").stdout)
    want = libbpf(path)
    assert info["name"] == want["name"]
    progs = [p for p in info["programs"] if not p["subprogram"]]
    assert [(p["name"], p["section"], _prog_type_number(p["type"])) for p in progs] == \
           [(p["name"], p["section"], p["type"]) for p in want["programs"]]
    assert [(m["name"], _map_type_number(m["type"]), m["key_size"], m["value_size"], m["max_entries"],
             m["flags"]) for m in info["maps"]] == \
           [(m["name"], m["type"], m["key_size"], m["value_size"], m["max_entries"], m["flags"])
            for m in want["maps"]]
    spec = ObjectSpec.open(path)
    assert [v["name"] for v in info["variables"]] == list(spec.variables)
    for v in info["variables"]:
        assert v["section"] == spec.variables[v["name"]].section
    assert [e["name"] for e in info["externs"]] == [e.name for e in spec.externs]
    # the text form says the same things
    text = run_pybpf("object", "dump", path).stdout
    for p in progs:
        assert p["name"] in text
    for m in info["maps"]:
        assert m["name"] in text


def test_dump_lists_relocations_and_externs(build, run_pybpf):
    info = json.loads(run_pybpf("object", "dump", build("obj_externs"), "-j").stdout)
    names = {e["name"] for e in info["externs"]}
    assert {"LINUX_KERNEL_VERSION", "CONFIG_HZ"} <= names
    kinds = {r["kind"] for p in info["programs"] for r in p["relocations"]}
    assert {"data", "extern"} <= kinds
    calls = json.loads(run_pybpf("object", "dump", build("obj_calls"), "-j").stdout)
    assert any(p["subprogram"] for p in calls["programs"])
    assert {"call", "func_addr", "map", "data"} <= {r["kind"] for p in calls["programs"] for r in p["relocations"]}


def _libbpf_core_lines(log):
    """libbpf's per-relocation debug lines: {(prog, relo): [spec line, patched line...]}"""
    out: dict = {}
    for _, line in log:
        m = re.match(r"libbpf: prog '([^']+)': relo #(\d+): (.*)", line.rstrip("\n"))
        if m:
            out.setdefault((m.group(1), int(m.group(2))), []).append(m.group(3))
    return out


@pytest.mark.parametrize("target", ["kernel", "custom"])
def test_core_matches_libbpf_log(target, build, libbpf, run_pybpf, core_target_btf):
    path = build("obj_core")
    btf = core_target_btf if target == "custom" else None
    want = _libbpf_core_lines(libbpf(path, load=True, btf=btf)["log"])
    args = ["object", "core", path, "-j"] + (["kernel_btf", btf] if btf else [])
    got = json.loads(run_pybpf(*args).stdout)
    assert got and len(got) == len(want)
    for e in got:
        lines = want[(e["prog"], e["relo"])]
        assert lines[0] == e["local_spec"]
        patched = [ln for ln in lines if ln.startswith("patched insn") or ln.startswith("substituting insn")]
        if e["poisoned"]:
            assert any(ln.startswith("substituting insn") or "poison" in ln for ln in lines)
        else:
            assert patched == e["patch"]
    text = run_pybpf(*args[:-1]).stdout if not btf else run_pybpf("object", "core", path, "kernel_btf", btf).stdout
    assert text.count("relo #") >= len(got)


def test_core_explains_a_poisoned_relocation(build, run_pybpf):
    got = json.loads(run_pybpf("object", "core", build("obj_core_poison"), "-j").stdout)
    assert any(e["poisoned"] for e in got)
    text = run_pybpf("object", "core", build("obj_core_poison")).stdout
    assert "poison" in text


def _u64_at(data: bytes, off: int) -> int:
    return struct.unpack_from("<Q", data, off)[0]


def test_loadall_autoattach_pins_links(build, bpffs_dir, run_pybpf):
    from pybpf import Map
    from pybpf.link import Link

    path = build("obj_trace")
    progs = os.path.join(bpffs_dir, "progs")
    maps = os.path.join(bpffs_dir, "maps")
    run_pybpf("prog", "loadall", path, progs, "pinmaps", maps, "autoattach")
    spec = ObjectSpec.open(path)
    pinned = sorted(os.listdir(progs))
    assert pinned == sorted(spec.programs)
    attached = {n for n, p in spec.programs.items()
                if p.definition is not None and p.definition.auto_attach is not None}
    assert attached >= {"on_tp", "on_raw", "on_btf"}
    for n in sorted(attached):
        with Link.from_pin(os.path.join(progs, n)) as link:
            assert link.info().prog_id
    # the links keep the programs attached after pybpf exited: trigger them
    bss_name = next(m.name for m in spec.maps.values() if m.name.endswith(".bss"))
    with Map.from_pin(os.path.join(maps, bss_name.replace(".", "_"))) as bss:
        raw = bytearray(bss.lookup(struct.pack("<I", 0)))
        tp = spec.variables["tp_hits"].offset
        target = spec.variables["target_pid"].offset
        struct.pack_into("<i", raw, target, os.getpid())
        bss.update(struct.pack("<I", 0), bytes(raw))
        for _ in range(3):
            os.getpid()
        after = bytes(bss.lookup(struct.pack("<I", 0)))
    assert _u64_at(after, tp) >= 3
    assert _u64_at(after, spec.variables["raw_hits"].offset) >= 3
    assert _u64_at(after, spec.variables["btf_hits"].offset) >= 3


def test_load_autoattach_falls_back_to_pinning_the_program(build, bpffs_dir, run_pybpf):
    from pybpf import Program

    # obj_maps' first program is a tc classifier: not auto-attachable -> the program is pinned
    target = os.path.join(bpffs_dir, "first")
    proc = run_pybpf("prog", "load", build("obj_maps"), target, "autoattach")
    assert "does not support autoattach" in proc.stderr
    with Program.from_pin(target) as prog:
        assert prog.name == next(iter(ObjectSpec.open(build("obj_maps")).programs))[:15]


def _ids():
    from pybpf.sys.commands import iter_ids

    return {"prog": set(iter_ids("prog")), "map": set(iter_ids("map"))}


def _names_of(kind, ids):
    from pybpf import Map, Program

    names = set()
    for i in ids:
        try:
            with (Program.from_id(i) if kind == "prog" else Map.from_id(i)) as o:
                names.add(o.name)
        except Exception:
            pass
    return names


@pytest.mark.parametrize("fixture,needle", [
    ("obj_bad_license", "license"),
    ("obj_bad_extern", "CONFIG_PYBPF_NO_SUCH_OPTION"),
    ("obj_bad_section", "pybpf_no_such_section"),
])
def test_failed_loadall_names_the_culprit_and_leaves_nothing(fixture, needle, build, bpffs_dir, run_pybpf):
    path = build(fixture)
    spec_names = set()
    try:
        spec = ObjectSpec.open(path)
        spec_names = {n[:15] for n in spec.programs} | {m.name[:15] for m in spec.maps.values()}
    except Exception:
        pass
    before = _ids()
    proc = run_pybpf("prog", "loadall", path, os.path.join(bpffs_dir, "x"), check=False)
    after = _ids()
    assert proc.returncode != 0
    assert needle in proc.stderr, proc.stderr
    new = _names_of("prog", after["prog"] - before["prog"]) | _names_of("map", after["map"] - before["map"])
    assert not (new & spec_names)
    assert not os.path.exists(os.path.join(bpffs_dir, "x")) or not os.listdir(os.path.join(bpffs_dir, "x"))


def test_cli_usage_errors(build, run_pybpf, tmp_path):
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF" + b"\0" * 10)
    proc = run_pybpf("object", "dump", str(bad), check=False)
    assert proc.returncode != 0 and "bad.o" in proc.stderr
    proc = run_pybpf("object", "core", build("obj_core"), "kernel_btf", str(tmp_path / "nope"), check=False)
    assert proc.returncode != 0 and "nope" in proc.stderr
    proc = run_pybpf("prog", "loadall", build("obj_calls"), "/sys/fs/bpf/x", "bogus", check=False)
    assert proc.returncode != 0 and "bogus" in proc.stderr
    proc = run_pybpf("prog", "loadall", build("obj_calls"), str(tmp_path / "notbpffs"), check=False)
    assert proc.returncode != 0 and "BPF file system" in proc.stderr
    proc = run_pybpf("prog", "load", build("obj_calls"), "/sys/fs/bpf/x", "type", "nosuchtype", check=False)
    assert proc.returncode != 0 and "nosuchtype" in proc.stderr
