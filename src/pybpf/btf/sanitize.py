"""Rewriting an object's BTF for a kernel that lacks some BTF kinds, the way libbpf does.

libbpf (``bpf_object__sanitize_btf``) loads a *copy* of the object's BTF in which every kind the
kernel would reject is replaced by an older kind of the same record layout, so type ids, sizes
and the rest of the BTF stay valid:

==================  ==========================================================================
missing feature     replacement
==================  ==========================================================================
DATASEC (5.2)       VAR → ``INT`` (1 byte, 8 bits); DATASEC → STRUCT of the variables (member
                    name = variable name, bit offset = 8 × offset), ``.``/``?`` in its name → ``_``
DECL_TAG (5.16)     DECL_TAG → ``INT`` (1 byte, 8 bits)
FUNC (5.0)          FUNC_PROTO → ENUM (size 4, params become enumerators); FUNC → TYPEDEF
global FUNC (5.6)   FUNC linkage → static
FLOAT (5.13)        FLOAT → anonymous empty STRUCT of the same size
TYPE_TAG (5.17)     TYPE_TAG → anonymous CONST
ENUM64 (6.0)        ENUM kflag (signedness) cleared; ENUM64 → UNION whose members all have an
                    added ``INT 'enum64_placeholder'`` (1 byte) at offset 0
'?' DATASEC (6.x)   a leading ``?`` of a DATASEC name → ``_``
==================  ==========================================================================

Checks happen in libbpf's order (the first that applies wins), on the raw records, so the output
is what libbpf would load. Only the type records (and, for DATASEC names, the name bytes in
place) change; the placeholder INT and its name are appended when an ENUM64 needs it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields

from pybpf.btf.model import Kind
from pybpf.btf.spec import BTF, BTF_MAGIC, HEADER_SIZE

__all__ = ["BTFFeatures", "sanitize", "needs_sanitizing", "ENUM64_PLACEHOLDER"]

ENUM64_PLACEHOLDER = "enum64_placeholder"


@dataclass(frozen=True)
class BTFFeatures:
    """Which BTF kinds/flavours the target kernel accepts (libbpf's FEAT_BTF_* probes).

    All True (the default) means a modern kernel: :func:`sanitize` changes nothing.
    """

    func: bool = True  #: FUNC and FUNC_PROTO (Linux 5.0)
    func_global: bool = True  #: FUNC with global linkage (Linux 5.6)
    datasec: bool = True  #: VAR and DATASEC (Linux 5.2)
    float: bool = True  #: FLOAT (Linux 5.13)
    decl_tag: bool = True  #: DECL_TAG (Linux 5.16)
    type_tag: bool = True  #: TYPE_TAG (Linux 5.17)
    enum64: bool = True  #: ENUM64 and signed ENUM (Linux 6.0)
    qmark_datasec: bool = True  #: DATASEC names starting with '?' (Linux 6.10)

    @classmethod
    def none(cls) -> BTFFeatures:
        """A kernel with bare BTF support (no FUNC, DATASEC, … at all)."""
        return cls(**{f.name: False for f in fields(cls)})


def needs_sanitizing(features: BTFFeatures) -> bool:
    """Whether :func:`sanitize` would change anything for a kernel with ``features``."""
    return not all(getattr(features, f.name) for f in fields(features))


def _int_word(encoding: int, offset: int, bits: int) -> int:
    return (encoding << 24) | (offset << 16) | bits


def sanitize(raw: bytes, features: BTFFeatures) -> bytes:
    """``raw`` BTF rewritten for a kernel with ``features`` (unchanged copy if nothing is missing)."""
    btf = BTF.parse(raw)
    if not needs_sanitizing(features):
        return bytes(raw)
    e = btf.endian
    buf = bytearray(raw)
    u32 = struct.Struct(e + "I")
    words = btf.words
    types_start = btf._types_start
    str_start = btf._str_start
    f = features
    placeholder = 0
    n = len(btf)
    extra_types = b""
    extra_strings = b""

    def put(word_index: int, value: int) -> None:
        u32.pack_into(buf, types_start + 4 * word_index, value & 0xFFFFFFFF)

    def info(kind: int, vlen: int, kflag: int = 0) -> int:
        return (kflag << 31) | (kind << 24) | vlen

    def rename(name_off: int, chars: bytes, first_only: bool = False) -> None:
        """Replace ``chars`` by '_' in the name at ``name_off`` (in place, as libbpf does)."""
        btf.string(name_off)  # BTFError unless it is a valid string of this BTF
        p = str_start + name_off
        while buf[p]:
            if buf[p] in chars:
                buf[p] = ord("_")
            if first_only:
                break
            p += 1

    for tid in range(1, n):
        w = btf.word_offsets[tid - 1]
        name_off = words[w]
        inf = words[w + 1]
        kind = (inf >> 24) & 0x1F
        vlen = inf & 0xFFFF
        kflag = inf >> 31
        if (not f.datasec and kind == Kind.VAR) or (not f.decl_tag and kind == Kind.DECL_TAG):
            put(w + 1, info(Kind.INT, 0))
            put(w + 2, 1)
            put(w + 3, _int_word(0, 0, 8))
        elif not f.datasec and kind == Kind.DATASEC:
            if name_off:
                rename(name_off, b".?")
            put(w + 1, info(Kind.STRUCT, vlen))
            for j in range(vlen):
                v = w + 3 + 3 * j
                var_type, var_off = words[v], words[v + 1]
                put(v + 2, var_off * 8)  # member offset (bits)  <- secinfo offset
                put(v + 1, var_type)  # member type           <- secinfo type
                var_name = words[btf.word_offsets[var_type - 1]] if 0 < var_type < n else 0
                put(v, var_name)  # member name            <- the variable's name
        elif (not f.qmark_datasec and kind == Kind.DATASEC and name_off
              and btf.string(name_off).startswith("?")):
            rename(name_off, b"?", first_only=True)
        elif not f.func and kind == Kind.FUNC_PROTO:
            put(w + 1, info(Kind.ENUM, vlen))
            put(w + 2, 4)
        elif not f.func and kind == Kind.FUNC:
            put(w + 1, info(Kind.TYPEDEF, 0))
        elif not f.func_global and kind == Kind.FUNC:
            put(w + 1, info(Kind.FUNC, 0))
        elif not f.float and kind == Kind.FLOAT:
            put(w, 0)
            put(w + 1, info(Kind.STRUCT, 0))
        elif not f.type_tag and kind == Kind.TYPE_TAG:
            put(w, 0)
            put(w + 1, info(Kind.CONST, 0))
        elif not f.enum64 and kind == Kind.ENUM:
            put(w + 1, info(Kind.ENUM, vlen))
        elif not f.enum64 and kind == Kind.ENUM64:
            if placeholder == 0:
                placeholder = n
                name = _find_string(btf, ENUM64_PLACEHOLDER)
                if name is None:
                    name = btf._str_len + len(extra_strings)
                    extra_strings += ENUM64_PLACEHOLDER.encode() + b"\0"
                extra_types = struct.pack(e + "IIII", name, info(Kind.INT, 0), 1, _int_word(0, 0, 8))
            put(w + 1, info(Kind.UNION, vlen))
            for j in range(vlen):
                v = w + 3 + 3 * j
                put(v + 1, placeholder)
                put(v + 2, 0)
        del kflag
    if not extra_types:
        return _relayout(btf, buf, b"", b"")
    return _relayout(btf, buf, extra_types, extra_strings)


def _find_string(btf: BTF, s: str) -> int | None:
    for off, text in btf.load_strings().items():
        if text == s:
            return off
    return None


def _relayout(btf: BTF, buf: bytearray, extra_types: bytes, extra_strings: bytes) -> bytes:
    """Header + types (+ extra) + strings (+ extra), libbpf's raw layout."""
    types = bytes(buf[btf._types_start:btf._types_end]) + extra_types
    strings = bytes(buf[btf._str_start:btf._str_start + btf._str_len]) + extra_strings
    header = struct.pack(btf.endian + "HBBIIIII", BTF_MAGIC, 1, btf.flags, HEADER_SIZE, 0, len(types),
                         len(types), len(strings))
    return header + types + strings
