"""``FD``: ownership of one kernel file descriptor.

Every descriptor pybpf gets from the kernel (maps, programs, links, BTF, perf events) is
wrapped in an :class:`FD` at once, so that it is closed exactly once: by :meth:`FD.close`, by
leaving a ``with`` block, or when the object is garbage-collected. Closing twice is harmless;
using a closed descriptor raises :class:`~pybpf.errors.ClosedError` instead of silently
touching whatever file later reused the number.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from pybpf.errors import ClosedError, error_from_errno

__all__ = ["FD"]

_close = os.close


class FD:
    """An owned file descriptor.

    ``what`` names the object for error messages (``"map 'counts'"``). Descriptors 0-2 are
    moved above 2 (as libbpf does) so that a program started with closed standard streams
    never writes its output into a BPF object.
    """

    __slots__ = ("_fd", "what", "__weakref__")

    def __init__(self, fd: int, what: str = "file descriptor") -> None:
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        if fd < 3:
            try:
                new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            except OSError as exc:
                _close(fd)
                raise error_from_errno(exc.errno or 0, f"{what}: moving fd {fd} above 2",
                                       op="fcntl") from None
            _close(fd)
            fd = new
        self._fd = fd
        self.what = what

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._fd < 0

    def fileno(self) -> int:
        """The descriptor number; raises :class:`ClosedError` after :meth:`close`."""
        fd = self._fd
        if fd < 0:
            raise ClosedError(f"{self.what} is closed")
        return fd

    def __int__(self) -> int:
        return self.fileno()

    def __index__(self) -> int:
        return self.fileno()

    def close(self) -> None:
        """Close the descriptor. Safe to call more than once."""
        fd = self._fd
        if fd >= 0:
            self._fd = -1
            try:
                _close(fd)
            except OSError:  # pragma: no cover - already closed behind our back
                pass

    def detach(self) -> int:
        """Give up ownership: return the number and forget it (the caller must close it)."""
        fd = self.fileno()
        self._fd = -1
        return fd

    def dup(self) -> FD:
        """A new :class:`FD` for the same kernel object (close-on-exec)."""
        try:
            new = fcntl.fcntl(self.fileno(), fcntl.F_DUPFD_CLOEXEC, 3)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self.what}: dup", op="fcntl") from None
        return FD(new, self.what)

    def __enter__(self) -> FD:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            try:
                _close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"fd={self._fd}"
        return f"<FD {self.what} {state}>"
