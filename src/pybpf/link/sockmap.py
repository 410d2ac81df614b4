"""sk_msg and sk_skb programs on sockmaps/sockhashes.

``BPF_LINK_CREATE`` on the map (sockmap links, Linux 6.10+) when the kernel has them, else
``BPF_PROG_ATTACH`` to the map (detached with ``BPF_PROG_DETACH``), as libbpf's
``bpf_program__attach_sockmap()`` / ``bpf_prog_attach()``. The attach type comes from the
program (``sk_msg`` -> ``BPF_SK_MSG_VERDICT``, ``sk_skb/stream_verdict``...) or ``attach_type``.
"""

from __future__ import annotations

import os
from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError
from pybpf.link.base import Link, fd_of
from pybpf.sys.commands import link_create, prog_attach, prog_detach
from pybpf.sys.fd import FD
from pybpf.sys.names import attach_type_name, parse_attach_type

__all__ = ["attach_sockmap"]

_EINVAL = 22


def attach_sockmap(program: Any, sockmap: Any, attach_type: int | str | None = None, *,
                   use_link: bool | None = None) -> Link:
    """Attach an sk_msg/sk_skb ``program`` to ``sockmap`` (a :class:`pybpf.Map` or descriptor)."""
    if attach_type is not None:
        atype = parse_attach_type(attach_type)
    else:
        atype = int(getattr(program, "expected_attach_type", 0) or 0)
        if not atype:
            raise InvalidArgumentError("sockmap attach: give attach_type= (e.g. 'sk_skb_stream_verdict')")
    prog_fd = fd_of(program, "sockmap attach: program")
    map_fd = fd_of(sockmap, "sockmap attach: map")
    where = f"map fd {map_fd} ({attach_type_name(atype)})"
    if use_link is not False:
        try:
            fd = link_create(prog_fd, map_fd, atype, what=f"attaching program to sockmap {where}")
            return Link("sockmap", fd=fd, program=program, target=where)
        except BPFError as exc:
            if use_link or exc.errno != _EINVAL:
                raise
    prog_attach(prog_fd, map_fd, atype)
    owned_map = FD(os.dup(map_fd), "sockmap")
    owned_prog = FD(os.dup(prog_fd), "program")

    def detach() -> None:
        prog_detach(owned_map.fileno(), atype, owned_prog.fileno())

    return Link("sockmap", program=program, target=where, on_detach=detach,
                owned=(owned_prog, owned_map), legacy=True)
