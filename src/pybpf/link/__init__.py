"""Attaching programs: one module per attach kind, each returning a :class:`Link`."""

from pybpf.link.base import Link
from pybpf.link.info import LinkInfo
from pybpf.link.iter import IterLink, attach_iter
from pybpf.link.perf_event import PerfEventLinks, attach_perf_event, attach_sampling
from pybpf.link.raw_tracepoint import attach_raw_tracepoint
from pybpf.link.tracepoint import attach_tracepoint
from pybpf.link.tracing import attach_freplace, attach_lsm, attach_trace

__all__ = [
    "Link", "LinkInfo", "IterLink", "PerfEventLinks",
    "attach_iter", "attach_perf_event", "attach_sampling", "attach_raw_tracepoint",
    "attach_tracepoint", "attach_trace", "attach_lsm", "attach_freplace",
]
