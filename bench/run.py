#!/usr/bin/env python3
"""Run every benchmark, pybpf beside its C counterpart, and write BENCHMARKS.md.

    python3 bench/run.py                 # full run, writes BENCHMARKS.md
    python3 bench/run.py --smoke         # tiny sizes, 1 run each: checks the harness still works
    python3 bench/run.py --only btf -n 9 # subjects whose name contains "btf", 9 paired runs

Subjects live in bench/subjects/<topic>.py; each module has ``subjects(smoke: bool)`` returning
:class:`harness.Pair` / :class:`harness.Metric` objects. Add a topic by adding a module.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pkgutil
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from harness import Metric, Pair, Result, run_metric, run_pair  # noqa: E402


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def machine_info() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return [
        ("date", datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu})"),
        ("kernel", platform.release()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("bpftool", _version(["bpftool", "version"])),
        ("clang", _version(["clang-19", "--version"])),
    ]


def collect(only: str | None, smoke: bool) -> list[Pair | Metric]:
    items: list[Pair | Metric] = []
    pkg_dir = os.path.join(HERE, "subjects")
    for mod in sorted(pkgutil.iter_modules([pkg_dir]), key=lambda m: m.name):
        module = importlib.import_module(f"subjects.{mod.name}")
        for item in module.subjects(smoke):
            if only is None or only in item.name:
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


def _span(stats, unit: str) -> str:
    return f"{_fmt(stats.median, unit)} ({_fmt(stats.min, unit)}–{_fmt(stats.max, unit)})"


def render(results: list[Result], info: list[tuple[str, str]], argv: list[str], runs: int) -> str:
    lines = ["# Benchmarks", "",
             "pybpf beside its C counterpart, measured together in one run on one machine: whole "
             "processes run alternately (pybpf, C, pybpf, C, …) after a warm-up; medians with "
             "min–max; the ratio is pybpf/C computed pair by pair (for times, lower is better "
             "for pybpf; for rates, higher is). Absolute figures are this machine's only.", ""]
    for k, v in info:
        lines.append(f"- {k}: {v}")
    lines += ["", f"Paired runs per figure: {runs}.", "",
              "| benchmark | pybpf | counterpart | ratio pybpf/counterpart | peak RSS pybpf / counterpart | what |",
              "|---|---|---|---|---|---|"]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.name} | skipped: {r.skipped} | | | | {r.what} |")
            continue
        b = f"{r.b_label}: {_span(r.b, r.unit)}" if r.b and r.b.samples else "—"
        ratio = (f"{r.ratios.median:.2f}× ({r.ratios.min:.2f}–{r.ratios.max:.2f})"
                 if r.ratios.samples else "—")
        rss = (f"{r.a_rss_kb.median / 1024:.1f} / {r.b_rss_kb.median / 1024:.1f} MiB"
               if r.a_rss_kb.samples else "—")
        what = r.what + (f" (note: {r.note})" if r.note else "")
        lines.append(f"| {r.name} | {_span(r.a, r.unit)} | {b} | {ratio} | {rss} | {what} |")
    lines += ["", "## Rerun", "", "```sh", f"python3 bench/run.py {' '.join(argv)}".rstrip(), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one run: harness self-check")
    p.add_argument("--only", help="run subjects whose name contains this")
    p.add_argument("-n", "--runs", type=int, default=7, help="paired runs per figure (default 7)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("-o", "--output", default=os.path.join(os.path.dirname(HERE), "BENCHMARKS.md"),
                   help="report file (default BENCHMARKS.md; '-' for stdout only)")
    args = p.parse_args(argv)
    runs = 1 if args.smoke else args.runs
    warmup = 0 if args.smoke else args.warmup
    results = []
    for item in collect(args.only, args.smoke):
        print(f"bench: {item.name} ...", file=sys.stderr, flush=True)
        res = run_pair(item, runs, warmup) if isinstance(item, Pair) else run_metric(item, runs, warmup)
        results.append(res)
        if res.note:
            print(f"bench: {item.name}: {res.note}", file=sys.stderr)
    text = render(results, machine_info(), sys.argv[1:] if argv is None else argv, runs)
    print(text)
    if args.output != "-" and not args.smoke:
        with open(args.output, "w") as f:
            f.write(text)
    failed = [r for r in results if r.note]
    return 1 if failed and args.smoke else 0


if __name__ == "__main__":
    raise SystemExit(main())
