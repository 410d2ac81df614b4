"""Many records at once: :class:`RecordBatch` and the copy routines behind it.

A batch read copies records out of a ring into a caller-supplied buffer, headers stripped,
each record starting at an 8-byte-aligned offset right after the previous one (the record's
length rounded up to 8, as in the ring). Runs of equally long records — the usual case, one
C struct per ring — are located by comparing headers with strided ``memoryview`` comparisons
and copied with a handful of strided slice assignments (one per 8-byte column of the record,
or one per record when records are wider than the run is long): the work per record happens
in C, not in the interpreter. Records of varying lengths are walked a stretch of ring at a time
(:func:`walk_lengths`: the chain of headers followed by C iterators feeding on their own
output), and the stretch is cut into records, padding kept, by one ``struct`` format built for
it (:data:`PADDED_FORMATS`; the format's size is the ring bytes the stretch takes), joined and
copied at once. Offsets and lengths are kept as runs and stretches and expanded only when
asked for.
"""

from __future__ import annotations

from array import array
from itertools import accumulate, repeat
from operator import and_, getitem, rshift, sub
from typing import Any, Iterator

from pybpf.errors import InvalidArgumentError

__all__ = ["RecordBatch", "run_length", "copy_run", "writable_view", "walk_words",
           "RecordFormats", "WALK_MAX_LENGTH",
           "PADDED_FORMATS", "bisect_fit", "walk_lengths",
           "ring_offsets"]

#: Records of up to this many bytes are walked in C by :func:`walk_words`/:func:`walk_lengths`.
WALK_MAX_LENGTH = (1 << 16) - 1
_STRIDES: list[array] = []
_WORD_STRIDES: list[array] = []


def stride_table() -> array:
    """``table[n]``: bytes a record of ``n`` bytes takes in a ring (header and padding
    included), for every ``n`` up to :data:`WALK_MAX_LENGTH` (built once, 256 KiB)."""
    if not _STRIDES:
        _STRIDES.append(array("I", map(and_, range(15, WALK_MAX_LENGTH + 16), repeat(~7 & 0xFFFFFFFF))))
    return _STRIDES[0]


def word_stride_table() -> array:
    """``table[n]``: the 4-byte words a record of ``n`` bytes takes in a ring (header and
    padding included), for every ``n`` up to :data:`WALK_MAX_LENGTH` (built once, 128 KiB)."""
    if not _WORD_STRIDES:
        _WORD_STRIDES.append(array("H", map(rshift, stride_table(), repeat(2))))
    return _WORD_STRIDES[0]


def walk_words(words: memoryview) -> list[int]:
    """Follow the chain of record headers in ``words`` (the u32 view of a range of a ring,
    starting at a record header) without interpreter work per record.

    Returns the word positions (byte position // 4) of consecutive records, relative to the
    range's start: the first is 0, the last is where the walk stopped: at the first position
    past the range, or at a header that is not a plain committed length up to
    :data:`WALK_MAX_LENGTH` (BUSY, DISCARD, a longer record), which is left for the caller.
    A record whose header is in the range may extend past it (the caller's range ends at a
    record boundary of the ring, or it reads the rest through the ring's double mapping).

    How: the list is extended by an ``accumulate`` whose input reads the list itself; each
    new position is the previous one plus the stride (in words) looked up from the header
    word there, all in C. Reading past the range or past the stride table raises IndexError,
    which ends the walk (the positions appended so far stay).
    """
    table = word_stride_table()
    pos = [0]
    try:
        pos.extend(accumulate(map(getitem, repeat(table), map(getitem, repeat(words), pos))))
    except IndexError:
        pass
    return pos


_WORD_STRIDE_LIST: list[list[int]] = []


def word_stride_list() -> list[int]:
    """:func:`word_stride_table` as a list (indexing a list needs no new int object per
    item: the walk of :func:`walk_lengths` is ~15% faster); equal values share one object,
    so it takes ~1 MB, built on the first use."""
    if not _WORD_STRIDE_LIST:
        shared: dict[int, int] = {}
        _WORD_STRIDE_LIST.append(list(map(shared.setdefault, word_stride_table(), word_stride_table())))
    return _WORD_STRIDE_LIST[0]


def walk_lengths(words: memoryview) -> list[int]:
    """Like :func:`walk_words`, but returns the header words (the records' lengths) of the
    consecutive plain records from the range's start, without their positions (the ``struct``
    format built from the lengths knows the bytes they take: its ``size``).

    How: the list of lengths is extended by a ``map`` reading the header word at each position
    of an ``accumulate`` over the strides of the lengths already in the list, all in C. The walk
    ends with IndexError: past the range (nothing appended), or at a header the stride table
    does not cover (BUSY, DISCARD, longer than :data:`WALK_MAX_LENGTH`), which was appended
    and is dropped here.
    """
    stride = word_stride_list().__getitem__
    lens: list[int] = []
    try:
        lens.extend(map(getitem, repeat(words), accumulate(map(stride, lens), initial=0)))
    except IndexError:
        if lens and lens[-1] > WALK_MAX_LENGTH:
            lens.pop()
    return lens


def ring_offsets(lengths: list[int], start: int = 0) -> list[int]:
    """Byte positions of consecutive records of ``lengths`` in a ring, the first at ``start``,
    plus where the last ends (``len(lengths) + 1`` items)."""
    return list(accumulate(map(getitem, repeat(stride_table()), lengths), initial=start))


class RecordFormats(dict):  # type: ignore[type-arg]
    """``formats[length]``: the ``struct`` format of one ring record of ``length`` bytes
    (its header skipped, its bytes as one ``s`` field, its padding skipped); joined, the
    formats of consecutive records unpack all of them in one ``unpack_from`` call."""

    def __missing__(self, length: int) -> str:
        pad = -length & 7
        fmt = self[length] = f"8x{length}s{pad}x" if pad else f"8x{length}s"
        return fmt


#: Shared by every ring (formats only depend on the length).
RECORD_FORMATS = RecordFormats()


class PaddedFormats(dict):  # type: ignore[type-arg]
    """``formats[length]``: the ``struct`` format of one ring record of ``length`` bytes
    with its header skipped and its bytes *and padding* as one ``s`` field (the record as a
    batch read lays it out: 8-byte aligned). Joined, they cut a walked stretch of ring into
    records in one ``unpack_from`` call, and ``b"".join`` of the result is the batch's bytes."""

    def __missing__(self, length: int) -> str:
        fmt = self[length] = f"8x{(length + 7) & ~7}s"
        return fmt


#: Shared by every ring.
PADDED_FORMATS = PaddedFormats()


def bisect_fit(lengths: list[int], room: int, shrink: int) -> int:
    """How many of the records of ``lengths`` (consecutive in a ring), at most, fit in ``room``
    bytes when each takes its ring room less ``shrink`` bytes (8: header stripped; 0: kept).
    Bisects over their positions (a few steps, not one per record)."""
    pos = ring_offsets(lengths)
    lo, hi = 0, len(lengths)
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if pos[mid] - shrink * mid <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def run_length(hdr: memoryview, idx: int, step: int, value: int, avail: int) -> int:
    """How many of the ``avail`` u32 words ``hdr[idx + i*step]`` (i = 0, 1, ...) equal
    ``value``, counted from the first, which must equal it.

    Grows the checked prefix geometrically and then bisects; each check compares two strided
    views (every word with its predecessor) in C.
    """
    if avail < 2 or hdr[idx + step] != value:
        return 1
    k = 2
    while k < avail:
        k2 = min(k * 4, avail)
        if hdr[idx + k * step: idx + k2 * step: step] == \
                hdr[idx + (k - 1) * step: idx + (k2 - 1) * step: step]:
            k = k2
            continue
        lo, hi = k, k2              # words [0, lo) equal value; the first mismatch is in [lo, hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if hdr[idx + lo * step: idx + mid * step: step] == \
                    hdr[idx + (lo - 1) * step: idx + (mid - 1) * step: step]:
                lo = mid
            else:
                hi = mid
        return lo
    return k


def writable_view(out: Any, what: str) -> memoryview:
    """A flat, writable byte view of ``out`` (bytearray, writable memoryview, mmap, array...)."""
    try:
        view = memoryview(out)
    except TypeError:
        raise InvalidArgumentError(f"{what}: out must support the buffer protocol, "
                                   f"not {type(out).__name__}") from None
    if view.readonly:
        raise InvalidArgumentError(f"{what}: out is read-only")
    if not view.c_contiguous:
        raise InvalidArgumentError(f"{what}: out must be contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


#: Bytes of ring a column-wise copy works on at a time (about an L2 cache): each column pass
#: then reads memory that the previous pass brought into the cache.
COPY_BLOCK = 256 << 10
#: Wider records are copied one by one (a slice assignment each), which is then faster.
MAX_COLUMNS = 24


def copy_run(dst: memoryview, dst_q: memoryview, d: int, src: memoryview, src_q: memoryview,
             s: int, count: int, stride: int, padded: int) -> None:
    """Copy ``count`` records of ``padded`` bytes (a multiple of 8) found every ``stride`` bytes
    from ``src`` offset ``s`` to ``dst`` offset ``d``, back to back. ``*_q`` are the same buffers
    viewed as u64; all offsets are multiples of 8.

    Narrow records are copied one 8-byte column at a time (a strided slice assignment copies a
    column of every record in C), in blocks of records that fit in the cache; wide records, and
    records wider than the run is long, are copied one by one."""
    cols = padded >> 3
    if cols <= count and cols <= MAX_COLUMNS:
        sstep = stride >> 3
        block = max(16, COPY_BLOCK // stride)
        dq, sq = d >> 3, s >> 3
        while count > 0:
            k = min(block, count)
            dend, send = dq + k * cols, sq + k * sstep
            for j in range(cols):
                dst_q[dq + j: dend + j: cols] = src_q[sq + j: send + j: sstep]
            dq, sq, count = dend, send, count - k
    else:
        for i in range(count):
            o = s + i * stride
            dst[d: d + padded] = src[o: o + padded]
            d += padded


class RecordBatch:
    """Records copied out of a ring buffer by ``read_batch``.

    ``buffer`` is the output buffer (a byte ``memoryview``); ``count`` records were written to
    it, using its first ``nbytes`` bytes. Record ``i`` is
    ``buffer[offsets[i]:offsets[i] + lengths[i]]``. With the default layout records sit back to
    back, each 8-byte aligned, so when they are equally long (``stride`` is not None) a ctypes
    array (:meth:`as_ctypes`), ``struct.iter_unpack`` or ``numpy.frombuffer`` reads them in one
    call; with ``headers=True`` the ring's bytes were copied as they are (an 8-byte header
    before each record), and :meth:`as_numpy` still views equally long records without a copy.

    Internally the records are segments: runs ``(offset, count, length, stride)`` of equally
    long records, ``(offsets, lengths)`` arrays for records of varying lengths, or as a batch
    read appends them, walked stretches ``(offset, shrink, lengths)`` (records back to back
    from ``offset``, each taking its room in the ring less ``shrink`` bytes: 8 when headers
    are stripped); offsets and lengths of the whole batch are built on demand.
    """

    __slots__ = ("buffer", "count", "nbytes", "_raw_runs", "_merged", "_raw_count", "_extra")

    def __init__(self, buffer: memoryview, extra: int = 0) -> None:
        self.buffer = buffer
        # segments as the reader appended them; adjacent runs that continue each other are
        # merged on first use (the reader's loop stays minimal)
        self._raw_runs: list[tuple[Any, ...]] = []
        self._merged: list[tuple[Any, ...]] | None = None
        self._raw_count = 0
        self._extra = extra         # bytes kept before each record (8 with headers=True)
        self.count = 0
        self.nbytes = 0

    @property
    def _runs(self) -> list[tuple[Any, ...]]:
        merged = self._merged
        if merged is None or len(self._raw_runs) != self._raw_count:
            merged = []
            for run in self._raw_runs:
                if len(run) == 3:
                    base, shrink, lens = run
                    offs = array("Q", accumulate(map(sub, map(getitem, repeat(stride_table()), lens),
                                                     repeat(shrink)), initial=base))
                    offs.pop()
                    run = (offs, array("I", lens))
                if merged and len(run) == 4 and len(merged[-1]) == 4:
                    o, c, ln, st = merged[-1]
                    if ln == run[2] and st == run[3] and o + c * st == run[0]:
                        merged[-1] = (o, c + run[1], ln, st)
                        continue
                merged.append(run)
            self._merged = merged
            self._raw_count = len(self._raw_runs)
        return merged

    @property
    def length(self) -> int | None:
        """The common record length, or None when lengths differ (or the batch is empty)."""
        lengths: set[int] = set()
        for seg in self._runs:
            if len(seg) == 4:
                lengths.add(seg[2])
            else:
                lengths.update(seg[1])
            if len(lengths) > 1:
                return None
        return lengths.pop() if lengths else None

    @property
    def stride(self) -> int | None:
        """The distance between consecutive records when it is the same throughout (and the
        records equally long), else None."""
        segs = self._runs
        if not segs:
            return None
        if all(len(seg) == 4 for seg in segs):
            _, _, length, stride = segs[0]
            for (o1, c1, _, _), (o2, _, ln2, st2) in zip(segs, segs[1:]):
                if (ln2, st2) != (length, stride) or o2 != o1 + c1 * stride:
                    return None
            return stride
        ln = self.length
        if ln is None:
            return None
        offs = self.offsets
        if len(offs) == 1:
            return ((ln + 7) & ~7) + self._extra
        st = offs[1] - offs[0]
        return st if offs == array("Q", range(offs[0], offs[0] + len(offs) * st, st)) else None

    @property
    def offsets(self) -> array:
        """Byte offset of each record in :attr:`buffer` (``array('Q')``, built on demand)."""
        out = array("Q")
        for seg in self._runs:
            if len(seg) == 4:
                o, c, _ln, st = seg
                out.extend(range(o, o + c * st, st) if st else array("Q", [o]) * c)
            else:
                out.extend(seg[0])
        return out

    @property
    def lengths(self) -> array:
        """Length of each record (``array('I')``, built on demand)."""
        out = array("I")
        for seg in self._runs:
            if len(seg) == 4:
                out.extend(array("I", [seg[2]]) * seg[1])
            else:
                out.extend(seg[1])
        return out

    def runs(self) -> list[tuple[int, int, int, int]]:
        """``[(offset, count, length, stride), ...]``: ``count`` records of ``length`` bytes,
        the first at ``offset``, one every ``stride`` bytes (records of varying lengths are
        runs of one, their stride the room they take)."""
        out: list[tuple[int, int, int, int]] = []
        for seg in self._runs:
            if len(seg) == 4:
                out.append(seg)
            else:
                extra = self._extra
                out.extend((o, 1, ln, ((ln + 7) & ~7) + extra) for o, ln in zip(seg[0], seg[1]))
        return out

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[memoryview]:
        buf = self.buffer
        for seg in self._runs:
            if len(seg) == 4:
                o, c, ln, st = seg
                for off in (range(o, o + c * st, st) if st else [o] * c):
                    yield buf[off: off + ln]
            else:
                for off, ln in zip(seg[0], seg[1]):
                    yield buf[off: off + ln]

    def __getitem__(self, index: int) -> memoryview:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("record index out of range")
        for seg in self._runs:
            if len(seg) == 4:
                o, c, ln, st = seg
                if index < c:
                    off = o + index * st
                    return self.buffer[off: off + ln]
            else:
                c = len(seg[0])
                if index < c:
                    off, ln = seg[0][index], seg[1][index]
                    return self.buffer[off: off + ln]
            index -= c
        raise IndexError("record index out of range")  # pragma: no cover

    def _uniform(self, size: int, what: str) -> tuple[int, int]:
        st = self.stride
        ln = self.length
        if st is None or ln is None or ln < size:
            raise InvalidArgumentError(
                f"batch records are {ln if ln is not None else 'of mixed lengths'}"
                f"{'' if st is None else f' every {st} bytes'}; {what} needs equally long records "
                f"of at least {size} bytes at one stride")
        return self.offsets[0] if len(self._runs[0]) != 4 else self._runs[0][0], st

    def as_ctypes(self, ctype: Any) -> Any:
        """The records as a ctypes array ``(ctype * count)`` sharing :attr:`buffer` (no copy).

        Needs equally long records, back to back at a stride of ``sizeof(ctype)``."""
        import ctypes

        size = ctypes.sizeof(ctype)
        if self.count == 0:
            return (ctype * 0)()
        first, st = self._uniform(size, getattr(ctype, "__name__", "the ctypes type"))
        if st != size:
            raise InvalidArgumentError(f"batch records are {st} bytes apart; "
                                       f"{getattr(ctype, '__name__', ctype)} is {size} bytes")
        return (ctype * self.count).from_buffer(self.buffer, first)

    def as_numpy(self, dtype: Any) -> Any:
        """The records as a numpy array of ``dtype`` viewing :attr:`buffer` (no copy), with the
        batch's stride (works for both layouts). Needs numpy."""
        import numpy as np

        dt = np.dtype(dtype)
        if self.count == 0:
            return np.empty(0, dt)
        first, st = self._uniform(dt.itemsize, "as_numpy")
        return np.ndarray((self.count,), dt, buffer=self.buffer, offset=first, strides=(st,))

    def __repr__(self) -> str:
        return f"<RecordBatch {self.count} records, {self.nbytes} bytes>"
