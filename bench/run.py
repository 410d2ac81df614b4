#!/usr/bin/env python3
"""Run every benchmark, pybpf beside its C counterpart, and write BENCHMARKS.md.

    make bench                           # installs the counterparts, then the full run
    python3 bench/run.py                 # full run, writes BENCHMARKS.md
    python3 bench/run.py --smoke         # tiny sizes, 1 run each: checks the harness still works
    python3 bench/run.py --only btf -n 9 # rows whose name contains "btf", 9 paired runs
    python3 bench/run.py --note "..."    # a remark printed at the top (e.g. "machine busy")

Subjects live in bench/subjects/<topic>.py; each module has ``subjects(smoke: bool)`` returning
:class:`harness.Pair` / :class:`harness.Metric` / :class:`harness.Skipped` objects. Add a topic
by adding a module. The counterparts (bpftool, libbpf1, libbpf-tools, gcc, GNU time, clang-19)
come from scripts/setup-test-env.sh; a row whose counterpart is missing is reported as skipped,
naming the package, and the run goes on.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import importlib
import os
import pkgutil
import shlex
import signal
import platform
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

import budgets  # noqa: E402
from harness import Metric, Pair, Result, RunStats, Skipped, pybpf_argv, python_argv, run_item  # noqa: E402


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def _deb_version(package: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (no dpkg)"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "not installed"


def _bpftool() -> str:
    try:
        out = subprocess.run(["bpftool", "version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("features")]
    return ", ".join(lines) + f" (Debian bpftool {_deb_version('bpftool')})"


def _libbpf() -> str:
    try:
        lib = ctypes.CDLL("libbpf.so.1")
        lib.libbpf_version_string.restype = ctypes.c_char_p
        version = lib.libbpf_version_string().decode()
    except (OSError, AttributeError):
        return "not installed"
    return f"libbpf.so.1 {version} (Debian libbpf1 {_deb_version('libbpf1')})"


def _git() -> str:
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes" if dirty else "")


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def machine_info() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu})"),
        ("kernel", f"{platform.release()} ({platform.version()})"),
        ("python", f"{platform.python_implementation()} {platform.python_version()} "
                   f"({python_argv()[0]})"),
        ("pybpf", f"this checkout's src/ at {_git()}, run as `{pybpf_argv()[0]}` (console script) "
                  "or the interpreter above"),
        ("bpftool", _bpftool()),
        ("libbpf", _libbpf()),
        ("libbpf-tools", f"Debian libbpf-tools {_deb_version('libbpf-tools')}"),
        ("clang", _first_line(["clang-19", "--version"])),
        ("gcc", _first_line(["gcc", "--version"])),
    ]


def collect(only: str | None, smoke: bool) -> list[Pair | Metric | Skipped]:
    items: list[Pair | Metric | Skipped] = []
    pkg_dir = os.path.join(HERE, "subjects")
    for mod in sorted(pkgutil.iter_modules([pkg_dir]), key=lambda m: m.name):
        if only is not None and only.startswith("module:") and only[7:] != mod.name:
            continue
        try:
            module = importlib.import_module(f"subjects.{mod.name}")
            found = list(module.subjects(smoke))
        except Exception as exc:  # a broken subject is a row of its own, not the end of the run
            traceback.print_exc()
            found = [Skipped(f"subject {mod.name}", f"failed to set up: {type(exc).__name__}: {exc}")]
        for item in found:
            if only is None or only.startswith("module:") or only in item.name:
                items.append(item)
    return items


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.2f} s"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M{unit}"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k{unit}"
    return f"{value:.3g} {unit}"


def _span(stats: RunStats, unit: str) -> str:
    if len(stats.samples) == 1:
        return _fmt(stats.median, unit)
    return f"{_fmt(stats.median, unit)} ({_fmt(stats.min, unit)}–{_fmt(stats.max, unit)})"


def _verdict(r: Result) -> str:
    if r.budget is None:
        return "—"
    met = r.met
    return "n/a" if met is None else ("**yes**" if met else "**NO**")


def render(results: list[Result], info: list[tuple[str, str]], argv: list[str], runs: int, warmup: int,
           note: str = "", load_after: str = "") -> str:
    lines = ["# Benchmarks", ""]
    if note:
        lines += [f"> **Note:** {note}", ""]
    lines += [
        "pybpf beside its C counterpart, measured together in one run on one machine. Whole "
        "processes run as interleaved pairs (the order within a pair alternates) after "
        f"{warmup} discarded warm-up pair(s); in-process figures are sampled the same way. Each cell "
        "is the median with the min–max spread; the ratio is pybpf/counterpart computed pair by "
        "pair (for times and memory lower is better for pybpf, for rates higher is). "
        "**Absolute figures are this machine's only**; the ratios are what the budgets judge "
        "unless a budget names an absolute figure. Peak RSS of a whole process is GNU time's "
        "max RSS; of an in-process figure, the child's VmHWM.", ""]
    for k, v in info:
        lines.append(f"- {k}: {v}")
    if load_after:
        lines.append(f"- load average (1/5/15 min) at the end: {load_after}")
    lines += ["", f"Paired runs per figure: {runs}.", ""]
    judged = [r for r in results if r.met is not None]
    failed = [r for r in results if r.failed]
    skipped = [r for r in results if r.skipped]
    lines += [f"{len(results)} rows; {len(judged)} judged against a budget: "
              f"{sum(1 for r in judged if r.met)} met, {sum(1 for r in judged if not r.met)} not met; "
              f"{len(skipped)} skipped; {len(failed)} failed.", ""]
    lines += ["| benchmark | pybpf | counterpart | ratio pybpf/counterpart | budget | met | "
              "peak RSS pybpf / counterpart | what |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        budget = r.budget.describe(r.unit) + (f" ({r.budget.source})" if r.budget.source else "") \
            if r.budget else "—"
        if r.skipped:
            lines.append(f"| {r.name} | skipped: {r.skipped} | | | {budget} | n/a | | {r.what} |")
            continue
        if r.failed and not r.a.samples:
            lines.append(f"| {r.name} | failed: {r.failed} | | | {budget} | n/a | | {r.what} |")
            continue
        b = f"{r.b_label}: {_span(r.b, r.unit)}" if r.b and r.b.samples else "— (no counterpart)"
        ratio = (f"{r.ratios.median:.2f}×" + (f" ({r.ratios.min:.2f}–{r.ratios.max:.2f})"
                                              if len(r.ratios.samples) > 1 else "")
                 if r.ratios.samples else "—")
        a_rss = f"{r.a_rss_kb.median / 1024:.1f}" if r.a_rss_kb.samples else "—"
        b_rss = f"{r.b_rss_kb.median / 1024:.1f}" if r.b_rss_kb.samples else "—"
        rss = f"{a_rss} / {b_rss} MiB" if r.a_rss_kb.samples or r.b_rss_kb.samples else "—"
        what = r.what + (f" (**failed:** {r.note})" if r.note else "")
        lines.append(f"| {r.name} | {_span(r.a, r.unit)} | {b} | {ratio} | {budget} | {_verdict(r)} | "
                     f"{rss} | {what} |")
    rerun = f"python3 bench/run.py {shlex.join(argv)}".rstrip()
    lines += ["", "## Rerun", "",
              "```sh",
              "make bench          # installs the counterparts (scripts/setup-test-env.sh), then runs",
              "                    # every subject and rewrites this file",
              f"{rerun}  # what produced this file (counterparts already installed)",
              "python3 bench/run.py --smoke -o -   # the CI self-check (tests/test_bench_smoke.py)",
              "```", "",
              "Run it on an otherwise idle machine: other load shows in the spread and skews the "
              "ratios of whole-process rows.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one run: harness self-check")
    p.add_argument("--only", help="run rows whose name contains this ('module:NAME': one subject module)")
    p.add_argument("-n", "--runs", type=int, default=7, help="paired runs per figure (default 7)")
    p.add_argument("--warmup", type=int, default=1, help="discarded warm-up pairs per figure (default 1)")
    p.add_argument("--note", default="", help="a remark for the top of the report")
    p.add_argument("-o", "--output", default=os.path.join(ROOT, "BENCHMARKS.md"),
                   help="report file (default BENCHMARKS.md; '-' for stdout only)")
    args = p.parse_args(argv)
    # Started in the background by a non-interactive shell, this process (and every child,
    # across exec) would ignore SIGINT: the tool rows stop their tools with SIGINT.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    runs = 1 if args.smoke else args.runs
    warmup = 0 if args.smoke else args.warmup
    info = machine_info()
    info.append(("load average (1/5/15 min) at the start", _loadavg()))
    results = []
    for item in collect(args.only, args.smoke):
        print(f"bench: {item.name} ...", file=sys.stderr, flush=True)
        res = run_item(item, runs, warmup)
        res.budget = budgets.for_row(res.name, res.budget)
        results.append(res)
        if res.skipped:
            print(f"bench: {item.name}: skipped: {res.skipped}", file=sys.stderr)
        if res.failed:
            print(f"bench: {item.name}: FAILED: {res.failed}", file=sys.stderr)
    text = render(results, info, sys.argv[1:] if argv is None else argv, runs, warmup, args.note,
                  _loadavg())
    print(text)
    if args.output != "-" and not args.smoke:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"bench: wrote {args.output}", file=sys.stderr)
    if args.smoke and any(r.failed or r.skipped for r in results):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
