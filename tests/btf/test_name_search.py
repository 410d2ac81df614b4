"""Name lookups without a name index (pybpf.btf.name_search, kernel.defer_cache_writes).

The oracle is the BTF's own name index built by a full walk (``BTF.parse(...).name_index``)
and the sorted-index candidate search: the bytes search must give exactly the same ids.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf import cache as btf_cache
from pybpf.btf import kernel, name_search
from pybpf.btf.builder import BTFBuilder
from pybpf.core.candidates import _essential_ids, essential_name


@pytest.fixture
def deferred(tmp_path, monkeypatch):
    """A private cache dir and deferred cache writes, reset afterwards."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    btf_cache._dir_memo.clear()
    kernel.clear_kernel_btf()
    kernel.defer_cache_writes(True)
    yield home / "pybpf"
    kernel.defer_cache_writes(False)
    btf_cache._dir_memo.clear()
    kernel.clear_kernel_btf()


def _flavored_btf() -> bytes:
    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    for name in ("task_struct", "task_struct___v1", "task_struct___v1___x", "xtask_struct",
                 "task_struct_ext", "task_struct___", "task_struct____v2", "mm_struct"):
        b.add_struct(name, 4, [("pid", i32, 0)])
    b.add_typedef("task_struct", i32)
    b.add_fwd("task_struct___v2")
    b.add_enum("pid", 4, [("task_struct", 1)])
    b.add_struct("pid", 4, [("task_struct", i32, 0)])
    return b.encode()


def _searched(data: bytes) -> BTF:
    btf = kernel._SearchedBTF.parse(data)
    assert name_search.usable(btf)
    return btf


@pytest.mark.parametrize("max_stray", [0, 1 << 30], ids=["column", "direct"])
def test_find_equals_the_name_index_on_vmlinux(vmlinux_bytes, monkeypatch, max_stray):
    monkeypatch.setattr(name_search, "_MAX_STRAY", max_stray)
    reference = BTF.parse(vmlinux_bytes)
    index = reference.name_index
    searched = _searched(vmlinux_bytes)
    names = random.Random(3).sample(sorted(index), 1000) + ["task_struct", "int", "pid", "long int",
                                                            "no_such_type_name"]
    for name in names:
        assert searched.find(name) == reference.find(name), name
    for kind in (Kind.STRUCT, Kind.FUNC, Kind.TYPEDEF, Kind.ENUM):
        assert searched.find("task_struct", kind) == reference.find("task_struct", kind)
    # lookups never built an index
    assert searched._name_order is None and searched._name_index is None
    assert (searched in name_search._COLUMNS) == (max_stray == 0)
    assert searched.find("") == reference.find("")


def test_candidate_prefix_search_equals_the_sorted_index():
    data = _flavored_btf()
    reference = BTF.parse(data)
    searched = _searched(data)
    for ess in ("task_struct", "task_struct___v1", "pid", "mm_struct", "xtask", "task", "int", "none"):
        assert _essential_ids(searched, ess) == _essential_ids(reference, ess), ess
    assert searched._name_order is None
    # the reference answers from the name order: the search must agree with essential_name()
    expected = sorted(i for name, ids in reference.name_index.items() if essential_name(name) == "task_struct"
                      for i in ids)
    assert _essential_ids(searched, "task_struct") == expected


def test_candidate_search_on_vmlinux(vmlinux_bytes):
    reference = BTF.parse(vmlinux_bytes)
    searched = _searched(vmlinux_bytes)
    for ess in ("task_struct", "trace_event_raw_sys_enter", "pt_regs", "bpf_map", "sk_buff", "file"):
        assert _essential_ids(searched, ess) == _essential_ids(reference, ess), ess


def test_deferred_kernel_btf_answers_and_writes_the_cache_in_the_background(vmlinux_bytes, deferred):
    btf = kernel.kernel_btf()
    reference = BTF.parse(vmlinux_bytes)
    assert btf._name_order is None  # nothing built in this process
    assert btf.find("task_struct", Kind.STRUCT) == reference.find("task_struct", Kind.STRUCT)
    expected = deferred / f"btf-{btf_cache.content_key(vmlinux_bytes)}.idx"
    deadline = time.monotonic() + 60
    while not expected.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert expected.exists(), "the background writer left no cache entry"
    # the entry is complete and valid: a fresh process-level load is warm and correct
    kernel.defer_cache_writes(False)
    kernel.clear_kernel_btf()
    warm = kernel.kernel_btf()
    assert warm._name_order is not None
    for name in random.Random(4).sample(sorted(reference.name_index), 500):
        assert warm.find(name) == reference.find(name), name
    assert not [n for n in os.listdir(deferred) if n.endswith(".tmp")]
