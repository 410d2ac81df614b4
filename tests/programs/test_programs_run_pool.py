"""Program.test_run with its pooled attr and buffers: against bpftool's ``prog run``, across
buffer growth and reuse, and from several threads at once."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from pybpf import Program
from pybpf.sys import uapi
from tests.sys.helpers import EXIT, insn, mov64_imm

pytestmark = pytest.mark.kernel

# XDP: if the packet has a first byte, overwrite it with 0x42; return XDP_PASS.
MARK_FIRST_BYTE = (
    insn(0x61, 2, 1, 0)            # r2 = ctx->data
    + insn(0x61, 3, 1, 4)          # r3 = ctx->data_end
    + insn(0xBF, 4, 2)             # r4 = r2
    + insn(0x07, 4, 0, 0, 1)       # r4 += 1
    + insn(0x2D, 4, 3, 2)          # if r4 > r3 goto +2
    + mov64_imm(5, 0x42)           # r5 = 0x42
    + insn(0x73, 2, 5, 0)          # *(u8 *)(r2 + 0) = r5
    + mov64_imm(0, uapi.XDP_PASS)
    + EXIT
)


def expected(packet: bytes) -> bytes:
    return b"\x42" + packet[1:]


def bpftool_run(prog: Program, packet: bytes, tmp_path) -> tuple[int, bytes]:
    din, dout = tmp_path / "in.bin", tmp_path / "out.bin"
    din.write_bytes(packet)
    out = subprocess.run(["bpftool", "prog", "run", "id", str(prog.id), "data_in", str(din),
                          "data_out", str(dout), "-j"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["retval"], dout.read_bytes()


def test_sizes_up_and_down_match_bpftool(tmp_path, require_tools):
    """Pooled buffers grow (the first holds 512 bytes) and are reused for smaller packets:
    nothing of an earlier, longer packet may leak into a later answer."""
    require_tools("bpftool")
    with Program.load("xdp", MARK_FIRST_BYTE, name="mark") as p:
        for size in (64, 1500, 14, 600, 3000, 100):
            packet = os.urandom(size)
            ours = p.test_run(packet)
            assert (ours.retval, ours.data_out) == bpftool_run(p, packet, tmp_path)
            assert ours.data_out == expected(packet) and len(ours.data_out) == size
        assert len(p._run_pool) == 1


def test_threads_sharing_one_program():
    nthreads, rounds = 4, 300
    with Program.load("xdp", MARK_FIRST_BYTE, name="shared") as p:
        errors: list[str] = []
        start = threading.Barrier(nthreads)

        def worker(t: int) -> None:
            start.wait()
            for i in range(rounds):
                packet = bytes([t]) * (60 + 300 * t + i % 7)  # different lengths and contents
                r = p.test_run(packet)
                if r.retval != uapi.XDP_PASS or r.data_out != expected(packet):
                    errors.append(f"thread {t} round {i}: {r.data_out[:8].hex()} len {len(r.data_out)}")
                    return

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert 1 <= len(p._run_pool) <= nthreads


def test_arguments_still_checked():
    with Program.load("xdp", MARK_FIRST_BYTE) as p:
        from pybpf.errors import InvalidArgumentError

        for kw in ({"repeat": -1}, {"repeat": True}, {"flags": 1 << 32}, {"cpu": "0"},
                   {"data_size_out": -5}, {"ctx_size_out": 1.5}):
            with pytest.raises(InvalidArgumentError):
                p.test_run(bytes(64), **kw)
        packet = bytes(range(1, 21))  # XDP wants at least an Ethernet header
        assert p.test_run(bytearray(packet), repeat=3).data_out == expected(packet)
        assert p.test_run(memoryview(packet)).data_out == expected(packet)
