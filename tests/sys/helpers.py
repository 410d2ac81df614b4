"""Shared test helpers for the kernel-interface, map, program and CLI tests.

Raw BPF instructions are encoded here with ``struct`` (the instruction layer is another
engineer's; these tests must not depend on it).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import uuid
from typing import Any, Iterator

_INSN = struct.Struct("<BBhi")


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One ``struct bpf_insn``."""
    return _INSN.pack(code, (dst & 0xF) | ((src & 0xF) << 4), off, imm)


def mov64_imm(dst: int, imm: int) -> bytes:
    return insn(0xB7, dst, 0, 0, imm)


def mov64_reg(dst: int, src: int) -> bytes:
    return insn(0xBF, dst, src)


def call(helper: int) -> bytes:
    return insn(0x85, 0, 0, 0, int(helper))


EXIT = insn(0x95)


def ret(value: int) -> bytes:
    """``r0 = value; exit``."""
    return mov64_imm(0, value) + EXIT


def ld_map_fd(dst: int, fd: int) -> bytes:
    """``r<dst> = map_by_fd(fd)`` (BPF_LD_IMM64 with BPF_PSEUDO_MAP_FD)."""
    return insn(0x18, dst, 1, 0, fd) + insn(0, 0, 0, 0, 0)


def ld_map_idx(dst: int, idx: int) -> bytes:
    """``r<dst> = map_by_idx(idx)`` (BPF_PSEUDO_MAP_IDX: index into fd_array)."""
    return insn(0x18, dst, 5, 0, idx) + insn(0, 0, 0, 0, 0)


def bpftool_json(*args: str) -> Any:
    """Run ``bpftool ARGS -j`` and parse its output."""
    out = subprocess.run(["bpftool", *args, "-j"], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def bpftool_text(*args: str) -> str:
    out = subprocess.run(["bpftool", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return out.stdout


def make_bpffs_dir() -> Iterator[str]:
    """A fresh directory inside the bpffs, removed with everything pinned in it."""
    base = "/sys/fs/bpf"
    path = os.path.join(base, f"pybpf-test-{uuid.uuid4().hex[:12]}")
    os.mkdir(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
