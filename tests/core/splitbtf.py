"""Test-only: turn a standalone BTF blob into split BTF on top of a base (a fake kernel module).

Kernel module BTF is split BTF: its type ids continue after the base (vmlinux) ids and its
string offsets after the base's string section. No tool on the test machine produces it for
arbitrary C, so this rewrites what clang emitted for a target file: every type id > 0 moves up
by ``len(base) - 1``, every name offset by the base's string section size. The module's
types then only refer to its own types (ids of the base are never referenced), which is all
the CO-RE tests need.
"""

from __future__ import annotations

import struct

from pybpf.btf import BTF, Kind


def make_split(standalone: bytes, base_raw: bytes) -> bytes:
    e = "<"
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        e + "HBBIIIII", standalone, 0)
    assert magic == 0xEB9F
    base_hdr = struct.unpack_from(e + "HBBIIIII", base_raw, 0)
    base_str_len = base_hdr[7]
    id_shift = len(BTF.parse(base_raw)) - 1

    def tid(v: int) -> int:
        return v + id_shift if v else 0

    def name(v: int) -> int:
        return v + base_str_len if v else 0

    types = bytearray(standalone[hdr_len + type_off:hdr_len + type_off + type_len])
    pos = 0
    while pos < len(types):
        name_off, info, size_type = struct.unpack_from(e + "III", types, pos)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        ref = kind in (Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.FUNC,
                       Kind.FUNC_PROTO, Kind.VAR, Kind.DECL_TAG, Kind.TYPE_TAG)
        struct.pack_into(e + "III", types, pos, name(name_off), info, tid(size_type) if ref else size_type)
        p = pos + 12
        if kind == Kind.INT:
            p += 4
        elif kind == Kind.ARRAY:
            elem, index, n = struct.unpack_from(e + "III", types, p)
            struct.pack_into(e + "III", types, p, tid(elem), tid(index), n)
            p += 12
        elif kind in (Kind.STRUCT, Kind.UNION):
            for _ in range(vlen):
                n, t, off = struct.unpack_from(e + "III", types, p)
                struct.pack_into(e + "III", types, p, name(n), tid(t), off)
                p += 12
        elif kind == Kind.ENUM:
            for _ in range(vlen):
                n, v = struct.unpack_from(e + "II", types, p)
                struct.pack_into(e + "II", types, p, name(n), v)
                p += 8
        elif kind == Kind.ENUM64:
            for _ in range(vlen):
                n, lo, hi = struct.unpack_from(e + "III", types, p)
                struct.pack_into(e + "III", types, p, name(n), lo, hi)
                p += 12
        elif kind == Kind.FUNC_PROTO:
            for _ in range(vlen):
                n, t = struct.unpack_from(e + "II", types, p)
                struct.pack_into(e + "II", types, p, name(n), tid(t))
                p += 8
        elif kind in (Kind.VAR, Kind.DECL_TAG):
            p += 4
        elif kind == Kind.DATASEC:
            for _ in range(vlen):
                t, off, size = struct.unpack_from(e + "III", types, p)
                struct.pack_into(e + "III", types, p, tid(t), off, size)
                p += 12
        pos = p
    strings = standalone[hdr_len + str_off:hdr_len + str_off + str_len]
    header = struct.pack(e + "HBBIIIII", magic, version, flags, 24, 0, len(types), len(types), len(strings))
    return header + bytes(types) + strings
