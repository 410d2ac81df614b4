"""UserRingBuffer against the live kernel: samples written from Python, drained by a BPF
program with bpf_user_ringbuf_drain() (tests/progs/events_user_ringbuf.bpf.c).

Oracles: what the draining program saw (each sample's header, a checksum of its payload, and
whether the kernel handed it over with exactly the size written), and the drain's return
value (the number of samples it consumed), all recorded in maps by the program.
"""

from __future__ import annotations

import struct
import threading

import pytest

from pybpf.errors import ClosedError, InvalidArgumentError, NoSpaceError
from pybpf.events import UserRingBuffer

from tests.events.conftest import XDP_IN, key

pytestmark = pytest.mark.kernel

SRC = "events_user_ringbuf.bpf.c"
HEADER = struct.Struct("=II")          # len, seq
SEEN = struct.Struct("=IIQII")         # len, seq, checksum, size_ok, pad
STATE = struct.Struct("=q")
COUNT, LAST_RET, CALLS = range(3)


def payload(seq, n):
    return bytes((seq * 7 + i) & 0xFF for i in range(n))


def sample(seq, n):
    return HEADER.pack(n, seq) + payload(seq, n)


def checksum(data):
    return sum(b * (i + 1) for i, b in enumerate(data))


def drain(obj):
    obj.progs["drain"].test_run(XDP_IN)


def state(obj):
    return [STATE.unpack(obj.maps["state"].lookup(key(i)))[0] for i in range(3)]


def seen(obj):
    out = []
    for i in range(state(obj)[COUNT]):
        ln, seq, csum, size_ok, _ = SEEN.unpack(obj.maps["seen"].lookup(key(i)))
        out.append((seq, ln, csum, size_ok))
    return out


def expected(seqs_lens):
    return [(s, n, checksum(payload(s, n)), 1) for s, n in seqs_lens]


def test_samples_reach_the_program(load_events):
    obj = load_events(SRC)
    items = [(s, (s * 13) % 65) for s in range(40)]        # lengths 0..64, not multiples of 8
    with UserRingBuffer(obj.maps["urb"]) as urb:
        for s, n in items[:20]:
            urb.write(sample(s, n))
        drain(obj)
        assert state(obj)[LAST_RET] == 20
        for s, n in items[20:]:
            smp = urb.reserve(8 + n)
            smp.data[:] = sample(s, n)
            smp.submit()
        drain(obj)
        assert state(obj)[LAST_RET] == 20
        assert urb.avail == urb.size
    assert seen(obj) == expected(items)


def test_wrapping_samples(load_events):
    """Many rounds through a 4 KiB ring: samples straddle its end (written through the
    second mapping of the data pages)."""
    obj = load_events(SRC)
    total = 0
    with UserRingBuffer(obj.maps["urb"]) as urb:
        for rnd in range(6):
            batch = [(total + i, (total + i) * 11 % 65) for i in range(40)]
            for s, n in batch:
                urb.write(sample(s, n))
            drain(obj)
            total += len(batch)
            assert state(obj)[COUNT] == total
    got = seen(obj)
    assert got == expected([(s, s * 11 % 65) for s in range(total)])


def test_discarded_and_out_of_order_samples(load_events):
    obj = load_events(SRC)
    with UserRingBuffer(obj.maps["urb"]) as urb:
        a = urb.reserve(8 + 3)
        b = urb.reserve(8 + 5)
        c = urb.reserve(8 + 7)
        b.data[:] = sample(1, 5)
        b.discard()
        c.data[:] = sample(2, 7)
        c.submit()
        drain(obj)                     # a is still BUSY: the kernel stops there
        assert state(obj)[LAST_RET] == 0 and seen(obj) == []
        a.data[:] = sample(0, 3)
        a.submit()
        drain(obj)
        assert state(obj)[LAST_RET] == 2           # samples handed to the callback (not b)
        with pytest.raises(InvalidArgumentError, match="already"):
            a.submit()
    assert seen(obj) == expected([(0, 3), (2, 7)])


def test_full_ring_and_oversized_samples(load_events):
    obj = load_events(SRC)
    with UserRingBuffer(obj.maps["urb"]) as urb:
        with pytest.raises(NoSpaceError) as e2big:
            urb.reserve(4096)                       # with its header it can never fit
        assert e2big.value.errno == 7              # E2BIG
        n = 0
        while True:
            try:
                urb.write(sample(n, 56))            # 64-byte samples, 72 bytes in the ring
            except NoSpaceError as exc:
                assert exc.errno == 28             # ENOSPC
                break
            n += 1
        assert n == 4096 // 72
        with pytest.raises(NoSpaceError):
            urb.reserve_blocking(64, timeout=0.1)   # nobody drains: times out
        drain(obj)
        urb.write(sample(n, 56))
        drain(obj)
    assert seen(obj) == expected([(s, 56) for s in range(n + 1)])


def test_blocking_reserve_waits_for_a_drain(load_events):
    obj = load_events(SRC)
    with UserRingBuffer(obj.maps["urb"]) as urb:
        n = 0
        while urb.avail >= 72:
            urb.write(sample(n, 56))
            n += 1
        drainer = threading.Timer(0.3, drain, (obj,))
        drainer.start()
        try:
            smp = urb.reserve_blocking(64, timeout=30)
        finally:
            drainer.join()
        smp.data[:] = sample(n, 56)
        smp.submit()
        drain(obj)
    assert seen(obj) == expected([(s, 56) for s in range(n + 1)])


def test_errors_and_close(load_events):
    obj = load_events(SRC)
    with pytest.raises(InvalidArgumentError, match="not a user_ringbuf map"):
        UserRingBuffer(obj.maps["seen"])
    urb = UserRingBuffer(obj.maps["urb"])
    other = UserRingBuffer(obj.maps["urb"].fileno())
    smp = urb.reserve(8)
    with pytest.raises(InvalidArgumentError, match="another"):
        other.submit(smp)
    other.close()
    urb.close()
    urb.close()
    with pytest.raises(ClosedError):
        urb.reserve(8)
