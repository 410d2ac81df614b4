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
from pybpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs milliseconds
if TYPE_CHECKING:  # imported lazily below, so that "import pybpf" stays cheap
    from pybpf.maps import BatchResult, Map, MapInfo
    from pybpf.object import Object, ObjectSpec
    from pybpf.programs import Program, ProgramInfo, TestRunResult, enable_stats
    from pybpf.events import PerfBuffer, RingBuffer, UserRingBuffer
    from pybpf.sys import FD

__version__ = "0.1.0"

# Live objects load the kernel interface (ctypes, generated layouts) on first use only.
_LAZY = {
    "BatchResult": "pybpf.maps", "Map": "pybpf.maps", "MapInfo": "pybpf.maps",
    "Program": "pybpf.programs", "ProgramInfo": "pybpf.programs",
    "TestRunResult": "pybpf.programs", "enable_stats": "pybpf.programs", "FD": "pybpf.sys",
    "RingBuffer": "pybpf.events", "PerfBuffer": "pybpf.events", "UserRingBuffer": "pybpf.events",
    "ObjectSpec": "pybpf.object.spec", "Object": "pybpf.object.live",
}


__getattr__ = lazy_exports(globals(), _LAZY)[0]

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
    "Object",
    "ObjectSpec",
    "Program",
    "ProgramInfo",
    "TestRunResult",
    "enable_stats",
    "PerfBuffer",
    "RingBuffer",
    "UserRingBuffer",
]
