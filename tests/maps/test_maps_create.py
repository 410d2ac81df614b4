"""Every map type this kernel accepts: created by pybpf, checked by bpftool and the kernel."""

from __future__ import annotations

import contextlib

import pytest

from pybpf import Map
from pybpf.errors import (
    BPFError,
    ClosedError,
    InvalidArgumentError,
    NoSpaceError,
    NotSupportedError,
)
from pybpf.features import probe_map_type
from pybpf.sys import uapi
from pybpf.sys.commands import iter_ids
from pybpf.sys.names import MAP_TYPE_NAMES, map_type_name
from tests.maps.map_types import ALL_TYPES, create_args
from tests.sys.helpers import bpftool_json

pytestmark = pytest.mark.kernel

# bpftool 7.1 (libbpf 1.1) knows map types up to user_ringbuf; newer ones it shows by number.
BPFTOOL_KNOWS = set(range(0, int(uapi.BPF_MAP_TYPE_USER_RINGBUF) + 1))


@pytest.mark.parametrize("map_type", ALL_TYPES, ids=lambda t: map_type_name(t))
def test_create_every_map_type(map_type, require_tools):
    require_tools("bpftool")
    if not probe_map_type(map_type):
        with contextlib.ExitStack() as stack, pytest.raises(BPFError, match="needs Linux"):
            Map.create(map_type, **create_args(map_type, stack))
        return
    name = f"t_{map_type_name(map_type)}"[:15]
    with contextlib.ExitStack() as stack:
        args = create_args(map_type, stack)
        m = stack.enter_context(Map.create(map_type, name=name, **args))
        info = m.info()
        assert info.type == map_type and info.name == name
        assert (info.key_size, info.value_size) == (args["key_size"], args["value_size"])
        shown = bpftool_json("map", "show", "id", str(m.id))
        want_type = MAP_TYPE_NAMES[int(map_type)] if int(map_type) in BPFTOOL_KNOWS else None
        if want_type is not None:
            assert shown["type"] == want_type
        assert shown["id"] == info.id
        assert shown["name"] == name
        assert shown["bytes_key"] == args["key_size"]
        assert shown["bytes_value"] == args["value_size"]
        assert shown["max_entries"] == info.max_entries
        assert shown["flags"] == info.map_flags
        assert info.map_flags & args.get("flags", 0) == args.get("flags", 0)  # devmaps add RDONLY_PROG
        assert shown["bytes_memlock"] == info.memlock
        assert bool(shown.get("frozen", 0)) == bool(info.frozen)
        if "btf" in args:
            assert shown.get("btf_id") == info.btf_id != 0
    assert m.closed


def test_map_name_numa_node_and_btf_ids(require_tools):
    require_tools("bpftool")
    with Map.create("hash", 4, 8, 8, name="numa0", numa_node=0) as m:
        info = m.info()
        assert info.map_flags & uapi.BPF_F_NUMA_NODE
        assert bpftool_json("map", "show", "id", str(info.id))["flags"] == info.map_flags
    long = "a_very_long_map_name_indeed"
    with Map.create("array", 4, 4, 1, name=long) as m:
        assert m.name == long and m.info().name == long[:15]


def test_bloom_map_extra_is_the_number_of_hashes():
    with Map.create("bloom_filter", 0, 4, 16, map_extra=5) as m:
        assert m.info().map_extra == 5


def test_map_in_map_with_inner_map():
    with Map.create("array", 4, 8, 2, name="inner") as inner, \
            Map.create("hash_of_maps", 4, 4, 4, inner_map=inner, name="outer") as outer:
        outer.update(b"\x01\0\0\0", inner)  # a Map is accepted as the value: its fd is stored
        inner_id = int.from_bytes(outer.lookup(b"\x01\0\0\0"), "little")
        assert inner_id == inner.id  # the kernel answers lookups with the inner map's id
        with Map.from_id(inner_id) as again:
            assert again.info().name == "inner"
        with pytest.raises(BPFError):  # an inner map of a different shape is refused
            with Map.create("array", 4, 16, 2) as other:
                outer.update(b"\x02\0\0\0", other)


def test_create_cleans_up_on_failure():
    before = iter_ids("map")
    with pytest.raises(BPFError):
        Map.create("hash", 4, 8, 0)  # max_entries 0: the kernel refuses
    assert iter_ids("map") == before


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs,exc,text", [
    (dict(type="hashh", key_size=4, value_size=4, max_entries=1), InvalidArgumentError,
     "unknown map type 'hashh'"),
    (dict(type=999, key_size=4, value_size=4, max_entries=1), BPFError,
     "map type 999 is unknown"),
    (dict(type="hash", key_size=1 << 32, value_size=4, max_entries=1), InvalidArgumentError,
     "key_size must be an integer"),
    (dict(type="hash", key_size=4, value_size=-1, max_entries=1), InvalidArgumentError,
     "value_size must be"),
    (dict(type="hash", key_size=4, value_size=4, max_entries=1, flags=1 << 31), InvalidArgumentError,
     "flags 0x80000000"),
    (dict(type="hash", key_size=4, value_size=4, max_entries=1, name="bad name!"),
     InvalidArgumentError, "characters the kernel refuses"),
    (dict(type="hash", key_size=4, value_size=4, max_entries=1, inner_map=3), InvalidArgumentError,
     "inner_map is only for"),
    (dict(type="array", key_size=4, value_size=1 << 30, max_entries=1 << 20), NoSpaceError,
     "value 1073741824B"),
    (dict(type="ringbuf", key_size=0, value_size=0, max_entries=1000), InvalidArgumentError,
     "ringbuf"),
])
def test_bad_create_arguments(kwargs, exc, text):
    before = iter_ids("map")
    with pytest.raises(exc, match=text):
        Map.create(**kwargs)
    assert iter_ids("map") == before


def test_use_after_close_is_a_clear_error():
    m = Map.create("hash", 4, 4, 4, name="closed")
    m.close()
    m.close()
    for op in (lambda: m.lookup(b"abcd"), lambda: m.update(b"abcd", b"1234"),
               lambda: list(m.keys()), lambda: m.info(), lambda: m.freeze()):
        with pytest.raises(ClosedError, match="map 'closed'"):
            op()


def test_unsupported_type_hint_mentions_linux_version(monkeypatch):
    """When the kernel refuses a type, the error says which release brought it."""
    from pybpf import features

    monkeypatch.setitem(features._cache, ("map", int(uapi.BPF_MAP_TYPE_RINGBUF)), False)
    hint = features.explain_map_create_failure(22, int(uapi.BPF_MAP_TYPE_RINGBUF))
    assert hint == "map type ringbuf is not supported by this kernel (needs Linux 5.8+)"
    with pytest.raises(NotSupportedError):
        features.probe_helper("tracing", "bpf_map_lookup_elem")
