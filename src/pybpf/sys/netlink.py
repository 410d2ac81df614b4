"""A small rtnetlink client: XDP attach/query on network devices and listing tc BPF filters.

Only what the attach layer and ``pybpf net show`` need, with the standard library's
``socket.AF_NETLINK``: ``RTM_SETLINK`` with a nested ``IFLA_XDP`` (attach, replace, detach an
XDP program, as libbpf's ``bpf_xdp_attach()``), ``RTM_GETLINK`` dumps decoded into
:class:`LinkXDP` records, and ``RTM_GETTFILTER`` dumps of a device's clsact ingress/egress
hooks decoded into :class:`TCFilter` records (``cls_bpf``'s name, id, tag, flags). Adding and
deleting qdiscs and tc filters is left to pyroute2 (the ``net`` extra).
"""

from __future__ import annotations

import errno as _errno
import itertools
import os
import socket
import struct
from dataclasses import dataclass
from typing import Iterator

from pybpf.errors import BPFError, error_from_errno

__all__ = [
    "XDP_FLAGS_UPDATE_IF_NOEXIST", "XDP_FLAGS_SKB_MODE", "XDP_FLAGS_DRV_MODE",
    "XDP_FLAGS_HW_MODE", "XDP_FLAGS_REPLACE", "XDP_FLAGS_MODES",
    "LinkXDP", "TCFilter", "xdp_set", "xdp_query", "list_links", "tc_filters",
    "TC_H_INGRESS_CLSACT", "TC_H_EGRESS_CLSACT", "parse_attrs",
]

XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
XDP_FLAGS_HW_MODE = 1 << 3
XDP_FLAGS_REPLACE = 1 << 4
XDP_FLAGS_MODES = XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_SETLINK = 18, 19
RTM_GETTFILTER = 46
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 1 << 15
IFLA_IFNAME, IFLA_XDP = 3, 43
IFLA_XDP_FD, IFLA_XDP_ATTACHED, IFLA_XDP_FLAGS, IFLA_XDP_PROG_ID = 1, 2, 3, 4
IFLA_XDP_DRV_PROG_ID, IFLA_XDP_SKB_PROG_ID, IFLA_XDP_HW_PROG_ID, IFLA_XDP_EXPECTED_FD = 5, 6, 7, 8
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_BPF_NAME, TCA_BPF_FLAGS, TCA_BPF_TAG, TCA_BPF_ID = 7, 8, 10, 11
TCA_BPF_FLAG_ACT_DIRECT = 1
TC_H_INGRESS_CLSACT = 0xFFFFFFF2
TC_H_EGRESS_CLSACT = 0xFFFFFFF3

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_TCMSG = struct.Struct("=BxxxiIII")
_NLATTR = struct.Struct("=HH")
_seq = itertools.count(1)


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(atype: int, payload: bytes) -> bytes:
    length = _NLATTR.size + len(payload)
    return _NLATTR.pack(length, atype) + payload + b"\0" * (_align(length) - length)


def parse_attrs(buf: bytes | memoryview, offset: int = 0, end: int | None = None) -> dict[int, memoryview]:
    """Netlink attributes in ``buf[offset:end]`` as ``{type (flags masked): payload}``."""
    view = memoryview(buf)
    stop = len(view) if end is None else end
    out: dict[int, memoryview] = {}
    pos = offset
    while pos + _NLATTR.size <= stop:
        length, atype = _NLATTR.unpack_from(view, pos)
        if length < _NLATTR.size or pos + length > stop:
            break
        out[atype & 0x3FFF] = view[pos + _NLATTR.size: pos + length]
        pos += _align(length)
    return out


def _socket() -> socket.socket:
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        sock.bind((0, 0))
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, "opening an rtnetlink socket", op="socket") from None
    return sock


def _messages(sock: socket.socket, seq: int, what: str) -> Iterator[tuple[int, memoryview]]:
    """Replies to request ``seq`` until DONE/ACK; raises on NLMSG_ERROR with an errno."""
    while True:
        data = sock.recv(1 << 16)
        view = memoryview(data)
        pos = 0
        while pos + _NLMSGHDR.size <= len(data):
            length, mtype, flags, mseq, _pid = _NLMSGHDR.unpack_from(view, pos)
            if length < _NLMSGHDR.size:
                return
            body = view[pos + _NLMSGHDR.size: pos + length]
            pos += _align(length)
            if mseq != seq:
                continue
            if mtype == NLMSG_DONE:
                return
            if mtype == NLMSG_ERROR:
                err = -struct.unpack_from("=i", body, 0)[0]
                if err:
                    raise error_from_errno(err, what, op="netlink")
                return  # ACK
            yield mtype, body


def _request(mtype: int, flags: int, payload: bytes, what: str) -> list[tuple[int, memoryview]]:
    with _socket() as sock:
        seq = next(_seq)
        msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), mtype, flags, seq, 0) + payload
        try:
            sock.send(msg)
        except OSError as exc:
            raise error_from_errno(exc.errno or _errno.EIO, what, op="netlink") from None
        return [(t, bytes(b)) for t, b in _messages(sock, seq, what)]  # type: ignore[misc]


def xdp_set(ifindex: int, prog_fd: int, flags: int = 0, expected_fd: int | None = None) -> None:
    """Attach (``prog_fd`` >= 0) or detach (``prog_fd`` -1) XDP on ``ifindex`` through
    ``RTM_SETLINK``; ``expected_fd`` replaces only that program (``XDP_FLAGS_REPLACE``)."""
    nested = _attr(IFLA_XDP_FD, struct.pack("=i", prog_fd))
    if expected_fd is not None:
        flags |= XDP_FLAGS_REPLACE
        nested += _attr(IFLA_XDP_EXPECTED_FD, struct.pack("=i", expected_fd))
    if flags:
        nested += _attr(IFLA_XDP_FLAGS, struct.pack("=I", flags))
    payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0) + _attr(IFLA_XDP | NLA_F_NESTED, nested)
    verb = "detaching XDP from" if prog_fd < 0 else "attaching XDP to"
    _request(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, payload, f"{verb} ifindex {ifindex} (netlink)")


@dataclass(frozen=True)
class LinkXDP:
    """A network device and its XDP state: ``attached`` is ``XDP_ATTACHED_*`` (0 none,
    1 driver, 2 generic/skb, 3 offload, 4 multi); the per-mode program ids."""

    ifindex: int
    name: str
    attached: int = 0
    prog_id: int = 0
    drv_prog_id: int = 0
    skb_prog_id: int = 0
    hw_prog_id: int = 0


def _u32(view: memoryview | None) -> int:
    return struct.unpack_from("=I", view, 0)[0] if view is not None and len(view) >= 4 else 0


def list_links() -> list[LinkXDP]:
    """Every network device of the current network namespace with its XDP state."""
    payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    out = []
    for mtype, body in _request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, payload, "listing network devices"):
        if mtype != 16:  # RTM_NEWLINK
            continue
        _fam, _type, index, _flags, _change = _IFINFOMSG.unpack_from(body, 0)
        attrs = parse_attrs(body, _IFINFOMSG.size)
        name = bytes(attrs.get(IFLA_IFNAME, b"")).split(b"\0")[0].decode("utf-8", "replace")
        xdp = parse_attrs(attrs[IFLA_XDP]) if IFLA_XDP in attrs else {}
        attached = xdp[IFLA_XDP_ATTACHED][0] if IFLA_XDP_ATTACHED in xdp else 0
        out.append(LinkXDP(index, name, attached, _u32(xdp.get(IFLA_XDP_PROG_ID)),
                           _u32(xdp.get(IFLA_XDP_DRV_PROG_ID)), _u32(xdp.get(IFLA_XDP_SKB_PROG_ID)),
                           _u32(xdp.get(IFLA_XDP_HW_PROG_ID))))
    return out


def xdp_query(ifindex: int) -> LinkXDP:
    """The XDP state of device ``ifindex``."""
    for link in list_links():
        if link.ifindex == ifindex:
            return link
    raise error_from_errno(_errno.ENODEV, f"no network device with ifindex {ifindex}", op="netlink")


@dataclass(frozen=True)
class TCFilter:
    """One tc filter on a clsact hook: ``kind`` (``"bpf"`` for cls_bpf), and for BPF filters
    the program's ``name``, ``prog_id``, ``tag`` and whether it runs in direct-action mode."""

    ifindex: int
    parent: int
    handle: int
    priority: int
    protocol: int
    kind: str
    name: str = ""
    prog_id: int = 0
    tag: bytes = b""
    direct_action: bool = False


def tc_filters(ifindex: int, parent: int) -> list[TCFilter]:
    """The filters attached at ``parent`` (:data:`TC_H_INGRESS_CLSACT` or
    :data:`TC_H_EGRESS_CLSACT`) of device ``ifindex``. Empty when no clsact qdisc exists."""
    payload = _TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, parent, 0)
    try:
        replies = _request(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, payload,
                           f"listing tc filters of ifindex {ifindex}")
    except BPFError as exc:
        if exc.errno in (_errno.EINVAL, _errno.ENOENT):
            return []
        raise
    out = []
    for mtype, body in replies:
        if mtype != 44:  # RTM_NEWTFILTER
            continue
        _fam, index, handle, par, info = _TCMSG.unpack_from(body, 0)
        attrs = parse_attrs(body, _TCMSG.size)
        kind = bytes(attrs.get(TCA_KIND, b"")).split(b"\0")[0].decode()
        opts = parse_attrs(attrs[TCA_OPTIONS]) if TCA_OPTIONS in attrs else {}
        if kind == "bpf" and not opts:
            continue  # the chain/priority head without a filter
        name = bytes(opts.get(TCA_BPF_NAME, b"")).split(b"\0")[0].decode("utf-8", "replace")
        flags = _u32(opts.get(TCA_BPF_FLAGS))
        out.append(TCFilter(index, par, handle, info >> 16, socket.ntohs(info & 0xFFFF), kind, name,
                            _u32(opts.get(TCA_BPF_ID)), bytes(opts.get(TCA_BPF_TAG, b"")),
                            bool(flags & TCA_BPF_FLAG_ACT_DIRECT)))
    return out


def ifindex_of(name: str) -> int:
    """``if_nametoindex`` with a pybpf error naming the device."""
    try:
        return socket.if_nametoindex(name)
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.ENODEV, f"no network device named '{name}'",
                               op="if_nametoindex") from None


def ifname_of(ifindex: int) -> str:
    """``if_indextoname`` (``""`` when the device is gone)."""
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return ""


