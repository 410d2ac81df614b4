"""``pybpf prog show`` and ``pybpf feature probe`` against bpftool on the same kernel."""

from __future__ import annotations

import json
import os
import struct
import subprocess

import pytest

from pybpf import Map, Program, enable_stats
from pybpf.features import btf_blob
from pybpf.sys import uapi
from pybpf.sys.commands import btf_load
from tests.sys.helpers import bpftool_json, ld_map_fd, ret

pytestmark = pytest.mark.kernel


def bpftool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bpftool", *args], capture_output=True, text=True)


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool")


def _named_btf(func_name: bytes) -> tuple[bytes, bytes]:
    strings = b"\0int\0" + func_name + b"\0"
    types = (struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)
             + struct.pack("<III", 0, 13 << 24, 1)
             + struct.pack("<III", 5, (12 << 24) | 1, 2))
    return btf_blob(types, strings), struct.pack("<II", 0, 3)


@pytest.fixture
def progs():
    made = []
    m = Map.create("array", 4, 8, 1, name="cli_pmap")
    made.append(m)
    made.append(Program.load("xdp", ld_map_fd(1, m.fileno()) + ret(2), name="cli_xdp"))
    made.append(Program.load("socket_filter", ret(0), "Proprietary", name="cli_prop"))
    long_name = b"cli_a_function_with_a_long_name"
    blob, func_info = _named_btf(long_name)
    btf = btf_load(blob)
    made.append(btf)
    made.append(Program.load("socket_filter", ret(0), name=long_name.decode(), btf=btf,
                             func_info=func_info))
    yield made
    for obj in made:
        obj.close()


def test_show_each_program_like_bpftool(tools, progs, run_pybpf):
    for p in progs:
        if not isinstance(p, Program):
            continue
        pid = str(p.id)
        ours = json.loads(run_pybpf("prog", "show", "id", pid, "-j").stdout)
        theirs = bpftool_json("prog", "show", "id", pid)
        assert abs(ours.pop("loaded_at") - theirs.pop("loaded_at")) <= 1
        assert ours == theirs
        text_ours = run_pybpf("prog", "show", "id", pid).stdout.splitlines()
        text_theirs = bpftool("prog", "show", "id", pid).stdout.splitlines()
        assert text_ours[0] == text_theirs[0] and text_ours[2:] == text_theirs[2:]
        assert text_ours[1].split()[2:] == text_theirs[1].split()[2:]  # "uid 0"; time may tick


def test_long_name_comes_from_btf(tools, progs, run_pybpf):
    p = progs[-1]
    shown = json.loads(run_pybpf("prog", "show", "id", str(p.id), "-j").stdout)
    assert shown["name"] == "cli_a_function_with_a_long_name" == \
        bpftool_json("prog", "show", "id", str(p.id))["name"]
    by_name = json.loads(run_pybpf("prog", "show", "name", "cli_a_function_with_a_long_name",
                                   "-j").stdout)
    assert by_name["id"] == p.id


def test_list_matches_bpftool(tools, progs, run_pybpf):
    ours = json.loads(run_pybpf("prog", "list", "-j").stdout)
    theirs = bpftool_json("prog", "show")
    # Other processes may load or unload programs between the two listings: compare the
    # programs both saw (in the same order), and require this test's programs among them.
    common = {p["id"] for p in ours} & {p["id"] for p in theirs}
    assert {p.id for p in progs if isinstance(p, Program)} <= common
    ours = [p for p in ours if p["id"] in common]
    theirs = [p for p in theirs if p["id"] in common]
    for a, b in zip(ours, theirs):
        assert abs(a.pop("loaded_at") - b.pop("loaded_at")) <= 1
    assert ours == theirs


def test_select_by_tag_name_and_pin(tools, progs, run_pybpf, bpffs_dir):
    xdp = progs[1]
    tag = xdp.tag
    ours = json.loads(run_pybpf("prog", "show", "tag", tag, "-j").stdout)
    theirs = bpftool_json("prog", "show", "tag", tag)
    for obj in (ours if isinstance(ours, list) else [ours]):
        obj.pop("loaded_at")
    for obj in (theirs if isinstance(theirs, list) else [theirs]):
        obj.pop("loaded_at")
    assert ours == theirs
    # A name can match several programs (another process's, or an earlier test's copy the
    # kernel is still freeing): ours must be among them.
    by_name = json.loads(run_pybpf("p", "s", "n", "cli_xdp", "-j").stdout)
    assert xdp.id in [p["id"] for p in (by_name if isinstance(by_name, list) else [by_name])]
    path = os.path.join(bpffs_dir, "xdp")
    xdp.pin(path)
    a = json.loads(run_pybpf("-f", "prog", "show", "pinned", path, "-j").stdout)
    b = bpftool_json("-f", "prog", "show", "pinned", path)
    a.pop("loaded_at"), b.pop("loaded_at")
    assert a == b and a["pinned"] == [path]


def test_run_stats_shown_like_bpftool(tools, run_pybpf):
    with Program.load("xdp", ret(2), name="cli_stats") as p, enable_stats():
        p.test_run(bytes(32), repeat=3)
        a = json.loads(run_pybpf("prog", "show", "id", str(p.id), "-j").stdout)
        b = bpftool_json("prog", "show", "id", str(p.id))
        assert a["run_cnt"] == b["run_cnt"] == 3 and a["run_time_ns"] == b["run_time_ns"]


def test_prog_selector_errors(tools, run_pybpf):
    out = run_pybpf("prog", "show", "tag", "zz", check=False)
    assert out.returncode == 255 and "can't parse tag" in out.stderr
    out = run_pybpf("prog", "show", "name", "cli_no_such_prog", "-j", check=False)
    assert "no program with name cli_no_such_prog found" in json.loads(out.stdout)["error"]
    out = run_pybpf("prog", "show", "id", "999999999", check=False)
    assert out.returncode == 255 and "program id 999999999" in out.stderr


# ----------------------------------------------------------------------------- feature probe


@pytest.fixture(scope="module")
def both_reports():
    import sys

    from tests.conftest import pybpf_command, pybpf_env

    ours = subprocess.run(pybpf_command("feature", "probe", "kernel", "-j"), env=pybpf_env(),
                          capture_output=True, text=True, check=True).stdout
    theirs = subprocess.run(["bpftool", "feature", "probe", "kernel", "-j"], capture_output=True,
                            text=True, check=True).stdout
    del sys
    return json.loads(ours), json.loads(theirs)


def test_feature_probe_sections_match_bpftool(tools, both_reports):
    ours, theirs = both_reports
    assert ours["system_config"] == theirs["system_config"]
    assert ours["syscall_config"] == theirs["syscall_config"]
    for section in ("program_types", "map_types", "misc"):
        for key, value in theirs[section].items():  # bpftool may know fewer features
            if key == "have_tracing_prog_type" and ours[section][key] and not value:
                # libbpf's probe is inconclusive without ftrace trampolines; the kernel loading
                # a tp_btf program is the oracle for pybpf's second probe.
                assert _tp_btf_loads()
                continue
            assert ours[section][key] == value, key


def _tp_btf_loads() -> bool:
    from pybpf.btf import BTF, Kind

    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        target = BTF.parse(f.read()).find_one("btf_trace_sched_switch", Kind.TYPEDEF)
    with Program.load("tracing", ret(0), expected_attach_type="trace_raw_tp", attach_btf_id=target):
        return True


def test_feature_probe_helpers_against_bpftool_and_verifier(tools, both_reports):
    """bpftool 7.1's libbpf 1.1 counts "program of this type cannot use helper" as supported;
    every helper it lists that pybpf does not must be refused by the verifier exactly so."""
    from pybpf import features

    ours, theirs = both_reports
    known = {n for names in theirs["helpers"].values() for n in names}
    for key, names in theirs["helpers"].items():
        mine = set(ours["helpers"][key])
        assert mine & known <= set(names), key
        prog_type = key.removesuffix("_available_helpers")
        extra = sorted(set(names) - mine)
        for helper in extra[:5]:
            hid = int(uapi.bpf_func_id["BPF_FUNC_" + helper.removeprefix("bpf_")])
            res = features._load(features.parse_prog_type(prog_type),
                                 features._call(hid) + features._EXIT, log=True,
                                 **features._prog_setup(features.parse_prog_type(prog_type)))
            assert res.fd < 0 and "program of this type cannot use helper" in res.log, (key, helper)


def test_feature_probe_text_lines_match_bpftool(tools, run_pybpf):
    ours = run_pybpf("feature", "probe").stdout.splitlines()
    theirs = bpftool("feature", "probe").stdout.splitlines()

    def section(lines, title):
        start = lines.index(title)
        end = lines.index("", start)
        return lines[start:end]

    for title in ("Scanning system configuration...", "Scanning system call availability...",
                  "Scanning eBPF program types...", "Scanning eBPF map types...",
                  "Scanning miscellaneous eBPF features..."):
        mine = section(ours, title)
        for line in section(theirs, title):
            if line == "eBPF program_type tracing is NOT available":
                continue  # see test_feature_probe_sections_match_bpftool
            assert line in mine, line
