"""Element operations on live maps, checked against bpftool's view and kernel semantics."""

from __future__ import annotations

import contextlib
import os
import socket
import struct

import pytest

from pybpf import Map, Program
from pybpf.errors import (
    BPFError,
    ExistsError,
    InvalidArgumentError,
    KeyNotFoundError,
    NoSpaceError,
    NotSupportedError,
    PermissionDeniedError,
)
from pybpf.sys import num_possible_cpus, perf_event_open, uapi
from pybpf.sys.commands import btf_load, iter_ids
from tests.maps.map_types import LOCAL_STORAGE_BTF
from tests.sys.helpers import bpftool_json, ret

pytestmark = pytest.mark.kernel

u32 = struct.Struct("<I").pack
u64 = struct.Struct("<Q").pack


def hexlist(raw: bytes) -> list[str]:
    return [f"0x{b:02x}" for b in raw]


def test_hash_element_operations_and_bpftool_dump(require_tools):
    require_tools("bpftool")
    with Map.create("hash", 4, 8, 8, name="h") as m:
        for i in range(5):
            m.update(u32(i), u64(i * 100))
        assert m.lookup(u32(3)) == u64(300)
        assert m[u32(4)] == u64(400)
        assert u32(2) in m and u32(7) not in m
        assert m.get(u32(7), b"none") == b"none"
        m.delete(u32(0))
        with pytest.raises(KeyNotFoundError, match="map 'h'.*lookup key 00 00 00 00"):
            m.lookup(u32(0))
        with pytest.raises(KeyNotFoundError):
            m.delete(u32(0))
        with pytest.raises(ExistsError):
            m.update(u32(1), u64(1), uapi.BPF_NOEXIST)
        with pytest.raises(KeyNotFoundError):
            m.update(u32(9), u64(1), uapi.BPF_EXIST)
        m.update(u32(1), u64(111), uapi.BPF_EXIST)
        ours = dict(m.items())
        assert sorted(ours) == [u32(i) for i in (1, 2, 3, 4)]
        dump = bpftool_json("map", "dump", "id", str(m.id))
        assert {bytes(int(x, 16) for x in e["key"]): bytes(int(x, 16) for x in e["value"])
                for e in dump} == ours
        # get_next_key walks the same order as bpftool's dump.
        assert list(m.keys()) == [bytes(int(x, 16) for x in e["key"]) for e in dump]
        assert m.get_next_key(None) == list(m.keys())[0]
        assert sorted(m.values()) == sorted(ours.values())


def test_full_hash_map_says_so():
    with Map.create("hash", 4, 4, 2, name="small") as m:
        m[u32(1)] = u32(1)
        m[u32(2)] = u32(2)
        with pytest.raises(NoSpaceError, match="the map is full \\(max_entries 2\\)"):
            m[u32(3)] = u32(3)


def test_array_semantics():
    with Map.create("array", 4, 8, 3, name="arr") as m:
        assert list(m.items()) == [(u32(i), bytes(8)) for i in range(3)]
        m[u32(2)] = b"abcdefgh"
        assert m[u32(2)] == b"abcdefgh"
        with pytest.raises(KeyNotFoundError):
            m.lookup(u32(3))  # out of range: the kernel says ENOENT
        with pytest.raises(NoSpaceError):
            m.update(u32(3), bytes(8))  # out of range update: E2BIG
        with pytest.raises(InvalidArgumentError):
            m.delete(u32(1))  # array elements cannot be deleted: EINVAL


def test_percpu_values_match_bpftool(require_tools):
    require_tools("bpftool")
    n = num_possible_cpus()
    with Map.create("percpu_hash", 4, 4, 4, name="pc") as m:
        values = [u32(0x1000 + cpu) for cpu in range(n)]
        m[u32(7)] = values
        assert m[u32(7)] == values
        dump = bpftool_json("map", "dump", "id", str(m.id))
        assert [bytes(int(x, 16) for x in v["value"]) for v in dump[0]["values"]] == values
        with pytest.raises(InvalidArgumentError, match=f"expected {n}"):
            m[u32(8)] = values + values
        with pytest.raises(InvalidArgumentError, match="sequence of"):
            m[u32(8)] = u32(1)
    with Map.create("percpu_array", 4, 12, 2) as m:  # 12-byte values sit in 16-byte slots
        vals = [bytes([cpu + 1]) * 12 for cpu in range(n)]
        m[u32(1)] = vals
        assert m[u32(1)] == vals and m[u32(0)] == [bytes(12)] * n
        assert m.is_percpu and m.ncpus == n


def test_lru_hash_evicts_instead_of_failing():
    with Map.create("lru_hash", 4, 4, 16) as m:
        for i in range(200):
            m[u32(i)] = u32(i)
        assert 0 < len(list(m.keys())) <= 200
        assert m[u32(199)] == u32(199)


def test_lpm_trie_longest_prefix_match():
    def key(prefix: int, ip: str) -> bytes:
        return u32(prefix) + socket.inet_aton(ip)

    with Map.create("lpm_trie", 8, 4, 16, flags=uapi.BPF_F_NO_PREALLOC) as m:
        m[key(8, "10.0.0.0")] = b"net8"
        m[key(16, "10.1.0.0")] = b"ne16"
        assert m[key(32, "10.1.2.3")] == b"ne16"
        assert m[key(32, "10.2.0.1")] == b"net8"
        with pytest.raises(KeyNotFoundError):
            m.lookup(key(32, "192.168.0.1"))


@pytest.mark.parametrize("kind,order", [("queue", [b"aaaa", b"bbbb"]), ("stack", [b"bbbb", b"aaaa"])])
def test_queue_and_stack_against_bpftool(kind, order, require_tools):
    require_tools("bpftool")
    with Map.create(kind, 0, 4, 4, name=kind) as m:
        m.push(b"aaaa")
        m.push(b"bbbb")
        assert m.peek() == order[0]
        popped = bpftool_json("map", "pop", "id", str(m.id))
        assert bytes(int(x, 16) for x in popped["value"]) == order[0]
        assert m.pop() == order[1]
        with pytest.raises(KeyNotFoundError, match="the map is empty"):
            m.pop()
        with pytest.raises(KeyNotFoundError):
            m.peek()
        for v in (b"1111", b"2222", b"3333", b"4444"):
            m.push(v)
        with pytest.raises(NoSpaceError):
            m.push(b"5555")
        m.push(b"5555", uapi.BPF_EXIST)  # overwrite the oldest
        with pytest.raises(InvalidArgumentError, match="needs a key"):
            m.lookup(b"")


def test_bloom_filter():
    with Map.create("bloom_filter", 0, 4, 100, map_extra=3, flags=uapi.BPF_F_ZERO_SEED) as m:
        for v in (b"aaaa", b"bbbb"):
            m.push(v)
        assert m.may_contain(b"aaaa") and b"bbbb" in m
        assert not m.may_contain(b"zzzz")
        with pytest.raises(InvalidArgumentError, match="may_contain"):
            m.peek()


def test_lookup_and_delete_on_hash():
    with Map.create("hash", 4, 4, 4) as m:
        m[u32(1)] = b"one!"
        assert m.lookup_and_delete(u32(1)) == b"one!"
        assert u32(1) not in m
        with pytest.raises(KeyNotFoundError):
            m.lookup_and_delete(u32(1))


# ----------------------------------------------------------------------------- batches


@pytest.mark.parametrize("kind", ["hash", "percpu_hash", "array", "lru_hash"])
def test_batch_operations(kind, require_tools):
    require_tools("bpftool")
    n = 100
    ncpu = num_possible_cpus()
    percpu = kind.startswith("percpu")

    def val(i):
        return [u64(i * 10 + c) for c in range(ncpu)] if percpu else u64(i * 10)

    with Map.create(kind, 4, 8, n, name="b") as m:
        keys = [u32(i) for i in range(n)]
        assert m.update_batch(keys, [val(i) for i in range(n)]) == n
        got = []
        token = None
        while True:
            res = m.lookup_batch(7, token)
            got.extend(res.items)
            if res.done:
                break
            token = res.token
        assert dict(got) == {u32(i): val(i) for i in range(n)}
        assert dict(m.items_batch(batch_size=3)) == dict(m.items())
        dump = bpftool_json("map", "dump", "id", str(m.id))
        assert len(dump) == n
        if kind == "array":
            with pytest.raises(NotSupportedError, match="delete_batch"):
                m.delete_batch(keys[:10])  # array elements cannot be deleted
            return
        assert m.delete_batch(keys[:10]) == 10
        assert len(list(m.keys())) == n - 10
        drained = dict(m.items_batch(batch_size=16, delete=True))
        assert sorted(drained) == keys[10:]
        assert list(m.keys()) == []
        with pytest.raises(KeyNotFoundError, match="0 of 1 deleted"):
            m.delete_batch([u32(1)])


def test_batch_bad_input():
    with Map.create("hash", 4, 4, 4) as m:
        with pytest.raises(InvalidArgumentError, match="2 keys but 1 values"):
            m.update_batch([u32(1), u32(2)], [u32(1)])
        with pytest.raises(InvalidArgumentError, match="key is 3 bytes"):
            m.update_batch([b"abc"], [u32(1)])
        with pytest.raises(InvalidArgumentError, match="count must be at least 1"):
            m.lookup_batch(0)
        assert m.update_batch([], []) == 0


# ----------------------------------------------------------------------------- freeze, pins, ids


def test_freeze_makes_it_read_only(require_tools):
    require_tools("bpftool")
    with Map.create("array", 4, 4, 1, name="frz") as m:
        m[u32(0)] = b"keep"
        m.freeze()
        assert m.info().frozen
        assert bpftool_json("map", "show", "id", str(m.id))["frozen"] == 1
        with pytest.raises(PermissionDeniedError, match="map 'frz'.*update"):
            m[u32(0)] = b"lost"
        assert m[u32(0)] == b"keep"
        with pytest.raises(BPFError):
            m.freeze()  # twice: EBUSY


def test_pin_open_pinned_unpin(bpffs_dir, require_tools):
    require_tools("bpftool")
    path = os.path.join(bpffs_dir, "m")
    with Map.create("hash", 4, 4, 4, name="pinned") as m:
        m[u32(1)] = b"pin!"
        m.pin(path)
        map_id = m.id
    assert map_id in iter_ids("map")  # the pin keeps it alive
    assert bpftool_json("map", "show", "pinned", path)["id"] == map_id
    with Map.from_pin(path) as again:
        assert again.id == map_id and again.name == "pinned" and again[u32(1)] == b"pin!"
        assert again.pinned_path == path
        again.unpin()
    assert not os.path.exists(path)
    with pytest.raises(BPFError, match="opening pinned map"):
        Map.from_pin(path)
    with pytest.raises(BPFError, match="pinning"):
        with Map.create("array", 4, 4, 1) as m:
            m.pin("/tmp/not-a-bpffs-path-for-pybpf")


def test_from_id_and_from_fd():
    with Map.create("array", 4, 4, 2, name="byid") as m:
        with Map.from_id(m.id) as a, Map.from_fd(m.fileno()) as b:
            a[u32(1)] = b"abcd"
            assert b[u32(1)] == b"abcd" and b.name == "byid"
            assert b.fileno() != m.fileno()
    with Program.load("socket_filter", ret(0)) as p:
        with pytest.raises(InvalidArgumentError, match="not a BPF map"):
            Map.from_fd(p.fileno())


def test_pinned_program_is_not_a_map(bpffs_dir):
    path = os.path.join(bpffs_dir, "p")
    with Program.load("socket_filter", ret(0)) as p:
        p.pin(path)
    with pytest.raises(InvalidArgumentError, match="not a pinned map"):
        Map.from_pin(path)


# ----------------------------------------------------------------------------- bad element input


def test_wrong_key_and_value_sizes_and_types():
    with Map.create("hash", 4, 8, 4, name="sz") as m:
        with pytest.raises(InvalidArgumentError, match="map 'sz'.*key is 3 bytes, expected 4"):
            m.lookup(b"abc")
        with pytest.raises(InvalidArgumentError, match="value is 9 bytes, expected 8"):
            m.update(u32(1), b"123456789")
        with pytest.raises(InvalidArgumentError, match="key must be bytes"):
            m.lookup(1)
        with pytest.raises(InvalidArgumentError, match="flags must be"):
            m.update(u32(1), u64(1), -1)
        with pytest.raises(InvalidArgumentError, match="push is for queue"):
            m.push(u64(1))
        with pytest.raises(InvalidArgumentError):
            m.may_contain(u64(1))
        assert list(m.keys()) == []


def test_ring_buffer_has_no_element_operations():
    with Map.create("ringbuf", 0, 0, os.sysconf("SC_PAGE_SIZE"), name="rb") as m:
        with pytest.raises(InvalidArgumentError):
            m.lookup(b"")


# ----------------------------------------------------------------------------- fd-valued maps


def test_prog_array_holds_programs():
    with Map.create("prog_array", 4, 4, 2, name="jmp") as m, \
            Program.load("socket_filter", ret(0)) as p:
        m[u32(0)] = p
        assert m.lookup(u32(0)) == u32(p.id)  # the kernel answers with the program's id
        m.delete(u32(0))
        with pytest.raises(KeyNotFoundError):
            m.delete(u32(0))
        with pytest.raises(InvalidArgumentError, match="file descriptor"):
            m[u32(1)] = "program"


def test_perf_event_array_holds_perf_events():
    attr = uapi.perf_event_attr()
    attr.type = uapi.PERF_TYPE_SOFTWARE
    attr.config = uapi.PERF_COUNT_SW_BPF_OUTPUT
    attr.sample_type = uapi.PERF_SAMPLE_RAW
    with Map.create("perf_event_array", 4, 4, num_possible_cpus()) as m, \
            perf_event_open(attr, pid=-1, cpu=0) as ev:
        m[u32(0)] = ev
        m.delete(u32(0))


def cgroup2_root() -> str:
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, *_ = line.split()
            if fstype == "cgroup2":
                return mnt
    pytest.skip("no cgroup2 hierarchy mounted")


def test_cgroup_array_holds_cgroups():
    fd = os.open(cgroup2_root(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        with Map.create("cgroup_array", 4, 4, 1) as m:
            m[u32(0)] = fd
            m.delete(u32(0))
    finally:
        os.close(fd)


def test_sockmap_holds_sockets():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
            Map.create("sockmap", 4, 4, 2) as m:
        s.bind(("127.0.0.1", 0))
        m[u32(0)] = s
        m.delete(u32(0))


def test_local_storage_maps_keyed_by_descriptors():
    with contextlib.ExitStack() as stack:
        btf = stack.enter_context(btf_load(LOCAL_STORAGE_BTF))
        kw = dict(flags=uapi.BPF_F_NO_PREALLOC, btf=btf, btf_key_type_id=1, btf_value_type_id=3)
        task = stack.enter_context(Map.create("task_storage", 4, 8, 0, **kw))
        pidfd = os.pidfd_open(os.getpid())
        stack.callback(os.close, pidfd)
        task.update(u32(pidfd), b"12345678")
        assert task.lookup(u32(pidfd))[:4] == b"1234"
        task.delete(u32(pidfd))
        sk = stack.enter_context(Map.create("sk_storage", 4, 8, 0, **kw))
        s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        sk.update(u32(s.fileno()), b"abcdefgh")
        assert sk.lookup(u32(s.fileno()))[:4] == b"abcd"
        cg = stack.enter_context(Map.create("cgrp_storage", 4, 8, 0, **kw))
        cgfd = os.open(cgroup2_root(), os.O_RDONLY | os.O_DIRECTORY)
        stack.callback(os.close, cgfd)
        cg.update(u32(cgfd), b"cgroup!!")
        assert cg.lookup(u32(cgfd))[:4] == b"cgro"


def test_stack_trace_lookup_of_unknown_id():
    with Map.create("stack_trace", 4, 8 * 8, 4) as m:
        with pytest.raises(KeyNotFoundError):
            m.lookup(u32(1))
