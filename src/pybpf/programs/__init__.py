"""Live BPF programs (``Program``), loadable from raw instructions.

The names are imported from their modules on first use: ``from pybpf.programs.info import
ProgramInfo`` (``pybpf prog show``) does not load the program loader and the map layer.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.programs.info import ProgramInfo
    from pybpf.programs.program import Program, TestRunResult, instructions_bytes
    from pybpf.sys.commands import enable_stats

__all__ = ["Program", "ProgramInfo", "TestRunResult", "enable_stats", "instructions_bytes"]

_LAZY = {
    "Program": "pybpf.programs.program", "TestRunResult": "pybpf.programs.program",
    "instructions_bytes": "pybpf.programs.program", "ProgramInfo": "pybpf.programs.info",
    "enable_stats": "pybpf.sys.commands",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
