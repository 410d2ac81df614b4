"""Fixtures of the CO-RE tests: compiled test programs, compiled target BTFs, kernel BTF."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import skip_or_fail, tool_unavailable_reason

from .harness import LIBBPF_SO, TARGETS_DIR

VMLINUX = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="session")
def core_target(tmp_path_factory):
    """``core_target("core_moved")`` compiles tests/core/targets/core_moved.c with clang-19 -g for
    the BPF target (``endian="bpfeb"`` for big-endian layout) and returns the object's path: its .BTF is the "kernel" BTF (libbpf accepts
    the ELF file for btf_custom_path; pybpf reads its .BTF section)."""
    out_dir = tmp_path_factory.mktemp("core_targets")
    built: dict[tuple[str, str], str] = {}

    def build(name: str, endian: str = "bpfel") -> str:
        if (name, endian) not in built:
            reason = tool_unavailable_reason("clang-19")
            if reason:
                skip_or_fail(reason)
            obj = str(out_dir / f"{name}-{endian}.o")
            subprocess.run(["clang-19", "-g", "-target", endian, "-c", os.path.join(TARGETS_DIR, f"{name}.c"),
                            "-o", obj], check=True, capture_output=True)
            built[(name, endian)] = obj
        return built[(name, endian)]

    return build


@pytest.fixture
def require_libbpf():
    """The differential oracle: the system's libbpf.so.1 (libbpf 1.1)."""
    if not os.path.exists(LIBBPF_SO):
        skip_or_fail(f"oracle not installed: {LIBBPF_SO}")


@pytest.fixture(scope="session")
def vmlinux_btf():
    from pybpf.btf import BTF

    if not os.path.exists(VMLINUX):
        skip_or_fail("kernel has no BTF (/sys/kernel/btf/vmlinux missing)")
    with open(VMLINUX, "rb") as f:
        return BTF.parse(f.read())
