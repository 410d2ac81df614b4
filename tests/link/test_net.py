"""XDP, tc (tcx and legacy cls_bpf), socket filter, sk_lookup, flow dissector, netfilter and
sockmap links, on a veth pair between two network namespaces created for the test. Every test
sends real packets and checks the program's counter and its verdict (delivered or dropped)."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from pybpf.errors import BPFError
from pybpf.link.netfilter import attach_netfilter
from pybpf.link.netns import attach_flow_dissector, attach_sk_lookup
from pybpf.link.socket_filter import attach_socket_filter
from pybpf.link.sockmap import attach_sockmap
from pybpf.link.tc import attach_tc, attach_tcx
from pybpf.link.xdp import attach_xdp
from pybpf.sys import netlink, uapi
from tests.link.netns import VethPair, drain, in_netns, warm_up

pytestmark = pytest.mark.kernel

SRC = "link_net.bpf.c"
PORT = 4242


@pytest.fixture
def veth(require_tools):
    require_tools("ip")
    pair = VethPair()
    try:
        pair.create()
        warm_up(pair)
        yield pair
    finally:
        pair.delete()


@pytest.fixture
def net(load_fixture):
    def load(*secs, **kw):
        obj = load_fixture(SRC, only=secs, **kw)
        obj.set("target_port", PORT)
        return obj
    return load


def _roundtrip(veth: VethPair, count: int = 5) -> int:
    with veth.receiver(PORT) as rx:
        veth.send(PORT, count)
        return drain(rx)


@pytest.mark.parametrize("how", [dict(mode="skb"), dict(mode="drv"), dict(use_link=False, mode="skb")],
                         ids=["link-generic", "link-native", "netlink-generic"])
def test_xdp(veth, net, how):
    obj = net("xdp")
    prog = obj.progs["xdp"]
    with in_netns(veth.ns_b):
        link = attach_xdp(prog, veth.dev_b, **how)
        try:
            state = netlink.xdp_query(socket.if_nametoindex(veth.dev_b))
            assert state.prog_id == prog.id
            if how.get("mode") == "skb":
                assert state.skb_prog_id == prog.id
            else:
                assert state.drv_prog_id == prog.id
            assert link.is_bpf_link == (how.get("use_link") is not False)
            if link.is_bpf_link:
                assert link.info().type == uapi.BPF_LINK_TYPE_XDP
                assert link.info().ifindex == state.ifindex
            assert _roundtrip(veth) == 5 and obj.get("xdp_hits") == 5
            obj.set("drop", 1)
            assert _roundtrip(veth) == 0 and obj.get("xdp_hits") == 10
        finally:
            link.detach()
        assert netlink.xdp_query(socket.if_nametoindex(veth.dev_b)).prog_id == 0
    assert _roundtrip(veth) == 5 and obj.get("xdp_hits") == 10


def test_tc_legacy_cls_bpf(veth, net):
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        from tests.conftest import skip_or_fail

        skip_or_fail("pyroute2 (pybpf's net extra) is not installed")
    obj = net("tc")
    prog = obj.progs["tc"]
    with in_netns(veth.ns_b):
        link = attach_tc(prog, veth.dev_b, "ingress", priority=3, handle=7)
        try:
            assert link.legacy and not link.is_bpf_link
            shown = subprocess.run(["tc", "filter", "show", "dev", veth.dev_b, "ingress"],
                                   capture_output=True, text=True, check=True).stdout
            assert f"id {prog.id}" in shown and "direct-action" in shown and "handle 0x7" in shown
            (flt,) = netlink.tc_filters(socket.if_nametoindex(veth.dev_b), netlink.TC_H_INGRESS_CLSACT)
            assert (flt.prog_id, flt.handle, flt.priority, flt.direct_action) == (prog.id, 7, 3, True)
            assert flt.tag == bytes.fromhex(prog.tag)
            assert _roundtrip(veth) == 5 and obj.get("tc_hits") == 5
            obj.set("drop", 1)
            assert _roundtrip(veth) == 0 and obj.get("tc_hits") == 10
        finally:
            link.detach()
        qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", veth.dev_b], capture_output=True,
                                text=True, check=True).stdout
        assert "clsact" not in qdiscs
    assert _roundtrip(veth) == 5


def test_tcx_order_update_and_verdict(veth, net):
    obj = net("tcx/ingress", "tcx/egress",
              prog_opts={"tcx/egress": {"expected_attach_type": "tcx_ingress"}})
    first, second = obj.progs["tcx/ingress"], obj.progs["tcx/egress"]
    with in_netns(veth.ns_b):
        ifindex = socket.if_nametoindex(veth.dev_b)
        a = attach_tcx(first, ifindex)
        b = attach_tcx(second, veth.dev_b, "ingress", before=a)     # runs before `first`
        try:
            info = b.info()
            assert info.type == uapi.BPF_LINK_TYPE_TCX and info.ifindex == ifindex
            assert info.attach_type == uapi.BPF_TCX_INGRESS
            assert _roundtrip(veth, 1) == 1
            raw = obj.globals_raw()
            off = obj.vars["order"][1]
            assert [int.from_bytes(raw[off + 4 * i: off + 4 * i + 4], "little") for i in range(2)] == [2, 1]
            obj.set("drop", 1)
            assert _roundtrip(veth, 3) == 0
            assert obj.get("tcx_hits") == 4 and obj.get("tcx2_hits") == 4
            a.detach()
            b.update(first)                     # b now runs `first` (a program attaches once)
            obj.set("drop", 0)
            assert _roundtrip(veth, 2) == 2 and obj.get("tcx_hits") == 6 and obj.get("tcx2_hits") == 4
            assert b.info().prog_id == first.id
        finally:
            b.detach()
            a.detach()
    assert _roundtrip(veth, 2) == 2 and obj.get("tcx_hits") == 6


def test_socket_filter(net):
    obj = net("socket")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with rx, tx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(0.3)
        with attach_socket_filter(obj.progs["socket"], rx):
            for _ in range(3):
                tx.sendto(b"x", rx.getsockname())
            assert drain(rx) == 3 and obj.get("sock_hits") == 3
            obj.set("drop", 1)
            tx.sendto(b"y", rx.getsockname())
            assert drain(rx) == 0 and obj.get("sock_hits") == 4
        tx.sendto(b"z", rx.getsockname())
        assert drain(rx) == 1 and obj.get("sock_hits") == 4


def test_sk_lookup(veth, net):
    obj = net("sk_lookup")
    with in_netns(veth.ns_b):
        link = attach_sk_lookup(obj.progs["sk_lookup"])
    try:
        assert link.info().type == uapi.BPF_LINK_TYPE_NETNS
        assert link.info().attach_type == uapi.BPF_SK_LOOKUP
        assert os.stat(f"/run/netns/{veth.ns_b}").st_ino == link.info().netns_ino
        assert _roundtrip(veth, 3) == 3 and obj.get("lookup_hits") >= 3
        obj.set("drop", 1)
        assert _roundtrip(veth, 2) == 0
    finally:
        link.detach()
    obj.set("drop", 0)
    before = obj.get("lookup_hits")
    assert _roundtrip(veth, 2) == 2 and obj.get("lookup_hits") == before


def test_flow_dissector(veth, net):
    obj = net("flow_dissector")
    # RPS on B's receive queue makes the kernel hash (and so dissect) every received packet
    subprocess.run(["ip", "netns", "exec", veth.ns_b, "sh", "-c",
                    f"echo 3 > /sys/class/net/{veth.dev_b}/queues/rx-0/rps_cpus"],
                   check=True, capture_output=True)
    with in_netns(veth.ns_b):
        link = attach_flow_dissector(obj.progs["flow_dissector"])
    with link:
        assert link.info().attach_type == uapi.BPF_FLOW_DISSECTOR
        assert _roundtrip(veth, 3) == 3       # BPF_FLOW_DISSECTOR_CONTINUE: packets flow
        assert obj.get("dissect_hits") >= 3
    before = obj.get("dissect_hits")
    _roundtrip(veth, 2)
    assert obj.get("dissect_hits") == before


def test_netfilter(veth, net):
    obj = net("netfilter")
    with in_netns(veth.ns_b):
        link = attach_netfilter(obj.progs["netfilter"], "ipv4", "input", priority=-100)
    try:
        info = link.info()
        assert info.type == uapi.BPF_LINK_TYPE_NETFILTER
        assert (info.pf, info.hooknum, info.priority) == (2, 1, -100)
        assert _roundtrip(veth, 3) == 3 and obj.get("nf_hits") >= 3
        obj.set("drop", 1)
        assert _roundtrip(veth, 2) == 0
    finally:
        link.detach()
    obj.set("drop", 0)
    assert _roundtrip(veth, 2) == 2


@pytest.mark.parametrize("use_link", [None, False], ids=["default", "prog_attach"])
def test_sockmap_sk_msg(net, use_link):
    obj = net("sk_msg")
    socks = obj.maps["socks"]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    peer, _ = srv.accept()
    try:
        with attach_sockmap(obj.progs["sk_msg"], socks, use_link=use_link) as link:
            if use_link is False:
                assert link.legacy
            socks.update(b"\0\0\0\0", cli.fileno().to_bytes(4, "little"))
            cli.sendall(b"hello")
            peer.settimeout(2)
            assert peer.recv(16) == b"hello"
            assert obj.get("msg_hits") >= 1
            socks.delete(b"\0\0\0\0")
    finally:
        for s in (cli, peer, srv):
            s.close()
