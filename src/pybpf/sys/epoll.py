"""``epoll(7)``: waiting on ring buffers, perf buffers and user ring buffers.

A thin owner of :class:`select.epoll` that turns ``OSError`` into the :mod:`pybpf.errors`
class for its errno and names what was being waited on. Each registered descriptor carries a
*token* (any Python object) that :meth:`Epoll.wait` hands back, as libbpf stores a ring index
in ``epoll_data``. Interrupted waits are retried by Python (PEP 475) unless a signal handler
raises.
"""

from __future__ import annotations

import select
from typing import Any

from pybpf.errors import ClosedError, error_from_errno

__all__ = ["Epoll", "EPOLLIN", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLET", "EPOLLRDNORM",
           "EPOLLWRNORM"]

EPOLLIN = select.EPOLLIN
EPOLLOUT = select.EPOLLOUT
EPOLLERR = select.EPOLLERR
EPOLLHUP = select.EPOLLHUP
EPOLLET = select.EPOLLET
EPOLLRDNORM = select.EPOLLRDNORM
EPOLLWRNORM = select.EPOLLWRNORM


class Epoll:
    """An epoll instance (close-on-exec) owned by this object.

    ``what`` names the owner for error messages (``"ring buffer"``).
    """

    __slots__ = ("_ep", "_tokens", "what")

    def __init__(self, what: str = "epoll") -> None:
        self.what = what
        try:
            self._ep: select.epoll | None = select.epoll()
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{what}: creating an epoll instance",
                                   op="epoll_create1") from None
        self._tokens: dict[int, Any] = {}

    def _epoll(self) -> select.epoll:
        ep = self._ep
        if ep is None:
            raise ClosedError(f"{self.what} is closed")
        return ep

    def fileno(self) -> int:
        """The epoll descriptor (readable when a registered descriptor is ready): hand it to
        :mod:`selectors` or ``asyncio``'s ``add_reader``."""
        return self._epoll().fileno()

    @property
    def closed(self) -> bool:
        return self._ep is None

    def register(self, fd: int, events: int, token: Any = None, what: str = "descriptor") -> None:
        """Watch ``fd`` for ``events`` (``EPOLLIN``, ``EPOLLOUT``, ``EPOLLET`` ...); :meth:`wait`
        reports it with ``token`` (``fd`` when ``None``)."""
        try:
            self._epoll().register(fd, events)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self.what}: watching {what} (fd {fd})",
                                   op="epoll_ctl") from None
        self._tokens[fd] = fd if token is None else token

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd`` (no error when it was not watched or is already closed)."""
        self._tokens.pop(fd, None)
        ep = self._ep
        if ep is not None:
            try:
                ep.unregister(fd)
            except (OSError, ValueError):
                pass

    def wait(self, timeout: float | None = None, max_events: int = -1) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` seconds (``None``: forever, 0: do not block); returns
        ``[(token, events), ...]`` for the ready descriptors (empty on timeout)."""
        ep = self._epoll()
        try:
            ready = ep.poll(-1 if timeout is None else max(timeout, 0.0), max_events)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self.what}: waiting", op="epoll_wait") from None
        tokens = self._tokens
        return [(tokens.get(fd, fd), ev) for fd, ev in ready]

    def close(self) -> None:
        """Close the epoll descriptor (safe to call twice)."""
        ep = self._ep
        if ep is not None:
            self._ep = None
            self._tokens.clear()
            ep.close()

    def __enter__(self) -> Epoll:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._ep is None else f"fd={self._ep.fileno()}"
        return f"<Epoll {self.what} {state}>"
