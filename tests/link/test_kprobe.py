"""kprobe, kretprobe, ksyscall, kprobe.multi and trampoline (fentry/fexit/fmod_ret/lsm)
programs, as far as this kernel goes (DESIGN.md: CONFIG_KPROBES is off, trampolines cannot be
built). Where the kernel can attach they are attached and must run; where it cannot, the exact
error pybpf gives is checked, and the bytes pybpf would send are checked against the UAPI
layout."""

from __future__ import annotations

import ctypes
import os
import struct

import pytest

from pybpf.errors import NotFoundError, NotSupportedError, PermissionDeniedError
from pybpf.link import probe as probe_mod
from pybpf.link.kprobe import SYSCALL_PREFIXES, attach_kprobe, attach_ksyscall, ksyscall_function
from pybpf.link.kprobe_multi import attach_kprobe_multi, kprobe_multi_attr_fill, resolve_kprobe_pattern
from pybpf.link.tracing import tracing_link_attr
from pybpf.sys import tracefs, uapi

SRC = "link_kprobe.bpf.c"
HAS_KPROBE_PMU = os.path.exists("/sys/bus/event_source/devices/kprobe/type")


def _getpid_syscalls(n: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(n):
        libc.syscall(39)


@pytest.mark.kernel
def test_kprobe_attaches_or_says_why(load_fixture):
    obj = load_fixture(SRC, only=("kprobe/__x64_sys_getpid",))
    prog = obj.progs["kprobe/__x64_sys_getpid"]
    if HAS_KPROBE_PMU:
        with attach_kprobe(prog, "__x64_sys_getpid"):
            _getpid_syscalls(5)
            assert obj.get("kprobe_hits") >= 5
        return
    if os.path.exists(tracefs.tracefs_path("kprobe_events")):
        pytest.fail("no kprobe PMU but kprobe_events exists: the legacy path must attach")
    with pytest.raises(NotSupportedError) as err:
        attach_kprobe(prog, "__x64_sys_getpid")
    assert str(err.value) == (
        "cannot attach kprobe __x64_sys_getpid: this kernel has neither the kprobe perf PMU nor "
        "tracefs kprobe_events (CONFIG_KPROBES/CONFIG_KPROBE_EVENTS is off): "
        "Operation not supported (ENOTSUP)")
    with pytest.raises(NotSupportedError, match="kretprobe __x64_sys_getpid"):
        attach_kprobe(prog, "__x64_sys_getpid", retprobe=True, maxactive=8)
    with pytest.raises(NotSupportedError, match=r"cannot attach kprobe __x64_sys_getppid"):
        attach_ksyscall(prog, "getppid")


def test_kretprobe_rejects_offset():
    with pytest.raises(ValueError, match="kretprobes do not support offset"):
        attach_kprobe(object(), "do_sys_open", offset=4, retprobe=True)


@pytest.mark.kernel
def test_ksyscall_function_uses_the_wrapper_kallsyms_has():
    prefix = SYSCALL_PREFIXES[os.uname().machine]
    with open("/proc/kallsyms") as f:
        names = {line.split()[2] for line in f}
    expected = f"__{prefix}_sys_getpid" if f"__{prefix}_sys_bpf" in names else "__se_sys_getpid"
    assert ksyscall_function("getpid") == expected
    assert expected in names


def test_kprobe_pmu_attr(monkeypatch):
    """What perf_event_open gets for a PMU kretprobe (PMU files simulated: this kernel has none)."""
    monkeypatch.setattr(probe_mod, "pmu_type", lambda pmu: {"kprobe": 6, "uprobe": 7}[pmu])
    monkeypatch.setattr(probe_mod, "pmu_config_bit", lambda pmu, field: 0)
    attr, keep = probe_mod.probe_perf_attr(False, True, b"do_sys_openat2", 0x10)
    assert attr.type == 6 and attr.config == 1 and attr.config2 == 0x10
    assert ctypes.string_at(attr.config1) == b"do_sys_openat2"
    assert attr.size == ctypes.sizeof(uapi.perf_event_attr)
    raw = bytes(attr)
    # struct perf_event_attr: type@0, size@4, config@8, config1@56, config2@64 (linux/perf_event.h)
    assert struct.unpack_from("<IIQ", raw, 0) == (6, ctypes.sizeof(attr), 1)
    assert struct.unpack_from("<QQ", raw, 56) == (attr.config1, 0x10)


@pytest.mark.kernel
def test_uprobe_pmu_attr_from_sysfs():
    type_ = int(open("/sys/bus/event_source/devices/uprobe/type").read())
    ref_field = open("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset").read().strip()
    ret_field = open("/sys/bus/event_source/devices/uprobe/format/retprobe").read().strip()
    shift = int(ref_field.split(":")[1].split("-")[0])
    bit = int(ret_field.split(":")[1])
    attr, keep = probe_mod.probe_perf_attr(True, True, b"/bin/true", 0x1234, ref_ctr_offset=0x40)
    assert attr.type == type_ and attr.config == (1 << bit) | (0x40 << shift)
    assert attr.config2 == 0x1234 and ctypes.string_at(attr.config1) == b"/bin/true"


def test_legacy_kprobe_event_lines(monkeypatch):
    written = []
    monkeypatch.setattr(tracefs, "_append", lambda path, line, what: written.append((os.path.basename(path), line)))
    monkeypatch.setattr(tracefs, "tracefs_root", lambda: "/fake/tracing")
    monkeypatch.setattr(tracefs, "tracepoint_id", lambda cat, name: 1234)
    assert tracefs.add_probe_event("kprobe", "kprobes", "ev1", "do_sys_open+0x8") == 1234
    assert tracefs.add_probe_event("kprobe", "kprobes", "ev2", "do_sys_open", retprobe=True, maxactive=16) == 1234
    assert tracefs.add_probe_event("uprobe", "uprobes", "ev3", "/bin/ls:0x100(0x20)") == 1234
    tracefs.remove_probe_event("kprobe", "kprobes", "ev1")
    assert written == [("kprobe_events", "p:kprobes/ev1 do_sys_open+0x8\n"),
                       ("kprobe_events", "r16:kprobes/ev2 do_sys_open\n"),
                       ("uprobe_events", "p:uprobes/ev3 /bin/ls:0x100(0x20)\n"),
                       ("kprobe_events", "-:kprobes/ev1\n")]
    name = probe_mod.legacy_event_name("kprobe", "do_sys_open.isra.0", 8)
    assert name.startswith(f"pybpf_{os.getpid()}_") and name.endswith("_do_sys_open_isra_0_0x8")


def test_kprobe_multi_pattern_resolution(tmp_path):
    syms = [(0x1000, "T", "vfs_read", ""), (0x1100, "t", "vfs_readv", ""), (0x1200, "T", "vfs_write", ""),
            (0x1300, "D", "vfs_rdata", ""), (0x1400, "T", "vfs_readlink", "")]
    names, addrs = resolve_kprobe_pattern("vfs_read*", filter_funcs=["vfs_read", "vfs_readv", "vfs_write"],
                                          symbols=syms)
    assert names == ["vfs_read", "vfs_readv"] and addrs == []
    f = tmp_path / "available_filter_functions_addrs"
    f.write_text("ffffffff81001000 vfs_read\nffffffff81002000 vfs_write\n"
                 "ffffffff81003000 __ftrace_invalid_address___123\nffffffff81004000 vfs_readv [mod]\n")
    names, addrs = resolve_kprobe_pattern("vfs_read*", filter_addrs_path=str(f))
    assert names == [] and addrs == [0xFFFFFFFF81001000, 0xFFFFFFFF81004000]
    with pytest.raises(NotFoundError, match="no attachable kernel function matches 'nothing\\*'"):
        resolve_kprobe_pattern("nothing*", filter_funcs=[], symbols=syms)


def test_kprobe_multi_attr_layout():
    attr = uapi.bpf_attr_link_create()
    attr.prog_fd, attr.attach_type = 7, uapi.BPF_TRACE_KPROBE_MULTI
    keep = kprobe_multi_attr_fill(["a_func", "b_func"], [], [11, 22], 1)(attr)
    raw = bytes(attr)
    # link_create.kprobe_multi: flags@16 cnt@20 syms@24 addrs@32 cookies@40 (linux/bpf.h)
    flags, cnt, syms, addrs, cookies = struct.unpack_from("<IIQQQ", raw, 16)
    assert (flags, cnt, addrs) == (1, 2, 0)
    ptrs = struct.unpack("<QQ", ctypes.string_at(syms, 16))
    assert [ctypes.string_at(p) for p in ptrs] == [b"a_func", b"b_func"]
    assert struct.unpack("<QQ", ctypes.string_at(cookies, 16)) == (11, 22)
    del keep


@pytest.mark.kernel
def test_kprobe_multi_on_this_kernel(load_fixture):
    obj = load_fixture(SRC, only=("kprobe.multi/__x64_sys_getp*",))
    prog = obj.progs["kprobe.multi/__x64_sys_getp*"]
    try:
        link = attach_kprobe_multi(prog, "__x64_sys_getp*")
    except (PermissionDeniedError, NotFoundError) as exc:
        # no ftrace-patchable functions here: nothing can be listed or matched
        assert "kprobe.multi '__x64_sys_getp*'" in str(exc) or "no attachable kernel function" in str(exc)
    else:
        with link:
            _getpid_syscalls(3)
            assert obj.get("kprobe_hits") >= 3
        return
    with pytest.raises(Exception) as err:   # the kernel itself refuses explicit symbols
        attach_kprobe_multi(prog, symbols=["__x64_sys_getpid"])
    assert "attaching kprobe.multi to 1 symbols" in str(err.value)
    assert getattr(err.value, "op", None) == "BPF_LINK_CREATE"


@pytest.mark.kernel
@pytest.mark.parametrize("sec", ["fentry/bpf_fentry_test1", "fexit/bpf_fentry_test1",
                                 "fmod_ret/bpf_modify_return_test", "lsm/file_open"])
def test_trampoline_programs_fail_at_load_with_a_clear_error(load_fixture, sec):
    avail = "/sys/kernel/tracing/available_filter_functions"
    try:
        patchable = bool(open(avail).read().strip())
    except OSError:
        patchable = False
    if patchable:
        obj = load_fixture(SRC, only=(sec,))
        from pybpf.link import attach_trace

        attach_trace(obj.progs[sec]).detach()
        return
    with pytest.raises(PermissionDeniedError) as err:
        load_fixture(SRC, only=(sec,))
    text = str(err.value)
    assert text.startswith("BPF_PROG_LOAD: ") and ": prog 'on_" in text   # the object loader names it
    assert ("this kernel cannot attach trampolines (fentry/fexit/lsm/freplace need "
            "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS and ftrace-patchable functions): "
            "Operation not permitted (EPERM)") in text


def test_tracing_link_attr_bytes():
    attr = tracing_link_attr(9, int(uapi.BPF_TRACE_FENTRY), target_btf_id=0, cookie=0xDEADBEEF)
    raw = bytes(attr)
    assert len(raw) == 64
    # link_create: prog_fd@0 target_fd@4 attach_type@8 flags@12 tracing{target_btf_id@16 cookie@24}
    assert struct.unpack_from("<IIII", raw, 0) == (9, 0, int(uapi.BPF_TRACE_FENTRY), 0)
    assert struct.unpack_from("<I4xQ", raw, 16) == (0, 0xDEADBEEF)
    assert raw[32:] == bytes(32)
