"""``UserRingBuffer``: the producer side of ``BPF_MAP_TYPE_USER_RINGBUF`` maps (Linux 6.1+).

User space writes records; a BPF program drains them with ``bpf_user_ringbuf_drain()``. The
layout is the ring buffer's (see :mod:`pybpf.events.ringbuf`) with the roles swapped: the
consumer page is mapped read-only (the kernel owns it), the producer page and the double-mapped
data area read-write. As in libbpf:

* :meth:`UserRingBuffer.reserve` writes the record header with the BUSY bit, then publishes
  the new producer position (an aligned 8-byte store: a release store on x86-64); the kernel
  stops at a BUSY record;
* :meth:`UserRingBuffer.submit` / :meth:`UserRingBuffer.discard` clear BUSY (and set DISCARD)
  with one aligned 4-byte store, after the sample's bytes were written;
* :meth:`UserRingBuffer.reserve_blocking` waits on epoll (EPOLLOUT, which the kernel signals
  after a drain) until space frees up or the timeout passes.

Samples may be reserved and submitted in any order; one producer thread at a time.
"""

from __future__ import annotations

import errno as _errno
import time
from typing import Any

from pybpf.errors import ClosedError, InvalidArgumentError, NoSpaceError
from pybpf.events.ringbuf import BUSY_BIT, DISCARD_BIT, HEADER_SIZE, _as_map
from pybpf.sys.epoll import EPOLLET, EPOLLOUT, Epoll
from pybpf.sys.mmaps import PAGE_SIZE, map_shared, unmap

__all__ = ["UserRingBuffer", "Sample", "MAX_SAMPLE_SIZE"]

#: The kernel hands samples to programs as dynptrs, which cannot exceed 16 MiB - 1.
MAX_SAMPLE_SIZE = (1 << 24) - 1


class Sample:
    """A reserved record: write its bytes through :attr:`data` (a writable ``memoryview``),
    then :meth:`submit` or :meth:`discard` it."""

    __slots__ = ("_rb", "_hdr_index", "data", "size")

    def __init__(self, rb: UserRingBuffer, hdr_index: int, data: memoryview, size: int) -> None:
        self._rb = rb
        self._hdr_index = hdr_index
        self.data = data
        self.size = size

    @property
    def pending(self) -> bool:
        """True until submitted or discarded."""
        return self._hdr_index >= 0

    def submit(self) -> None:
        """Make the record visible to the draining program."""
        self._rb.submit(self)

    def discard(self) -> None:
        """Drop the record (the program skips it)."""
        self._rb.discard(self)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<Sample {self.size} bytes{' pending' if self.pending else ''}>"


class UserRingBuffer:
    """Writer of a user ring buffer map (a :class:`pybpf.Map` or a descriptor)."""

    def __init__(self, map: Any) -> None:
        from pybpf.sys import uapi

        m, owned = _as_map(map, int(uapi.BPF_MAP_TYPE_USER_RINGBUF), "user ring buffer")
        self.map = m
        self._owned = owned
        self.size = int(m.max_entries)
        self._mask = self.size - 1
        self.what = f"user ring buffer {m._label()}"
        self._cons = self._prod = None
        self._epoll: Epoll | None = None
        try:
            self._cons = map_shared(m.fileno(), PAGE_SIZE, 0, what=self.what)
            self._prod = map_shared(m.fileno(), PAGE_SIZE + 2 * self.size, PAGE_SIZE, write=True,
                                    what=self.what)
            self._epoll = Epoll(self.what)
            # Edge-triggered: a wait returns after the next drain instead of spinning while the
            # ring is merely not full (the kernel reports EPOLLOUT whenever it is not full).
            self._epoll.register(m.fileno(), EPOLLOUT | EPOLLET, what=self.what)
        except BaseException:
            self._teardown()
            raise
        self._cons_q = memoryview(self._cons).cast("Q")
        self._prod_b = memoryview(self._prod)
        self._prod_q = self._prod_b.cast("Q")
        self._words = self._prod_b.cast("I")

    def _check(self) -> None:
        if self._epoll is None:
            raise ClosedError(f"{self.what} is closed")

    @property
    def closed(self) -> bool:
        return self._epoll is None

    @property
    def avail(self) -> int:
        """Free bytes (record headers and 8-byte padding included)."""
        self._check()
        return self.size - (self._prod_q[0] - self._cons_q[0])

    def fileno(self) -> int:
        """An epoll descriptor that becomes readable after the kernel drained records."""
        self._check()
        assert self._epoll is not None
        return self._epoll.fileno()

    # ------------------------------------------------------------------ producing

    def _reserve(self, size: int) -> Sample | int:
        """A sample, or the errno (E2BIG, ENOSPC) why there is none."""
        if size < 0 or size & (BUSY_BIT | DISCARD_BIT) or size > MAX_SAMPLE_SIZE:
            return _errno.E2BIG
        total = (size + HEADER_SIZE + 7) & ~7
        if total > self.size:
            return _errno.E2BIG
        cons = self._cons_q[0]
        prod = self._prod_q[0]
        if self.size - (prod - cons) < total:
            return _errno.ENOSPC
        off = PAGE_SIZE + (prod & self._mask)
        words = self._words
        words[off >> 2] = size | BUSY_BIT
        words[(off >> 2) + 1] = 0
        self._prod_q[0] = prod + total          # publish (release store)
        start = off + HEADER_SIZE
        return Sample(self, off >> 2, self._prod_b[start: start + size], size)

    def _fail(self, err: int, size: int) -> NoSpaceError:
        if err == _errno.E2BIG:
            return NoSpaceError(f"{self.what}: a sample of {size} bytes can never fit "
                                f"(ring of {self.size} bytes, samples up to {MAX_SAMPLE_SIZE} bytes)",
                                errno=err)
        return NoSpaceError(f"{self.what}: no room for a sample of {size} bytes "
                            f"({self.avail} bytes free)", errno=err)

    def reserve(self, size: int) -> Sample:
        """Reserve a sample of ``size`` bytes. :class:`~pybpf.errors.NoSpaceError` with errno
        ENOSPC when the ring is too full now, E2BIG when it can never fit."""
        self._check()
        got = self._reserve(int(size))
        if isinstance(got, int):
            raise self._fail(got, size)
        return got

    def reserve_blocking(self, size: int, timeout: float | None = None) -> Sample:
        """:meth:`reserve`, waiting up to ``timeout`` seconds (None: forever) for the draining
        program to make room. Raises :class:`~pybpf.errors.NoSpaceError` (ENOSPC) on timeout."""
        self._check()
        if timeout is not None and timeout < 0:
            raise InvalidArgumentError(f"{self.what}: negative timeout {timeout}")
        deadline = None if timeout is None else time.monotonic() + timeout
        assert self._epoll is not None
        while True:
            got = self._reserve(int(size))
            if not isinstance(got, int):
                return got
            if got != _errno.ENOSPC:
                raise self._fail(got, size)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise self._fail(got, size)
            self._epoll.wait(remaining, 1)

    def _commit(self, sample: Sample, discard: bool) -> None:
        self._check()
        if sample._rb is not self:
            raise InvalidArgumentError(f"{self.what}: sample belongs to another ring buffer")
        idx = sample._hdr_index
        if idx < 0:
            raise InvalidArgumentError(f"{self.what}: sample was already submitted or discarded")
        sample._hdr_index = -1
        try:
            sample.data.release()
        except BufferError:
            pass  # the caller still holds a view of it; the bytes are final all the same
        self._words[idx] = sample.size | (DISCARD_BIT if discard else 0)   # release store

    def submit(self, sample: Sample) -> None:
        """Hand a reserved sample to the kernel."""
        self._commit(sample, False)

    def discard(self, sample: Sample) -> None:
        """Give a reserved sample back; the draining program skips it."""
        self._commit(sample, True)

    def write(self, data: Any, timeout: float | None = 0) -> None:
        """Reserve, copy ``data`` (bytes-like) and submit in one call. ``timeout`` as for
        :meth:`reserve_blocking` (0: fail at once when there is no room)."""
        raw = memoryview(data).cast("B")
        sample = self.reserve(len(raw)) if timeout == 0 else self.reserve_blocking(len(raw), timeout)
        sample.data[:] = raw
        self.submit(sample)

    # ------------------------------------------------------------------ teardown

    def _teardown(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        unmap(self._prod)
        unmap(self._cons)
        if self._owned:
            self.map.close()

    def close(self) -> None:
        """Unmap the ring and close the epoll instance (safe to call twice). Samples still
        reserved are left BUSY: the kernel will not drain past them."""
        if self._epoll is None:
            return
        for v in (self._words, self._prod_q, self._prod_b, self._cons_q):
            try:
                v.release()
            except BufferError:
                pass
        self._teardown()

    def __enter__(self) -> UserRingBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<UserRingBuffer {self.what}{' closed' if self.closed else ''}>"
