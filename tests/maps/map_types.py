"""How to create a working map of every type (the parameters each type insists on)."""

from __future__ import annotations

import os
from typing import Any

from pybpf.sys import num_possible_cpus, uapi
from pybpf.sys.commands import btf_load

M = uapi.bpf_map_type
PAGE = os.sysconf("SC_PAGE_SIZE")

# libbpf's local-storage BTF: [1] int, [2] struct bpf_spin_lock, [3] struct val {int cnt; lock l}.
from pybpf.features import _LOCAL_STORAGE_BTF as LOCAL_STORAGE_BTF  # noqa: E402


def create_args(map_type: int, stack) -> dict[str, Any]:
    """Keyword arguments for ``Map.create`` that make a valid map of ``map_type``; objects the
    map needs (inner maps, BTF) are entered into the ExitStack ``stack``."""
    from pybpf import Map

    base: dict[str, Any] = {"key_size": 4, "value_size": 8, "max_entries": 4}
    mt = int(map_type)
    if mt in (M.BPF_MAP_TYPE_PROG_ARRAY, M.BPF_MAP_TYPE_CGROUP_ARRAY, M.BPF_MAP_TYPE_DEVMAP,
              M.BPF_MAP_TYPE_DEVMAP_HASH, M.BPF_MAP_TYPE_SOCKMAP, M.BPF_MAP_TYPE_SOCKHASH,
              M.BPF_MAP_TYPE_XSKMAP, M.BPF_MAP_TYPE_CPUMAP):
        base["value_size"] = 4
    elif mt == M.BPF_MAP_TYPE_PERF_EVENT_ARRAY:
        base.update(value_size=4, max_entries=num_possible_cpus())
    elif mt == M.BPF_MAP_TYPE_STACK_TRACE:
        base.update(value_size=8 * 16)
    elif mt == M.BPF_MAP_TYPE_LPM_TRIE:
        base.update(key_size=8, flags=uapi.BPF_F_NO_PREALLOC)
    elif mt in (M.BPF_MAP_TYPE_ARRAY_OF_MAPS, M.BPF_MAP_TYPE_HASH_OF_MAPS):
        inner = stack.enter_context(Map.create("array", 4, 4, 1, name="inner"))
        base.update(value_size=4, inner_map=inner)
    elif mt in (M.BPF_MAP_TYPE_CGROUP_STORAGE, M.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE):
        base.update(key_size=16, max_entries=0)
    elif mt in (M.BPF_MAP_TYPE_QUEUE, M.BPF_MAP_TYPE_STACK):
        base.update(key_size=0, value_size=4)
    elif mt == M.BPF_MAP_TYPE_BLOOM_FILTER:
        base.update(key_size=0, value_size=4, max_entries=64, map_extra=3,
                    flags=uapi.BPF_F_ZERO_SEED)
    elif mt in (M.BPF_MAP_TYPE_SK_STORAGE, M.BPF_MAP_TYPE_INODE_STORAGE,
                M.BPF_MAP_TYPE_TASK_STORAGE, M.BPF_MAP_TYPE_CGRP_STORAGE):
        btf = stack.enter_context(btf_load(LOCAL_STORAGE_BTF))
        base.update(max_entries=0, flags=uapi.BPF_F_NO_PREALLOC, btf=btf, btf_key_type_id=1,
                    btf_value_type_id=3)
    elif mt in (M.BPF_MAP_TYPE_RINGBUF, M.BPF_MAP_TYPE_USER_RINGBUF):
        base.update(key_size=0, value_size=0, max_entries=PAGE)
    elif mt == M.BPF_MAP_TYPE_ARENA:
        base.update(key_size=0, value_size=0, max_entries=1, flags=uapi.BPF_F_MMAPABLE)
    elif mt == M.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
        base.update(value_size=8)
    elif mt == M.BPF_MAP_TYPE_STRUCT_OPS:
        from pybpf.btf import BTF, Kind

        with open("/sys/kernel/btf/vmlinux", "rb") as f:
            vmlinux = BTF.parse(f.read())
        tid = vmlinux.find_one("bpf_struct_ops_bpf_dummy_ops", Kind.STRUCT)
        # The kernel also wants the loading object's BTF (any valid BTF will do here).
        btf = stack.enter_context(btf_load(LOCAL_STORAGE_BTF))
        base.update(value_size=vmlinux.resolve_size(tid), max_entries=1,
                    btf_vmlinux_value_type_id=tid, btf=btf)
    return base


#: Every map type of this kernel's enum (aliases folded: cgroup_storage appears once).
ALL_TYPES = [m for m in M if m != M.BPF_MAP_TYPE_UNSPEC]
