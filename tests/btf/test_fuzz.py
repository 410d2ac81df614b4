"""Property-based fuzzing: malformed BTF and .BTF.ext give BTFError or a valid result, never
another exception (IndexError, struct.error, RecursionError, UnicodeError, …), whatever is then
asked of the parsed types."""

from __future__ import annotations

import random
import struct

from hypothesis import HealthCheck, given, settings, strategies as st

from pybpf.btf import BTF, model as m
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.ctypes_view import ctype_for
from pybpf.btf.dump_raw import dump_json, dump_raw
from pybpf.btf.ext import BTFExt
from pybpf.btf.sanitize import BTFFeatures, sanitize
from pybpf.btf.values import decode, encode, format_value
from pybpf.errors import BTFError

from .test_builder import build_every_kind

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_btf() -> bytes:
    b = BTFBuilder()
    build_every_kind(b)
    return b.encode("<")


VALID = _valid_btf()
VALID_BE = BTFBuilder.from_btf(BTF.parse(VALID)).encode(">")


def _ext_blob() -> bytes:
    """A well-formed .BTF.ext (strings from VALID) to mutate."""
    e = "<"
    fi = struct.pack(e + "I", 8) + struct.pack(e + "II", 1, 2) + struct.pack(e + "II", 0, 17) + struct.pack(e + "II", 8, 17)
    li = struct.pack(e + "I", 16) + struct.pack(e + "II", 1, 1) + struct.pack(e + "IIII", 0, 1, 1, (7 << 10) | 3)
    cr = struct.pack(e + "I", 16) + struct.pack(e + "II", 1, 1) + struct.pack(e + "IIII", 8, 9, 1, 0)
    hdr = struct.pack(e + "HBBI", 0xEB9F, 1, 0, 32) + struct.pack(
        e + "6I", 0, len(fi), len(fi), len(li), len(fi) + len(li), len(cr))
    return hdr + fi + li + cr


EXT = _ext_blob()


def exercise(btf: BTF, ids: list[int] | None = None) -> None:
    """Ask everything of every type (or of ``ids``); only BTFError may come out."""
    def attempt(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BTFError:
            return None

    attempt(btf.decode_all)
    attempt(lambda: btf.table)
    attempt(dump_raw, btf)
    attempt(dump_json, btf)
    attempt(dump_json, btf, None, True)
    attempt(lambda: BTFBuilder.from_btf(btf).encode(">"))
    attempt(sanitize, bytes(btf.raw), BTFFeatures.none()) if btf.base is None else None
    rnd = random.Random(len(btf))
    for tid in range(len(btf)) if ids is None else ids:
        t = attempt(btf.__getitem__, tid)
        attempt(btf.kind_of, tid)
        attempt(btf.name_of, tid)
        attempt(btf.resolve_size, tid)
        attempt(btf.alignment, tid)
        attempt(btf.skip_modifiers, tid)
        attempt(btf.skip_mods_and_typedefs, tid)
        attempt(btf.resolve_type, tid)
        if isinstance(t, m.Composite):
            for mem in t.members[:3]:
                attempt(btf.member_path, tid, mem.name)
            attempt(btf.member_path, tid, "nope")
        data = bytes(rnd.getrandbits(8) for _ in range(64))
        attempt(format_value, btf, tid, data)
        attempt(format_value, btf, tid, data[:3], plain=True)
        value = attempt(decode, btf, tid, data)
        if value is not None:
            attempt(encode, btf, tid, value)
        attempt(ctype_for, btf, tid)
    attempt(btf.find, "int")
    attempt(btf.find, "")
    attempt(lambda: btf.pointer_size)


def parse_and_exercise(data: bytes, base: BTF | None = None) -> None:
    try:
        btf = BTF.parse(data, base)
    except BTFError:
        return
    exercise(btf)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data):
    parse_and_exercise(data)
    parse_and_exercise(b"\x9f\xeb\x01\x00" + data)


def _mutate(blob: bytes, edits: list[tuple[int, int, int]], cut: int | None) -> bytes:
    buf = bytearray(blob)
    interesting = [0, 1, 2, 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 19 << 24, 20 << 24, (4 << 24) | 0xFFFF,
                   len(buf), 1 << 31 | (4 << 24) | 2]
    for pos, choice, value in edits:
        pos %= max(1, len(buf) - 3)
        if choice % 3 == 0:
            buf[pos] = value & 0xFF
        elif choice % 3 == 1:
            struct.pack_into("<I", buf, pos - pos % 4 if pos % 4 else pos, interesting[value % len(interesting)])
        else:
            struct.pack_into("<I", buf, pos, value & 0xFFFFFFFF)
    if cut is not None:
        buf = buf[: cut % (len(buf) + 1)]
    return bytes(buf)


edits = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 2), st.integers(0, 1 << 32)), max_size=8)


@FUZZ
@given(edits, st.one_of(st.none(), st.integers(0, 1 << 16)), st.booleans())
def test_mutated_btf(edit_list, cut, big_endian):
    parse_and_exercise(_mutate(VALID_BE if big_endian else VALID, edit_list, cut))


@FUZZ
@given(edits, st.one_of(st.none(), st.integers(0, 1 << 16)))
def test_mutated_split_btf(edit_list, cut):
    base = BTF.parse(VALID)
    split = BTFBuilder(base)
    p = split.add_ptr(9)
    split.add_struct("again", 16, [("p", p, 0), ("r", 9, 64)])
    split.add_typedef("self", split.next_id)  # a typedef to itself
    parse_and_exercise(_mutate(split.encode("<"), edit_list, cut), base)


@FUZZ
@given(edits, st.one_of(st.none(), st.integers(0, 1 << 12)), st.booleans())
def test_mutated_btf_ext(edit_list, cut, with_btf):
    blob = _mutate(EXT, edit_list, cut)
    try:
        ext = BTFExt.parse(blob, BTF.parse(VALID) if with_btf else None)
    except BTFError:
        return
    repr(ext)
    ext.sections()


@FUZZ
@given(st.binary(max_size=256))
def test_random_btf_ext(data):
    for blob in (data, struct.pack("<HBBI", 0xEB9F, 1, 0, 32) + data):
        try:
            BTFExt.parse(blob, BTF.parse(VALID))
        except BTFError:
            pass


def test_deep_reference_chains_do_not_recurse():
    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    prev = i32
    for i in range(8000):
        prev = (b.add_const, b.add_volatile, b.add_ptr, lambda t: b.add_typedef(f"t{i}", t))[i % 4](prev)
    nested = i32
    for i in range(2000):
        nested = b.add_struct(f"s{i}", 4, [("inner", nested, 0)])
    arr = i32
    for _ in range(2000):
        arr = b.add_array(arr, i32, 1)
    btf = b.build()
    assert btf.resolve_size(prev) == 8
    assert btf.resolve_size(arr) == 4
    assert btf.resolve_size(nested) == 4
    exercise(btf, [1, prev, nested, arr, prev - 1, nested - 1, arr - 1, len(btf) // 2])
    for fn in (btf.alignment, lambda t: ctype_for(btf, t), lambda t: decode(btf, t, bytes(4))):
        try:
            fn(nested)
        except BTFError as exc:
            assert "nest" in str(exc) or "contains" in str(exc)


def test_reference_loops_are_btf_errors():
    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    t1 = b.next_id
    b.add_typedef("a", t1 + 1)
    b.add_const(t1)  # a -> const -> a
    s = b.next_id
    b.add_struct("s", 8, [("", s + 1, 0)])
    b.add_union("", 8, [("", s, 0), ("x", i32, 0)])  # anonymous members pointing at each other
    arr = b.next_id
    b.add_array(arr, i32, 2)  # array of itself
    b.add_ptr(arr)
    btf = b.build()
    exercise(btf)
    for tid in (t1, t1 + 1, arr):
        try:
            btf.resolve_size(tid)
            raise AssertionError("loop not detected")
        except BTFError as exc:
            assert "loop" in str(exc) or "overflow" in str(exc)
    try:
        btf.member_path(s, "missing")
    except BTFError as exc:
        assert "loop" in str(exc)
    try:
        btf.skip_mods_and_typedefs(t1)
    except BTFError as exc:
        assert "loop" in str(exc)
