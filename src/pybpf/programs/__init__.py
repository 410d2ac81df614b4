"""Live BPF programs (``Program``), loadable from raw instructions."""

from __future__ import annotations

from pybpf.programs.info import ProgramInfo
from pybpf.programs.program import Program, TestRunResult, instructions_bytes
from pybpf.sys.commands import enable_stats

__all__ = ["Program", "ProgramInfo", "TestRunResult", "enable_stats", "instructions_bytes"]
