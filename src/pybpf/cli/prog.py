"""``pybpf prog``: bpftool's ``prog show|list [PROG]`` with the same text and JSON output.

``PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }`` (keywords may be
abbreviated, as in bpftool). ``tag`` and ``name`` may select several programs.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.errors import BPFError, NotFoundError
from pybpf.programs.info import ProgramInfo, query_prog_info, query_prog_map_ids
from pybpf.sys.commands import get_fd_by_id, iter_ids, obj_get
from pybpf.sys.fd import FD
from pybpf.sys.names import PROG_TYPE_NAMES

__all__ = ["run", "parse_prog_handle", "open_progs", "prog_full_name", "pinned_paths",
           "boot_time_text"]

USAGE = """Usage: pybpf prog { show | list } [PROG]
       pybpf prog dump xlated PROG [{ file FILE | opcodes | visual | linum }]
       pybpf prog { load | loadall } OBJ PATH [type TYPE] [map { idx IDX | name NAME } MAP] \\
                         [pinmaps MAP_DIR] [autoattach] [kernel_btf FILE]
       pybpf prog help

       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-f|--bpffs} }
"""


# ------------------------------------------------------------------------------ handles


def _fd_kind(fd: int) -> str:
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "unknown"
    return {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map",
            # a link fd is "bpf_link" when created, "bpf-link" when opened from a pin or id
            "anon_inode:bpf_link": "link", "anon_inode:bpf-link": "link",
            "anon_inode:btf": "btf"}.get(target, target)


def _all_progs() -> Iterator[tuple[FD, ProgramInfo]]:
    for prog_id in iter_ids("prog"):
        try:
            fd = get_fd_by_id("prog", prog_id)
        except NotFoundError:
            continue  # unloaded meanwhile
        try:
            info = query_prog_info(fd.fileno(), f"program id {prog_id}", arrays=False)
        except BPFError:
            fd.close()
            continue
        yield fd, info


def parse_prog_handle(args: list[str]) -> tuple[tuple[str, str], list[str]]:
    """Split ``PROG`` off the front of ``args``: ``((keyword, value), rest)``."""
    if len(args) < 2:
        raise CLIError("expected PROG: { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }")
    word, value, rest = args[0], args[1], args[2:]
    for key in ("id", "pinned", "tag", "name"):
        if is_prefix(word, key):
            return (key, value), rest
    raise CLIError(f"expected 'id', 'pinned', 'tag' or 'name', got: '{word}'?")


def open_progs(handle: tuple[str, str]) -> list[tuple[FD, ProgramInfo]]:
    """Descriptors and infos of every program ``handle`` selects (at least one, else an error)."""
    key, value = handle
    if key == "id":
        try:
            prog_id = int(value, 0)
        except ValueError:
            raise CLIError(f"can't parse program id '{value}'") from None
        fd = get_fd_by_id("prog", prog_id)
        return [(fd, query_prog_info(fd.fileno(), f"program id {prog_id}", arrays=False))]
    if key == "pinned":
        fd = obj_get(value, what="program")
        kind = _fd_kind(fd.fileno())
        if kind != "prog":
            fd.close()
            raise CLIError(f"incorrect object type: {kind} ({value} is not a pinned program)")
        return [(fd, query_prog_info(fd.fileno(), f"pinned program {value}", arrays=False))]
    if key == "tag":
        try:
            tag = bytes.fromhex(value)
        except ValueError:
            tag = b""
        if len(tag) != 8:
            raise CLIError(f"can't parse tag '{value}': a tag is 8 bytes in hex")
        found = _select(lambda fd, info: info.tag == tag)
        what = f"tag {value}"
    else:
        if len(value) > 255:
            raise CLIError("program name too long")
        found = _select(lambda fd, info: prog_full_name(fd.fileno(), info) == value)
        what = f"name {value}"
    if not found:
        raise CLIError(f"no program with {what} found")
    return found


def _select(pred: Any) -> list[tuple[FD, ProgramInfo]]:
    out = []
    for fd, info in _all_progs():
        if pred(fd, info):
            out.append((fd, info))
        else:
            fd.close()
    return out


def open_one_prog(handle: tuple[str, str]) -> tuple[FD, ProgramInfo]:
    """Exactly one program (bpftool's ``prog_parse_fd``)."""
    found = open_progs(handle)
    if len(found) > 1:
        for fd, _ in found:
            fd.close()
        raise CLIError(f"several programs match this handle ({handle[0]} {handle[1]})")
    return found[0]


# ------------------------------------------------------------------------------ naming


def prog_full_name(fd: int, info: ProgramInfo) -> str:
    """bpftool's ``get_prog_full_name``: a 15-character (truncated) name is completed from the
    program's BTF (the name of its first function)."""
    name = info.name
    if len(name) < 15 or not info.btf_id:
        return name
    try:
        full = query_prog_info(fd, "program", arrays=True)
        if not full.func_info:
            return name
        type_id = int.from_bytes(full.func_info[4:8], "little")
        from pybpf.btf.loaded import load_btf_by_id

        btf = load_btf_by_id(info.btf_id)
        return btf.name_of(type_id) or name
    except (BPFError, ValueError):
        return name


def boot_time_text(boot_ns: int, as_json: bool) -> str:
    """bpftool's ``print_boot_time``: epoch seconds (JSON) or ``%FT%T%z`` local time."""
    real = time.clock_gettime_ns(time.CLOCK_REALTIME)
    boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    secs = (real - boot + boot_ns) // 1_000_000_000
    if as_json:
        return str(secs)
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(secs))


def pinned_paths(kind: str) -> dict[int, list[str]]:
    """id -> pinned paths of every ``kind`` ("prog"/"map"/"link") object in every bpffs."""
    out: dict[int, list[str]] = {}
    mounts = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "bpf":
                    mounts.append(parts[1])
    except OSError:
        return out
    key = {"prog": "prog_id", "map": "map_id", "link": "link_id"}[kind]
    for mnt in mounts:
        for root, _dirs, files in os.walk(mnt):
            for name in files:
                path = os.path.join(root, name)
                try:
                    fd = obj_get(path)
                except BPFError:
                    continue
                with fd:
                    if _fd_kind(fd.fileno()) != kind and not (
                            kind == "link" and _fd_kind(fd.fileno()) == "link"):
                        continue
                    from pybpf.sys.fdinfo import read_fdinfo

                    ident = read_fdinfo(fd.fileno()).get(key)
                if ident and ident.isdigit():
                    out.setdefault(int(ident), []).append(path)
    return out


def _type_json(value: int) -> Any:
    return PROG_TYPE_NAMES.get(int(value), int(value))


# ------------------------------------------------------------------------------ show


def _prog_json(ctx: Context, fd: FD, info: ProgramInfo, pins: dict[int, list[str]] | None) -> dict:
    obj: dict[str, Any] = {"id": info.id, "type": _type_json(info.type)}
    if info.name:
        obj["name"] = prog_full_name(fd.fileno(), info)
    obj["tag"] = info.tag_hex
    obj["gpl_compatible"] = info.gpl_compatible
    if info.run_time_ns:
        obj["run_time_ns"] = info.run_time_ns
        obj["run_cnt"] = info.run_cnt
    if info.recursion_misses:
        obj["recursion_misses"] = info.recursion_misses
    if info.ifindex:
        obj["dev"] = {"ifindex": info.ifindex, "ns_dev": info.netns_dev, "ns_inode": info.netns_ino}
    if info.load_time:
        obj["loaded_at"] = int(boot_time_text(info.load_time, True))
        obj["uid"] = info.created_by_uid
    obj["bytes_xlated"] = info.xlated_prog_len
    if info.jited_prog_len:
        obj["jited"] = True
        obj["bytes_jited"] = info.jited_prog_len
    else:
        obj["jited"] = False
    if info.memlock is not None:
        obj["bytes_memlock"] = info.memlock
    map_ids = query_prog_map_ids(fd.fileno())
    if map_ids:
        obj["map_ids"] = list(map_ids)
    if info.btf_id:
        obj["btf_id"] = info.btf_id
    if pins is not None and pins.get(info.id):
        obj["pinned"] = pins[info.id]
    return obj


def _prog_text(fd: FD, info: ProgramInfo, pins: dict[int, list[str]] | None) -> str:
    tname = PROG_TYPE_NAMES.get(int(info.type))
    line = f"{info.id}: " + (f"{tname}  " if tname else f"type {int(info.type)}  ")
    if info.name:
        line += f"name {prog_full_name(fd.fileno(), info)}  "
    line += f"tag {info.tag_hex}"
    if info.ifindex:
        line += f"  offloaded_to ifindex {info.ifindex}"
    line += "  gpl" if info.gpl_compatible else ""
    if info.run_time_ns:
        line += f" run_time_ns {info.run_time_ns} run_cnt {info.run_cnt}"
    if info.recursion_misses:
        line += f" recursion_misses {info.recursion_misses}"
    out = [line + "\n"]
    if info.load_time:
        out.append(f"\tloaded_at {boot_time_text(info.load_time, False)}  uid {info.created_by_uid}\n")
    text = f"\txlated {info.xlated_prog_len}B"
    text += f"  jited {info.jited_prog_len}B" if info.jited_prog_len else "  not jited"
    if info.memlock is not None:
        text += f"  memlock {info.memlock}B"
    map_ids = query_prog_map_ids(fd.fileno())
    if map_ids:
        text += "  map_ids " + ",".join(str(i) for i in map_ids)
    if pins is not None:
        for path in pins.get(info.id, []):
            text += f"\n\tpinned {path}"
    if info.btf_id:
        text += f"\n\tbtf_id {info.btf_id}"
    out.append(text + "\n")
    return "".join(out)


def do_show(ctx: Context, args: list[str]) -> int:
    pins = pinned_paths("prog") if ctx.bpffs else None
    if args:
        handle, rest = parse_prog_handle(args)
        if rest:
            raise CLIError(f"too many arguments: {' '.join(rest)}")
        found = open_progs(handle)
        try:
            if ctx.json:
                objs = [_prog_json(ctx, fd, info, pins) for fd, info in found]
                ctx.emit_json(objs[0] if len(objs) == 1 else objs)
            else:
                for fd, info in found:
                    ctx.out.write(_prog_text(fd, info, pins))
        finally:
            for fd, _ in found:
                fd.close()
        return 0
    listed: list[dict] = []
    for fd, info in _all_progs():
        with fd:
            if ctx.json:
                listed.append(_prog_json(ctx, fd, info, pins))
            else:
                ctx.out.write(_prog_text(fd, info, pins))
    if ctx.json:
        ctx.emit_json(listed)
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    ctx.out.write(USAGE)
    return 0


def do_dump(ctx: Context, args: list[str]) -> int:
    """``prog dump xlated ...`` (pybpf.cli.prog_dump)."""
    from pybpf.cli.prog_dump import do_dump as dump

    return dump(ctx, args)


def do_load(ctx: Context, args: list[str]) -> int:
    """``prog load OBJ PATH ...`` (pybpf.cli.prog_load)."""
    from pybpf.cli.prog_load import do_load as load

    return load(ctx, args)


def do_loadall(ctx: Context, args: list[str]) -> int:
    """``prog loadall OBJ PATH ...`` (pybpf.cli.prog_load)."""
    from pybpf.cli.prog_load import do_loadall as loadall

    return loadall(ctx, args)


COMMANDS: dict[str, Handler] = {"show": do_show, "list": do_show, "dump": do_dump,
                                "help": do_help, "load": do_load, "loadall": do_loadall}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf prog ...``."""
    if not args:
        args = ["show"]
    return dispatch(ctx, args, COMMANDS, "prog")


def do_tracelog(ctx: Context, args: list[str]) -> int:
    """``prog tracelog`` (pybpf.cli.prog_tracelog)."""
    from pybpf.cli.prog_tracelog import do_tracelog as tracelog

    return tracelog(ctx, args)


# Added here rather than in the literals above to keep this addition separate from others'.
COMMANDS["tracelog"] = do_tracelog
USAGE = USAGE.replace("       pybpf prog help\n", "       pybpf prog tracelog\n       pybpf prog help\n", 1)
