"""Fixtures shared by these kernel tests."""

from __future__ import annotations

import pytest

from tests.sys.helpers import make_bpffs_dir


@pytest.fixture
def bpffs_dir():
    """A temporary directory inside /sys/fs/bpf, removed (with its pins) afterwards."""
    yield from make_bpffs_dir()
