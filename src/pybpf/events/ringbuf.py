"""``RingBuffer``: the consumer side of ``BPF_MAP_TYPE_RINGBUF`` maps (Linux 5.8+).

Layout (kernel/bpf/ringbuf.c): page 0 of the map's mmap space holds the consumer position
(mapped read-write), page 1 the producer position (read-only), and the data pages follow,
mapped twice in a row so that a record that wraps past the end of the ring reads as one
contiguous range. Each record starts with an 8-byte header: a u32 length whose top bits are
BUSY (still being written; stop there) and DISCARD (skip it), and a u32 page offset the
kernel uses; records are 8-byte aligned. Positions only grow; ``pos & (size - 1)`` is the
offset in the ring.

The consumer position is published with one aligned 8-byte store (a ``memoryview`` item
assignment of format ``Q``): a release store on x86-64's TSO memory model, so the producer
never sees the space freed before the records in it were read. Positions and headers are read
with plain aligned loads, which are acquire loads on x86-64. (Python has no memory barriers: on
weakly ordered CPUs such as arm64 these are plain accesses, and the ordering libbpf gets from
``smp_load_acquire``/``smp_store_release`` is not guaranteed.)

When it is published: libbpf stores the position after every record. What correctness needs
is less: the producer reads the position only to know how much space it may reuse (and to
decide on a wakeup: it wakes the consumer when the record it commits sits at the published
position), so the position must never pass a record whose callback has not returned yet, and
must be published before the consumer stops at a BUSY record or at the producer position and
goes to sleep (here it is published up to every header the consumer reads). The
callback path here publishes once per *chunk* (:attr:`Ring.chunk`: 16 KiB of records, at most
an eighth of the ring, plus one record), after the chunk's callbacks ran, and at once when a
callback stops the pass or raises — right after that record, whatever its place in the chunk.
What differs from libbpf: during a pass the producer gets space back a chunk at a time instead
of a record at a time (a nearly full ring can drop a little sooner under a slow callback), and
code reading the position inside a callback (``Ring.consumer_pos``, ``bpf_ringbuf_query()``)
sees the start of the current chunk, never a position past the record being handled. Batch
reads publish once per call, after the copy.

Three ways to read:

* callbacks (:meth:`RingBuffer.poll`, :meth:`RingBuffer.consume`), per record, a chunk at a
  time without interpreter work per record: a run of equally long records is sliced by
  ``struct.iter_unpack`` (:meth:`pybpf.events.decode.RecordType.run`); records of varying
  lengths have their headers walked in C (:func:`pybpf.events.batch.walk_words`) and are
  sliced by one ``struct`` format built for the chunk (one ``unpack_from`` call);
* :meth:`Ring.read_batch` — many records copied into a caller's buffer in one pass, returned
  as a :class:`~pybpf.events.batch.RecordBatch`: runs of equally long records by strided
  slice copies, records of varying lengths a 64 KiB stretch of ring at a time (headers walked
  in C by :func:`pybpf.events.batch.walk_lengths`, the stretch cut by one ``struct`` format,
  joined, copied once);
* :meth:`Ring.read_array` — a numpy structured array (needs numpy).
"""

from __future__ import annotations

from itertools import repeat
from operator import getitem, length_hint
from struct import Struct
from typing import Any, Callable, Iterable

from pybpf.errors import BPFError, ClosedError, InvalidArgumentError, NoSpaceError
from pybpf.events.batch import (PADDED_FORMATS as _PADDED, RECORD_FORMATS as _FORMATS,
                                WALK_MAX_LENGTH, RecordBatch, bisect_fit, copy_run, run_length,
                                stride_table, walk_lengths, walk_words, writable_view)
from pybpf.events.decode import RecordType, record_type
from pybpf.sys.epoll import EPOLLIN, Epoll
from pybpf.sys.mmaps import PAGE_SIZE, map_shared, unmap

__all__ = ["RingBuffer", "Ring", "BUSY_BIT", "DISCARD_BIT", "HEADER_SIZE"]

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
LENGTH_MASK = DISCARD_BIT - 1
HEADER_SIZE = 8
_FLAGS = BUSY_BIT | DISCARD_BIT
# Runs at least this long go through the C-level path (its setup costs ~ a few records).
_RUN_MIN = 4
# Batch reads walk records of varying lengths this many bytes of ring at a time (then look
# for a run again): big enough to spread the per-stretch setup, small enough to stay in cache.
_WALK_BYTES = 64 << 10
#: Callbacks: bytes of records handed over between two publications of the consumer position
#: (at most an eighth of the ring; see the module docstring).
CHUNK_BYTES = 16 << 10

Callback = Callable[[Any], Any]


def _as_map(obj: Any, want: int, what: str) -> tuple[Any, bool]:
    """(Map, owned): a pybpf Map as given, or one opened from a descriptor (owned)."""
    from pybpf.maps import Map
    from pybpf.sys.names import map_type_name

    if isinstance(obj, Map):
        m, owned = obj, False
    else:
        fd = obj.fileno() if hasattr(obj, "fileno") else obj
        if not isinstance(fd, int):
            raise InvalidArgumentError(f"{what}: expected a Map or a map descriptor, not {obj!r}")
        m, owned = Map.from_fd(fd), True
    if int(m.type) != want:
        if owned:
            m.close()
        raise InvalidArgumentError(f"{what}: {m._label()} is a {map_type_name(int(m.type))} map, "
                                   f"not a {map_type_name(want)} map")
    return m, owned


class Ring:
    """One ring buffer map mapped for reading. Made by :meth:`RingBuffer.add`.

    ``callback`` receives each record (``bytes``, or decoded as ``type``); ``records`` and
    ``discarded`` count what this ring delivered and skipped.
    """

    def __init__(self, map: Any, callback: Callback | None, rtype: RecordType, index: int,
                 owned: bool) -> None:
        self.map = map
        self.index = index
        self.callback = callback
        self.type = rtype
        self.records = 0
        self.discarded = 0
        self._owned = owned
        self.size = int(map.max_entries)
        self._mask = self.size - 1
        #: bytes of records handed to callbacks between two publications of the consumer
        #: position (plus at most one record)
        self.chunk = max(8, min(CHUNK_BYTES, self.size // 8))
        self.what = f"ring buffer {map._label()}"
        self._cons = map_shared(map.fileno(), PAGE_SIZE, 0, write=True, what=self.what)
        try:
            self._prod = map_shared(map.fileno(), PAGE_SIZE + 2 * self.size, PAGE_SIZE,
                                    what=self.what)
        except BPFError:
            unmap(self._cons)
            raise
        self._cons_q = memoryview(self._cons).cast("Q")
        self._prod_b = memoryview(self._prod)
        self._prod_q = self._prod_b.cast("Q")
        self._hdr = self._prod_b.cast("I")

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        return self._prod_b is None

    def _check(self) -> None:
        if self._prod_b is None:
            raise ClosedError(f"{self.what} is closed")

    @property
    def consumer_pos(self) -> int:
        """The consumer position (bytes consumed since the map was created)."""
        self._check()
        return self._cons_q[0]

    @property
    def producer_pos(self) -> int:
        """The producer position (bytes reserved by producers since the map was created)."""
        self._check()
        return self._prod_q[0]

    @property
    def avail(self) -> int:
        """Bytes not yet consumed (records, headers and padding), like BPF_RB_AVAIL_DATA."""
        self._check()
        return self._prod_q[0] - self._cons_q[0]

    def fileno(self) -> int:
        """The map's descriptor (pollable: readable when data is available)."""
        return self.map.fileno()

    # ------------------------------------------------------------------ callbacks

    def consume(self) -> int:
        """Hand every available record to the callback; returns how many were handed over, or
        the value a callback returned to stop (anything but None/0/False)."""
        n, stop = self._consume()
        return stop if stop else n

    def _consume(self) -> tuple[int, Any]:
        self._check()
        cb = self.callback
        if cb is None:
            raise InvalidArgumentError(f"{self.what} has no callback; use read_batch()")
        cons_q, prod_q, hdr, mm = self._cons_q, self._prod_q, self._hdr, self._prod
        rtype = self.type
        decode = rtype.from_bytes
        min_len = rtype.size
        mask = self._mask
        chunk = self.chunk
        base = PAGE_SIZE
        run_min = _RUN_MIN
        flags, busy, length_mask, walk_max = _FLAGS, BUSY_BIT, LENGTH_MASK, WALK_MAX_LENGTH
        cons = cons_q[0]
        count = 0
        # Per step: one chunk of records (a run of equally long ones, or records of varying
        # lengths whose headers are walked in C) handed to the callback without interpreter
        # work per record, then the consumer position published once. Records longer than
        # the walk handles go one by one. Whenever a header is read here (and so whenever the
        # pass stops at a BUSY record or at the producer position) the position is published
        # up to it: the producer's wakeup decision sees what it would see with libbpf.
        try:
            while True:
                prod = prod_q[0]
                if cons >= prod:
                    return count, None
                while cons < prod:
                    off = base + (cons & mask)
                    ln = hdr[off >> 2]
                    if ln & flags:
                        if ln & busy:
                            return count, None
                        cons += ((ln & length_mask) + 15) & ~7
                        cons_q[0] = cons
                        self.discarded += 1
                        continue
                    stride = (ln + 15) & ~7
                    if ln < min_len:
                        cons += stride          # consumed, then refused (as a callback error)
                        rtype.check(ln, self.what)
                    avail = prod - cons
                    if hdr[(off + stride) >> 2] == ln and avail >= run_min * stride:
                        k = run_length(hdr, off >> 2, stride >> 2, ln,
                                       min(avail, max(chunk, run_min * stride)) // stride)
                        if k >= run_min:
                            view = self._prod_b[off: off + k * stride]
                            src, results = rtype.run(view, HEADER_SIZE, ln, stride, cb)
                            try:
                                ret = next(filter(None, results), None)
                            finally:
                                # records reached: all, or up to the one that stopped or raised
                                done = k - length_hint(src)
                                del src, results
                                view.release()
                                cons += done * stride
                                count += done
                                cons_q[0] = cons
                            if ret:
                                return count, ret
                            continue
                    if ln <= walk_max:
                        w0 = off >> 2
                        words = hdr[w0: w0 + (min(avail, chunk) >> 2)]
                        pos = walk_words(words)
                        k = len(pos) - 1
                        lens = list(map(getitem, repeat(words), pos[:k]))
                        words.release()
                        if min_len and min(lens) < min_len:
                            k = next(i for i, n in enumerate(lens) if n < min_len)  # >= 1
                            del lens[k:]
                        recs = Struct("=" + "".join(map(getitem, repeat(_FORMATS), lens))).unpack_from(mm, off)
                        it = iter(recs)
                        results = map(cb, it) if decode is None else map(cb, map(decode, it))
                        try:
                            ret = next(filter(None, results), None)
                        finally:
                            done = k - length_hint(it)
                            del it, results, recs
                            cons += pos[done] << 2
                            count += done
                            cons_q[0] = cons
                        if ret:
                            return count, ret
                        continue
                    # a record too long to walk: on its own
                    cons += stride
                    count += 1
                    o = off + HEADER_SIZE
                    ret = cb(mm[o: o + ln] if decode is None else rtype.one(mm, o, ln))
                    cons_q[0] = cons
                    if ret:
                        return count, ret
        finally:
            cons_q[0] = cons
            self.records += count

    # ------------------------------------------------------------------ batches

    def read_batch(self, out: Any = None, max_records: int | None = None, *,
                   headers: bool = False) -> RecordBatch:
        """Copy available records into ``out`` (a writable buffer; default: a new bytearray
        big enough for everything available) in one pass and consume them.

        By default records land back to back, 8-byte aligned, headers stripped. With
        ``headers=True`` the ring's bytes are copied as they are (each record after its 8-byte
        header, padded to 8; discarded records' bytes too, though not listed), in one memory
        copy after the headers were walked: the fastest layout, read through the returned
        :class:`RecordBatch`'s offsets or :meth:`RecordBatch.as_numpy`.
        Stops at ``max_records``, when ``out`` is full, or at a record still being written.
        Discarded records are skipped. The consumer position is published once, after the copy.
        """
        self._check()
        cons_q, prod_q, hdr, data, mm = self._cons_q, self._prod_q, self._hdr, self._prod_b, self._prod
        cons = cons_q[0]
        prod = prod_q[0]
        if out is None:
            out = bytearray(max(prod - cons, 0))
        dst = writable_view(out, self.what)
        dst_q = dst[: len(dst) & ~7].cast("Q")
        src_q = prod_q
        batch = RecordBatch(dst, HEADER_SIZE if headers else 0)
        if max_records is not None and max_records < 0:
            raise InvalidArgumentError(f"{self.what}: max_records must be >= 0")
        limit = -1 if max_records is None else max_records
        push = batch._raw_runs.append
        cap = len(dst)
        mask = self._mask
        base = PAGE_SIZE
        flags, busy, length_mask = _FLAGS, BUSY_BIT, LENGTH_MASK
        walk_max, walk_bytes, padded = WALK_MAX_LENGTH, _WALK_BYTES, _PADDED.__getitem__
        ring_room = stride_table().__getitem__
        count = 0
        d = 0
        if headers:
            # Walk the headers (runs of equally long records in one step each), then copy the
            # whole walked range at once: the ring's bytes, discarded records included.
            start = cons
            off0 = base + (start & mask)
            try:
                while cons < prod and count != limit:
                    off = base + (cons & mask)
                    ln = hdr[off >> 2]
                    if ln & flags:
                        if ln & busy:
                            break
                        stride = ((ln & length_mask) + 15) & ~7
                        if cons + stride - start > cap:
                            break
                        cons += stride
                        self.discarded += 1
                        continue
                    stride = (ln + 15) & ~7
                    rel = cons - start
                    if rel + stride > cap:
                        if cons == start:
                            raise NoSpaceError(f"{self.what}: out has {cap} bytes, too small for a "
                                               f"record of {ln} bytes and its header")
                        break
                    if prod - cons >= 2 * stride and hdr[(off + stride) >> 2] == ln:
                        k = run_length(hdr, off >> 2, stride >> 2, ln, (prod - cons) // stride)
                        if limit != -1 and k > limit - count:
                            k = limit - count
                        if k > (cap - rel) // stride:
                            k = (cap - rel) // stride
                        push((rel + HEADER_SIZE, k, ln, stride))
                        cons += k * stride
                        count += k
                        continue
                    if ln <= walk_max and prod - cons >= 2 * stride:
                        # records of varying lengths: headers walked in C, a stretch at a time
                        w0 = off >> 2
                        words = hdr[w0: w0 + (min(prod - cons, walk_bytes) >> 2)]
                        lens = walk_lengths(words)
                        words.release()
                        if limit != -1 and len(lens) > limit - count:
                            del lens[limit - count:]
                        took = sum(map(ring_room, lens))
                        if took > cap - rel:
                            del lens[bisect_fit(lens, cap - rel, 0):]     # keeps >= 1
                            took = sum(map(ring_room, lens))
                        push((rel + HEADER_SIZE, 0, lens))
                        cons += took
                        count += len(lens)
                        continue
                    push((rel + HEADER_SIZE, 1, ln, stride))
                    cons += stride
                    count += 1
                d = cons - start
                if d:
                    dst[0:d] = data[off0: off0 + d]
            finally:
                cons_q[0] = cons
                dst_q.release()
                batch.count = count
                batch.nbytes = d
            self.records += count
            return batch
        try:
            while cons < prod and count != limit:
                off = base + (cons & mask)
                ln = hdr[off >> 2]
                if ln & flags:
                    if ln & busy:
                        break
                    cons += ((ln & length_mask) + 15) & ~7
                    self.discarded += 1
                    continue
                stride = (ln + 15) & ~7
                step = stride - HEADER_SIZE                 # bytes per record in out
                if d + step > cap:
                    if count == 0:
                        raise NoSpaceError(f"{self.what}: out has {cap - d} bytes, too small for a "
                                           f"record of {ln} bytes")
                    break
                if prod - cons >= 2 * stride and hdr[(off + stride) >> 2] == ln:
                    # a run of equally long records: copied with a few slice assignments
                    k = run_length(hdr, off >> 2, stride >> 2, ln, (prod - cons) // stride)
                    if limit != -1 and k > limit - count:
                        k = limit - count
                    if step and k > (cap - d) // step:
                        k = (cap - d) // step
                    if step:
                        copy_run(dst, dst_q, d, data, src_q, off + HEADER_SIZE, k, stride, step)
                    push((d, k, ln, step))
                    d += k * step
                    cons += k * stride
                    count += k
                    continue
                if ln <= walk_max and prod - cons >= 2 * stride:
                    # records of varying lengths: headers walked in C a stretch at a time,
                    # the stretch cut into records (padding kept) by one struct format
                    # (whose size is the ring bytes they take), joined and copied at once
                    w0 = off >> 2
                    words = hdr[w0: w0 + (min(prod - cons, walk_bytes) >> 2)]
                    lens = walk_lengths(words)
                    words.release()
                    k = len(lens)
                    if limit != -1 and k > limit - count:
                        k = limit - count
                        del lens[k:]
                    cut = Struct("".join(map(padded, lens)))
                    need = cut.size - (k << 3)
                    if need > cap - d:
                        k = bisect_fit(lens, cap - d, 8)              # >= 1: checked above
                        del lens[k:]
                        cut = Struct("".join(map(padded, lens)))
                        need = cut.size - (k << 3)
                    dst[d: d + need] = b"".join(cut.unpack_from(mm, off))
                    push((d, 8, lens))
                    d += need
                    cons += cut.size
                    count += k
                    continue
                o = off + HEADER_SIZE
                dst[d: d + ln] = data[o: o + ln]
                push((d, 1, ln, step))
                d += step
                cons += stride
                count += 1
        finally:
            cons_q[0] = cons
            dst_q.release()
            batch.count = count
            batch.nbytes = d
        self.records += count
        return batch

    def read_array(self, dtype: Any = None, max_records: int | None = None, *, out: Any = None) -> Any:
        """Consume available records into a numpy structured array of ``dtype`` (default: the
        ring's ``type``) and return it (a slice of ``out`` when given). Needs numpy.

        Every record must be ``dtype.itemsize`` bytes long; discarded records are skipped.
        """
        self._check()
        try:
            import numpy as np
        except ImportError:
            raise InvalidArgumentError(f"{self.what}: read_array needs numpy "
                                       "(pip install 'pybpf[numpy]')") from None
        if dtype is None:
            if self.type.kind == "ctypes":
                dtype = np.dtype(self.type.ctype)
            elif self.type.kind == "struct" and self.type.struct is not None:
                raise InvalidArgumentError(f"{self.what}: give read_array a numpy dtype")
            else:
                raise InvalidArgumentError(f"{self.what}: give read_array a dtype (the ring has no type)")
        dt = np.dtype(dtype)
        size = dt.itemsize
        stride = (size + 15) & ~7
        wrapped = np.dtype({"names": ["len", "rec"], "formats": [np.uint32, dt],
                            "offsets": [0, HEADER_SIZE], "itemsize": stride})
        cons_q, prod_q, hdr = self._cons_q, self._prod_q, self._hdr
        cons = cons_q[0]
        prod = prod_q[0]
        cap = (prod - cons) // stride if out is None else len(out)
        if max_records is not None:
            cap = min(cap, max_records)
        result = np.empty(cap, dt) if out is None else out
        if out is not None and result.dtype != dt:
            raise InvalidArgumentError(f"{self.what}: out has dtype {result.dtype}, not {dt}")
        mask = self._mask
        base = PAGE_SIZE
        count = 0
        try:
            while cons < prod and count < cap:
                off = base + (cons & mask)
                ln = hdr[off >> 2]
                if ln & _FLAGS:
                    if ln & BUSY_BIT:
                        break
                    cons += ((ln & LENGTH_MASK) + 15) & ~7
                    self.discarded += 1
                    continue
                if ln != size:
                    raise InvalidArgumentError(f"{self.what}: record of {ln} bytes at position "
                                               f"{cons} does not match dtype of {size} bytes")
                k = min(run_length(hdr, off >> 2, stride >> 2, ln, (prod - cons) // stride),
                        cap - count)
                view = np.ndarray((k,), wrapped, buffer=self._prod, offset=off)
                result[count:count + k] = view["rec"]
                del view
                cons += k * stride
                count += k
        finally:
            cons_q[0] = cons
        self.records += count
        return result[:count]

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        """Unmap the ring (and close the map if this ring opened it from a descriptor)."""
        if self._prod_b is None:
            return
        for v in (self._hdr, self._prod_q, self._prod_b, self._cons_q):
            try:
                v.release()
            except BufferError:  # pragma: no cover - a view escaped into a live traceback
                pass
        self._prod_b = None  # type: ignore[assignment]
        unmap(self._prod)
        unmap(self._cons)
        if self._owned:
            self.map.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.size} bytes"
        return f"<Ring {self.index} {self.what} {state}>"


class RingBuffer:
    """Consumer of one or several ring buffer maps, waited on together with epoll.

    ``RingBuffer(map, callback)`` or ``RingBuffer([map1, map2], callback)``; :meth:`add` more
    (each with its own callback and type). ``type`` decodes records for the callback (see
    :mod:`pybpf.events.decode`: a ctypes type, a ``struct.Struct``, ``(btf, type_id)``, or a
    BTF type name such as ``"struct event"`` with ``btf=`` or a map loaded from an object).

    A callback that returns anything but None/0/False stops the consumption right after its
    record, and :meth:`poll`/:meth:`consume` return that value instead of a count (libbpf's
    callbacks stop by returning an error). An exception in a callback propagates; its record
    counts as consumed, and the consumer position is published right after it (the next
    pass starts with the following record). Use from one thread at a time. Needs Linux 5.8+.
    """

    def __init__(self, map_or_maps: Any = None, callback: Callback | None = None, *, type: Any = None,
                 btf: Any = None) -> None:
        self._epoll = Epoll("ring buffer")
        self.rings: list[Ring] = []
        try:
            if map_or_maps is not None:
                maps: Iterable[Any] = map_or_maps if isinstance(map_or_maps, (list, tuple)) else [map_or_maps]
                for m in maps:
                    self.add(m, callback, type=type, btf=btf)
        except BaseException:
            self.close()
            raise

    def add(self, map: Any, callback: Callback | None = None, *, type: Any = None,
            btf: Any = None) -> Ring:
        """Map another ring buffer (a :class:`pybpf.Map` or a descriptor) into this poller."""
        from pybpf.sys import uapi

        if self._epoll.closed:
            raise ClosedError("ring buffer is closed")
        m, owned = _as_map(map, int(uapi.BPF_MAP_TYPE_RINGBUF), "ring buffer")
        try:
            rtype = record_type(type, btf=btf, map=m, what=f"ring buffer {m._label()}")
            ring = Ring(m, callback, rtype, len(self.rings), owned)
        except BaseException:
            if owned:
                m.close()
            raise
        try:
            self._epoll.register(m.fileno(), EPOLLIN, ring, what=ring.what)
        except BaseException:
            ring.close()
            raise
        self.rings.append(ring)
        return ring

    def _ring(self, ring: int | Ring | Any) -> Ring:
        if isinstance(ring, Ring):
            return ring
        if isinstance(ring, int):
            try:
                return self.rings[ring]
            except IndexError:
                raise InvalidArgumentError(f"ring buffer has no ring {ring} ({len(self.rings)} added)") from None
        for r in self.rings:
            if r.map is ring:
                return r
        raise InvalidArgumentError(f"ring buffer: {ring!r} was not added")

    def wait(self, timeout: float | None = None) -> list[Ring]:
        """Block up to ``timeout`` seconds (None: forever) until a ring has data; returns the
        rings that have (empty on timeout) without consuming anything."""
        return [ring for ring, _ in self._epoll.wait(timeout, len(self.rings) or 1)]

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever, 0: not at all) for data, then hand
        the records of the rings that have data to their callbacks. Returns the number of
        records (or a callback's stop value)."""
        total = 0
        for ring, _ in self._epoll.wait(timeout, len(self.rings) or 1):
            n, stop = ring._consume()
            total += n
            if stop:
                return stop
        return total

    def consume(self) -> int:
        """Hand every available record of every ring to its callback without waiting; returns
        the number of records (or a callback's stop value)."""
        if self._epoll.closed:
            raise ClosedError("ring buffer is closed")
        total = 0
        for ring in self.rings:
            if ring.callback is None:
                continue
            n, stop = ring._consume()
            total += n
            if stop:
                return stop
        return total

    def read_batch(self, out: Any = None, max_records: int | None = None, *, headers: bool = False,
                   ring: Any = 0) -> RecordBatch:
        """:meth:`Ring.read_batch` on ``ring`` (index, Ring or map; default the first)."""
        return self._ring(ring).read_batch(out, max_records, headers=headers)

    def read_array(self, dtype: Any = None, max_records: int | None = None, *, out: Any = None,
                   ring: Any = 0) -> Any:
        """:meth:`Ring.read_array` on ``ring`` (index, Ring or map; default the first)."""
        return self._ring(ring).read_array(dtype, max_records, out=out)

    def fileno(self) -> int:
        """The epoll descriptor: readable when any ring has data (for selectors/asyncio)."""
        return self._epoll.fileno()

    @property
    def closed(self) -> bool:
        return self._epoll.closed

    def close(self) -> None:
        """Unmap every ring and close the epoll instance (safe to call twice)."""
        for ring in self.rings:
            if not ring.map.closed:
                self._epoll.unregister(ring.map.fileno())
            ring.close()
        self._epoll.close()

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RingBuffer {len(self.rings)} ring(s){' closed' if self.closed else ''}>"
