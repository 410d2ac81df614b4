"""``pybpf link``: bpftool's ``link show|list [LINK]``, ``link pin LINK FILE`` and
``link detach LINK``, with bpftool's text and JSON (the per-type fields of current bpftool).

``LINK := { id LINK_ID | pinned FILE }``.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Iterator

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.errors import BPFError, NotFoundError
from pybpf.link.info import LinkInfo, query_link_info
from pybpf.sys import uapi
from pybpf.sys.commands import get_fd_by_id, iter_ids, link_detach, obj_get, obj_pin
from pybpf.sys.fd import FD
from pybpf.sys.names import ATTACH_TYPE_NAMES, LINK_TYPE_NAMES, PROG_TYPE_NAMES

__all__ = ["run", "link_json", "link_text", "pinned_link_paths"]

USAGE = """Usage: pybpf link { show | list }   [LINK]
       pybpf link pin        LINK  FILE
       pybpf link detach     LINK
       pybpf link help

       LINK := { id LINK_ID | pinned FILE }
       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-f|--bpffs} }
"""

_T = uapi.bpf_link_type
_PE = uapi.bpf_perf_event_type
_PERF_TYPES = {0: "hardware", 1: "software", 2: "tracepoint", 3: "hw-cache", 4: "raw", 5: "breakpoint"}
_SW_EVENTS = ["cpu-clock", "task-clock", "page-faults", "context-switches", "cpu-migrations",
              "minor-faults", "major-faults", "alignment-faults", "emulation-faults", "dummy",
              "bpf-output", "cgroup-switches"]
_HW_EVENTS = ["cpu-cycles", "instructions", "cache-references", "cache-misses", "branch-instructions",
              "branch-misses", "bus-cycles", "stalled-cycles-frontend", "stalled-cycles-backend",
              "ref-cycles"]
_NF_PF = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
_NF_INET_HOOKS = ["prerouting", "input", "forward", "output", "postrouting"]
_CG_ORDERS = ["order_unspec", "self_only", "descendants_pre", "descendants_post", "ancestors_up"]


def _kind(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def parse_link_handle(args: list[str]) -> tuple[FD, list[str]]:
    """Open ``LINK`` at the front of ``args``; returns the descriptor and the rest."""
    if len(args) < 2:
        raise CLIError("expected LINK: { id LINK_ID | pinned FILE }")
    word, value, rest = args[0], args[1], args[2:]
    if is_prefix(word, "id"):
        try:
            link_id = int(value, 0)
        except ValueError:
            raise CLIError(f"can't parse {value} as ID") from None
        return get_fd_by_id("link", link_id), rest
    if is_prefix(word, "pinned"):
        fd = obj_get(value, what="link")
        if "link" not in _kind(fd.fileno()):
            fd.close()
            raise CLIError(f"incorrect object type: {value} is not a pinned link")
        return fd, rest
    raise CLIError(f"expected 'id' or 'pinned', got: '{word}'?")


def pinned_link_paths() -> dict[int, list[str]]:
    """link id -> pinned paths in every mounted bpffs."""
    from pybpf.sys.fdinfo import read_fdinfo

    out: dict[int, list[str]] = {}
    try:
        mounts = [line.split()[1] for line in open("/proc/mounts") if line.split()[2:3] == ["bpf"]]
    except OSError:
        return out
    for mnt in mounts:
        for root, _dirs, files in os.walk(mnt):
            for name in files:
                path = os.path.join(root, name)
                try:
                    fd = obj_get(path)
                except BPFError:
                    continue
                with fd:
                    if "link" not in _kind(fd.fileno()):
                        continue
                    ident = read_fdinfo(fd.fileno()).get("link_id", "")
                if ident.isdigit():
                    out.setdefault(int(ident), []).append(path)
    return out


def _attach_type(value: int) -> Any:
    return ATTACH_TYPE_NAMES.get(int(value), int(value))


def _devname(ifindex: int) -> str:
    if not ifindex:
        return "(detached)"
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return "(unknown)"


def _prog_type_of(prog_id: int) -> Any:
    from pybpf.programs.info import query_prog_info

    try:
        with get_fd_by_id("prog", prog_id) as fd:
            t = query_prog_info(fd.fileno(), f"program id {prog_id}", arrays=False).type
    except BPFError:
        return None
    return PROG_TYPE_NAMES.get(int(t), int(t))


def _perf_config(etype: int, config: int) -> Any:
    table = _SW_EVENTS if etype == 1 else _HW_EVENTS if etype == 0 else None
    if table is not None and config < len(table):
        return table[config]
    return None


def link_json(info: LinkInfo, pins: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """bpftool's JSON object for one link."""
    d = info.details
    t = info.type
    obj: dict[str, Any] = {"id": info.id, "type": LINK_TYPE_NAMES.get(t, t), "prog_id": info.prog_id}
    if t == _T.BPF_LINK_TYPE_RAW_TRACEPOINT:
        obj["tp_name"] = d["tp_name"]
    elif t == _T.BPF_LINK_TYPE_TRACING:
        ptype = _prog_type_of(info.prog_id)
        if ptype is not None:
            obj["prog_type"] = ptype
        obj["attach_type"] = _attach_type(d["attach_type"])
        obj["target_obj_id"] = d["target_obj_id"]
        obj["target_btf_id"] = d["target_btf_id"]
    elif t == _T.BPF_LINK_TYPE_CGROUP:
        obj["cgroup_id"] = d["cgroup_id"]
        obj["attach_type"] = _attach_type(d["attach_type"])
    elif t == _T.BPF_LINK_TYPE_ITER:
        target = d["target_name"]
        obj["target_name"] = target
        if target in ("bpf_map_elem", "bpf_sk_storage_map"):
            obj["map_id"] = d.get("map_id", 0)
        elif target in ("task", "task_file", "task_vma"):
            if d.get("tid"):
                obj["tid"] = d["tid"]
            elif d.get("pid"):
                obj["pid"] = d["pid"]
        if target == "cgroup":
            obj["cgroup_id"] = d.get("cgroup_id", 0)
            obj["order"] = _CG_ORDERS[d.get("order", 0)] if d.get("order", 0) < 5 else "unknown"
    elif t == _T.BPF_LINK_TYPE_NETNS:
        obj["netns_ino"] = d["netns_ino"]
        obj["attach_type"] = _attach_type(d["attach_type"])
    elif t == _T.BPF_LINK_TYPE_NETFILTER:
        obj.update(pf=d["pf"], hook=d["hooknum"], prio=d["priority"], flags=d["flags"])
    elif t == _T.BPF_LINK_TYPE_TCX:
        obj.update(devname=_devname(d["ifindex"]), ifindex=d["ifindex"],
                   attach_type=_attach_type(d["attach_type"]))
    elif t == _T.BPF_LINK_TYPE_XDP:
        obj.update(devname=_devname(d["ifindex"]), ifindex=d["ifindex"])
    elif t == _T.BPF_LINK_TYPE_STRUCT_OPS:
        obj["map_id"] = d["map_id"]
    elif t == _T.BPF_LINK_TYPE_KPROBE_MULTI:
        obj["retprobe"] = bool(d["flags"] & 1)
        obj["func_cnt"] = d["count"]
        obj["funcs"] = [{"addr": a, "func": n, "module": m} for a, n, m in _ksyms_for(d["addrs"])]
    elif t == _T.BPF_LINK_TYPE_PERF_EVENT:
        et = d.get("event_type")
        if et in (_PE.BPF_PERF_EVENT_KPROBE, _PE.BPF_PERF_EVENT_KRETPROBE):
            obj.update(retprobe=et == _PE.BPF_PERF_EVENT_KRETPROBE, addr=d["addr"], func=d["func_name"],
                       offset=d["offset"])
        elif et in (_PE.BPF_PERF_EVENT_UPROBE, _PE.BPF_PERF_EVENT_URETPROBE):
            obj.update(retprobe=et == _PE.BPF_PERF_EVENT_URETPROBE, file=d["file_name"], offset=d["offset"])
        elif et == _PE.BPF_PERF_EVENT_TRACEPOINT:
            obj["tracepoint"] = d["tp_name"]
        elif et == _PE.BPF_PERF_EVENT_EVENT:
            obj["event_type"] = _PERF_TYPES.get(d["type"], d["type"])
            cfg = _perf_config(d["type"], d["config"])
            obj["event_config"] = cfg if cfg is not None else d["config"]
    if pins and pins.get(info.id):
        obj["pinned"] = pins[info.id]
    return obj


def _ksyms_for(addrs: list[int]) -> Iterator[tuple[int, str, str | None]]:
    if not addrs:
        return iter(())
    from pybpf.sys.tracefs import kallsyms

    wanted = set(addrs)
    found = {}
    try:
        for addr, _letter, name, mod in kallsyms():
            if addr in wanted and addr not in found:
                found[addr] = (name, mod or None)
    except BPFError:
        pass
    return iter([(a, *found[a]) for a in sorted(wanted) if a in found])


def link_text(info: LinkInfo, pins: dict[int, list[str]] | None = None) -> str:
    """bpftool's plain text for one link."""
    d = info.details
    t = info.type
    name = LINK_TYPE_NAMES.get(t)
    out = f"{info.id}: " + (f"{name}  " if name else f"type {t}  ")
    out += f"map {d['map_id']}  " if t == _T.BPF_LINK_TYPE_STRUCT_OPS else f"prog {info.prog_id}  "

    def atype(v: int) -> str:
        return f"attach_type {_attach_type(v)}  "

    if t == _T.BPF_LINK_TYPE_RAW_TRACEPOINT:
        out += f"\n\ttp '{d['tp_name']}'  "
    elif t == _T.BPF_LINK_TYPE_TRACING:
        ptype = _prog_type_of(info.prog_id)
        out += f"\n\tprog_type {ptype}  " + atype(d["attach_type"])
        if d["target_obj_id"] or d["target_btf_id"]:
            out += f"\n\ttarget_obj_id {d['target_obj_id']}  target_btf_id {d['target_btf_id']}  "
    elif t == _T.BPF_LINK_TYPE_CGROUP:
        out += f"\n\tcgroup_id {d['cgroup_id']}  " + atype(d["attach_type"])
    elif t == _T.BPF_LINK_TYPE_ITER:
        target = d["target_name"]
        out += f"target_name {target}  "
        if target in ("bpf_map_elem", "bpf_sk_storage_map"):
            out += f"map_id {d.get('map_id', 0)}  "
        elif target in ("task", "task_file", "task_vma"):
            if d.get("tid"):
                out += f"tid {d['tid']} "
            elif d.get("pid"):
                out += f"pid {d['pid']} "
        if target == "cgroup":
            out += f"cgroup_id {d.get('cgroup_id', 0)}  order {_CG_ORDERS[d.get('order', 0)]}  "
    elif t == _T.BPF_LINK_TYPE_NETNS:
        out += f"\n\tnetns_ino {d['netns_ino']}  " + atype(d["attach_type"])
    elif t == _T.BPF_LINK_TYPE_NETFILTER:
        pf, hook = d["pf"], d["hooknum"]
        pfname = _NF_PF.get(pf)
        out += f"\n\t{pfname}" if pfname else f"\n\tpf: {pf}"
        hookname = _NF_INET_HOOKS[hook] if pf in (1, 2, 7, 10) and hook < 5 else \
            (["input", "output"][hook] if pf == 3 and hook < 2 else None)
        out += f" {hookname}" if hookname else f", hook {hook},"
        out += f" prio {d['priority']}"
        if d["flags"]:
            out += f" flags 0x{d['flags']:x}"
    elif t in (_T.BPF_LINK_TYPE_TCX, _T.BPF_LINK_TYPE_XDP):
        ifindex = d["ifindex"]
        dev = _devname(ifindex)
        shown = f"{dev}({ifindex})" if ifindex and dev != "(unknown)" else dev
        out += f"\n\tifindex {shown}  "
        if t == _T.BPF_LINK_TYPE_TCX:
            out += atype(d["attach_type"])
    elif t == _T.BPF_LINK_TYPE_KPROBE_MULTI and d["count"]:
        out += "\n\tkretprobe.multi  " if d["flags"] & 1 else "\n\tkprobe.multi  "
        out += f"func_cnt {d['count']}  "
        syms = list(_ksyms_for(d["addrs"]))
        if syms:
            out += f"\n\t{'addr':<16} func [module]"
            for a, n, m in syms:
                out += f"\n\t{a:016x} {n}" + (f" [{m}]  " if m else "  ")
    elif t == _T.BPF_LINK_TYPE_PERF_EVENT:
        et = d.get("event_type")
        if et in (_PE.BPF_PERF_EVENT_KPROBE, _PE.BPF_PERF_EVENT_KRETPROBE):
            if d["func_name"] or d["addr"]:
                out += "\n\tkretprobe " if et == _PE.BPF_PERF_EVENT_KRETPROBE else "\n\tkprobe "
                if d["addr"]:
                    out += f"{d['addr']:x} "
                out += d["func_name"] + (f"+{d['offset']:#x}" if d["offset"] else "") + "  "
        elif et in (_PE.BPF_PERF_EVENT_UPROBE, _PE.BPF_PERF_EVENT_URETPROBE):
            if d["file_name"]:
                out += "\n\turetprobe " if et == _PE.BPF_PERF_EVENT_URETPROBE else "\n\tuprobe "
                out += f"{d['file_name']}+{d['offset']:#x}  "
        elif et == _PE.BPF_PERF_EVENT_TRACEPOINT:
            if d["tp_name"]:
                out += f"\n\ttracepoint {d['tp_name']}  "
        elif et == _PE.BPF_PERF_EVENT_EVENT:
            ptype = _PERF_TYPES.get(d["type"])
            out += "\n\tevent " + (f"{ptype}:" if ptype else f"{d['type']} :")
            cfg = _perf_config(d["type"], d["config"])
            out += f"{cfg}  " if cfg is not None else f"{d['config']}  "
    if pins:
        for path in pins.get(info.id, []):
            out += f"\n\tpinned {path}"
    return out + "\n"


def _infos(fds: list[FD]) -> Iterator[LinkInfo]:
    for fd in fds:
        with fd:
            try:
                yield query_link_info(fd.fileno(), "link")
            except BPFError:
                continue


def do_show(ctx: Context, args: list[str]) -> int:
    pins = pinned_link_paths() if ctx.bpffs else None
    if args:
        fd, rest = parse_link_handle(args)
        if rest:
            fd.close()
            raise CLIError(f"too many arguments: {' '.join(rest)}")
        with fd:
            info = query_link_info(fd.fileno(), "link")
        if ctx.json:
            ctx.emit_json(link_json(info, pins))
        else:
            ctx.out.write(link_text(info, pins))
        return 0
    listed = []
    for link_id in iter_ids("link"):
        try:
            fd = get_fd_by_id("link", link_id)
        except NotFoundError:
            continue
        for info in _infos([fd]):
            if ctx.json:
                listed.append(link_json(info, pins))
            else:
                ctx.out.write(link_text(info, pins))
    if ctx.json:
        ctx.emit_json(listed)
    return 0


def do_pin(ctx: Context, args: list[str]) -> int:
    fd, rest = parse_link_handle(args)
    with fd:
        if len(rest) != 1:
            raise CLIError("expected LINK and FILE")
        obj_pin(fd.fileno(), rest[0], what="link")
    if ctx.json:
        ctx.emit_json(None)
    return 0


def do_detach(ctx: Context, args: list[str]) -> int:
    if len(args) != 2:
        raise CLIError("link specifier is invalid or missing")
    fd, _ = parse_link_handle(args)
    with fd:
        link_detach(fd.fileno())
    if ctx.json:
        ctx.emit_json(None)
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    if ctx.json:
        ctx.emit_json(None)
    else:
        ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {"show": do_show, "list": do_show, "help": do_help, "pin": do_pin,
                                "detach": do_detach}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf link ...``."""
    if not args:
        args = ["show"]
    return dispatch(ctx, args, COMMANDS, "link")
