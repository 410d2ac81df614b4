"""``pybpf map dump|lookup|getnext|pop|update`` against bpftool on maps with BTF (and the
corners of the same commands without it), on the same live maps in the same run.

With BTF, bpftool prints entries through its btf_dumper: text output becomes a pretty JSON-like
listing, ``-j`` gains a ``"formatted"`` member. Every output here is compared byte for byte
(stdout and exit status) with ``bpftool`` on the same map.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid

import pytest

from pybpf import Map, Program
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.loaded import LoadedBTF
from tests.btf.helpers import bpffs_loaded
from tests.sys.helpers import ret

pytestmark = pytest.mark.kernel

FORMATS = ([], ["-j"], ["-p"])


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool", "clang-19")


def bpftool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bpftool", *args], capture_output=True, text=True)


def same(run_pybpf, *args: str) -> str:
    """Run both tools; stdout and exit status must be equal. Returns bpftool's stdout."""
    ours = run_pybpf(*args, check=False)
    theirs = bpftool(*args)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode), args
    return theirs.stdout


def _hex(data: bytes) -> list[str]:
    return ["hex", *[f"{b:02x}" for b in data]]


def _value(rnd: random.Random, size: int, i: int) -> bytes:
    """Random bytes; some with printable NUL-terminated runs so char arrays print as text."""
    raw = bytearray(rnd.getrandbits(8) for _ in range(size))
    if i % 3 == 1:
        text = b'a "quoted" \\ word\0'
        raw[:min(size, len(text))] = text[:size]
    elif i % 3 == 2:
        raw = bytearray(b if 0x20 <= b < 0x7F else 0x41 for b in raw)
        for pos in range(3, size, 9):
            raw[pos] = 0
    return bytes(raw)


def test_btf_maps_dump_lookup_getnext_like_bpftool(tools, compile_bpf, run_pybpf):
    """hash with struct key/value (bitfields, enums, char arrays, nested anonymous members),
    enum keys/values, per-CPU array, an array holding a float (bpftool stops formatting there),
    and the .data/.bss/.rodata global data sections."""
    obj = compile_bpf("btf_values.bpf.c")
    rnd = random.Random(7)
    with bpffs_loaded(obj) as maps_dir:
        names = sorted(os.listdir(maps_dir))
        assert len(names) == 7
        checked_formatted = 0
        for name in names:
            pin = f"{maps_dir}/{name}"
            info = subprocess.run(["bpftool", "-j", "map", "show", "pinned", pin], capture_output=True,
                                  text=True, check=True).stdout
            import json

            info = json.loads(info)
            ksize, vsize = info["bytes_key"], info["bytes_value"]
            keys = []
            if not name.endswith("rodata"):  # frozen by the loader
                for i in range(4 if info["type"] == "hash" else 2 if ksize == 4 else 0):
                    if info["type"] == "hash":
                        key = bytes(rnd.getrandbits(8) for _ in range(ksize))
                    else:
                        key = i.to_bytes(4, "little")
                        if i >= info["max_entries"]:
                            break
                    if name == "enum_hash":
                        key = (0xFFFFFFFFF, 3, 7, 1 << 40)[i].to_bytes(8, "little")
                    value = _value(rnd, vsize, i)
                    if name == "enum_hash":
                        value = (5, 0xFFFFFFFF, 0, 42)[i].to_bytes(4, "little")
                    # pybpf writes, bpftool reads back below (and the other way round elsewhere)
                    run_pybpf("map", "update", "pinned", pin, "key", *_hex(key), "value", *_hex(value))
                    keys.append(key)
            for fmt in FORMATS:
                out = same(run_pybpf, *fmt, "map", "dump", "pinned", pin)
                if fmt == ["-j"] and '"formatted"' in out:
                    checked_formatted += 1
                key = keys[-1] if keys else bytes(ksize)
                same(run_pybpf, *fmt, "map", "lookup", "pinned", pin, "key", *_hex(key))
            # getnext prints raw bytes even for maps with BTF
            same(run_pybpf, "map", "getnext", "pinned", pin, *(["key", *_hex(keys[0])] if keys else []))
            # bpftool's text for a BTF map is its pretty JSON-like listing, without a count
            text = bpftool("map", "dump", "pinned", pin).stdout
            assert text.startswith("[") and "Found" not in text
        assert checked_formatted == 7


def _btf_int_maps() -> tuple[BTFBuilder, int]:
    b = BTFBuilder()
    return b, b.add_int("int", 4, 1)


def test_several_maps_by_name(tools, run_pybpf):
    """``dump name NAME`` matching several maps: a header per map; all with BTF: one BTF
    listing; the first without BTF: plain text for all.

    (Not compared: a map *without* BTF listed after maps with it. bpftool 7.1 reuses one
    bpf_map_info for all of them and this kernel leaves the BTF fields of a map without BTF
    untouched, so bpftool formats that map's bytes with the previous map's types.)"""
    b, i32 = _btf_int_maps()
    name = f"cm{uuid.uuid4().hex[:10]}"
    other = f"cm{uuid.uuid4().hex[:10]}"
    with LoadedBTF.load(b) as kb, Map.create("hash", 4, 4, 2, name=other) as plain, \
            Map.create("array", 4, 4, 2, name=name, btf=kb.fd, btf_key_type_id=i32,
                       btf_value_type_id=i32) as a, \
            Map.create("hash", 4, 4, 2, name=name, btf=kb.fd, btf_key_type_id=i32,
                       btf_value_type_id=i32) as h, \
            Map.create("array", 4, 4, 1, name=other, btf=kb.fd, btf_key_type_id=i32,
                       btf_value_type_id=i32):
        a[(1).to_bytes(4, "little")] = (-5).to_bytes(4, "little", signed=True)
        h[(9).to_bytes(4, "little")] = (77).to_bytes(4, "little")
        plain[(3).to_bytes(4, "little")] = bytes(4)
        for fmt in FORMATS:
            out = same(run_pybpf, *fmt, "map", "dump", "name", name)
            same(run_pybpf, *fmt, "map", "dump", "name", other)
        assert '"elements": [' in out
        assert "Found 1 element" in bpftool("map", "dump", "name", other).stdout


def test_lookup_errors_inside_the_btf_listing(tools, run_pybpf, bpffs_dir):
    """A reuseport sockarray with 4-byte values cannot be read from user space (ENOSPC): bpftool
    prints its error lines in the middle of the open BTF listing."""
    b, i32 = _btf_int_maps()
    pin = os.path.join(bpffs_dir, "sockarray")
    with LoadedBTF.load(b) as kb, \
            Map.create("reuseport_sockarray", 4, 4, 3, name="cm_reuse", btf=kb.fd, btf_key_type_id=i32,
                       btf_value_type_id=i32) as m:
        m.pin(pin)
        for fmt in FORMATS:
            out = same(run_pybpf, *fmt, "map", "dump", "pinned", pin)
        assert "<cannot read>" in bpftool("map", "dump", "pinned", pin).stdout


def test_map_corners_like_bpftool(tools, run_pybpf, bpffs_dir):
    """prog_array empty slots are not errors; dumping a queue finds nothing and fails with
    -EINVAL; pop/peek of an empty queue or stack, then of values pushed by both tools."""
    with Map.create("prog_array", 4, 4, 3, name="cm_jmp") as jmp, \
            Program.load("socket_filter", ret(0), name="cm_tail") as p:
        jmp[(1).to_bytes(4, "little")] = p.fileno()
        for fmt in FORMATS:
            same(run_pybpf, *fmt, "map", "dump", "id", str(jmp.id))
    # (the kernel takes BTF for queues and stacks only with a key type, which they have not)
    with Map.create("queue", 0, 4, 8, name="cm_q") as q, Map.create("stack", 0, 4, 8, name="cm_s") as s:
        for m in (q, s):
            mid = str(m.id)
            for fmt in FORMATS:
                same(run_pybpf, *fmt, "map", "dump", "id", mid)
                same(run_pybpf, *fmt, "map", "pop", "id", mid)
                same(run_pybpf, *fmt, "map", "peek", "id", mid)
            for _ in FORMATS:  # the same value, pushed once by each tool per pop below
                run_pybpf("map", "push", "id", mid, "value", "hex", "fe", "ff", "ff", "ff")
                subprocess.run(["bpftool", "map", "enqueue", "id", mid, "value", "0xfe", "0xff", "0xff",
                                "0xff"], check=True)
            for fmt in FORMATS:
                same(run_pybpf, *fmt, "map", "peek", "id", mid)
                ours = run_pybpf(*fmt, "map", "pop", "id", mid)
                theirs = bpftool(*fmt, "map", "pop", "id", mid)
                assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)


@pytest.mark.parametrize("words", [
    ["key", "1", "0", "0", "0", "key", "1", "0", "0", "0", "value", "1", "1", "1", "1"],
    ["key", "1", "0", "0", "0", "value", "1", "1", "1", "1", "value", "2", "2", "2", "2"],
    ["value", "1", "1", "1", "1", "key", "2", "0", "0", "0", "any", "exist"],
    ["value", "1", "1", "1", "1"],
    ["key", "1", "0", "0", "0"],
    ["key", "1", "0", "0", "0", "value", "1", "1", "1", "1", "2"],
    ["key", "1", "0", "0", "0", "value", "1", "1", "1"],
    ["key", "1", "0", "0", "0", "bogus"],
    ["key", "0x1", "0", "0", "0", "value", "hex", "1", "2", "3", "ff", "noexist"],
    ["k", "1", "0", "0", "0", "v", "1", "2", "3", "4", "n"],
])
def test_update_grammar_like_bpftool(tools, run_pybpf, bpffs_dir, words):
    """What ``map update`` accepts and the errors it gives, on a map with BTF (values are
    bytes for bpftool 7.1 whatever the map's types)."""
    b, i32 = _btf_int_maps()
    with LoadedBTF.load(b) as kb, \
            Map.create("hash", 4, 4, 4, name="cm_upd", btf=kb.fd, btf_key_type_id=i32,
                       btf_value_type_id=i32) as m:
        ours = run_pybpf("map", "update", "id", str(m.id), *words, check=False)
        mine = dict(m.items())
        for k in list(m.keys()):
            m.delete(k)
        theirs = bpftool("map", "update", "id", str(m.id), *words)
        assert ours.returncode == theirs.returncode
        assert ours.stderr.splitlines()[-1:] == theirs.stderr.splitlines()[-1:]
        assert dict(m.items()) == mine
    with Map.create("queue", 0, 4, 4, name="cm_q2") as q:
        for extra in (["key", "1", "0", "0", "0", "value", "1", "1", "1", "1"], ["value", "1"]):
            ours = run_pybpf("map", "update", "id", str(q.id), *extra, check=False)
            theirs = bpftool("map", "update", "id", str(q.id), *extra)
            assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
