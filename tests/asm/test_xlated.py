"""``pybpf prog dump xlated`` against ``bpftool prog dump xlated`` on programs in the kernel.

Programs are loaded two ways: by bpftool from a clang-built object (maps, global data, a
bpf-to-bpf call, an inlined bpf_loop callback, BTF func and line info), and by pybpf from the
Python builder. Every output mode bpftool 7.1 has is compared byte for byte: plain, opcodes,
linum, visual, JSON (plain, opcodes, linum) and the raw ``file`` dump.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.kernel

MODES = [(), ("opcodes",), ("linum",), ("visual",)]
JSON_MODES = [(), ("opcodes",), ("linum",)]


def _bpftool(*args: str) -> str:
    proc = subprocess.run(["bpftool", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(args)} failed: {proc.stderr}{proc.stdout}")
    return proc.stdout


@pytest.fixture
def pin_dir():
    path = f"/sys/fs/bpf/pybpf-test-asm-{uuid.uuid4().hex[:8]}"
    os.makedirs(path)
    try:
        yield path
    finally:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)


def _load_with_bpftool(obj: str, pin: str) -> int:
    _bpftool("prog", "load", obj, pin)
    return json.loads(_bpftool("-j", "prog", "show", "pinned", pin))["id"]


def _compare_all(run_pybpf, handle: list[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    for mode in MODES:
        expected = _bpftool("prog", "dump", "xlated", *handle, *mode)
        ours = run_pybpf("prog", "dump", "xlated", *handle, *mode).stdout
        assert ours == expected, f"mode {mode or 'plain'} differs"
    for mode in JSON_MODES:
        expected = _bpftool("-j", "prog", "dump", "xlated", *handle, *mode)
        ours = run_pybpf("-j", "prog", "dump", "xlated", *handle, *mode).stdout
        assert json.loads(ours) == json.loads(expected), f"JSON mode {mode or 'plain'} differs"
        assert ours == expected
    a, b = tmp_path / "bpftool.bin", tmp_path / "pybpf.bin"
    _bpftool("prog", "dump", "xlated", *handle, "file", str(a))
    run_pybpf("prog", "dump", "xlated", *handle, "file", str(b))
    assert a.read_bytes() == b.read_bytes()


def test_clang_object_loaded_by_bpftool(require_tools, compile_bpf, run_pybpf, pin_dir,
                                        tmp_path):
    require_tools("bpftool", "clang-19")
    obj = compile_bpf("asm_xlated.bpf.c", mcpu="v3")
    prog_id = _load_with_bpftool(obj, f"{pin_dir}/xl")
    out = run_pybpf("prog", "dump", "xlated", "id", str(prog_id)).stdout
    # The features the fixture is there to show, so the comparison below means something.
    for needle in ("int xl_prog(struct xdp_md * xdp):", "; __u32 key", "map[id:",
                   "][0]+0", "subprog[+", "call pc+", "#bpf_prog_", "call bpf_ktime_get_ns#"):
        assert needle in out, needle
    _compare_all(run_pybpf, ["id", str(prog_id)], tmp_path)
    handle = ["pinned", f"{pin_dir}/xl"]
    assert run_pybpf("prog", "dump", "xlated", *handle).stdout == out


def test_several_programs_by_name(require_tools, compile_bpf, run_pybpf, pin_dir):
    require_tools("bpftool", "clang-19")
    obj = compile_bpf("asm_xlated.bpf.c", mcpu="v3")
    _load_with_bpftool(obj, f"{pin_dir}/one")
    _load_with_bpftool(obj, f"{pin_dir}/two")
    for mode in ((), ("linum",)):
        expected = _bpftool("prog", "dump", "xlated", "name", "xl_prog", *mode)
        assert expected.count("int xl_prog(") == 2
        assert run_pybpf("prog", "dump", "xlated", "name", "xl_prog", *mode).stdout == expected
    expected = json.loads(_bpftool("-j", "prog", "dump", "xlated", "name", "xl_prog"))
    assert json.loads(run_pybpf("-j", "prog", "dump", "xlated", "name", "xl_prog").stdout) \
        == expected
    proc = run_pybpf("prog", "dump", "xlated", "name", "xl_prog", "file", "/dev/null",
                     check=False)
    assert proc.returncode != 0 and "several programs matched" in proc.stderr


def test_builder_program_loaded_by_pybpf(require_tools, run_pybpf, pin_dir, tmp_path):
    """A program written with pybpf.asm.builder passes the verifier and dumps like bpftool's."""
    require_tools("bpftool")
    from pybpf.asm.builder import (FP, R0, R1, R2, R6, R7, add64, call, call_local, exit_, jeq,
                                   label, ld_imm64, ld_map_fd, ld_map_value, ldxdw, mov32,
                                   mov64, program, stdw, stxdw)
    from pybpf.maps import Map
    from pybpf.programs import Program

    with Map.create("hash", 4, 8, 8, name="asm_hash") as hmap, \
            Map.create("array", 4, 16, 1, name="asm_arr") as amap:
        insns = program(
            stdw(FP, -8, 0),
            mov64(R2, FP), add64(R2, -8),
            ld_map_fd(R1, hmap.fd.fileno()),
            call("bpf_map_lookup_elem"),
            jeq(R0, 0, "skip"),
            ldxdw(R6, R0, 0),
            label("skip"),
            ld_map_value(R7, amap.fd.fileno(), 8),
            ldxdw(R1, R7, 0),
            call_local("twice"),
            stxdw(R7, R0, 0),
            ld_imm64(R1, 0x1122334455667788),
            mov32(R0, 0),
            exit_(),
            label("twice"),
            mov64(R0, R1), add64(R0, R1),
            exit_(),
        )
        with Program.load("socket_filter", insns, "GPL", name="asm_builder") as prog:
            prog.pin(f"{pin_dir}/builder")
            handle = ["pinned", f"{pin_dir}/builder"]
            out = run_pybpf("prog", "dump", "xlated", *handle).stdout
            for needle in ("map[id:", "][0]+8", "call pc+", "0x1122334455667788"):
                assert needle in out, needle
            _compare_all(run_pybpf, handle, tmp_path)


def test_errors(run_pybpf):
    proc = run_pybpf("prog", "dump", "xlated", "id", "999999999", check=False)
    assert proc.returncode != 0 and "Error:" in proc.stderr
    proc = run_pybpf("prog", "dump", "jited", "id", "1", check=False)
    assert proc.returncode != 0 and "not supported" in proc.stderr
    proc = run_pybpf("-j", "prog", "dump", "xlated", "id", "1", "visual", check=False)
    assert proc.returncode != 0
