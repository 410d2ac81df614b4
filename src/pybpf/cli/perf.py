"""``pybpf perf``: bpftool's ``perf show|list``: every tracepoint, raw tracepoint, kprobe and
uprobe attachment held by a process, found by asking the kernel about each descriptor of
each process (``BPF_TASK_FD_QUERY``)."""

from __future__ import annotations

import ctypes
import os
from typing import Any, Iterator

from pybpf.cli.common import Context, Handler, dispatch
from pybpf.sys import uapi
from pybpf.sys.commands import attr_size
from pybpf.sys.syscall import bpf_raw

__all__ = ["run", "perf_entries", "task_fd_query"]

USAGE = """Usage: pybpf perf { show | list }
       pybpf perf help
"""

_FD_TYPES = {0: "raw_tracepoint", 1: "tracepoint", 2: "kprobe", 3: "kretprobe", 4: "uprobe", 5: "uretprobe"}
_SIZE = attr_size(uapi.bpf_attr_task_fd_query, "probe_addr")


def task_fd_query(pid: int, fd: int) -> tuple[int, int, str, int, int] | None:
    """``(prog_id, fd_type, name, probe_offset, probe_addr)`` of ``pid``'s descriptor ``fd``, or
    None when it holds no BPF attachment."""
    buf = ctypes.create_string_buffer(4096)
    attr = uapi.bpf_attr_task_fd_query()
    attr.pid = pid
    attr.fd = fd
    attr.buf = ctypes.addressof(buf)
    attr.buf_len = len(buf)
    ret, _err = bpf_raw(uapi.BPF_TASK_FD_QUERY, attr, _SIZE)
    if ret < 0:
        return None
    return (int(attr.prog_id), int(attr.fd_type), buf.value.decode("utf-8", "replace"),
            int(attr.probe_offset), int(attr.probe_addr))


def _pids() -> Iterator[int]:
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def perf_entries() -> list[dict[str, Any]]:
    """bpftool's JSON entries, ordered by pid and descriptor."""
    out = []
    me = os.getpid()
    for pid in sorted(_pids()):
        if pid == me:
            continue
        try:
            fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        for fd in fds:
            q = task_fd_query(pid, fd)
            if q is None:
                continue
            prog_id, fd_type, name, offset, addr = q
            e: dict[str, Any] = {"pid": pid, "fd": fd, "prog_id": prog_id}
            kind = _FD_TYPES.get(fd_type)
            if kind is None:
                out.append(e)
                continue
            e["fd_type"] = kind
            if fd_type in (0, 1):
                e["tracepoint"] = name
            elif fd_type in (2, 3):
                if name:
                    e["func"] = name
                    e["offset"] = offset
                else:
                    e["addr"] = addr
            else:
                e["filename"] = name
                e["offset"] = offset
            out.append(e)
    return out


def _text(e: dict[str, Any]) -> str:
    line = f"pid {e['pid']}  fd {e['fd']}: prog_id {e['prog_id']}  "
    kind = e.get("fd_type")
    if kind in ("raw_tracepoint", "tracepoint"):
        return line + f"{kind}  {e['tracepoint']}\n"
    if kind in ("kprobe", "kretprobe"):
        if "func" in e:
            return line + f"{kind}  func {e['func']}  offset {e['offset']}\n"
        return line + f"{kind}  addr {e['addr']}\n"
    if kind in ("uprobe", "uretprobe"):
        return line + f"{kind}  filename {e['filename']}  offset {e['offset']}\n"
    return line + "\n"


def do_show(ctx: Context, args: list[str]) -> int:
    entries = perf_entries()
    if ctx.json:
        ctx.emit_json(entries)
    else:
        ctx.out.write("".join(_text(e) for e in entries))
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    if ctx.json:
        ctx.emit_json(None)
    else:
        ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {"show": do_show, "list": do_show, "help": do_help}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf perf ...``."""
    return dispatch(ctx, args or ["show"], COMMANDS, "perf")
