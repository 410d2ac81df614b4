"""Batch reads (``read_batch``) of records of mixed sizes against the live kernel.

The producer (inline BPF C below, driven by BPF_PROG_TEST_RUN) follows a plan the test writes
into an array map: for the n-th run, output a record of ``plan[n]`` bytes with
``bpf_ringbuf_output`` (its first 8 bytes the run number, the rest a fixed pattern the test also
wrote), or, with the top bit set, reserve a record and discard it. Sizes run from 0 to past
64 KiB (the longest the header walk handles) between small records, and the ring is small
enough that records straddle its end. Oracles: the plan and pattern (what the kernel's producer
wrote: payload bytes and lengths), the producer's count of failed outputs (must be 0), and the
kernel's own consumer position (``bpf_ringbuf_query(BPF_RB_CONS_POS)``) after each batch,
compared with the position computed from the kernel's record layout (8-byte header, length
rounded up to 8).

A BUSY record cannot be left in a kernel ring by a test (the verifier makes a program submit or
discard what it reserves before it returns); the BUSY stop is checked on rings laid out by hand
in test_ring_format.py.
"""

from __future__ import annotations

import random
import struct

import pytest

from pybpf.errors import NoSpaceError
from pybpf.events import RingBuffer
from pybpf.events.batch import WALK_MAX_LENGTH

from tests.events.conftest import XDP_IN, key

pytestmark = pytest.mark.kernel

RING = 1 << 18              # 256 KiB
SRC_SIZE = 80_000           # longest record the producer can output
PLAN = 4096
DISCARD = 1 << 31

SOURCE = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SRC_SIZE %(src)d
#define PLAN %(plan)d

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, PLAN);
         __type(key, __u32); __type(value, __u32); } plan SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u64); } state SEC(".maps");
struct src { __u8 bytes[SRC_SIZE]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, struct src); } src SEC(".maps");

/* state[0]: next run number, state[1]: failed outputs/reserves, state[2]: consumer position */
SEC("xdp")
int rb_planned(struct xdp_md *ctx)
{
	__u32 zero = 0, one = 1, idx;
	__u64 *seqp = bpf_map_lookup_elem(&state, &zero);
	__u64 *failed = bpf_map_lookup_elem(&state, &one);
	struct src *s = bpf_map_lookup_elem(&src, &zero);
	__u32 *entry, size;
	__u64 seq, *rec;

	if (!seqp || !failed || !s)
		return XDP_ABORTED;
	seq = (*seqp)++;
	idx = seq %% PLAN;
	entry = bpf_map_lookup_elem(&plan, &idx);
	if (!entry)
		return XDP_ABORTED;
	if (*entry & 0x80000000) {
		rec = bpf_ringbuf_reserve(&rb, 40, 0);
		if (!rec) {
			(*failed)++;
			return XDP_PASS;
		}
		*rec = seq;
		bpf_ringbuf_discard(rec, 0);
		return XDP_PASS;
	}
	size = *entry;
	if (size > SRC_SIZE)
		return XDP_ABORTED;
	*(__u64 *)s->bytes = seq;
	if (bpf_ringbuf_output(&rb, s, size, 0))
		(*failed)++;
	return XDP_PASS;
}

SEC("xdp")
int rb_cons_pos(struct xdp_md *ctx)
{
	__u32 two = 2;
	__u64 *v = bpf_map_lookup_elem(&state, &two);

	if (v)
		*v = bpf_ringbuf_query(&rb, BPF_RB_CONS_POS);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
""" % {"src": SRC_SIZE, "plan": PLAN}

_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
PATTERN = bytes((i * 7 + 3) & 0xFF for i in range(SRC_SIZE))


def slot(length: int) -> int:
    """Bytes a record of ``length`` takes in the ring (kernel/bpf/ringbuf.c)."""
    return (length + 8 + 7) & ~7


class Producer:
    """The loaded producer and what it was told to write."""

    def __init__(self, obj) -> None:
        self.obj = obj
        obj.maps["src"].update(key(0), PATTERN)
        self.seq = 0
        self.written: list[tuple[int, bytes | None]] = []     # (ring bytes, payload or None)

    def run(self, entries: list[int]) -> None:
        """Produce one record per entry (a size, or DISCARD)."""
        assert len(entries) <= PLAN
        for i, e in enumerate(entries):
            self.obj.maps["plan"].update(key((self.seq + i) % PLAN), _U32.pack(e))
        self.obj.progs["rb_planned"].test_run(XDP_IN, repeat=len(entries))
        for e in entries:
            if e & DISCARD:
                self.written.append((slot(40), None))
            else:
                payload = (_U64.pack(self.seq) + PATTERN[8:e])[:e]
                self.written.append((slot(e), payload))
            self.seq += 1
        assert self.state(0) == self.seq and self.state(1) == 0     # every output succeeded

    def state(self, i: int) -> int:
        return _U64.unpack(self.obj.maps["state"].lookup(key(i)))[0]

    def kernel_consumer_pos(self) -> int:
        self.obj.progs["rb_cons_pos"].test_run(XDP_IN)
        return self.state(2)


@pytest.fixture
def producer(load_events, compile_bpf):
    obj = load_events_inline(load_events, compile_bpf)
    return Producer(obj)


def load_events_inline(load_events, compile_bpf):
    from tests.events.loader import load

    path = compile_bpf(source=SOURCE, name="events_ringbatch")
    obj = load(path, sizes={"rb": RING})
    # closed by the test through the fixture below
    _LOADED.append(obj)
    return obj


_LOADED: list = []


@pytest.fixture(autouse=True)
def _close_loaded():
    yield
    while _LOADED:
        _LOADED.pop().close()


def expected_batch(written, start, cap, max_records, headers):
    """(payloads, consumer position after) for one batch read from record ``start`` of
    ``written``: records taken in order while they fit in ``cap`` bytes of ``out`` (packed:
    each its length rounded up to 8; with headers: its whole slot, discarded ones too) and
    ``max_records`` allows; discarded records are skipped (and consumed when reached)."""
    got, used, pos, i = [], 0, 0, start
    while i < len(written) and len(got) != max_records:
        room, payload = written[i]
        need = room if headers else (0 if payload is None else room - 8)
        if used + need > cap:
            break
        used += need
        pos += room
        if payload is not None:
            got.append(payload)
        i += 1
    return got, pos, i


LONG = [WALK_MAX_LENGTH, WALK_MAX_LENGTH + 1, WALK_MAX_LENGTH + 7, SRC_SIZE]


def mixed_round(rng: random.Random, n: int, big: list[int] = [], discard_every: int = 0) -> list[int]:
    """``n`` records of mixed small sizes (0-300 bytes), every ``discard_every``-th discarded,
    with records of the lengths ``big`` (up to and past the longest the header walk handles)
    inserted at random places among them."""
    entries = [rng.randrange(0, 301) for _ in range(n)]
    if discard_every:
        for i in range(discard_every - 1, n, discard_every):
            entries[i] = DISCARD
    for length in big:
        entries.insert(rng.randrange(1, len(entries)), length)
    return entries


@pytest.mark.parametrize("headers", [False, True])
def test_mixed_sizes_wrapping_with_discards_and_long_records(producer, headers):
    """Rounds of mixed-size records (discarded ones in the middle, records over 64 KiB between
    small ones) that go round the 256 KiB ring several times; each round drained by one
    read_batch: the payloads and lengths the producer wrote, in order, and the kernel sees the
    consumer position right after the last record."""
    rng = random.Random(1)
    taken, pos, straddled = 0, 0, 0
    with RingBuffer(producer.obj.maps["rb"]) as rb:
        for r in range(12):
            producer.run(mixed_round(rng, 400, big=LONG[r % 4: r % 4 + r % 3],
                                      discard_every=5 + r % 4))
            batch = rb.read_batch(headers=headers)
            want, moved, taken_to = expected_batch(producer.written, taken, 1 << 40, None, headers)
            assert [bytes(rec) for rec in batch] == want
            assert list(batch.lengths) == [len(p) for p in want]
            assert batch.count == len(want) and len(want) > 300
            # the layout in out: packed, each record at the previous one's end rounded up to
            # 8; with headers, the ring's bytes from the first record on (discarded ones too)
            offsets, at = [], 0
            for room, payload in producer.written[taken:taken_to]:
                if payload is not None:
                    offsets.append(at + 8 if headers else at)
                    at += room if headers else room - 8
                elif headers:
                    at += room
            assert list(batch.offsets) == offsets and batch.nbytes == at
            assert [bytes(batch.buffer[o: o + len(p)]) for o, p in zip(offsets, want)] == want
            for room, _ in producer.written[taken:taken_to]:
                straddled += (pos % RING) + room > RING
                pos += room
            taken = taken_to
            assert producer.kernel_consumer_pos() == pos
            assert rb.rings[0].consumer_pos == pos
    assert pos > 3 * RING and straddled >= 3


def test_mixed_sizes_batches_limited_by_out_and_max_records(producer):
    """Batches cut short by the output buffer's size and by max_records, at any record (a
    long one included): exactly the records that fit, and the consumer position right after
    the last record taken (or the discarded records consumed after it)."""
    rng = random.Random(2)
    producer.run(mixed_round(rng, 800, big=[SRC_SIZE], discard_every=7))
    taken = 0
    consumed = 0
    with RingBuffer(producer.obj.maps["rb"]) as rb:
        limits = [(4096, None), (1 << 20, 37), (100_000, None), (333, 5), (1 << 20, 1),
                  (72_000, None), (1 << 20, None)]
        for cap, max_records in limits:
            headers = cap == 100_000
            want, moved, taken_to = expected_batch(producer.written, taken, cap, max_records,
                                                   headers)
            if not want and taken_to < len(producer.written):
                # the next record does not fit at all: refused, discarded ones before it
                # consumed
                with pytest.raises(NoSpaceError):
                    rb.read_batch(bytearray(cap), max_records, headers=headers)
                consumed += moved
                taken = taken_to
                assert producer.kernel_consumer_pos() == consumed
                continue
            batch = rb.read_batch(bytearray(cap), max_records, headers=headers)
            assert [bytes(rec) for rec in batch] == want
            assert batch.nbytes <= cap
            consumed += moved
            taken = taken_to
            assert producer.kernel_consumer_pos() == consumed
        assert taken == len(producer.written)
