"""Fixtures for the events tests: fixture objects compiled and loaded with the test loader."""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterator

import pytest

from tests.events.loader import Loaded, load

_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")


def key(i: int) -> bytes:
    return _U32.pack(i)


def u64s(m: Any, n: int) -> list[int]:
    """Values 0..n-1 of a u64 array map."""
    return [_U64.unpack(m.lookup(key(i)))[0] for i in range(n)]


def set_u64s(m: Any, values: list[int]) -> None:
    for i, v in enumerate(values):
        m.update(key(i), _U64.pack(v))


@pytest.fixture(scope="session")
def vmlinux_btf():
    from pybpf.btf import BTF

    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        return BTF.parse(f.read())


@pytest.fixture
def load_events(compile_bpf) -> Iterator[Callable[..., Loaded]]:
    """``load_events("events_ringbuf.bpf.c", sizes={"rb": 1 << 20})`` -> Loaded (closed after
    the test)."""
    loaded: list[Loaded] = []

    def build(source: str, *, sizes: dict[str, int] | None = None, flags: tuple[str, ...] = (),
              vmlinux: Any = None, only: list[str] | None = None) -> Loaded:
        obj = load(compile_bpf(source, flags=flags), sizes=sizes, vmlinux=vmlinux, only=only)
        loaded.append(obj)
        return obj

    yield build
    for obj in loaded:
        obj.close()


@pytest.fixture
def pin_cpu():
    """Run the test on one CPU (test runs of the producers then all land in that CPU's
    buffer); restores the affinity afterwards. Yields the CPU number."""
    import os

    old = os.sched_getaffinity(0)
    cpu = min(old)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, old)


XDP_IN = bytes(64)   # a packet for BPF_PROG_TEST_RUN of the XDP producers
