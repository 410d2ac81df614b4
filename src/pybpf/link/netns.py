"""Network-namespace programs: flow_dissector and sk_lookup.

libbpf's ``bpf_program__attach_netns()``: ``BPF_LINK_CREATE`` on a descriptor of the network
namespace (``/proc/self/ns/net`` by default) with the program's expected attach type
(Linux 5.8+; sk_lookup 5.9+). Flow dissectors also attach the old way
(``BPF_PROG_ATTACH`` to the caller's namespace) with ``use_link=False``.
"""

from __future__ import annotations

import os
from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys import uapi
from pybpf.sys.commands import link_create, prog_attach, prog_detach
from pybpf.sys.fd import FD
from pybpf.sys.names import attach_type_name, parse_attach_type

__all__ = ["attach_netns", "attach_flow_dissector", "attach_sk_lookup"]

_EINVAL = 22


def _open_netns(netns: Any) -> FD:
    if netns is None:
        netns = "/proc/self/ns/net"
    if isinstance(netns, (str, bytes, os.PathLike)):
        path = os.fsdecode(netns)
        try:
            return FD(os.open(path, os.O_RDONLY | os.O_CLOEXEC), f"netns {path}")
        except OSError as exc:
            raise error_from_errno(exc.errno or 2, f"opening network namespace {path}", op="open") from None
    return FD(os.dup(fd_of(netns, "netns")), "netns")


def attach_netns(program: Any, netns: Any = None, attach_type: int | str | None = None, *,
                 use_link: bool | None = None) -> Link:
    """Attach a flow_dissector or sk_lookup ``program`` to network namespace ``netns`` (a
    path such as ``/proc/<pid>/ns/net``, a descriptor, or None for the current one)."""
    atype = parse_attach_type(attach_type) if attach_type is not None else \
        int(getattr(program, "expected_attach_type", 0) or 0)
    if atype not in (int(uapi.BPF_FLOW_DISSECTOR), int(uapi.BPF_SK_LOOKUP)):
        raise InvalidArgumentError(f"netns attach: attach type must be flow_dissector or sk_lookup, "
                                   f"not {attach_type_name(atype)}")
    prog_fd = fd_of(program, "netns attach: program")
    ns = _open_netns(netns)
    where = f"netns ({attach_type_name(atype)})"
    try:
        if use_link is not False:
            try:
                fd = link_create(prog_fd, ns.fileno(), atype, what=f"attaching program to {where}")
                ns.close()
                return Link("netns", fd=fd, program=program, target=where)
            except BPFError as exc:
                if use_link or exc.errno != _EINVAL or atype != int(uapi.BPF_FLOW_DISSECTOR):
                    raise
        if netns is not None:
            raise InvalidArgumentError("BPF_PROG_ATTACH of a flow dissector works on the caller's "
                                       "network namespace only")
        prog_attach(prog_fd, 0, atype)
    except BaseException:
        ns.close()
        raise
    owned_prog = FD(os.dup(prog_fd), "program")

    def detach() -> None:
        prog_detach(0, atype, owned_prog.fileno())

    return Link("netns", program=program, target=where, on_detach=detach, owned=(owned_prog, ns),
                legacy=True)


def attach_flow_dissector(program: Any, netns: Any = None, *, use_link: bool | None = None) -> Link:
    """:func:`attach_netns` for a flow dissector."""
    return attach_netns(program, netns, uapi.BPF_FLOW_DISSECTOR, use_link=use_link)


def attach_sk_lookup(program: Any, netns: Any = None) -> Link:
    """:func:`attach_netns` for an sk_lookup program (bpf_link only)."""
    return attach_netns(program, netns, uapi.BPF_SK_LOOKUP, use_link=True)
