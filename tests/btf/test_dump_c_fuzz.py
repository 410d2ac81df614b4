"""Random BTF type graphs, dumped as C by pybpf and by bpftool 7.1, must agree byte for byte.

Compiled objects only contain what C can express and clang chooses to emit; these graphs also
reach the corners libbpf's btf_dump has rules for but clang rarely produces: names shared by
structs, typedefs, enumerators and ints, unreferenced anonymous enums, forward declarations
next to definitions of the same name, odd member offsets and sizes (padding and packed
detection), 32-bit targets (``long`` of 4 bytes), FUNC/VAR/DATASEC types used where a type is
expected, by-value cycles libbpf refuses, split BTF, and both byte orders.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

from pybpf.btf import BTF
from pybpf.btf.dump_c import dump_c
from pybpf.errors import BTFError

from ..conftest import skip_or_fail, tool_unavailable_reason


def need_bpftool() -> None:
    # (not the require_tools fixture: hypothesis tests take no function-scoped fixtures)
    reason = tool_unavailable_reason("bpftool")
    if reason:
        skip_or_fail(reason)

(INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
 FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64) = range(1, 20)


class RawBTF:
    """A minimal raw BTF writer for tests: records are lists of 32-bit words."""

    def __init__(self, base: "RawBTF | None" = None) -> None:
        self.base = base
        self.records: list[list[int]] = []
        self.strtab = bytearray() if base is not None else bytearray(b"\0")
        self.str_base = len(base.strtab) if base is not None else 0
        self.id_base = (base.id_base + len(base.records)) if base is not None else 0
        self.offsets: dict[str, int] = {} if base is not None else {"": 0}

    def s(self, text: str) -> int:
        if text == "" and self.base is not None:
            return 0
        if text not in self.offsets:
            self.offsets[text] = self.str_base + len(self.strtab)
            self.strtab += text.encode() + b"\0"
        return self.offsets[text]

    def add(self, words: list[int]) -> int:
        self.records.append([x & 0xFFFFFFFF for x in words])
        return self.id_base + len(self.records)

    def encode(self, endian: str = "<") -> bytes:
        types = b"".join(struct.pack(f"{endian}{len(r)}I", *r) for r in self.records)
        strs = bytes(self.strtab)
        hdr = struct.pack(endian + "HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
        return hdr + types + strs


def info(kind: int, vlen: int = 0, kflag: int = 0) -> int:
    return kflag << 31 | kind << 24 | vlen


NAMES = ["foo", "bar", "node", "x", "A", "int", "__builtin_va_list", "__gnuc_va_list", "__Poly8_t"]
INT_NAMES = ["int", "unsigned int", "char", "long", "long int", "long unsigned int", "short",
             "_Bool", "__int128", "__Poly8_t", "__Poly128_t", "foo", "x"]
ENUMERATORS = ["A", "B", "C", "foo", "x", "bar"]
MEMBER_NAMES = ["", "a", "b", "c", "x", "next"]
# Struct/union weigh most: they carry the ordering, layout and naming rules.
KIND_CHOICES = ([STRUCT] * 6 + [UNION] * 2 + [PTR] * 5 + [TYPEDEF] * 3 + [INT] * 2 + [ENUM] * 2
                + [ARRAY] * 2 + [CONST, VOLATILE, RESTRICT, TYPE_TAG, FWD, FWD, FUNC_PROTO,
                                 FUNC_PROTO, FUNC, VAR, DATASEC, FLOAT, DECL_TAG, ENUM64])


@st.composite
def type_graphs(draw, first_id: int = 1, base_ids: tuple[int, ...] = (), max_types: int = 24):
    """A list of records (word lists) for ids ``first_id`` onwards.

    Each type gets a random rank; a reference "by value" (member, typedef, array element,
    modifier target, prototype part) only goes to a lower rank, so by-value cycles exist only
    through pointers (to structs/unions of any rank) — which is what C allows, plus anonymous
    ones libbpf must reject.
    """
    n = draw(st.integers(1, max_types))
    ids = list(range(first_id, first_id + n))
    kinds = {i: draw(st.sampled_from(KIND_CHOICES)) for i in ids}
    ranks = dict(zip(ids, draw(st.permutations(range(n)))))
    composites = [i for i in ids if kinds[i] in (STRUCT, UNION)]
    # Mostly named (a pointer to a named struct may point "up"); anonymous ones pointed to from
    # below their rank make the unsatisfiable cycles libbpf must reject.
    comp_names = {i: draw(st.sampled_from(["", *NAMES, *NAMES])) for i in composites}
    named_composites = [i for i in composites if comp_names[i]]
    protos = [i for i in ids if kinds[i] == FUNC_PROTO]
    variables = [i for i in ids if kinds[i] == VAR]

    def by_value(i: int):
        lower = [j for j in ids if ranks[j] < ranks[i]]
        if not lower and not base_ids:
            return st.just(0)
        # void is rare as a member (libbpf divides by its alignment of 0 and crashes).
        return st.one_of(st.sampled_from([*base_ids, *lower]), st.sampled_from([*base_ids, *lower]),
                         st.sampled_from([*base_ids, *lower]), st.just(0))

    def pointee(i: int):
        lower = [j for j in ids if ranks[j] < ranks[i]]
        up = st.sampled_from([0, *base_ids, *lower, *named_composites])
        return st.one_of(up, up, up, st.sampled_from([0, *composites]))

    def name_or_anon():
        return st.one_of(st.just(""), st.sampled_from(NAMES))

    records: list[tuple[str, list]] = []  # (kind tag, fields) turned into words by the caller
    for i in ids:
        k = kinds[i]
        if k == INT:
            size = draw(st.sampled_from([1, 2, 4, 8, 16]))
            enc = draw(st.sampled_from([0, 1, 2, 4]))
            records.append(("rec", [("s", draw(st.sampled_from(INT_NAMES))), info(INT), size,
                                    enc << 24 | size * 8]))
        elif k == FLOAT:
            size = draw(st.sampled_from([4, 8, 16]))
            records.append(("rec", [("s", {4: "float", 8: "double", 16: "long double"}[size]),
                                    info(FLOAT), size]))
        elif k == PTR:
            records.append(("rec", [0, info(PTR), draw(pointee(i))]))
        elif k in (CONST, VOLATILE, RESTRICT):
            records.append(("rec", [0, info(k), draw(by_value(i))]))
        elif k == TYPE_TAG:
            records.append(("rec", [("s", draw(st.sampled_from(["user", "rcu"]))), info(k),
                                    draw(by_value(i))]))
        elif k == TYPEDEF:
            records.append(("rec", [("s", draw(st.sampled_from(NAMES))), info(k), draw(by_value(i))]))
        elif k == ARRAY:
            index = draw(st.sampled_from([0, *ids]))
            records.append(("rec", [0, info(ARRAY), 0, draw(by_value(i)), index,
                                    draw(st.integers(0, 4))]))
        elif k in (STRUCT, UNION):
            vlen = draw(st.integers(0, 4))
            kflag = draw(st.booleans())
            words: list = [("s", comp_names[i]), info(k, vlen, kflag), 0]
            off = 0
            for _ in range(vlen):
                if k == STRUCT:
                    off += draw(st.sampled_from([0, 1, 3, 8, 13, 16, 32, 40, 64, 100]))
                    moff = off
                else:
                    moff = draw(st.sampled_from([0, 0, 0, 8]))
                bits = draw(st.integers(0, 20)) if kflag else 0
                mtype = draw(by_value(i))
                words += [("s", draw(st.sampled_from(MEMBER_NAMES))), mtype,
                          (bits << 24 | moff) if kflag else moff]
                off = moff + bits
            words[2] = draw(st.integers(0, 24)) + (off + 7) // 8
            records.append(("rec", words))
        elif k in (ENUM, ENUM64):
            vlen = draw(st.integers(0, 3))
            kflag = draw(st.booleans())
            size = draw(st.sampled_from([1, 2, 4, 8]))
            words = [("s", draw(name_or_anon())), info(k, vlen, kflag), size]
            for _ in range(vlen):
                nm = ("s", draw(st.sampled_from(ENUMERATORS)))
                if k == ENUM:
                    words += [nm, draw(st.integers(-(1 << 31), (1 << 32) - 1))]
                else:
                    v = draw(st.integers(-(1 << 63), (1 << 64) - 1)) & ((1 << 64) - 1)
                    words += [nm, v & 0xFFFFFFFF, v >> 32]
            records.append(("rec", words))
        elif k == FWD:
            records.append(("rec", [("s", draw(st.sampled_from(NAMES))), info(FWD, 0, draw(st.booleans())), 0]))
        elif k == FUNC_PROTO:
            nparams = draw(st.integers(0, 3))
            words = [0, info(FUNC_PROTO, nparams), draw(by_value(i))]
            for j in range(nparams):
                if j == nparams - 1 and draw(st.booleans()):
                    words += [0, 0]  # variadic
                else:
                    words += [("s", draw(st.sampled_from(MEMBER_NAMES))), draw(by_value(i))]
            records.append(("rec", words))
        elif k == FUNC:
            records.append(("rec", [("s", "fn"), info(FUNC, draw(st.integers(0, 2))),
                                    draw(st.sampled_from(protos or [0]))]))
        elif k == VAR:
            records.append(("rec", [("s", "var"), info(VAR), draw(by_value(i)), draw(st.integers(0, 2))]))
        elif k == DATASEC:
            nvars = draw(st.integers(0, 2)) if variables else 0
            words = [("s", ".data"), info(DATASEC, nvars), 16]
            for j in range(nvars):
                words += [draw(st.sampled_from(variables)), 4 * j, 4]
            records.append(("rec", words))
        elif k == DECL_TAG:
            records.append(("rec", [("s", "tag"), info(DECL_TAG), draw(st.sampled_from(ids)),
                                    draw(st.sampled_from([-1, 0, 1]))]))
    return records


def build(raw: RawBTF, records: list) -> None:
    for _, fields in records:
        raw.add([raw.s(f[1]) if isinstance(f, tuple) else f for f in fields])


def bpftool_c(path: str, base: str | None = None) -> subprocess.CompletedProcess:
    argv = ["bpftool"] + (["-B", base] if base else []) + ["btf", "dump", "file", path, "format", "c"]
    return subprocess.run(argv, capture_output=True, timeout=60)


def ours(raw: bytes, base_raw: bytes | None = None) -> str | None:
    base = BTF.parse(base_raw) if base_raw is not None else None
    btf = BTF.parse(raw, base=base)
    try:
        text: str | None = dump_c(btf, jobs=1)
    except BTFError:
        text = None
    # Two processes (forced, whatever the size; names clash a lot here) write the same text,
    # or refuse the same BTF.
    try:
        two: str | None = dump_c(btf, jobs=2)
    except BTFError:
        two = None
    assert two == text
    return text


def agree(raw: bytes, base_raw: bytes | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "types.btf")
        with open(path, "wb") as f:
            f.write(raw)
        base_path = None
        if base_raw is not None:
            base_path = os.path.join(tmp, "base.btf")
            with open(base_path, "wb") as f:
                f.write(base_raw)
        proc = bpftool_c(path, base_path)
    got = ours(raw, base_raw)
    if proc.returncode == 0:
        assert got is not None, f"pybpf refused BTF bpftool dumps:\n{proc.stdout.decode()}"
        assert got == proc.stdout.decode()
    else:
        # libbpf refuses (unsatisfiable cycle) or crashes on it: so must we refuse.
        assert got is None, f"bpftool failed ({proc.returncode}: {proc.stderr.decode()}) but pybpf dumped"


FUZZ = settings(max_examples=int(os.environ.get("PYBPF_FUZZ_EXAMPLES", "250")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(records=type_graphs(), endian=st.sampled_from("<>"))
def test_random_graphs_match_bpftool(records, endian):
    need_bpftool()
    raw = RawBTF()
    build(raw, records)
    agree(raw.encode(endian))


@FUZZ
@given(data=st.data(), endian=st.sampled_from("<>"))
def test_random_split_btf_matches_bpftool(data, endian):
    need_bpftool()
    base = RawBTF()
    build(base, data.draw(type_graphs(max_types=10), label="base"))
    base_ids = tuple(range(1, len(base.records) + 1))
    split = RawBTF(base)
    build(split, data.draw(type_graphs(first_id=len(base.records) + 1, base_ids=base_ids,
                                       max_types=12), label="split"))
    agree(split.encode(endian), base.encode(endian))
