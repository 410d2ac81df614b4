"""Tracepoint, raw tracepoint, tp_btf, perf_event and iterator links on the live kernel: each
test checks the program really ran (a counter in its .bss read back), then that detaching
stops it."""

from __future__ import annotations

import ctypes
import os
import struct
import time

import pytest

from pybpf import Map
from pybpf.errors import NotFoundError
from pybpf.link import (Link, attach_iter, attach_raw_tracepoint, attach_sampling,
                        attach_tracepoint, attach_trace)
from pybpf.sys import uapi
from tests.link.conftest import trigger_getpid

pytestmark = pytest.mark.kernel

SRC = "link_trace.bpf.c"


def _syscall_getpid(n: int = 5) -> None:
    # os.getpid() is a real syscall each time in CPython 3.11 (no glibc caching since 2.25).
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(n):
        libc.syscall(39)


def test_tracepoint_counts_and_detaches(load_fixture):
    obj = load_fixture(SRC, only=("tp/syscalls/sys_enter_getpid",))
    obj.set("target_pid", os.getpid())
    prog = obj.progs["tp/syscalls/sys_enter_getpid"]
    with attach_tracepoint(prog, "syscalls", "sys_enter_getpid", cookie=0xC0FFEE) as link:
        _syscall_getpid(7)
        assert obj.get("tp_hits") >= 7
        assert obj.get("cookie_seen") == 0xC0FFEE
        assert link.is_bpf_link   # perf_event bpf_link on 5.15+
        info = link.info()
        assert info.type == uapi.BPF_LINK_TYPE_PERF_EVENT and info.prog_id == prog.id
        assert info.tp_name == "sys_enter_getpid"
    before = obj.get("tp_hits")
    _syscall_getpid(3)
    assert obj.get("tp_hits") == before


def test_tracepoint_ioctl_mode(load_fixture):
    from pybpf.link.tracepoint import open_tracepoint_event
    from pybpf.link.perf_event import attach_perf_event

    obj = load_fixture(SRC, only=("tp/syscalls/sys_enter_getpid",))
    obj.set("target_pid", os.getpid())
    prog = obj.progs["tp/syscalls/sys_enter_getpid"]
    link = attach_perf_event(prog, open_tracepoint_event("syscalls", "sys_enter_getpid"),
                             force_ioctl=True, kind="tracepoint")
    try:
        assert not link.is_bpf_link and link.legacy
        _syscall_getpid(4)
        assert obj.get("tp_hits") >= 4
    finally:
        link.detach()
    before = obj.get("tp_hits")
    _syscall_getpid(2)
    assert obj.get("tp_hits") == before


def test_missing_tracepoint_is_named(load_fixture):
    obj = load_fixture(SRC, only=("tp/syscalls/sys_enter_getpid",))
    with pytest.raises(NotFoundError, match="tracepoint 'syscalls/no_such_event' does not exist"):
        attach_tracepoint(obj.progs["tp/syscalls/sys_enter_getpid"], "syscalls/no_such_event")


def test_raw_tracepoint(load_fixture):
    obj = load_fixture(SRC, only=("raw_tp/sys_enter",))
    obj.set("target_pid", os.getpid())
    prog = obj.progs["raw_tp/sys_enter"]
    link = attach_raw_tracepoint(prog, "sys_enter")
    _syscall_getpid(5)
    assert obj.get("raw_tp_hits") >= 5
    info = link.info()
    assert info.type == uapi.BPF_LINK_TYPE_RAW_TRACEPOINT and info.tp_name == "sys_enter"
    link.detach()
    before = obj.get("raw_tp_hits")
    _syscall_getpid(3)
    assert obj.get("raw_tp_hits") == before
    with pytest.raises(NotFoundError, match="raw tracepoint 'no_such_tp' does not exist"):
        attach_raw_tracepoint(prog, "no_such_tp")


def test_tp_btf(load_fixture):
    obj = load_fixture(SRC, only=("tp_btf/sys_enter",))
    obj.set("target_pid", os.getpid())
    prog = obj.progs["tp_btf/sys_enter"]
    with attach_trace(prog) as link:
        _syscall_getpid(5)
        assert obj.get("tp_btf_hits") >= 5
        info = link.info()
        # the kernel makes tp_btf links raw_tracepoint links
        assert info.type == uapi.BPF_LINK_TYPE_RAW_TRACEPOINT and info.tp_name == "sys_enter"
    before = obj.get("tp_btf_hits")
    _syscall_getpid(3)
    assert obj.get("tp_btf_hits") == before


def test_perf_event_sampling(load_fixture):
    obj = load_fixture(SRC, only=("perf_event",))
    prog = obj.progs["perf_event"]
    with attach_sampling(prog, uapi.PERF_TYPE_SOFTWARE, uapi.PERF_COUNT_SW_CPU_CLOCK,
                         sample_period=100_000) as links:  # every 100 us of CPU time
        assert len(links) == len(os.sched_getaffinity(0)) or len(links) >= 1
        end = time.monotonic() + 5
        while obj.get("perf_hits") < 5 and time.monotonic() < end:
            sum(range(20000))
        assert obj.get("perf_hits") >= 5
        assert links[0].info().type == uapi.BPF_LINK_TYPE_PERF_EVENT
    time.sleep(0.01)
    before = obj.get("perf_hits")
    sum(range(200000))
    assert obj.get("perf_hits") == before


def test_perf_event_for_one_process_by_frequency(load_fixture):
    obj = load_fixture(SRC, only=("perf_event",))
    with attach_sampling(obj.progs["perf_event"], sample_freq=1000, cpus=[], pid=os.getpid()) as links:
        assert len(links) == 1
        end = time.monotonic() + 5
        while obj.get("perf_hits") < 3 and time.monotonic() < end:
            sum(range(20000))
        assert obj.get("perf_hits") >= 3


def test_iterator_over_map(load_fixture):
    obj = load_fixture(SRC, only=("iter/bpf_map_elem",))
    m = Map.create("hash", 4, 8, 16, name="iter_src")
    try:
        want = {1: 10, 7: 70, 42: 4242}
        for k, v in want.items():
            m.update(struct.pack("<I", k), struct.pack("<Q", v))
        with attach_iter(obj.progs["iter/bpf_map_elem"], map=m) as link:
            info = link.info()
            assert info.type == uapi.BPF_LINK_TYPE_ITER
            assert info.target_name == "bpf_map_elem" and info.map_id == m.id
            with link.open() as it:
                data = b""
                while chunk := os.read(it.fileno(), 4096):
                    data += chunk
            got = {k: v for k, v in struct.iter_unpack("<IQ", data)}
            assert got == want
            assert link.read_all() == data or len(link.read_all()) == len(data)
    finally:
        m.close()


def test_pin_and_reopen(load_fixture, bpffs_dir):
    obj = load_fixture(SRC, only=("raw_tp/sys_enter",))
    obj.set("target_pid", os.getpid())
    prog = obj.progs["raw_tp/sys_enter"]
    path = os.path.join(bpffs_dir, "rawtp_link")
    link = attach_raw_tracepoint(prog, "sys_enter")
    link_id = link.id
    link.pin(path)
    link.close()                       # pinned: stays attached
    _syscall_getpid(3)
    assert obj.get("raw_tp_hits") >= 3
    again = Link.from_pin(path)
    assert again.id == link_id and again.info().prog_id == prog.id
    by_id = Link.from_id(link_id)
    assert by_id.info().tp_name == "sys_enter"
    by_id.close()
    again.unpin()
    again.close()
    with pytest.raises(NotFoundError):
        Link.from_id(link_id)


def test_dropped_link_detaches_on_gc(load_fixture):
    import gc

    obj = load_fixture(SRC, only=("raw_tp/sys_enter",))
    obj.set("target_pid", os.getpid())
    link = attach_raw_tracepoint(obj.progs["raw_tp/sys_enter"], "sys_enter")
    _syscall_getpid(2)
    assert obj.get("raw_tp_hits") >= 2
    del link
    gc.collect()
    before = obj.get("raw_tp_hits")
    _syscall_getpid(3)
    assert obj.get("raw_tp_hits") == before


def test_closed_link_refuses_use(load_fixture):
    from pybpf.errors import ClosedError

    obj = load_fixture(SRC, only=("raw_tp/sys_enter",))
    link = attach_raw_tracepoint(obj.progs["raw_tp/sys_enter"], "sys_enter")
    link.detach()
    link.detach()            # twice is harmless
    with pytest.raises(ClosedError, match="raw_tracepoint link sys_enter .* is detached"):
        link.info()
