"""Python values and ctypes views of BTF types, checked against clang's own layout.

The C fixtures are generated here with known member values; clang compiles them into .data
(its encoding of every bitfield, padding byte and nested member) and computes sizeof/offsetof
into .rodata. pybpf must decode clang's bytes to the values written in the source, encode
those values to clang's bytes, and lay out ctypes classes at clang's offsets.
"""

from __future__ import annotations

import ctypes
import random
import re
import struct

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf.ctypes_view import ctype_for
from pybpf.btf.values import ValueCodec, decode, encode
from pybpf.errors import BTFError

from .helpers import dump_section, run

HEADER = "#include <linux/types.h>\n#include <bpf/bpf_helpers.h>\n"


def symbols(obj: str) -> dict[str, tuple[int, int]]:
    """name -> (value, size) of the object's data symbols."""
    out = {}
    for line in run("llvm-readelf-19", "-s", "-W", obj).stdout.splitlines():
        cols = line.split()
        if len(cols) >= 8 and cols[3] == "OBJECT":
            out[cols[7]] = (int(cols[1], 16), int(cols[2]))
    return out


class Compiled:
    def __init__(self, obj: str, tmp_path) -> None:
        self.btf = BTF.parse(dump_section(obj, ".BTF", tmp_path))
        self.sections = {name: dump_section(obj, name, tmp_path) for name in (".data", ".rodata")
                         if name in run("llvm-readelf-19", "-S", "-W", obj).stdout}
        self.syms = symbols(obj)

    def var_bytes(self, name: str, section: str = ".data") -> bytes:
        off, size = self.syms[name]
        return self.sections[section][off:off + size]

    def struct(self, name: str) -> int:
        return self.btf.find_one(name, Kind.STRUCT)


@pytest.fixture
def build(compile_bpf, require_tools, tmp_path):
    require_tools("llvm-objcopy-19", "llvm-readelf-19")

    def make(source: str, name: str) -> Compiled:
        return Compiled(compile_bpf(source=HEADER + source, name=name), tmp_path)

    return make


def _bitfield_source(rnd: random.Random) -> tuple[str, dict[str, int]]:
    fields, values = [], {}
    for width in range(1, 65):
        for signed in (False, True):
            base = "long long" if signed else "unsigned long long"
            name = f"{'s' if signed else 'u'}{width}"
            fields.append(f"\t{base} {name} : {width};")
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
            values[name] = rnd.choice([lo, hi, rnd.randint(lo, hi)])
        if width % 9 == 0:
            fields.append(f"\tchar gap{width};")
            values[f"gap{width}"] = width
    fields.append("\tint i4 : 4;\n\tunsigned char uc3 : 3;\n\t_Bool flag : 1;\n\tshort tail;")
    values.update(i4=-8, uc3=5, flag=1, tail=-2)
    def literal(k: str, v: int) -> str:
        if k.startswith("u"):
            return f"{v}ULL"
        return "(-9223372036854775807LL - 1)" if v == -(1 << 63) else f"{v}LL"

    init = ", ".join(f".{k} = {literal(k, v)}" for k, v in values.items())
    src = "struct bits {\n" + "\n".join(fields) + "\n};\n" + f"struct bits g = {{ {init} }};\n"
    return src, values


def test_bitfields_of_every_width_against_clang(build):
    src, values = _bitfield_source(random.Random(7))
    c = build(src + "SEC(\"xdp\") int p(void *ctx) { return g.u1; }\n", "btf_bits")
    sid = c.struct("bits")
    raw = c.var_bytes("g")
    got = decode(c.btf, sid, raw)
    assert {k: got[k] for k in values} == values
    assert encode(c.btf, sid, values) == raw
    view = ctype_for(c.btf, sid).from_buffer_copy(raw)
    assert ctypes.sizeof(view) == len(raw) == c.btf.resolve_size(sid)
    for k, v in values.items():
        field = getattr(view, k)
        assert (field if not isinstance(field, bytes) else ord(field)) == v, k
    # writing through the view produces clang's bytes too
    fresh = ctype_for(c.btf, sid)()
    for k, v in values.items():
        setattr(fresh, k, v if not k.startswith("gap") else bytes([v]))
    assert bytes(fresh) == raw


LAYOUT_SRC = r"""
enum sign { NEG = -5, POS = 9 };
enum wide { WIDE = 0x1122334455ULL };
typedef unsigned short port_t;
struct point { int x, y; };
struct layout {
	char c;
	long l;
	struct point pts[2][3];
	union {
		struct {
			short a;
			port_t port;
		};
		unsigned int whole;
	};
	struct {
		char tag[5];
		struct point p;
	} named;
	enum sign sg;
	enum wide wd;
	float f;
	double d;
	void *ptr;
	const volatile unsigned char cv;
	char flex[];
};
struct __attribute__((packed)) packed {
	char c;
	int i;
	long long ll;
	short s;
};
struct aligned {
	char c;
	int i __attribute__((aligned(16)));
	char after;
} __attribute__((aligned(32)));
union u { char c[3]; int i; long long ll; };
struct layout gl = { .c = 'A', .l = -123456789012, .pts = {{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}, {9, 10}, {11, 12}}},
		     .a = -3, .port = 8080, .named = { .tag = "abcd", .p = { -1, 1 } }, .sg = NEG, .wd = WIDE,
		     .f = 1.5f, .d = -2.25, .ptr = 0, .cv = 200 };
struct packed gp = { .c = 'z', .i = -2, .ll = 0x0102030405060708LL, .s = 7 };
struct aligned ga = { .c = 1, .i = 2, .after = 3 };
union u gu = { .ll = 0x1122334455667788LL };
const volatile unsigned long long layout[] = {
	sizeof(struct layout), __builtin_offsetof(struct layout, l), __builtin_offsetof(struct layout, pts),
	__builtin_offsetof(struct layout, a), __builtin_offsetof(struct layout, port),
	__builtin_offsetof(struct layout, whole), __builtin_offsetof(struct layout, named),
	__builtin_offsetof(struct layout, named.p), __builtin_offsetof(struct layout, sg),
	__builtin_offsetof(struct layout, wd), __builtin_offsetof(struct layout, f), __builtin_offsetof(struct layout, d),
	__builtin_offsetof(struct layout, ptr), __builtin_offsetof(struct layout, cv),
	__builtin_offsetof(struct layout, flex),
	sizeof(struct packed), __builtin_offsetof(struct packed, i), __builtin_offsetof(struct packed, ll),
	__builtin_offsetof(struct packed, s),
	sizeof(struct aligned), __builtin_offsetof(struct aligned, i), __builtin_offsetof(struct aligned, after),
	sizeof(union u),
};
SEC("xdp") int p(void *ctx) { return gl.c + gp.c + ga.c + gu.c[0] + layout[0]; }
"""


def test_layout_offsets_and_values_against_clang(build):
    c = build(LAYOUT_SRC, "btf_layout_typed")
    off, size = c.syms["layout"]
    clang = list(struct.unpack_from(f"<{size // 8}Q", c.sections[".rodata"], off))
    L = ctype_for(c.btf, c.struct("layout"))
    P = ctype_for(c.btf, c.struct("packed"))
    A = ctype_for(c.btf, c.struct("aligned"))
    U = ctype_for(c.btf, c.btf.find_one("u", Kind.UNION))
    named = getattr(L, "named")
    ours = [ctypes.sizeof(L), L.l.offset, L.pts.offset, L.a.offset, L.port.offset, L.whole.offset, named.offset,
            named.offset + type(L().named).p.offset, L.sg.offset, L.wd.offset, L.f.offset, L.d.offset,
            L.ptr.offset, L.cv.offset, L.flex.offset,
            ctypes.sizeof(P), P.i.offset, P.ll.offset, P.s.offset,
            ctypes.sizeof(A), A.i.offset, A.after.offset, ctypes.sizeof(U)]
    assert ours == clang

    expected_gl = {
        "c": ord("A"), "l": -123456789012,
        "pts": [[{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}],
                [{"x": 7, "y": 8}, {"x": 9, "y": 10}, {"x": 11, "y": 12}]],
        "a": -3, "port": 8080, "whole": (8080 << 16) | (0x10000 - 3),
        "named": {"tag": b"abcd", "p": {"x": -1, "y": 1}},
        "sg": -5, "wd": 0x1122334455, "f": 1.5, "d": -2.25, "ptr": 0, "cv": 200, "flex": b"",
    }
    raw = c.var_bytes("gl")
    lid = c.struct("layout")
    assert decode(c.btf, lid, raw) == expected_gl
    del expected_gl["whole"]  # the union member shares bytes with a/port
    assert encode(c.btf, lid, expected_gl) == raw
    view = L.from_buffer_copy(raw)
    assert (view.c, view.l, view.pts[1][2].y, view.a, view.port, view.whole) == (b"A", -123456789012, 12, -3, 8080,
                                                                                 (8080 << 16) | (0x10000 - 3))
    assert (view.named.tag, view.named.p.x, view.sg, view.wd, view.f, view.d, view.cv) == (
        b"abcd", -1, -5, 0x1122334455, 1.5, -2.25, 200)

    pid = c.struct("packed")
    assert decode(c.btf, pid, c.var_bytes("gp")) == {"c": ord("z"), "i": -2, "ll": 0x0102030405060708, "s": 7}
    assert encode(c.btf, pid, {"c": ord("z"), "i": -2, "ll": 0x0102030405060708, "s": 7}) == c.var_bytes("gp")
    aid = c.struct("aligned")
    assert decode(c.btf, aid, c.var_bytes("ga")) == {"c": 1, "i": 2, "after": 3}
    assert encode(c.btf, aid, {"c": 1, "i": 2, "after": 3}) == c.var_bytes("ga")
    uid = c.btf.find_one("u", Kind.UNION)
    assert U.from_buffer_copy(c.var_bytes("gu")).ll == 0x1122334455667788
    assert decode(c.btf, uid, c.var_bytes("gu"))["i"] == 0x55667788


def test_decode_encode_round_trip_and_ctypes_agree(build):
    c = build(LAYOUT_SRC, "btf_layout_typed")
    rnd = random.Random(3)
    for name in ("layout", "packed", "aligned"):
        sid = c.struct(name)
        codec = ValueCodec(c.btf, sid)
        view_cls = codec.ctype
        for _ in range(20):
            raw = bytes(rnd.getrandbits(8) for _ in range(codec.size))
            value = codec.decode(raw)
            assert codec.decode(codec.encode({k: v for k, v in value.items() if k != "whole"})) == value
            view = view_cls.from_buffer_copy(raw)
            for k, v in value.items():
                got = getattr(view, k)
                if isinstance(v, (int, float)) and not isinstance(got, bytes):
                    assert got == v or (v != v and got != got), (name, k)


def test_encode_errors():
    from pybpf.btf.builder import BTFBuilder

    b = BTFBuilder()
    u8 = b.add_int("unsigned char", 1)
    i8 = b.add_int("signed char", 1, 1)
    ch = b.add_int("char", 1, 1)
    arr = b.add_array(ch, u8, 4)
    s = b.add_struct("s", 8, [("u", u8, 0), ("i", i8, 8), ("name", arr, 16), ("bits", u8, 48, 3)])
    btf = b.build()
    with pytest.raises(BTFError, match="does not fit"):
        encode(btf, s, {"u": 256})
    with pytest.raises(BTFError, match="does not fit"):
        encode(btf, s, {"i": 128})
    with pytest.raises(BTFError, match="do not fit char"):
        encode(btf, s, {"name": "toolong"})
    with pytest.raises(BTFError, match="does not fit"):
        encode(btf, s, {"bits": 8})
    with pytest.raises(BTFError, match="no member"):
        encode(btf, s, {"nope": 1})
    with pytest.raises(BTFError, match="needs a dict"):
        encode(btf, s, 5)
    assert encode(btf, s, {"name": "ab", "bits": 7, "i": -1}) == b"\0\xffab\0\0\x07\0"


def test_self_containing_types_are_errors_not_recursion():
    from pybpf.btf.builder import BTFBuilder

    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    loop = b.next_id
    b.add_struct("loop", 8, [("x", i32, 0), ("self", loop, 32)])
    btf = b.build()
    with pytest.raises(BTFError):
        ctype_for(btf, loop)
    with pytest.raises(BTFError):
        decode(btf, loop, bytes(8))
    with pytest.raises(BTFError):
        btf.alignment(loop)
    assert re.search("x", "x")
