"""Mounted pseudo file systems: which one a path is (``statfs``), where one is mounted
(``/proc/self/mounts``), and mounting one the way bpftool does.

Used to find (and, when missing, mount) tracefs for ``pybpf prog tracelog``; the same calls
serve bpffs.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import platform

from pybpf.errors import error_from_errno

__all__ = ["TRACEFS_MAGIC", "DEBUGFS_MAGIC", "BPF_FS_MAGIC", "statfs_type", "mounts_of_type",
           "mount_fs"]

TRACEFS_MAGIC = 0x74726163
DEBUGFS_MAGIC = 0x64626720
BPF_FS_MAGIC = 0xCAFE4A11

MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)
_libc.statfs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_libc.statfs.restype = ctypes.c_int
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.mount.restype = ctypes.c_int

# struct statfs starts with f_type: a long, except on s390x where it is an unsigned int.
_FTYPE = ctypes.c_uint32 if platform.machine() == "s390x" else ctypes.c_ulong


def statfs_type(path: str) -> int | None:
    """The file system magic of ``path`` (``f_type`` of ``statfs(2)``), None if it fails."""
    buf = ctypes.create_string_buffer(256)     # larger than any struct statfs
    if _libc.statfs(os.fsencode(path), buf) != 0:
        return None
    return int(_FTYPE.from_buffer(buf).value)


def _unescape(field: str) -> str:
    # /proc/mounts escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(field):
        octal = field[i + 1:i + 4]
        if field[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_of_type(fstype: str, table: str = "/proc/self/mounts") -> list[str]:
    """Mount points of file systems of type ``fstype``, in mount order."""
    try:
        with open(table) as f:
            text = f.read()
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == fstype:
            points.append(_unescape(parts[1]))
    return points


def mount_fs(target: str, fstype: str, data: str | None = "mode=0700") -> None:
    """Mount a ``fstype`` file system on ``target`` as bpftool does: make the mount point
    private (bind-mounting it onto itself first when it is not a mount point), then mount.

    Raises the :mod:`pybpf.errors` class of the failing ``mount(2)`` naming the step.
    """
    tgt = os.fsencode(target)
    bind_done = False
    while _libc.mount(b"", tgt, b"none", MS_PRIVATE | MS_REC, None) != 0:
        err = ctypes.get_errno()
        if err != _errno.EINVAL or bind_done:
            raise error_from_errno(err, f"mount --make-private {target}", op="mount")
        if _libc.mount(tgt, tgt, b"none", MS_BIND, None) != 0:
            raise error_from_errno(ctypes.get_errno(), f"mount --bind {target} {target}", op="mount")
        bind_done = True
    if _libc.mount(fstype.encode(), tgt, fstype.encode(), 0,
                   data.encode() if data is not None else None) != 0:
        raise error_from_errno(ctypes.get_errno(), f"mount -t {fstype} {fstype} {target}", op="mount")
