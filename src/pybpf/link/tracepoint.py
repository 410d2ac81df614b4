"""Tracepoint programs (``SEC("tp/<category>/<name>")``) on perf tracepoint events.

As libbpf's ``bpf_program__attach_tracepoint()``: the tracepoint's id comes from tracefs
(``events/<category>/<name>/id``), a ``PERF_TYPE_TRACEPOINT`` event is opened on CPU 0 for
every process (``pid -1``), and the program is attached to it with a perf_event bpf_link
(Linux 5.15+) or ``PERF_EVENT_IOC_SET_BPF``.
"""

from __future__ import annotations

import ctypes
from typing import Any

from pybpf.errors import InvalidArgumentError
from pybpf.link.base import Link
from pybpf.link.perf_event import attach_perf_event
from pybpf.sys import uapi
from pybpf.sys.perf import perf_event_open
from pybpf.sys.tracefs import tracepoint_id

__all__ = ["attach_tracepoint", "open_tracepoint_event", "split_tracepoint"]


def split_tracepoint(name: str) -> tuple[str, str]:
    """``"sched/sched_switch"`` or ``"sched:sched_switch"`` -> ``("sched", "sched_switch")``."""
    for sep in ("/", ":"):
        if sep in name:
            cat, _, tp = name.partition(sep)
            if cat and tp and "/" not in tp:
                return cat, tp
    raise InvalidArgumentError(f"bad tracepoint name '{name}': expected CATEGORY/NAME")


def open_tracepoint_event(category: str, name: str, *, pid: int = -1, cpu: int = 0) -> Any:
    """``perf_event_open`` of tracepoint ``category:name`` (disabled until attached)."""
    tp_id = tracepoint_id(category, name)
    attr = uapi.perf_event_attr()
    attr.size = ctypes.sizeof(attr)
    attr.type = uapi.PERF_TYPE_TRACEPOINT
    attr.config = tp_id
    attr.sample_period = 1
    attr.wakeup_events = 1
    return perf_event_open(attr, pid=pid, cpu=cpu, what=f"tracepoint {category}:{name}")


def attach_tracepoint(program: Any, category: str, name: str | None = None, *, cookie: int = 0,
                      pid: int = -1, cpu: int = 0) -> Link:
    """Attach a tracepoint program to ``category``/``name`` (or ``"category/name"`` as one
    argument). ``cookie`` needs Linux 5.15+. Tracepoints exist only with tracefs mounted."""
    if name is None:
        category, name = split_tracepoint(category)
    pfd = open_tracepoint_event(category, name, pid=pid, cpu=cpu)
    return attach_perf_event(program, pfd, cookie=cookie, kind="tracepoint",
                             target=f"{category}/{name}")
