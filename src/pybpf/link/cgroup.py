"""cgroup programs (cgroup_skb, cgroup/sock*, cgroup/connect*, sockops, cgroup/dev, sysctl,
sockopt...).

:func:`attach_cgroup` is libbpf's ``bpf_program__attach_cgroup()``: a cgroup bpf_link
(``BPF_LINK_CREATE`` on the cgroup's descriptor, Linux 5.7+) with the program's expected attach
type. :func:`attach_cgroup` with ``use_link=False`` (or a kernel without cgroup links) uses the
older ``BPF_PROG_ATTACH`` with ``BPF_F_ALLOW_MULTI`` (default) or ``BPF_F_ALLOW_OVERRIDE``
semantics; detaching then runs ``BPF_PROG_DETACH`` for exactly this program.
``cgroup`` is a path in the cgroup v2 hierarchy or an open descriptor.
"""

from __future__ import annotations

import os
from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys import consts
from pybpf.sys.commands import link_create, prog_attach, prog_detach
from pybpf.sys.fd import FD
from pybpf.sys.names import attach_type_name, parse_attach_type

__all__ = ["attach_cgroup", "open_cgroup", "CGROUP_ATTACH_FLAGS"]

#: names accepted by ``attach_flags=`` of the PROG_ATTACH path
CGROUP_ATTACH_FLAGS = {"multi": consts.BPF_F_ALLOW_MULTI, "override": consts.BPF_F_ALLOW_OVERRIDE,
                       "exclusive": 0}
_EINVAL = 22


def open_cgroup(cgroup: Any) -> FD:
    """A descriptor for ``cgroup`` (a path, or a descriptor that is duplicated)."""
    if isinstance(cgroup, (str, bytes, os.PathLike)):
        path = os.fsdecode(cgroup)
        try:
            return FD(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), f"cgroup {path}")
        except OSError as exc:
            raise error_from_errno(exc.errno or 2, f"opening cgroup {path}", op="open") from None
    return FD(os.dup(fd_of(cgroup, "cgroup")), "cgroup")


def _atype(program: Any, attach_type: int | str | None) -> int:
    if attach_type is not None:
        return parse_attach_type(attach_type)
    value = int(getattr(program, "expected_attach_type", 0) or 0)
    if not value and not _is_zero_ok(program):
        raise InvalidArgumentError("cgroup attach: give attach_type= (the program has no expected attach type)")
    return value


def _is_zero_ok(program: Any) -> bool:
    # BPF_CGROUP_INET_INGRESS is 0: a cgroup_skb program loaded without expected type
    from pybpf.sys import uapi

    return int(getattr(program, "type", -1)) == int(uapi.BPF_PROG_TYPE_CGROUP_SKB)


def attach_cgroup(program: Any, cgroup: Any, attach_type: int | str | None = None, *,
                  use_link: bool | None = None, attach_flags: str | int = "multi",
                  replace: Any = None) -> Link:
    """Attach a cgroup program to ``cgroup`` (path or descriptor).

    ``use_link``: True bpf_link only, False ``BPF_PROG_ATTACH`` only, None link with fallback.
    ``attach_flags`` (PROG_ATTACH only): ``"multi"``, ``"override"``, ``"exclusive"`` or raw
    ``BPF_F_*`` bits; ``replace`` (with multi): the program to replace atomically.
    """
    atype = _atype(program, attach_type)
    prog_fd = fd_of(program, "cgroup attach: program")
    cg = open_cgroup(cgroup)
    where = f"{os.fsdecode(cgroup) if isinstance(cgroup, (str, bytes, os.PathLike)) else 'cgroup'} " \
            f"({attach_type_name(atype)})"
    try:
        if use_link is not False and replace is None:
            try:
                fd = link_create(prog_fd, cg.fileno(), atype, what=f"attaching cgroup program to {where}")
                cg.close()
                return Link("cgroup", fd=fd, program=program, target=where)
            except BPFError as exc:
                if use_link or exc.errno != _EINVAL:
                    raise
        flags = CGROUP_ATTACH_FLAGS.get(attach_flags, None) if isinstance(attach_flags, str) else attach_flags
        if flags is None:
            raise InvalidArgumentError(f"unknown cgroup attach flags {attach_flags!r}")
        replace_fd = 0
        if replace is not None:
            flags |= consts.BPF_F_REPLACE
            replace_fd = fd_of(replace, "cgroup attach: program to replace")
        prog_attach(prog_fd, cg.fileno(), atype, flags, replace_fd)
    except BaseException:
        cg.close()
        raise
    owned_prog = FD(os.dup(prog_fd), "program")

    def detach() -> None:
        prog_detach(cg.fileno(), atype, owned_prog.fileno())

    return Link("cgroup", program=program, target=where, on_detach=detach, owned=(owned_prog, cg),
                legacy=True)
