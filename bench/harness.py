"""Side-by-side benchmark harness: pybpf and its C counterpart, interleaved, in one run.

A *pair* is two whole-process commands (pybpf's and the C tool's) doing the same work. They run
alternately (A B A B …) after a warm-up so drift in machine speed hits both alike; each run's
wall time is taken around the process, and its CPU times and peak RSS come from the kernel's own
accounting of the finished child (``wait4``). A *metric* is an in-process figure (events/s,
ops/s) measured by a function on both sides; it is reported the same way.

Reports quote medians, the min–max spread, and the ratio pybpf/C computed pair by pair.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = [
    "Pair", "Metric", "RunStats", "Result", "run_pair", "run_metric", "pybpf_argv", "python_argv",
]


def pybpf_argv(*args: str) -> list[str]:
    """argv for the installed ``pybpf`` console script (never a pyenv shim: the shim alone
    adds ~80 ms); falls back to the real interpreter with ``-m pybpf``."""
    script = os.path.join(sysconfig.get_path("scripts"), "pybpf")
    if os.path.exists(script):
        return [script, *args]
    return python_argv("-m", "pybpf", *args)


def python_argv(*args: str) -> list[str]:
    """argv for the real interpreter running this harness (``sys.executable``, not a shim)."""
    return [os.path.realpath(sys.executable), *args]


@dataclass
class Pair:
    """Two commands doing the same job; ``a`` is pybpf's, ``b`` the C counterpart's."""

    name: str
    a: Sequence[str]
    b: Sequence[str]
    #: what the figure means, shown in the report
    what: str = ""
    env: dict[str, str] | None = None
    #: called before each run (both sides), e.g. to drop a cache for a cold measurement
    before_each: Callable[[], None] | None = None
    #: commands that must exist for the pair to run (else it is reported as skipped)
    needs: tuple[str, ...] = ()


@dataclass
class Metric:
    """An in-process figure measured by two functions (pybpf's and the C-backed one).

    Each function returns one sample (e.g. events per second). ``higher_is_better`` tells how
    to read the ratio.
    """

    name: str
    unit: str
    a: Callable[[], float]
    b: Callable[[], float] | None
    what: str = ""
    higher_is_better: bool = True
    b_label: str = "C"


@dataclass
class RunStats:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else float("nan")


@dataclass
class Result:
    name: str
    what: str
    unit: str
    a: RunStats
    b: RunStats | None
    ratios: RunStats
    a_rss_kb: RunStats = field(default_factory=RunStats)
    b_rss_kb: RunStats = field(default_factory=RunStats)
    note: str = ""
    skipped: str = ""
    higher_is_better: bool = False
    b_label: str = "C"


# A child forked from this (large) Python process inherits its resident set until exec, and the
# kernel keeps that high-water mark in the child's ru_maxrss. GNU time forks from a tiny process,
# so the peak it reports is the command's own. Both sides pay its ~1 ms alike.
GNU_TIME = "/usr/bin/time"


def _run_once(argv: Sequence[str], env: dict[str, str] | None) -> tuple[float, int, int]:
    """Run argv to completion; (wall seconds, peak RSS in KiB, exit status)."""
    import tempfile

    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.NamedTemporaryFile("r", prefix="bench-rss-") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if os.path.exists(GNU_TIME) else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=full_env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        maxrss = usage.ru_maxrss
        if wrapped is not argv:
            text = rss_file.read().strip().splitlines()
            if text and text[-1].isdigit():
                maxrss = int(text[-1])
    return wall, maxrss, code


def run_pair(pair: Pair, runs: int = 5, warmup: int = 1) -> Result:
    """Time ``pair`` as ``runs`` interleaved A/B runs after ``warmup`` of each."""
    missing = [n for n in pair.needs if shutil.which(n) is None and not os.path.exists(n)]
    res = Result(pair.name, pair.what, "s", RunStats(), RunStats(), RunStats())
    if missing:
        res.skipped = f"missing {', '.join(missing)}"
        return res
    failures = []
    for i in range(warmup + runs):
        pair_samples = []
        for side, argv, rss in (("pybpf", pair.a, res.a_rss_kb), ("C", pair.b, res.b_rss_kb)):
            if pair.before_each:
                pair.before_each()
            wall, maxrss, code = _run_once(argv, pair.env)
            if code != 0:
                failures.append(f"{side} exited {code}: {' '.join(argv)}")
            pair_samples.append(wall)
            if i >= warmup:
                rss.samples.append(maxrss)
        if i >= warmup:
            res.a.samples.append(pair_samples[0])
            assert res.b is not None
            res.b.samples.append(pair_samples[1])
            res.ratios.samples.append(pair_samples[0] / pair_samples[1])
    if failures:
        res.note = "; ".join(sorted(set(failures)))
    return res


def run_metric(metric: Metric, runs: int = 5, warmup: int = 1) -> Result:
    """Sample both sides of ``metric`` alternately; ratio = pybpf / C per pair."""
    res = Result(metric.name, metric.what, metric.unit, RunStats(), RunStats() if metric.b else None,
                 RunStats(), higher_is_better=metric.higher_is_better, b_label=metric.b_label)
    for i in range(warmup + runs):
        a = metric.a()
        b = metric.b() if metric.b else None
        if i < warmup:
            continue
        res.a.samples.append(a)
        if b is not None and res.b is not None:
            res.b.samples.append(b)
            res.ratios.samples.append(a / b if b else float("nan"))
    return res
