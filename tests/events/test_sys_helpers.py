"""The kernel-interface helpers the events layer added: epoll (pybpf.sys.epoll), shared
mappings (pybpf.sys.mmaps) and mount lookups (pybpf.sys.mounts). Oracles: the kernel's
behaviour on pipes and files, coreutils ``stat -f`` and util-linux ``findmnt``."""

from __future__ import annotations

import os
import subprocess

import pytest

from pybpf.errors import BPFError, ClosedError, InvalidArgumentError
from pybpf.sys.epoll import EPOLLIN, EPOLLOUT, Epoll
from pybpf.sys.mmaps import PAGE_SIZE, map_shared, unmap
from pybpf.sys.mounts import _unescape, mounts_of_type, statfs_type


def test_epoll_reports_tokens():
    r, w = os.pipe()
    try:
        with Epoll("test") as ep:
            ep.register(r, EPOLLIN, token="reader")
            ep.register(w, EPOLLOUT, token=None)
            assert ep.wait(0) == [(w, EPOLLOUT)]
            os.write(w, b"x")
            assert sorted(ep.wait(1), key=str) == sorted([("reader", EPOLLIN), (w, EPOLLOUT)], key=str)
            ep.unregister(w)
            ep.unregister(w)                 # twice is fine
            assert ep.wait(0) == [("reader", EPOLLIN)]
            with pytest.raises(BPFError) as exc:
                ep.register(r, EPOLLIN)      # already registered: EEXIST
            assert exc.value.errno == 17
            assert ep.fileno() > 2
        assert ep.closed
        with pytest.raises(ClosedError):
            ep.wait(0)
        ep.close()
    finally:
        os.close(r)
        os.close(w)


def test_map_shared(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a" * PAGE_SIZE * 2)
    with open(path, "r+b") as f:
        m = map_shared(f.fileno(), PAGE_SIZE, PAGE_SIZE, write=True, what="file")
        m[0:1] = b"b"
        view = memoryview(m)
        assert unmap(m) is False           # a view still refers to it
        view.release()
        assert unmap(m) is True and unmap(m) is True
        with pytest.raises(InvalidArgumentError):
            map_shared(f.fileno(), PAGE_SIZE, 100, what="file")
        with pytest.raises(InvalidArgumentError):
            map_shared(f.fileno(), 0, what="file")
    assert path.read_bytes()[PAGE_SIZE:PAGE_SIZE + 1] == b"b"
    r, w = os.pipe()
    try:
        with pytest.raises(BPFError) as exc:
            map_shared(r, PAGE_SIZE, what="pipe")   # pipes cannot be mapped: ENODEV
        assert exc.value.op == "mmap" and exc.value.errno == 19
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("path", ["/proc", "/sys", "/sys/kernel/tracing", "/"])
def test_statfs_type_matches_stat(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    out = subprocess.run(["stat", "-f", "-c", "%t", path], capture_output=True, text=True, check=True)
    assert statfs_type(path) == int(out.stdout.strip(), 16)
    assert statfs_type("/nonexistent/path") is None


@pytest.mark.parametrize("fstype", ["proc", "sysfs", "tracefs", "bpf"])
def test_mounts_of_type_matches_findmnt(fstype):
    out = subprocess.run(["findmnt", "-n", "-l", "-o", "TARGET", "-t", fstype, "--task", str(os.getpid())],
                         capture_output=True, text=True)
    expected = out.stdout.split("\n")[:-1] if out.returncode == 0 else []
    assert mounts_of_type(fstype) == expected


def test_unescape():
    assert _unescape("/a\\040b\\011c\\134d") == "/a b\tc\\d"
    assert _unescape("/plain") == "/plain"
