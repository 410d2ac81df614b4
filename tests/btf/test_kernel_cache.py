"""Kernel BTF loading and its on-disk index cache (cold, warm, corrupt, unwritable, override)."""

from __future__ import annotations

import os
import random
import shutil

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf import cache as btf_cache
from pybpf.btf import kernel
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.spec import BTF as SpecBTF
from pybpf.errors import NotFoundError

from .helpers import VMLINUX


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """A private XDG cache dir; the process-wide kernel BTF memo is reset around the test."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    btf_cache._dir_memo.clear()
    kernel.clear_kernel_btf()
    yield home / "pybpf"
    btf_cache._dir_memo.clear()
    kernel.clear_kernel_btf()


def count_scans(monkeypatch) -> list[int]:
    calls = [0]
    real = SpecBTF._scan

    def scan(self):
        calls[0] += 1
        return real(self)

    monkeypatch.setattr(SpecBTF, "_scan", scan)
    return calls


def _names_sample(btf: BTF, n: int = 3000) -> list[str]:
    names = sorted(btf.name_index)
    rnd = random.Random(1)
    return rnd.sample(names, min(n, len(names))) + ["", "no_such_type_name", "int", "task_struct"]


def test_cold_then_warm(vmlinux_bytes, cache_home, monkeypatch):
    scans = count_scans(monkeypatch)
    cold = kernel.kernel_btf()
    assert scans[0] == 1
    entries = os.listdir(cache_home)
    assert len(entries) == 1 and entries[0] == f"btf-{btf_cache.content_key(vmlinux_bytes)}.idx"
    assert oct(os.stat(cache_home).st_mode & 0o777) == "0o700"
    kernel.clear_kernel_btf()
    warm = kernel.kernel_btf()
    assert scans[0] == 1, "a warm open must not walk the type section"
    assert warm is kernel.kernel_btf()  # memoized per process
    reference = BTF.parse(vmlinux_bytes)
    assert len(warm) == len(cold) == len(reference)
    for name in _names_sample(reference):
        assert warm.find(name) == cold.find(name) == reference.find(name), name
    for kind in (Kind.STRUCT, Kind.FUNC, Kind.TYPEDEF):
        assert warm.find("task_struct", kind) == reference.find("task_struct", kind)
    for tid in random.Random(2).sample(range(1, len(reference)), 500):
        assert warm[tid] == reference[tid]
    assert warm.table.names == reference.table.names and warm.table.kinds == reference.table.kinds
    assert warm.table.size_type == reference.table.size_type and warm.table.vlens == reference.table.vlens


def test_every_name_is_found_through_the_sorted_index(vmlinux_bytes, cache_home):
    btf = kernel.kernel_btf()
    reference = BTF.parse(vmlinux_bytes).name_index
    assert btf._name_index is None and btf._name_order is not None
    for name, ids in reference.items():
        assert btf._find_local(name) == ids


@pytest.mark.parametrize("damage", ["truncate", "flip_payload", "flip_header", "garbage", "empty", "other_key"])
def test_corrupt_cache_is_ignored_and_rebuilt(vmlinux_bytes, cache_home, monkeypatch, damage):
    kernel.kernel_btf()
    path = cache_home / os.listdir(cache_home)[0]
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip_payload":
        blob[len(blob) // 3] ^= 0xFF
    elif damage == "flip_header":
        blob[20] ^= 0x01
    elif damage == "garbage":
        blob = bytearray(os.urandom(len(blob)))
    elif damage == "empty":
        blob = bytearray()
    elif damage == "other_key":
        # a valid entry for other bytes placed under this key
        other = BTFBuilder()
        other.add_int("int", 4, 1)
        data = other.encode()
        kernel.parse_with_cache(data, str(cache_home))
        other_path = cache_home / f"btf-{btf_cache.content_key(data)}.idx"
        blob = bytearray(other_path.read_bytes())
    path.write_bytes(bytes(blob))
    expected = BTF.parse(vmlinux_bytes).find("task_struct")
    kernel.clear_kernel_btf()
    scans = count_scans(monkeypatch)
    btf = kernel.kernel_btf()
    assert scans[0] == 1
    assert btf.find("task_struct") == expected
    # rewritten: the next open is warm again
    kernel.clear_kernel_btf()
    kernel.kernel_btf()
    assert scans[0] == 1
    assert not [n for n in os.listdir(cache_home) if n.endswith(".tmp")]


def test_unwritable_locations_fall_back(vmlinux_bytes, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "sub"))
    monkeypatch.setenv("HOME", str(blocker))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    btf_cache._dir_memo.clear()
    kernel.clear_kernel_btf()
    try:
        assert btf_cache.cache_dir() == str(tmp_path / "tmp" / f"pybpf-{os.geteuid()}")
        assert kernel.kernel_btf().find("task_struct")
        assert os.listdir(tmp_path / "tmp" / f"pybpf-{os.geteuid()}")
        # a fallback dir someone else could write to is refused
        monkeypatch.setenv("TMPDIR", str(tmp_path / "shared"))
        shared = tmp_path / "shared" / f"pybpf-{os.geteuid()}"
        shared.mkdir(parents=True)
        shared.chmod(0o777)
        btf_cache._dir_memo.clear()
        assert btf_cache.cache_dir() is None
        kernel.clear_kernel_btf()
        btf = kernel.kernel_btf()  # no cache at all: still works
        assert btf.find("task_struct") == BTF.parse(vmlinux_bytes).find("task_struct")
        assert os.listdir(shared) == []
    finally:
        btf_cache._dir_memo.clear()
        kernel.clear_kernel_btf()


def test_kernel_btf_path_override(vmlinux_bytes, cache_home, tmp_path):
    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    b.add_struct("task_struct", 8, [("pid", i32, 0), ("tgid", i32, 32)])
    other = tmp_path / "other-kernel.btf"
    other.write_bytes(b.encode())
    btf = kernel.kernel_btf(str(other))
    assert len(btf) == 3 and btf.find("task_struct") == [2]
    assert kernel.kernel_btf(str(other)) is btf
    assert kernel.kernel_btf() is not btf
    with pytest.raises(NotFoundError, match="does not exist"):
        kernel.kernel_btf(str(tmp_path / "missing.btf"))
    # a copy of vmlinux elsewhere shares the cache entry (same content key)
    copy = tmp_path / "vmlinux.copy"
    shutil.copyfile(VMLINUX, copy)
    assert kernel.kernel_btf(str(copy)).find("task_struct") == kernel.kernel_btf().find("task_struct")


def test_module_btf_is_split_on_vmlinux(vmlinux_bytes, cache_home, tmp_path, monkeypatch):
    """This kernel has no module BTF: a module file is made with the builder on vmlinux."""
    vmlinux = kernel.kernel_btf()
    sysfs = tmp_path / "sysfs_btf"
    sysfs.mkdir()
    os.symlink(VMLINUX, sysfs / "vmlinux")
    b = BTFBuilder(base=vmlinux)
    task = vmlinux.find_one("task_struct", Kind.STRUCT)
    b.add_struct("my_mod_state", 8, [("task", b.add_ptr(task), 0)])
    (sysfs / "my_mod").write_bytes(b.encode())
    monkeypatch.setattr(kernel, "SYSFS_BTF_DIR", str(sysfs))
    assert kernel.module_names() == ["my_mod"]
    mod = kernel.module_btf("my_mod")
    assert mod.base is vmlinux and mod.start_id == len(vmlinux)
    sid = mod.find_one("my_mod_state", Kind.STRUCT)
    assert mod.member_path(sid, "task")[0][1].type == len(vmlinux)
    assert mod[mod[sid].members[0].type].type == task
    assert kernel.module_btf("my_mod") is mod
    with pytest.raises(NotFoundError, match="CONFIG_DEBUG_INFO_BTF_MODULES"):
        kernel.module_btf("not_loaded")
    with pytest.raises(Exception, match="invalid kernel module name"):
        kernel.module_btf("../etc")


def test_mmap_backed_btf_behaves_like_bytes(vmlinux_bytes, cache_home):
    btf = kernel.kernel_btf()
    ref = BTF.parse(vmlinux_bytes)
    tid = ref.find_one("task_struct", Kind.STRUCT)
    assert btf[tid] == ref[tid]
    assert btf.resolve_size(tid) == ref.resolve_size(tid)
    assert bytes(btf.raw[:24]) == vmlinux_bytes[:24]


def test_cache_keeps_a_bounded_number_of_entries(cache_home, tmp_path):
    from pybpf.btf.builder import BTFBuilder as B

    for i in range(btf_cache.MAX_ENTRIES + 3):
        b = B()
        b.add_int(f"int{i}", 4, 1)
        data = b.encode()
        kernel.parse_with_cache(data, str(cache_home) if cache_home.exists() else None)
        os.utime(cache_home / f"btf-{btf_cache.content_key(data)}.idx", (1000 + i, 1000 + i))
    left = sorted(os.listdir(cache_home))
    assert len(left) == btf_cache.MAX_ENTRIES
    newest = B()
    newest.add_int(f"int{btf_cache.MAX_ENTRIES + 2}", 4, 1)
    assert f"btf-{btf_cache.content_key(newest.encode())}.idx" in left
