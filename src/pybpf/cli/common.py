"""Shared pieces of the command line: the run context, bpftool-style prefix matching, output.

bpftool accepts any unambiguous prefix of a keyword (``bpftool p s`` is ``prog show``); the
helpers here do the same so that bpftool users need no new habits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from pybpf.errors import BPFError
from pybpf.record import Record, field_spec

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: every command starts faster without typing
if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["CLIError", "Context", "is_prefix", "dispatch", "Handler"]


class CLIError(BPFError):
    """A command line that cannot be carried out (bad syntax, nothing matches a selector)."""


class Context(Record, frozen=False):
    """Global options and output streams for one command line invocation."""

    json: bool = False
    pretty: bool = False
    debug: bool = False
    bpffs: bool = False  # -f/--bpffs: show pinned paths
    extra: dict[str, Any] = field_spec(default_factory=dict)
    out: TextIO = field_spec(default_factory=lambda: sys.stdout)
    err: TextIO = field_spec(default_factory=lambda: sys.stderr)

    def emit_json(self, value: Any) -> None:
        """Print ``value`` as bpftool's json_writer does: compact with ``-j``; with ``-p``
        indented by 4 in its layout (``[{`` kept together, scalar arrays on one line, ...).
        Values: dict/list/str/int/bool/None and :class:`pybpf.jsonw.Raw`/:class:`~pybpf.jsonw.Object`."""
        from pybpf.jsonw import dumps

        self.out.write(dumps(value, self.pretty))


Handler = Callable[[Context, list[str]], int]


def is_prefix(arg: str, word: str) -> bool:
    """True when ``arg`` is a non-empty prefix of ``word`` (bpftool's matching rule)."""
    return bool(arg) and word.startswith(arg)


def dispatch(ctx: Context, args: list[str], table: dict[str, Handler], what: str) -> int:
    """Run the handler whose keyword ``args[0]`` is a prefix of; the first match in table order wins.

    bpftool resolves prefixes in its table order (so ``p`` is ``prog`` before ``perf``); the
    table's insertion order plays that role here.
    """
    if not args:
        args = ["help"] if "help" in table else []
        if not args:
            raise CLIError(f"expected a {what} command")
    for word, handler in table.items():
        if is_prefix(args[0], word):
            return handler(ctx, args[1:])
    raise CLIError(f"unknown {what} command '{args[0]}'")
