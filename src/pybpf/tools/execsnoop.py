"""``pybpf tool execsnoop``: trace exec() calls, as libbpf-tools' execsnoop (0.26) does.

Same options, defaults, columns and formatting as the C tool: one line per execve() with the
command name, pid, parent pid, return value and arguments; ``-x`` adds failed calls, ``-u``
filters by uid, ``-n``/``-l`` by command name/arguments, ``-T``/``-t``/``-U`` add the wall-clock
time, the time since start and the uid, ``-q`` quotes arguments, ``-c`` limits the trace to a
cgroup, ``--max-args`` sets how many arguments are kept (1-60, default 20).

BPF side: ``execsnoop.bpf.c`` (tracepoints ``syscalls/sys_enter_execve`` and
``sys_exit_execve``, events through a perf buffer). Needs Linux 5.5+ (bpf_probe_read_user) with
BTF, root (CAP_BPF + CAP_PERFMON), and tracefs.

One deliberate difference: ``-l LINE`` matches the arguments, as its help text says; the C tool
compares it with the command name instead.
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

__all__ = ["NAME", "SUMMARY", "Config", "ARGP", "parse_args", "header", "Formatter", "main",
           "EVENT", "ARGSIZE", "TOTAL_MAX_ARGS", "DEFAULT_MAXARGS", "configure", "prepare_maps"]

NAME = "execsnoop"
SUMMARY = "Trace exec syscalls"

# Layout shared with execsnoop.bpf.c (checked against the object's BTF by the tests).
ARGSIZE = 128
TOTAL_MAX_ARGS = 60
DEFAULT_MAXARGS = 20
TASK_COMM_LEN = 16
INVALID_UID = 0xFFFFFFFF
#: struct event up to args: pid, ppid, uid, retval, args_count, args_size, comm
#: (uid as a signed int: the C tool prints it with %d)
EVENT = struct.Struct("=iiiiiI16s")
ARGS_OFFSET = EVENT.size

_MAX_ARGS_KEY = "max-args"

DOC = (
    "Trace exec syscalls\n"
    "\n"
    "USAGE: execsnoop [-h] [-T] [-t] [-x] [-u UID] [-q] [-n NAME] [-l LINE] [-U] [-c CG]\n"
    "                 [--max-args MAX_ARGS]\n"
    "\n"
    "EXAMPLES:\n"
    "   ./execsnoop           # trace all exec() syscalls\n"
    "   ./execsnoop -x        # include failed exec()s\n"
    "   ./execsnoop -T        # include time (HH:MM:SS)\n"
    "   ./execsnoop -U        # include UID\n"
    "   ./execsnoop -u 1000   # only trace UID 1000\n"
    "   ./execsnoop -t        # include timestamps\n"
    "   ./execsnoop -q        # add \"quotemarks\" around arguments\n"
    "   ./execsnoop -n main   # only print command lines containing \"main\"\n"
    "   ./execsnoop -l tpkg   # only print command where arguments contains \"tpkg\""
    "   ./execsnoop -c CG     # Trace process under cgroupsPath CG\n"
)

OPTIONS = (
    Option("time", "T", doc="include time column on output (HH:MM:SS)"),
    Option("timestamp", "t", doc="include timestamp on output"),
    Option("fails", "x", doc="include failed exec()s"),
    Option("uid", "u", "UID", "trace this UID only"),
    Option("quote", "q", doc="Add quotemarks (\") around arguments"),
    Option("name", "n", "NAME", "only print commands matching this name, any arg"),
    Option("line", "l", "LINE", "only print commands where arg contains this line"),
    Option("print-uid", "U", doc="print UID column"),
    Option("max-args", None, "MAX_ARGS",
           "maximum number of arguments parsed and displayed, defaults to 20", key=_MAX_ARGS_KEY),
    Option("verbose", "v", doc="Verbose debug output"),
    Option("cgroup", "c", "/sys/fs/cgroup/unified", "Trace process in cgroup path"),
    Option(None, "h", hidden=True, doc="Show the full help"),
)


def _version() -> str:
    from pybpf import __version__

    return f"{NAME} (pybpf) {__version__}"


ARGP = Argp(NAME, DOC, OPTIONS, version=_version())


class Config(Record, frozen=False):
    """The parsed command line (the C tool's ``struct env``)."""

    time: bool = False
    timestamp: bool = False
    fails: bool = False
    uid: int = INVALID_UID
    quote: bool = False
    name: bytes | None = None
    line: bytes | None = None
    print_uid: bool = False
    verbose: bool = False
    max_args: int = DEFAULT_MAXARGS
    cgroup: str | None = None


def parse_args(argv: Sequence[str]) -> Config:
    """The tool's options as the C tool reads them; :class:`ArgpExit` for help and errors."""
    cfg = Config()

    def handle(opt: Option, arg: str | None, state: ArgpState) -> None:
        key = opt.name
        if key == "h":
            state.help_to_stderr()
        elif key == "time":
            cfg.time = True
        elif key == "timestamp":
            cfg.timestamp = True
        elif key == "fails":
            cfg.fails = True
        elif key == "cgroup":
            cfg.cgroup = arg
        elif key == "uid":
            uid, erange = strtol(arg or "")
            if erange or uid < 0 or uid >= INVALID_UID:
                state.usage(f"Invalid UID {arg}")
            cfg.uid = uid
        elif key == "quote":
            cfg.quote = True
        elif key == "name":
            cfg.name = os.fsencode(arg or "")
        elif key == "line":
            cfg.line = os.fsencode(arg or "")
        elif key == "print-uid":
            cfg.print_uid = True
        elif key == "verbose":
            cfg.verbose = True
        elif key == _MAX_ARGS_KEY:
            n, erange = strtol(arg or "")
            if erange or n < 1 or n > TOTAL_MAX_ARGS:
                state.usage(f"Invalid MAX_ARGS {arg}, should be in [1, {TOTAL_MAX_ARGS}] range")
            cfg.max_args = n

    ARGP.parse(argv, handle)
    return cfg


def header(cfg: Config) -> bytes:
    """The column header line (printed once attached)."""
    out = b""
    if cfg.time:
        out += b"%-9s" % b"TIME"
    if cfg.timestamp:
        out += b"%-8s " % b"TIME(s)"
    if cfg.print_uid:
        out += b"%-6s " % b"UID"
    return out + b"%-16s %-6s %-6s %3s %s\n" % (b"PCOMM", b"PID", b"PPID", b"RET", b"ARGS")


_QUOTE_ESCAPES = {ord('"'): b'\\"', ord("\t"): b"\\t", ord("\n"): b"\\n"}


def _quoted(arg: bytes) -> bytes:
    if b'"' in arg or b"\t" in arg or b"\n" in arg:
        return b"".join(_QUOTE_ESCAPES.get(c, bytes((c,))) for c in arg)
    return arg


def format_args(args: bytes, count: int, quote: bool, max_args: int) -> bytes:
    """The ARGS column: ``args`` holds NUL-terminated strings (the last one possibly cut
    short), of which the first ``count`` are printed, each followed by a space (and quoted
    with ``quote``); `` ...`` when the event says arguments were left out."""
    parts = args.split(b"\0")
    done = parts[:-1]                   # complete (NUL-terminated) strings
    tail = parts[-1]                    # an unterminated remainder, printed without a space
    shown = done[:count] if count > 0 else []
    rest_shown = count > len(done) and tail
    if quote:
        out = b'"'
        for i, arg in enumerate(shown):
            out += _quoted(arg) + b'" '
            if i + 1 < count:
                out += b'"'
        if rest_shown:
            out += _quoted(tail)
    else:
        out = b"".join(arg + b" " for arg in shown)
        if rest_shown:
            out += tail
    if count == max_args + 1:
        out += b" ..."
    return out


class Formatter:
    """Turns raw events into output lines for one configuration (None: filtered out)."""

    def __init__(self, cfg: Config, start: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], str] = lambda: time.strftime("%H:%M:%S")) -> None:
        self.cfg = cfg
        self.start = clock() if start is None else start
        self.clock = clock
        self.wallclock = wallclock

    def __call__(self, data: bytes) -> bytes | None:
        cfg = self.cfg
        pid, ppid, uid, retval, args_count, args_size, comm = EVENT.unpack_from(data)
        comm = comm.split(b"\0", 1)[0]
        args = bytes(data[ARGS_OFFSET:ARGS_OFFSET + args_size])
        if cfg.name is not None and cfg.name not in comm:
            return None
        if cfg.line is not None and cfg.line not in args.replace(b"\0", b" "):
            return None
        out = b""
        if cfg.time:
            out += b"%-8s " % self.wallclock().encode()
        if cfg.timestamp:
            out += b"%-8.3f" % (self.clock() - self.start)
        if cfg.print_uid:
            out += b"%-6d" % uid
        out += b"%-16s %-6d %-6d %3d " % (comm, pid, ppid, retval)
        return out + format_args(args, args_count, cfg.quote, cfg.max_args) + b"\n"


def main(argv: Sequence[str]) -> int:
    """Run the tool with ``argv`` (without the program name); returns the exit status."""
    from pybpf.tools.session import Session

    try:
        cfg = parse_args(argv)
    except ArgpExit as exc:
        return Session.argp_exit(exc)
    session = Session(NAME, verbose=cfg.verbose)
    return session.run(lambda spec: configure(spec, cfg), header=header(cfg),
                       make_handler=lambda start: Formatter(cfg, start), prepare=lambda obj: prepare_maps(obj, cfg))


def configure(spec: Any, cfg: Config) -> None:
    """Set the .rodata filters (and autoload flags) before load."""
    variables = spec.variables
    variables["ignore_failed"].value = not cfg.fails
    variables["targ_uid"].value = cfg.uid
    variables["max_args"].value = cfg.max_args
    variables["filter_cg"].value = cfg.cgroup is not None


def prepare_maps(obj: Any, cfg: Config) -> None:
    """Put the cgroup to trace (-c) into cgroup_map after load."""
    if cfg.cgroup is None:
        return
    from pybpf.tools.session import ToolError

    try:
        fd = os.open(cfg.cgroup, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ToolError(f"failed opening cgroup path {cfg.cgroup}: {exc.strerror}") from None
    try:
        obj.maps["cgroup_map"].update(struct.pack("I", 0), struct.pack("I", fd))
    finally:
        os.close(fd)
