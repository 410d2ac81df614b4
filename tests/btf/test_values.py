"""bpftool's BTF-formatted map dumps (``map dump`` -j "formatted" and plain text), reproduced.

An object is loaded with bpftool itself (maps with BTF keys/values, per-CPU and global data
maps); entries are written with ``bpftool map update``; the types come from the kernel's copy of
the object's BTF as bpftool lists it. pybpf formats the same bytes and must print exactly what
``bpftool map dump`` prints.
"""

from __future__ import annotations

import json
import os
import random
import re

import pytest

from pybpf.jsonw import Object, Raw, dumps
from pybpf.btf.values import format_map_entry, format_value

from .helpers import bpffs_loaded, bpftool, bpftool_types, btf_from_bpftool, run

MAPS_WITH_ENTRIES = {"values_hash": 6, "float_array": 2, "pcpu_array": 2, "enum_hash": 4, "_data": 1, "_bss": 1}


def _entries(name: str) -> int:
    """How many entries to write (global data maps are named <object prefix>_data, …)."""
    for suffix in ("_data", "_bss"):
        if name.endswith(suffix):
            return MAPS_WITH_ENTRIES[suffix]
    return MAPS_WITH_ENTRIES.get(name, 0)


def _hex(bs: bytes) -> list:
    return [Raw(f'"0x{x:02x}"') for x in bs]


def _possible_cpus() -> int:
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read().strip()
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n = max(n, int(hi or lo) + 1)
    return n


def _interesting_value(rnd: random.Random, size: int, i: int) -> bytes:
    """Random bytes, some runs replaced by printable text so char arrays print as strings."""
    raw = bytearray(rnd.getrandbits(8) for _ in range(size))
    if i % 3 == 1:
        text = b'say "hi"\\ ok\0'
        start = rnd.randrange(0, max(1, size - len(text)))
        chunk = text[:size - start]
        raw[start:start + len(chunk)] = chunk
    if i % 3 == 2:
        raw = bytearray(b if 0x20 <= b < 0x7F else 0x41 for b in raw)
        for pos in range(0, size, 7):
            raw[pos] = 0
    return bytes(raw)


@pytest.mark.kernel
def test_map_dump_formatting_matches_bpftool(compile_bpf, require_tools):
    require_tools("bpftool")
    obj = compile_bpf("btf_values.bpf.c")
    rnd = random.Random(1234)
    ncpus = _possible_cpus()
    with bpffs_loaded(obj) as maps_dir:
        names = sorted(os.listdir(maps_dir))
        assert {"values_hash", "float_array", "pcpu_array", "enum_hash"} <= set(names)
        assert len(names) == 7  # and .data, .bss, .rodata
        for name in names:
            pin = f"{maps_dir}/{name}"
            info = json.loads(bpftool("map", "show", "pinned", pin, "-j"))
            roots = bpftool_types("map", "pinned", pin)
            key_id, value_id = roots[0]["id"], roots[1]["id"]
            btf = btf_from_bpftool(bpftool_types("id", str(info["btf_id"])))
            ksize, vsize = info["bytes_key"], info["bytes_value"]
            percpu = info["type"].startswith("percpu")
            written: dict[bytes, bytes] = {}
            for i in range(_entries(name)):
                if info["type"] == "hash":
                    key = bytes(rnd.getrandbits(8) for _ in range(ksize))
                    if name == "enum_hash" and i < 2:
                        key = ((0xFFFFFFFFF, 3)[i]).to_bytes(8, "little")  # named enum64 values
                else:
                    key = i.to_bytes(4, "little")
                value = _interesting_value(rnd, vsize, i)
                if name == "enum_hash" and i < 2:
                    value = ((5, 0xFFFFFFFF)[i]).to_bytes(4, "little")
                run("bpftool", "map", "update", "pinned", pin, "key", "hex", *[f"{b:02x}" for b in key],
                    "value", "hex", *[f"{b:02x}" for b in value])
                written[key] = value
            dumped_j = bpftool("map", "dump", "pinned", pin, "-j")
            dumped_plain = bpftool("map", "dump", "pinned", pin)
            step = (vsize + 7) & ~7
            elems, plain = [], []
            for mo in re.finditer(r'\{"key":\[([^\]]*)\]', dumped_j):
                key = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", mo.group(1)))
                if key in written:
                    value = written[key]
                    slots = [value] * ncpus if percpu else [value]
                else:  # untouched elements: take the bytes bpftool printed
                    rest = dumped_j[mo.end():]
                    hexes = re.findall(r'"value":\[([^\]]*)\]', rest.split(',"formatted"', 1)[0])
                    slots = [bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", hx)) for hx in hexes]
                if percpu:
                    blob = b"".join(s.ljust(step, b"\0") for s in slots)
                    formatted, _ = format_map_entry(btf, key_id, value_id, key, blob, percpu=ncpus, value_size=vsize)
                    text, _ = format_map_entry(btf, key_id, value_id, key, blob, percpu=ncpus, value_size=vsize,
                                               plain=True)
                    elems.append(Object([("key", _hex(key)),
                                         ("values", [Object([("cpu", c), ("value", _hex(s))])
                                                     for c, s in enumerate(slots)]),
                                         ("formatted", formatted)]))
                else:
                    formatted, _ = format_map_entry(btf, key_id, value_id, key, slots[0])
                    text, _ = format_map_entry(btf, key_id, value_id, key, slots[0], plain=True)
                    elems.append(Object([("key", _hex(key)), ("value", _hex(slots[0])), ("formatted", formatted)]))
                plain.append(text)
            assert len(elems) >= len(written)
            assert dumps(elems) == dumped_j, name
            assert dumps(plain, pretty=True) == dumped_plain, name


def test_formatting_stops_where_bpftool_fails():
    """A FLOAT member stops the output with bpftool's unterminated '(unsupported-kind'."""
    from pybpf.btf.builder import BTFBuilder

    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    f = b.add_float("float", 4)
    s = b.add_struct("s", 12, [("a", i32, 0), ("f", f, 32), ("b", i32, 64)])
    btf = b.build()
    tree, ok = format_map_entry(btf, i32, s, b"\1\0\0\0", b"\2\0\0\0" + bytes(8))
    assert not ok
    assert dumps(tree) == '{"key":1,"value":{"a":2,"f":(unsupported-kind}}\n'


@pytest.mark.kernel
def test_typed_codecs_on_a_live_map(compile_bpf, require_tools):
    """use_btf_codecs: Python values in and out of a real map; bpftool reads what we wrote."""
    require_tools("bpftool")
    from pybpf import Map
    from pybpf.btf.loaded import use_btf_codecs

    obj = compile_bpf("btf_values.bpf.c")
    with bpffs_loaded(obj) as maps_dir:
        pin = f"{maps_dir}/values_hash"
        m = Map.from_pin(pin)
        try:
            use_btf_codecs(m)
            key = {"a": 7, "b": 9, "c": 65}
            value = {"i": -5, "name": b"hello", "col": 5, "bf2": -3, "bf3": (1 << 40) - 1,
                     "in": [{"tag": b"ab", "port": 80}], "ui": 0x01020304, "sx": -1, "b": True}
            m.update(key, value)
            got = m.lookup(key)
            for k, v in value.items():
                if k == "in":
                    assert got["in"][0]["port"] == 80 and got["in"][0]["tag"] == b"ab"
                else:
                    assert got[k] == v, k
            assert got["u"] == 0 and got["ub"] == b"\x04\x03\x02\x01"
            with pytest.raises(Exception, match="does not fit"):
                m.update(key, {"bf2": 99})
        finally:
            m.close()
        entry = json.loads(bpftool("map", "lookup", "pinned", pin, "key", "hex", "07", "00", "00", "00",
                                   "09", "00", "41", "00", "-j"))
        f = entry["formatted"]["value"]
        assert (f["i"], f["name"], f["col"], f["bf2"], f["bf3"], f["in"][0]["port"]) == (
            -5, "hello", "GREEN", "0x1d", "0xffffffffff", 80)


def test_member_array_far_past_its_struct_is_an_error():
    """Malformed BTF: a 4-byte struct whose member array claims 2^31 ints. Formatting and
    decoding refuse it (BTFError) instead of walking two billion elements past the value."""
    import pytest

    from pybpf.btf.builder import BTFBuilder
    from pybpf.btf.values import decode
    from pybpf.errors import BTFError

    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    arr = b.add_array(i32, i32, 0x7FFFFFFF)
    s = b.add_struct("s", 4, [("a", arr, 0)])
    btf = b.build()
    with pytest.raises(BTFError, match="past the end of the value"):
        format_value(btf, s, bytes(4))
    with pytest.raises(BTFError, match="past the end of the value"):
        decode(btf, s, bytes(4))


def test_json_writer_old_import_path():
    """pybpf.btf.jsonw (its old home) still gives the shared writer's names."""
    import pybpf.btf.jsonw as old
    import pybpf.jsonw as new

    assert (old.dumps, old.Object, old.Raw) == (new.dumps, new.Object, new.Raw)
