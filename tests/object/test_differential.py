"""``pybpf prog loadall`` against ``bpftool prog loadall`` on every fixture bpftool can load.

Both load the same object on the same kernel and pin programs (``PATH/<program name>``) and
maps (``pinmaps DIR``). Compared, through what the kernel reports for the pinned objects:
program names, types and tags (the kernel's hash of the instructions it was given), the BTF
each program carries (the kernel's copy of the object's BTF, byte for byte: libbpf's fix-ups
and rewrites), func_info and line_info, the maps each program uses, and every pinned map's
name, type, key/value sizes, max_entries and BTF key/value type ids.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess

import pytest

from .conftest import FIXTURES, NOT_LOADABLE_BY_BPFTOOL

pytestmark = pytest.mark.kernel

PINNED_BY_NAME = "/sys/fs/bpf/pybpf_pinned_counts"
#: __hidden global variables of the fixtures
HIDDEN_VARS = {"hidden_global"}


def _bpftool_json(*args: str):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _btf_bytes(btf_id: int) -> bytes:
    from pybpf.sys import uapi
    from pybpf.sys.commands import get_fd_by_id, get_info

    with get_fd_by_id("btf", btf_id) as fd:
        first = get_info(fd.fileno(), uapi.bpf_btf_info(), "BTF")
        buf = ctypes.create_string_buffer(first.btf_size)
        info = uapi.bpf_btf_info()
        info.btf = ctypes.addressof(buf)
        info.btf_size = first.btf_size
        get_info(fd.fileno(), info, "BTF")
        return buf.raw


def _prog(path: str) -> dict:
    from pybpf.programs import Program

    with Program.from_pin(path) as prog:
        info = prog.info()
    maps = []
    for mid in info.map_ids:
        m = _bpftool_json("map", "show", "id", str(mid))
        maps.append((m["name"], m["type"], m["bytes_key"], m["bytes_value"], m["max_entries"]))
    btf_text = subprocess.run(["bpftool", "btf", "dump", "id", str(info.btf_id)], capture_output=True,
                              text=True, check=True).stdout if info.btf_id else ""
    return {"type": int(info.type), "tag": info.tag.hex(), "maps": sorted(maps),
            "func_info": info.func_info, "line_info": info.line_info,
            "btf": _btf_bytes(info.btf_id) if info.btf_id else b"", "btf_text": btf_text}


def _map(path: str) -> tuple:
    from pybpf.maps import Map

    with Map.from_pin(path) as m:
        i = m.info()
    return (i.name, int(i.type), i.key_size, i.value_size, i.max_entries, i.btf_key_type_id,
            i.btf_value_type_id)


@pytest.mark.parametrize("name", [f for f in FIXTURES if f not in NOT_LOADABLE_BY_BPFTOOL])
def test_loadall_matches_bpftool(name, build, bpffs_dir, run_pybpf, require_bpftool):
    path = build(name)
    if os.path.exists(PINNED_BY_NAME):
        os.unlink(PINNED_BY_NAME)
    results = {}
    try:
        for who in ("bpftool", "pybpf"):
            progs = os.path.join(bpffs_dir, f"{who}-progs")
            maps = os.path.join(bpffs_dir, f"{who}-maps")
            args: tuple[str, ...] = ("prog", "loadall", path, progs)
            if name != "obj_pinning":   # its map is pinned by name: both refuse to pin it elsewhere
                args += ("pinmaps", maps)
            if who == "bpftool":
                proc = subprocess.run(["bpftool", *args], capture_output=True, text=True)
                assert proc.returncode == 0, proc.stderr
            else:
                run_pybpf(*args)
            results[who] = {
                "progs": {p: _prog(os.path.join(progs, p)) for p in sorted(os.listdir(progs))},
                "maps": {m: _map(os.path.join(maps, m)) for m in sorted(os.listdir(maps))}
                if os.path.isdir(maps) else {},
            }
    finally:
        if os.path.exists(PINNED_BY_NAME):
            os.unlink(PINNED_BY_NAME)
    want, got = results["bpftool"], results["pybpf"]
    assert list(got["progs"]) == list(want["progs"])
    assert got["maps"] == want["maps"]
    for prog in want["progs"]:
        w, g = want["progs"][prog], got["progs"][prog]
        assert (g["type"], g["tag"]) == (w["type"], w["tag"]), prog
        assert g["maps"] == w["maps"], prog
        assert g["func_info"] == w["func_info"] and g["line_info"] == w["line_info"], prog
        if g["btf"] != w["btf"]:
            # libbpf 1.2+ (pybpf too) makes __hidden globals' VARs static; libbpf 1.1 did not.
            diff = set(g["btf_text"].splitlines()) ^ set(w["btf_text"].splitlines())
            assert diff and all("VAR" in line and line.split("'")[1] in HIDDEN_VARS for line in diff), diff
            assert {line.split("linkage=")[1] for line in diff} == {"static", "global"}


def test_load_first_program_only(build, bpffs_dir, run_pybpf, require_bpftool):
    """``prog load`` pins the first program of the object at PATH, like bpftool."""
    path = build("obj_calls")
    tags = {}
    for who in ("bpftool", "pybpf"):
        pin = os.path.join(bpffs_dir, who)
        if who == "bpftool":
            subprocess.run(["bpftool", "prog", "load", path, pin], check=True, capture_output=True)
        else:
            run_pybpf("prog", "load", path, pin)
        shown = _bpftool_json("prog", "show", "pinned", pin)
        tags[who] = (shown["name"], shown["tag"])
    assert tags["pybpf"] == tags["bpftool"]


def test_type_and_map_options_match_bpftool(build, bpffs_dir, run_pybpf, require_bpftool):
    """``type TYPE`` overrides every program's type; ``map name NAME pinned FILE`` reuses a map."""
    from pybpf.maps import Map

    path = build("obj_calls")
    with Map.create("array", 4, 8, 4, name="shared_arr") as shared:
        shared_pin = os.path.join(bpffs_dir, "shared")
        shared.pin(shared_pin)
        ids = {}
        for who in ("bpftool", "pybpf"):
            progs = os.path.join(bpffs_dir, f"{who}-progs")
            args = ("prog", "loadall", path, progs, "type", "xdp", "map", "name", "arr", "pinned", shared_pin)
            if who == "bpftool":
                subprocess.run(["bpftool", *args], check=True, capture_output=True)
            else:
                run_pybpf(*args)
            shown = {p: _bpftool_json("prog", "show", "pinned", os.path.join(progs, p))
                     for p in sorted(os.listdir(progs))}
            ids[who] = {p: (s["type"], s["tag"], shared.info().id in s.get("map_ids", ())) for p, s in shown.items()}
        assert ids["pybpf"] == ids["bpftool"]
        assert ids["pybpf"]["calls_c"][2]


def test_pinmaps_refuses_pinned_by_name_map_like_bpftool(build, bpffs_dir, run_pybpf, require_bpftool):
    path = build("obj_pinning")
    try:
        for who in ("bpftool", "pybpf"):
            args = ("prog", "loadall", path, os.path.join(bpffs_dir, f"{who}-p"), "pinmaps",
                    os.path.join(bpffs_dir, f"{who}-m"))
            if who == "bpftool":
                code = subprocess.run(["bpftool", *args], capture_output=True).returncode
            else:
                proc = run_pybpf(*args, check=False)
                code = proc.returncode
                assert "already pinned at '/sys/fs/bpf/pybpf_pinned_counts'" in proc.stderr
            assert code != 0
            assert not os.listdir(os.path.join(bpffs_dir, f"{who}-p"))   # programs unpinned again
    finally:
        if os.path.exists(PINNED_BY_NAME):
            os.unlink(PINNED_BY_NAME)
