"""PerfBuffer against the live kernel: bpf_perf_event_output() from an XDP program driven by
BPF_PROG_TEST_RUN (tests/progs/events_perf.bpf.c), on one CPU.

Oracles: the program's counters of sent and failed outputs, the payload each sample must
carry, the kernel's padding rule for raw samples (kernel/events/core.c: the u32 size plus the
data is padded to 8 bytes), and libbpf's perf_buffer (libbpf.so.1 through ctypes) reading the
same samples.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import threading
import time

import pytest

from pybpf.errors import InvalidArgumentError
from pybpf.events import PerfBuffer

from tests.conftest import skip_or_fail
from tests.events.conftest import XDP_IN, key, set_u64s, u64s

pytestmark = pytest.mark.kernel

SRC = "events_perf.bpf.c"
SEQ, SENT, FAILED = range(3)
VAR_HEAD = struct.Struct("=QII")
FIXED = struct.Struct("=QQQ")
MAGIC = 0xFEEDBEEF
M64 = (1 << 64) - 1


def padded(n):
    """Bytes the kernel hands over for n bytes of output: (4 + size) rounded up to 8, minus 4."""
    return ((n + 4 + 7) & ~7) - 4


def produce(obj, prog, n):
    obj.progs[prog].test_run(XDP_IN, repeat=n)


def check_var(data) -> int:
    data = bytes(data)
    seq, size, magic = VAR_HEAD.unpack_from(data)
    assert magic == MAGIC and size == (seq * 37) % 241
    assert len(data) == padded(16 + size)
    assert data[16:16 + size] == bytes((seq + i) & 0xFF for i in range(size))
    return seq


def check_fixed(data) -> int:
    data = bytes(data)
    assert len(data) == padded(FIXED.size)
    seq, square, inverse = FIXED.unpack_from(data)
    assert square == (seq * seq) & M64 and inverse == ~seq & M64
    return seq


def test_samples_arrive_intact(load_events, pin_cpu):
    n = 400
    obj = load_events(SRC)
    got = []
    with PerfBuffer(obj.maps["events"], lambda cpu, data: got.append((cpu, data)), page_count=64) as pb:
        assert [b.cpu for b in pb.buffers] == sorted(b.cpu for b in pb.buffers)
        produce(obj, "perf_variable", n)
        assert u64s(obj.maps["stats"], 3) == [n, n, 0]
        assert pb.poll(10) == n
        assert pb.lost == 0
    assert {cpu for cpu, _ in got} == {pin_cpu}
    assert [check_var(d) for _, d in got] == list(range(n))


def test_runs_of_equal_samples(load_events, pin_cpu):
    n = 1500
    obj = load_events(SRC)
    got = []
    with PerfBuffer(obj.maps["events"], lambda cpu, data: got.append(data), page_count=32) as pb:
        produce(obj, "perf_fixed", n)
        assert pb.consume() == n
    assert [check_fixed(d) for d in got] == list(range(n))


def test_lost_samples_are_reported(load_events, pin_cpu):
    obj = load_events(SRC)
    got, lost = [], []
    with PerfBuffer(obj.maps["events"], lambda cpu, data: got.append(data),
                    lambda cpu, count: lost.append((cpu, count)), page_count=1) as pb:
        produce(obj, "perf_variable", 300)          # far more than one page holds
        _, sent, failed = u64s(obj.maps["stats"], 3)
        assert sent + failed == 300 and failed > 0
        assert pb.consume() == sent
        # the kernel reports losses in front of the next sample that fits (with the varying
        # sizes some small samples fit after bigger ones failed); after the ring was drained,
        # one more sample flushes the rest
        produce(obj, "perf_variable", 1)
        assert pb.consume() == 1
        assert {cpu for cpu, _ in lost} == {pin_cpu}
        assert sum(c for _, c in lost) == failed
        assert pb.lost == failed and pb.buffers[[b.cpu for b in pb.buffers].index(pin_cpu)].lost == failed
    failures = {s for s in range(300) if obj.maps["failed"].lookup(key(s)) != bytes(4)}
    assert len(failures) == failed
    assert [check_var(d) for d in got] == [s for s in range(300) if s not in failures] + [300]


def test_samples_that_wrap_are_copied_contiguous(load_events, pin_cpu):
    obj = load_events(SRC)
    got = []
    rounds, per_round = 300, 10          # 10 samples of at most 288 bytes per 4 KiB page
    with PerfBuffer(obj.maps["events"], lambda cpu, data: got.append(data), page_count=1) as pb:
        for _ in range(rounds):
            produce(obj, "perf_variable", per_round)
            assert pb.consume() == per_round
    total = rounds * per_round
    assert u64s(obj.maps["stats"], 3) == [total, total, 0]
    assert [check_var(d) for d in got] == list(range(total))
    pos, wrapped = 0, 0
    for seq in range(total):
        rec = 8 + 4 + padded(16 + (seq * 37) % 241)
        wrapped += (pos % 4096) + rec > 4096
        pos += rec
    assert wrapped > 50


def test_poll_is_woken_by_a_sample(load_events, pin_cpu):
    obj = load_events(SRC)
    got = []
    with PerfBuffer(obj.maps["events"], lambda cpu, data: got.append(data)) as pb:
        results = []
        waiter = threading.Thread(target=lambda: results.append(pb.poll(30.0)))
        waiter.start()
        time.sleep(0.2)
        produce(obj, "perf_variable", 1)
        waiter.join(60)
        assert not waiter.is_alive()
        assert results == [1]
    assert [check_var(d) for d in got] == [0]


def test_callback_stop_and_typed_samples(load_events, pin_cpu):
    obj = load_events(SRC)
    seen = []

    def cb(cpu, rec):
        seen.append(rec)
        return 5 if len(seen) % 3 == 0 else 0

    with PerfBuffer(obj.maps["events"], cb, type=FIXED) as pb:
        produce(obj, "perf_fixed", 10)
        assert pb.consume() == 5
        assert pb.consume_buffer(pin_cpu) == 5         # stops again, 3 more later
        assert len(seen) == 6
        pb.callback = lambda cpu, rec: seen.append(rec)
        assert pb.consume() == 4
    assert [t[0] for t in seen] == list(range(10))
    assert all(t[1] == t[0] * t[0] for t in seen)


@pytest.mark.parametrize("stop", [False, True])
@pytest.mark.parametrize("at", [0, 57, 199])
def test_samples_of_varying_sizes_stop_or_raise_mid_chunk(load_events, pin_cpu, at, stop):
    """Samples of varying sizes are handed over a chunk at a time (walked in C): a callback
    that raises (or returns a stop value) at sample ``at`` has consumed exactly the samples
    up to it, and the next pass starts with the one after it; typed samples decode alike."""
    n = 200
    obj = load_events(SRC)
    seen = []

    def cb(cpu, data):
        seen.append(check_var(data))
        if seen[-1] == at:
            if stop:
                return "stop"
            raise KeyError("boom")
        return None

    with PerfBuffer(obj.maps["events"], cb, page_count=64) as pb:
        produce(obj, "perf_variable", n)
        if stop:
            assert pb.consume() == "stop"
        else:
            with pytest.raises(KeyError):
                pb.consume()
        assert seen == list(range(at + 1))
        pb.callback = lambda cpu, data: seen.append(check_var(data))
        assert pb.consume() == n - at - 1
    assert seen == list(range(n))
    typed = []
    with PerfBuffer(obj.maps["events"], lambda cpu, t: typed.append(t), type=VAR_HEAD, page_count=64) as pb:
        produce(obj, "perf_variable", n)
        assert pb.consume() == n
    assert [t[0] for t in typed] == list(range(n, 2 * n))
    assert all(t[1] == (t[0] * 37) % 241 and t[2] == MAGIC for t in typed)


def test_events_leave_the_map_on_close(load_events, pin_cpu):
    obj = load_events(SRC)
    with PerfBuffer(obj.maps["events"], lambda cpu, data: None):
        produce(obj, "perf_fixed", 1)
    assert u64s(obj.maps["stats"], 3) == [1, 1, 0]
    produce(obj, "perf_fixed", 1)          # no perf event at this CPU's index any more
    assert u64s(obj.maps["stats"], 3) == [2, 1, 1]


def test_errors(load_events):
    obj = load_events(SRC)
    with pytest.raises(InvalidArgumentError, match="power of 2"):
        PerfBuffer(obj.maps["events"], print, page_count=3)
    with pytest.raises(InvalidArgumentError, match="not a perf_event_array map"):
        PerfBuffer(obj.maps["stats"], print)
    with pytest.raises(InvalidArgumentError, match="beyond"):
        PerfBuffer(obj.maps["events"], print, cpus=[64])


def test_same_samples_as_libbpf(load_events, pin_cpu):
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        skip_or_fail("libbpf.so.1 is not installed (the differential oracle)")
    sample_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
    lost_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64)
    lib.perf_buffer__new.restype = ctypes.c_void_p
    lib.perf_buffer__new.argtypes = [ctypes.c_int, ctypes.c_size_t, sample_fn, lost_fn,
                                     ctypes.c_void_p, ctypes.c_void_p]
    lib.perf_buffer__consume.argtypes = [ctypes.c_void_p]
    lib.perf_buffer__free.argtypes = [ctypes.c_void_p]
    obj = load_events(SRC)

    def run(consume):
        set_u64s(obj.maps["stats"], [0, 0, 0])
        for _ in range(40):
            produce(obj, "perf_variable", 30)        # overflows a 2-page ring now and then
            consume()
        produce(obj, "perf_fixed", 1)
        consume()

    ref, ref_lost = [], []

    @sample_fn
    def on_sample(ctx, cpu, data, size):
        ref.append((cpu, ctypes.string_at(data, size)))

    @lost_fn
    def on_lost(ctx, cpu, count):
        ref_lost.append((cpu, count))

    pb_c = lib.perf_buffer__new(obj.maps["events"].fileno(), 2, on_sample, on_lost, None, None)
    assert pb_c
    try:
        run(lambda: lib.perf_buffer__consume(pb_c))
    finally:
        lib.perf_buffer__free(pb_c)
    mine, mine_lost = [], []
    with PerfBuffer(obj.maps["events"], lambda cpu, d: mine.append((cpu, d)),
                    lambda cpu, c: mine_lost.append((cpu, c)), page_count=2) as pb:
        run(pb.consume)
    assert len(ref) > 100
    assert mine == ref
    assert mine_lost == ref_lost
