"""``pybpf link|net|cgroup|perf`` against bpftool on the same live objects (same test run).

bpftool 7.1 predates some link types and per-type fields: where it prints a link type as a
number, ours must be the kernel's name for that number; every other field bpftool prints must
be equal, and the fields we add must be the ones current bpftool prints for that type."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from pybpf import Map
from pybpf.link import (attach_cgroup, attach_iter, attach_netfilter, attach_raw_tracepoint,
                        attach_sampling, attach_tcx, attach_tracepoint, attach_uprobe, attach_xdp)
from pybpf.sys.names import LINK_TYPE_NAMES
from tests.link.netns import VethPair, in_netns
from tests.link.test_cgroup_struct_ops import cgroup2_root
from tests.sys.helpers import bpftool_json, bpftool_text

pytestmark = pytest.mark.kernel

#: fields current bpftool prints that 7.1 does not, by link type
NEWER_FIELDS = {"perf_event": {"tracepoint", "event_type", "event_config", "retprobe", "file", "offset",
                               "func", "addr"},
                "xdp": {"devname", "ifindex"}, "tcx": {"devname", "ifindex", "attach_type"},
                "netfilter": {"pf", "hook", "prio", "flags"}, "struct_ops": {"map_id"},
                "tracing": {"target_obj_id", "target_btf_id"}}


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool", "ip")


@pytest.fixture
def live(tools, load_fixture, uprobe_binaries):
    """A set of links of many types, attached for the test (and detached after)."""
    import uuid

    t = load_fixture("link_trace.bpf.c")
    n = load_fixture("link_net.bpf.c", only=("xdp", "cgroup/sock_create", "netfilter", "tcx/ingress"))
    links = []
    m = Map.create("hash", 4, 8, 4, name="cli_iter")
    cg = os.path.join(cgroup2_root(), f"pybpf-cli-{uuid.uuid4().hex[:6]}")
    os.mkdir(cg)
    pair = VethPair()
    pair.create()
    try:
        links.append(attach_tracepoint(t.progs["tp/syscalls/sys_enter_getpid"], "syscalls/sys_enter_getpid"))
        links.append(attach_raw_tracepoint(t.progs["raw_tp/sys_enter"], "sys_enter"))
        links.append(attach_iter(t.progs["iter/bpf_map_elem"], map=m))
        links += list(attach_sampling(t.progs["perf_event"], sample_period=10 ** 9, cpus=[0]))
        links.append(attach_cgroup(n.progs["cgroup/sock_create"], cg))
        with in_netns(pair.ns_b):
            links.append(attach_xdp(n.progs["xdp"], pair.dev_b, mode="skb"))
            links.append(attach_tcx(n.progs["tcx/ingress"], pair.dev_b, "ingress"))
            links.append(attach_netfilter(n.progs["netfilter"], priority=-77))
        yield {"links": links, "cgroup": cg, "pair": pair, "map": m}
    finally:
        for link in links:
            link.detach()
        m.close()
        pair.delete()
        os.rmdir(cg)


def _compare(ours: dict, theirs: dict) -> None:
    assert ours["id"] == theirs["id"] and ours["prog_id"] == theirs["prog_id"]
    if isinstance(theirs["type"], int):
        assert ours["type"] == LINK_TYPE_NAMES[theirs["type"]]
    else:
        assert ours["type"] == theirs["type"]
    for key, value in theirs.items():
        if key != "type":
            assert ours.get(key) == value, (key, ours, theirs)
    extra = set(ours) - set(theirs)
    assert extra <= NEWER_FIELDS.get(ours["type"], set()), (extra, ours)


def test_link_show_matches_bpftool(live, run_pybpf):
    ids = {link.id for link in live["links"] if link.is_bpf_link}
    ours = {o["id"]: o for o in json.loads(run_pybpf("link", "show", "-j").stdout)}
    theirs = {o["id"]: o for o in bpftool_json("link", "show")}
    assert ids <= set(ours) and ids <= set(theirs)
    for link_id in ids:
        _compare(ours[link_id], theirs[link_id])
        one = json.loads(run_pybpf("link", "show", "id", str(link_id), "-j").stdout)
        assert one == ours[link_id]
        text_ours = run_pybpf("link", "show", "id", str(link_id)).stdout.splitlines()
        text_theirs = bpftool_text("link", "show", "id", str(link_id)).splitlines()
        if isinstance(theirs[link_id]["type"], str):
            assert text_ours[0] == text_theirs[0]
        if len(text_theirs) > 1:
            assert text_ours[1:] == text_theirs[1:]
    by_kind = {link.kind: link for link in live["links"]}
    assert ours[by_kind["tracepoint"].id]["tracepoint"] == "sys_enter_getpid"
    xdp = ours[by_kind["xdp"].id]
    assert xdp["ifindex"] == live["pair"].ifindex_b()   # (devname: resolved in our netns, as bpftool)
    assert ours[by_kind["netfilter"].id]["prio"] == -77


def test_link_pin_and_detach(live, run_pybpf, bpffs_dir):
    link = next(lk for lk in live["links"] if lk.kind == "raw_tracepoint")
    path = os.path.join(bpffs_dir, "pinned_link")
    run_pybpf("link", "pin", "id", str(link.id), path)
    assert bpftool_json("link", "show", "pinned", path)["id"] == link.id
    shown = json.loads(run_pybpf("-f", "link", "show", "id", str(link.id), "-j").stdout)
    assert shown["pinned"] == [path]
    assert json.loads(run_pybpf("link", "show", "pinned", path, "-j").stdout)["id"] == link.id
    refused = run_pybpf("link", "detach", "pinned", path, check=False)   # raw_tp links cannot
    assert refused.returncode != 0 and "Operation not supported" in refused.stderr
    assert subprocess.run(["bpftool", "link", "detach", "pinned", path], capture_output=True).returncode != 0
    os.unlink(path)
    cg_link = next(lk for lk in live["links"] if lk.kind == "cgroup")
    assert bpftool_json("cgroup", "show", live["cgroup"])
    run_pybpf("link", "detach", "id", str(cg_link.id))
    assert bpftool_json("cgroup", "show", live["cgroup"]) is None
    assert run_pybpf("cgroup", "show", live["cgroup"], "-j").stdout == bpftool_text("cgroup", "show", live["cgroup"], "-j")
    assert bpftool_json("link", "show", "id", str(cg_link.id))["cgroup_id"] == 0


def test_cgroup_show_and_tree_match_bpftool(live, run_pybpf):
    cg = live["cgroup"]
    for extra in ([], ["effective"]):
        assert json.loads(run_pybpf("cgroup", "show", cg, *extra, "-j").stdout) == \
            bpftool_json("cgroup", "show", cg, *extra)
        assert run_pybpf("cgroup", "show", cg, *extra).stdout == bpftool_text("cgroup", "show", cg, *extra)
    root = cgroup2_root()
    assert json.loads(run_pybpf("cgroup", "tree", root, "-j").stdout) == bpftool_json("cgroup", "tree", root)
    assert run_pybpf("cgroup", "tree", root).stdout == bpftool_text("cgroup", "tree", root)


def test_net_show_matches_bpftool(live, run_pybpf):
    pair = live["pair"]
    with in_netns(pair.ns_b):
        ours = json.loads(run_pybpf("net", "show", "-j").stdout)
        theirs = bpftool_json("net", "show")
        text_ours = run_pybpf("net", "show").stdout
        text_theirs = bpftool_text("net", "show")
        dev_ours = json.loads(run_pybpf("net", "show", "dev", pair.dev_b, "-j").stdout)
    tcx = [e for e in ours[0]["tc"] if e["kind"].startswith("tcx/")]
    assert [e["prog_id"] for e in tcx] == [lk.program.id for lk in live["links"] if lk.kind == "tcx"]
    ours[0]["tc"] = [e for e in ours[0]["tc"] if not e["kind"].startswith("tcx/")]   # bpftool 7.1: no tcx
    assert ours == theirs
    assert [ln for ln in text_ours.splitlines() if " tcx/" not in ln] == text_theirs.splitlines()
    assert dev_ours[0]["xdp"] == theirs[0]["xdp"]


def test_net_attach_detach_xdp(tools, load_fixture, run_pybpf):
    obj = load_fixture("link_net.bpf.c", only=("xdp",))
    prog = obj.progs["xdp"]
    pair = VethPair()
    pair.create()
    try:
        with in_netns(pair.ns_a):
            run_pybpf("net", "attach", "xdpgeneric", "id", str(prog.id), "dev", pair.dev_a)
            assert bpftool_json("net", "show")[0]["xdp"] == [
                {"devname": pair.dev_a, "ifindex": socket.if_nametoindex(pair.dev_a), "mode": "generic",
                 "id": prog.id}]
            again = run_pybpf("net", "attach", "xdpgeneric", "id", str(prog.id), "dev", pair.dev_a, check=False)
            theirs = subprocess.run(["bpftool", "net", "attach", "xdpgeneric", "id", str(prog.id), "dev",
                                     pair.dev_a], capture_output=True, text=True)
            assert again.returncode != 0 and theirs.returncode != 0    # both: already attached
            assert "Device or resource busy" in again.stderr
            run_pybpf("net", "attach", "xdpgeneric", "id", str(prog.id), "dev", pair.dev_a, "overwrite")
            run_pybpf("net", "detach", "xdpgeneric", "dev", pair.dev_a)
            assert bpftool_json("net", "show")[0]["xdp"] == []
    finally:
        pair.delete()


def test_perf_show_matches_bpftool(live, run_pybpf, load_fixture, uprobe_binaries):
    """perf show runs in a child process: the links live in this (the test's) process."""
    me = os.getpid()
    ours = [e for e in json.loads(run_pybpf("perf", "show", "-j").stdout) if e["pid"] == me]
    theirs = sorted((e for e in bpftool_json("perf", "show") if e["pid"] == me), key=lambda e: e["fd"])
    assert ours == theirs and len(ours) >= 2
    text = [ln for ln in run_pybpf("perf", "show").stdout.splitlines() if ln.startswith(f"pid {me} ")]
    assert sorted(text) == sorted(ln for ln in bpftool_text("perf", "show").splitlines()
                                  if ln.startswith(f"pid {me} "))


def test_perf_show_uprobe(tools, load_fixture, uprobe_binaries, usdt_include, run_pybpf):
    obj = load_fixture("link_uprobe.bpf.c", include_dirs=(usdt_include,), only=("uprobe", "uretprobe"))
    exe = uprobe_binaries["exe"]
    with attach_uprobe(obj.progs["uprobe"], exe, "target_add"), \
            attach_uprobe(obj.progs["uretprobe"], exe, "target_other", retprobe=True, mode="legacy"):
        me = os.getpid()
        ours = [e for e in json.loads(run_pybpf("perf", "show", "-j").stdout) if e["pid"] == me]
        theirs = sorted((e for e in bpftool_json("perf", "show") if e["pid"] == me), key=lambda e: e["fd"])
        assert ours == theirs
        assert {e["fd_type"] for e in ours} == {"uprobe", "uretprobe"}
        links = json.loads(run_pybpf("link", "show", "-j").stdout)
        assert any(e.get("file") == exe and e["retprobe"] is False for e in links)
