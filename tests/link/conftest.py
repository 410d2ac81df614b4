"""Fixtures of the attach tests: fixture objects compiled with clang-19 and loaded by the
interim test loader (tests/link/loader.py)."""

from __future__ import annotations

import os

import pytest

from tests.link.loader import load_object
from tests.sys.helpers import make_bpffs_dir


@pytest.fixture
def load_fixture(compile_bpf):
    """``load_fixture("link_trace.bpf.c", only=(...))`` -> LoadedObject, closed after the test."""
    opened = []

    def load(name: str, **kw):
        obj = load_object(compile_bpf(name), **kw)
        opened.append(obj)
        return obj

    yield load
    for obj in opened:
        obj.close()


@pytest.fixture
def bpffs_dir():
    yield from make_bpffs_dir()


def trigger_getpid(n: int = 5) -> None:
    for _ in range(n):
        os.getpid()
