"""What each map type is like, for the element operations (per-CPU values, no key, values
that are descriptors)."""

from __future__ import annotations

from pybpf.sys import uapi

__all__ = ["PERCPU_TYPES", "KEYLESS_TYPES", "FD_VALUE_TYPES", "NO_ELEMENT_OPS_TYPES",
           "MAP_IN_MAP_TYPES"]

M = uapi.bpf_map_type

#: Lookups return one value per possible CPU, each in an 8-byte aligned slot.
PERCPU_TYPES: frozenset[int] = frozenset({
    M.BPF_MAP_TYPE_PERCPU_HASH, M.BPF_MAP_TYPE_PERCPU_ARRAY, M.BPF_MAP_TYPE_LRU_PERCPU_HASH,
    M.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
})

#: key_size is 0; elements are pushed/popped/peeked (queue, stack) or added/checked (bloom).
KEYLESS_TYPES: frozenset[int] = frozenset({
    M.BPF_MAP_TYPE_QUEUE, M.BPF_MAP_TYPE_STACK, M.BPF_MAP_TYPE_BLOOM_FILTER,
})

#: Values written from user space are descriptors (or ifindexes): Map/Program objects are
#: accepted as values.
FD_VALUE_TYPES: frozenset[int] = frozenset({
    M.BPF_MAP_TYPE_PROG_ARRAY, M.BPF_MAP_TYPE_PERF_EVENT_ARRAY, M.BPF_MAP_TYPE_CGROUP_ARRAY,
    M.BPF_MAP_TYPE_ARRAY_OF_MAPS, M.BPF_MAP_TYPE_HASH_OF_MAPS, M.BPF_MAP_TYPE_SOCKMAP,
    M.BPF_MAP_TYPE_SOCKHASH, M.BPF_MAP_TYPE_XSKMAP, M.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
    M.BPF_MAP_TYPE_DEVMAP, M.BPF_MAP_TYPE_DEVMAP_HASH,
})

MAP_IN_MAP_TYPES: frozenset[int] = frozenset({
    M.BPF_MAP_TYPE_ARRAY_OF_MAPS, M.BPF_MAP_TYPE_HASH_OF_MAPS,
})

#: Maps without user-space element operations (memory-mapped or program-only).
NO_ELEMENT_OPS_TYPES: frozenset[int] = frozenset({
    M.BPF_MAP_TYPE_RINGBUF, M.BPF_MAP_TYPE_USER_RINGBUF, M.BPF_MAP_TYPE_ARENA,
})
