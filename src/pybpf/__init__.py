"""pybpf: libbpf and bpftool in pure Python.

Load clang-compiled CO-RE BPF objects, create maps, load and attach programs, and stream events
from ring and perf buffers, with nothing but CPython on the target. See DESIGN.md for the layers.
"""

from __future__ import annotations

from pybpf.errors import (
    AttachError,
    BadFileError,
    BPFError,
    BTFError,
    BusyError,
    ClosedError,
    CORERelocationError,
    ELFError,
    ExistsError,
    InvalidArgumentError,
    KeyNotFoundError,
    NoSpaceError,
    NotFoundError,
    NotSupportedError,
    ObjectError,
    PermissionDeniedError,
    VerifierError,
)
from pybpf.maps import BatchResult, Map, MapInfo
from pybpf.programs import Program, ProgramInfo, TestRunResult, enable_stats
from pybpf.sys import FD

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AttachError",
    "BadFileError",
    "BPFError",
    "BTFError",
    "BusyError",
    "ClosedError",
    "CORERelocationError",
    "ELFError",
    "ExistsError",
    "InvalidArgumentError",
    "KeyNotFoundError",
    "NoSpaceError",
    "NotFoundError",
    "NotSupportedError",
    "ObjectError",
    "PermissionDeniedError",
    "VerifierError",
    "BatchResult",
    "FD",
    "Map",
    "MapInfo",
    "Program",
    "ProgramInfo",
    "TestRunResult",
    "enable_stats",
]
