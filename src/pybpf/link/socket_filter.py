"""Socket filter programs (``SEC("socket")``) on sockets: ``setsockopt(SO_ATTACH_BPF)``.

The link keeps a reference to the socket (a duplicate of its descriptor) and runs
``SO_DETACH_BPF`` on detach. Linux 3.19+.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from pybpf.errors import error_from_errno
from pybpf.link.base import Link, fd_of


__all__ = ["attach_socket_filter", "SO_ATTACH_BPF", "SO_DETACH_BPF"]

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27


def attach_socket_filter(program: Any, sock: Any) -> Link:
    """Attach a socket filter ``program`` to socket ``sock`` (socket object or descriptor)."""
    sfd = os.dup(fd_of(sock, "socket filter attach: socket"))
    s = socket.socket(fileno=os.dup(sfd))
    os.close(sfd)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, fd_of(program, "socket filter attach: program"))
    except OSError as exc:
        s.close()
        raise error_from_errno(exc.errno or 0, "attaching socket filter (SO_ATTACH_BPF)",
                               op="setsockopt") from None

    def detach() -> None:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_DETACH_BPF, 0)
        except OSError as exc:
            if exc.errno != 2:  # ENOENT: nothing attached any more
                raise error_from_errno(exc.errno or 0, "detaching socket filter (SO_DETACH_BPF)",
                                       op="setsockopt") from None

    return Link("socket_filter", program=program, target=f"socket fd {sock.fileno() if hasattr(sock, 'fileno') else sock}",
                on_detach=detach, owned=(s,), legacy=True)


