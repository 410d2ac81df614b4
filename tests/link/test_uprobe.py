"""uprobe/uretprobe, uprobe.multi and USDT links on gcc-built targets (a non-PIE executable,
a PIE and a shared library). The oracle is the kernel: the programs count calls and sum the
arguments/return values they see, which must equal what the target computed."""

from __future__ import annotations

import os

import pytest

from pybpf.errors import NotFoundError
from pybpf.link.uprobe import attach_uprobe, function_offset, resolve_binary_path
from pybpf.link.uprobe_multi import attach_uprobe_multi
from pybpf.link.usdt import attach_usdt
from pybpf.sys import uapi
from pybpf.sys.tracefs import tracefs_path
from tests.link.conftest import run_target

pytestmark = pytest.mark.kernel

SRC = "link_uprobe.bpf.c"
N = 10


@pytest.fixture
def uobj(load_fixture, usdt_include):
    return load_fixture(SRC, include_dirs=(usdt_include,))


@pytest.mark.parametrize("which", ["exe", "pie"])
def test_uprobe_and_uretprobe_on_executable(uobj, uprobe_binaries, which):
    path = uprobe_binaries[which]
    with attach_uprobe(uobj.progs["uprobe"], path, "target_add") as entry, \
            attach_uprobe(uobj.progs["uretprobe"], path, "target_add", retprobe=True):
        run_target(path, N)
        assert uobj.get("up_hits") == N
        assert uobj.get("up_arg_sum") == sum(range(N))
        assert uobj.get("uret_hits") == N
        assert uobj.get("uret_sum") == sum(i + 1 for i in range(N))
        info = entry.info()
        assert info.type == uapi.BPF_LINK_TYPE_PERF_EVENT
        assert info.file_name == path and info.offset == function_offset(path, "target_add")
    run_target(path, N)
    assert uobj.get("up_hits") == N


def test_uprobe_in_shared_library(uobj, uprobe_binaries):
    with attach_uprobe(uobj.progs["uprobe"], uprobe_binaries["lib"], "lib_mul"):
        out = run_target(uprobe_binaries["exe_lib"], N)
    assert int(out.split()[0]) == sum(i + 1 + 3 * i + 2 * i for i in range(N))
    assert uobj.get("up_hits") == N and uobj.get("up_arg_sum") == sum(range(N))


def test_uprobe_by_file_offset_and_pid_filter(uobj, uprobe_binaries):
    path = uprobe_binaries["exe"]
    off = function_offset(path, "target_other")
    links = []

    def attach(pid: int) -> None:
        links.append(attach_uprobe(uobj.progs["uprobe"], path, offset=off, pid=pid))
        run_target(path, 4)          # another process: filtered out

    try:
        run_target(path, N, wait=True, stdin_after=attach)
    finally:
        for link in links:
            link.detach()
    assert uobj.get("up_hits") == N and uobj.get("up_arg_sum") == sum(range(N))


def test_legacy_uprobe_event_is_removed(uobj, uprobe_binaries):
    path = uprobe_binaries["exe"]
    link = attach_uprobe(uobj.progs["uprobe"], path, "target_add", mode="legacy")
    try:
        events = open(tracefs_path("uprobe_events")).read()
        mine = [line for line in events.splitlines() if f"pybpf_{os.getpid()}_" in line]
        assert len(mine) == 1
        where = mine[0].split()[1]
        assert where.rpartition(":")[0] == path
        assert int(where.rpartition(":")[2], 16) == function_offset(path, "target_add")
        assert not link.is_bpf_link
        run_target(path, N)
        assert uobj.get("up_hits") == N
    finally:
        link.detach()
    assert f"pybpf_{os.getpid()}_" not in open(tracefs_path("uprobe_events")).read()


def test_missing_function_is_named(uobj, uprobe_binaries):
    with pytest.raises(NotFoundError, match="no_such_function"):
        attach_uprobe(uobj.progs["uprobe"], uprobe_binaries["exe"], "no_such_function")
    assert resolve_binary_path("sh").endswith("/sh")


def test_uprobe_multi_pattern_and_cookies(uobj, uprobe_binaries):
    path = uprobe_binaries["exe"]
    with attach_uprobe_multi(uobj.progs["uprobe.multi"], path, "target_*") as link:
        run_target(path, N)
        assert uobj.get("multi_hits") == 2 * N
        info = link.info()
        assert info.type == uapi.BPF_LINK_TYPE_UPROBE_MULTI and info.count == 2
        assert info.path == path
    uobj.set("multi_hits", 0)
    with attach_uprobe_multi(uobj.progs["uprobe.multi"], path, symbols=["target_add", "target_other"],
                             cookies=[1, 1000]):
        run_target(path, N)
    assert uobj.get("multi_hits") == 2 * N
    assert uobj.get("multi_cookie_sum") == N * 1001


def test_usdt_plain_and_semaphore(uobj, uprobe_binaries):
    specs = uobj.maps["__bpf_usdt_specs"]
    ips = uobj.maps["__bpf_usdt_ip_to_spec_id"]
    for which in ("exe", "pie"):
        path = uprobe_binaries[which]
        for name in ("usdt_hits", "usdt_arg0_sum"):
            uobj.set(name, 0)
        with attach_usdt(uobj.progs["usdt"], path, "pybpf", "plain", specs_map=specs,
                         ip_to_spec_id_map=ips, cookie=0xABC):
            out = run_target(path, N)
        total = int(out.split()[0])
        assert out.split()[1] == "0"            # no semaphore user attached
        assert uobj.get("usdt_hits") == N
        assert uobj.get("usdt_cookie") == 0xABC and uobj.get("usdt_arg_cnt") == 3
        assert uobj.get("usdt_arg0_sum") == sum(range(N))
        raw = uobj.globals_raw()
        off = uobj.vars["usdt_last_args"][1]
        last = [int.from_bytes(raw[off + 8 * i: off + 8 * i + 8], "little", signed=True) for i in range(3)]
        assert last == [N - 1, -(N - 1), total]

    path = uprobe_binaries["exe"]
    uobj.set("usdt_hits", 0)
    uobj.set("usdt_arg0_sum", 0)
    with attach_usdt(uobj.progs["usdt"], path, "pybpf", "sem_probe", specs_map=specs):
        out = run_target(path, N)
    assert out.split()[1] == "1"                # the kernel incremented the semaphore
    assert uobj.get("usdt_hits") == N and uobj.get("usdt_arg_cnt") == 2
    assert uobj.get("usdt_arg0_sum") == sum(range(N))
    off = uobj.vars["usdt_last_args"][1]
    assert int.from_bytes(uobj.globals_raw()[off + 8: off + 16], "little", signed=True) == 7
    with pytest.raises(NotFoundError, match="no USDT probe pybpf:nope"):
        attach_usdt(uobj.progs["usdt"], path, "pybpf", "nope", specs_map=specs)
