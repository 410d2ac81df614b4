r"""``pybpf prog tracelog``: print the kernel's trace pipe, as ``bpftool prog tracelog``.

Lines are printed as they arrive (flushed each time); with ``-j`` each line becomes a JSON
string of an array that is closed when the command is stopped, escaped as bpftool's JSON writer
does (``\t \n \r \f \b \\ \"``; other bytes as they are). bpftool 7.1 writes a backslash
as ``\n`` (an old typo of its JSON writer); pybpf writes ``\\``, so the JSON means what the
line said. SIGINT, SIGTERM and SIGHUP end it cleanly with status 0, as in bpftool.
"""

from __future__ import annotations

import signal
from typing import Any

from pybpf.cli.common import CLIError, Context
from pybpf.events.tracelog import find_trace_pipe, follow

__all__ = ["do_tracelog"]


class _Stop(Exception):
    pass


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f", "\b": "\\b", "\\": "\\\\",
            '"': '\\"'}
_TABLE = str.maketrans(_ESCAPES)


def json_string(text: str) -> str:
    """``text`` as bpftool's ``jsonw_string`` writes it (see the module docstring)."""
    return '"' + text.translate(_TABLE) + '"'


def do_tracelog(ctx: Context, args: list[str]) -> int:
    """``pybpf prog tracelog``."""
    if args:
        raise CLIError(f"too many arguments: {' '.join(args)}")
    def info(msg: str) -> None:
        ctx.err.write(msg + "\n")

    pipe = find_trace_pipe(mount=not ctx.extra.get("nomount", False),
                           info=None if ctx.json else info)

    def stop(signum: int, frame: Any) -> None:
        raise _Stop()

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    out = ctx.out
    first = True
    if ctx.json:
        out.write("[")
        out.flush()
    try:
        for line in follow(pipe):
            if ctx.json:
                out.write(("" if first else ",") + json_string(line))
                first = False
            else:
                out.write(line)
            out.flush()
    except _Stop:
        pass
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if ctx.json:
            # bpftool's writer ends a non-empty array on a new line when pretty-printing
            out.write(("\n" if ctx.pretty and not first else "") + "]\n")
            out.flush()
    return 0
