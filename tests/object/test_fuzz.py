"""Fuzzing ObjectSpec.from_bytes: random bytes and mutated real objects raise pybpf errors only
(never IndexError, struct.error, RecursionError, UnicodeError... and never crash)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.errors import BPFError
from pybpf.object import ObjectSpec

SEEDS = ("obj_calls", "obj_maps", "obj_externs", "obj_globals")


@pytest.fixture(scope="module")
def seeds(request):
    build = request.getfixturevalue("build")
    out = {}
    for name in SEEDS:
        with open(build(name), "rb") as f:
            out[name] = f.read()
    return out


def _open(data: bytes) -> None:
    try:
        spec = ObjectSpec.from_bytes(data, name="fuzz")
    except BPFError:
        return
    # whatever opened must also describe itself without crashing
    from pybpf.object.dump import describe

    try:
        describe(spec)
    except BPFError:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    _open(data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=2048))
def test_random_bytes_with_elf_header(tail):
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[4:7] = b"\x02\x01\x01"
    struct.pack_into("<HHI", header, 16, 1, 247, 1)
    _open(bytes(header) + tail)


def _interesting_offsets(data: bytes) -> list[int]:
    """ELF header, section headers, and the first bytes of every section (where a flip hurts)."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, = struct.unpack_from("<H", data, 0x3C)
    offs = list(range(0, 64)) + list(range(shoff, min(len(data), shoff + shnum * 64)))
    for i in range(shnum):
        off, size = struct.unpack_from("<QQ", data, shoff + i * 64 + 24)
        offs.extend(range(off, min(off + min(size, 256), len(data))))
    return [o for o in offs if o < len(data)]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)
@given(st.data())
def test_mutated_objects(seeds, data):
    name = data.draw(st.sampled_from(SEEDS))
    raw = bytearray(seeds[name])
    offsets = _interesting_offsets(bytes(raw))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.sampled_from(offsets))
        raw[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    _open(bytes(raw))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)
@given(st.data())
def test_mutated_btf(seeds, data):
    """Flips inside .BTF and .BTF.ext, where the parser must stay careful longest."""
    name = data.draw(st.sampled_from(SEEDS))
    raw = bytearray(seeds[name])
    shoff, = struct.unpack_from("<Q", raw, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", raw, 0x3C)
    str_off, = struct.unpack_from("<Q", raw, shoff + shstrndx * 64 + 24)
    ranges = []
    for i in range(shnum):
        name_off, = struct.unpack_from("<I", raw, shoff + i * 64)
        start = str_off + name_off
        sec = bytes(raw[start:raw.index(b"\0", start)])
        if sec in (b".BTF", b".BTF.ext", b".maps"):
            off, size = struct.unpack_from("<QQ", raw, shoff + i * 64 + 24)
            ranges.append((off, size))
    for _ in range(data.draw(st.integers(1, 6))):
        off, size = data.draw(st.sampled_from(ranges))
        pos = off + data.draw(st.integers(0, max(0, size - 1)))
        raw[pos] = data.draw(st.integers(0, 255))
    _open(bytes(raw))
