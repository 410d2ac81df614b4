"""Record decoders (pybpf.events.decode): what ``type=`` turns into, checked against struct /
ctypes decoding of the same bytes and against the BTF of a compiled fixture."""

from __future__ import annotations

import ctypes
import struct

import pytest

from pybpf.errors import BTFError, InvalidArgumentError
from pybpf.events.decode import find_type_id, record_type


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint64)]   # 4 bytes of padding after a


def records(fmt: struct.Struct, rows, header: int, stride: int) -> bytes:
    out = bytearray()
    for row in rows:
        rec = bytes(header) + fmt.pack(*row)
        out += rec + bytes(stride - len(rec))
    return bytes(out)


@pytest.mark.parametrize("header, stride", [(8, 24), (12, 32), (0, 16), (8, 40)])
def test_runs_decode_like_struct_and_ctypes(header, stride):
    native = struct.Struct("@IQ")           # native alignment: 16 bytes, like Pair
    rows = [(i, i * 1000003) for i in range(50)]
    buf = memoryview(records(native, rows, header, stride))
    got = []
    for spec in (native, "@IQ", Pair, None):
        rtype = record_type(spec)
        got.append(list(rtype.run(buf, header, 16, stride, lambda x: x)[1]))
    assert got[0] == rows and got[1] == rows
    assert [(p.a, p.b) for p in got[2]] == rows
    assert [native.unpack(b) for b in got[3]] == rows
    # the same records one at a time
    for i, row in enumerate(rows):
        off = i * stride + header
        assert record_type(native).one(buf, off, 16) == row
        assert (record_type(Pair).one(buf, off, 16).b) == row[1]
        assert native.unpack(record_type(None).one(buf, off, 16)) == row


def test_explicit_byte_order_formats_fuse_with_the_header():
    fmt = struct.Struct("<HQ")               # 10 bytes, no padding
    rows = [(i, i << 40) for i in range(10)]
    buf = memoryview(records(fmt, rows, 12, 24))
    rtype = record_type(fmt)
    assert list(rtype.run(buf, 12, 10, 24, lambda x: x)[1]) == rows
    assert rtype.size == 10


def test_errors():
    with pytest.raises(InvalidArgumentError, match="no BTF is known"):
        record_type("struct event")
    with pytest.raises(InvalidArgumentError, match="unsupported record type"):
        record_type(3.5)
    rtype = record_type(Pair)
    with pytest.raises(InvalidArgumentError, match="shorter than Pair"):
        rtype.check(8, "ring")
    rtype.check(16, "ring")
    assert record_type(None).size == 0


@pytest.mark.kernel
def test_find_type_id_in_fixture_btf(compile_bpf):
    """Type names ("struct x", typedef names) resolve to the types clang emitted, of the kind
    asked for (sizes as clang laid them out: struct fixed_event is 32 bytes)."""
    from pybpf.btf import BTF, Kind
    from pybpf.elf import ELFFile

    with ELFFile.open(compile_bpf("events_ringbuf.bpf.c")) as elf:
        btf = BTF.parse(bytes(elf.section_by_name(".BTF").data))
    fid = find_type_id(btf, "struct  fixed_event", "t")
    assert btf[fid].kind == Kind.STRUCT and btf.resolve_size(fid) == 32
    assert btf.kind_of(find_type_id(btf, "struct var_event", "t")) == Kind.STRUCT
    assert btf.kind_of(find_type_id(btf, "__u64", "t")) == Kind.TYPEDEF
    with pytest.raises(BTFError, match="no type"):
        find_type_id(btf, "struct nope", "t")
