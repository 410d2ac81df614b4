"""The pooled-buffer element paths of Map: shared by threads and signal handlers without
mixing up keys and values, identical to the codec paths, checked against bpftool."""

from __future__ import annotations

import signal
import struct
import threading

import pytest

from pybpf import Map
from pybpf.errors import ClosedError, ExistsError, InvalidArgumentError, KeyNotFoundError
from pybpf.maps.codec import BytesCodec
from pybpf.sys import num_possible_cpus, uapi
from tests.sys.helpers import bpftool_json

pytestmark = pytest.mark.kernel

u32 = struct.Struct("<I").pack
u64 = struct.Struct("<Q").pack
VALUE = struct.Struct("<QQ")


def value_for(i: int) -> bytes:
    """16 bytes that name their key twice: a value read under another key's lookup shows."""
    return VALUE.pack(i * 0x9E3779B97F4A7C15 & (1 << 64) - 1, ~i & (1 << 64) - 1)


class CopyingCodec(BytesCodec):
    """Same bytes as the default codec, but not the default codec: the general path."""

    __slots__ = ()

    def encode(self, obj):
        return bytearray(super().encode(obj))

    def decode(self, data):
        return bytes(data)


def test_threads_sharing_one_map_never_see_each_others_buffers():
    n, nthreads, rounds = 512, 4, 30
    with Map.create("hash", 4, 16, n * nthreads, name="threads") as m:
        for i in range(n * nthreads):
            m[u32(i)] = value_for(i)
        errors: list[str] = []
        start = threading.Barrier(nthreads)

        def worker(t: int) -> None:
            start.wait()
            mine = range(t * n, (t + 1) * n)
            for _ in range(rounds):
                for i in mine:
                    got = m.lookup(u32(i))
                    if got != value_for(i):
                        errors.append(f"thread {t}: key {i} read {got.hex()}")
                        return
                    m.update(u32(i), value_for(i))
                    nxt = m.get_next_key(u32(i))
                    if nxt is not None and m.get(nxt) not in (None, value_for(struct.unpack("<I", nxt)[0])):
                        errors.append(f"thread {t}: next key {nxt.hex()} has a foreign value")
                        return
                for key, value in m.items():
                    if value != value_for(struct.unpack("<I", key)[0]):
                        errors.append(f"thread {t}: items() paired {key.hex()} with {value.hex()}")
                        return

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert len(m._pool) <= nthreads  # one set per concurrent user, reused afterwards


def test_signal_handler_using_the_same_map_mid_operation():
    """A Python signal handler runs between any two bytecodes of the interrupted lookup,
    including between filling the key buffer and the system call."""
    with Map.create("array", 4, 16, 64, name="sig") as m:
        for i in range(64):
            m[u32(i)] = value_for(i)
        wrong: list[int] = []
        fired = [0]

        def handler(signum, frame):
            fired[0] += 1
            if m.lookup(u32(63)) != value_for(63):
                wrong.append(63)

        old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        try:
            for _ in range(300):
                for i in range(63):
                    if m.lookup(u32(i)) != value_for(i):
                        wrong.append(i)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, old)
        assert fired[0] > 0 and wrong == []


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - compared below
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("kind", ["hash", "array", "lru_hash"])
def test_fast_path_equals_codec_path(kind):
    """Every element operation gives the same results and errors with the default codec
    (pooled fast path) and with a codec producing the same bytes (general path)."""
    def script(m):
        steps = []
        for i in range(6):
            steps.append(lambda i=i: m.update(u32(i), value_for(i)))
        steps += [
            lambda: m.lookup(u32(3)), lambda: m.lookup(u32(77)), lambda: m.get(u32(99), b"-"),
            lambda: m.update(u32(2), value_for(9), uapi.BPF_EXIST), lambda: m.lookup(u32(2)),
            lambda: m.update(u32(2), value_for(9), uapi.BPF_NOEXIST),
            lambda: m.update(u32(70), value_for(1), uapi.BPF_EXIST),
            lambda: m.delete(u32(1)), lambda: m.delete(u32(1)),
            lambda: m.get_next_key(None), lambda: m.get_next_key(u32(4)),
            lambda: m.get_next_key(u32(12345)),
            lambda: sorted(m.items()), lambda: sorted(m.keys()), lambda: sorted(m.values()),
            lambda: sorted(m.items_batch(4)), lambda: m.lookup(b"abc"), lambda: m.lookup(7),
            lambda: m.update(u32(1), b"short"), lambda: m.lookup(u32(1), -1),
            lambda: u32(4) in m, lambda: u32(1) in m,
        ]
        return [_outcome(step) for step in steps]

    results = []
    with Map.create(kind, 4, 16, 8, name="eq") as m:  # one map: one hash seed, one order
        label = m._label()
        for codecs in ("default", "general", "default"):
            if codecs == "general":
                m.key_codec = CopyingCodec(4, "key", label)
                m.value_codec = CopyingCodec(16, "value", label)
                assert not m._fast
            else:
                m.key_codec = BytesCodec(4, "key", label)
                m.value_codec = BytesCodec(16, "value", label)
                assert m._fast
            for i in range(8):  # start from the same contents
                if kind == "array":
                    m.update(u32(i), bytes(16))
                else:
                    m.get(u32(i)) is not None and m.delete(u32(i))
            results.append(script(m))
    assert results[0] == results[2]  # the script itself is deterministic on this map
    assert results[0] == results[1]
    kinds = {r[0] for r in results[0]}
    assert "ok" in kinds and "InvalidArgumentError" in kinds
    assert kind == "array" or {"KeyNotFoundError", "ExistsError"} <= kinds


def test_assigning_codecs_switches_paths_both_ways():
    with Map.create("hash", 4, 4, 4, name="sw") as m:
        m[u32(1)] = u32(10)

        class IntCodec:
            size = 4

            def encode(self, obj):
                return u32(obj)

            def decode(self, data):
                return struct.unpack("<I", data)[0]

        m.key_codec = IntCodec()
        m.value_codec = IntCodec()
        assert m[1] == 10 and dict(m.items()) == {1: 10} and list(m.keys()) == [1]
        m[2] = 20
        assert dict(m.items_batch(8)) == {1: 10, 2: 20}
        m.key_codec = BytesCodec(4, "key")
        m.value_codec = BytesCodec(4, "value")
        assert m._fast and m[u32(2)] == u32(20)


def test_closed_map_refuses_every_path():
    m = Map.create("hash", 4, 4, 4, name="closed")
    m[u32(1)] = u32(1)
    m.close()
    for op in (lambda: m.lookup(u32(1)), lambda: m.update(u32(1), u32(2)),
               lambda: m.delete(u32(1)), lambda: m.get_next_key(None), lambda: list(m.items())):
        with pytest.raises(ClosedError):
            op()


@pytest.mark.parametrize("kind,value_size", [("hash", 8), ("percpu_hash", 12), ("array", 3)])
def test_batch_walk_of_thousands_against_bpftool(kind, value_size, require_tools):
    """More elements than one split chunk (1024) and a partial last batch."""
    require_tools("bpftool")
    n = 2500
    ncpu = num_possible_cpus()
    percpu = kind.startswith("percpu")

    def val(i):
        one = (i * 7).to_bytes(8, "little")[:value_size].ljust(value_size, b"\x5a")
        return [one[:-1] + bytes([c]) for c in range(ncpu)] if percpu else one

    with Map.create(kind, 4, value_size, n, name="many") as m:
        keys = [u32(i) for i in range(n)]
        m.update_batch(keys, [val(i) for i in range(n)])
        walked = list(m.items_batch(1100))
        assert len(walked) == n and dict(walked) == {u32(i): val(i) for i in range(n)}
        dump = bpftool_json("map", "dump", "id", str(m.id))
        theirs = {}
        for e in dump:
            k = bytes(int(x, 16) for x in e["key"])
            if percpu:
                theirs[k] = [bytes(int(x, 16) for x in v["value"]) for v in e["values"]]
            else:
                theirs[k] = bytes(int(x, 16) for x in e["value"])
        assert theirs == dict(walked) == dict(m.items())
        assert [k for k, _ in walked] == [k for k, _ in m.items()] or kind != "array"


def test_update_and_lookup_flags_still_checked():
    with Map.create("hash", 4, 4, 4, name="fl") as m:
        with pytest.raises(InvalidArgumentError, match="flags must be"):
            m.lookup(u32(1), True)
        with pytest.raises(InvalidArgumentError, match="flags must be"):
            m.update(u32(1), u32(1), 1 << 64)
        m.update(u32(1), u32(1), uapi.BPF_NOEXIST)
        with pytest.raises(ExistsError):
            m.update(u32(1), u32(1), uapi.BPF_NOEXIST)
        with pytest.raises(KeyNotFoundError):
            m.lookup_and_delete(u32(3))
        assert m.lookup_and_delete(u32(1)) == u32(1)


def test_codecs_may_return_any_buffer():
    """A codec may hand back bytes, a bytearray, a memoryview or a ctypes object."""
    import ctypes

    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32)]

    class StructCodec:
        size = 8

        def encode(self, obj):
            return Pair(*obj)

        def decode(self, data):
            p = Pair.from_buffer_copy(data)
            return (p.a, p.b)

    class ViewCodec:
        size = 4

        def encode(self, obj):
            return memoryview(u32(obj))

        def decode(self, data):
            return struct.unpack("<I", data)[0]

    with Map.create("hash", 4, 8, 4, name="bufs") as m:
        m.key_codec = ViewCodec()
        m.value_codec = StructCodec()
        m[3] = (1, 2)
        m.update_batch([4, 5], [(3, 4), (5, 6)])
        assert dict(m.items()) == {3: (1, 2), 4: (3, 4), 5: (5, 6)} == dict(m.items_batch(2))
        m.key_codec = BytesCodec(4, "key")
        m.value_codec = BytesCodec(8, "value")
        assert m[u32(3)] == u32(1) + u32(2)
