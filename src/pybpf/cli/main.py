"""Entry point of the ``pybpf`` command (``pybpf`` console script and ``python -m pybpf``).

Grammar, as bpftool: ``pybpf [OPTIONS] OBJECT {COMMAND | help}``. Each OBJECT lives in its own
module under :mod:`pybpf.cli` exposing ``run(ctx, args) -> int``; :data:`OBJECTS` maps the
keyword to that module so adding an object is one line here.
"""

from __future__ import annotations

import importlib
import signal
import sys

from pybpf import __version__
from pybpf.cli.common import CLIError, Context, is_prefix
from pybpf.errors import BPFError

__all__ = ["main", "OBJECTS"]

#: OBJECT keyword -> module with ``run(ctx, args)``. Order matters for prefix matching,
#: as in bpftool's command table (prog, map, link, cgroup, perf, net, feature, btf, gen, ...).
OBJECTS: dict[str, str] = {
    "prog": "pybpf.cli.prog",
    "map": "pybpf.cli.map",
    "link": "pybpf.cli.link",
    "cgroup": "pybpf.cli.cgroup",
    "perf": "pybpf.cli.perf",
    "net": "pybpf.cli.net",
    "feature": "pybpf.cli.feature",
    "btf": "pybpf.cli.btf",
    "gen": "pybpf.cli.gen",
    "version": "pybpf.cli.main",
    "object": "pybpf.cli.object",
    "asm": "pybpf.cli.asm",
    "tool": "pybpf.cli.tool",
    "help": "pybpf.cli.main",
}

USAGE = """Usage: pybpf [OPTIONS] OBJECT { COMMAND | help }
       pybpf batch file FILE
       pybpf version

       OBJECT := { prog | map | link | cgroup | perf | net | feature | btf | gen |
                   object | asm | tool }
       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} | {-f|--bpffs} |
                    {-n|--nomount} }
"""


def run_version(ctx: Context, args: list[str]) -> int:
    """``pybpf version``: like ``bpftool version``."""
    if ctx.json:
        ctx.emit_json({"version": __version__, "libbpf_version": None, "features": {}})
    else:
        ctx.out.write(f"pybpf v{__version__}\n")
    return 0


def run_help(ctx: Context, args: list[str]) -> int:
    ctx.out.write(USAGE)
    return 0


def run(ctx: Context, args: list[str]) -> int:
    """Module protocol for the two objects implemented here (``version`` and ``help``)."""
    raise CLIError("internal: dispatched to main.run")  # pragma: no cover


def _object_of(word: str) -> str | None:
    """The OBJECT keyword ``word`` abbreviates (first match in :data:`OBJECTS` order)."""
    return next((name for name in OBJECTS if is_prefix(word, name)), None)


def _parse_options(argv: list[str], ctx: Context) -> list[str]:
    """Global options, anywhere on the line as bpftool's getopt takes them, into ``ctx``; the
    other words are returned. After ``tool NAME`` the words are the tool's own (libbpf-tools'
    ``-p PID``, ``-n NAME``...), left alone."""
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if len(rest) >= 2 and _object_of(rest[0]) == "tool":
            rest.extend(argv[i:])
            break
        if a in ("-j", "--json"):
            ctx.json = True
        elif a in ("-p", "--pretty"):
            ctx.json = True
            ctx.pretty = True
        elif a in ("-d", "--debug"):
            ctx.debug = True
        elif a in ("-f", "--bpffs"):
            ctx.bpffs = True
        elif a in ("-n", "--nomount"):
            ctx.extra["nomount"] = True  # bpftool's: never mount tracefs/bpffs (prog tracelog)
        elif a in ("-B", "--base-btf") and i + 1 < len(argv):
            ctx.extra["base_btf"] = argv[i + 1]  # bpftool's base BTF for split BTF
            i += 1
        elif a in ("-V", "--version"):
            rest = ["version"]
            break
        elif a in ("-h", "--help"):
            rest = ["help"]
            break
        else:
            rest.append(a)
            if len(rest) == 2 and _object_of(rest[0]) == "tool" and rest[1] not in ("list", "help"):
                # everything after a tool's name is the tool's own command line (-p, -h, ...)
                rest.extend(argv[i + 1:])
                break
        i += 1
    return rest


def _object_of(word: str) -> str | None:
    """The OBJECT keyword ``word`` selects (first prefix match in table order)."""
    return next((name for name in OBJECTS if is_prefix(word, name)), None)


def main(argv: list[str] | None = None) -> int:
    """Run one ``pybpf`` command line; returns the process exit status."""
    if argv is None:
        argv = sys.argv[1:]
    # Behave like a C tool in a pipeline (e.g. `pybpf ... | head`).
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ctx = Context()
    args = _parse_options(list(argv), ctx)
    try:
        if not args:
            ctx.err.write(USAGE)
            return 255
        word = args[0]
        for name, module_name in OBJECTS.items():
            if is_prefix(word, name):
                if name == "version":
                    return run_version(ctx, args[1:])
                if name == "help":
                    return run_help(ctx, args[1:])
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name == module_name:
                        raise CLIError(f"'{name}' is not implemented yet") from None
                    raise
                return int(module.run(ctx, args[1:]))
        raise CLIError(f"object '{word}' is unknown, have you tried 'pybpf help'?")
    except BPFError as exc:
        if ctx.json:
            ctx.emit_json({"error": str(exc)})
        else:
            ctx.err.write(f"Error: {exc}\n")
        return 255
    except KeyboardInterrupt:
        return 130
