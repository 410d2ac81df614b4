"""``-p`` output byte for byte as ``bpftool -p`` prints it, on the same live objects.

bpftool's json_writer lays pretty JSON out its own way (``[{`` kept together, scalars of an
array on one line, the closing bracket on a line of its own); pybpf's CLI writes every command
through :mod:`pybpf.jsonw`, so each command's ``-p`` text must equal bpftool's.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import uuid

import pytest

from pybpf import Map, Program
from pybpf.features import btf_blob
from pybpf.jsonw import Object, dumps
from pybpf.link import attach_cgroup, attach_raw_tracepoint, attach_xdp
from pybpf.sys.commands import btf_load
from tests.link.netns import VethPair, in_netns
from tests.link.test_cgroup_struct_ops import cgroup2_root
from tests.sys.helpers import ld_map_fd, ret

pytestmark = pytest.mark.kernel


def bpftool(*args: str) -> str:
    out = subprocess.run(["bpftool", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool", "ip")


def _btf_with_func(name: bytes) -> tuple[bytes, bytes]:
    """BTF of ``int NAME(void)`` and the func_info record pointing at it."""
    strings = b"\0int\0" + name + b"\0"
    types = (struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)
             + struct.pack("<III", 0, 13 << 24, 1)
             + struct.pack("<III", 5, (12 << 24) | 1, 2))
    return btf_blob(types, strings), struct.pack("<II", 0, 3)


@pytest.fixture
def objects():
    """A map, an XDP program using it, a program with BTF, and a raw_tp link."""
    made: list = []
    try:
        m = Map.create("hash", 4, 8, 4, name="pretty_map")
        made.append(m)
        made.append(Program.load("xdp", ld_map_fd(1, m.fileno()) + ret(2), name="pretty_xdp"))
        blob, func_info = _btf_with_func(b"pretty_func")
        btf = btf_load(blob)
        made.append(btf)
        made.append(Program.load("socket_filter", ret(0), name="pretty_func", btf=btf,
                                 func_info=func_info))
        raw_tp = Program.load("raw_tracepoint", ret(0), name="pretty_rawtp")
        made.append(raw_tp)
        made.append(attach_raw_tracepoint(raw_tp, "sys_enter"))
        yield {"map": made[0], "xdp": made[1], "btf": btf, "func": made[3], "link": made[5]}
    finally:
        for obj in reversed(made):
            obj.close()  # (closing the raw_tp link's only descriptor detaches it)


def _no_load_time(text: str) -> str:
    """``loaded_at`` is printed by each tool from its own clock reading; the rest must match."""
    return re.sub(r'"loaded_at": \d+', '"loaded_at": T', text)


def test_prog_show_pretty(tools, objects, run_pybpf):
    for prog in (objects["xdp"], objects["func"]):
        ours = run_pybpf("-p", "prog", "show", "id", str(prog.id)).stdout
        theirs = bpftool("-p", "prog", "show", "id", str(prog.id))
        assert '"map_ids": [' in theirs or prog is objects["func"]
        assert _no_load_time(ours) == _no_load_time(theirs)


def test_map_show_pretty(tools, objects, run_pybpf):
    mid = str(objects["map"].id)
    assert run_pybpf("-p", "map", "show", "id", mid).stdout == bpftool("-p", "map", "show", "id", mid)
    assert run_pybpf("--pretty", "map", "show", "id", mid).stdout == bpftool("--pretty", "map", "show", "id", mid)


def test_link_show_pretty(tools, objects, run_pybpf):
    lid = str(objects["link"].id)
    ours = run_pybpf("-p", "link", "show", "id", lid).stdout
    assert ours == bpftool("-p", "link", "show", "id", lid)


def test_btf_show_pretty(tools, objects, run_pybpf):
    bid = str(json.loads(bpftool("-j", "prog", "show", "id", str(objects["func"].id)))["btf_id"])
    theirs = bpftool("-p", "btf", "show", "id", bid)
    assert '"prog_ids": [' in theirs  # the scalar array layout is part of what is compared
    assert run_pybpf("-p", "btf", "show", "id", bid).stdout == theirs


def _object_slice(text: str, key: str) -> str:
    """The lines of top-level member ``key`` of a pretty-printed object, up to its closing brace."""
    lines = text.splitlines()
    start = lines.index(f'    "{key}": {{')
    end = lines.index("    },", start)
    return "\n".join(lines[start:end + 1])


def _shape(line: str) -> str:
    """A line with every string replaced by S and runs of strings collapsed (the layout only)."""
    return re.sub(r'"S"(,"S")+', '"S"', re.sub(r'"[^"]*"', '"S"', line))


def test_feature_probe_pretty(tools, run_pybpf):
    ours = run_pybpf("-p", "feature", "probe", "kernel").stdout
    theirs = bpftool("-p", "feature", "probe", "kernel")
    # sections whose content is the same for both tools (see test_cli_prog_feature) must be
    # laid out the same, byte for byte
    for key in ("system_config", "syscall_config"):
        assert _object_slice(ours, key) == _object_slice(theirs, key), key
    # helper lists differ in content (libbpf 1.1 counts some refusals as support), not in
    # layout: the names of one program type on one line, the bracket on the next
    mine = ours.splitlines()
    checked = 0
    for i, line in enumerate(theirs.splitlines()):
        mo = re.match(r'        "(\w+_available_helpers)": \[', line)
        if not mo:
            continue
        j = next(k for k, x in enumerate(mine) if x.startswith(f'        "{mo.group(1)}": ['))
        assert _shape(mine[j]) == _shape(line)
        if not line.endswith("[],"):
            # (the last list has no comma after it; pybpf may list a newer program type last)
            assert mine[j + 1].rstrip(",") == theirs.splitlines()[i + 1].rstrip(",") == "        ]"
            checked += 1
    assert checked > 10
    # and the writer reproduces bpftool's whole -p text from its -j document
    doc = json.loads(bpftool("-j", "feature", "probe", "kernel"), object_pairs_hook=Object)
    assert dumps(doc, pretty=True) == theirs


def test_net_show_pretty(tools, run_pybpf):
    pair = VethPair()
    pair.create()
    prog = Program.load("xdp", ret(2), name="pretty_net")
    try:
        with in_netns(pair.ns_b):
            link = attach_xdp(prog, pair.dev_b, mode="skb")
            try:
                theirs = bpftool("-p", "net", "show")
                ours = run_pybpf("-p", "net", "show").stdout
            finally:
                link.detach()
        assert '"xdp": [{' in theirs
        # bpftool 7.1 does not list tcx; nothing of that kind is attached here
        assert ours == theirs
    finally:
        prog.close()
        pair.delete()


def test_cgroup_tree_pretty(tools, run_pybpf):
    cg = os.path.join(cgroup2_root(), f"pybpf-pretty-{uuid.uuid4().hex[:6]}")
    os.mkdir(cg)
    prog = Program.load("cgroup_skb", ret(1), name="pretty_cg", expected_attach_type="cgroup_inet_ingress")
    try:
        with attach_cgroup(prog, cg, "cgroup_inet_ingress"):
            theirs = bpftool("-p", "cgroup", "tree", cg)
            assert '"programs": [{' in theirs
            assert run_pybpf("-p", "cgroup", "tree", cg).stdout == theirs
            shown = bpftool("-p", "cgroup", "show", cg)
            assert run_pybpf("-p", "cgroup", "show", cg).stdout == shown
    finally:
        prog.close()
        os.rmdir(cg)
