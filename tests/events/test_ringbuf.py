"""RingBuffer against the live kernel: producers in BPF (tests/progs/events_ringbuf.bpf.c)
driven by BPF_PROG_TEST_RUN with repeat.

Oracles: the producer's own counters (submitted / failed reserves / discarded, kept in a map
by the program), the kernel's view of the ring (bpf_ringbuf_query() run in the kernel:
consumer and producer positions), the payload each record must carry (a function of its
sequence number), the kernel's reserve rule from kernel/bpf/ringbuf.c, and libbpf's own ring
buffer consumer (libbpf.so.1 through ctypes) reading the same records.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import selectors
import struct
import threading
import time

import pytest

from pybpf.errors import ClosedError, InvalidArgumentError, NoSpaceError, NotSupportedError
from pybpf.events import RingBuffer
from pybpf.events.ringbuf import DISCARD_BIT

from tests.conftest import skip_or_fail
from tests.events.conftest import XDP_IN, key, set_u64s, u64s

pytestmark = pytest.mark.kernel

SRC = "events_ringbuf.bpf.c"
SEQ, SUBMITTED, DROPPED, DISCARDED = range(4)
Q_AVAIL, Q_SIZE, Q_CONS, Q_PROD = range(4)
CONFIG = struct.Struct("=IIQ")              # discard_every, rings, wakeup_flags
FIXED = struct.Struct("=QIIQQ")             # seq, cpu, magic, square, inverse
VAR_HEAD = struct.Struct("=QII")            # seq, size, magic
MAGIC = 0xFEEDBEEF
M64 = (1 << 64) - 1
BPF_RB_NO_WAKEUP = 1
FIXED_SLOT = (FIXED.size + 8 + 7) & ~7       # bytes a fixed record takes in the ring


class FixedEvent(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("cpu", ctypes.c_uint32), ("magic", ctypes.c_uint32),
                ("square", ctypes.c_uint64), ("inverse", ctypes.c_uint64)]


def configure(obj, *, discard_every=0, rings=1, wakeup=0):
    obj.maps["config"].update(key(0), CONFIG.pack(discard_every, rings, wakeup))


def produce(obj, prog, n):
    if n:
        obj.progs[prog].test_run(XDP_IN, repeat=n)


def kernel_view(obj):
    """(avail, size, consumer_pos, producer_pos) of ring 'rb' as the kernel reports them."""
    obj.progs["rb_query"].test_run(XDP_IN)
    return tuple(u64s(obj.maps["query"], 4))


def check_fixed(raw) -> int:
    seq, _cpu, magic, square, inverse = FIXED.unpack(bytes(raw))
    assert magic == MAGIC
    assert square == (seq * seq) & M64
    assert inverse == ~seq & M64
    return seq


def var_size(seq):
    return 16 + (seq * 37) % 241


def check_var(raw) -> int:
    raw = bytes(raw)
    seq, size, magic = VAR_HEAD.unpack_from(raw)
    assert magic == MAGIC
    assert size == (seq * 37) % 241
    assert len(raw) == 16 + size
    assert raw[16:] == bytes((seq + i) & 0xFF for i in range(size))
    return seq


# ------------------------------------------------------------------------------ correctness


def test_no_loss_when_the_ring_is_large_enough(load_events):
    n = 100_000
    obj = load_events(SRC, sizes={"rb": 1 << 23})       # 8 MiB > n * 40 bytes
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    assert u64s(obj.maps["stats"], 4) == [n, n, 0, 0]
    seen = []
    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        assert rb.rings[0].avail == n * FIXED_SLOT
        assert rb.consume() == n
        assert rb.consume() == 0
    assert [check_fixed(r) for r in seen] == list(range(n))
    avail, size, cons, prod = kernel_view(obj)
    assert (avail, size, cons, prod) == (0, 1 << 23, n * FIXED_SLOT, n * FIXED_SLOT)


def test_drops_are_accounted_exactly_when_the_ring_is_too_small(load_events):
    size = 1 << 16
    n = 5000
    obj = load_events(SRC, sizes={"rb": size})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    _, submitted, dropped, _ = u64s(obj.maps["stats"], 4)
    # kernel/bpf/ringbuf.c: a reserve fails once the producer would run more than size - 1
    # bytes ahead of the consumer
    assert submitted == (size - 1) // FIXED_SLOT
    assert submitted + dropped == n
    seen = []
    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        assert rb.poll(0) == submitted
        # room again: the next records arrive, numbered after the dropped ones
        produce(obj, "rb_fixed", 10)
        assert rb.poll(0) == 10
    seqs = [check_fixed(r) for r in seen]
    assert seqs == list(range(submitted)) + list(range(n, n + 10))


@pytest.mark.parametrize("api", ["callback", "batch"])
def test_records_that_wrap_around_arrive_intact(load_events, api):
    size = 1 << 14            # 16 KiB: the positions go round the ring many times
    obj = load_events(SRC, sizes={"rb": size})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    seen = []
    rounds, per_round = 200, 40          # 40 records of at most 264 bytes fit in 16 KiB
    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        for _ in range(rounds):
            produce(obj, "rb_variable", per_round)
            if api == "callback":
                assert rb.consume() == per_round
            else:
                batch = rb.read_batch()
                assert batch.count == per_round
                assert list(batch.lengths) == [len(r) for r in batch]
                seen.extend(bytes(r) for r in batch)
    total = rounds * per_round
    assert u64s(obj.maps["stats"], 4) == [total, total, 0, 0]
    assert [check_var(r) for r in seen] == list(range(total))
    # where each record sat: some straddled the end of the ring (and so were read through
    # the second mapping of the data pages)
    pos, straddled = 0, 0
    for seq in range(total):
        slot = (var_size(seq) + 8 + 7) & ~7
        straddled += (pos % size) + slot > size
        pos += slot
    assert straddled > 50
    assert kernel_view(obj)[2:] == (pos, pos)


@pytest.mark.parametrize("api", ["callback", "batch"])
def test_discarded_records_are_skipped(load_events, api):
    n = 3000
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, discard_every=3, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    _, submitted, dropped, discarded = u64s(obj.maps["stats"], 4)
    assert (submitted, dropped, discarded) == (n - n // 3, 0, n // 3)
    seen = []
    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        if api == "callback":
            assert rb.consume() == submitted
        else:
            batch = rb.read_batch()
            assert batch.count == submitted and batch.stride == FIXED.size
            seen = list(batch)
        assert rb.rings[0].discarded == discarded
    assert [check_fixed(r) for r in seen] == [s for s in range(n) if s % 3 != 2]
    assert kernel_view(obj)[2] == n * FIXED_SLOT        # discarded space was released too


def test_several_ring_buffers_in_one_poller(load_events):
    n = 2000
    obj = load_events(SRC, sizes={"rb": 1 << 20, "rb2": 1 << 20})
    configure(obj, rings=2)         # default wakeups: the first record of each ring notifies
    even, odd = [], []
    with RingBuffer(obj.maps["rb"], even.append) as rb:
        rb.add(obj.maps["rb2"], odd.append)
        produce(obj, "rb_fixed", n)
        assert {r.index for r in rb.wait(0)} == {0, 1}
        assert rb.poll(1.0) == n
        assert rb.wait(0) == []
        assert rb.poll(0) == 0
    assert [check_fixed(r) for r in even] == list(range(0, n, 2))
    assert [check_fixed(r) for r in odd] == list(range(1, n, 2))


def test_epoll_wakes_a_waiting_poll(load_events):
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj)                              # default wakeup: notify a waiting consumer
    seen = []
    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        results = []
        waiter = threading.Thread(target=lambda: results.append(rb.poll(30.0)))
        waiter.start()
        time.sleep(0.2)
        produce(obj, "rb_fixed", 1)
        waiter.join(60)
        assert not waiter.is_alive()
        # 0 would mean the wait timed out instead of being woken by the kernel
        assert results[0] >= 1
        rb.consume()
    assert [check_fixed(r) for r in seen] == [0]


def test_fileno_works_with_selectors(load_events):
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj)
    seen = []
    with RingBuffer(obj.maps["rb"], seen.append) as rb, selectors.DefaultSelector() as sel:
        sel.register(rb.fileno(), selectors.EVENT_READ)
        assert sel.select(0) == []
        produce(obj, "rb_fixed", 3)
        assert len(sel.select(10)) == 1
        assert rb.consume() == 3
        assert sel.select(0) == []
    assert [check_fixed(r) for r in seen] == [0, 1, 2]


def test_fileno_works_with_asyncio(load_events):
    import asyncio

    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj)
    seen = []

    async def main(rb):
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.add_reader(rb.fileno(), ready.set)
        try:
            loop.call_later(0.1, produce, obj, "rb_fixed", 5)
            await asyncio.wait_for(ready.wait(), 30)
            return rb.consume()
        finally:
            loop.remove_reader(rb.fileno())

    with RingBuffer(obj.maps["rb"], seen.append) as rb:
        assert asyncio.run(main(rb)) == 5
    assert [check_fixed(r) for r in seen] == list(range(5))


# ------------------------------------------------------------------------------ semantics


def var_slot(seq):
    return (var_size(seq) + 8 + 7) & ~7


@pytest.mark.parametrize("prog", ["rb_fixed", "rb_variable"])
def test_consumer_position_is_published_per_chunk(load_events, prog):
    """Inside the callback of a record the kernel's consumer position is never past that
    record (no record is released to the producer before its callback ran) and lags it by
    at most one chunk (Ring.chunk bytes plus one record); the position moved during the pass
    (several chunks were published), and it is at the end after the pass."""
    n = 1500
    obj = load_events(SRC, sizes={"rb": 1 << 19})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, prog, n)
    assert u64s(obj.maps["stats"], 4)[1:3] == [n, 0]
    slot = (lambda seq: FIXED_SLOT) if prog == "rb_fixed" else var_slot
    check = check_fixed if prog == "rb_fixed" else check_var
    start = [0]
    for seq in range(n):
        start.append(start[-1] + slot(seq))
    seen = []

    def cb(raw):
        seen.append((check(raw), kernel_view(obj)[2]))

    with RingBuffer(obj.maps["rb"], cb) as rb:
        chunk = rb.rings[0].chunk
        assert rb.consume() == n
    assert [seq for seq, _ in seen] == list(range(n))
    for seq, published in seen:
        assert published <= start[seq]
        assert start[seq] - published <= chunk + 264 + 8
    assert len({published for _, published in seen}) > 2
    assert kernel_view(obj)[2] == start[n]


@pytest.mark.parametrize("n", [3, 100])     # a short run (record by record) and a long one
def test_callback_return_value_stops_consumption(load_events, n):
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    seen = []

    def cb(raw):
        seen.append(check_fixed(raw))
        return -7 if len(seen) == 2 else None

    with RingBuffer(obj.maps["rb"], cb) as rb:
        assert rb.consume() == -7
        assert seen == [0, 1]
        assert kernel_view(obj)[2] == 2 * FIXED_SLOT   # the stopping record was consumed
        rb.rings[0].callback = lambda raw: seen.append(check_fixed(raw))
        assert rb.poll(0) == n - 2
    assert seen == list(range(n))


@pytest.mark.parametrize("n", [3, 100])
def test_callback_exception_propagates_and_consumes_its_record(load_events, n):
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    seen = []

    def cb(raw):
        seq = check_fixed(raw)
        seen.append(seq)
        if seq == 1:
            raise KeyError("boom")

    with RingBuffer(obj.maps["rb"], cb) as rb:
        with pytest.raises(KeyError):
            rb.consume()
        assert kernel_view(obj)[2] == 2 * FIXED_SLOT
        assert rb.consume() == n - 2
    assert seen == list(range(n))


@pytest.mark.parametrize("at", [0, 1, 57, 299])
def test_callback_exception_mid_chunk_of_varying_lengths(load_events, at):
    """Records of varying lengths are handed over a chunk at a time: when the callback of
    record ``at`` raises, the consumer position is published right after that record (it
    counts as consumed, as in libbpf), not at the chunk's end, and the next pass starts
    with the record after it."""
    n = 300
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_variable", n)
    seen = []

    def cb(raw):
        seq = check_var(raw)
        seen.append(seq)
        if seq == at:
            raise KeyError("boom")

    with RingBuffer(obj.maps["rb"], cb) as rb:
        with pytest.raises(KeyError):
            rb.consume()
        assert seen == list(range(at + 1))
        assert rb.rings[0].records == at + 1
        assert kernel_view(obj)[2] == sum(var_slot(s) for s in range(at + 1))
        assert rb.rings[0].consumer_pos == kernel_view(obj)[2]
        assert rb.consume() == n - at - 1
        assert rb.rings[0].records == n
    assert seen == list(range(n))
    assert kernel_view(obj)[2] == sum(var_slot(s) for s in range(n))


@pytest.mark.parametrize("at", [0, 57, 299])
def test_callback_stop_mid_chunk_of_varying_lengths(load_events, at):
    n = 300
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_variable", n)
    seen = []

    def cb(raw):
        seen.append(check_var(raw))
        return "stop" if seen[-1] == at else None

    with RingBuffer(obj.maps["rb"], cb) as rb:
        assert rb.consume() == "stop"
        assert seen == list(range(at + 1))
        assert kernel_view(obj)[2] == sum(var_slot(s) for s in range(at + 1))
        rb.rings[0].callback = lambda raw: seen.append(check_var(raw))
        assert rb.poll(0) == n - at - 1
    assert seen == list(range(n))


def test_typed_records(load_events):
    n = 10
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    got = []
    with RingBuffer(obj.maps["rb"], got.append, type=FixedEvent) as rb:
        produce(obj, "rb_fixed", n)
        assert rb.consume() == n
    assert [(e.seq, e.magic, e.square, e.inverse) for e in got] == \
        [(s, MAGIC, s * s, ~s & M64) for s in range(n)]
    got.clear()
    with RingBuffer(obj.maps["rb"], got.append, type=FIXED) as rb:      # a struct.Struct
        produce(obj, "rb_fixed", n)
        assert rb.consume() == n
    assert [t[0] for t in got] == list(range(n, 2 * n))
    assert all(len(t) == 5 and t[2] == MAGIC for t in got)
    got.clear()
    with RingBuffer(obj.maps["rb"], got.append, type="=QIIQQ") as rb:   # a format string
        produce(obj, "rb_fixed", 2)
        assert rb.consume() == 2
    assert [t[0] for t in got] == [2 * n, 2 * n + 1]


def test_btf_typed_records(load_events, compile_bpf):
    """type=(btf, "struct fixed_event") with the object's own BTF: the ctypes layout comes
    from pybpf.btf when that module is present; without it, a clear NotSupportedError."""
    from pybpf.btf import BTF
    from pybpf.elf import ELFFile

    path = compile_bpf(SRC)
    with ELFFile.open(path) as elf:
        btf = BTF.parse(bytes(elf.section_by_name(".BTF").data))
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    try:
        import pybpf.btf.ctypes_view  # noqa: F401
    except ImportError:
        with pytest.raises(NotSupportedError):
            RingBuffer(obj.maps["rb"], print, type=(btf, "struct fixed_event"))
        return
    got = []
    with RingBuffer(obj.maps["rb"], got.append, type=(btf, "struct fixed_event")) as rb:
        produce(obj, "rb_fixed", 4)
        assert rb.consume() == 4
    assert [(e.seq, e.magic, e.square) for e in got] == [(s, MAGIC, s * s) for s in range(4)]
    with RingBuffer(obj.maps["rb"], got.append, type="struct fixed_event", btf=btf) as rb:
        produce(obj, "rb_fixed", 1)
        assert rb.consume() == 1
    assert got[-1].seq == 4


def test_record_shorter_than_the_type_is_an_error(load_events):
    class Big(ctypes.Structure):
        _fields_ = [("raw", ctypes.c_uint8 * 64)]

    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", 2)
    with RingBuffer(obj.maps["rb"], print, type=Big) as rb:
        with pytest.raises(InvalidArgumentError, match="32 bytes is shorter than Big"):
            rb.consume()


# ------------------------------------------------------------------------------ batches


def test_read_batch_into_a_preallocated_buffer(load_events):
    n = 1000
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    out = bytearray(FIXED.size * 300 + 7)       # room for 300 records (and a few spare bytes)
    with RingBuffer(obj.maps["rb"]) as rb:
        b1 = rb.read_batch(out)
        assert (b1.count, b1.nbytes, b1.stride, b1.length) == (300, 300 * FIXED.size, FIXED.size, FIXED.size)
        assert list(b1.offsets) == list(range(0, 300 * FIXED.size, FIXED.size))
        assert [check_fixed(r) for r in b1] == list(range(300))
        assert [e.seq for e in b1.as_ctypes(FixedEvent)] == list(range(300))
        assert kernel_view(obj)[2] == 300 * FIXED_SLOT       # published once, after the copy
        b2 = rb.read_batch(out, max_records=250)
        assert [t[0] for t in struct.iter_unpack(FIXED.format, out[:b2.nbytes])] == list(range(300, 550))
        b3 = rb.read_batch()
        assert [check_fixed(r) for r in b3] == list(range(550, n))
        assert rb.read_batch().count == 0
        produce(obj, "rb_fixed", 1)
        with pytest.raises(NoSpaceError):
            rb.read_batch(bytearray(16))
        with pytest.raises(InvalidArgumentError):
            rb.read_batch(bytes(64))
    assert kernel_view(obj)[0] == FIXED_SLOT


def test_read_batch_keeping_headers(load_events):
    """headers=True copies the ring's bytes as they are: each record after its 8-byte header
    (the length word, then the page offset), discarded records' bytes included but not
    listed; one copy for the whole range."""
    np = pytest.importorskip("numpy")
    n = 500
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, discard_every=10, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    with RingBuffer(obj.maps["rb"]) as rb:
        batch = rb.read_batch(bytearray(1 << 20), headers=True)
    expected = [s for s in range(n) if s % 10 != 9]
    assert batch.count == len(expected) and batch.length == FIXED.size
    assert batch.nbytes == n * FIXED_SLOT
    assert list(batch.offsets) == [8 + s * FIXED_SLOT for s in expected]
    assert [check_fixed(r) for r in batch] == expected
    for s in range(n):
        word = struct.unpack_from("=I", batch.buffer, s * FIXED_SLOT)[0]
        assert word == FIXED.size | (DISCARD_BIT if s % 10 == 9 else 0)
    assert batch.stride is None and batch.runs()[0] == (8, 9, FIXED.size, FIXED_SLOT)
    first = batch.runs()[1]
    view = np.ndarray((first[1],), np.dtype("<u8"), buffer=batch.buffer, offset=first[0],
                      strides=(first[3],))
    assert view.tolist() == expected[9:18]


def test_batch_numpy_views(load_events):
    np = pytest.importorskip("numpy")
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    dtype = np.dtype([("seq", "<u8"), ("cpu", "<u4"), ("magic", "<u4"), ("square", "<u8"),
                      ("inverse", "<u8")])
    with RingBuffer(obj.maps["rb"]) as rb:
        produce(obj, "rb_fixed", 100)
        packed = rb.read_batch()
        produce(obj, "rb_fixed", 100)
        raw = rb.read_batch(headers=True)
        assert raw.stride == FIXED_SLOT and packed.stride == FIXED.size
        assert packed.as_numpy(dtype)["seq"].tolist() == list(range(100))
        assert raw.as_numpy(dtype)["seq"].tolist() == list(range(100, 200))
        assert (raw.as_numpy(dtype)["square"] == raw.as_numpy(dtype)["seq"] ** 2).all()
        with pytest.raises(InvalidArgumentError):
            raw.as_ctypes(FixedEvent)               # not back to back
        with pytest.raises(InvalidArgumentError):
            packed.as_numpy(np.dtype((np.uint8, 64)))   # records are only 32 bytes


def test_read_batch_mixed_lengths(load_events):
    n = 300
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_variable", n)
    with RingBuffer(obj.maps["rb"]) as rb:
        batch = rb.read_batch(bytearray(1 << 20))
    assert batch.count == n and batch.stride is None
    assert list(batch.lengths) == [var_size(s) for s in range(n)]
    offsets = list(batch.offsets)
    assert offsets[0] == 0 and all(o % 8 == 0 for o in offsets)
    assert [check_var(batch[i]) for i in range(n)] == list(range(n))
    assert check_var(batch[-1]) == n - 1


def test_read_array_numpy(load_events):
    np = pytest.importorskip("numpy")
    n = 5000
    obj = load_events(SRC, sizes={"rb": 1 << 20})
    configure(obj, discard_every=7, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_fixed", n)
    dtype = np.dtype([("seq", "<u8"), ("cpu", "<u4"), ("magic", "<u4"), ("square", "<u8"),
                      ("inverse", "<u8")])
    with RingBuffer(obj.maps["rb"], type=FixedEvent) as rb:
        a = rb.read_array(dtype, max_records=1000)
        b = rb.read_array()                     # dtype from the ring's ctypes type
        out = np.zeros(10, dtype)
        c = rb.read_array(dtype, out=out)
    expected = [s for s in range(n) if s % 7 != 6]
    assert len(a) == 1000 and a["seq"].tolist() == expected[:1000]
    assert b["seq"].tolist() == expected[1000:]
    assert (a["square"] == a["seq"] * a["seq"]).all() and (a["magic"] == MAGIC).all()
    assert len(c) == 0


def test_read_array_rejects_other_lengths(load_events):
    np = pytest.importorskip("numpy")
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    configure(obj, wakeup=BPF_RB_NO_WAKEUP)
    produce(obj, "rb_variable", 3)
    with RingBuffer(obj.maps["rb"]) as rb:
        with pytest.raises(InvalidArgumentError, match="does not match dtype"):
            rb.read_array(np.dtype("<u8"))


# ------------------------------------------------------------------------------ libbpf


def _libbpf():
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        return ctypes.CDLL(name)
    except OSError:
        skip_or_fail("libbpf.so.1 is not installed (the differential oracle)")


def test_same_records_as_libbpf(load_events, pin_cpu):
    """The same producer run twice (sequence reset in between): libbpf's ring_buffer__consume
    reads the first, pybpf the second; variable sizes, discards, wrap-around included. On one
    CPU, so that the records (which carry the CPU number) are identical."""
    lib = _libbpf()
    cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
    lib.ring_buffer__new.restype = ctypes.c_void_p
    lib.ring_buffer__new.argtypes = [ctypes.c_int, cb_type, ctypes.c_void_p, ctypes.c_void_p]
    lib.ring_buffer__consume.argtypes = [ctypes.c_void_p]
    lib.ring_buffer__free.argtypes = [ctypes.c_void_p]

    obj = load_events(SRC, sizes={"rb": 1 << 14})
    configure(obj, discard_every=5, wakeup=BPF_RB_NO_WAKEUP)
    fd = obj.maps["rb"].fileno()

    def run(consume):
        set_u64s(obj.maps["stats"], [0, 0, 0, 0])
        for _ in range(30):
            produce(obj, "rb_variable", 25)
            produce(obj, "rb_fixed", 10)
            consume()

    ref = []

    @cb_type
    def on_sample(ctx, data, size):
        ref.append(ctypes.string_at(data, size))
        return 0

    rb_c = lib.ring_buffer__new(fd, on_sample, None, None)
    assert rb_c
    try:
        run(lambda: lib.ring_buffer__consume(rb_c))
    finally:
        lib.ring_buffer__free(rb_c)
    mine = []
    with RingBuffer(obj.maps["rb"], mine.append) as rb:
        run(rb.consume)
    assert len(ref) == 30 * (25 + 8)      # every fifth record is discarded
    assert mine == ref


# ------------------------------------------------------------------------------ lifecycle


def test_errors_and_close(load_events):
    obj = load_events(SRC, sizes={"rb": 1 << 16})
    with pytest.raises(InvalidArgumentError, match="not a ringbuf map"):
        RingBuffer(obj.maps["stats"], print)
    rb = RingBuffer(obj.maps["rb"].fileno(), print)        # a plain descriptor (dup'ed, owned)
    assert rb.rings[0].size == 1 << 16
    rb.close()
    rb.close()
    assert rb.closed
    with pytest.raises(ClosedError):
        rb.consume()
    with pytest.raises(ClosedError):
        rb.fileno()
    with pytest.raises(ClosedError):
        rb.rings[0].read_batch()
    with RingBuffer(obj.maps["rb"]) as rb2:
        with pytest.raises(InvalidArgumentError, match="no callback"):
            rb2.rings[0].consume()
        with pytest.raises(InvalidArgumentError):
            rb2.read_batch(ring=3)
    assert not obj.maps["rb"].closed                 # the caller's map stays open
