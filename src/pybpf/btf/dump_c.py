"""BTF → C header (``bpftool btf dump ... format c``), byte for byte what bpftool 7.1 prints.

This module is the single place that decides in which order, and in which C syntax, BTF types
are written out. The rules are libbpf 1.1's (``btf_dump.c``, which bpftool 7.1 links):

Ordering
    Every type id is visited in id order. A depth-first walk ("ordering") collects the named
    definitions a type needs *before* it: a struct/union embedded by value (a *strong* link)
    must be complete first; one reached through a pointer only needs a forward declaration
    (a *weak* link), unless it is anonymous (then it is written inline, so its own members
    become strong links). Typedefs behave like structs here. Named enums and fwds are always
    definitions of their own; anonymous enums too when nothing refers to them (top-level
    constants).

Emission
    The collected definitions are written in that order. Writing a struct first makes sure
    every type its members mention is declared: named structs that are not yet complete get
    a forward declaration (``struct foo;``), typedefs that are only needed through a pointer
    are written early. Anonymous structs, unions and enums are written inline, indented one
    tab per level.

C syntax of a member or typedef
    The chain of BTF types (pointer → const → array → ...) is turned inside out into a C
    declarator: modifiers go left of a base type but right of a ``*``, arrays and function
    prototypes wrap what is outside them in parentheses.

Layout
    Bitfields are written with their width; gaps between members (and at the end of a struct)
    become anonymous ``long: N;``/``int: N;``/... padding fields, chosen so clang reproduces the
    BTF's exact offsets; a struct whose members are not naturally aligned, or whose size is
    not a multiple of its alignment, gets ``__attribute__((packed))``.

Names
    A struct/union/enum name seen for the second time gets a ``___2`` suffix (``___3`` ...),
    in the order names are first written; typedef names and enumerators share a second
    namespace. Forward declarations and empty enums keep their names. (Like libbpf, the
    names of ints take part in the first namespace when an int is first met during emission.)

Quirks of libbpf 1.1 kept on purpose, since the output must be bpftool's: a prototype's return
type does not count as a reference; ``const``/``volatile`` on an array or a function prototype
are dropped; enums carry no size attributes (a 1-byte enum is written as a plain enum); no
``__attribute__((aligned))`` is ever written; type tags become
``__attribute__((btf_type_tag("...")))`` and decl tags are not written.

The dump works on the parser's columnar view, :attr:`BTF.table <pybpf.btf.spec.BTF.table>`
(:class:`pybpf.btf.table.TypeTable`: the raw records as flat tables), rather than on decoded
model objects, so that a whole vmlinux is dumped in one pass with no per-type object cost.

It runs in two steps: ordering and emission decide *what* is written in which order (a plan
of (type id, definition kind) events), then rendering turns the plan into text. libbpf's
"referenced" marks (which anonymous enums are top-level definitions) are worked out along
the ordering instead of by a pass over every reference. The text of a definition depends only
on the BTF and on the ``___N`` suffixes of clashing names, so a big dump on a machine with a
CPU to spare hands the second part of the plan to a forked helper process, which writes it
with markers for clashing names that the parent resolves in text order (see ``_Helper``).
"""

from __future__ import annotations

import gc
import os
import signal
import struct
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from itertools import accumulate, compress, repeat
from operator import add, itemgetter
from typing import Any, Iterable, Sequence

from pybpf.errors import BTFError
from pybpf.btf.spec import BTF
from pybpf.btf.table import TypeTable, _Strings as _StringsType

__all__ = ["dump_c", "dump_c_cached", "cache_key", "cached_text", "store_text", "HEADER", "FOOTER",
           "FORMAT_VERSION"]

#: Bumped whenever the output of :func:`dump_c` for the same BTF could change, so a cache of
#: dumps (keyed by the BTF's content) can include it in its key.
FORMAT_VERSION = 1

#: What bpftool prints before the first type.
HEADER = (
    "#ifndef __VMLINUX_H__\n"
    "#define __VMLINUX_H__\n"
    "\n"
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
    "#endif\n"
    "\n"
)
#: What bpftool prints after the last type.
FOOTER = (
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute pop\n"
    "#endif\n"
    "\n"
    "#endif /* __VMLINUX_H__ */\n"
)

# Kind numbers as plain ints (comparisons against IntEnum members are slower in hot loops).
_INT, _PTR, _ARRAY, _STRUCT, _UNION, _ENUM, _FWD, _TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
_VOLATILE, _CONST, _RESTRICT, _FUNC, _FUNC_PROTO, _VAR, _DATASEC = 9, 10, 11, 12, 13, 14, 15
_FLOAT, _DECL_TAG, _TYPE_TAG, _ENUM64 = 16, 17, 18, 19

# order/emit states
_NOT, _BUSY, _DONE = 0, 1, 2
#: ordered, "referenced" mark still open (see _dump)
_SPEC = 3

# What emission planned for a type id (the low 3 bits of a plan entry; the id is above them):
# a struct/union forward declaration, a typedef, an int (its name is resolved; GCC-internal
# base types get a typedef), a struct/union, an enum, a fwd.
_EV_STRUCT_FWD, _EV_TYPEDEF, _EV_INT, _EV_STRUCT, _EV_ENUM, _EV_FWD = range(6)

#: Kinds the ordering pass only marks as done (they never produce C output by themselves).
_SKIP_KINDS = (_FUNC, _VAR, _DATASEC, _DECL_TAG)
#: Kinds the decl-chain builder follows through ``type``.
_CHAIN_THROUGH = frozenset({_PTR, _VOLATILE, _CONST, _RESTRICT, _FUNC_PROTO, _TYPE_TAG})
#: libbpf's btf_is_mod().
_MODS = frozenset({_VOLATILE, _CONST, _RESTRICT, _TYPE_TAG})
#: Kinds btf__resolve_size() reads ``size`` of, and those it looks through.
_SIZED = frozenset({_INT, _STRUCT, _UNION, _ENUM, _ENUM64, _DATASEC, _FLOAT})
_SIZE_THROUGH = frozenset({_TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _VAR, _DECL_TAG, _TYPE_TAG})
_ALIGN_THROUGH = frozenset({_TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _TYPE_TAG})
_MAX_RESOLVE_DEPTH = 32
_U32_MAX = 0xFFFFFFFF

#: libbpf writes a typedef for these GCC-internal base types when it meets the INT.
_MISSING_BASE_TYPES = {
    "__Poly8_t": "unsigned char",
    "__Poly16_t": "unsigned short",
    "__Poly64_t": "unsigned long long",
    "__Poly128_t": "unsigned __int128",
}

#: Indentation: one tab per level, at most 13 (libbpf's prefix buffer).
_PFX = ["\t" * i for i in range(14)]
_NL_PFX = ["\n" + p for p in _PFX]

#: Bitfield sizes of a struct without the kflag (all zero, for any vlen), shared by all.
_NO_BITFIELDS: tuple[int, ...] = (0,) * 0x10000

#: Stands for the declared name while a declarator is built, so the declarator can be cached
#: and reused with other names (BTF strings cannot contain NUL).
_NAME_SLOT = "\0"


class _Cycle(Exception):
    """A cycle of by-value containment that no forward declaration can break."""


def dump_c(btf: BTF, roots: Iterable[int] | None = None, *, jobs: int = 1) -> str:
    """The C header bpftool 7.1 prints for ``btf`` (``bpftool btf dump ... format c``).

    With ``roots``, only those type ids and what they need are dumped, in that order (what
    bpftool does for ``btf dump map ... format c``); otherwise every type is. Split BTF dumps
    its base's types too, as bpftool does.

    Names are copied as they are; bytes that are not UTF-8 come back as surrogate escapes,
    so ``text.encode("utf-8", "surrogateescape")`` is exactly what bpftool writes (write the
    text with ``errors="surrogateescape"``).

    Raises :class:`BTFError` for BTF that cannot be turned into C: a by-value type cycle
    (libbpf's "unsatisfiable type cycle"), a reference to a type id that does not exist, a
    string offset past the string section, nesting too deep for the interpreter's recursion
    limit. Where libbpf itself would crash (a division by an alignment of 0 in malformed
    BTF), this raises too.

    ``jobs``: with 2, a big dump (vmlinux) gets a forked helper process (it works out which
    names clash while this process plans, then writes the second part of the text; the
    output is the same); with 1 (the default: a library call never forks behind its caller's
    back), this process does everything; 0 picks 2 when a CPU is there to spare (see
    :func:`_auto_jobs`; ``PYBPF_DUMP_JOBS=1|2`` decides), which is what the command line
    asks for. An explicit 2 forks whatever the size (tests).
    """
    forced = jobs > 1
    if jobs <= 0:
        jobs = _auto_jobs()
    # The dump makes ~10^5 small containers that all live to the end; cyclic GC passes over
    # them find nothing to free, so they are skipped for its duration.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    tables: TypeTable | None = None
    try:
        tables = btf.table
        pieces = _dump(tables, None if roots is None else list(roots), jobs, forced)
    except _Cycle as exc:
        raise BTFError(f"unsatisfiable type cycle, id:[{exc.args[0]}]") from None
    except (IndexError, KeyError, ValueError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        # The fast path trusts the tables; find out what was wrong with the input.
        if tables is not None:
            tables.check()
        if isinstance(exc, RecursionError):
            raise BTFError("BTF type graph nests too deeply (or loops) to be dumped as C") from None
        raise BTFError(f"BTF cannot be dumped as C: {type(exc).__name__}: {exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    return "".join(pieces)


# ---------------------------------------------------------------------- output cache
#: cache blob prefix of whole-BTF C dumps (see pybpf.btf.cache)
_CACHE_PREFIX = "dumpc"


def cache_key(raw: Any, *bases: Any) -> str:
    """The output-cache key of the C dump of the BTF bytes ``raw`` (split BTF: then its base's
    bytes, innermost first): :data:`FORMAT_VERSION`, the host pointer size (libbpf's fallback
    when the BTF has no ``long``) and the content key of each BTF in the chain."""
    from pybpf.btf.cache import content_key

    return "_".join([f"c{FORMAT_VERSION}p{struct.calcsize('P')}", content_key(raw),
                     *(content_key(b) for b in bases)])


def cached_text(key: str) -> bytes | None:
    """The cached C dump stored under ``key`` (UTF-8 bytes, names that are not UTF-8 as they
    are in the BTF), or None when there is none (or it is unusable, or caching is off)."""
    from pybpf.btf.cache import load_blob

    return load_blob(_CACHE_PREFIX, key)


def store_text(key: str, text: str) -> bytes:
    """Store the C dump ``text`` under ``key`` (when a cache directory is usable); returns the
    bytes to write out."""
    from pybpf.btf.cache import store_blob

    data = text.encode("utf-8", "surrogateescape")
    store_blob(_CACHE_PREFIX, key, data)
    return data


def dump_c_cached(btf: BTF, *, use_cache: bool = True, jobs: int = 1) -> str:
    """:func:`dump_c` of the whole of ``btf``, through the on-disk output cache.

    The C text of a BTF depends only on its bytes (and its base's), so it is stored once per
    content in pybpf's cache directory (:mod:`pybpf.btf.cache`: atomic writes, checksummed,
    damaged entries ignored and rewritten, a few entries kept) and read back by the next call
    for the same bytes (the next ``pybpf btf dump file /sys/kernel/btf/vmlinux format c``).
    ``use_cache=False`` or ``PYBPF_NO_CACHE=1`` skips it. ``jobs`` as for :func:`dump_c`.
    """
    from pybpf.btf.cache import cache_disabled

    if not use_cache or cache_disabled():
        return dump_c(btf, jobs=jobs)
    chain = []
    b: BTF | None = btf
    while b is not None:
        chain.append(b.raw)
        b = b.base
    key = cache_key(*chain)
    hit = cached_text(key)
    if hit is not None:
        return hit.decode("utf-8", "surrogateescape")
    text = dump_c(btf, jobs=jobs)
    store_text(key, text)
    return text


def _dump(tb: TypeTable, roots: list[int] | None, jobs: int = 1, jobs_forced: bool = False) -> list[str]:
    """Order and plan the emission, then render it (in two processes when ``jobs`` > 1 and
    the dump is big enough, or always with ``jobs_forced``); returns the output pieces."""
    W = tb.words
    WO = tb.woff
    K = tb.kinds
    n = tb.count
    ptr_sz = tb.ptr_size
    pads = (("long", ptr_sz * 8), ("int", 32), ("short", 16), ("char", 8))

    ostate = bytearray(n)
    ostate[0] = _DONE
    estate = bytearray(n)
    estate[0] = _DONE
    fwd_done = bytearray(n)
    resolved: list[str | None] = [None] * n
    resolved[0] = ""
    type_names: dict[str, int] = {}
    ident_names: dict[str, int] = {}
    # Per-id caches are lists (indexing beats dict.get on this path); -1/None = not known yet.
    align_cache = [-1] * n
    size_cache = [-1] * n
    decl_named: dict[int, list[str]] = {}
    decl_unnamed: dict[int, str] = {}
    member_cache: list[tuple[str, str, int] | None] = [None] * n  # (before name, after, bits)
    names = tb.strings  # offset -> string
    # The hot paths look names up with get() and cut a missing one out of the (ASCII) string
    # section themselves: no call into the dict's __missing__ (~60 000 misses on vmlinux).
    name_get = names.get
    section = names.text if isinstance(names, _StringsType) else None
    text: str = section if section is not None else ""
    text_index = text.index if section is not None else None
    referenced: set[int] | None = None
    # libbpf's "referenced" marks, worked out along the ordering in a full dump: an enum first
    # ordered through a reference is referenced; one first ordered at its own turn (or as a
    # prototype's return type) is taken as unreferenced and queued, its state _SPEC, and any
    # later reference to it is noted in spec_hits; references the ordering does not follow
    # are looked up afterwards (_unordered_refs). Those found referenced lose their queued
    # definition. (A fwd, where that would move its definition, asks _referenced_ids.)
    speculated: list[int] = []
    spec_hits: set[int] = set()
    ret_ctx = -1  # a prototype's return type being ordered (not a reference)
    anon_written: set[int] = set()  # anonymous enums written
    plain_enumerators: list[int] = []  # the helper's: name offsets written as first writings
    queue: list[int] = []
    top = 0  # the id the ordering pass started from (full dumps only; see order())
    inline_defs = 0  # bumped whenever an anonymous type is written inline (not cacheable)

    plan: list[int] = []  # what emission decided, in output order: tid << 3 | _EV_*
    ev = plan.append
    # The helper process of a big dump sets these (see _Helper and child_render).
    marking = False
    amb_type: frozenset[str] = frozenset()
    amb_ident: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ names
    def resolve(tid: int, seen: dict[str, int]) -> str:
        o = WO[tid]
        name_off = W[o]
        if not name_off:
            return ""
        orig = names[name_off]
        k = K[tid]
        if k == _FWD or (k == _ENUM and not W[o + 1] & 0xFFFF):
            r = orig
        elif marking and orig in (amb_type if seen is type_names else amb_ident):
            # a clashing name: its suffix depends on what the parent wrote before
            r = f"\x01{'T' if seen is type_names else 'I'}{tid}\x02"
        else:
            dup = seen.get(orig, 0) + 1
            seen[orig] = dup
            r = orig if dup == 1 else f"{orig}___{dup}"[:255]
        resolved[tid] = r
        return r

    def type_name(tid: int) -> str:
        r = resolved[tid]
        return r if r is not None else resolve(tid, type_names)

    def ident_name(tid: int) -> str:
        r = resolved[tid]
        return r if r is not None else resolve(tid, ident_names)

    # ------------------------------------------------------------------ layout
    def align_of(tid: int) -> int:
        """btf__align_of(): natural alignment, 1 for a packed struct/union, 0 if unknown."""
        a = align_cache[tid]
        if a >= 0:
            return a
        k = K[tid]
        o = WO[tid]
        if k == _INT or k == _ENUM or k == _ENUM64 or k == _FLOAT:
            a = min(ptr_sz, W[o + 2])
        elif k == _PTR:
            a = ptr_sz
        elif k in _ALIGN_THROUGH:
            a = align_of(W[o + 2])
        elif k == _ARRAY:
            a = align_of(W[o + 3])
        elif k == _STRUCT or k == _UNION:
            a = struct_layout(tid)[0]
        else:
            a = 0  # libbpf: "unsupported BTF_KIND", alignment 0
        align_cache[tid] = a
        return a

    def struct_layout(tid: int) -> tuple[int, bool]:
        """(btf__align_of(), libbpf's btf_is_struct_packed()) of a struct/union in one pass.

        Packed means a non-bitfield member sits off its natural alignment, or the size is not
        a multiple of the largest member alignment. The alignment is that largest member
        alignment, 1 when packed, or 0 when a member's alignment is unknown (0) before any
        misplaced member is seen.
        """
        o = WO[tid]
        info = W[o + 1]
        kflag = info >> 31
        mem = W[o + 4:o + 3 + 3 * (info & 0xFFFF)]
        align: int | None = None
        packed = False
        max_align = 1
        for mtype, raw in zip(mem[0::3], mem[1::3]):
            ma = align_cache[mtype]
            if ma < 0:
                ma = align_of(mtype)
            if not ma:
                if align is None:
                    align = 0
                continue
            if raw % (8 * ma) and not (kflag and raw >> 24):
                packed = True
                if align is None:
                    align = 1
                break
            if ma > max_align:
                max_align = ma
        if not packed and W[o + 2] % max_align:
            packed = True
        if align is None:
            align = 1 if packed else max_align
        align_cache[tid] = align
        return align, packed

    def size_of(tid: int) -> int:
        """btf__resolve_size(), with errors as 0 (the only use clamps them to 0)."""
        s = size_cache[tid]
        if s >= 0:
            return s
        nelems = 1
        size = -1
        t = tid
        for _ in range(_MAX_RESOLVE_DEPTH):
            if t == 0:
                break
            k = K[t]
            o = WO[t]
            if k in _SIZED:
                size = W[o + 2]
                break
            if k == _PTR:
                size = ptr_sz
                break
            if k in _SIZE_THROUGH:
                t = W[o + 2]
            elif k == _ARRAY:
                ne = W[o + 5]
                if nelems and ne > _U32_MAX // nelems:
                    size = -1
                    nelems = 0
                    break
                nelems *= ne
                t = W[o + 3]
            else:
                break
        if size < 0 or (nelems and size > _U32_MAX // nelems):
            s = 0
        else:
            s = nelems * size
        size_cache[tid] = s
        return s

    def padding(buf: list[str], cur: int, nxt: int, next_align: int, in_bitfield: bool,
                lvl: int) -> None:
        """Anonymous bitfields that make clang place the next member at bit ``nxt``."""
        p = _NL_PFX[lvl if lvl < 13 else 13]
        pad_type = "char"
        pad_bits = 8
        new_off = 0
        for pad_type, pad_bits in pads:
            new_off = -(-cur // pad_bits) * pad_bits
            if new_off <= nxt:
                break
        if cur < new_off <= nxt:
            if (in_bitfield
                    or (new_off == nxt and -(-cur // (next_align * 8)) * next_align * 8 != new_off)
                    or (new_off != nxt and nxt - new_off <= new_off - cur)):
                buf.append(f"{p}{pad_type}: {new_off - cur if in_bitfield else 0};")
            cur = new_off
        while cur != nxt:
            bits = nxt - cur
            if bits >= pad_bits:
                buf.append(f"{p}{pad_type}: {pad_bits};")
                cur += pad_bits
                continue
            for pad_type, pad_bits in reversed(pads):
                if pad_bits >= bits:
                    buf.append(f"{p}{pad_type}: {bits};")
                    cur += bits
                    break

    # ------------------------------------------------------------------ definitions
    def struct_fwd(tid: int) -> str:
        if not W[WO[tid]]:
            return "struct" if K[tid] == _STRUCT else "union"
        r = resolved[tid]
        if r is None:
            r = resolve(tid, type_names)
        return ("struct " if K[tid] == _STRUCT else "union ") + r

    def fwd_def(tid: int) -> str:
        return ("union " if W[WO[tid] + 1] >> 31 else "struct ") + type_name(tid)

    def struct_def(buf: list[str], tid: int, lvl: int) -> None:
        o = WO[tid]
        info = W[o + 1]
        vlen = info & 0xFFFF
        kflag = info >> 31
        size = W[o + 2]
        is_struct = K[tid] == _STRUCT
        if is_struct:
            align, packed = struct_layout(tid)
        else:
            align, packed = 0, False  # unions get no padding and no packed attribute
        kw = "struct" if is_struct else "union"
        buf.append(f"{kw} {type_name(tid)} {{" if W[o] else f"{kw} {{")
        lvl1 = lvl + 1
        p1 = _NL_PFX[lvl1 if lvl1 < 13 else 13]
        off = 0
        prev_bitfield = False
        mem = W[o + 3:o + 3 + 3 * vlen]
        raws = mem[2::3]
        offsets: Sequence[int]
        bitfields: Sequence[int]
        if kflag:
            offsets = [r & 0xFFFFFF for r in raws]
            bitfields = [r >> 24 for r in raws]
        else:
            offsets = raws
            bitfields = _NO_BITFIELDS  # zip() stops at the members' end
        for name_off, mtype, m_off, m_sz in zip(mem[0::3], mem[1::3], offsets, bitfields):
            if off < m_off:
                if packed:
                    m_align = 1
                else:
                    m_align = align_cache[mtype]
                    if m_align < 0:
                        m_align = align_of(mtype)
                padding(buf, off, m_off, m_align, prev_bitfield and m_sz != 0, lvl1)
            got = name_get(name_off)
            if got is None:
                if text_index is not None:
                    got = names[name_off] = text[name_off:text_index("\0", name_off)]
                else:
                    got = names[name_off]
            fname = got
            # Fast path: a named member of a type whose declarator is known.
            cached = member_cache[mtype] if fname else None
            if cached is not None:
                pre, post, bits = cached
                if m_sz:
                    buf.append(f"{p1}{pre}{fname}{post}: {m_sz};")
                    off = m_off + m_sz
                    prev_bitfield = True
                else:
                    buf.append(f"{p1}{pre}{fname}{post};")
                    off = m_off + bits
                    prev_bitfield = False
                continue
            buf.append(p1)
            decl(buf, mtype, fname, lvl1)
            bits = size_of(mtype) * 8
            if fname:
                parts = decl_named.get(mtype)
                if parts is not None and len(parts) == 2:
                    member_cache[mtype] = (parts[0], parts[1], bits)
            if m_sz:
                buf.append(f": {m_sz};")
                off = m_off + m_sz
                prev_bitfield = True
            else:
                buf.append(";")
                off = m_off + bits
                prev_bitfield = False
        if is_struct and off < size * 8:
            padding(buf, off, size * 8, align, False, lvl1)
        if vlen or size:
            buf.append(_NL_PFX[lvl if lvl < 13 else 13] + "}")
        else:
            buf.append("}")
        if packed:
            buf.append(" __attribute__((packed))")

    def enum_def(buf: list[str], tid: int, lvl: int) -> None:
        o = WO[tid]
        info = W[o + 1]
        vlen = info & 0xFFFF
        buf.append(f"enum {type_name(tid)}" if W[o] else "enum")
        if not vlen:
            return
        buf.append(" {")
        signed = info >> 31
        p1 = _NL_PFX[lvl + 1 if lvl < 12 else 13]
        seen = ident_names
        if not W[o]:
            if tid in anon_written:
                again = True
            else:
                again = False
                anon_written.add(tid)
        else:
            again = False
        if marking:
            # The helper leaves clashing enumerators to the parent ("\x01E<name offset>\x02"),
            # and those of an anonymous enum written again (every writing counts).
            step = 2 if K[tid] == _ENUM else 3
            vals = W[o + 3:o + 3 + step * vlen]
            for j in range(0, step * vlen, step):
                name_off = vals[j]
                if step == 2:
                    v = vals[j + 1]
                    if signed and v & 0x80000000:
                        v -= 0x100000000
                    tail = ","
                else:
                    v = vals[j + 2] << 32 | vals[j + 1]
                    if signed and v >> 63:
                        v -= 1 << 64
                    tail = "LL," if signed else "ULL,"
                nm = names[name_off]
                if again or nm in amb_ident:
                    buf.append(f"{p1}\x01E{name_off}\x02 = {v}{tail}")
                else:
                    if not W[o]:
                        plain_enumerators.append(name_off)
                    buf.append(f"{p1}{nm} = {v}{tail}")
            buf.append(_NL_PFX[lvl if lvl < 13 else 13] + "}")
            return
        if K[tid] == _ENUM:
            vals = W[o + 3:o + 3 + 2 * vlen]
            for name_off, v in zip(vals[0::2], vals[1::2]):
                got = name_get(name_off)
                if got is None:
                    if text_index is not None:
                        got = names[name_off] = text[name_off:text_index("\0", name_off)]
                    else:
                        got = names[name_off]
                nm = got
                if signed and v & 0x80000000:
                    v -= 0x100000000
                dup = seen.get(nm, 0) + 1
                seen[nm] = dup
                if dup > 1:
                    buf.append(f"{p1}{nm}___{dup} = {v},")
                else:
                    buf.append(f"{p1}{nm} = {v},")
        else:
            vals = W[o + 3:o + 3 + 3 * vlen]
            suffix = "LL," if signed else "ULL,"
            for name_off, lo, hi in zip(vals[0::3], vals[1::3], vals[2::3]):
                got = name_get(name_off)
                if got is None:
                    if text_index is not None:
                        got = names[name_off] = text[name_off:text_index("\0", name_off)]
                    else:
                        got = names[name_off]
                nm = got
                v = hi << 32 | lo
                if signed and v >> 63:
                    v -= 1 << 64
                dup = seen.get(nm, 0) + 1
                seen[nm] = dup
                if dup > 1:
                    buf.append(f"{p1}{nm}___{dup} = {v}{suffix}")
                else:
                    buf.append(f"{p1}{nm} = {v}{suffix}")
        buf.append(_NL_PFX[lvl if lvl < 13 else 13] + "}")

    def typedef_def(buf: list[str], tid: int, lvl: int) -> None:
        nm = ident_name(tid)
        if marking and nm[:1] == "\x01":
            buf.append("\x01R" + nm[2:])  # libbpf names the typedef before its target's parts
        target = W[WO[tid] + 2]
        if target == 0 and nm == "__gnuc_va_list":
            buf.append("typedef __builtin_va_list __gnuc_va_list")
            return
        buf.append("typedef ")
        decl(buf, target, nm, lvl)

    def blacklisted(tid: int) -> bool:
        name_off = W[WO[tid]]
        return bool(name_off) and names[name_off] == "__builtin_va_list"

    # ------------------------------------------------------------------ declarators
    def decl(buf: list[str], tid: int, fname: str, lvl: int) -> None:
        """Write the C declaration of ``fname`` with type ``tid`` (libbpf's emit_type_decl)."""
        if fname:
            parts = decl_named.get(tid)
            if parts is not None:
                buf.append(fname.join(parts))
                return
        else:
            text = decl_unnamed.get(tid)
            if text is not None:
                buf.append(text)
                return
        simple = simple_decl(tid)
        if simple is not None:
            if fname:
                parts = [simple[1], ""]
                decl_named[tid] = parts
                buf.append(simple[1] + fname)
            else:
                decl_unnamed[tid] = simple[0]
                buf.append(simple[0])
            return
        stack = []
        t = tid
        while True:
            stack.append(t)
            if t == 0:
                break
            k = K[t]
            if k in _CHAIN_THROUGH:
                t = W[WO[t] + 2]
            elif k == _ARRAY:
                t = W[WO[t] + 3]
            else:
                break  # a chain end, or a kind that has no place in a declarator
            if len(stack) > n:
                raise RecursionError(f"type id {tid}: declarator loops")
        before = inline_defs
        tmp: list[str] = []
        chain(tmp, stack, _NAME_SLOT if fname else "", lvl)
        text = "".join(tmp)
        cacheable = inline_defs == before
        if fname:
            parts = text.split(_NAME_SLOT)
            if cacheable:
                decl_named[tid] = parts
            buf.append(fname.join(parts))
        else:
            if cacheable:
                decl_unnamed[tid] = text
            buf.append(text)

    def simple_decl(tid: int) -> tuple[str, str] | None:
        """The declarator of the common shapes, without the general machinery: pointers over
        const/volatile/restrict over a named base type (``const char **``). Returns (the
        declaration without a name, what goes before a name), or None for other shapes.

        Equal to what chain() writes for them: the base (with its qualifiers, innermost
        first), then `` *`` and ``*`` for each pointer; a name follows a ``*`` directly and
        anything else after a space. The one name resolved is the base's, as in chain().
        """
        t = tid
        nptr = 0
        k = K[t]
        while k == _PTR:
            nptr += 1
            t = W[WO[t] + 2]
            k = K[t]
        quals = None
        while k == _CONST or k == _VOLATILE or k == _RESTRICT:
            word = "const " if k == _CONST else ("volatile " if k == _VOLATILE else "restrict ")
            quals = word if quals is None else word + quals
            t = W[WO[t] + 2]
            k = K[t]
        if t == 0:
            base = "void"
        elif k == _TYPEDEF:
            r = resolved[t]
            base = r if r is not None else resolve(t, ident_names)
        elif k == _INT or k == _FLOAT:
            base = names[W[WO[t]]]
        elif k == _STRUCT or k == _UNION:
            if not W[WO[t]]:
                return None  # anonymous: written inline
            base = struct_fwd(t)
        elif k == _ENUM or k == _ENUM64:
            if not W[WO[t]]:
                return None
            base = "enum " + type_name(t)
        elif k == _FWD:
            base = fwd_def(t)
        else:
            return None
        if quals is not None:
            base = quals + base
        if nptr:
            text = base + " " + "*" * nptr
            return text, text
        return base, base + " "

    def mods(buf: list[str], stack: list[int]) -> None:
        while stack:
            k = K[stack[-1]]
            if k == _VOLATILE:
                buf.append("volatile ")
            elif k == _CONST:
                buf.append("const ")
            elif k == _RESTRICT:
                buf.append("restrict ")
            else:
                return
            stack.pop()

    def drop_mods(stack: list[int]) -> None:
        while stack and K[stack[-1]] in _MODS:
            stack.pop()

    def chain(buf: list[str], stack: list[int], fname: str, lvl: int) -> None:
        """libbpf's emit_type_chain: pops ``stack`` (innermost type on top)."""
        nonlocal inline_defs
        last_was_ptr = True
        while stack:
            t = stack.pop()
            if t == 0:
                mods(buf, stack)
                buf.append("void")
                last_was_ptr = False
                continue
            k = K[t]
            o = WO[t]
            if k == _PTR:
                buf.append("*" if last_was_ptr else " *")
            elif k == _INT or k == _FLOAT:
                mods(buf, stack)
                buf.append(names[W[o]])
            elif k == _TYPEDEF:
                mods(buf, stack)
                buf.append(ident_name(t))
            elif k == _STRUCT or k == _UNION:
                mods(buf, stack)
                if W[o]:
                    buf.append(struct_fwd(t))
                else:
                    inline_defs += 1
                    struct_def(buf, t, lvl)
            elif k == _CONST:
                buf.append(" const")
            elif k == _ENUM or k == _ENUM64:
                mods(buf, stack)
                if W[o]:
                    buf.append("enum " + type_name(t))
                else:
                    inline_defs += 1
                    enum_def(buf, t, lvl)
            elif k == _ARRAY:
                drop_mods(stack)
                nelems = W[o + 5]
                if not stack:
                    if fname:
                        buf.append(fname if last_was_ptr else " " + fname)
                    buf.append(f"[{nelems}]")
                    return
                multidim = K[stack[-1]] == _ARRAY
                if fname and not last_was_ptr:
                    buf.append(" ")
                if multidim:
                    chain(buf, stack, fname, lvl)
                else:
                    buf.append("(")
                    chain(buf, stack, fname, lvl)
                    buf.append(")")
                buf.append(f"[{nelems}]")
                return
            elif k == _FUNC_PROTO:
                drop_mods(stack)
                if stack:
                    buf.append(" (")
                    chain(buf, stack, fname, lvl)
                    buf.append(")")
                elif fname:
                    buf.append(fname if last_was_ptr else " " + fname)
                vlen = W[o + 1] & 0xFFFF
                params = W[o + 3:o + 3 + 2 * vlen]
                if vlen == 0 or (vlen == 1 and params[1] == 0):
                    buf.append("(void)")
                    return
                buf.append("(")
                last = 2 * vlen - 2
                for j in range(0, 2 * vlen, 2):
                    if j:
                        buf.append(", ")
                    ptype = params[j + 1]
                    if j == last and ptype == 0:
                        buf.append("...")
                        break
                    decl(buf, ptype, names[params[j]], lvl)
                buf.append(")")
                return
            elif k == _VOLATILE:
                buf.append(" volatile")
            elif k == _RESTRICT:
                buf.append(" restrict")
            elif k == _FWD:
                mods(buf, stack)
                buf.append(fwd_def(t))
            elif k == _TYPE_TAG:
                mods(buf, stack)
                buf.append(f' __attribute__((btf_type_tag("{names[W[o]]}")))')
            else:
                return  # libbpf: "unexpected type in decl chain"
            last_was_ptr = k == _PTR
        if fname:
            buf.append(fname if last_was_ptr else " " + fname)

    # ------------------------------------------------------------------ ordering
    def is_referenced(tid: int) -> int:
        """libbpf's "referenced" mark of an enum or fwd ordered for the first time: 1 or 0;
        in a full dump, 2 for "none seen so far" (see ``speculated``)."""
        nonlocal referenced
        if referenced is not None:
            return 1 if tid in referenced else 0
        if roots is None:
            if tid != top and tid != ret_ctx:
                return 1  # reached through a reference (a prototype's return type is none)
            if K[tid] != _FWD:
                speculated.append(tid)
                return 2
        referenced = _referenced_ids(tb)
        return 1 if tid in referenced else 0

    def order(tid: int, through_ptr: bool) -> int:
        """libbpf's btf_dump_order_type: 1 for a strong link, 0 for a weak one.

        Callers skip the call for ids already ordered (that would just return 1).
        """
        nonlocal ret_ctx
        st = ostate[tid]
        if st == _DONE:
            return 1
        if st == _SPEC:  # ordered, but its "referenced" mark is still open: this may set it
            if tid != top and tid != ret_ctx:
                spec_hits.add(tid)
            return 1
        k = K[tid]
        o = WO[tid]
        if st == _BUSY:
            if (k == _STRUCT or k == _UNION) and through_ptr and W[o]:
                return 0
            raise _Cycle(tid)
        if k == _STRUCT or k == _UNION:
            named = W[o]
            if through_ptr and named:
                return 0
            ostate[tid] = _BUSY
            for mtype in W[o + 4:o + 3 + 3 * (W[o + 1] & 0xFFFF):3]:
                if ostate[mtype] != _DONE:
                    order(mtype, False)
            if named:
                queue.append(tid)
            ostate[tid] = _DONE
            return 1
        if k == _PTR:
            target = W[o + 2]
            r = 1 if ostate[target] == _DONE else order(target, True)
            ostate[tid] = _DONE
            return r
        if k == _TYPEDEF:
            target = W[o + 2]
            strong = 1 if ostate[target] == _DONE else order(target, through_ptr)
            if through_ptr and not strong:
                return 0
            queue.append(tid)
            ostate[tid] = _DONE
            return 1
        if k == _CONST or k == _VOLATILE or k == _RESTRICT or k == _TYPE_TAG:
            target = W[o + 2]
            return 1 if ostate[target] == _DONE else order(target, through_ptr)
        if k == _ARRAY:
            target = W[o + 3]
            return 1 if ostate[target] == _DONE else order(target, False)
        if k == _FUNC_PROTO:
            target = W[o + 2]
            if ostate[target] == _DONE:
                strong = True
            else:
                outer, ret_ctx = ret_ctx, target
                strong = order(target, through_ptr) > 0
                ret_ctx = outer
            for ptype in W[o + 4:o + 3 + 2 * (W[o + 1] & 0xFFFF):2]:
                if ostate[ptype] == _DONE or order(ptype, through_ptr) > 0:
                    strong = True
            return 1 if strong else 0
        if k == _INT or k == _FLOAT:
            ostate[tid] = _DONE
            return 0
        if k == _ENUM or k == _ENUM64 or k == _FWD:
            if W[o]:
                queue.append(tid)
                ostate[tid] = _DONE
                return 1
            ref = is_referenced(tid)
            if ref != 1:
                queue.append(tid)
            ostate[tid] = _SPEC if ref == 2 else _DONE
            return 1
        if k in _SKIP_KINDS:
            ostate[tid] = _DONE
            # A full dump orders every id in turn; one below the starting id was already
            # ordered by its own turn (libbpf would find it ORDERED and say "strong").
            return 1 if tid < top else 0
        raise ValueError(f"type id {tid}: unknown kind {k}")

    # ------------------------------------------------------------------ emission
    def emit_type(tid: int, cont: int) -> None:
        """libbpf's btf_dump_emit_type; ``cont`` is the containing struct (0: top level).

        Callers skip the call for ids already emitted. Pointers, modifiers and arrays only
        pass the call on to what they refer to; once that is emitted (a final state), the
        chain is marked emitted too, so the next walk stops at its start.
        """
        first = tid
        while True:
            es = estate[tid]
            if es == _DONE:
                estate[first] = _DONE
                return
            k = K[tid]
            if k == _PTR or k in _MODS:
                tid = W[WO[tid] + 2]
            elif k == _ARRAY:
                tid = W[WO[tid] + 3]
            else:
                break
        o = WO[tid]
        if es == _BUSY:
            if fwd_done[tid]:
                return
            if k == _STRUCT or k == _UNION:
                if tid == cont or not W[o]:
                    return  # self-reference, or an anonymous loop libbpf only warns about
                ev(tid << 3 | _EV_STRUCT_FWD)
                fwd_done[tid] = 1
            elif k == _TYPEDEF:
                if not blacklisted(tid):
                    ev(tid << 3 | _EV_TYPEDEF)
                fwd_done[tid] = 1
            return
        if k == _STRUCT or k == _UNION:
            estate[tid] = _BUSY
            named = W[o]
            if not cont or not named:
                new_cont = tid if named else cont
                for mtype in W[o + 4:o + 3 + 3 * (W[o + 1] & 0xFFFF):3]:
                    if estate[mtype] != _DONE:
                        emit_type(mtype, new_cont)
            elif not fwd_done[tid] and tid != cont:
                ev(tid << 3 | _EV_STRUCT_FWD)
                fwd_done[tid] = 1
            if not cont:
                ev(tid << 3 | _EV_STRUCT)
                estate[tid] = _DONE
            else:
                estate[tid] = _NOT
        elif k == _TYPEDEF:
            estate[tid] = _BUSY
            target = W[o + 2]
            if estate[target] != _DONE:
                emit_type(target, tid)
            if not fwd_done[tid] and not blacklisted(tid):
                ev(tid << 3 | _EV_TYPEDEF)
            estate[tid] = _DONE
        elif k == _INT:
            ev(tid << 3 | _EV_INT)  # resolves the int's name, which counts in the namespace
            estate[tid] = _DONE
        elif k == _ENUM or k == _ENUM64:
            if not cont:
                ev(tid << 3 | _EV_ENUM)
            estate[tid] = _DONE
        elif k == _FWD:
            ev(tid << 3 | _EV_FWD)
            estate[tid] = _DONE
        elif k == _FUNC_PROTO:
            target = W[o + 2]
            if estate[target] != _DONE:
                emit_type(target, cont)
            params = W[o + 4:o + 3 + 2 * (W[o + 1] & 0xFFFF):2]
            for ptype in params:
                if estate[ptype] != _DONE:
                    emit_type(ptype, cont)
            # libbpf never marks a prototype emitted and walks it again at every mention (a
            # function pointer member); once all its parts are emitted (final), that walk
            # does nothing, so it is marked emitted, and so are the pointers that lead to it.
            if estate[target] == _DONE:
                for ptype in params:
                    if estate[ptype] != _DONE:
                        break
                else:
                    estate[tid] = _DONE

    def dump_type(tid: int) -> None:
        queue.clear()
        order(tid, False)
        for q in queue:
            if estate[q] != _DONE:
                emit_type(q, 0)

    # ------------------------------------------------------------------ rendering
    def render(events: Sequence[int], out: list[str]) -> None:
        """The text of planned events (one string per definition: its pieces die early)."""
        for e in events:
            tid = e >> 3
            op = e & 7
            piece: list[str] = []
            if op == _EV_STRUCT:
                struct_def(piece, tid, 0)
            elif op == _EV_TYPEDEF:
                typedef_def(piece, tid, 0)
            elif op == _EV_ENUM:
                enum_def(piece, tid, 0)
            elif op == _EV_STRUCT_FWD:
                piece.append(struct_fwd(tid))
            elif op == _EV_FWD:
                piece.append(fwd_def(tid))
            else:  # _EV_INT
                name = type_name(tid)
                alias = _MISSING_BASE_TYPES.get(name)
                if alias is None:
                    continue
                piece.append(f"typedef {alias} {name}")
            piece.append(";\n\n")
            out.append("".join(piece))

    def unmark(text: str) -> list[str]:
        """Resolve the markers a marking child wrote for clashing names, in text order (the
        order libbpf resolves names in), continuing this process's namespaces."""
        parts = text.split("\x01")
        res = [parts[0]]
        add = res.append
        for part in parts[1:]:
            end = part.index("\x02")
            op = part[0]
            num = int(part[1:end])
            if op == "T":
                add(type_name(num))
            elif op == "I":
                add(ident_name(num))
            elif op == "R":
                ident_name(num)
            else:  # "E": an enumerator (every writing of one counts)
                nm = names[num]
                dup = ident_names.get(nm, 0) + 1
                ident_names[nm] = dup
                add(nm if dup == 1 else f"{nm}___{dup}")
            add(part[end + 1:])
        return res

    def child_render(events: Sequence[int], type_clash: frozenset[str],
                     ident_clash: frozenset[str]) -> tuple[str, list[int], list[int]]:
        """The helper's part: text with markers, the anonymous enums it wrote, and the name
        offsets of the enumerators it wrote as first (unsuffixed) writings of their name."""
        nonlocal marking, amb_type, amb_ident
        marking, amb_type, amb_ident = True, type_clash, ident_clash
        out: list[str] = []
        render(events, out)
        return "".join(out), list(anon_written), plain_enumerators

    def take_child_text(reply: bytes | None) -> bool:
        """Append the helper's part to ``out`` (False: unusable, the caller renders it)."""
        if reply is None or len(reply) < 9 or reply[0] != 0:
            return False
        (nanon, nplain) = struct.unpack_from("=II", reply, 1)
        pos = 9 + 4 * nanon
        anon = array("I", reply[9:pos])
        plain = array("I", reply[pos:pos + 4 * nplain])
        # The helper wrote the unclashing enumerators of these anonymous enums as the first
        # writings of their names: right only if this process wrote none of these enums.
        if anon_written.intersection(anon):
            return False
        text = reply[pos + 4 * nplain:].decode("utf-8", "surrogateescape")
        for name_off in plain:  # count those writings (their names occur nowhere else)
            nm = names[name_off]
            ident_names[nm] = ident_names.get(nm, 0) + 1
        out.extend(unmark(text))
        return True

    # ------------------------------------------------------------------ planning
    # A big full dump gets a helper process, forked here: while this process plans, it works
    # out which names clash; then it writes the text of the second part of the plan (see
    # _Helper).
    helper: _Helper | None = None
    if roots is None and jobs > 1 and (jobs_forced or n >= _PARALLEL_MIN_TYPES):
        helper = _Helper.fork(tb, child_render)

    try:
        if roots is None:
            # Every id in turn, as bpftool does. Ids of the kinds that only get marked are
            # skipped here; order() accounts for them through ``top``. The common cases are
            # unrolled: a pointer to something ordered or to a named struct/union (a weak link,
            # nothing to order), a prototype whose parts are all ordered.
            keep = K.translate(_VISIT_MASK)
            for tid in compress(range(n), keep):
                if ostate[tid] == _DONE:
                    continue
                k = K[tid]
                if k == _PTR:
                    target = W[WO[tid] + 2]
                    kt = K[target]
                    if ostate[target] == _DONE or ((kt == _STRUCT or kt == _UNION) and W[WO[target]]):
                        ostate[tid] = _DONE
                        continue
                elif k == _FUNC_PROTO:
                    o = WO[tid]
                    # nearly always everything it mentions is ordered already: look at up to
                    # three parameters without slicing
                    vlen = W[o + 1] & 0xFFFF
                    if (vlen < 4 and ostate[W[o + 2]] == _DONE
                            and (vlen < 1 or ostate[W[o + 4]] == _DONE)
                            and (vlen < 2 or ostate[W[o + 6]] == _DONE)
                            and (vlen < 3 or ostate[W[o + 8]] == _DONE)):
                        continue
                    top = tid
                    target = W[o + 2]
                    if ostate[target] != _DONE:
                        ret_ctx = target
                        order(target, False)
                        ret_ctx = -1
                    for ptype in W[o + 4:o + 3 + 2 * (W[o + 1] & 0xFFFF):2]:
                        if ostate[ptype] != _DONE:
                            order(ptype, False)
                    if queue:
                        for q in queue:
                            if estate[q] != _DONE:
                                emit_type(q, 0)
                        queue.clear()
                    continue
                top = tid
                order(tid, False)
                if queue:
                    for q in queue:
                        if estate[q] != _DONE:
                            emit_type(q, 0)
                    queue.clear()
        else:
            for tid in roots:
                if not 0 <= tid < n:
                    raise BTFError(f"BTF type id {tid} out of range (last id is {n - 1})")
                top = 0
                dump_type(tid)

        if speculated:
            # Enums taken as unreferenced that were referenced after all were queued wrongly,
            # which only added their definition (emitting an anonymous enum does nothing
            # else): drop it.
            if referenced is not None:
                hit = referenced.intersection(speculated)
            else:
                hit = spec_hits.union(_unordered_refs(tb).intersection(speculated))
            drop = {t << 3 | _EV_ENUM for t in speculated if t in hit}
            if drop:
                plan = [e for e in plan if e not in drop]
        out: list[str] = [HEADER]
        if helper is None:
            render(plan, out)
        else:
            mid = _split(tb, plan)
            if mid < len(plan) and helper.send(array("Q", plan[mid:]).tobytes()):
                render(plan[:mid], out)
                if not take_child_text(helper.reply()):
                    render(plan[mid:], out)
            else:
                render(plan, out)
    finally:
        if helper is not None:
            helper.close()
    out.append(FOOTER)
    return out


# ---------------------------------------------------------------------- two processes
#: Below this many types a helper process costs more than it saves.
_PARALLEL_MIN_TYPES = 20000
#: The share of the work the parent keeps: it also pays for the fork, reading the child's
#: text and resolving the child's markers.
_PARENT_SHARE = 0.5


def _auto_jobs() -> int:
    """2 when a dump may fork a helper that will run beside it: fork exists, this process has
    no other threads, it may run on more than one CPU, and one of them is idle enough (the
    1-minute load average is below the CPU count less a half: on a busy machine the helper
    would only take turns with the parent, and the split costs CPU time). ``PYBPF_DUMP_JOBS``
    set to 1 or 2 decides instead."""
    env = os.environ.get("PYBPF_DUMP_JOBS", "")
    if env in ("1", "2"):
        return int(env) if hasattr(os, "fork") else 1
    if not hasattr(os, "fork"):
        return 1
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 1
    return 2 if load < cpus - 0.5 else 1


def _clashing_names(tb: TypeTable) -> tuple[frozenset[str], frozenset[str]] | None:
    """The names that occur more than once in libbpf's two namespaces (struct/union/enum/int
    names; typedef names and enumerators): only those can get a ``___N`` suffix, which depends
    on everything written before. None when marking cannot be used (an int's name clashes: its
    resolution decides whether a typedef is written; or names contain the marker bytes).

    Bulk operations: name offsets gathered with ``itemgetter``, strings cut out of the string
    section with ``map``, counted with ``Counter``.
    """
    strings = tb.strings
    text = strings.text if isinstance(strings, _StringsType) else None
    if text is None or "\x01" in text or "\x02" in text:
        return None
    W, WO, K, vlens = tb.words, tb.woff, tb.kinds, tb.vlens
    ids = range(tb.count)

    def name_offsets(mask: bytes) -> list[int]:
        sel = list(compress(ids, K.translate(mask)))
        return list(_gather(W, _gather(WO, sel)))

    def cut(offsets: Iterable[int]) -> list[str]:
        offs = list(offsets)
        return list(map(text.__getitem__, map(slice, offs, map(text.index, repeat("\0"), offs))))

    enums = list(compress(ids, K.translate(_ENUMS_MASK)))
    # an empty ENUM keeps its name and does not count (ENUM64 does: libbpf's btf_is_enum)
    counted_enums = [t for t in enums if vlens[t] or K[t] == _ENUM64]
    int_names = cut(filter(None, name_offsets(_KIND_MASKS[_INT])))
    type_names = Counter(int_names)
    type_names.update(cut(filter(None, name_offsets(_MEMBERS_MASK))))
    type_names.update(cut(filter(None, _gather(W, _gather(WO, counted_enums)))))
    type_clash = frozenset(nm for nm, c in type_names.items() if c > 1)
    if not type_clash.isdisjoint(int_names):
        return None
    ident_offs = list(filter(None, name_offsets(_KIND_MASKS[_TYPEDEF])))
    for t in enums:
        o = WO[t]
        step = 2 if K[t] == _ENUM else 3
        ident_offs += W[o + 3:o + 3 + step * vlens[t]:step]
    idents = Counter(cut(ident_offs))
    return type_clash, frozenset(nm for nm, c in idents.items() if c > 1)


def _gather(seq: Any, positions: Sequence[int]) -> Sequence[int]:
    """``[seq[p] for p in positions]`` with one C-level call."""
    if len(positions) > 1:
        return itemgetter(*positions)(seq)  # type: ignore[no-any-return]
    return [seq[p] for p in positions]


def _split(tb: TypeTable, plan: list[int]) -> int:
    """Where the helper's part of ``plan`` starts: the parent keeps _PARENT_SHARE of the work,
    an event weighing its members or enumerators (its vlen) plus two."""
    vlens = tb.vlens
    cum = list(accumulate(map(add, _gather(vlens, [e >> 3 for e in plan]), repeat(2))))
    return min(bisect_left(cum, cum[-1] * _PARENT_SHARE) + 1, len(plan)) if cum else 0


def _grow_pipe(fd: int, size: int = 1 << 20) -> None:
    """Make a pipe's buffer ``size`` bytes when Linux allows (F_SETPIPE_SZ), else leave it."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError):
        pass


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(struct.pack("=Q", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_frame(pipe: Any) -> bytes | None:
    head = pipe.read(8)
    if len(head) != 8:
        return None
    (size,) = struct.unpack("=Q", head)
    data = pipe.read(size)
    return data if len(data) == size else None


class _Helper:
    """A forked helper of one C dump, seen from the parent.

    While the parent plans, the child (see :meth:`fork`) works out which names clash; once the
    parent sent the second part of its plan on one pipe, it answers in one frame on the other:
    a status byte (0: done, 1: declined), the anonymous enums it wrote, the enumerators it
    wrote as first writings of their names, and the text of that part with markers for
    clashing names. Whatever goes wrong on the child's side, the parent does the work.
    """

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self.to_child = to_child
        self.pipe = open(from_child, "rb")

    @classmethod
    def fork(cls, tb: TypeTable, child_render: Any) -> _Helper | None:
        """Fork the helper; None if that is not possible (the dump then runs alone)."""
        try:
            down_r, down_w = os.pipe()
        except OSError:
            return None
        try:
            up_r, up_w = os.pipe()
        except OSError:
            os.close(down_r)
            os.close(down_w)
            return None
        try:
            pid = os.fork()
        except OSError:
            for fd in (down_r, down_w, up_r, up_w):
                os.close(fd)
            return None
        if pid == 0:
            code = 1
            try:
                os.close(down_w)
                os.close(up_r)
                code = _helper_main(tb, child_render, down_r, up_w)
            finally:
                os._exit(code)
        os.close(down_r)
        os.close(up_w)
        # room for the whole plan: the parent hands it over without waiting for the helper
        _grow_pipe(down_w)
        return cls(pid, down_w, up_r)

    def send(self, plan_bytes: bytes) -> bool:
        """Hand the helper its part of the plan (False if it is gone)."""
        try:
            _write_frame(self.to_child, plan_bytes)
        except OSError:
            return False
        return True

    def reply(self) -> bytes | None:
        """The helper's answer to :meth:`send`, None if it failed."""
        data = _read_frame(self.pipe)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return data if os.waitstatus_to_exitcode(status) == 0 else None

    def close(self) -> None:
        """Release the pipes and reap the helper (killing it if it still runs)."""
        os.close(self.to_child)
        self.pipe.close()
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0


def _helper_main(tb: TypeTable, child_render: Any, down: int, up: int) -> int:
    """The helper's side of :class:`_Helper`; returns its exit status."""
    clashes = _clashing_names(tb)
    with open(down, "rb") as pipe:
        plan_bytes = _read_frame(pipe)
    if plan_bytes is None:
        return 1
    if clashes is None:
        _write_frame(up, b"\x01")  # declined: the parent writes the whole text
        return 0
    events = array("Q")
    events.frombytes(plan_bytes)
    text, anon, plain = child_render(events.tolist(), *clashes)
    data = text.encode("utf-8", "surrogateescape")
    _write_frame(up, b"".join((b"\x00", struct.pack("=II", len(anon), len(plain)), array("I", anon).tobytes(),
                               array("I", plain).tobytes(), data)))
    return 0


#: 1 for the kinds a full dump visits at top level, 0 for void and _SKIP_KINDS.
_VISIT_MASK = bytes(0 if (k == 0 or k in _SKIP_KINDS) else 1 for k in range(256))


def _unordered_refs(tb: TypeTable) -> set[int]:
    """The references a full dump's ordering does not follow (so libbpf's marks from them are
    looked up here): the types of FUNC, VAR and DECL_TAG records, DATASEC entries, and array
    index types."""
    W, WO, K = tb.words, tb.woff, tb.kinds
    ids = range(tb.count)
    refs: set[int] = set()
    sel = list(compress(ids, K.translate(_UNORDERED_SINGLE_MASK)))
    refs.update(_gather(W, [p + 2 for p in _gather(WO, sel)]))
    sel = list(compress(ids, K.translate(_KIND_MASKS[_ARRAY])))
    refs.update(_gather(W, [p + 4 for p in _gather(WO, sel)]))
    for i in compress(ids, K.translate(_KIND_MASKS[_DATASEC])):
        o = WO[i]
        refs.update(W[o + 3:o + 3 + 3 * (W[o + 1] & 0xFFFF):3])
    return refs


def _referenced_ids(tb: TypeTable) -> set[int]:
    """Every type id some other type refers to (libbpf's ``referenced`` marks).

    Only consulted for anonymous enums and fwds: one nobody refers to is a top-level
    definition of its own (``enum { A = 1, };``). As in libbpf, a prototype marks its
    parameters but not its return type. Fixed-position references are gathered with
    C-level bulk operations (``itemgetter`` over the word array shifted by the field's
    position); members, parameters and section entries one record at a time.
    """
    W, WO, K, n = tb.words, tb.woff, tb.kinds, tb.count
    refs: set[int] = set()
    ids = range(n)

    def gather(mask: bytes, pos: int) -> tuple[int, ...]:
        sel = list(compress(ids, K.translate(mask)))
        if len(sel) < 2:
            return tuple(W[WO[i] + pos] for i in sel)
        words = W[pos:]
        return itemgetter(*itemgetter(*sel)(WO))(words)  # type: ignore[no-any-return]

    refs.update(gather(_SINGLE_REF_MASK, 2))
    refs.update(gather(_KIND_MASKS[_ARRAY], 3))
    refs.update(gather(_KIND_MASKS[_ARRAY], 4))
    update = refs.update
    for mask, first, step in ((_MEMBERS_MASK, 4, 3), (_KIND_MASKS[_FUNC_PROTO], 4, 2),
                              (_KIND_MASKS[_DATASEC], 3, 3)):
        for i in compress(ids, K.translate(mask)):
            o = WO[i]
            update(W[o + first:o + 3 + step * (W[o + 1] & 0xFFFF):step])
    return refs


def _mask(kinds: Iterable[int]) -> bytes:
    ks = set(kinds)
    return bytes(1 if k in ks else 0 for k in range(256))


_SINGLE_REF_MASK = _mask((_PTR, _TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _FUNC, _VAR, _DECL_TAG,
                          _TYPE_TAG))
_MEMBERS_MASK = _mask((_STRUCT, _UNION))
_ENUMS_MASK = _mask((_ENUM, _ENUM64))
_UNORDERED_SINGLE_MASK = _mask((_FUNC, _VAR, _DECL_TAG))
_KIND_MASKS = {k: _mask((k,)) for k in (_INT, _TYPEDEF, _ARRAY, _FUNC_PROTO, _DATASEC)}
