"""``/proc/self/fdinfo/N``: what the kernel reports about a BPF descriptor beyond
``BPF_OBJ_GET_INFO_BY_FD`` (memlock, frozen, owner program type of program arrays)."""

from __future__ import annotations

__all__ = ["read_fdinfo"]


def read_fdinfo(fd: int) -> dict[str, str]:
    """The ``key:\\tvalue`` lines of ``/proc/self/fdinfo/<fd>`` as a dict (empty if unreadable)."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            text = f.read()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out
