"""Many records at once: :class:`RecordBatch` and the copy routines behind it.

A batch read copies records out of a ring into a caller-supplied buffer, headers stripped,
each record starting at an 8-byte-aligned offset right after the previous one (the record's
length rounded up to 8, as in the ring). Runs of equally long records — the usual case, one
C struct per ring — are located by comparing headers with strided ``memoryview`` comparisons
and copied with a handful of strided slice assignments (one per 8-byte column of the record,
or one per record when records are wider than the run is long): the work per record happens
in C, not in the interpreter. Offsets and lengths are kept as runs and expanded only when asked
for.
"""

from __future__ import annotations

from array import array
from typing import Any, Iterator

from pybpf.errors import InvalidArgumentError

__all__ = ["RecordBatch", "run_length", "copy_run", "writable_view"]


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


def copy_run(dst: memoryview, dst_q: memoryview, d: int, src: memoryview, src_q: memoryview,
             s: int, count: int, stride: int, padded: int) -> None:
    """Copy ``count`` records of ``padded`` bytes (a multiple of 8) found every ``stride`` bytes
    from ``src`` offset ``s`` to ``dst`` offset ``d``, back to back. ``*_q`` are the same buffers
    viewed as u64; all offsets are multiples of 8."""
    cols = padded >> 3
    if cols <= count:
        dq, sq, sstep = d >> 3, s >> 3, stride >> 3
        dend, send = dq + count * cols, sq + count * sstep
        for j in range(cols):
            dst_q[dq + j: dend + j: cols] = src_q[sq + j: send + j: sstep]
    else:
        for i in range(count):
            o = s + i * stride
            dst[d: d + padded] = src[o: o + padded]
            d += padded


class RecordBatch:
    """Records copied out of a ring buffer by ``read_batch``.

    ``buffer`` is the output buffer (a byte ``memoryview``); ``count`` records were written to it,
    ``nbytes`` bytes in all. Record ``i`` is ``buffer[offsets[i]:offsets[i] + lengths[i]]``;
    records start 8-byte aligned, back to back. When every record has the same length
    (``length``), they sit every ``stride`` bytes from offset 0, so a ctypes array
    (:meth:`as_ctypes`), ``struct.iter_unpack`` or ``numpy.frombuffer`` reads them in one call.
    """

    __slots__ = ("buffer", "count", "nbytes", "_runs")

    def __init__(self, buffer: memoryview, runs: list[tuple[int, int, int]] | None = None) -> None:
        self.buffer = buffer
        self._runs: list[tuple[int, int, int]] = runs if runs is not None else []   # (offset, count, length)
        self.count = sum(r[1] for r in self._runs)
        self.nbytes = sum(r[1] * ((r[2] + 7) & ~7) for r in self._runs)

    def _add(self, offset: int, count: int, length: int) -> None:
        runs = self._runs
        if runs:
            o, c, ln = runs[-1]
            if ln == length and o + c * ((ln + 7) & ~7) == offset:
                runs[-1] = (o, c + count, ln)
                self.count += count
                self.nbytes += count * ((length + 7) & ~7)
                return
        runs.append((offset, count, length))
        self.count += count
        self.nbytes += count * ((length + 7) & ~7)

    @property
    def length(self) -> int | None:
        """The common record length, or None when lengths differ (or the batch is empty)."""
        lengths = {r[2] for r in self._runs}
        return lengths.pop() if len(lengths) == 1 else None

    @property
    def stride(self) -> int | None:
        """Distance between records when they all have the same length (``length`` rounded up
        to 8), else None."""
        ln = self.length
        return None if ln is None else (ln + 7) & ~7

    @property
    def offsets(self) -> array:
        """Byte offset of each record in :attr:`buffer` (``array('Q')``, built on demand)."""
        out = array("Q")
        for o, c, ln in self._runs:
            p = (ln + 7) & ~7
            out.extend(range(o, o + c * p, p) if p else array("Q", [o]) * c)
        return out

    @property
    def lengths(self) -> array:
        """Length of each record (``array('I')``, built on demand)."""
        out = array("I")
        for _, c, ln in self._runs:
            out.extend(array("I", [ln]) * c)
        return out

    def runs(self) -> list[tuple[int, int, int]]:
        """``[(offset, count, length), ...]``: ``count`` records of ``length`` bytes each, the
        first at ``offset``, one every ``length`` rounded up to 8."""
        return list(self._runs)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[memoryview]:
        buf = self.buffer
        for o, c, ln in self._runs:
            p = (ln + 7) & ~7
            for off in (range(o, o + c * p, p) if p else [o] * c):
                yield buf[off: off + ln]

    def __getitem__(self, index: int) -> memoryview:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("record index out of range")
        for o, c, ln in self._runs:
            if index < c:
                off = o + index * ((ln + 7) & ~7)
                return self.buffer[off: off + ln]
            index -= c
        raise IndexError("record index out of range")  # pragma: no cover

    def as_ctypes(self, ctype: Any) -> Any:
        """The records as a ctypes array ``(ctype * count)`` sharing :attr:`buffer` (no copy).

        Needs equally long records whose stride is ``sizeof(ctype)``."""
        import ctypes

        size = ctypes.sizeof(ctype)
        if self.count == 0:
            return (ctype * 0)()
        if self.stride != size or (self.length or 0) > size:
            raise InvalidArgumentError(
                f"batch records are {self.length if self.length is not None else 'of mixed'} "
                f"bytes every {self.stride} bytes; {getattr(ctype, '__name__', ctype)} is {size} bytes")
        return (ctype * self.count).from_buffer(self.buffer)

    def __repr__(self) -> str:
        return f"<RecordBatch {self.count} records, {self.nbytes} bytes>"
