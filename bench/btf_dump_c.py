#!/usr/bin/env python3
"""Benchmark: ``btf dump file PATH format c``, pybpf vs bpftool, whole processes, paired runs.

Budget (DESIGN.md): pybpf within 2x bpftool's wall time on /sys/kernel/btf/vmlinux.

Each round runs bpftool and pybpf back to back (order alternating) with stdout to /dev/null;
wall time and peak RSS come from wait4(). Printed: per-tool median/min wall time, the median of
the per-round ratios, peak RSS, and an in-process breakdown of pybpf's time (interpreter start
and imports, BTF.parse, the table build, the dump, writing).

    python3 bench/btf_dump_c.py [--runs N] [--file PATH] [--cli]

``--cli`` measures ``python3 -m pybpf btf dump file PATH format c`` (the command line) instead
of a minimal script calling :func:`pybpf.btf.dump_c.dump_c`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")

SCRIPT = r"""
import sys
from pybpf.btf import BTF
from pybpf.btf.dump_c import dump_c
with open(sys.argv[1], "rb") as f:
    text = dump_c(BTF.parse(f.read()))
sys.stdout.write(text)
"""

BREAKDOWN = r"""
import sys, time
t0 = time.perf_counter()
from pybpf.btf import BTF
from pybpf.btf.dump_c import dump_c, _dump
from pybpf.btf.dump_c_tables import TypeTables
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    data = f.read()
btf = BTF.parse(data)
t2 = time.perf_counter()
tables = TypeTables(btf)
t3 = time.perf_counter()
pieces = _dump(tables, None)
t4 = time.perf_counter()
text = "".join(pieces)
t5 = time.perf_counter()
with open("/dev/null", "w") as out:
    out.write(text)
t6 = time.perf_counter()
print(f"imports {t1-t0:.3f}  read+parse {t2-t1:.3f}  tables {t3-t2:.3f}  order+emit {t4-t3:.3f}"
      f"  join {t5-t4:.3f}  write {t6-t5:.3f}  (in-process total {t6-t0:.3f} s)")
"""


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, stdout discarded."""
    with open(os.devnull, "wb") as devnull:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=devnull, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--file", default="/sys/kernel/btf/vmlinux")
    ap.add_argument("--cli", action="store_true", help="time `python3 -m pybpf btf dump ...`")
    args = ap.parse_args()
    if shutil.which("bpftool") is None:
        raise SystemExit("bpftool not installed")

    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bpftool = ["bpftool", "btf", "dump", "file", args.file, "format", "c"]
    if args.cli:
        pybpf = [sys.executable, "-m", "pybpf", "btf", "dump", "file", args.file, "format", "c"]
    else:
        pybpf = [sys.executable, "-c", SCRIPT, args.file]

    # Same output first (a benchmark of a wrong answer is worthless).
    a = subprocess.run(bpftool, capture_output=True, check=True).stdout
    b = subprocess.run(pybpf, capture_output=True, check=True, env=env).stdout
    if a != b:
        raise SystemExit("pybpf output differs from bpftool's: fix that before timing")

    run(bpftool)  # warm the page cache
    run(pybpf, env)
    tool_t, py_t, ratios, tool_rss, py_rss = [], [], [], [], []
    for i in range(args.runs):
        pair = [("bpftool", bpftool, None), ("pybpf", pybpf, env)]
        if i % 2:
            pair.reverse()
        res = {}
        for name, argv, e in pair:
            res[name] = run(argv, e)
        tool_t.append(res["bpftool"][0])
        py_t.append(res["pybpf"][0])
        tool_rss.append(res["bpftool"][1])
        py_rss.append(res["pybpf"][1])
        ratios.append(res["pybpf"][0] / res["bpftool"][0])

    print(f"btf dump file {args.file} format c  ({args.runs} paired runs, {len(a)} bytes of output)")
    print(f"  bpftool : median {statistics.median(tool_t):.3f} s  min {min(tool_t):.3f} s  "
          f"peak RSS {max(tool_rss) / 1024:.1f} MiB")
    print(f"  pybpf   : median {statistics.median(py_t):.3f} s  min {min(py_t):.3f} s  "
          f"peak RSS {max(py_rss) / 1024:.1f} MiB  ({'CLI' if args.cli else 'dump_c script'})")
    print(f"  ratio pybpf/bpftool: median {statistics.median(ratios):.2f}x  "
          f"(best {min(ratios):.2f}x, worst {max(ratios):.2f}x; budget 2x)")
    empty = run([sys.executable, "-c", "pass"])[0]
    print(f"  (python3 -c pass alone: {empty:.3f} s)")
    print("  pybpf in-process:", subprocess.run([sys.executable, "-c", BREAKDOWN, args.file],
                                              capture_output=True, text=True, env=env,
                                              check=True).stdout.strip())


if __name__ == "__main__":
    main()
