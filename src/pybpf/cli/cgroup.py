"""``pybpf cgroup``: bpftool's ``cgroup show|list CGROUP [effective]`` and ``cgroup tree
[CGROUP_ROOT] [effective]``: the programs attached to cgroups (``BPF_PROG_QUERY`` for every
cgroup attach type), with bpftool's columns and JSON.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Iterator

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.errors import BPFError, error_from_errno
from pybpf.sys import consts, uapi
from pybpf.sys.commands import attr_size, get_fd_by_id
from pybpf.sys.names import ATTACH_TYPE_NAMES
from pybpf.sys.syscall import bpf

__all__ = ["run", "cgroup_programs", "CGROUP_ATTACH_TYPES"]

USAGE = """Usage: pybpf cgroup { show | list } CGROUP [**effective**]
       pybpf cgroup tree [CGROUP_ROOT] [**effective**]
       pybpf cgroup help
"""

#: The attach types bpftool queries for a cgroup, in the kernel enum's order.
CGROUP_ATTACH_TYPES = [int(v) for v in uapi.bpf_attach_type
                       if v.name.startswith("BPF_CGROUP_") or v.name == "BPF_LSM_CGROUP"]

HEADER = f"{'ID':<8} {'AttachType':<15} {'AttachFlags':<15} {'Name':<15}\n"
HEADER_EFFECTIVE = f"{'ID':<8} {'AttachType':<15} {'Name':<15}\n"


def _query(cg_fd: int, atype: int, effective: bool) -> list[tuple[int, int]]:
    """``[(prog id, attach flags)]`` at ``atype`` of the cgroup."""
    n = 64
    while True:
        ids = (ctypes.c_uint32 * n)()
        flags = (ctypes.c_uint32 * n)()
        attr = uapi.bpf_attr_query()
        attr.target_fd = cg_fd
        attr.attach_type = atype
        attr.query_flags = consts.BPF_F_QUERY_EFFECTIVE if effective else 0
        attr.prog_ids = ctypes.addressof(ids)
        attr.prog_cnt = n
        if not effective:
            attr.prog_attach_flags = ctypes.addressof(flags)
        try:
            bpf(uapi.BPF_PROG_QUERY, attr, attr_size(uapi.bpf_attr_query, "prog_attach_flags"),
                what="querying cgroup programs")
        except BPFError as exc:
            if exc.errno == 28 and n < 1 << 16:  # ENOSPC
                n *= 4
                continue
            if exc.errno in (22, 95):
                return []
            raise
        count = int(attr.prog_cnt)
        whole = int(attr.attach_flags)
        return [(ids[i], (flags[i] or whole) if not effective else 0) for i in range(count)]


def _flags_text(flags: int) -> str:
    if flags == consts.BPF_F_ALLOW_MULTI:
        return "multi"
    if flags == consts.BPF_F_ALLOW_OVERRIDE:
        return "override"
    if flags == 0:
        return ""
    return f"unknown({flags:x})"


def _prog_entry(prog_id: int, atype: int, flags: int | None) -> dict[str, Any] | None:
    from pybpf.programs.info import query_prog_info

    try:
        with get_fd_by_id("prog", prog_id) as fd:
            info = query_prog_info(fd.fileno(), f"program id {prog_id}", arrays=False)
    except BPFError:
        return None
    btf_name = ""
    if atype == int(uapi.BPF_LSM_CGROUP) and info.attach_btf_id:
        btf_name = _btf_name(info.attach_btf_obj_id, info.attach_btf_id)
    entry: dict[str, Any] = {"id": prog_id, "attach_type": ATTACH_TYPE_NAMES.get(atype, atype)}
    if flags is not None:   # bpftool leaves the flags out of effective listings
        entry["attach_flags"] = _flags_text(flags)
    entry.update(name=info.name, attach_btf_name=btf_name, attach_btf_obj_id=info.attach_btf_obj_id,
                 attach_btf_id=info.attach_btf_id)
    return entry


def _btf_name(obj_id: int, type_id: int) -> str:
    try:
        from pybpf.link.btf_targets import vmlinux_btf

        return vmlinux_btf().name_of(type_id)
    except Exception:  # noqa: BLE001
        return ""


def cgroup_programs(path: str, effective: bool = False) -> list[dict[str, Any]]:
    """bpftool's JSON program entries for cgroup ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise error_from_errno(exc.errno or 2, f"can't open cgroup {path}", op="open") from None
    out = []
    try:
        for atype in CGROUP_ATTACH_TYPES:
            for prog_id, flags in _query(fd, atype, effective):
                entry = _prog_entry(prog_id, atype, None if effective else flags)
                if entry is not None:
                    out.append(entry)
    finally:
        os.close(fd)
    return out


def _row(e: dict[str, Any], indent: str = "") -> str:
    line = f"{indent}{e['id']:<8} {e['attach_type']:<15} "
    if "attach_flags" in e:
        line += f"{e['attach_flags']:<15} "
    line += f"{e['name']:<15}"
    return line + f" {e['attach_btf_name']:<15}\n"


def _parse_effective(args: list[str]) -> bool:
    if not args:
        return False
    if len(args) == 1 and is_prefix(args[0], "effective"):
        return True
    raise CLIError(f"invalid argument: {' '.join(args)}")


def do_show(ctx: Context, args: list[str]) -> int:
    if not args:
        raise CLIError("expected CGROUP")
    effective = _parse_effective(args[1:])
    progs = cgroup_programs(args[0], effective)
    if ctx.json:
        if progs:
            ctx.emit_json(progs)
        else:
            ctx.out.write("\n")   # bpftool prints an empty line, not [], for a cgroup without programs
        return 0
    if progs:
        ctx.out.write((HEADER_EFFECTIVE if effective else HEADER) + "".join(_row(e) for e in progs))
    return 0


def _cgroup2_root() -> str:
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return parts[1]
    raise CLIError("cgroup v2 isn't mounted")


def _walk(root: str) -> Iterator[str]:
    yield root
    for dirpath, dirnames, _files in os.walk(root):
        dirnames.sort()
        for d in dirnames:
            yield os.path.join(dirpath, d)


def do_tree(ctx: Context, args: list[str]) -> int:
    root = None
    if args and not is_prefix(args[0], "effective"):
        root, args = args[0], args[1:]
    effective = _parse_effective(args)
    root = root or _cgroup2_root()
    listed: list[dict[str, Any]] = []
    for path in _walk(root.rstrip("/") or "/"):
        try:
            progs = cgroup_programs(path, effective)
        except BPFError:
            continue
        if progs:
            listed.append({"cgroup": path, "programs": progs})
    if ctx.json:
        ctx.emit_json(listed)
        return 0
    out = ["CgroupPath\n", HEADER_EFFECTIVE if effective else HEADER]
    for entry in listed:
        out.append(entry["cgroup"] + "\n")
        out += [_row(e, "    ") for e in entry["programs"]]
    ctx.out.write("".join(out))
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    if ctx.json:
        ctx.emit_json(None)
    else:
        ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {"show": do_show, "list": do_show, "tree": do_tree, "help": do_help}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf cgroup ...``."""
    return dispatch(ctx, args or ["help"], COMMANDS, "cgroup")
