"""The lazily built UAPI module (pybpf.sys.uapi_lazy) against the eager class statements the
generator can also write: same enums, same module-level names, same layouts."""

from __future__ import annotations

import ctypes
import enum
import importlib.util
import os
import pickle
import threading
from typing import Any

import pytest

from pybpf.sys import gen_uapi, uapi
from pybpf.sys.gen_uapi import CMember, CType, GenerationError, generate

VMLINUX = "/sys/kernel/btf/vmlinux"


def _exec(text: str, name: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": name}
    exec(compile(text, f"<{name}>", "exec"), ns)
    return ns


def _get(ns: dict[str, Any], name: str) -> Any:
    return ns[name] if name in ns else ns["__getattr__"](name)


def _fresh_uapi(name: str = "pybpf_uapi_fresh") -> Any:
    """A new, untouched instance of the committed module (nothing built yet)."""
    spec = importlib.util.spec_from_file_location(name, uapi.__file__)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _same_layout(a: Any, b: Any, where: str) -> None:
    """ctypes types ``a`` and ``b`` have the same shape: size, alignment, members, offsets,
    bitfields, nested types, anonymous members, class names."""
    assert ctypes.sizeof(a) == ctypes.sizeof(b), f"{where}: size"
    assert ctypes.alignment(a) == ctypes.alignment(b), f"{where}: alignment"
    if issubclass(a, ctypes.Array):
        assert issubclass(b, ctypes.Array) and a._length_ == b._length_, f"{where}: array"
        _same_layout(a._type_, b._type_, f"{where}[]")
        return
    if not issubclass(a, (ctypes.Structure, ctypes.Union)):
        assert a is b, f"{where}: scalar {a} vs {b}"
        return
    assert a.__name__ == b.__name__, where
    assert issubclass(a, ctypes.Union) == issubclass(b, ctypes.Union), f"{where}: kind"
    assert tuple(getattr(a, "_anonymous_", ())) == tuple(getattr(b, "_anonymous_", ())), where
    assert a.__doc__ == b.__doc__, f"{where}: doc"
    fa, fb = a._fields_, b._fields_
    assert [f[0] for f in fa] == [f[0] for f in fb], f"{where}: member names"
    for x, y in zip(fa, fb):
        name = x[0]
        assert x[2:] == y[2:], f"{where}.{name}: bit size"
        da, db = getattr(a, name), getattr(b, name)
        assert (da.offset, da.size) == (db.offset, db.size), f"{where}.{name}: offset/size"
        _same_layout(x[1], y[1], f"{where}.{name}")


def _compare_modules(lazy: dict[str, Any], eager: dict[str, Any]) -> None:
    enum_names = [c.__name__ for c in eager["ENUM_CLASSES"]]
    assert [c.__name__ for c in _get(lazy, "ENUM_CLASSES")] == enum_names
    for name in enum_names:
        a, b = _get(lazy, name), eager[name]
        assert a.__bases__ == b.__bases__, name
        assert a.__doc__ == b.__doc__, name
        assert {k: int(v) for k, v in a.__members__.items()} == \
            {k: int(v) for k, v in b.__members__.items()}, name
        assert [m.name for m in a] == [m.name for m in b], f"{name}: canonical members"
        assert lazy["enum_members"](name) == tuple((k, int(v)) for k, v in b.__members__.items())
    # Module-level names: every public eager global, same value and same kind of object.
    skip = {"ctypes", "enum", "annotations", "ENUM_CLASSES", "LAYOUTS"}
    for name, value in eager.items():
        if name.startswith("__") and name.endswith("__"):  # __name__, __builtins__, ...
            continue
        if name in skip or isinstance(value, type):
            continue
        got = _get(lazy, name)
        assert got == value and type(got).__name__ == type(value).__name__, name
        if isinstance(value, enum.Enum):
            assert got.name == value.name and got is type(got)[value.name], name
    layouts = _get(lazy, "LAYOUTS")
    assert list(layouts) == list(eager["LAYOUTS"])
    for name, cls in eager["LAYOUTS"].items():
        _same_layout(layouts[name], cls, name)
        assert _get(lazy, name) is layouts[name]


@pytest.fixture(scope="module")
def kernel_source():
    if not os.path.exists(VMLINUX):
        pytest.skip(f"{VMLINUX} is missing: no kernel BTF to generate from")
    return gen_uapi.BTFTypeSource.from_path(VMLINUX)


def test_lazy_module_equals_eager_rendering(kernel_source):
    """Both renderings of this kernel's BTF, executed: identical enums, names and layouts."""
    lazy = _exec(generate(kernel_source), "uapi_lazy_check")
    eager = _exec(generate(kernel_source, lazy=False), "uapi_eager_check")
    _compare_modules(lazy, eager)


def test_committed_module_equals_eager_rendering(kernel_source):
    if uapi.KERNEL_RELEASE != os.uname().release:
        pytest.skip(f"uapi.py was generated on Linux {uapi.KERNEL_RELEASE}, this is {os.uname().release}")
    eager = _exec(generate(kernel_source, lazy=False), "uapi_eager_check")
    _compare_modules(vars(_fresh_uapi()), eager)


class _Source:
    """A tiny hand-written type source exercising every layout feature."""

    release = "synthetic"

    def __init__(self) -> None:
        u8 = CType("int", "u8", 1)
        u32 = CType("int", "u32", 4)
        s64 = CType("int", "s64", 8, signed=True)
        char = CType("int", "char", 1, signed=True, is_char=True)
        boolean = CType("int", "_Bool", 1, is_bool=True)
        inner = CType("union", "", 8, members=[CMember("a", u32, 0), CMember("b", s64, 0)])
        grid = CType("array", elem=CType("array", elem=char, nelems=3), nelems=2)
        self.types = {
            ("struct", "outer"): CType("struct", "outer", 48, members=[
                CMember("flag", boolean, 0),
                CMember("lo", u32, 32, 3),           # bitfields after a 3-byte hole
                CMember("hi", u32, 35, 29),
                CMember("", inner, 64),              # anonymous union, promoted
                CMember("grid", grid, 128),          # char grid[2][3]
                CMember("tail", u8, 256),            # then padding to 48 bytes
            ]),
            ("enum", "colour"): CType("enum", "colour", 4, values=[
                ("RED", 1), ("CRIMSON", 1), ("GREEN", 2), ("__MAX_COLOUR", 3)]),
            ("enum", "bits"): CType("enum", "bits", 4, values=[("B_ONE", 1), ("B_TWO", 2)]),
        }

    def named(self, kind: str, name: str) -> CType | None:
        return self.types.get((kind, name))

    def anonymous_enums(self):
        yield CType("enum", "", 4, values=[("BPF_F_X", 8), ("BPF_F_Y", 16)])


@pytest.fixture
def synthetic(monkeypatch):
    monkeypatch.setattr(gen_uapi, "STRUCTS", [("struct", "outer")])
    monkeypatch.setattr(gen_uapi, "ENUMS", [("colour", "IntEnum"), ("bits", "IntFlag")])
    monkeypatch.setattr(gen_uapi, "ANON_ENUMS", {})
    return _Source()


def test_synthetic_layout_lazy_equals_eager(synthetic):
    lazy = _exec(generate(synthetic), "synthetic_lazy")
    eager = _exec(generate(synthetic, lazy=False), "synthetic_eager")
    _compare_modules(lazy, eager)
    outer = _get(lazy, "outer")
    o = outer()
    o.a = 0xFFFFFFFF
    assert o.b == 0xFFFFFFFF  # the promoted union's members overlap
    o.lo, o.hi = 5, (1 << 29) - 1
    o.grid[1][2] = b"z"
    raw = bytes(o)
    assert len(raw) == 48 and raw[4] == 5 | (0x1F << 3) and raw[16 + 5] == ord("z")
    assert _get(lazy, "RED") is _get(lazy, "colour").RED and _get(lazy, "CRIMSON") == 1
    assert _get(lazy, "__MAX_COLOUR") == 3 and _get(lazy, "BPF_F_Y") == 16
    assert _get(lazy, "B_ONE") | _get(lazy, "B_TWO") == 3
    assert isinstance(_get(lazy, "B_TWO"), enum.IntFlag)


def test_fresh_import_builds_nothing_until_asked():
    mod = _fresh_uapi()
    built = set(vars(mod))
    assert not built & {"bpf_attr", "bpf_attr_map_elem", "bpf_cmd", "BPF_MAP_CREATE", "LAYOUTS"}
    assert mod.BPF_MAP_LOOKUP_ELEM == 1 and isinstance(mod.BPF_MAP_LOOKUP_ELEM, mod.bpf_cmd)
    assert "bpf_cmd" in vars(mod) and "bpf_map_type" not in vars(mod)
    elem = mod.bpf_attr_map_elem
    assert "bpf_attr_map_elem_u0" in vars(mod) and "bpf_attr" not in vars(mod)
    assert elem.next_key.offset == 16 and ctypes.sizeof(elem) == 32
    assert mod.bpf_attr.map_elem.offset == 0  # contains the class built above
    assert dict(mod.bpf_attr._fields_)["map_elem"] is elem
    assert mod.enum_members("bpf_cmd")[:2] == (("BPF_MAP_CREATE", 0), ("BPF_MAP_LOOKUP_ELEM", 1))
    assert "bpf_map_type" not in vars(mod)  # enum_members does not build the class


def test_module_protocol_names_dir_star_pickle():
    mod = _fresh_uapi("pybpf_uapi_protocol")
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        mod.no_such_name  # noqa: B018
    assert not hasattr(mod, "__path__") and not hasattr(mod, "BPF_NO_SUCH")
    assert {"bpf_attr", "bpf_cmd", "BPF_MAP_TYPE_HASH", "LAYOUTS", "__sk_buff"} <= set(dir(mod))
    assert mod.__sk_buff.mark.offset == 8  # a layout whose name starts with "__"
    star: dict[str, Any] = {}
    exec("from pybpf.sys.uapi import *", star)
    assert star["bpf_attr"] is uapi.bpf_attr and star["BPF_F_LOCK"] == uapi.BPF_F_LOCK
    assert star["KERNEL_RELEASE"] == uapi.KERNEL_RELEASE and "_ENUMS" not in star
    from pybpf.sys.uapi import BPF_PROG_TYPE_XDP, bpf_prog_type

    assert BPF_PROG_TYPE_XDP is bpf_prog_type.BPF_PROG_TYPE_XDP
    assert pickle.loads(pickle.dumps(uapi.BPF_MAP_TYPE_HASH)) is uapi.BPF_MAP_TYPE_HASH
    assert uapi.bpf_attr.__module__ == "pybpf.sys.uapi" and uapi.bpf_cmd.__module__ == "pybpf.sys.uapi"


def test_concurrent_first_access_builds_one_class():
    mod = _fresh_uapi("pybpf_uapi_threads")
    names = ["bpf_attr", "bpf_prog_info", "bpf_func_id", "BPF_MAP_TYPE_HASH", "LAYOUTS"]
    start = threading.Barrier(4)
    seen: list[list[Any]] = []

    def worker() -> None:
        start.wait()
        seen.append([getattr(mod, n) for n in names])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4
    for got in seen[1:]:
        assert all(a is b for a, b in zip(got, seen[0]))
    assert mod.LAYOUTS["bpf_attr"] is mod.bpf_attr


def test_bad_table_entries_are_refused(synthetic):
    """The generator refuses layouts ctypes cannot reproduce (checked before writing)."""
    bad = synthetic.types[("struct", "outer")]
    bad.members[-1] = CMember("tail", CType("int", "u8", 1), 250)  # not on a byte
    with pytest.raises(GenerationError, match="not on a byte boundary"):
        generate(synthetic)
