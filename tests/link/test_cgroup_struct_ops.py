"""cgroup programs on a cgroup v2 directory created for the test (bpf_link and PROG_ATTACH
with multi/override). (struct_ops maps, once tested here with a hand-built map, are in
tests/link/test_struct_ops.py, loaded from an object.)"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from pybpf.link.cgroup import attach_cgroup
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
