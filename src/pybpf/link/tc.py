"""tc programs: tcx links (Linux 6.6+) and legacy clsact + cls_bpf filters.

* :func:`attach_tcx`: libbpf's ``bpf_program__attach_tcx()``: ``BPF_LINK_CREATE`` with
  ``BPF_TCX_INGRESS``/``BPF_TCX_EGRESS`` on the device's ifindex, ordered relative to another
  program or link (``before=``/``after=``: a :class:`pybpf.Program`, a :class:`~pybpf.link.Link`
  or a program id), optionally checked against the hook's ``expected_revision``.
* :func:`attach_tc`: the pre-tcx way, ``tc qdisc add dev DEV clsact`` + ``tc filter add dev
  DEV ingress bpf da fd FD``, done through pyroute2 (install pybpf's ``net`` extra). Detaching
  deletes the filter (and the clsact qdisc, if this link created it and nothing else uses it).
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError, NotSupportedError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.link.xdp import resolve_ifindex
from pybpf.sys import consts, netlink, uapi
from pybpf.sys.commands import link_create

__all__ = ["attach_tcx", "attach_tc", "tcx_attach_type", "relative_spec"]

_DIRECTIONS = {"ingress": uapi.BPF_TCX_INGRESS, "egress": uapi.BPF_TCX_EGRESS}
ETH_P_ALL = 0x0003


def tcx_attach_type(program: Any, direction: str | None) -> int:
    """``BPF_TCX_INGRESS``/``EGRESS`` from ``direction`` or the program's expected attach type."""
    if direction is not None:
        try:
            return int(_DIRECTIONS[direction])
        except KeyError:
            raise InvalidArgumentError(f"tc direction must be 'ingress' or 'egress', not {direction!r}") from None
    atype = int(getattr(program, "expected_attach_type", 0) or 0)
    if atype in (int(uapi.BPF_TCX_INGRESS), int(uapi.BPF_TCX_EGRESS)):
        return atype
    raise InvalidArgumentError("tcx attach: give direction='ingress' or 'egress' (the program was not "
                               "loaded for tcx/ingress or tcx/egress)")


def relative_spec(before: Any, after: Any) -> tuple[int, int, int]:
    """``(flags, relative_fd, relative_id)`` for mprog ordering (``BPF_F_BEFORE``/``AFTER``,
    ``BPF_F_LINK`` for a link anchor, ``BPF_F_ID`` for an id)."""
    if before is not None and after is not None:
        raise InvalidArgumentError("give before= or after=, not both")
    anchor = before if before is not None else after
    if anchor is None:
        return 0, 0, 0
    flags = consts.BPF_F_BEFORE if before is not None else consts.BPF_F_AFTER
    if isinstance(anchor, bool):
        raise InvalidArgumentError(f"bad relative anchor {anchor!r}")
    if isinstance(anchor, int):
        return flags | consts.BPF_F_ID, 0, anchor
    if isinstance(anchor, Link):
        return flags | BPF_F_LINK_FLAG, anchor.fileno(), 0
    return flags, fd_of(anchor, "relative program"), 0


#: ``BPF_F_LINK`` as an mprog attach flag (same bit as the map flag, 1 << 13).
BPF_F_LINK_FLAG = 1 << 13


def attach_tcx(program: Any, device: int | str, direction: str | None = None, *, before: Any = None,
               after: Any = None, expected_revision: int = 0) -> Link:
    """Attach a tcx program to ``device``'s ingress or egress hook (Linux 6.6+)."""
    ifindex = resolve_ifindex(device)
    atype = tcx_attach_type(program, direction)
    flags, rel_fd, rel_id = relative_spec(before, after)
    prog_fd = fd_of(program, "tcx attach: program")

    def fill(attr: Any) -> None:
        attr.tcx.relative_fd = rel_fd or rel_id
        attr.tcx.expected_revision = expected_revision

    side = "ingress" if atype == int(uapi.BPF_TCX_INGRESS) else "egress"
    fd = link_create(prog_fd, ifindex, atype, flags, fill=fill, target_is_ifindex=True,
                     what=f"attaching tcx program to ifindex {ifindex} {side}")
    return Link("tcx", fd=fd, program=program, target=f"ifindex {ifindex} {side}")


def _iproute() -> Any:
    try:
        from pyroute2 import IPRoute  # type: ignore[import-untyped]
    except ImportError:
        raise NotSupportedError("legacy tc attach needs pyroute2: pip install 'pybpf[net]' "
                                "(or use attach_tcx on Linux 6.6+)") from None
    return IPRoute()


def attach_tc(program: Any, device: int | str, direction: str = "ingress", *, priority: int = 1,
              handle: int = 1, direct_action: bool = True, name: str | None = None,
              replace: bool = False) -> Link:
    """Attach a ``SEC("tc")`` program as a cls_bpf filter on ``device``'s clsact ``direction``
    hook (creating the clsact qdisc if needed). Needs pyroute2."""
    if direction not in _DIRECTIONS:
        raise InvalidArgumentError(f"tc direction must be 'ingress' or 'egress', not {direction!r}")
    ifindex = resolve_ifindex(device)
    parent = netlink.TC_H_INGRESS_CLSACT if direction == "ingress" else netlink.TC_H_EGRESS_CLSACT
    prog_fd = fd_of(program, "tc attach: program")
    fname = name or f"{getattr(program, 'name', '') or 'bpf'}"
    where = f"ifindex {ifindex} {direction} handle {handle} prio {priority}"
    ipr = _iproute()
    try:
        created_qdisc = False
        try:
            ipr.tc("add", "clsact", ifindex)
            created_qdisc = True
        except Exception as exc:  # noqa: BLE001 - pyroute2 raises NetlinkError
            if getattr(exc, "code", None) != 17:  # EEXIST: already there
                raise _nl_error(exc, f"adding clsact qdisc to ifindex {ifindex}") from None
        try:
            ipr.tc("replace-filter" if replace else "add-filter", "bpf", ifindex, handle, fd=prog_fd,
                   name=fname, parent=parent, prio=priority, protocol=ETH_P_ALL,
                   direct_action=direct_action)
        except Exception as exc:  # noqa: BLE001
            if created_qdisc:
                _quiet(lambda: ipr.tc("del", "clsact", ifindex))
            raise _nl_error(exc, f"adding tc filter {where}") from None
    finally:
        ipr.close()

    def detach() -> None:
        ipr2 = _iproute()
        try:
            try:
                ipr2.tc("del-filter", "bpf", ifindex, handle, parent=parent, prio=priority,
                        protocol=ETH_P_ALL)
            except Exception as exc:  # noqa: BLE001
                if getattr(exc, "code", None) not in (2, 19, 22):
                    raise _nl_error(exc, f"deleting tc filter {where}") from None
            if created_qdisc and not (netlink.tc_filters(ifindex, netlink.TC_H_INGRESS_CLSACT)
                                      or netlink.tc_filters(ifindex, netlink.TC_H_EGRESS_CLSACT)):
                _quiet(lambda: ipr2.tc("del", "clsact", ifindex))
        finally:
            ipr2.close()

    return Link("tc", program=program, target=where, on_detach=detach, legacy=True)


def _quiet(fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001
        pass


def _nl_error(exc: Exception, what: str) -> BPFError:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return error_from_errno(code, what, op="netlink")
    return BPFError(f"{what}: {exc}", op="netlink")
