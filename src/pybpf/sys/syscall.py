"""The raw system calls: ``bpf(2)`` and ``perf_event_open(2)`` through ctypes.

System call numbers differ per architecture; :data:`SYSCALL_NUMBERS` holds them. On a machine
that is not in the table every call raises :class:`~pybpf.errors.NotSupportedError` naming the
machine, instead of issuing a wrong system call.

:func:`bpf` is the one place where pybpf enters the kernel for BPF: every other layer builds a
``union bpf_attr`` (see :mod:`pybpf.sys.uapi`) and calls it. Failures become the
:mod:`pybpf.errors` subclass that fits the errno, carrying the command's name and what was
being done.
"""

from __future__ import annotations

import ctypes
import os

from pybpf.errors import BPFError, NotSupportedError, error_from_errno

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "SYSCALL_NUMBERS",
    "syscall_numbers",
    "bpf",
    "bpf_raw",
    "perf_event_open_raw",
    "command_name",
    "NR_BPF",
    "bpf_syscall",
]

#: ``platform.machine()`` -> (``__NR_bpf``, ``__NR_perf_event_open``). The 64-bit "generic"
#: syscall table (arm64, riscv64, loongarch64) shares its numbers.
SYSCALL_NUMBERS: dict[str, tuple[int, int]] = {
    "x86_64": (321, 298),
    "amd64": (321, 298),
    "aarch64": (280, 241),
    "arm64": (280, 241),
    "riscv64": (280, 241),
    "loongarch64": (280, 241),
    "s390x": (351, 331),
    "ppc64le": (361, 319),
    "ppc64": (361, 319),
}


def syscall_numbers(machine: str | None = None) -> tuple[int, int]:
    """``(bpf, perf_event_open)`` syscall numbers for ``machine`` (default: this one)."""
    m = machine if machine is not None else os.uname().machine
    try:
        return SYSCALL_NUMBERS[m]
    except KeyError:
        known = ", ".join(sorted(SYSCALL_NUMBERS))
        raise NotSupportedError(
            f"pybpf does not know the bpf() system call number on architecture '{m}' "
            f"(known: {known})") from None


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

try:
    _NR_BPF, _NR_PERF_EVENT_OPEN = syscall_numbers()
    _ARCH_ERROR: NotSupportedError | None = None
except NotSupportedError as exc:  # pragma: no cover - only on unknown machines
    _NR_BPF = _NR_PERF_EVENT_OPEN = -1
    _ARCH_ERROR = exc

#: ``__NR_bpf`` of this machine (-1 where unknown: the call then fails with ENOSYS).
NR_BPF: int = _NR_BPF

#: ``syscall(2)`` itself, for the hot paths of the map and program layers:
#: ``bpf_syscall(NR_BPF, cmd, pointer, size)`` returns the kernel's result or -1 with the
#: error in ``ctypes.get_errno()``. ``pointer`` must be a ctypes pointer object
#: (``ctypes.c_void_p(address)`` or ``ctypes.byref(attr)``): without argtypes, plain ints
#: travel as C ``int`` (fine for the number, command and size, never for an address).
#: Leaving argtypes unset is deliberate: converting arguments through argtypes costs more
#: than the system call of a small map lookup.
bpf_syscall = _libc["syscall"]  # its own function object: restype set here only
bpf_syscall.restype = ctypes.c_long

_c_long = ctypes.c_long
_c_int = ctypes.c_int
_c_ulong = ctypes.c_ulong
_byref = ctypes.byref
_sizeof = ctypes.sizeof
_get_errno = ctypes.get_errno

# Filled lazily from the generated enum so that importing this module stays cheap.
_CMD_NAMES: dict[int, str] = {}


def command_name(cmd: int) -> str:
    """``BPF_MAP_CREATE`` for 0 and so on (``BPF_CMD_<n>`` for numbers this kernel lacks)."""
    if not _CMD_NAMES:
        from pybpf.sys.uapi import enum_members

        for name, value in enum_members("bpf_cmd"):  # the first name of a value wins
            _CMD_NAMES.setdefault(value, name)
    return _CMD_NAMES.get(cmd, f"BPF_CMD_{cmd}")


def bpf_raw(cmd: int, attr: Any, size: int | None = None) -> tuple[int, int]:
    """Issue ``bpf(cmd, &attr, size)`` and return ``(result, errno)`` without raising.

    ``errno`` is 0 on success. ``attr`` is any ctypes object (usually ``bpf_attr``) or a
    writable buffer; ``size`` defaults to its whole size.
    """
    if _ARCH_ERROR is not None:
        raise _ARCH_ERROR
    if size is None:
        size = _sizeof(attr)
    ret = bpf_syscall(_NR_BPF, cmd, _byref(attr), size)
    if ret < 0:
        return ret, _get_errno()
    return ret, 0


def bpf(cmd: int, attr: Any, size: int | None = None, *, what: str = "",
        errors: dict[int, type[BPFError]] | None = None) -> int:
    """``bpf(2)``: run command ``cmd`` on ``attr``; returns the kernel's non-negative result.

    On failure raises the :mod:`pybpf.errors` class for the errno (``errors`` can override
    the class for particular errnos, for example ENOENT -> KeyNotFoundError), with the
    command's name as ``op`` and ``what`` (for example ``"map 'counts' (id 7): lookup"``) as
    the message.
    """
    if _ARCH_ERROR is not None:
        raise _ARCH_ERROR
    if size is None:
        size = _sizeof(attr)
    ret = bpf_syscall(_NR_BPF, cmd, _byref(attr), size)
    if ret < 0:
        err = _get_errno()
        cls = errors.get(err) if errors else None
        raise error_from_errno(err, what or "bpf() failed", op=command_name(cmd), cls=cls)
    return ret


def perf_event_open_raw(attr: Any, pid: int, cpu: int, group_fd: int, flags: int) -> tuple[int, int]:
    """``perf_event_open(2)`` returning ``(fd, errno)`` without raising (errno 0 on success)."""
    if _ARCH_ERROR is not None:
        raise _ARCH_ERROR
    ret = _syscall(_c_long(_NR_PERF_EVENT_OPEN), _byref(attr), _c_int(pid), _c_int(cpu),
                   _c_int(group_fd), _c_ulong(flags))
    if ret < 0:
        return ret, _get_errno()
    return ret, 0
