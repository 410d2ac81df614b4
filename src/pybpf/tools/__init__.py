"""libbpf-tools-style tools, each with its BPF C source and the built object beside it.

Every tool is a module here with ``NAME``, ``SUMMARY`` and ``main(argv) -> int``; its BPF side
is ``<tool>.bpf.c``, compiled by ``make bpf`` (clang-19, CO-RE, against a vmlinux.h that pybpf
generates) into ``<tool>.bpf.o``, which ships in the package: no compiler is needed at run time.
Run them as ``pybpf tool NAME [ARGS]``; ``pybpf tool list`` lists them.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: tools start faster without typing
if TYPE_CHECKING:
    from typing import Sequence

__all__ = ["TOOLS", "run", "summary"]

#: tool name -> (module, one-line description); the order of ``pybpf tool list``
TOOLS: dict[str, tuple[str, str]] = {
    "execsnoop": ("pybpf.tools.execsnoop", "Trace exec syscalls"),
    "opensnoop": ("pybpf.tools.opensnoop", "Trace open family syscalls"),
}


def summary(name: str) -> str:
    """The tool's one-line description."""
    return TOOLS[name][1]


def run(name: str, argv: Sequence[str]) -> int:
    """Run tool ``name`` with ``argv`` (its arguments only); returns the exit status.

    ``KeyError`` when there is no such tool.
    """
    module = importlib.import_module(TOOLS[name][0])
    return int(module.main(list(argv)))
