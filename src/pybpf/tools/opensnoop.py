"""``pybpf tool opensnoop``: trace open() family calls, as libbpf-tools' opensnoop (0.26) does.

Same options, defaults, columns and formatting as the C tool: one line per open()/openat()
(and openat2() where the kernel has it) with pid, command, fd, errno and path; ``-p``/``-t``/
``-u`` filter by process, thread and user, ``-n`` by command name, ``-x`` keeps failed opens
only, ``-T``/``-U``/``-e`` add the time, the uid and the open flags, ``-d`` stops after a
duration.

BPF side: ``opensnoop.bpf.c`` (``syscalls/sys_{enter,exit}_{open,openat,openat2}``
tracepoints; the pairs of syscalls this kernel lacks are not loaded). Needs Linux 5.5+ with
BTF, root (CAP_BPF + CAP_PERFMON), and tracefs.
"""

from __future__ import annotations

import os
import struct
import time

from pybpf.record import Record
from pybpf.tools.argp import Argp, ArgpExit, ArgpState, Option, strtol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

__all__ = ["NAME", "SUMMARY", "Config", "ARGP", "parse_args", "header", "Formatter", "main", "EVENT",
           "SYSCALLS", "configure", "tracepoint_exists"]

NAME = "opensnoop"
SUMMARY = "Trace open family syscalls"

INVALID_UID = 0xFFFFFFFF
NAME_MAX = 255
#: struct event: ts, pid, uid, ret, flags, mode, comm, fname (uid signed: printed with %d)
EVENT = struct.Struct("=QiiiiI16s255s")
#: syscalls traced, each by a sys_enter_/sys_exit_ tracepoint pair; "openat" is required
SYSCALLS = ("open", "openat", "openat2")

DOC = (
    "Trace open family syscalls\n"
    "\n"
    "USAGE: opensnoop [-h] [-T] [-U] [-x] [-p PID] [-t TID] [-u UID] [-d DURATION]\n"
    "                 [-n NAME] [-e]\n"
    "\n"
    "EXAMPLES:\n"
    "    ./opensnoop           # trace all open() syscalls\n"
    "    ./opensnoop -T        # include timestamps\n"
    "    ./opensnoop -U        # include UID\n"
    "    ./opensnoop -x        # only show failed opens\n"
    "    ./opensnoop -p 181    # only trace PID 181\n"
    "    ./opensnoop -t 123    # only trace TID 123\n"
    "    ./opensnoop -u 1000   # only trace UID 1000\n"
    "    ./opensnoop -d 10     # trace for 10 seconds only\n"
    "    ./opensnoop -n main   # only print process names containing \"main\"\n"
    "    ./opensnoop -e        # show extended fields\n"
)

OPTIONS = (
    Option("duration", "d", "DURATION", "Duration to trace"),
    Option("extended-fields", "e", doc="Print extended fields"),
    Option(None, "h", hidden=True, doc="Show the full help"),
    Option("name", "n", "NAME", "Trace process names containing this"),
    Option("pid", "p", "PID", "Process ID to trace"),
    Option("tid", "t", "TID", "Thread ID to trace"),
    Option("timestamp", "T", doc="Print timestamp"),
    Option("uid", "u", "UID", "User ID to trace"),
    Option("print-uid", "U", doc="Print UID"),
    Option("verbose", "v", doc="Verbose debug output"),
    Option("failed", "x", doc="Failed opens only"),
)


def _version() -> str:
    from pybpf import __version__

    return f"{NAME} (pybpf) {__version__}"


ARGP = Argp(NAME, DOC, OPTIONS, version=_version())


class Config(Record, frozen=False):
    """The parsed command line (the C tool's ``struct env``)."""

    pid: int = 0
    tid: int = 0
    uid: int = INVALID_UID
    duration: int = 0
    verbose: bool = False
    timestamp: bool = False
    print_uid: bool = False
    extended: bool = False
    failed: bool = False
    name: bytes | None = None


def parse_args(argv: Sequence[str]) -> Config:
    """The tool's options as the C tool reads them; :class:`ArgpExit` for help and errors."""
    cfg = Config()

    def handle(opt: Option, arg: str | None, state: ArgpState) -> None:
        key = opt.name
        if key == "extended-fields":
            cfg.extended = True
        elif key == "h":
            state.usage()
        elif key == "timestamp":
            cfg.timestamp = True
        elif key == "print-uid":
            cfg.print_uid = True
        elif key == "verbose":
            cfg.verbose = True
        elif key == "failed":
            cfg.failed = True
        elif key == "duration":
            n, erange = strtol(arg or "")
            if erange or n <= 0:
                state.usage(f"Invalid duration: {arg}")
            cfg.duration = n
        elif key == "name":
            cfg.name = os.fsencode(arg or "")
        elif key in ("pid", "tid"):
            n, erange = strtol(arg or "")
            if erange or n <= 0:
                state.usage(f"Invalid {key.upper()}: {arg}")
            # the C tool stores the long in a pid_t
            n = (n + (1 << 31)) % (1 << 32) - (1 << 31)
            if key == "pid":
                cfg.pid = n
            else:
                cfg.tid = n
        elif key == "uid":
            n, erange = strtol(arg or "")
            if erange or n < 0 or n >= INVALID_UID:
                state.usage(f"Invalid UID {arg}")
            cfg.uid = n

    def operand(arg: str, state: ArgpState) -> bool:
        # the C tool silently takes one operand and rejects a second
        if state.positional_count:
            state.usage(f"Unrecognized positional argument: {arg}")
        return True

    ARGP.parse(argv, handle, operand)
    return cfg


def header(cfg: Config) -> bytes:
    """The column header line (printed once attached)."""
    out = b""
    if cfg.timestamp:
        out += b"%-8s " % b"TIME"
    if cfg.print_uid:
        out += b"%-7s " % b"UID"
    out += b"%-6s %-16s %3s %3s " % (b"PID", b"COMM", b"FD", b"ERR")
    if cfg.extended:
        out += b"%-8s " % b"FLAGS"
    return out + b"PATH\n"


class Formatter:
    """Turns raw events into output lines for one configuration (None: filtered out)."""

    def __init__(self, cfg: Config, start: float | None = None,
                 wallclock: Callable[[], str] = lambda: time.strftime("%H:%M:%S")) -> None:
        self.cfg = cfg
        self.wallclock = wallclock
        self.unpack = EVENT.unpack_from

    def __call__(self, data: bytes) -> bytes | None:
        cfg = self.cfg
        _ts, pid, uid, ret, flags, _mode, comm, fname = self.unpack(data)
        comm = comm.split(b"\0", 1)[0]
        if cfg.name is not None and cfg.name not in comm:
            return None
        if ret >= 0:
            fd, err = ret, 0
        else:
            # C negates an int: INT_MIN stays INT_MIN
            fd, err = -1, (-ret if ret != -0x80000000 else ret)
        out = b""
        if cfg.timestamp:
            out += b"%-8s " % self.wallclock().encode()
        if cfg.print_uid:
            out += b"%-7d " % uid
        out += b"%-6d %-16s %3d %3d " % (pid, comm, fd, err)
        if cfg.extended:
            out += b"%08o " % (flags & 0xFFFFFFFF)
        return out + fname.split(b"\0", 1)[0] + b"\n"


def tracepoint_exists(category: str, name: str) -> bool:
    """Whether tracefs lists ``category/name`` (libbpf-tools' tracepoint_exists())."""
    from pybpf.sys.tracefs import tracefs_path

    return os.path.exists(tracefs_path("events", category, name))


def main(argv: Sequence[str]) -> int:
    """Run the tool with ``argv`` (without the program name); returns the exit status."""
    from pybpf.tools.session import Session

    try:
        cfg = parse_args(argv)
    except ArgpExit as exc:
        return Session.argp_exit(exc)
    session = Session(NAME, verbose=cfg.verbose)
    return session.run(lambda spec: configure(spec, cfg), header=header(cfg),
                       make_handler=lambda start: Formatter(cfg, start),
                       duration=cfg.duration or None)


def configure(spec: Any, cfg: Config) -> None:
    """Set the .rodata filters (and autoload flags) before load."""
    variables = spec.variables
    variables["targ_tgid"].value = cfg.pid
    variables["targ_pid"].value = cfg.tid
    variables["targ_uid"].value = cfg.uid
    variables["targ_failed"].value = cfg.failed
    programs = spec.programs
    for syscall in SYSCALLS:
        if syscall != "openat" and not tracepoint_exists("syscalls", f"sys_enter_{syscall}"):
            for side in ("enter", "exit"):
                programs[f"tracepoint__syscalls__sys_{side}_{syscall}"].autoload = False
