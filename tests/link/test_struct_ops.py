"""struct_ops maps from objects, live: a BPF TCP congestion control (tests/progs/obj_struct_ops.bpf.c,
``struct tcp_congestion_ops`` over the kernel's Reno kfuncs, every callback counting its calls)
loaded by pybpf.object and registered both ways: ``SEC(".struct_ops")`` (writing the map's value
registers it, deleting it unregisters) and ``SEC(".struct_ops.link")`` (a struct_ops bpf_link).

The oracles are the kernel's own views: the algorithm appears in (and leaves)
``/proc/sys/net/ipv4/tcp_available_congestion_control``, a real loopback TCP connection that asks
for it with ``TCP_CONGESTION`` gets it (the socket reports it back) and runs its programs (the
counters move), ``bpftool struct_ops`` lists the registration and decodes the map's value, and
after closing no program, map or registration of the test is left.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import uuid

import pytest

from pybpf.errors import BPFError, InvalidArgumentError, NotFoundError
from pybpf.link import attach_struct_ops
from pybpf.link.struct_ops import BPF_F_LINK, StructOpsLink, struct_ops_layout, struct_ops_value
from pybpf.object import ObjectSpec
from pybpf.sys import uapi

pytestmark = pytest.mark.kernel

SRC = "obj_struct_ops.bpf.c"
AVAILABLE = "/proc/sys/net/ipv4/tcp_available_congestion_control"


# ---------------------------------------------------------------------------------------- helpers

def build_struct_ops(compile_bpf, vmlinux_h, *, link: bool = False, section: str | None = None) -> str:
    """tests/progs/obj_struct_ops.bpf.c: ``.struct_ops`` (default), ``.struct_ops.link`` with a
    second map (``link=True``), or its map(s) in ``section``."""
    flags: tuple[str, ...] = ("-DSTRUCT_OPS_LINK",) if link else ()
    if section is not None:
        flags += (f'-DST_OPS_SEC="{section}"',)
    return compile_bpf(SRC, include_dirs=(vmlinux_h,), flags=flags)


def available() -> list[str]:
    with open(AVAILABLE) as f:
        return f.read().split()


def cc_name() -> str:
    """A congestion control name of this test run (the kernel allows 15 characters)."""
    return f"pyb_{uuid.uuid4().hex[:10]}"


def transfer(cc: str, size: int = 2_000_000) -> str:
    """Send ``size`` bytes over loopback TCP from a socket using congestion control ``cc``;
    returns the algorithm the kernel reports for that socket."""
    srv = socket.socket()
    cli = socket.socket()
    peer = None
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
        cli.connect(srv.getsockname())
        peer, _ = srv.accept()
        received = []

        def drain() -> None:
            got = 0
            while got < size:
                chunk = peer.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            received.append(got)

        reader = threading.Thread(target=drain)
        reader.start()
        cli.sendall(b"x" * size)
        reader.join(timeout=60)
        assert received == [size]
        return cli.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    finally:
        for s in (cli, peer, srv):
            if s is not None:
                s.close()


def registered_struct_ops() -> dict[str, dict]:
    """What ``bpftool struct_ops dump`` shows, by the kernel struct's ``name`` member: map id,
    map name and the decoded value."""
    proc = subprocess.run(["bpftool", "-j", "struct_ops", "dump"], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        return {}
    out = {}
    items = json.loads(proc.stdout)
    if items and isinstance(items[0], list):        # one [info, value] list per map
        items = [x for pair in items for x in pair]
    info: dict = {}
    for item in items:                              # bpftool 7.1: info, value, info, value...
        if "bpf_map_info" in item:
            info = item["bpf_map_info"]
            continue
        value = next(iter(item.values()))
        name = value.get("data", {}).get("name")
        if isinstance(name, str):
            out[name] = {"id": info["id"], "map": info["name"], "value": value, "info": info}
    return out


@pytest.fixture
def tools(require_tools):
    require_tools("bpftool")


@pytest.fixture
def cc_names(tools):
    """Names for the test's congestion controls; afterwards none may still be registered (a
    leftover is unregistered, and the test fails)."""
    names: list[str] = []

    def new() -> str:
        names.append(cc_name())
        return names[-1]

    yield new
    left = [n for n in names if n in available()]
    shown = registered_struct_ops()
    for n in left:
        if n in shown:
            subprocess.run(["bpftool", "struct_ops", "unregister", "id", str(shown[n]["id"])],
                           capture_output=True)
    assert not left, f"still registered after the test: {left}"


def _gone(kind: str, ids: list[int]) -> list[int]:
    """The ids among ``ids`` that the kernel still has (after closing: should be none)."""
    import time

    from pybpf.sys.commands import get_fd_by_id

    left = ids
    for _ in range(100):     # programs and maps are freed after an RCU grace period
        still = []
        for i in left:
            try:
                get_fd_by_id(kind, i).close()
                still.append(i)
            except NotFoundError:
                pass
        left = still
        if not left:
            break
        time.sleep(0.05)
    return left


def _load(path: str, names: dict[str, str], **edits):
    spec = ObjectSpec.open(path)
    for map_name, cc in names.items():
        spec.maps[map_name].struct_ops["name"] = cc.encode()
    for map_name, attrs in edits.items():
        for attr, value in attrs.items():
            setattr(spec.maps[map_name], attr, value)
    return spec.load()


# ---------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("link", [False, True], ids=["struct_ops", "struct_ops.link"])
def test_tcp_congestion_control(compile_bpf, vmlinux_h, cc_names, link):
    """Object.attach() registers the map; a TCP connection runs the programs; close undoes it."""
    path = build_struct_ops(compile_bpf, vmlinux_h, link=link)
    cc = cc_names()
    edits = {"pybpf_cc_b": {"autocreate": False}} if link else {}
    obj = _load(path, {"pybpf_cc": cc}, **edits)
    try:
        st_map = obj.maps["pybpf_cc"]
        info = st_map.info()
        assert int(info.type) == uapi.BPF_MAP_TYPE_STRUCT_OPS
        assert bool(info.map_flags & BPF_F_LINK) == link
        assert cc not in available()             # loading alone registers nothing (as libbpf)
        map_id, prog_ids = info.id, [p.id for p in obj.programs.values()]
        links = obj.attach()
        assert len(links) == 1 and isinstance(links[0], StructOpsLink)
        assert links[0].legacy == (not link) and links[0].is_bpf_link == link
        if link:
            linfo = links[0].info()
            assert linfo.type == uapi.BPF_LINK_TYPE_STRUCT_OPS and linfo.map_id == map_id
        assert cc in available()
        shown = registered_struct_ops()[cc]
        assert shown["id"] == map_id and shown["map"] == "pybpf_cc"
        data = shown["value"]["data"]
        for member, prog in (("ssthresh", "pybpf_ssthresh"), ("cong_avoid", "pybpf_cong_avoid"),
                             ("undo_cwnd", "pybpf_undo_cwnd"), ("init", "pybpf_init"),
                             ("release", "pybpf_release")):
            assert data[member].endswith(f" {prog}/prog_id:{obj.programs[prog].id}"), (member, data[member])
        assert data["set_state"].endswith(" 0") and data["flags"] == 0

        before = {k: v.value for k, v in obj.variables.items()}
        assert transfer(cc) == cc
        after = {k: v.value for k, v in obj.variables.items()}
        assert after["init_calls"] == before["init_calls"] + 1
        assert after["release_calls"] == before["release_calls"] + 1
        assert after["cong_avoid_calls"] > before["cong_avoid_calls"]
        assert after["init_b_calls"] == 0
    finally:
        obj.close()
    assert cc not in available()
    assert cc not in registered_struct_ops()
    assert _gone("map", [map_id]) == [] and _gone("prog", prog_ids) == []


@pytest.mark.parametrize("link", [False, True], ids=["struct_ops", "struct_ops.link"])
def test_attach_struct_ops_by_hand(compile_bpf, vmlinux_h, cc_names, link):
    """pybpf.link.attach_struct_ops(map): the caller's link; detaching it unregisters while the
    object stays loaded, and the map can be registered again."""
    path = build_struct_ops(compile_bpf, vmlinux_h, link=link)
    cc = cc_names()
    edits = {"pybpf_cc_b": {"autocreate": False}} if link else {}
    with _load(path, {"pybpf_cc": cc}, **edits) as obj:
        st_map = obj.maps["pybpf_cc"]
        with attach_struct_ops(st_map):
            assert cc in available()
            assert transfer(cc) == cc
        assert cc not in available()
        if not link:
            # the kernel keeps a legacy map's registration: a second write of the value is refused
            # only while registered; after unregistering the map is done (its state is final)
            with pytest.raises(BPFError):
                attach_struct_ops(st_map)
            assert cc not in available()
        else:
            again = obj.attach_struct_ops("pybpf_cc")   # the value is set once: EBUSY skipped
            try:
                assert cc in available() and again.info().map_id == st_map.id
            finally:
                again.close()
    assert cc not in available()


def test_legacy_registration_outlives_the_map_descriptor(compile_bpf, vmlinux_h, cc_names):
    """A legacy registration keeps the map alive in the kernel: the link has its own descriptor
    and unregisters even after the object closed its maps."""
    path = build_struct_ops(compile_bpf, vmlinux_h)
    cc = cc_names()
    obj = _load(path, {"pybpf_cc": cc})
    reg = obj.attach_struct_ops("pybpf_cc")
    map_id = obj.maps["pybpf_cc"].id
    obj.close()
    try:
        assert cc in available() and registered_struct_ops()[cc]["id"] == map_id
        assert transfer(cc) == cc
    finally:
        reg.detach()
    assert cc not in available()
    assert _gone("map", [map_id]) == []


def test_update_map(compile_bpf, vmlinux_h, cc_names):
    """StructOpsLink.update_map swaps the link's map atomically (BPF_LINK_UPDATE): the same
    algorithm (the kernel wants the same name), now served by the second map's programs."""
    path = build_struct_ops(compile_bpf, vmlinux_h, link=True)
    cc = cc_names()
    obj = _load(path, {"pybpf_cc": cc, "pybpf_cc_b": cc}, pybpf_cc_b={"autoattach": False})
    try:
        links = obj.attach()
        assert len(links) == 1
        link = links[0]
        assert available().count(cc) == 1
        assert transfer(cc) == cc
        assert obj.variables["init_calls"].value == 1 and obj.variables["init_b_calls"].value == 0
        link.update_map(obj.maps["pybpf_cc_b"])
        assert link.info().map_id == obj.maps["pybpf_cc_b"].id
        assert available().count(cc) == 1
        assert transfer(cc) == cc
        assert obj.variables["init_calls"].value == 1 and obj.variables["init_b_calls"].value == 1
        legacy = StructOpsLink("struct_ops", legacy=True, target="x")
        with pytest.raises(InvalidArgumentError, match="legacy"):
            legacy.update_map(obj.maps["pybpf_cc"])
        legacy.close()
    finally:
        obj.close()
    assert cc not in available()


def test_hand_built_value_matches_the_loader(compile_bpf, vmlinux_h, cc_names):
    """struct_ops_layout/struct_ops_value (a value built from the kernel's BTF by hand) give the
    value the loader prepared from the object, byte for byte; a hand-made BPF_F_LINK map with it
    registers the object's programs."""
    from pybpf import Map
    from pybpf.features import BTF_KIND_BLOBS
    from pybpf.sys.commands import btf_load

    path = build_struct_ops(compile_bpf, vmlinux_h)
    cc = cc_names()
    with _load(path, {"pybpf_cc": cc}) as obj:
        layout = struct_ops_layout("tcp_congestion_ops")
        ops = {"ssthresh": "pybpf_ssthresh", "cong_avoid": "pybpf_cong_avoid", "undo_cwnd": "pybpf_undo_cwnd",
               "init": "pybpf_init", "release": "pybpf_release"}
        value = struct_ops_value(layout, {"name": cc, **{m: obj.programs[p] for m, p in ops.items()}})
        assert value == obj.maps["pybpf_cc"].struct_ops_value
        assert obj.maps["pybpf_cc"].info().btf_vmlinux_value_type_id == layout.value_type_id
        with btf_load(BTF_KIND_BLOBS["int"]) as btf:   # the kernel wants some object BTF here
            st_map = Map.create("struct_ops", 4, layout.value_size, 1, name="pybpf_cc", flags=BPF_F_LINK,
                                btf=btf, btf_vmlinux_value_type_id=layout.value_type_id)
        try:
            with attach_struct_ops(st_map, value) as link:
                info = link.info()
                assert info.type == uapi.BPF_LINK_TYPE_STRUCT_OPS and info.map_id == st_map.id
                assert cc in available()
                assert transfer(cc) == cc
                assert obj.variables["init_calls"].value >= 1
            assert cc not in available()
        finally:
            st_map.close()


def test_not_a_struct_ops_map(tools):
    from pybpf import Map

    with Map.create("array", 4, 8, 1, name="not_ops") as m:
        with pytest.raises(InvalidArgumentError, match="not a struct_ops map"):
            attach_struct_ops(m, b"\0" * 8)
