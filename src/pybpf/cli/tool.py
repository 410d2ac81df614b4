"""``pybpf tool``: run the libbpf-tools-style tools shipped with pybpf.

::

    pybpf tool { list | help }
    pybpf tool NAME [ARGS...]

``NAME [ARGS...]`` runs the tool with its own options (``pybpf tool execsnoop -h`` prints its
help); everything after NAME belongs to the tool. ``list`` shows the tools (``-j`` for JSON).
"""

from __future__ import annotations

from pybpf.cli.common import CLIError, Context
from pybpf.tools import TOOLS, run as run_tool

__all__ = ["run", "USAGE"]

USAGE = """Usage: pybpf tool { list | help }
       pybpf tool NAME [ARGS...]

       NAME := { %s }
""" % " | ".join(TOOLS)


def do_list(ctx: Context) -> int:
    if ctx.json:
        ctx.emit_json([{"name": name, "summary": summary} for name, (_, summary) in TOOLS.items()])
        return 0
    width = max(len(n) for n in TOOLS)
    for name, (_, summary) in TOOLS.items():
        ctx.out.write(f"{name:<{width}}  {summary}\n")
    return 0


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf tool ...`` (module protocol of :mod:`pybpf.cli.main`)."""
    if not args or args[0] == "help":
        ctx.out.write(USAGE)
        return 0
    word = args[0]
    if word in TOOLS:
        ctx.out.flush()
        return run_tool(word, args[1:])
    if word == "list":
        return do_list(ctx)
    raise CLIError(f"tool '{word}' is unknown, have you tried 'pybpf tool list'?")
