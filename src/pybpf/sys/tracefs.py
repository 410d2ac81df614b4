"""tracefs, the perf PMU description files and ``/proc/kallsyms``: what the attach layer reads
and writes to turn names into perf events.

* :func:`tracefs_root` finds the mounted tracefs (``/sys/kernel/tracing``, else
  ``/sys/kernel/debug/tracing``), as libbpf does.
* :func:`tracepoint_id` reads ``events/<category>/<name>/id``.
* :func:`pmu_type` and :func:`pmu_config_bit` read ``/sys/bus/event_source/devices/<pmu>/``
  (``type``, ``format/retprobe``, ``format/ref_ctr_offset``) for the kprobe/uprobe PMUs.
* :func:`add_probe_event` / :func:`remove_probe_event` manage legacy ``kprobe_events`` /
  ``uprobe_events`` entries (for kernels without the perf PMUs, and for kretprobe maxactive).
* :func:`available_filter_functions` and :func:`kallsyms` list kernel functions.

Everything raises :mod:`pybpf.errors` classes naming the file involved.
"""

from __future__ import annotations

import errno as _errno
import os
import re
from typing import Iterator

from pybpf.errors import BPFError, InvalidArgumentError, NotFoundError, NotSupportedError, error_from_errno

__all__ = [
    "TRACEFS_CANDIDATES",
    "tracefs_root",
    "tracefs_path",
    "tracepoint_id",
    "pmu_type",
    "pmu_config_bit",
    "pmu_config_field",
    "add_probe_event",
    "remove_probe_event",
    "probe_event_exists",
    "available_filter_functions",
    "kallsyms",
    "kallsyms_has",
    "sanitize_event_name",
]

#: Where tracefs may be mounted, in libbpf's order of preference.
TRACEFS_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_PMU_DIR = "/sys/bus/event_source/devices"

_root_cache: list[str] = []


def tracefs_root() -> str:
    """The tracefs mount point. :class:`NotSupportedError` when none is mounted."""
    if _root_cache:
        return _root_cache[0]
    for path in TRACEFS_CANDIDATES:
        if os.path.exists(os.path.join(path, "events")) or os.path.exists(os.path.join(path, "README")):
            _root_cache.append(path)
            return path
    raise NotSupportedError("tracefs is not mounted (tried " + ", ".join(TRACEFS_CANDIDATES)
                            + "); mount it with: mount -t tracefs tracefs /sys/kernel/tracing")


def tracefs_path(*parts: str) -> str:
    """A path inside tracefs."""
    return os.path.join(tracefs_root(), *parts)


def _read_text(path: str, what: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, f"{what}: reading {path}", op="open") from None


def tracepoint_id(category: str, name: str) -> int:
    """The perf event id of tracepoint ``category:name`` (``events/<category>/<name>/id``).

    :class:`NotFoundError` naming the tracepoint when it does not exist.
    """
    if not category or not name or "/" in category or "/" in name or ".." in (category, name):
        raise InvalidArgumentError(f"bad tracepoint name '{category}/{name}'")
    path = tracefs_path("events", category, name, "id")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise NotFoundError(f"tracepoint '{category}/{name}' does not exist ({path} is missing)",
                            errno=_errno.ENOENT, op="open") from None
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, f"tracepoint '{category}/{name}': reading {path}",
                               op="open") from None
    try:
        return int(text.strip())
    except ValueError:
        raise BPFError(f"tracepoint '{category}/{name}': {path} holds {text.strip()!r}, not a number") from None


def pmu_type(pmu: str) -> int:
    """The dynamic perf ``type`` of PMU ``pmu`` (``"kprobe"``, ``"uprobe"``).

    :class:`NotSupportedError` when the kernel has no such PMU.
    """
    path = os.path.join(_PMU_DIR, pmu, "type")
    try:
        with open(path) as f:
            return int(f.read().strip())
    except FileNotFoundError:
        raise NotSupportedError(f"the kernel has no '{pmu}' perf PMU ({path} is missing)",
                                errno=_errno.ENOENT, op="open") from None
    except (OSError, ValueError) as exc:
        err = getattr(exc, "errno", None) or _errno.EINVAL
        raise error_from_errno(err, f"reading {path}", op="open") from None


_FORMAT = re.compile(r"^config:(\d+)(?:-(\d+))?$")


def pmu_config_field(pmu: str, field: str) -> tuple[int, int]:
    """``(first bit, last bit)`` of ``format/<field>`` of PMU ``pmu`` (``config:32-63``)."""
    path = os.path.join(_PMU_DIR, pmu, "format", field)
    text = _read_text(path, f"perf PMU '{pmu}'").strip()
    m = _FORMAT.match(text)
    if not m:
        raise BPFError(f"{path}: unexpected format {text!r} (expected config:N or config:N-M)")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    return lo, hi


def pmu_config_bit(pmu: str, field: str) -> int:
    """The bit number of a one-bit ``format/<field>`` (``retprobe`` -> 0)."""
    return pmu_config_field(pmu, field)[0]


def sanitize_event_name(name: str) -> str:
    """A tracefs event name: every character other than ``[A-Za-z0-9_]`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _events_file(kind: str) -> str:
    if kind not in ("kprobe", "uprobe"):
        raise InvalidArgumentError(f"probe kind must be 'kprobe' or 'uprobe', not {kind!r}")
    return tracefs_path(f"{kind}_events")


def _append(path: str, line: str, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, f"{what}: opening {path}", op="open") from None
    try:
        os.write(fd, line.encode())
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, f"{what}: writing '{line.strip()}' to {path}",
                               op="write") from None
    finally:
        os.close(fd)


def add_probe_event(kind: str, group: str, event: str, target: str, *, retprobe: bool = False,
                    maxactive: int = 0) -> int:
    """Add a legacy ``kprobe_events``/``uprobe_events`` entry and return its tracepoint id.

    ``target`` is ``func+0xOFF`` for kprobes and ``/path:0xOFF`` (optionally
    ``(0xREFCTR)``) for uprobes. ``maxactive`` (kretprobes only) is written as ``r<N>``.
    The entry is removed again if its id cannot be read, so nothing is left behind.
    """
    path = _events_file(kind)
    letter = "r" if retprobe else "p"
    if maxactive:
        if not retprobe or kind != "kprobe":
            raise InvalidArgumentError("maxactive applies to kretprobes only")
        letter += str(int(maxactive))
    line = f"{letter}:{group}/{event} {target}\n"
    _append(path, line, f"adding {kind} event {group}/{event}")
    try:
        return tracepoint_id(group, event)
    except BPFError:
        remove_probe_event(kind, group, event)
        raise


def remove_probe_event(kind: str, group: str, event: str) -> None:
    """Remove a legacy probe event (``-:group/event``). Missing events are ignored."""
    path = _events_file(kind)
    try:
        _append(path, f"-:{group}/{event}\n", f"removing {kind} event {group}/{event}")
    except NotFoundError:
        pass


def probe_event_exists(kind: str, group: str, event: str) -> bool:
    """True when ``<kind>_events`` lists ``group/event``."""
    text = _read_text(_events_file(kind), f"{kind} events")
    needle = f":{group}/{event} "
    return any(needle in line + " " for line in text.splitlines())


def available_filter_functions() -> list[str]:
    """Kernel functions that ftrace (and so kprobe.multi/fentry) can attach to, module suffixes
    dropped. Empty on kernels built without ftrace-patchable functions."""
    text = _read_text(tracefs_path("available_filter_functions"), "available filter functions")
    out: list[str] = []
    for line in text.splitlines():
        name = line.split(maxsplit=1)[0] if line.strip() else ""
        if name and not name.startswith("__ftrace_invalid_address__"):
            out.append(name)
    return out


def kallsyms() -> Iterator[tuple[int, str, str, str]]:
    """``(address, type letter, name, module)`` of every line of ``/proc/kallsyms``."""
    try:
        f = open("/proc/kallsyms")
    except OSError as exc:
        raise error_from_errno(exc.errno or _errno.EIO, "reading /proc/kallsyms", op="open") from None
    with f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            module = parts[3].strip("[]") if len(parts) > 3 else ""
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            yield addr, parts[1], parts[2], module


def kallsyms_has(name: str) -> bool:
    """True when ``/proc/kallsyms`` lists a symbol ``name``."""
    needle = f" {name}\n"
    needle_mod = f" {name}\t"
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                if line.endswith(needle) or needle_mod in line:
                    return True
    except OSError:
        return False
    return False
