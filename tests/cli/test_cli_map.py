"""``pybpf map ...`` against ``bpftool map ...`` on the same live maps (JSON and text)."""

from __future__ import annotations

import json
import os
import struct
import subprocess

import pytest

from pybpf import Map, Program
from pybpf.sys import uapi
from pybpf.sys.commands import btf_load
from tests.maps.map_types import LOCAL_STORAGE_BTF
from tests.sys.helpers import bpftool_json, ret

pytestmark = pytest.mark.kernel

u32 = struct.Struct("<I").pack


def bpftool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bpftool", *args], capture_output=True, text=True)


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool")


@pytest.fixture
def maps():
    """A few live maps of different kinds, with contents."""
    made = []
    h = Map.create("hash", 4, 8, 8, name="cli_hash")
    for i in range(3):
        h[u32(i)] = bytes([i]) * 8
    made.append(h)
    pc = Map.create("percpu_array", 4, 4, 2, name="cli_pc")
    pc[u32(1)] = [u32(7 + c) for c in range(pc.ncpus)]
    made.append(pc)
    big = Map.create("array", 4, 40, 2, name="cli_big")  # values > 16 bytes: bpftool breaks lines
    big[u32(1)] = bytes(range(40))
    made.append(big)
    frozen = Map.create("array", 4, 4, 1, name="cli_frozen")
    frozen.freeze()
    made.append(frozen)
    btf = btf_load(LOCAL_STORAGE_BTF)
    withbtf = Map.create("hash", 4, 8, 4, name="cli_btf", btf=btf, btf_key_type_id=1,
                         btf_value_type_id=3, flags=uapi.BPF_F_NO_PREALLOC)
    made.append(withbtf)
    inner = Map.create("array", 4, 4, 1, name="cli_inner")
    outer = Map.create("hash_of_maps", 4, 4, 2, name="cli_outer", inner_map=inner)
    outer[u32(5)] = inner
    made += [inner, outer]
    yield {m.name: m for m in made}
    for m in made:
        m.close()
    btf.close()


SHOW_NAMES = ["cli_hash", "cli_pc", "cli_big", "cli_frozen", "cli_btf", "cli_outer"]


@pytest.mark.parametrize("name", SHOW_NAMES)
def test_show_json_and_text_match_bpftool(tools, maps, run_pybpf, name):
    mid = str(maps[name].id)
    ours = json.loads(run_pybpf("map", "show", "id", mid, "-j").stdout)
    assert ours == bpftool_json("map", "show", "id", mid)
    assert run_pybpf("map", "show", "id", mid).stdout == bpftool("map", "show", "id", mid).stdout


def test_show_all_lists_the_same_maps(tools, maps, run_pybpf):
    ours = json.loads(run_pybpf("map", "list", "-j").stdout)
    theirs = bpftool_json("map", "show")
    # Other processes may create or free maps between the two listings: compare the maps both
    # saw, in order, and require this test's maps among them.
    common = {m["id"] for m in ours} & {m["id"] for m in theirs}
    assert {maps[name].id for name in SHOW_NAMES} <= common
    # bpftool 7.1 leaks btf_id from one map to the next while listing: compare the rest.
    strip = [{k: v for k, v in m.items() if k != "btf_id"} for m in theirs if m["id"] in common]
    assert [{k: v for k, v in m.items() if k != "btf_id"} for m in ours if m["id"] in common] == strip
    mine = {m["id"]: m for m in ours}
    for name in SHOW_NAMES:
        assert mine[maps[name].id] == bpftool_json("map", "show", "id", str(maps[name].id))


@pytest.mark.parametrize("name", ["cli_hash", "cli_pc", "cli_big", "cli_outer"])
def test_dump_matches_bpftool(tools, maps, run_pybpf, name):
    mid = str(maps[name].id)
    assert json.loads(run_pybpf("map", "dump", "id", mid, "-j").stdout) == \
        bpftool_json("map", "dump", "id", mid)
    assert run_pybpf("map", "dump", "id", mid).stdout == bpftool("map", "dump", "id", mid).stdout


def test_pinned_paths_with_bpffs_option(tools, maps, run_pybpf, bpffs_dir):
    path = os.path.join(bpffs_dir, "pinned_hash")
    maps["cli_hash"].pin(path)
    mid = str(maps["cli_hash"].id)
    assert run_pybpf("-f", "map", "show", "id", mid).stdout == \
        bpftool("-f", "map", "show", "id", mid).stdout
    assert json.loads(run_pybpf("-f", "map", "show", "pinned", path, "-j").stdout) == \
        bpftool_json("-f", "map", "show", "pinned", path)


def test_lookup_getnext_and_not_found(tools, maps, run_pybpf):
    mid = str(maps["cli_hash"].id)
    for args in (["key", "1", "0", "0", "0"], ["key", "hex", "02", "00", "00", "00"],
                 ["key", "0x2", "0", "00", "0"]):
        cmd = ["map", "lookup", "id", mid, *args]
        assert run_pybpf(*cmd).stdout == bpftool(*cmd).stdout
        assert json.loads(run_pybpf(*cmd, "-j").stdout) == bpftool_json(*cmd)
    missing = ["map", "lookup", "id", mid, "key", "9", "0", "0", "0"]
    ours, theirs = run_pybpf(*missing, check=False), bpftool(*missing)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)
    ours, theirs = run_pybpf(*missing, "-j", check=False), bpftool(*missing, "-j")
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)
    first = ["map", "getnext", "id", mid]
    assert run_pybpf(*first).stdout == bpftool(*first).stdout
    assert json.loads(run_pybpf(*first, "-j").stdout) == bpftool_json(*first)
    keys = list(maps["cli_hash"].keys())
    nxt = ["map", "getnext", "id", mid, "key", *[str(b) for b in keys[0]]]
    assert run_pybpf(*nxt).stdout == bpftool(*nxt).stdout
    end = ["map", "getnext", "id", mid, "key", *[str(b) for b in keys[-1]], "-j"]
    ours, theirs = run_pybpf(*end, check=False), bpftool(*end)
    assert (json.loads(ours.stdout), ours.returncode) == (json.loads(theirs.stdout), theirs.returncode)


def test_update_delete_with_byte_syntax(tools, run_pybpf):
    with Map.create("hash", 4, 4, 4, name="cli_upd") as m:
        mid = str(m.id)
        # decimal, octal (leading 0) and hex (0x) bytes, as strtoul(.., 0) reads them
        out = run_pybpf("map", "update", "id", mid, "key", "1", "0", "0", "0",
                        "value", "010", "0x10", "16", "255", "-j")
        assert out.stdout.strip() == "null"
        assert m[u32(1)] == bytes([8, 16, 16, 255])
        run_pybpf("map", "update", "id", mid, "key", "hex", "02", "00", "00", "00",
                  "value", "hex", "ff", "0a", "0b", "0c", "noexist")
        assert m[u32(2)] == b"\xff\x0a\x0b\x0c"
        dup = run_pybpf("map", "update", "id", mid, "key", "2", "0", "0", "0",
                        "value", "1", "1", "1", "1", "noexist", check=False)
        assert dup.returncode != 0 and "EEXIST" in dup.stderr
        bad = run_pybpf("map", "update", "id", mid, "key", "1", "0", "0", "0", "value", "1", check=False)
        assert bad.returncode == 255 and "value expected 4 bytes got 1" in bad.stderr
        big = run_pybpf("map", "update", "id", mid, "key", "256", "0", "0", "0", "value", "1", "1",
                        "1", "1", check=False)
        assert "error parsing byte: 256" in big.stderr
        run_pybpf("map", "delete", "id", mid, "key", "1", "0", "0", "0")
        assert u32(1) not in m
        assert bpftool_json("map", "dump", "id", mid) == \
            json.loads(run_pybpf("map", "dump", "id", mid, "-j").stdout)


def test_update_percpu_writes_every_cpu(tools, run_pybpf):
    with Map.create("percpu_hash", 4, 4, 2, name="cli_pcu") as m:
        run_pybpf("map", "update", "id", str(m.id), "key", "1", "0", "0", "0", "value", "1", "2", "3", "4")
        assert m[u32(1)] == [b"\x01\x02\x03\x04"] * m.ncpus


def test_update_prog_array_and_map_in_map_values(tools, run_pybpf):
    with Map.create("prog_array", 4, 4, 2, name="cli_jmp") as jmp, \
            Program.load("socket_filter", ret(0), name="cli_tail") as p:
        run_pybpf("map", "update", "id", str(jmp.id), "key", "0", "0", "0", "0", "value", "id", str(p.id))
        assert jmp[u32(0)] == u32(p.id)
        ours = json.loads(run_pybpf("map", "show", "id", str(jmp.id), "-j").stdout)
        assert ours == bpftool_json("map", "show", "id", str(jmp.id))
    with Map.create("array", 4, 4, 1, name="cli_in2") as inner, \
            Map.create("array_of_maps", 4, 4, 1, name="cli_out2", inner_map=inner) as outer:
        run_pybpf("map", "update", "id", str(outer.id), "key", "0", "0", "0", "0",
                  "value", "id", str(inner.id))
        assert outer[u32(0)] == u32(inner.id)


def test_pin_freeze_create(tools, run_pybpf, bpffs_dir):
    with Map.create("array", 4, 4, 1, name="cli_pf") as m:
        path = os.path.join(bpffs_dir, "pf")
        assert run_pybpf("map", "pin", "id", str(m.id), path, "-j").stdout.strip() == "null"
        run_pybpf("map", "freeze", "pinned", path)
        assert bpftool_json("map", "show", "pinned", path)["frozen"] == 1
    created = os.path.join(bpffs_dir, "created")
    run_pybpf("map", "create", created, "type", "hash", "key", "4", "value", "8", "entries", "16",
              "name", "cli_created", "flags", "1")
    theirs = os.path.join(bpffs_dir, "bpftool_created")
    subprocess.run(["bpftool", "map", "create", theirs, "type", "hash", "key", "4", "value", "8",
                    "entries", "16", "name", "cli_created", "flags", "1"], check=True)
    a, b = bpftool_json("map", "show", "pinned", created), bpftool_json("map", "show", "pinned", theirs)
    del a["id"], b["id"]
    assert a == b
    with Map.create("array", 4, 4, 1, name="cli_inner3") as inner:
        mim = os.path.join(bpffs_dir, "mim")
        run_pybpf("map", "create", mim, "type", "hash_of_maps", "key", "4", "value", "4",
                  "entries", "2", "name", "cli_mim", "inner_map", "id", str(inner.id))
        assert bpftool_json("map", "show", "pinned", mim)["type"] == "hash_of_maps"


def test_queue_push_pop_peek(tools, run_pybpf):
    with Map.create("queue", 0, 4, 4, name="cli_q") as q:
        qid = str(q.id)
        run_pybpf("map", "push", "id", qid, "value", "1", "2", "3", "4")
        subprocess.run(["bpftool", "map", "push", "id", qid, "value", "5", "6", "7", "8"], check=True)
        assert json.loads(run_pybpf("map", "peek", "id", qid, "-j").stdout) == \
            bpftool_json("map", "peek", "id", qid)
        assert run_pybpf("map", "pop", "id", qid).stdout == "value: 01 02 03 04\n"
        assert json.loads(run_pybpf("map", "dequeue", "id", qid, "-j").stdout) == \
            {"key": [], "value": ["0x05", "0x06", "0x07", "0x08"]}


def test_keyword_prefixes_like_bpftool(tools, maps, run_pybpf):
    mid = str(maps["cli_hash"].id)
    assert run_pybpf("m", "s", "i", mid).stdout == bpftool("m", "s", "i", mid).stdout
    assert run_pybpf("ma", "d", "id", mid, "-j").stdout.strip() == \
        json.dumps(bpftool_json("ma", "d", "id", mid), separators=(",", ":"))


def test_selectors_that_match_nothing_or_several(tools, run_pybpf, bpffs_dir):
    none = run_pybpf("map", "show", "name", "no_such_map_x", check=False)
    assert none.returncode == 255 and "no map with name no_such_map_x found" in none.stderr
    with Map.create("array", 4, 4, 1, name="cli_twin") as a, \
            Map.create("array", 4, 4, 1, name="cli_twin") as b:
        both = json.loads(run_pybpf("map", "show", "name", "cli_twin", "-j").stdout)
        assert {m["id"] for m in both} == {a.id, b.id}
        several = run_pybpf("map", "lookup", "name", "cli_twin", "key", "0", "0", "0", "0",
                            check=False)
        assert several.returncode == 255 and "several maps match this handle" in several.stderr
        err = json.loads(run_pybpf("map", "dump", "name", "cli_twin", "x", "-j", check=False).stdout)
        assert "too many arguments" in err["error"]
    gone = run_pybpf("map", "show", "id", "4294967295", check=False)
    assert gone.returncode == 255 and "ENOENT" in gone.stderr
    with Program.load("socket_filter", ret(0)) as p:
        path = os.path.join(bpffs_dir, "aprog")
        p.pin(path)
        wrong = run_pybpf("map", "dump", "pinned", path, check=False)
        assert "incorrect object type: prog" in wrong.stderr
    bad = run_pybpf("map", "show", "ident", "3", check=False)
    assert "expected 'id', 'pinned' or 'name'" in bad.stderr
