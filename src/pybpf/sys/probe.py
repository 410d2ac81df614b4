"""Can this process use ``bpf()`` at all? (Used by the test suite and ``feature probe``.)"""

from __future__ import annotations

import os

from pybpf.errors import BPFError

__all__ = ["probe_bpf_syscall"]


def probe_bpf_syscall() -> str | None:
    """None when ``bpf()`` works here (a small array map can be created), else the reason."""
    from pybpf.sys import uapi
    from pybpf.sys.fd import FD
    from pybpf.sys.syscall import bpf

    attr = uapi.bpf_attr_map_create()
    attr.map_type = uapi.BPF_MAP_TYPE_ARRAY
    attr.key_size = 4
    attr.value_size = 4
    attr.max_entries = 1
    try:
        fd = bpf(uapi.BPF_MAP_CREATE, attr, 20, what="probing the bpf() system call")
    except BPFError as exc:
        hint = " (not root?)" if os.geteuid() != 0 else ""
        return f"bpf() does not work here{hint}: {exc}"
    FD(fd, "probe map").close()
    return None
