"""Auto-attach from SEC() names, as libbpf's bpf_program__attach(): live for the kinds this
kernel can attach (the programs must run), exact skip/error behaviour for the rest."""

from __future__ import annotations

import ctypes
import os

import pytest

from pybpf.errors import AttachError, NotSupportedError
from pybpf.link.auto import auto_attach, auto_attach_skip_reason, parse_uprobe_section
from pybpf.object.sections import parse_section
from tests.link.conftest import run_target


def _getpid(n: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(n):
        libc.syscall(39)


@pytest.mark.kernel
def test_auto_attach_tracing_kinds(load_fixture):
    obj = load_fixture("link_trace.bpf.c",
                       only=("tp/syscalls/sys_enter_getpid", "raw_tp/sys_enter", "tp_btf/sys_enter"))
    obj.set("target_pid", os.getpid())
    links = [auto_attach(obj.progs[sec], parse_section(sec)) for sec in obj.progs]
    try:
        assert all(link is not None for link in links)
        assert [link.kind for link in links] == ["tracepoint", "raw_tracepoint", "tracing"]
        _getpid(4)
        assert obj.get("tp_hits") >= 4 and obj.get("raw_tp_hits") >= 4 and obj.get("tp_btf_hits") >= 4
    finally:
        for link in links:
            if link is not None:
                link.detach()


@pytest.mark.kernel
def test_auto_attach_uprobe_kinds(load_fixture, usdt_include, uprobe_binaries):
    obj = load_fixture("link_uprobe.bpf.c", include_dirs=(usdt_include,))
    exe = uprobe_binaries["exe"]
    names = {
        "uprobe": f"uprobe/{exe}:target_add",
        "uretprobe": f"uretprobe/{exe}:target_add",
        "uprobe.multi": f"uprobe.multi/{exe}:target_*",
        "usdt": f"usdt/{exe}:pybpf:plain",
    }
    maps = (obj.maps["__bpf_usdt_specs"], obj.maps["__bpf_usdt_ip_to_spec_id"])
    links = []
    try:
        for loaded_sec, name in names.items():
            links.append(auto_attach(obj.progs[loaded_sec], parse_section(name), usdt_maps=maps))
        run_target(exe, 6)
    finally:
        for link in links:
            link.detach()
    assert obj.get("up_hits") == 6 and obj.get("up_arg_sum") == 15
    assert obj.get("uret_sum") == 21 and obj.get("multi_hits") == 12 and obj.get("usdt_hits") == 6


def test_uprobe_section_with_offset_and_errors():
    assert parse_uprobe_section("uprobe//usr/lib/libc.so.6:malloc+0x10") == ("uprobe", "/usr/lib/libc.so.6", "malloc+0x10")
    assert parse_uprobe_section("uprobe.s/libc.so.6:free") == ("uprobe.s", "libc.so.6", "free")
    assert parse_uprobe_section("uprobe") is None
    with pytest.raises(AttachError, match="invalid format of section definition 'uprobe/libc.so.6'"):
        parse_uprobe_section("uprobe/libc.so.6")
    with pytest.raises(AttachError, match="uretprobes do not support offset"):
        auto_attach(object(), "uretprobe//bin/true:main+4")
    with pytest.raises(AttachError, match="kretprobes do not support offset"):
        auto_attach(object(), "kretprobe/do_sys_open+4")
    with pytest.raises(AttachError, match="expected tp/CATEGORY/NAME"):
        auto_attach(object(), "tp/sched_switch")
    with pytest.raises(AttachError, match="usdt/PATH:PROVIDER:NAME"):
        auto_attach(object(), "usdt/x:y")


# libbpf 1.x: kinds with no auto-attach function, and bare names it skips silently.
SKIPPED = ["xdp", "xdp.frags", "tc", "tcx/ingress", "classifier", "cgroup/sock_create", "cgroup_skb/egress",
           "sockops", "sk_msg", "sk_skb/stream_verdict", "flow_dissector", "sk_lookup", "socket",
           "perf_event", "netfilter", "struct_ops/foo", "syscall", "kprobe", "kretprobe", "uprobe",
           "uretprobe", "uprobe.multi", "usdt", "tp", "tracepoint", "raw_tp", "raw_tracepoint",
           "ksyscall", "kprobe.multi", "kretprobe.multi", "lsm_cgroup/file_open"]


@pytest.mark.parametrize("name", SKIPPED)
def test_not_auto_attachable(name):
    assert auto_attach(object(), name) is None
    assert "not auto-attachable" in auto_attach_skip_reason(name)


@pytest.mark.parametrize("name", ["tp/sched/sched_switch", "raw_tp/sched_switch", "kprobe/do_sys_open",
                                  "ksyscall/openat", "fentry/do_sys_open", "lsm/file_open",
                                  "iter/task", "uprobe//bin/true:main", "usdt/x:y:z",
                                  "kprobe.multi/do_*", "freplace/foo"])
def test_auto_attachable(name):
    assert auto_attach_skip_reason(name) is None


@pytest.mark.kernel
def test_auto_attach_kprobe_on_this_kernel(load_fixture):
    obj = load_fixture("link_kprobe.bpf.c", only=("kprobe/__x64_sys_getpid",))
    if os.path.exists("/sys/bus/event_source/devices/kprobe"):
        link = auto_attach(obj.progs["kprobe/__x64_sys_getpid"], "kprobe/__x64_sys_getpid")
        with link:
            _getpid(2)
            assert obj.get("kprobe_hits") >= 2
        return
    with pytest.raises(NotSupportedError, match="cannot attach kprobe __x64_sys_getpid"):
        auto_attach(obj.progs["kprobe/__x64_sys_getpid"], "kprobe/__x64_sys_getpid")
