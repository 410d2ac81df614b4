"""CPU lists from sysfs: per-CPU map values hold one slot per *possible* CPU.

The kernel copies per-CPU values for every possible CPU (``for_each_possible_cpu``), so the
number of slots comes from /sys/devices/system/cpu/possible, not from the online count.
"""

from __future__ import annotations

import functools

from pybpf.errors import BPFError, error_from_errno

__all__ = ["parse_cpu_list", "possible_cpus", "online_cpus", "num_possible_cpus"]

POSSIBLE = "/sys/devices/system/cpu/possible"
ONLINE = "/sys/devices/system/cpu/online"


def parse_cpu_list(text: str) -> list[int]:
    """Parse the kernel's CPU list format (``"0-3,5,7-8"``) into sorted CPU numbers."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise BPFError(f"malformed CPU list {text.strip()!r}: bad range {part!r}") from None
        if a < 0 or b < a:
            raise BPFError(f"malformed CPU list {text.strip()!r}: bad range {part!r}")
        cpus.update(range(a, b + 1))
    return sorted(cpus)


def _read_list(path: str) -> list[int]:
    try:
        with open(path) as f:
            text = f.read()
    except OSError as exc:
        raise error_from_errno(exc.errno or 0, f"reading {path}", op="open") from None
    cpus = parse_cpu_list(text)
    if not cpus:
        raise BPFError(f"{path} lists no CPU")
    return cpus


@functools.lru_cache(maxsize=None)
def possible_cpus() -> tuple[int, ...]:
    """The possible CPUs (cached: the set cannot change while the system runs)."""
    return tuple(_read_list(POSSIBLE))


def online_cpus() -> list[int]:
    """The CPUs online right now (not cached: CPUs can go on- and offline)."""
    return _read_list(ONLINE)


def num_possible_cpus() -> int:
    """How many slots a per-CPU map value has (libbpf's ``libbpf_num_possible_cpus``)."""
    return len(possible_cpus())
