"""Live BPF programs (``Program``), loadable from raw instructions.

The names are imported from their modules on first use: ``from pybpf.programs.info import
ProgramInfo`` (``pybpf prog show``) does not load the program loader and the map layer.
"""

from __future__ import annotations

from pybpf.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

