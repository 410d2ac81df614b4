"""Fixtures shared by the BTF tests."""

from __future__ import annotations

import os

import pytest

from .helpers import VMLINUX


@pytest.fixture
def vmlinux_bytes() -> bytes:
    """The running kernel's BTF (skips, or fails under PYBPF_REQUIRE_KERNEL, without one)."""
    if not os.path.exists(VMLINUX):
        from ..conftest import skip_or_fail

        skip_or_fail("kernel has no BTF (/sys/kernel/btf/vmlinux missing)")
    with open(VMLINUX, "rb") as f:
        return f.read()
