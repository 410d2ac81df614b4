"""cgroup programs on a cgroup v2 directory created for the test (bpf_link and PROG_ATTACH
with multi/override), and a struct_ops map: a BPF TCP congestion control registered through a
struct_ops link and used by a real loopback TCP connection."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from pybpf import Map
from pybpf.errors import BPFError
from pybpf.link.cgroup import attach_cgroup
from pybpf.link.struct_ops import BPF_F_LINK, attach_struct_ops, struct_ops_layout, struct_ops_value
from pybpf.sys import uapi

pytestmark = pytest.mark.kernel

SRC = "link_net.bpf.c"


def cgroup2_root() -> str:
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[2] == "cgroup2":
                return parts[1]
    root = "/sys/fs/cgroup/unified"
    os.makedirs(root, exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup2", "none", root], check=True)
    return root


@pytest.fixture
def cgroup():
    path = os.path.join(cgroup2_root(), f"pybpf-test-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    try:
        yield path
    finally:
        os.rmdir(path)


def udp_socket_in(cgroup: str) -> int:
    """Exit status of a child that joins ``cgroup`` and creates a UDP socket: 0 ok, 13 EPERM."""
    code = ("import os,socket,sys\n"
            f"open({os.path.join(cgroup, 'cgroup.procs')!r},'w').write(str(os.getpid()))\n"
            "try:\n socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "except PermissionError:\n sys.exit(13)\n")
    return subprocess.run([sys.executable, "-c", code]).returncode


@pytest.mark.parametrize("how", [dict(), dict(use_link=False), dict(use_link=False, attach_flags="override")],
                         ids=["link", "prog_attach-multi", "prog_attach-override"])
def test_cgroup_sock_create(load_fixture, cgroup, how):
    obj = load_fixture(SRC, only=("cgroup/sock_create",))
    prog = obj.progs["cgroup/sock_create"]
    with attach_cgroup(prog, cgroup, **how) as link:
        assert udp_socket_in(cgroup) == 0 and obj.get("cg_hits") == 1
        obj.set("drop", 1)
        assert udp_socket_in(cgroup) == 13 and obj.get("cg_hits") == 2
        if link.is_bpf_link:
            info = link.info()
            assert info.type == uapi.BPF_LINK_TYPE_CGROUP
            assert info.cgroup_id == os.stat(cgroup).st_ino
            assert info.attach_type == uapi.BPF_CGROUP_INET_SOCK_CREATE
        from pybpf.sys.commands import prog_query

        cg = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
        try:
            flags, ids = prog_query(cg, uapi.BPF_CGROUP_INET_SOCK_CREATE)
        finally:
            os.close(cg)
        assert ids == [prog.id]
        if not link.is_bpf_link:
            assert flags == (2 if how.get("attach_flags", "multi") == "multi" else 1)
    assert udp_socket_in(cgroup) == 0 and obj.get("cg_hits") == 2


def test_struct_ops_tcp_congestion_control(load_fixture):
    try:
        layout = struct_ops_layout("tcp_congestion_ops")
    except BPFError as exc:
        from tests.conftest import skip_or_fail

        skip_or_fail(f"no tcp_congestion_ops struct_ops here: {exc}")
    ops = {"init": "struct_ops/cc_init", "ssthresh": "struct_ops/cc_ssthresh",
           "cong_avoid": "struct_ops/cc_cong_avoid", "undo_cwnd": "struct_ops/cc_undo_cwnd"}
    opts = {sec: {"attach_btf_id": layout.type_id, "expected_attach_type": layout.members[m][0]}
            for m, sec in ops.items()}
    obj = load_fixture(SRC, only=tuple(ops.values()), prog_opts=opts)
    name = f"pybpf_{uuid.uuid4().hex[:6]}"
    from pybpf.features import BTF_KIND_BLOBS
    from pybpf.sys.commands import btf_load

    with btf_load(BTF_KIND_BLOBS["int"]) as btf:   # the kernel wants some object BTF here
        st_map = Map.create("struct_ops", 4, layout.value_size, 1, name="pybpf_cc", flags=BPF_F_LINK,
                            btf=btf, btf_vmlinux_value_type_id=layout.value_type_id)
    try:
        value = struct_ops_value(layout, {"name": name, **{m: obj.progs[s] for m, s in ops.items()}})
        with attach_struct_ops(st_map, value) as link:
            info = link.info()
            assert info.type == uapi.BPF_LINK_TYPE_STRUCT_OPS and info.map_id == st_map.id
            avail = open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
            assert name in avail
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            cli = socket.socket()
            cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name.encode())
            cli.connect(srv.getsockname())
            peer, _ = srv.accept()
            cli.sendall(b"x" * 100000)
            got = 0
            while got < 100000:
                got += len(peer.recv(65536))
            assert cli.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0") == name.encode()
            for s in (cli, peer, srv):
                s.close()
            assert obj.get("cc_init") >= 1
        assert name not in open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
    finally:
        st_map.close()
