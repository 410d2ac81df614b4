"""Opening kprobe/uprobe perf events, the way libbpf does it.

* The perf PMU way (Linux 4.17+): ``perf_event_open`` with the ``kprobe``/``uprobe`` PMU's
  dynamic type, the function name (or binary path) in ``config1``, the offset (or address) in
  ``config2``, the ``retprobe`` bit and, for uprobes, the semaphore's ``ref_ctr_offset`` in
  ``config`` at the positions the PMU's ``format/`` files give.
* The legacy way: an entry in tracefs ``kprobe_events``/``uprobe_events`` (named
  ``pybpf_<pid>_...``), opened as a tracepoint event and removed again when the link is
  detached. Used when the kernel has no PMU, when asked (``mode="legacy"``) and for kretprobes
  with ``maxactive`` (which only the tracefs interface takes).
"""

from __future__ import annotations

import ctypes
import itertools
import os
from typing import Any, Callable

from pybpf.errors import BPFError, InvalidArgumentError, NotSupportedError
from pybpf.link.base import Link
from pybpf.link.perf_event import attach_perf_event
from pybpf.sys import uapi
from pybpf.sys.fd import FD
from pybpf.sys.perf import perf_event_open
from pybpf.sys.tracefs import (add_probe_event, pmu_config_bit, pmu_config_field, pmu_type,
                               remove_probe_event, sanitize_event_name, tracefs_path)

__all__ = ["ATTACH_MODES", "probe_perf_attr", "open_probe_pmu", "open_probe_legacy",
           "attach_probe", "legacy_event_name"]

#: libbpf's ``enum probe_attach_mode``.
ATTACH_MODES = ("default", "legacy", "perf", "link")

_counter = itertools.count()


def legacy_event_name(kind: str, target: str, offset: int) -> str:
    """A unique tracefs event name: ``pybpf_<pid>_<n>_<target>_0x<offset>`` (sanitized)."""
    return sanitize_event_name(f"pybpf_{os.getpid()}_{next(_counter)}_{target}_0x{offset:x}")[:200]


def probe_perf_attr(uprobe: bool, retprobe: bool, name: bytes | None, offset: int,
                    ref_ctr_offset: int = 0) -> tuple[uapi.perf_event_attr, Any]:
    """The ``perf_event_attr`` for a PMU probe and the buffer ``config1`` points to (keep it
    alive until ``perf_event_open`` returns)."""
    pmu = "uprobe" if uprobe else "kprobe"
    attr = uapi.perf_event_attr()
    attr.size = ctypes.sizeof(attr)
    attr.type = pmu_type(pmu)
    config = 0
    if retprobe:
        config |= 1 << pmu_config_bit(pmu, "retprobe")
    if ref_ctr_offset:
        lo, _hi = pmu_config_field("uprobe", "ref_ctr_offset")
        config |= ref_ctr_offset << lo
    attr.config = config
    buf = ctypes.create_string_buffer(name) if name is not None else None
    attr.config1 = ctypes.addressof(buf) if buf is not None else 0
    attr.config2 = offset
    return attr, buf


def _cpu_for(pid: int) -> tuple[int, int]:
    pid = -1 if pid < 0 else pid
    return pid, (0 if pid == -1 else -1)


def open_probe_pmu(uprobe: bool, retprobe: bool, name: str | None, offset: int, pid: int = -1,
                   ref_ctr_offset: int = 0) -> FD:
    """``perf_event_open`` of a PMU kprobe (``name`` = function, or None with ``offset`` = a
    kernel address) or uprobe (``name`` = binary path, ``offset`` = file offset)."""
    raw = os.fsencode(name) if name is not None else None
    attr, keep = probe_perf_attr(uprobe, retprobe, raw, offset, ref_ctr_offset)
    pid, cpu = _cpu_for(pid)
    kind = ("uretprobe" if retprobe else "uprobe") if uprobe else ("kretprobe" if retprobe else "kprobe")
    try:
        return perf_event_open(attr, pid=pid, cpu=cpu, what=f"{kind} {name or ''}+0x{offset:x}")
    finally:
        del keep


def open_probe_legacy(uprobe: bool, retprobe: bool, name: str, offset: int, pid: int = -1,
                      ref_ctr_offset: int = 0, maxactive: int = 0) -> tuple[FD, Callable[[], None]]:
    """Add a tracefs probe event and open it; returns the perf FD and the function that
    removes the event (call it after closing the FD)."""
    kind = "uprobe" if uprobe else "kprobe"
    group = "uprobes" if uprobe else "kprobes"
    event = legacy_event_name(kind, os.path.basename(name) if uprobe else name, offset)
    if uprobe:
        target = f"{name}:0x{offset:x}" + (f"(0x{ref_ctr_offset:x})" if ref_ctr_offset else "")
    else:
        target = f"{name}+0x{offset:x}" if offset else name
    tp_id = add_probe_event(kind, group, event, target, retprobe=retprobe, maxactive=maxactive)

    def remove() -> None:
        remove_probe_event(kind, group, event)

    attr = uapi.perf_event_attr()
    attr.size = ctypes.sizeof(attr)
    attr.type = uapi.PERF_TYPE_TRACEPOINT
    attr.config = tp_id
    attr.sample_period = 1
    attr.wakeup_events = 1
    pid, cpu = _cpu_for(pid)
    try:
        fd = perf_event_open(attr, pid=pid, cpu=cpu, what=f"legacy {kind} event {group}/{event}")
    except BaseException:
        remove()
        raise
    return fd, remove


def _pmu_available(uprobe: bool) -> bool:
    try:
        pmu_type("uprobe" if uprobe else "kprobe")
        return True
    except BPFError:
        return False


def _legacy_available(uprobe: bool) -> bool:
    try:
        return os.path.exists(tracefs_path(("uprobe" if uprobe else "kprobe") + "_events"))
    except BPFError:
        return False


def attach_probe(program: Any, *, uprobe: bool, retprobe: bool, name: str, offset: int, pid: int = -1,
                 ref_ctr_offset: int = 0, cookie: int = 0, mode: str = "default", maxactive: int = 0,
                 target: str = "") -> Link:
    """Open the probe (PMU or legacy by ``mode`` and what the kernel has) and attach ``program``."""
    if mode not in ATTACH_MODES:
        raise InvalidArgumentError(f"attach mode must be one of {', '.join(ATTACH_MODES)}, not {mode!r}")
    kind = ("uretprobe" if retprobe else "uprobe") if uprobe else ("kretprobe" if retprobe else "kprobe")
    if maxactive and (uprobe or not retprobe):
        raise InvalidArgumentError("maxactive applies to kretprobes only")
    has_pmu = _pmu_available(uprobe)
    legacy = mode == "legacy" or (mode == "default" and (not has_pmu or maxactive))
    if not legacy and not has_pmu:
        raise NotSupportedError(f"{kind} attach mode '{mode}' needs the kernel's "
                                f"{'uprobe' if uprobe else 'kprobe'} perf PMU (Linux 4.17+)")
    if legacy and not _legacy_available(uprobe):
        events = ("uprobe" if uprobe else "kprobe") + "_events"
        config = "CONFIG_UPROBE_EVENTS" if uprobe else "CONFIG_KPROBES/CONFIG_KPROBE_EVENTS"
        raise NotSupportedError(f"cannot attach {kind} {target or name}: this kernel has neither the "
                                f"{'uprobe' if uprobe else 'kprobe'} perf PMU nor tracefs {events} "
                                f"({config} is off)", errno=95)
    force_ioctl = mode in ("legacy", "perf")
    if legacy:
        pfd, remove = open_probe_legacy(uprobe, retprobe, name, offset, pid, ref_ctr_offset, maxactive)
        return attach_perf_event(program, pfd, cookie=cookie, force_ioctl=force_ioctl, kind=kind,
                                 target=target or name, on_released=remove)
    pfd = open_probe_pmu(uprobe, retprobe, name, offset, pid, ref_ctr_offset)
    return attach_perf_event(program, pfd, cookie=cookie, force_ioctl=force_ioctl, kind=kind,
                             target=target or name)
