"""The consumer's reading of the ring buffer format, on rings built by hand.

Kernel producers never leave a record BUSY for long, and user space cannot write into a
kernel ring's data pages, so the corner cases of the format (BUSY stopping the pass, DISCARD,
8-byte rounding, runs interrupted at any point, records straddling the end of the ring) are
also checked here on an anonymous mapping laid out exactly as kernel/bpf/ringbuf.c lays out a
ring: consumer page, producer page, and the data pages twice in a row. The expected result is
computed from the records written, independently of the consumer's code.
"""

from __future__ import annotations

import mmap
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pybpf.errors import InvalidArgumentError, NoSpaceError

from pybpf.events.decode import record_type
from pybpf.events.ringbuf import BUSY_BIT, CHUNK_BYTES, DISCARD_BIT, Ring
from pybpf.sys.mmaps import PAGE_SIZE


class _FakeMap:
    def _label(self) -> str:
        return "fake ring"

    def fileno(self) -> int:
        return -1

    closed = False


def make_ring(records, size, start=0, chunk=None):
    """A Ring over anonymous memory holding ``records``: (length, flag) with flag one of
    "ok", "discard", "busy"; the first record at position ``start``. Returns (ring, expected
    payloads delivered, expected consumer position after one pass)."""
    data = bytearray(size)
    pos = start
    expected, stop = [], None
    for i, (length, flag) in enumerate(records):
        slot = (length + 8 + 7) & ~7
        assert pos + slot - start <= size - 1
        payload = bytes((i * 31 + j) & 0xFF for j in range(length))
        hdr = length | {"ok": 0, "discard": DISCARD_BIT, "busy": BUSY_BIT}[flag]
        raw = struct.pack("=II", hdr, 0) + payload
        for j, b in enumerate(raw):
            data[(pos + j) % size] = b
        if stop is None:
            if flag == "busy":
                stop = pos
            elif flag == "ok":
                expected.append(payload)
        pos += slot
    ring = object.__new__(Ring)
    ring.map = _FakeMap()
    ring.index = 0
    ring.callback = None
    ring.type = record_type(None)
    ring.records = ring.discarded = 0
    ring._owned = False
    ring.size = size
    ring._mask = size - 1
    ring.chunk = chunk if chunk is not None else max(8, min(CHUNK_BYTES, size // 8))
    ring.what = "fake ring"
    ring._cons = mmap.mmap(-1, PAGE_SIZE)
    ring._prod = mmap.mmap(-1, PAGE_SIZE + 2 * size)
    ring._prod[PAGE_SIZE:] = bytes(data) * 2
    struct.pack_into("=Q", ring._cons, 0, start)
    struct.pack_into("=Q", ring._prod, 0, pos)
    ring._cons_q = memoryview(ring._cons).cast("Q")
    ring._prod_b = memoryview(ring._prod)
    ring._prod_q = ring._prod_b.cast("Q")
    ring._hdr = ring._prod_b.cast("I")
    return ring, expected, (stop if stop is not None else pos)


records_strategy = st.lists(
    st.tuples(st.sampled_from([0, 1, 7, 8, 12, 16, 24, 33, 40, 40, 40, 40, 40, 100]),
              st.sampled_from(["ok"] * 8 + ["discard", "busy"])),
    max_size=60)


@settings(max_examples=300, deadline=None)
@given(records_strategy, st.integers(0, 4095), st.sampled_from([None, 8, 24, 64, 200]))
def test_callback_pass_matches_the_format(records, start_slot, chunk):
    size = 8192
    ring, expected, end = make_ring(records, size, start=start_slot * 8 * 1000, chunk=chunk)
    got = []
    ring.callback = got.append
    try:
        n, stop = ring._consume()
        assert (n, stop) == (len(expected), None)
        assert got == expected
        assert ring._cons_q[0] == end
    finally:
        ring.close()


def expected_batch(records, cap, max_records, headers):
    """What a batch read must return: (payload indices, raises NoSpaceError), from the format
    rules: packed records take their length rounded up to 8 in ``out``; with headers every
    slot (discarded ones too) takes its whole size."""
    got, used = [], 0
    for i, (length, flag) in enumerate(records):
        if flag == "busy" or len(got) == max_records:
            break
        slot = (length + 8 + 7) & ~7
        need = slot if headers else ((length + 7) & ~7 if flag == "ok" else 0)
        if used + need > cap:
            if not got and flag == "ok" and (headers and used == 0 or not headers):
                return got, True
            break
        used += need
        if flag == "ok":
            got.append(i)
    return got, False


@settings(max_examples=300, deadline=None)
@given(records_strategy, st.integers(0, 4095), st.integers(1, 70), st.booleans(),
       st.integers(0, 2000))
def test_batch_pass_matches_the_format(records, start_slot, max_records, headers, cap):
    size = 8192
    ring, expected, end = make_ring(records, size, start=start_slot * 8 * 1000)
    ok_index = [i for i, (_, flag) in enumerate(records) if flag == "ok"]
    payload = dict(zip(ok_index, expected + [None] * len(ok_index)))
    want, raises = expected_batch(records, cap, max_records, headers)
    try:
        if raises:
            with pytest.raises(NoSpaceError):
                ring.read_batch(bytearray(cap), max_records=max_records, headers=headers)
            return
        batch = ring.read_batch(bytearray(cap), max_records=max_records, headers=headers)
        assert [bytes(r) for r in batch] == [payload[i] for i in want]
        assert list(batch.lengths) == [records[i][0] for i in want]
        assert batch.nbytes <= cap
        if max_records > len(expected) and cap >= size:   # else trailing discards may remain
            assert ring._cons_q[0] == end
    finally:
        ring.close()


def test_uniform_run_interrupted_by_busy_and_discard():
    recs = [(40, "ok")] * 37 + [(40, "discard")] + [(40, "ok")] * 20 + [(40, "busy")] + [(40, "ok")] * 5
    ring, expected, end = make_ring(recs, 8192, start=8192 - 40 * 3)
    got = []
    ring.callback = got.append
    try:
        assert ring.consume() == 57
        assert got == expected
        assert ring._cons_q[0] == end
        assert ring.discarded == 1
    finally:
        ring.close()


def record_ends(records, start):
    """Position right after each record (in ring order), computed from the format."""
    ends, pos = [], start
    for length, _flag in records:
        pos += (length + 8 + 7) & ~7
        ends.append(pos)
    return ends


class Boom(Exception):
    pass


@settings(max_examples=300, deadline=None)
@given(records_strategy, st.integers(0, 4095), st.sampled_from([None, 8, 64, 200]), st.data(),
       st.booleans())
def test_callback_raising_or_stopping_mid_pass(records, start_slot, chunk, data, stop):
    """A callback that raises (or returns a stop value) at the i-th record: records up to it
    were delivered once, the consumer position is published right after it (wherever it sits
    in a chunk or a run), and the next pass delivers the rest."""
    size = 8192
    start = start_slot * 8 * 1000
    ring, expected, end = make_ring(records, size, start=start, chunk=chunk)
    if not expected:
        ring.close()
        return
    at = data.draw(st.integers(0, len(expected) - 1))
    ok = [i for i, (_, flag) in enumerate(records) if flag == "ok"]
    got = []

    def cb(raw):
        got.append(raw)
        if len(got) == at + 1:
            if stop:
                return -1
            raise Boom()
        return None

    ring.callback = cb
    try:
        if stop:
            assert ring.consume() == -1
        else:
            with pytest.raises(Boom):
                ring.consume()
        assert got == expected[:at + 1]
        assert ring._cons_q[0] == record_ends(records, start)[ok[at]]
        assert ring.records == at + 1
        got.clear()
        ring.callback = got.append
        assert ring.consume() == len(expected) - at - 1
        assert got == expected[at + 1:]
        assert ring._cons_q[0] == end
    finally:
        ring.close()


def test_records_too_long_to_walk_go_one_by_one():
    """Records longer than the header walk handles (WALK_MAX_LENGTH) between shorter ones."""
    from pybpf.events.batch import WALK_MAX_LENGTH

    recs = [(40, "ok"), (WALK_MAX_LENGTH + 9, "ok"), (12, "ok"), (33, "ok"),
            (WALK_MAX_LENGTH + 100, "ok"), (40, "ok"), (40, "ok"), (40, "ok"), (40, "ok"),
            (7, "discard"), (WALK_MAX_LENGTH + 1, "busy")]
    size = 1 << 18
    ring, expected, end = make_ring(recs, size, start=size - 100)
    got = []
    ring.callback = got.append
    try:
        assert ring.consume() == len(expected) == 9
        assert got == expected
        assert ring._cons_q[0] == end
        assert ring.discarded == 1
    finally:
        ring.close()


@pytest.mark.parametrize("chunk", [None, 16])
def test_typed_record_too_short_mid_chunk(chunk):
    """With a record type, a record shorter than the type stops the pass with an error after
    the records before it were delivered; it counts as consumed, the next pass goes on."""
    rtype = record_type(struct.Struct("=QQ"))
    recs = [(40, "ok"), (24, "ok"), (16, "ok"), (15, "ok"), (40, "ok")]
    ring, expected, end = make_ring(recs, 8192, start=8192 - 48, chunk=chunk)
    ring.type = rtype
    got = []
    ring.callback = got.append
    try:
        with pytest.raises(InvalidArgumentError, match="15 bytes is shorter"):
            ring.consume()
        assert got == [rtype.struct.unpack_from(p) for p in expected[:3]]
        assert ring._cons_q[0] == record_ends(recs, 8192 - 48)[3]
        assert ring.consume() == 1
        assert got[-1] == rtype.struct.unpack_from(expected[4])
        assert ring._cons_q[0] == end
    finally:
        ring.close()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1 << 32), st.integers(0, (1 << 19) // 8 - 1), st.booleans(),
       st.sampled_from([None, 1, 999, 2500]), st.sampled_from([1 << 20, 70_000, 9000]))
def test_long_mixed_batch_matches_the_format(seed, start_slot, headers, max_records, cap):
    """Thousands of records of mixed lengths (several walked stretches), discarded ones in
    the middle, records longer than the header walk handles between short ones, a BUSY record
    near the end, the whole straddling the end of the ring: one batch read takes exactly what
    the format rules say, and the consumer position lands right after it."""
    import random

    from pybpf.events.batch import WALK_MAX_LENGTH

    rng = random.Random(seed)
    recs = [(rng.randrange(0, 120), "discard" if rng.random() < 0.05 else "ok")
            for _ in range(3000)]
    for _ in range(2):
        recs.insert(rng.randrange(1, len(recs)), (rng.choice([WALK_MAX_LENGTH, WALK_MAX_LENGTH + 1,
                                                               WALK_MAX_LENGTH + 60]), "ok"))
    recs.insert(len(recs) - rng.randrange(1, 50), (rng.randrange(0, 100), "busy"))
    size = 1 << 19
    start = start_slot * 8
    ring, expected, end = make_ring(recs, size, start=start)
    ok_index = [i for i, (_, flag) in enumerate(recs) if flag == "ok"]
    payload = dict(zip(ok_index, expected + [None] * len(ok_index)))
    want, raises = expected_batch(recs, cap, max_records, headers)
    try:
        if raises:
            with pytest.raises(NoSpaceError):
                ring.read_batch(bytearray(cap), max_records=max_records, headers=headers)
            return
        batch = ring.read_batch(bytearray(cap), max_records=max_records, headers=headers)
        assert batch.count == len(want)
        assert [bytes(r) for r in batch] == [payload[i] for i in want]
        assert list(batch.lengths) == [recs[i][0] for i in want]
        assert batch.nbytes <= cap
        if want:
            # the position right after the last record taken, or past the discarded records
            # after it up to the next record that did not fit, the BUSY one or max_records
            ends = record_ends(recs, start)
            pos = ring._cons_q[0]
            assert pos >= ends[want[-1]]
            assert all(flag == "discard" for _, flag in
                       (recs[i] for i in range(want[-1] + 1, len(recs)) if ends[i] <= pos))
        if max_records is None and cap >= 1 << 20:
            assert ring._cons_q[0] == end
    finally:
        ring.close()
