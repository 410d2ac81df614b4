"""Side-by-side benchmark harness: pybpf and its C counterpart, interleaved, in one run.

A *pair* is two whole-process commands (pybpf's and the C tool's) doing the same work. They run
alternately (A B B A A B …) after discarded warm-up pairs so drift in machine speed hits both
alike; each run's wall time is taken around the process, and its peak RSS comes from GNU time
(``/usr/bin/time -f %M``, forked from a tiny process so the figure is the command's own). A
*metric* is an in-process figure (events/s, ops/s, or seconds a child process measured around
its own work) sampled by a function on each side; it is reported the same way.

Reports quote medians, the min–max spread, and the ratio pybpf/C computed pair by pair. The
order within a pair alternates (pybpf first, then the counterpart first, …) so neither side
always inherits the other's warm caches. A row may carry the :class:`Budget` it is judged
against (DESIGN.md and the issues set them); the report says whether the median meets it.

A row whose counterpart (or anything else it needs) is missing is reported as skipped, naming
what to install; a side that fails is reported as failed with its error. Neither stops the run.
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
    "Budget", "Pair", "Metric", "Skipped", "RunStats", "Result", "run_pair", "run_metric", "run_item",
    "missing", "pybpf_argv", "python_argv", "vm_hwm_kib", "DEBIAN_PACKAGE",
]

#: where a missing requirement comes from (Debian package); scripts/setup-test-env.sh installs them
DEBIAN_PACKAGE = {
    "bpftool": "bpftool", "libbpf.so.1": "libbpf1", "clang-19": "clang-19", "gcc": "gcc",
    "stdbuf": "coreutils", "/usr/bin/time": "time", "/usr/sbin/execsnoop": "libbpf-tools",
    "/usr/sbin/opensnoop": "libbpf-tools", "/usr/include/bpf/libbpf.h": "libbpf-dev",
}


def _have(need: str) -> bool:
    if need == "root":
        return os.geteuid() == 0
    if ".so" in os.path.basename(need) and not need.startswith("/"):
        import ctypes

        try:
            ctypes.CDLL(need)
        except OSError:
            return False
        return True
    return shutil.which(need) is not None or os.path.exists(need)


def missing(needs: Sequence[str]) -> str:
    """'' when every requirement is there, else a message naming what is missing and its package."""
    gone = []
    for need in needs:
        if _have(need):
            continue
        if need == "root":
            gone.append("root (BPF needs CAP_BPF/CAP_SYS_ADMIN)")
        elif need in DEBIAN_PACKAGE:
            gone.append(f"{need} (Debian package {DEBIAN_PACKAGE[need]}; `make bench` installs it)")
        else:
            gone.append(need)
    return "missing " + ", ".join(gone) if gone else ""


def vm_hwm_kib(pid: int | str = "self") -> int:
    """Peak resident set of a live process (VmHWM), KiB. Unlike ru_maxrss this counts only the
    process's current image, not what it inherited from a large parent before exec."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


@dataclass(frozen=True)
class Budget:
    """What a row must meet. ``on`` is ``"ratio"`` (the median pybpf/counterpart ratio) or
    ``"pybpf"`` (pybpf's own median, in the row's unit); ``op`` is ``"<="`` or ``">="``."""

    on: str
    op: str
    limit: float
    #: where the budget is set (DESIGN.md, an issue)
    source: str = ""
    #: how to show it, when the row's unit would not say it as the source does ("40 MB")
    text: str = ""

    def describe(self, unit: str) -> str:
        if self.text:
            return self.text
        if self.on == "ratio":
            return f"ratio {self.op} {self.limit:g}×"
        if unit == "s":
            value = f"{self.limit * 1000:g} ms" if self.limit < 1 else f"{self.limit:g} s"
        elif self.limit >= 1e6:
            value = f"{self.limit / 1e6:g} M{unit}"
        else:
            value = f"{self.limit:g} {unit}"
        return f"pybpf {self.op} {value}"

    def met(self, result: "Result") -> bool | None:
        stats = result.ratios if self.on == "ratio" else result.a
        if not stats.samples:
            return None
        value = stats.median
        return value <= self.limit if self.op == "<=" else value >= self.limit


def pybpf_argv(*args: str) -> list[str]:
    """argv for the installed ``pybpf`` console script (never a pyenv shim: the shim alone
    adds ~80 ms); falls back to the real interpreter with ``-m pybpf``."""
    script = os.path.join(sysconfig.get_path("scripts"), "pybpf")
    if os.path.exists(script) and _real_shebang(script):
        return [script, *args]
    return python_argv("-m", "pybpf", *args)


def _real_shebang(script: str) -> bool:
    """True when the script's interpreter line names a real interpreter, not a pyenv shim."""
    try:
        with open(script, "rb") as f:
            first = f.readline()
    except OSError:
        return False
    if not first.startswith(b"#!"):
        return False
    interp = first[2:].split()[0].decode(errors="replace") if first[2:].split() else ""
    return bool(interp) and "/shims/" not in interp and os.path.exists(interp)


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
    #: called once when the pair is done (or failed), e.g. to remove what the last run pinned
    after: Callable[[], None] | None = None
    #: commands/files that must exist for the pair to run (else it is reported as skipped);
    #: "root" for BPF privileges, "libbpf.so.1" for a loadable library
    needs: tuple[str, ...] = ()
    budget: Budget | None = None
    #: how the report names the counterpart (default: the command's name, e.g. "bpftool")
    b_label: str = ""


@dataclass
class Metric:
    """An in-process figure measured by two functions (pybpf's and the C-backed one).

    Each function returns one sample (e.g. events per second), or ``(sample, peak_rss_kib)``
    when it ran the work in a child process and knows its peak RSS. ``higher_is_better`` tells
    how to read the ratio.
    """

    name: str
    unit: str
    a: Callable[[], float]
    b: Callable[[], float] | None
    what: str = ""
    higher_is_better: bool = True
    b_label: str = "C"
    #: as :attr:`Pair.needs`
    needs: tuple[str, ...] = ()
    budget: Budget | None = None


@dataclass
class Skipped:
    """A row that cannot run here (no root, no kernel BTF, counterpart missing): the report
    names it and why instead of leaving it out silently."""

    name: str
    reason: str
    what: str = ""


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
    budget: Budget | None = None
    #: a side failed (exception or non-zero exit); the figures are not to be trusted
    failed: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the budget is met (None: no budget, or nothing measured)."""
        if self.budget is None or self.skipped or self.failed:
            return None
        return self.budget.met(self)


# A child forked from this (large) Python process inherits its resident set until exec, and the
# kernel keeps that high-water mark in the child's ru_maxrss. GNU time forks from a tiny process,
# so the peak it reports is the command's own. Both sides pay its ~1 ms alike.
GNU_TIME = "/usr/bin/time"


def _run_once(argv: Sequence[str], env: dict[str, str] | None) -> tuple[float, int | None, int]:
    """Run argv to completion; (wall seconds, peak RSS in KiB or None, exit status)."""
    import tempfile

    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.NamedTemporaryFile("r", prefix="bench-rss-") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if os.path.exists(GNU_TIME) else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=full_env)
        _, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        # without GNU time, ru_maxrss may be the harness's own inherited peak: report none
        maxrss = None
        if wrapped is not argv:
            text = rss_file.read().strip().splitlines()
            if text and text[-1].isdigit():
                maxrss = int(text[-1])
    return wall, maxrss, code


def run_pair(pair: Pair, runs: int = 5, warmup: int = 1) -> Result:
    """Time ``pair`` as ``runs`` interleaved A/B runs after ``warmup`` of each."""
    res = Result(pair.name, pair.what, "s", RunStats(), RunStats(), RunStats(), budget=pair.budget,
                 b_label=pair.b_label or os.path.basename(pair.b[0]))
    res.skipped = missing(pair.needs)
    if res.skipped:
        return res
    try:
        _run_pair_runs(pair, res, runs, warmup)
    finally:
        if pair.after:
            pair.after()
    return res


def _run_pair_runs(pair: Pair, res: Result, runs: int, warmup: int) -> None:
    failures = []
    sides = (("pybpf", pair.a, res.a_rss_kb), ("C", pair.b, res.b_rss_kb))
    for i in range(warmup + runs):
        wall_of = {}
        for side, argv, rss in (sides if i % 2 == 0 else sides[::-1]):
            if pair.before_each:
                pair.before_each()
            wall, maxrss, code = _run_once(argv, pair.env)
            if code != 0:
                failures.append(f"{side} exited {code}: {' '.join(argv)}")
            wall_of[side] = wall
            if i >= warmup and maxrss is not None:
                rss.samples.append(maxrss)
        if i >= warmup:
            res.a.samples.append(wall_of["pybpf"])
            assert res.b is not None
            res.b.samples.append(wall_of["C"])
            res.ratios.samples.append(wall_of["pybpf"] / wall_of["C"])
    if failures:
        res.failed = res.note = "; ".join(sorted(set(failures)))


def run_metric(metric: Metric, runs: int = 5, warmup: int = 1) -> Result:
    """Sample both sides of ``metric`` alternately; ratio = pybpf / C per pair."""
    res = Result(metric.name, metric.what, metric.unit, RunStats(), RunStats() if metric.b else None,
                 RunStats(), higher_is_better=metric.higher_is_better, b_label=metric.b_label,
                 budget=metric.budget)
    res.skipped = missing(metric.needs)
    if res.skipped:
        return res
    sides = [("a", metric.a, res.a_rss_kb)]
    if metric.b is not None:
        sides.append(("b", metric.b, res.b_rss_kb))
    for i in range(warmup + runs):
        got: dict[str, float] = {}
        for side, fn, rss in (sides if i % 2 == 0 else sides[::-1]):
            sample = fn()
            if isinstance(sample, tuple):
                sample, peak = sample
                if i >= warmup:
                    rss.samples.append(peak)
            got[side] = sample
        if i < warmup:
            continue
        res.a.samples.append(got["a"])
        if "b" in got and res.b is not None:
            res.b.samples.append(got["b"])
            res.ratios.samples.append(got["a"] / got["b"] if got["b"] else float("nan"))
    return res


def run_item(item: "Pair | Metric | Skipped", runs: int = 5, warmup: int = 1) -> Result:
    """Run one row; a skip or a failure becomes a row saying so (the run goes on)."""
    if isinstance(item, Skipped):
        return Result(item.name, item.what, "s", RunStats(), None, RunStats(), skipped=item.reason)
    try:
        if isinstance(item, Pair):
            return run_pair(item, runs, warmup)
        return run_metric(item, runs, warmup)
    except Exception as exc:  # a broken side must not hide the other rows
        unit = item.unit if isinstance(item, Metric) else "s"
        msg = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
        return Result(item.name, item.what, unit, RunStats(), None, RunStats(), note=msg[:300],
                      failed=msg[:300], budget=item.budget)
