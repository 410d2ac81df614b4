"""The errors pybpf raises.

Every error is a :class:`BPFError`. Errors that come from a failed system call carry the
``errno`` and the operation (``op``, for example ``"BPF_MAP_CREATE"``); every error carries a
human-readable context naming what was being done and to which object (map, program, section,
byte offset), so a user never has to read a traceback to learn what went wrong.

:func:`error_from_errno` picks the subclass for an errno from a table, so callers only say
what they were doing.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "BPFError",
    "NotSupportedError",
    "PermissionDeniedError",
    "NotFoundError",
    "KeyNotFoundError",
    "ExistsError",
    "BusyError",
    "InvalidArgumentError",
    "NoSpaceError",
    "BadFileError",
    "ClosedError",
    "VerifierError",
    "BTFError",
    "ELFError",
    "ObjectError",
    "CORERelocationError",
    "AttachError",
    "error_from_errno",
    "ENOTSUPP",
]

#: The kernel-internal "not supported" errno that leaks out of some BPF paths (no libc name).
ENOTSUPP = 524


class BPFError(Exception):
    """Base class of every error raised by pybpf.

    ``errno`` is set when the error comes from a system call, ``op`` names the operation
    (a ``bpf()`` command such as ``BPF_PROG_LOAD``, or another syscall), and ``context``
    says what it was applied to.
    """

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        op: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errno = errno
        self.op = op

    def __str__(self) -> str:
        parts = []
        if self.op:
            parts.append(f"{self.op}: ")
        parts.append(self.message)
        if self.errno is not None:
            name = _errno.errorcode.get(self.errno, "ENOTSUPP" if self.errno == ENOTSUPP else "?")
            reason = "Operation not supported" if self.errno == ENOTSUPP else os.strerror(self.errno)
            parts.append(f": {reason} ({name})")
        return "".join(parts)

    # KeyError subclasses would otherwise print repr(args).
    __repr__ = Exception.__repr__


class NotSupportedError(BPFError):
    """The running kernel (or its configuration) does not support the operation."""


class PermissionDeniedError(BPFError):
    """EPERM/EACCES: missing privileges, or the kernel refused for a policy reason."""


class NotFoundError(BPFError):
    """ENOENT: no such object (map element, id, pinned path, attach target)."""


class KeyNotFoundError(NotFoundError, KeyError):
    """A map key that is not present."""

    def __str__(self) -> str:  # KeyError.__str__ would quote the message
        return BPFError.__str__(self)


class ExistsError(BPFError):
    """EEXIST: the element or object already exists."""


class BusyError(BPFError):
    """EBUSY: the object is in use."""


class InvalidArgumentError(BPFError, ValueError):
    """EINVAL, or an argument pybpf rejects before asking the kernel."""

    def __str__(self) -> str:
        return BPFError.__str__(self)


class NoSpaceError(BPFError):
    """E2BIG/ENOSPC/ENOMEM: a size or capacity limit was hit."""


class BadFileError(BPFError):
    """EBADF: a file descriptor that is not open or not of the expected kind."""


class ClosedError(BPFError):
    """The object was used after it was closed."""


class VerifierError(BPFError):
    """The verifier rejected a program. ``log`` keeps the whole verifier log.

    ``str()`` shows the tail of the log (the lines that explain the rejection), like
    cilium/ebpf and libbpf do.
    """

    TAIL_LINES = 20

    def __init__(
        self, message: str, log: str, *, errno: int | None = None, op: str | None = None,
        truncated: bool = False,
    ) -> None:
        super().__init__(message, errno=errno, op=op)
        self.log = log
        self.truncated = truncated

    def tail(self, lines: int | None = None) -> str:
        """The last ``lines`` non-empty lines of the verifier log."""
        n = self.TAIL_LINES if lines is None else lines
        rows = [row for row in self.log.splitlines() if row.strip()]
        return "\n".join(rows[-n:])

    def __str__(self) -> str:
        text = BPFError.__str__(self)
        if self.log:
            rows = [row for row in self.log.splitlines() if row.strip()]
            shown = self.tail()
            more = len(rows) - min(len(rows), self.TAIL_LINES)
            head = f"\nverifier log ({more} earlier lines omitted):\n" if more else "\nverifier log:\n"
            text += head + shown
            if self.truncated:
                text += "\n(log truncated)"
        return text


class BTFError(BPFError):
    """Malformed or unsupported BTF, or a type that cannot be used as asked."""


class ELFError(BPFError):
    """Malformed or unsupported ELF object file."""


class ObjectError(BPFError):
    """An object file that parses but cannot be loaded as written (unknown section, bad map)."""


class CORERelocationError(BPFError):
    """A CO-RE relocation that cannot be applied (bad spec or no usable candidate)."""


class AttachError(BPFError):
    """A program could not be attached (missing target, unsupported kind)."""


# errno -> the most specific subclass. Anything absent maps to BPFError itself.
_ERRNO_CLASSES: dict[int, type[BPFError]] = {
    _errno.EOPNOTSUPP: NotSupportedError,
    ENOTSUPP: NotSupportedError,
    _errno.ENOSYS: NotSupportedError,
    _errno.EPERM: PermissionDeniedError,
    _errno.EACCES: PermissionDeniedError,
    _errno.ENOENT: NotFoundError,
    _errno.ESRCH: NotFoundError,
    _errno.EEXIST: ExistsError,
    _errno.EBUSY: BusyError,
    _errno.EINVAL: InvalidArgumentError,
    _errno.E2BIG: NoSpaceError,
    _errno.ENOSPC: NoSpaceError,
    _errno.ENOMEM: NoSpaceError,
    _errno.EBADF: BadFileError,
}


def error_from_errno(
    err: int, message: str, *, op: str | None = None, cls: type[BPFError] | None = None
) -> BPFError:
    """Build the :class:`BPFError` subclass that fits ``err``.

    ``cls`` overrides the table when the caller knows better (for example a map lookup
    turning ENOENT into :class:`KeyNotFoundError`).
    """
    klass = cls or _ERRNO_CLASSES.get(err, BPFError)
    return klass(message, errno=err, op=op)
