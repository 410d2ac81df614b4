"""``PerfBuffer``: records that programs send with ``bpf_perf_event_output()`` (Linux 4.4+).

As libbpf's ``perf_buffer__new``: for each CPU (online, and below the map's ``max_entries``) a
``PERF_TYPE_SOFTWARE``/``PERF_COUNT_SW_BPF_OUTPUT`` perf event with ``PERF_SAMPLE_RAW`` is
opened, its ring (one metadata page plus ``page_count`` data pages) mapped read-write, the
event enabled and stored in the ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` map at the CPU's index, and
watched with epoll.

A perf ring is not double-mapped: a record that wraps past the end of the data area is copied
into one contiguous piece. Samples are handed to the callback a chunk at a time without
interpreter work per sample: runs of equally long samples through ``struct.iter_unpack``,
samples of varying lengths by walking their headers in C and slicing them with one ``struct``
format (:meth:`CPUBuffer._walk`); lost records and wrapping samples go one by one. ``data_head`` is read once per pass, ``data_tail`` is written after
the records before it were handled (aligned 8-byte stores: acquire/release on x86-64).
``PERF_RECORD_SAMPLE`` records go to ``callback(cpu, data)`` (``data`` as sent, padded by the
kernel to 8 bytes, exactly what libbpf passes on), ``PERF_RECORD_LOST`` records to
``lost_callback(cpu, count)`` and the :attr:`PerfBuffer.lost` counters.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import accumulate, repeat
from operator import getitem, length_hint, sub
from struct import Struct
from typing import Any, Callable

from pybpf.errors import BPFError, ClosedError, InvalidArgumentError
from pybpf.events.batch import run_length
from pybpf.events.decode import RecordType, record_type
from pybpf.events.ringbuf import _as_map
from pybpf.sys import consts, uapi
from pybpf.sys.cpus import online_cpus
from pybpf.sys.epoll import EPOLLIN, Epoll
from pybpf.sys.fd import FD
from pybpf.sys.mmaps import PAGE_SIZE, map_shared, unmap
from pybpf.sys.perf import perf_event_ioctl, perf_event_open

__all__ = ["PerfBuffer", "CPUBuffer"]

RECORD_SAMPLE = int(uapi.PERF_RECORD_SAMPLE)
RECORD_LOST = int(uapi.PERF_RECORD_LOST)
# struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size (u64 each)
_HEAD = uapi.perf_event_mmap_page.data_head.offset // 8
_TAIL = uapi.perf_event_mmap_page.data_tail.offset // 8
_DATA_OFFSET = uapi.perf_event_mmap_page.data_offset.offset // 8
_DATA_SIZE = uapi.perf_event_mmap_page.data_size.offset // 8
_LITTLE = sys.byteorder == "little"
_HDR = struct.Struct("=IHH")          # perf_event_header: type, misc, size
_LOST = struct.Struct("=QQ")          # id, lost
_U32 = struct.Struct("=I")
_RUN_MIN = 4
#: Samples handed to callbacks per step of a pass (the data tail is written once per pass).
CHUNK_BYTES = 16 << 10


class _SampleFormats(dict):  # type: ignore[type-arg]
    """``formats[size]``: the struct format of a sample record of ``size`` bytes (header
    and raw size skipped, the data as one ``s`` field)."""

    def __missing__(self, size: int) -> str:
        fmt = self[size] = f"12x{size - 12}s"
        return fmt


_SAMPLE_FORMATS = _SampleFormats()
_HALF_STRIDES: list[array] = []


def _half_strides() -> array:
    """``table[size]``: a record of ``size`` bytes in u16 units; sizes a sample cannot have
    map past any ring, which ends a walk (built on first use, 256 KiB)."""
    if not _HALF_STRIDES:
        _HALF_STRIDES.append(array("I", [n >> 1 if n >= 16 and n % 8 == 0 else 1 << 31
                                         for n in range(1 << 16)]))
    return _HALF_STRIDES[0]

SampleCallback = Callable[[int, Any], Any]
LostCallback = Callable[[int, int], Any]


class CPUBuffer:
    """One CPU's perf event and its mapped ring."""

    def __init__(self, owner: PerfBuffer, cpu: int, page_count: int, wakeup_events: int) -> None:
        self.cpu = cpu
        self.owner = owner
        self.lost = 0
        self.records = 0
        self.what = f"perf buffer {owner.map._label()} CPU {cpu}"
        attr = uapi.perf_event_attr()
        attr.type = uapi.PERF_TYPE_SOFTWARE
        attr.config = uapi.PERF_COUNT_SW_BPF_OUTPUT
        attr.sample_type = uapi.PERF_SAMPLE_RAW
        attr.sample_period = 1
        attr.wakeup_events = wakeup_events
        self.fd: FD | None = perf_event_open(attr, pid=-1, cpu=cpu, what=self.what)
        try:
            self._mm = map_shared(self.fd.fileno(), (page_count + 1) * PAGE_SIZE, 0, write=True,
                                  what=self.what)
        except BaseException:
            self.fd.close()
            raise
        self._b = memoryview(self._mm)
        self._q = self._b.cast("Q")
        self._w = self._b.cast("I")
        self.data_offset = self._q[_DATA_OFFSET] or PAGE_SIZE
        self.data_size = self._q[_DATA_SIZE] or page_count * PAGE_SIZE
        self._mask = self.data_size - 1

    def fileno(self) -> int:
        assert self.fd is not None
        return self.fd.fileno()

    @property
    def avail(self) -> int:
        """Bytes written by the kernel and not read yet."""
        return self._q[_HEAD] - self._q[_TAIL]

    def _consume(self) -> tuple[int, Any]:
        """Handle every record in the ring; (records handed to the callback, stop value)."""
        owner = self.owner
        cb = owner.callback
        lost_cb = owner.lost_callback
        rtype = owner.type
        decode = None if rtype.kind == "bytes" else rtype.one
        from_bytes = rtype.from_bytes
        min_len = rtype.size
        q, b, mm, words = self._q, self._b, self._mm, self._w
        base, size, mask, cpu = self.data_offset, self.data_size, self._mask, self.cpu
        chunk = CHUNK_BYTES
        count = 0
        tail = q[_TAIL]
        try:
            while True:
                head = q[_HEAD]
                if tail >= head:
                    return count, None
                while tail < head:
                    off = tail & mask
                    end = off + 8
                    if end <= size:
                        rtype_, _, rsize = _HDR.unpack_from(mm, base + off)
                    else:
                        rtype_, _, rsize = _HDR.unpack(self._copy(off, 8))
                    if rsize < 8:
                        raise BPFError(f"{self.what}: corrupt record header at position {tail}")
                    if rtype_ == RECORD_SAMPLE:
                        flat = min(head - tail, size - off)     # bytes before the wrap or head
                        if rsize % 8 == 0 and rsize <= flat:
                            idx = (base + off) >> 3
                            # a run of same-size samples: decoded and handed to the callback
                            # without interpreter work per record
                            if rsize * _RUN_MIN <= flat and q[idx + (rsize >> 3)] == q[idx]:
                                k = run_length(q, idx, rsize >> 3, q[idx],
                                               min(flat, max(chunk, rsize * _RUN_MIN)) // rsize)
                                if k >= _RUN_MIN:
                                    dlen = words[(base + off + 8) >> 2]
                                    if dlen + 12 <= rsize and dlen >= min_len:
                                        k = run_length(words, (base + off + 8) >> 2, rsize >> 2, dlen, k)
                                    if k >= _RUN_MIN and dlen + 12 <= rsize and dlen >= min_len:
                                        view = b[base + off: base + off + k * rsize]
                                        src, results = rtype.run(view, 12, dlen, rsize, _bind(cb, cpu))
                                        try:
                                            ret = next(filter(None, results), None)
                                        finally:
                                            done = k - length_hint(src)
                                            del src, results
                                            view.release()
                                            tail += done * rsize
                                            count += done
                                        if ret:
                                            return count, ret
                                        continue
                            # samples of varying sizes: headers walked in C, sliced by one
                            # struct format, handed over by map()
                            walked = self._walk(off, min(flat, chunk), flat, min_len)
                            if walked is not None:
                                pos, recs = walked
                                it = iter(recs)
                                results = map(cb, repeat(cpu), it if from_bytes is None else
                                              map(from_bytes, it))
                                try:
                                    ret = next(filter(None, results), None)
                                finally:
                                    done = len(recs) - length_hint(it)
                                    del it, results, recs
                                    tail += pos[done] << 1
                                    count += done
                                if ret:
                                    return count, ret
                                continue
                        rec = self._record(off, rsize)
                        dlen = _U32.unpack_from(rec, 8)[0]
                        if dlen + 12 > rsize:
                            raise BPFError(f"{self.what}: sample of {dlen} bytes overruns its "
                                           f"{rsize}-byte record at position {tail}")
                        tail += rsize
                        count += 1
                        if decode is None:
                            data = bytes(rec[12:12 + dlen])
                        else:
                            rtype.check(dlen, self.what)
                            data = decode(rec, 12, dlen)
                        ret = cb(cpu, data)
                        if ret:
                            return count, ret
                    elif rtype_ == RECORD_LOST:
                        rec = self._record(off, rsize)
                        lost = _LOST.unpack_from(rec, 8)[1]
                        tail += rsize
                        self.lost += lost
                        owner.lost += lost
                        if lost_cb is not None:
                            lost_cb(cpu, lost)
                    else:
                        tail += rsize
                        owner.other_records += 1
        finally:
            q[_TAIL] = tail
            self.records += count

    def _walk(self, off: int, span: int, flat: int, min_len: int) -> tuple[list[int], tuple[bytes, ...]] | None:
        """The samples whose headers are in the ``span`` bytes at ring offset ``off`` and
        which end in the ``flat`` bytes there (before the end of the data area): (positions
        in u16 units relative to ``off``, one more than there are samples; the samples'
        data), or None when fewer than two samples there have the layout of
        ``PERF_SAMPLE_RAW`` alone (a u32 raw size equal to the record size less 12, then the
        data) and at least ``min_len`` bytes of data.

        The headers are read as u16 halves (little-endian hosts only): the walk follows the
        size fields in C, a size that is not a multiple of 8 of at least 16 ends it; then the
        type and raw size fields of the walked records are compared with what samples must
        hold, one list comparison each."""
        if not _LITTLE:
            return None
        start = self.data_offset + off
        b = self._b
        end = start + (span & ~7)
        halves = [b[start + i: end + i].cast("H") for i in (0, 6, 8)]     # type, size, raw size
        types, sizes, raws = halves
        pos = [0]
        try:
            pos.extend(accumulate(map(getitem, repeat(_half_strides()), map(getitem, repeat(sizes), pos))))
        except IndexError:
            pass
        k = len(pos) - 1
        if pos[k] << 1 > flat:
            k -= 1                  # the last record wraps (or is not a sample): left for later
        heads = pos[:k]
        kinds = list(map(getitem, repeat(types), heads))
        if kinds != [RECORD_SAMPLE] * k:
            k = next(i for i, kind in enumerate(kinds) if kind != RECORD_SAMPLE)
            del heads[k:]
        rsizes = list(map(getitem, repeat(sizes), heads))
        ok = k >= 2 and list(map(getitem, repeat(raws), heads)) == list(map(sub, rsizes, repeat(12)))
        for v in halves:
            v.release()
        if not ok or (min_len and min(rsizes) - 12 < min_len):
            return None
        return pos, Struct("=" + "".join(map(getitem, repeat(_SAMPLE_FORMATS), rsizes))).unpack_from(self._mm, start)

    def _copy(self, off: int, length: int) -> bytes:
        """``length`` bytes at ring offset ``off``, wrapping around the end."""
        base, size = self.data_offset, self.data_size
        mm = self._mm
        first = min(length, size - off)
        return mm[base + off: base + off + first] + mm[base: base + length - first]

    def _record(self, off: int, rsize: int) -> Any:
        if off + rsize <= self.data_size:
            start = self.data_offset + off
            return self._b[start: start + rsize]
        return self._copy(off, rsize)

    def close(self) -> None:
        if self.fd is None:
            return
        try:
            perf_event_ioctl(self.fd.fileno(), consts.PERF_EVENT_IOC_DISABLE, 0, what=self.what)
        except BPFError:
            pass
        for v in (self._w, self._q, self._b):
            try:
                v.release()
            except BufferError:
                pass
        unmap(self._mm)
        self.fd.close()
        self.fd = None

    def __repr__(self) -> str:
        return f"<CPUBuffer cpu {self.cpu}{' closed' if self.fd is None else ''}>"


def _bind(cb: SampleCallback, cpu: int) -> Callable[[Any], Any]:
    from functools import partial

    return partial(cb, cpu)


class PerfBuffer:
    """Per-CPU perf event rings behind a ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` map.

    ``callback(cpu, data)`` gets each sample (``bytes``, or decoded with ``type`` as for
    :class:`~pybpf.events.RingBuffer`); ``lost_callback(cpu, count)`` each loss report.
    ``page_count`` data pages per CPU (a power of two, as the kernel requires). ``cpus``
    overrides the CPUs (default: online CPUs below the map's ``max_entries``). A callback
    returning anything but None/0/False stops the pass, as for ring buffers.
    """

    def __init__(self, map: Any, callback: SampleCallback, lost_callback: LostCallback | None = None,
                 page_count: int = 8, *, type: Any = None, btf: Any = None,
                 cpus: list[int] | None = None, wakeup_events: int = 1) -> None:
        if page_count <= 0 or page_count & (page_count - 1):
            raise InvalidArgumentError(f"perf buffer: page_count must be a power of 2, not {page_count}")
        if callback is None:
            raise InvalidArgumentError("perf buffer: a sample callback is required")
        m, owned = _as_map(map, int(uapi.BPF_MAP_TYPE_PERF_EVENT_ARRAY), "perf buffer")
        self.map = m
        self._owned = owned
        self.callback = callback
        self.lost_callback = lost_callback
        self.lost = 0
        self.other_records = 0
        self.page_count = page_count
        self.buffers: list[CPUBuffer] = []
        self._epoll: Epoll | None = None
        try:
            self.type: RecordType = record_type(type, btf=btf, map=m, what=f"perf buffer {m._label()}")
            self._epoll = Epoll(f"perf buffer {m._label()}")
            if cpus is None:
                cpus = [c for c in online_cpus() if c < m.max_entries]
            for cpu in cpus:
                if cpu >= m.max_entries:
                    raise InvalidArgumentError(f"perf buffer: CPU {cpu} is beyond {m._label()}'s "
                                               f"{m.max_entries} entries")
                buf = CPUBuffer(self, cpu, page_count, wakeup_events)
                self.buffers.append(buf)
                m.update(cpu.to_bytes(4, sys.byteorder), buf.fileno())
                perf_event_ioctl(buf.fileno(), consts.PERF_EVENT_IOC_ENABLE, 0, what=buf.what)
                self._epoll.register(buf.fileno(), EPOLLIN, buf, what=buf.what)
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        return self._epoll is None

    def _check(self) -> Epoll:
        if self._epoll is None:
            raise ClosedError(f"perf buffer {self.map._label()} is closed")
        return self._epoll

    def fileno(self) -> int:
        """The epoll descriptor: readable when a CPU's ring has data (for selectors/asyncio)."""
        return self._check().fileno()

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever) for samples, then handle the rings
        that have some; returns the number of samples (or a callback's stop value)."""
        ep = self._check()
        total = 0
        for buf, _ in ep.wait(timeout, len(self.buffers) or 1):
            n, stop = buf._consume()
            total += n
            if stop:
                return stop
        return total

    def consume(self) -> int:
        """Handle every ring's records without waiting; returns the number of samples."""
        self._check()
        total = 0
        for buf in self.buffers:
            n, stop = buf._consume()
            total += n
            if stop:
                return stop
        return total

    def consume_buffer(self, cpu: int) -> int:
        """Handle the records of one CPU's ring."""
        self._check()
        for buf in self.buffers:
            if buf.cpu == cpu:
                n, stop = buf._consume()
                return stop if stop else n
        raise InvalidArgumentError(f"perf buffer has no ring for CPU {cpu}")

    def close(self) -> None:
        """Remove the events from the map, unmap and close them, close epoll (idempotent)."""
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        for buf in self.buffers:
            if not self.map.closed and buf.fd is not None:
                try:
                    self.map.delete(buf.cpu.to_bytes(4, sys.byteorder))
                except BPFError:
                    pass
            buf.close()
        self.buffers = []
        if self._owned:
            self.map.close()

    def __enter__(self) -> PerfBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PerfBuffer {self.map._label()} {len(self.buffers)} CPUs{' closed' if self.closed else ''}>"
