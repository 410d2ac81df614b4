"""Map operations per second: pybpf.Map against libbpf's bpf_map_* calls through ctypes.

The counterpart is what a thin Python binding over C libbpf does (libbpf.so.1 via ctypes: one
foreign call per element, bytes in, bytes out), on the same kernel map, in the same process,
sampled alternately. Keys are 4-byte ints, values 8 bytes, in a hash map of N elements.
``prog: test_run`` runs one small socket filter on a 64-byte packet through
Program.test_run and through bpf_prog_test_run_opts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import time

from harness import Metric, Skipped, missing

_LIBBPF_CANDIDATES = ("libbpf.so.1", "/usr/lib/x86_64-linux-gnu/libbpf.so.1")


class _TestRunOpts(ctypes.Structure):
    """libbpf's struct bpf_test_run_opts (bpf.h)."""

    _fields_ = [("sz", ctypes.c_size_t), ("data_in", ctypes.c_void_p), ("data_out", ctypes.c_void_p),
                ("data_size_in", ctypes.c_uint32), ("data_size_out", ctypes.c_uint32),
                ("ctx_in", ctypes.c_void_p), ("ctx_out", ctypes.c_void_p),
                ("ctx_size_in", ctypes.c_uint32), ("ctx_size_out", ctypes.c_uint32),
                ("retval", ctypes.c_uint32), ("repeat", ctypes.c_int), ("duration", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("batch_size", ctypes.c_uint32)]


# r0 = 7; exit: a socket filter that accepts 7 bytes of every packet.
_PROG = struct.pack("<BBhi", 0xB7, 0, 0, 7) + struct.pack("<BBhi", 0x95, 0, 0, 0)
_PACKET = bytes(range(64))
BATCH = 1024  # elements per batch call, both sides


def _libbpf():
    for name in _LIBBPF_CANDIDATES:
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        lib.bpf_map_lookup_elem.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        lib.bpf_map_update_elem.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64]
        lib.bpf_map_get_next_key.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        lib.bpf_map_lookup_batch.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p]
        lib.bpf_map_update_batch.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p]
        lib.bpf_prog_test_run_opts.argtypes = [ctypes.c_int, ctypes.POINTER(_TestRunOpts)]
        return lib
    return None


class _Bench:
    """One hash map shared by both sides, created lazily on first sample."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.map = None
        self.prog = None
        self.runs = n // 4
        self.lib = _libbpf()
        self.keys = [struct.pack("<I", i) for i in range(n)]
        self.values = [struct.pack("<Q", i * 3) for i in range(n)]

    def ensure_prog(self):
        if self.prog is None:
            from pybpf import Program

            self.prog = Program.load("socket_filter", _PROG, name="bench_run")
        return self.prog

    def ensure(self):
        if self.map is None:
            from pybpf import Map

            self.map = Map.create("hash", 4, 8, self.n, name="bench_ops")
            for k, v in zip(self.keys, self.values):
                self.map.update(k, v)
        return self.map

    # ----------------------------------------------------------------- pybpf side
    def py_lookup(self) -> float:
        m = self.ensure()
        lookup = m.lookup
        start = time.perf_counter()
        for k in self.keys:
            lookup(k)
        return self.n / (time.perf_counter() - start)

    def py_update(self) -> float:
        m = self.ensure()
        update = m.update
        start = time.perf_counter()
        for k, v in zip(self.keys, self.values):
            update(k, v)
        return self.n / (time.perf_counter() - start)

    def py_iterate(self) -> float:
        m = self.ensure()
        start = time.perf_counter()
        count = sum(1 for _ in m.items())
        assert count == self.n, count
        return self.n / (time.perf_counter() - start)

    def py_batch(self) -> float:
        m = self.ensure()
        start = time.perf_counter()
        count = sum(1 for _ in m.items_batch(1024))
        assert count == self.n, count
        return self.n / (time.perf_counter() - start)

    def py_batch_update(self) -> float:
        m = self.ensure()
        keys, values = self.keys, self.values
        start = time.perf_counter()
        done = 0
        for i in range(0, self.n, BATCH):
            done += m.update_batch(keys[i:i + BATCH], values[i:i + BATCH])
        assert done == self.n, done
        return self.n / (time.perf_counter() - start)

    def py_test_run(self) -> float:
        test_run = self.ensure_prog().test_run
        start = time.perf_counter()
        for _ in range(self.runs):
            test_run(_PACKET)
        return self.runs / (time.perf_counter() - start)

    # ----------------------------------------------------------------- libbpf (ctypes) side
    def c_lookup(self) -> float:
        fd = self.ensure().fileno()
        lib = self.lib
        start = time.perf_counter()
        for k in self.keys:
            kb = ctypes.create_string_buffer(k, 4)
            vb = ctypes.create_string_buffer(8)
            if lib.bpf_map_lookup_elem(fd, kb, vb):
                raise OSError(ctypes.get_errno(), "bpf_map_lookup_elem")
            vb.raw
        return self.n / (time.perf_counter() - start)

    def c_update(self) -> float:
        fd = self.ensure().fileno()
        lib = self.lib
        start = time.perf_counter()
        for k, v in zip(self.keys, self.values):
            kb = ctypes.create_string_buffer(k, 4)
            vb = ctypes.create_string_buffer(v, 8)
            if lib.bpf_map_update_elem(fd, kb, vb, 0):
                raise OSError(ctypes.get_errno(), "bpf_map_update_elem")
        return self.n / (time.perf_counter() - start)

    def c_iterate(self) -> float:
        fd = self.ensure().fileno()
        lib = self.lib
        start = time.perf_counter()
        count = 0
        prev = None
        while True:
            nb = ctypes.create_string_buffer(4)
            if lib.bpf_map_get_next_key(fd, prev, nb):
                break
            vb = ctypes.create_string_buffer(8)
            if lib.bpf_map_lookup_elem(fd, nb, vb) == 0:
                (nb.raw, vb.raw)
                count += 1
            prev = nb
        assert count == self.n, count
        return self.n / (time.perf_counter() - start)

    def c_batch(self) -> float:
        fd = self.ensure().fileno()
        lib = self.lib
        start = time.perf_counter()
        count = 0
        keys = ctypes.create_string_buffer(4 * 1024)
        values = ctypes.create_string_buffer(8 * 1024)
        in_batch = None
        out_batch = ctypes.c_uint32()
        while True:
            n = ctypes.c_uint32(1024)
            ret = lib.bpf_map_lookup_batch(fd, in_batch, ctypes.byref(out_batch), keys, values,
                                           ctypes.byref(n), None)
            kr, vr = keys.raw, values.raw
            got = [(kr[i * 4:i * 4 + 4], vr[i * 8:i * 8 + 8]) for i in range(n.value)]
            count += len(got)
            if ret:
                if ctypes.get_errno() == 2:  # ENOENT: done
                    break
                raise OSError(ctypes.get_errno(), "bpf_map_lookup_batch")
            in_batch = ctypes.byref(ctypes.c_uint32(out_batch.value))
        assert count == self.n, count
        return self.n / (time.perf_counter() - start)


    def c_batch_update(self) -> float:
        fd = self.ensure().fileno()
        lib = self.lib
        keys, values = self.keys, self.values
        start = time.perf_counter()
        done = 0
        for i in range(0, self.n, BATCH):
            kb = ctypes.create_string_buffer(b"".join(keys[i:i + BATCH]))
            vb = ctypes.create_string_buffer(b"".join(values[i:i + BATCH]))
            count = ctypes.c_uint32(len(keys[i:i + BATCH]))
            if lib.bpf_map_update_batch(fd, kb, vb, ctypes.byref(count), None):
                raise OSError(ctypes.get_errno(), "bpf_map_update_batch")
            done += count.value
        assert done == self.n, done
        return self.n / (time.perf_counter() - start)

    def c_test_run(self) -> float:
        fd = self.ensure_prog().fileno()
        lib = self.lib
        start = time.perf_counter()
        for _ in range(self.runs):
            din = ctypes.create_string_buffer(_PACKET, len(_PACKET))
            dout = ctypes.create_string_buffer(len(_PACKET) + 256)
            opts = _TestRunOpts(sz=ctypes.sizeof(_TestRunOpts), data_in=ctypes.addressof(din),
                                data_size_in=len(_PACKET), data_out=ctypes.addressof(dout),
                                data_size_out=len(dout))
            if lib.bpf_prog_test_run_opts(fd, ctypes.byref(opts)):
                raise OSError(ctypes.get_errno(), "bpf_prog_test_run_opts")
            (opts.retval, dout.raw[:opts.data_size_out])
        return self.runs / (time.perf_counter() - start)


def subjects(smoke: bool):
    why = missing(("root", "libbpf.so.1"))
    if why:
        return [Skipped("map: lookup, update, iterate, batch; prog: test_run", why)]
    b = _Bench(100 if smoke else 20000)
    label = "libbpf+ctypes"
    return [
        Metric("map: lookup", "op/s", b.py_lookup, b.c_lookup, b_label=label,
               what=f"Map.lookup vs bpf_map_lookup_elem, hash map of {b.n}"),
        Metric("map: update", "op/s", b.py_update, b.c_update, b_label=label,
               what=f"Map.update vs bpf_map_update_elem, {b.n} existing keys"),
        Metric("map: iterate", "elem/s", b.py_iterate, b.c_iterate, b_label=label,
               what="Map.items() vs get_next_key + lookup loop"),
        Metric("map: batch iterate", "elem/s", b.py_batch, b.c_batch, b_label=label,
               what="Map.items_batch(1024) vs bpf_map_lookup_batch"),
        Metric("map: batch update", "elem/s", b.py_batch_update, b.c_batch_update, b_label=label,
               what=f"Map.update_batch vs bpf_map_update_batch, {BATCH} existing keys per call"),
        Metric("prog: test_run", "run/s", b.py_test_run, b.c_test_run, b_label=label,
               what="Program.test_run vs bpf_prog_test_run_opts, 64-byte packet"),
    ]
