"""Programs loaded from raw instructions: load options, the verifier-log protocol, test_run,
info against bpftool, pinning, bad input."""

from __future__ import annotations

import os
import struct
import subprocess

import pytest

from pybpf import Map, Program, enable_stats
from pybpf.errors import (
    BPFError,
    ClosedError,
    InvalidArgumentError,
    NoSpaceError,
    PermissionDeniedError,
    VerifierError,
)
from pybpf.features import btf_blob
from pybpf.programs import program as program_mod
from pybpf.sys import consts, uapi
from pybpf.sys.commands import btf_load, iter_ids
from tests.sys.helpers import (
    EXIT,
    bpftool_json,
    call,
    insn,
    ld_map_fd,
    ld_map_idx,
    mov64_imm,
    ret,
)

pytestmark = pytest.mark.kernel


def test_xdp_test_run_passes_the_packet():
    packet = bytes(range(64))
    with Program.load("xdp", ret(uapi.XDP_PASS), name="pass") as p:
        r = p.test_run(packet, repeat=10)
    assert r.retval == uapi.XDP_PASS and r.data_out == packet
    assert isinstance(r.duration, int) and r.ctx_out == b""


def test_socket_filter_and_sched_cls_with_context():
    import ctypes

    mark = uapi.__sk_buff.mark.offset
    # r0 = *(u32 *)(r1 + offsetof(struct __sk_buff, mark)); exit
    prog = insn(0x61, 0, 1, mark, 0) + EXIT

    skb = uapi.__sk_buff()
    skb.mark = 0x1234
    with Program.load("sched_cls", prog, name="mark") as p:
        r = p.test_run(bytes(64), ctx_in=bytes(skb))
    assert r.retval == 0x1234
    assert len(r.ctx_out) == ctypes.sizeof(skb)
    assert uapi.__sk_buff.from_buffer_copy(r.ctx_out).mark == 0x1234


def test_raw_tracepoint_runs_on_the_requested_cpu():
    ncpu = os.cpu_count() or 1
    prog = call(uapi.BPF_FUNC_get_smp_processor_id) + EXIT
    with Program.load("raw_tracepoint", prog, name="whichcpu") as p:
        for cpu in range(min(ncpu, 2)):
            r = p.test_run(ctx_in=bytes(8), flags=consts.BPF_F_TEST_RUN_ON_CPU, cpu=cpu)
            assert r.retval == cpu


def test_too_small_output_buffer_is_reported():
    with Program.load("xdp", ret(uapi.XDP_PASS)) as p:
        with pytest.raises(NoSpaceError, match="test run"):
            p.test_run(bytes(64), data_size_out=8)
        assert p.test_run(bytes(64), data_size_out=64).data_out == bytes(64)


def test_run_stats_count_runs(require_tools):
    require_tools("bpftool")
    with Program.load("xdp", ret(uapi.XDP_PASS), name="stats") as p:
        with enable_stats():
            p.test_run(bytes(64), repeat=7)
            info = p.info()
            shown = bpftool_json("prog", "show", "id", str(p.id))
        assert info.run_cnt == 7 and info.run_time_ns > 0
        assert shown["run_cnt"] == info.run_cnt and shown["run_time_ns"] == info.run_time_ns


# ----------------------------------------------------------------------------- verifier log


BAD = EXIT  # exit without setting r0: "R0 !read_ok"


def test_verifier_error_keeps_the_whole_log():
    with pytest.raises(VerifierError) as info:
        Program.load("socket_filter", BAD, name="bad")
    err = info.value
    assert "R0 !read_ok" in err.log and "processed 1 insns" in err.log
    assert err.op == "BPF_PROG_LOAD" and err.errno == 13
    assert "program 'bad' (socket_filter)" in str(err) and "R0 !read_ok" in str(err)


def _recording(monkeypatch):
    calls = []
    real = program_mod.bpf_raw

    def spy(cmd, attr, size=None):
        if cmd == uapi.BPF_PROG_LOAD:
            calls.append((int(attr.log_level), int(attr.log_size)))
        return real(cmd, attr, size)

    monkeypatch.setattr(program_mod, "bpf_raw", spy)
    return calls


def test_log_protocol_no_log_first_then_libbpf_size(monkeypatch):
    calls = _recording(monkeypatch)
    with Program.load("socket_filter", ret(0)):
        pass
    assert calls == [(0, 0)]  # success: no log ever asked for
    calls.clear()
    with pytest.raises(VerifierError):
        Program.load("socket_filter", BAD)
    assert calls == [(0, 0), (1, program_mod.LOG_BUF_SIZE)]


def test_log_buffer_grows_on_enospc_until_complete(monkeypatch):
    # A long program (many instructions before the bad exit) gives a long log at level 2.
    body = mov64_imm(1, 1) * 200 + BAD
    # The kernel's own log with a buffer big enough from the start is the oracle.
    with pytest.raises(VerifierError) as full:
        Program.load("socket_filter", body, log_level=2, log_size=1 << 24)
    calls = _recording(monkeypatch)
    monkeypatch.setattr(program_mod, "LOG_BUF_SIZE", 256)
    with pytest.raises(VerifierError) as grown:
        Program.load("socket_filter", body, log_level=2)
    assert grown.value.log == full.value.log and not grown.value.truncated
    sizes = [size for _, size in calls]
    assert sizes[0] == 256 and len(sizes) >= 2 and sizes == sorted(sizes)


def test_fixed_small_log_is_truncated_not_grown():
    with pytest.raises(VerifierError) as info:
        Program.load("socket_filter", mov64_imm(1, 1) * 200 + BAD, log_level=2, log_size=512)
    assert info.value.truncated and "(log truncated)" in str(info.value)


def test_log_level_on_success_keeps_the_log():
    with Program.load("socket_filter", ret(0), log_level=1) as p:
        assert "processed 2 insns" in p.verifier_log


def test_gpl_only_helper_needs_gpl_license():
    prog = call(uapi.BPF_FUNC_ktime_get_ns) + EXIT
    with Program.load("tracepoint", prog, "Dual BSD/GPL") as p:
        assert p.info().gpl_compatible
    with pytest.raises(VerifierError, match="cannot call GPL-restricted function"):
        Program.load("tracepoint", call(uapi.BPF_FUNC_trace_printk) + EXIT, "Proprietary")


# ----------------------------------------------------------------------------- info vs bpftool


def test_info_matches_bpftool(require_tools, tmp_path):
    require_tools("bpftool")
    with Map.create("array", 4, 8, 1, name="cnt") as m:
        # r1 = map; r0 = 0; exit   (the map becomes one of the program's maps)
        prog = ld_map_fd(1, m.fileno()) + ret(uapi.XDP_PASS)
        with Program.load("xdp", prog, "GPL", name="with_map") as p:
            info = p.info()
            shown = bpftool_json("prog", "show", "id", str(p.id))
            assert shown["id"] == info.id and shown["name"] == "with_map" == info.name
            assert shown["type"] == "xdp" == info.type_name
            assert shown["tag"] == info.tag_hex == p.tag
            assert shown["gpl_compatible"] is info.gpl_compatible is True
            assert shown["uid"] == info.created_by_uid == os.getuid()
            assert abs(shown["loaded_at"] - info.loaded_at) <= 2
            assert shown["bytes_xlated"] == info.xlated_prog_len == len(info.xlated_insns)
            assert shown["jited"] is info.jited
            assert shown["bytes_jited"] == info.jited_prog_len == len(info.jited_insns)
            assert shown["bytes_memlock"] == info.memlock
            assert shown["map_ids"] == list(info.map_ids) == [m.id]
            xlated = tmp_path / "x"
            subprocess.run(["bpftool", "prog", "dump", "xlated", "id", str(p.id), "file", str(xlated)],
                           check=True, capture_output=True)
            assert xlated.read_bytes() == info.xlated_insns  # (jited dumps need libbfd)
            assert len(info.jited_ksyms) == 1 and info.jited_func_lens == (info.jited_prog_len,)
            assert info.verified_insns == int(info.extra["verified_insns"])


def _func_btf() -> tuple[bytes, bytes, bytes]:
    """BTF with ``int main(void)`` and line info for a 2-instruction program."""
    strings = b"\0int\0main\0prog.c\0return 0;\0"
    types = (struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)        # [1] int
             + struct.pack("<III", 0, 13 << 24, 1)                       # [2] int (void)
             + struct.pack("<III", 5, (12 << 24) | 1, 2))                # [3] global main
    func_info = struct.pack("<II", 0, 3)
    line_info = struct.pack("<IIII", 0, 10, 17, (7 << 10) | 5)
    return btf_blob(types, strings), func_info, line_info


def test_btf_func_and_line_info(require_tools):
    require_tools("bpftool")
    blob, func_info, line_info = _func_btf()
    with btf_load(blob) as btf, Program.load("socket_filter", ret(0), name="main", btf=btf,
                                             func_info=func_info, line_info=line_info) as p:
        info = p.info()
        assert info.btf_id != 0 and info.func_info == func_info
        assert info.func_info_rec_size == 8 and info.line_info_rec_size == 16
        assert info.line_info[:4] == line_info[:4]
        assert bpftool_json("prog", "show", "id", str(p.id))["btf_id"] == info.btf_id


def test_fd_array_and_map_index():
    with Map.create("array", 4, 4, 1, name="viaidx") as m:
        with Program.load("socket_filter", ld_map_idx(1, 0) + ret(0), fd_array=[m]) as p:
            assert p.info().map_ids == (m.id,)


def test_attach_btf_id_for_tp_btf():
    from pybpf.btf import BTF, Kind

    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        vmlinux = BTF.parse(f.read())
    target = vmlinux.find_one("btf_trace_sched_switch", Kind.TYPEDEF)
    with Program.load("tracing", ret(0), expected_attach_type="trace_raw_tp",
                      attach_btf_id=target, name="tp_btf") as p:
        info = p.info()
        assert info.attach_btf_id == target and info.attach_btf_obj_id != 0


def test_expected_attach_type_flags_and_kern_version():
    with pytest.raises(BPFError):
        Program.load("cgroup_sock_addr", ret(1))  # needs an expected attach type
    with Program.load("cgroup_sock_addr", ret(1), expected_attach_type="cgroup_inet4_connect"):
        pass
    with Program.load("syscall", ret(0), flags=consts.BPF_F_SLEEPABLE):
        pass
    with Program.load("kprobe", ret(0), kern_version=(6 << 16)):
        pass
    with pytest.raises(InvalidArgumentError):
        Program.load("socket_filter", ret(0), flags=1 << 30)


# ----------------------------------------------------------------------------- pinning, ids


def test_pin_and_open_again(bpffs_dir, require_tools):
    require_tools("bpftool")
    path = os.path.join(bpffs_dir, "prog")
    with Program.load("xdp", ret(uapi.XDP_PASS), name="pinme") as p:
        p.pin(path)
        prog_id = p.id
    assert bpftool_json("prog", "show", "pinned", path)["id"] == prog_id
    with Program.from_pin(path) as again, Program.from_id(prog_id) as byid, \
            Program.from_fd(again.fileno()) as byfd:
        assert again.id == byid.id == byfd.id == prog_id
        assert again.name == "pinme" and again.type == uapi.BPF_PROG_TYPE_XDP
        assert byfd.test_run(bytes(16)).retval == uapi.XDP_PASS
        again.unpin()
    assert prog_id not in iter_ids("prog")
    with Map.create("array", 4, 4, 1) as m:
        m.pin(path)
        with pytest.raises(InvalidArgumentError, match="not a BPF program"):
            Program.from_pin(path)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("args,kwargs,text", [
    (("xdp", b"\x95\0\0\0"), {}, "not a multiple of 8"),
    (("xdp", b""), {}, "at least one instruction"),
    (("xdp", 42), {}, "instructions must be bytes"),
    (("xdp", ret(0)), {"name": "no spaces"}, "characters the kernel refuses"),
    (("socket_fliter", ret(0)), {}, "unknown program type 'socket_fliter'"),
    ((9999, ret(0)), {}, "program type 9999 is unknown"),
    (("xdp", ret(0), "GP\0L"), {}, "license contains a NUL"),
    (("xdp", ret(0)), {"func_info": b"123"}, "not a whole number of 8-byte records"),
    (("xdp", ret(0)), {"attach_prog_fd": 5, "attach_btf_obj_fd": 6}, "not both"),
    (("xdp", ret(0)), {"expected_attach_type": "nonsense"}, "unknown attach type"),
])
def test_bad_load_arguments(args, kwargs, text):
    before = iter_ids("prog")
    with pytest.raises(BPFError, match=text):
        Program.load(*args, **kwargs)
    assert iter_ids("prog") == before


def test_use_after_close():
    p = Program.load("xdp", ret(uapi.XDP_PASS), name="gone")
    p.close()
    p.close()
    with pytest.raises(ClosedError, match="program 'gone'"):
        p.test_run(bytes(16))
    with pytest.raises(ClosedError):
        p.info()


def test_fentry_explains_missing_trampolines():
    """This kernel has no ftrace-patchable functions: fentry loads fail with EPERM, and the
    error says why (a kernel fact from DESIGN.md, not pybpf's)."""
    from pybpf.btf import BTF, Kind

    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        vmlinux = BTF.parse(f.read())
    target = vmlinux.find_one("bpf_fentry_test1", Kind.FUNC)
    try:
        with Program.load("tracing", ret(0), expected_attach_type="trace_fentry",
                          attach_btf_id=target):
            pass
    except PermissionDeniedError as exc:
        assert "trampolines" in str(exc)
