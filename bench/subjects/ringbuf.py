"""Ring and perf buffer throughput: pybpf's consumers beside libbpf's, in process.

What is measured: a BPF program (XDP, hand-assembled here so no compiler is needed) fills the
buffer with N records of PAYLOAD bytes (or, for the "mixed sizes" figures, of sizes between
PAYLOAD/2 and PAYLOAD - 1 hashed from the record's number, the same sequence for every
consumer) through BPF_PROG_TEST_RUN (not timed), then one consumer drains all N; the figure is
records per second of that drain. Every consumer hands
each record's bytes to the same trivial Python function, except the batch/numpy readers
(which return them all at once) and the plain C consumer (a C callback copying each record).

Sides, all on the same map in the same process, alternating run by run:

* pybpf callback API — ``RingBuffer(map, handle).consume()``;
* libbpf's C ring buffer with a Python callback — ``ring_buffer__new``/``__consume`` from
  libbpf.so.1 through ctypes, the callback a ``CFUNCTYPE`` that passes
  ``ctypes.string_at(data, size)`` to ``handle`` (the bcc / pylibbpf approach);
* pybpf batch API — ``read_batch(out)`` into a preallocated buffer (records back to back,
  headers stripped), ``read_batch(out, headers=True)`` (the ring's bytes as they are, one copy
  per run), numpy ``read_array``;
* a plain C consumer — libbpf with a C callback (bench/c/ringbuf_consumer.c, built with gcc
  at benchmark time).

Perf buffers likewise: pybpf ``PerfBuffer`` against libbpf's ``perf_buffer`` with a Python
callback and with a C callback (the producer is pinned to one CPU while it fills).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import shutil
import struct
import subprocess
import tempfile
import time
from typing import Any, Callable

from harness import Metric

PAYLOAD = 64                      # bytes per record (a small tracing event)
_INSN = struct.Struct("<BBhi")
XDP_IN = bytes(64)
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return _INSN.pack(code, (dst & 0xF) | ((src & 0xF) << 4), off, imm)


def _producer_insns(map_fd: int, helper: int, perf: bool, counter_fd: int | None = None) -> bytes:
    """XDP: zero a PAYLOAD-byte stack buffer, output it, return PASS.

    ringbuf: bpf_ringbuf_output(&map, buf, size, BPF_RB_NO_WAKEUP)
    perf:    bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, buf, size)
    size is PAYLOAD, or with ``counter_fd`` (the "mixed sizes" producers) a size between
    PAYLOAD/2 and PAYLOAD - 1 derived from the n-th run's number n, kept in that array map:
    ((n * 0x9E3779B1) >> 16) % (PAYLOAD/2) + PAYLOAD/2. The sequence restarts when the
    counter is reset, so every consumer drains exactly the same records.
    """
    mixed = counter_fd is not None
    code = _insn(0xBF, 6, 1)                                # r6 = ctx
    for off in range(-PAYLOAD, 0, 8):
        code += _insn(0x7A, 10, 0, off, 0)                  # *(u64 *)(r10 + off) = 0
    if mixed:
        code += _insn(0x62, 10, 0, -PAYLOAD - 8, 0)         # *(u32 *)(r10 - 72) = 0 (key)
        code += _insn(0x18, 1, 1, 0, counter_fd) + _insn(0, 0, 0, 0, 0)
        code += _insn(0xBF, 2, 10) + _insn(0x07, 2, 0, 0, -PAYLOAD - 8)
        code += _insn(0x85, 0, 0, 0, 1)                     # r0 = bpf_map_lookup_elem()
        code += _insn(0x55, 0, 0, 2, 0)                     # if r0 != 0 goto +2
        code += _insn(0xB7, 0, 0, 0, 2) + _insn(0x95)       # return XDP_PASS
        code += _insn(0x79, 7, 0, 0, 0)                     # r7 = *(u64 *)r0
        code += _insn(0x07, 7, 0, 0, 1)                     # r7 += 1
        code += _insn(0x7B, 0, 7, 0, 0)                     # *(u64 *)r0 = r7
        code += _insn(0x27, 7, 0, 0, -0x61C8864F)           # r7 *= 0x9E3779B1
        code += _insn(0x77, 7, 0, 0, 16)                    # r7 >>= 16
        code += _insn(0x57, 7, 0, 0, PAYLOAD // 2 - 1)      # r7 &= PAYLOAD/2 - 1
        code += _insn(0x07, 7, 0, 0, PAYLOAD // 2)          # r7 += PAYLOAD/2
    if perf:
        code += _insn(0xBF, 1, 6)                           # r1 = ctx
        code += _insn(0x18, 2, 1, 0, map_fd) + _insn(0, 0, 0, 0, 0)   # r2 = map
        code += _insn(0xB7, 3, 0, 0, -1)                    # r3 = BPF_F_CURRENT_CPU (u32 max)
        code += _insn(0x67, 3, 0, 0, 32) + _insn(0x77, 3, 0, 0, 32)   # zero-extend
        code += _insn(0xBF, 4, 10) + _insn(0x07, 4, 0, 0, -PAYLOAD)   # r4 = buf
        code += _insn(0xBF, 5, 7) if mixed else _insn(0xB7, 5, 0, 0, PAYLOAD)   # r5 = size
    else:
        code += _insn(0x18, 1, 1, 0, map_fd) + _insn(0, 0, 0, 0, 0)   # r1 = map
        code += _insn(0xBF, 2, 10) + _insn(0x07, 2, 0, 0, -PAYLOAD)   # r2 = buf
        code += _insn(0xBF, 3, 7) if mixed else _insn(0xB7, 3, 0, 0, PAYLOAD)   # r3 = size
        code += _insn(0xB7, 4, 0, 0, 1)                     # r4 = BPF_RB_NO_WAKEUP
    code += _insn(0x85, 0, 0, 0, helper)
    code += _insn(0xB7, 0, 0, 0, 2) + _insn(0x95)           # return XDP_PASS
    return code


class _Setup:
    """Maps, producer programs and consumers, made on first use and closed at exit."""

    def __init__(self, n: int) -> None:
        from pybpf import Map, Program
        from pybpf.sys import uapi

        self.n = n
        slot = (PAYLOAD + 8 + 7) & ~7
        ring = 1 << max(16, (n * slot).bit_length())
        self.rb_map = Map.create("ringbuf", 0, 0, ring, name="bench_rb")
        self.counter = Map.create("array", 4, 8, 1, name="bench_seq")
        ring_out, perf_out = int(uapi.BPF_FUNC_ringbuf_output), int(uapi.BPF_FUNC_perf_event_output)
        self.rb_prog = Program.load("xdp", _producer_insns(self.rb_map.fileno(), ring_out, False),
                                    "GPL", name="bench_rb_out")
        self.rb_mixed = Program.load("xdp", _producer_insns(self.rb_map.fileno(), ring_out, False,
                                                            self.counter.fileno()),
                                     "GPL", name="bench_rb_mixed")
        perf_rec = 8 + 4 + ((PAYLOAD + 4 + 7) & ~7) - 4
        self.perf_pages = 1 << max(0, (n * perf_rec // 4096).bit_length())
        ncpu = os.cpu_count() or 1
        self.perf_map = Map.create("perf_event_array", 4, 4, max(ncpu, 1), name="bench_perf")
        self.perf_prog = Program.load("xdp", _producer_insns(self.perf_map.fileno(), perf_out, True),
                                      "GPL", name="bench_perf_out")
        self.perf_mixed = Program.load("xdp", _producer_insns(self.perf_map.fileno(), perf_out, True,
                                                              self.counter.fileno()),
                                       "GPL", name="bench_perf_mixed")
        self.count = [0]
        count = self.count

        def handle(record: Any) -> None:      # the user's callback, the same on every side
            count[0] += 1

        self.handle = handle
        self._closers: list[Callable[[], None]] = [self.rb_prog.close, self.rb_mixed.close,
                                                   self.rb_map.close, self.perf_prog.close,
                                                   self.perf_mixed.close, self.perf_map.close,
                                                   self.counter.close]
        atexit.register(self.close)
        self._rb: Any = None
        self._pb: Any = None
        self._lib: Any = None
        self._c: Any = None

    # ---------------------------------------------------------------- producers

    def fill_ring(self) -> None:
        self.rb_prog.test_run(XDP_IN, repeat=self.n)

    def fill_ring_mixed(self) -> None:
        self.counter.update(bytes(4), bytes(8))         # the same sizes for every consumer
        self.rb_mixed.test_run(XDP_IN, repeat=self.n)

    def fill_perf(self, prog: Any = None) -> None:
        old = os.sched_getaffinity(0)
        cpu = min(old)
        os.sched_setaffinity(0, {cpu})
        try:
            (prog or self.perf_prog).test_run(XDP_IN, repeat=self.n)
        finally:
            os.sched_setaffinity(0, old)

    def fill_perf_mixed(self) -> None:
        self.counter.update(bytes(4), bytes(8))
        self.fill_perf(self.perf_mixed)

    # ---------------------------------------------------------------- consumers

    def pybpf_ring(self) -> Any:
        if self._rb is None:
            from pybpf.events import RingBuffer

            self._rb = RingBuffer(self.rb_map, self.handle)
            self._closers.insert(0, self._rb.close)
            self._out = bytearray(self.n * PAYLOAD)
            self._out_raw = bytearray(self.n * ((PAYLOAD + 15) & ~7))
        return self._rb

    def pybpf_perf(self) -> Any:
        if self._pb is None:
            from pybpf.events import PerfBuffer

            handle = self.handle
            self._pb = PerfBuffer(self.perf_map, lambda cpu, data: handle(data), page_count=self.perf_pages)
            self._closers.insert(0, self._pb.close)
        return self._pb

    def libbpf(self) -> Any:
        if self._lib is None:
            lib = ctypes.CDLL(ctypes.util.find_library("bpf") or "libbpf.so.1")
            self.ring_cb_t = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
            self.perf_cb_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                              ctypes.c_uint32)
            lib.ring_buffer__new.restype = ctypes.c_void_p
            lib.ring_buffer__new.argtypes = [ctypes.c_int, self.ring_cb_t, ctypes.c_void_p, ctypes.c_void_p]
            lib.ring_buffer__consume.argtypes = [ctypes.c_void_p]
            lib.ring_buffer__free.argtypes = [ctypes.c_void_p]
            lib.perf_buffer__new.restype = ctypes.c_void_p
            lib.perf_buffer__new.argtypes = [ctypes.c_int, ctypes.c_size_t, self.perf_cb_t, ctypes.c_void_p,
                                             ctypes.c_void_p, ctypes.c_void_p]
            lib.perf_buffer__consume.argtypes = [ctypes.c_void_p]
            lib.perf_buffer__free.argtypes = [ctypes.c_void_p]
            handle = self.handle
            string_at = ctypes.string_at

            def on_ring(ctx: Any, data: int, size: int) -> int:
                handle(string_at(data, size))
                return 0

            def on_perf(ctx: Any, cpu: int, data: int, size: int) -> None:
                handle(string_at(data, size))

            self._ring_cb = self.ring_cb_t(on_ring)
            self._perf_cb = self.perf_cb_t(on_perf)
            self._lib = lib
        return self._lib

    def c_helper(self) -> Any:
        """The gcc-built plain C consumer (None when gcc or libbpf's headers are missing)."""
        if self._c is None:
            cc = shutil.which("gcc") or shutil.which("cc")
            if cc is None or not os.path.exists("/usr/include/bpf/libbpf.h"):
                self._c = False
                return None
            tmp = tempfile.mkdtemp(prefix="pybpf-bench-")
            atexit.register(shutil.rmtree, tmp, True)
            so = os.path.join(tmp, "ringbuf_consumer.so")
            proc = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", so,
                                   os.path.join(HERE, "c", "ringbuf_consumer.c"), "-lbpf"],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"building the C consumer failed: {proc.stderr}")
            c = ctypes.CDLL(so)
            c.bench_ring_new.restype = ctypes.c_void_p
            c.bench_ring_new.argtypes = [ctypes.c_int]
            c.bench_ring_consume.argtypes = [ctypes.c_void_p]
            c.bench_ring_free.argtypes = [ctypes.c_void_p]
            c.bench_perf_new.restype = ctypes.c_void_p
            c.bench_perf_new.argtypes = [ctypes.c_int, ctypes.c_size_t]
            c.bench_perf_consume.argtypes = [ctypes.c_void_p]
            c.bench_perf_free.argtypes = [ctypes.c_void_p]
            c.bench_take_records.restype = ctypes.c_ulonglong
            self._c = c
        return self._c or None

    def close(self) -> None:
        for close in self._closers:
            try:
                close()
            except Exception:
                pass
        self._closers = []

    # ---------------------------------------------------------------- samples

    def _timed(self, fill: Callable[[], None], drain: Callable[[], int]) -> float:
        fill()
        self.count[0] = 0
        start = time.perf_counter()
        got = drain()
        elapsed = time.perf_counter() - start
        if got != self.n:
            raise RuntimeError(f"consumer drained {got} records, expected {self.n}")
        return got / elapsed

    def ring_callback(self) -> float:
        rb = self.pybpf_ring()
        return self._timed(self.fill_ring, rb.consume)

    def ring_mixed_callback(self) -> float:
        rb = self.pybpf_ring()
        return self._timed(self.fill_ring_mixed, rb.consume)

    def ring_mixed_libbpf_python(self) -> float:
        lib = self.libbpf()
        rb = lib.ring_buffer__new(self.rb_map.fileno(), self._ring_cb, None, None)
        try:
            return self._timed(self.fill_ring_mixed, lambda: (lib.ring_buffer__consume(rb), self.count[0])[1])
        finally:
            lib.ring_buffer__free(rb)

    def ring_mixed_batch(self) -> float:
        rb = self.pybpf_ring()
        out = self._out
        return self._timed(self.fill_ring_mixed, lambda: rb.read_batch(out).count)

    def ring_mixed_batch_raw(self) -> float:
        rb = self.pybpf_ring()
        out = self._out_raw
        return self._timed(self.fill_ring_mixed, lambda: rb.read_batch(out, headers=True).count)

    def ring_batch(self) -> float:
        rb = self.pybpf_ring()
        out = self._out
        return self._timed(self.fill_ring, lambda: rb.read_batch(out).count)

    def ring_batch_raw(self) -> float:
        rb = self.pybpf_ring()
        out = self._out_raw
        return self._timed(self.fill_ring, lambda: rb.read_batch(out, headers=True).count)

    def ring_numpy(self) -> float:
        import numpy as np

        rb = self.pybpf_ring()
        dtype = np.dtype([("data", np.uint8, PAYLOAD)])
        out = np.empty(self.n, dtype)
        return self._timed(self.fill_ring, lambda: len(rb.read_array(dtype, out=out)))

    def ring_libbpf_python(self) -> float:
        lib = self.libbpf()
        rb = lib.ring_buffer__new(self.rb_map.fileno(), self._ring_cb, None, None)
        try:
            return self._timed(self.fill_ring, lambda: (lib.ring_buffer__consume(rb), self.count[0])[1])
        finally:
            lib.ring_buffer__free(rb)

    def ring_c(self) -> float:
        c = self.c_helper()
        rb = c.bench_ring_new(self.rb_map.fileno())
        try:
            c.bench_take_records()
            return self._timed(self.fill_ring, lambda: (c.bench_ring_consume(rb), c.bench_take_records())[1])
        finally:
            c.bench_ring_free(rb)

    def perf_callback(self) -> float:
        pb = self.pybpf_perf()
        return self._timed(self.fill_perf, lambda: (pb.consume(), self.count[0])[1])

    def perf_libbpf_python(self, fill: Callable[[], None] | None = None) -> float:
        lib = self.libbpf()
        pb = lib.perf_buffer__new(self.perf_map.fileno(), self.perf_pages, self._perf_cb, None, None, None)
        try:
            return self._timed(fill or self.fill_perf,
                               lambda: (lib.perf_buffer__consume(pb), self.count[0])[1])
        finally:
            lib.perf_buffer__free(pb)
            self._reattach_perf()

    def perf_mixed_callback(self) -> float:
        pb = self.pybpf_perf()
        return self._timed(self.fill_perf_mixed, lambda: (pb.consume(), self.count[0])[1])

    def perf_mixed_libbpf_python(self) -> float:
        return self.perf_libbpf_python(self.fill_perf_mixed)

    def perf_c(self) -> float:
        c = self.c_helper()
        pb = c.bench_perf_new(self.perf_map.fileno(), self.perf_pages)
        try:
            c.bench_take_records()
            return self._timed(self.fill_perf, lambda: (c.bench_perf_consume(pb), c.bench_take_records())[1])
        finally:
            c.bench_perf_free(pb)
            self._reattach_perf()

    def _reattach_perf(self) -> None:
        # libbpf's perf_buffer__free removes the CPU entries from the map: pybpf's PerfBuffer
        # opens its events again on its next use
        if self._pb is not None:
            self._pb.close()
            self._closers.remove(self._pb.close)
            self._pb = None


_SETUPS: dict[int, _Setup] = {}


def _setup(n: int) -> _Setup:
    if n not in _SETUPS:
        _SETUPS[n] = _Setup(n)
    return _SETUPS[n]


def _lazy(n: int, name: str) -> Callable[[], float]:
    return lambda: getattr(_setup(n), name)()


def subjects(smoke: bool):
    if os.geteuid() != 0:
        return []
    n = 2000 if smoke else 500_000
    pn = 2000 if smoke else 200_000
    what = f"records/s draining {n} records of {PAYLOAD} bytes"
    pwhat = f"records/s draining {pn} perf samples of {PAYLOAD} bytes (one CPU)"
    items = [
        Metric("ringbuf: callback API vs libbpf + Python callback", "ev/s",
               _lazy(n, "ring_callback"), _lazy(n, "ring_libbpf_python"),
               what=what + "; budget: ratio >= 2", b_label="libbpf C ring buffer + ctypes callback"),
        Metric("ringbuf: batch API (read_batch) vs libbpf + Python callback", "ev/s",
               _lazy(n, "ring_batch"), _lazy(n, "ring_libbpf_python"),
               what=what + "; budget: >= 5 M ev/s", b_label="libbpf C ring buffer + ctypes callback"),
    ]
    mixed = f"records/s draining {n} records of {PAYLOAD // 2}-{PAYLOAD - 1} bytes (varying sizes, the same for both)"
    items.append(Metric("ringbuf mixed sizes: callback API vs libbpf + Python callback", "ev/s",
                        _lazy(n, "ring_mixed_callback"), _lazy(n, "ring_mixed_libbpf_python"),
                        what=mixed + "; budget: ratio >= 2",
                        b_label="libbpf C ring buffer + ctypes callback"))
    items.append(Metric("ringbuf mixed sizes: batch API vs libbpf + Python callback", "ev/s",
                        _lazy(n, "ring_mixed_batch"), _lazy(n, "ring_mixed_libbpf_python"),
                        what=mixed + "; read_batch(out); budget: >= 5 M ev/s",
                        b_label="libbpf C ring buffer + ctypes callback"))
    items.append(Metric("ringbuf mixed sizes: batch API, headers kept, vs libbpf + Python callback",
                        "ev/s", _lazy(n, "ring_mixed_batch_raw"), _lazy(n, "ring_mixed_libbpf_python"),
                        what=mixed + "; read_batch(out, headers=True)",
                        b_label="libbpf C ring buffer + ctypes callback"))
    items.append(Metric("ringbuf: batch API, headers kept, vs libbpf + Python callback", "ev/s",
                        _lazy(n, "ring_batch_raw"), _lazy(n, "ring_libbpf_python"),
                        what=what + "; read_batch(out, headers=True)",
                        b_label="libbpf C ring buffer + ctypes callback"))
    try:
        import numpy  # noqa: F401
        items.append(Metric("ringbuf: numpy read_array vs libbpf + Python callback", "ev/s",
                            _lazy(n, "ring_numpy"), _lazy(n, "ring_libbpf_python"), what=what,
                            b_label="libbpf C ring buffer + ctypes callback"))
    except ImportError:
        pass
    if shutil.which("gcc") or shutil.which("cc"):
        items.append(Metric("ringbuf: batch API vs plain C consumer", "ev/s",
                            _lazy(n, "ring_batch"), _lazy(n, "ring_c"), what=what,
                            b_label="libbpf + C callback (gcc)"))
    items.append(Metric("perfbuf: callback API vs libbpf + Python callback", "ev/s",
                        _lazy(pn, "perf_callback"), _lazy(pn, "perf_libbpf_python"), what=pwhat,
                        b_label="libbpf perf_buffer + ctypes callback"))
    items.append(Metric("perfbuf mixed sizes: callback API vs libbpf + Python callback", "ev/s",
                        _lazy(pn, "perf_mixed_callback"), _lazy(pn, "perf_mixed_libbpf_python"),
                        what=f"records/s draining {pn} perf samples of {PAYLOAD // 2}-{PAYLOAD - 1} "
                             "bytes (one CPU)",
                        b_label="libbpf perf_buffer + ctypes callback"))
    if shutil.which("gcc") or shutil.which("cc"):
        items.append(Metric("perfbuf: callback API vs plain C consumer", "ev/s",
                            _lazy(pn, "perf_callback"), _lazy(pn, "perf_c"), what=pwhat,
                            b_label="libbpf perf_buffer + C callback (gcc)"))
    return items
