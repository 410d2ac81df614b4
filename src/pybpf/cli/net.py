"""``pybpf net``: bpftool's ``net show|list [dev DEV]`` (XDP, tc and flow dissector programs of
the current network namespace) and ``net attach|detach ATTACH_TYPE PROG dev DEV [overwrite]``.

``ATTACH_TYPE := { xdp | xdpgeneric | xdpdrv | xdpoffload | tcx_ingress | tcx_egress }``.
XDP attachments are made through netlink (as bpftool does), so they stay after the command
exits; tcx ones through ``BPF_PROG_ATTACH``.
"""

from __future__ import annotations

import os
from typing import Any

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.errors import BPFError
from pybpf.sys import netlink, uapi
from pybpf.sys.commands import prog_attach, prog_detach, prog_query

__all__ = ["run", "net_entries"]

USAGE = """Usage: pybpf net { show | list } [dev <devname>]
       pybpf net attach ATTACH_TYPE PROG dev <devname> [ overwrite ]
       pybpf net detach ATTACH_TYPE dev <devname>
       pybpf net help

       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
       ATTACH_TYPE := { xdp | xdpgeneric | xdpdrv | xdpoffload | tcx_ingress | tcx_egress }
"""

_XDP_MODES = {1: "driver", 2: "generic", 3: "offload"}
#: ATTACH_TYPE keyword -> XDP mode flags (None: tcx)
ATTACH_TYPES: dict[str, int | None] = {
    "xdp": 0, "xdpgeneric": netlink.XDP_FLAGS_SKB_MODE, "xdpdrv": netlink.XDP_FLAGS_DRV_MODE,
    "xdpoffload": netlink.XDP_FLAGS_HW_MODE, "tcx_ingress": None, "tcx_egress": None,
}


def _xdp_entries(link: netlink.LinkXDP) -> list[dict[str, Any]]:
    base = {"devname": link.name, "ifindex": link.ifindex}
    if link.attached == 4:  # XDP_ATTACHED_MULTI
        out = []
        for mode, pid in (("generic", link.skb_prog_id), ("driver", link.drv_prog_id),
                          ("offload", link.hw_prog_id)):
            if pid:
                out.append({**base, "mode": mode, "id": pid})
        return out
    if link.attached in _XDP_MODES:
        return [{**base, "mode": _XDP_MODES[link.attached], "id": link.prog_id}]
    return []


def _tcx_entries(ifindex: int, name: str) -> list[dict[str, Any]]:
    from pybpf.programs.info import query_prog_info
    from pybpf.sys.commands import get_fd_by_id

    out = []
    for kind, atype in (("tcx/ingress", uapi.BPF_TCX_INGRESS), ("tcx/egress", uapi.BPF_TCX_EGRESS)):
        try:
            _flags, ids = prog_query(ifindex, atype)
        except BPFError:
            continue
        for pid in ids:
            pname = ""
            try:
                with get_fd_by_id("prog", pid) as fd:
                    pname = query_prog_info(fd.fileno(), "program", arrays=False).name
            except BPFError:
                pass
            out.append({"devname": name, "ifindex": ifindex, "kind": kind, "name": pname, "prog_id": pid})
    return out


def net_entries(dev: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"xdp": [...], "tc": [...], "flow_dissector": [...]}`` as bpftool's JSON."""
    links = netlink.list_links()
    if dev is not None:
        links = [lk for lk in links if lk.name == dev]
        if not links:
            raise CLIError(f"invalid devname {dev}")
    xdp: list[dict[str, Any]] = []
    tc: list[dict[str, Any]] = []
    for lk in links:
        xdp += _xdp_entries(lk)
    for lk in links:
        tc += _tcx_entries(lk.ifindex, lk.name)
        for parent, kind in ((netlink.TC_H_INGRESS_CLSACT, "clsact/ingress"),
                             (netlink.TC_H_EGRESS_CLSACT, "clsact/egress")):
            for f in netlink.tc_filters(lk.ifindex, parent):
                if f.kind != "bpf" or not f.prog_id:
                    continue
                entry: dict[str, Any] = {"devname": lk.name, "ifindex": lk.ifindex, "kind": kind}
                if f.name:
                    entry["name"] = f.name
                entry["id"] = f.prog_id
                tc.append(entry)
    flow: list[dict[str, Any]] = []
    if dev is None:
        try:
            fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _flags, ids = prog_query(fd, uapi.BPF_FLOW_DISSECTOR)
            finally:
                os.close(fd)
            flow = [{"id": i} for i in ids]
        except (BPFError, OSError):
            flow = []
    return {"xdp": xdp, "tc": tc, "flow_dissector": flow}


def do_show(ctx: Context, args: list[str]) -> int:
    dev = None
    if args:
        if len(args) != 2 or not is_prefix(args[0], "dev"):
            raise CLIError(f"invalid argument: {' '.join(args)}")
        dev = args[1]
    entries = net_entries(dev)
    if ctx.json:
        ctx.emit_json([entries])
        return 0
    out = ["xdp:\n"]
    for e in entries["xdp"]:
        out.append(f"{e['devname']}({e['ifindex']}) {e['mode']} id {e['id']}\n")
    out.append("\ntc:\n")
    for e in entries["tc"]:
        line = f"{e['devname']}({e['ifindex']}) {e['kind']}"
        if e.get("name"):
            line += f" {e['name']}"
        line += f" prog_id {e['prog_id']}" if "prog_id" in e else f" id {e['id']}"
        out.append(line + "\n")
    out.append("\nflow_dissector:\n")
    for e in entries["flow_dissector"]:
        out.append(f"id {e['id']}\n")
    ctx.out.write("".join(out) + "\n")
    return 0


def _parse_attach(args: list[str], with_prog: bool) -> tuple[str, Any, str, list[str]]:
    if not args:
        raise CLIError("expected ATTACH_TYPE")
    atype = args[0]
    if atype not in ATTACH_TYPES:
        raise CLIError(f"invalid net attach/detach type: {atype}")
    rest = args[1:]
    prog = None
    if with_prog:
        from pybpf.cli.prog import parse_prog_handle

        prog, rest = parse_prog_handle(rest)
    if len(rest) < 2 or not is_prefix(rest[0], "dev"):
        raise CLIError("expected 'dev DEV'")
    return atype, prog, rest[1], rest[2:]


def do_attach(ctx: Context, args: list[str]) -> int:
    from pybpf.cli.prog import open_one_prog

    atype, handle, dev, rest = _parse_attach(args, True)
    overwrite = bool(rest) and is_prefix(rest[0], "overwrite")
    if rest and not overwrite:
        raise CLIError(f"invalid argument: {' '.join(rest)}")
    ifindex = netlink.ifindex_of(dev)
    fd, _info = open_one_prog(handle)
    with fd:
        mode = ATTACH_TYPES[atype]
        if mode is None:
            kind = uapi.BPF_TCX_INGRESS if atype == "tcx_ingress" else uapi.BPF_TCX_EGRESS
            prog_attach(fd.fileno(), ifindex, kind)
        else:
            flags = mode | (0 if overwrite else netlink.XDP_FLAGS_UPDATE_IF_NOEXIST)
            netlink.xdp_set(ifindex, fd.fileno(), flags)
    if ctx.json:
        ctx.emit_json(None)
    return 0


def do_detach(ctx: Context, args: list[str]) -> int:
    atype, _none, dev, rest = _parse_attach(args, False)
    if rest:
        raise CLIError(f"invalid argument: {' '.join(rest)}")
    ifindex = netlink.ifindex_of(dev)
    mode = ATTACH_TYPES[atype]
    if mode is None:
        kind = uapi.BPF_TCX_INGRESS if atype == "tcx_ingress" else uapi.BPF_TCX_EGRESS
        prog_detach(ifindex, kind)
    else:
        netlink.xdp_set(ifindex, -1, mode)
    if ctx.json:
        ctx.emit_json(None)
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    if ctx.json:
        ctx.emit_json(None)
    else:
        ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {"show": do_show, "list": do_show, "attach": do_attach,
                                "detach": do_detach, "help": do_help}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf net ...``."""
    if not args:
        args = ["show"]
    return dispatch(ctx, args, COMMANDS, "net")
