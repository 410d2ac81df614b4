"""Netfilter programs (``SEC("netfilter")``): ``BPF_LINK_CREATE`` with ``BPF_NETFILTER`` and a
protocol family, hook and priority, as libbpf's ``bpf_program__attach_netfilter()``.
Linux 6.4+ (``CONFIG_NETFILTER_BPF_LINK``); ``defrag`` (IPv4/IPv6 defragmentation before the
program) 6.6+.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import InvalidArgumentError
from pybpf.link.base import Link, fd_of
from pybpf.sys import consts, uapi
from pybpf.sys.commands import link_create

__all__ = ["attach_netfilter", "NF_FAMILIES", "NF_HOOKS"]

#: protocol family names -> NFPROTO_*
NF_FAMILIES = {"ipv4": 2, "inet": 1, "ipv6": 10}
#: hook names -> NF_INET_*
NF_HOOKS = {"prerouting": 0, "input": 1, "local_in": 1, "forward": 2, "output": 3, "local_out": 3,
            "postrouting": 4}


def _lookup(table: dict[str, int], value: int | str, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return table[str(value).lower()]
    except KeyError:
        raise InvalidArgumentError(f"unknown netfilter {what} {value!r} (known: {', '.join(table)})") from None


def attach_netfilter(program: Any, family: int | str = "ipv4", hook: int | str = "input", *,
                     priority: int = 0, defrag: bool = False) -> Link:
    """Attach a netfilter program at ``family``/``hook`` with ``priority`` (not 0 is wise:
    the kernel refuses INT_MIN/INT_MAX and duplicates at the same priority with
    ``BPF_F_NETFILTER_IP_DEFRAG`` constraints)."""
    pf = _lookup(NF_FAMILIES, family, "family")
    hooknum = _lookup(NF_HOOKS, hook, "hook")
    flags = consts.BPF_F_NETFILTER_IP_DEFRAG if defrag else 0

    def fill(attr: Any) -> None:
        attr.netfilter.pf = pf
        attr.netfilter.hooknum = hooknum
        attr.netfilter.priority = priority
        attr.netfilter.flags = flags

    prog_fd = fd_of(program, "netfilter attach: program")
    where = f"pf {pf} hook {hooknum} prio {priority}"
    fd = link_create(prog_fd, 0, uapi.BPF_NETFILTER, fill=fill, what=f"attaching netfilter program ({where})")
    return Link("netfilter", fd=fd, program=program, target=where)
