"""The content-keyed output cache of whole-BTF C dumps (``dump_c_cached``, ``btf dump … format c``).

Whatever the cache holds (nothing, a good entry, a damaged one, another BTF's), the text must be
what bpftool prints for the same file; the cache must follow the index cache's rules (atomic,
checksummed, bounded, off with PYBPF_NO_CACHE=1, harmless when nothing is writable).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pybpf.btf import BTF
from pybpf.btf import cache as btf_cache
from pybpf.btf import dump_c as dump_c_mod
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.dump_c import cache_key, dump_c, dump_c_cached

from .helpers import VMLINUX


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """A private XDG cache dir (for this process and the CLI processes it starts)."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("PYBPF_NO_CACHE", raising=False)
    btf_cache._dir_memo.clear()
    yield home / "pybpf"
    btf_cache._dir_memo.clear()


def bpftool_c(*args: str) -> bytes:
    return subprocess.run(["bpftool", *args, "format", "c"], capture_output=True, check=True).stdout


def entries(cache_dir) -> list[str]:
    return sorted(n for n in os.listdir(cache_dir) if n.startswith("dumpc-")) if os.path.isdir(cache_dir) else []


@pytest.fixture
def object_btf(compile_bpf, tmp_path, require_tools):
    """Raw BTF of a clang-compiled fixture with the hard C cases, as a file."""
    require_tools("bpftool", "clang-19", "llvm-objcopy-19")
    obj = compile_bpf("btf_c_layout.bpf.c")
    out = tmp_path / "layout.btf"
    subprocess.run(["llvm-objcopy-19", f"--dump-section=.BTF={out}", obj, str(tmp_path / "x.o")], check=True)
    return out


def count_dumps(monkeypatch) -> list[int]:
    calls = [0]
    real = dump_c_mod.dump_c

    def counting(btf, roots=None, *, jobs=1):
        calls[0] += 1
        return real(btf, roots, jobs=jobs)

    monkeypatch.setattr(dump_c_mod, "dump_c", counting)
    return calls


def test_cached_text_equals_uncached_and_bpftool(object_btf, cache_home, monkeypatch):
    expected = bpftool_c("btf", "dump", "file", str(object_btf)).decode("utf-8", "surrogateescape")
    btf = BTF.parse(object_btf.read_bytes())
    calls = count_dumps(monkeypatch)
    first = dump_c_cached(btf)
    assert calls[0] == 1 and len(entries(cache_home)) == 1
    second = dump_c_cached(BTF.parse(object_btf.read_bytes()))
    assert calls[0] == 1, "the second dump of the same bytes must come from the cache"
    assert first == second == dump_c(btf) == expected
    assert dump_c_cached(btf, use_cache=False) == expected and calls[0] == 2


def test_cli_cold_then_warm_like_bpftool(cache_home, require_tools):
    """The real case: vmlinux through the command line, twice; the entry is written once."""
    require_tools("bpftool")
    expected = bpftool_c("btf", "dump", "file", VMLINUX)
    argv = _cli("btf", "dump", "file", VMLINUX, "format", "c")
    cold = subprocess.run(argv, capture_output=True, check=True, env=_cli_env())
    (entry,) = entries(cache_home)
    stamp = os.stat(cache_home / entry).st_mtime_ns
    warm = subprocess.run(argv, capture_output=True, check=True, env=_cli_env())
    assert cold.stdout == warm.stdout == expected
    assert os.stat(cache_home / entry).st_mtime_ns == stamp  # read, not rewritten
    assert not [n for n in os.listdir(cache_home) if n.endswith(".tmp")]


def _cli(*args: str) -> list[str]:
    from tests.conftest import pybpf_command

    return pybpf_command(*args)


def _cli_env(**extra: str) -> dict[str, str]:
    from tests.conftest import pybpf_env

    env = pybpf_env()
    env.update(extra)
    return env


@pytest.mark.parametrize("damage", ["truncate", "flip_payload", "flip_header", "flip_key", "garbage", "empty",
                                    "other_key"])
def test_damaged_entry_is_ignored_and_rewritten(object_btf, cache_home, damage, monkeypatch):
    expected = bpftool_c("btf", "dump", "file", str(object_btf))
    run = lambda: subprocess.run(_cli("btf", "dump", "file", str(object_btf), "format", "c"),  # noqa: E731
                                 capture_output=True, check=True, env=_cli_env()).stdout
    assert run() == expected
    (entry,) = entries(cache_home)
    path = cache_home / entry
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip_payload":
        blob[-10] ^= 0x20  # still valid UTF-8, different text: only the checksum tells
    elif damage == "flip_header":
        blob[9] ^= 0x01
    elif damage == "flip_key":
        blob[btf_cache._BLOB_HEADER.size + 2] ^= 0x01
    elif damage == "garbage":
        blob = bytearray(os.urandom(len(blob)))
    elif damage == "empty":
        blob = bytearray()
    elif damage == "other_key":
        # a valid entry for another BTF placed under this key
        b = BTFBuilder()
        b.add_struct("other", 4, [("x", b.add_int("int", 4, 1), 0)])
        other = b.build()
        dump_c_cached(other)
        other_path = cache_home / f"dumpc-{cache_key(other.raw)}.blob"
        blob = bytearray(other_path.read_bytes())
    path.write_bytes(bytes(blob))
    assert run() == expected
    good = path.read_bytes()
    assert good != bytes(blob) and btf_cache.load_blob("dumpc", entry[len("dumpc-"):-len(".blob")]) is not None
    assert run() == expected


def test_no_cache_env_bypasses(object_btf, cache_home, monkeypatch):
    expected = bpftool_c("btf", "dump", "file", str(object_btf))
    out = subprocess.run(_cli("btf", "dump", "file", str(object_btf), "format", "c"), capture_output=True,
                         check=True, env=_cli_env(PYBPF_NO_CACHE="1")).stdout
    assert out == expected and entries(cache_home) == []
    monkeypatch.setenv("PYBPF_NO_CACHE", "1")
    calls = count_dumps(monkeypatch)
    btf = BTF.parse(object_btf.read_bytes())
    assert dump_c_cached(btf) == dump_c_cached(btf) == expected.decode()
    assert calls[0] == 2 and entries(cache_home) == []


def test_unwritable_cache_falls_back(object_btf, tmp_path, monkeypatch):
    """No usable cache directory anywhere: every dump is computed, nothing breaks."""
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "sub"))
    monkeypatch.setenv("HOME", str(blocker))
    monkeypatch.setenv("TMPDIR", str(blocker / "tmp"))
    monkeypatch.delenv("PYBPF_NO_CACHE", raising=False)
    btf_cache._dir_memo.clear()
    try:
        assert btf_cache.cache_dir() is None
        expected = bpftool_c("btf", "dump", "file", str(object_btf)).decode()
        btf = BTF.parse(object_btf.read_bytes())
        assert dump_c_cached(btf) == dump_c_cached(btf) == expected
    finally:
        btf_cache._dir_memo.clear()


def test_entries_are_bounded(cache_home):
    texts = {}
    for i in range(btf_cache.MAX_BLOB_ENTRIES + 3):
        b = BTFBuilder()
        b.add_struct(f"s{i}", 4, [("x", b.add_int("int", 4, 1), 0)])
        btf = b.build()
        texts[i] = dump_c_cached(btf)
        assert f"struct s{i} {{" in texts[i]
    assert len(entries(cache_home)) == btf_cache.MAX_BLOB_ENTRIES
    # index entries of the kernel BTF cache are not counted against (nor removed by) blobs
    assert all(n.endswith(".blob") for n in entries(cache_home))


def test_split_btf_is_keyed_with_its_base(tmp_path, cache_home, require_tools):
    """The same split bytes on two different bases are two different headers."""
    require_tools("bpftool")
    bases = []
    for name in ("alpha", "beta"):
        b = BTFBuilder()
        b.add_int("int", 4, 1)
        b.add_struct(name, 4, [("x", 1, 0)])
        path = tmp_path / f"{name}.btf"
        path.write_bytes(b.encode())
        bases.append((path, b.build()))
    split = BTFBuilder(base=bases[0][1])
    split.add_ptr(2)  # a pointer to base type 2: struct alpha on one base, struct beta on the other
    split.add_typedef("handle", 3)
    split_path = tmp_path / "split.btf"
    split_path.write_bytes(split.encode())
    assert cache_key(split_path.read_bytes(), bases[0][0].read_bytes()) != \
        cache_key(split_path.read_bytes(), bases[1][0].read_bytes())
    for base_path, _ in bases + bases:  # the second round reads both entries back
        expected = bpftool_c("-B", str(base_path), "btf", "dump", "file", str(split_path))
        out = subprocess.run(_cli("-B", str(base_path), "btf", "dump", "file", str(split_path), "format", "c"),
                             capture_output=True, check=True, env=_cli_env()).stdout
        assert out == expected
    assert len(entries(cache_home)) == 2
