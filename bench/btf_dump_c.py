#!/usr/bin/env python3
"""``btf dump file PATH format c``: pybpf vs bpftool, paired runs, plus pybpf's own breakdown.

Budget (DESIGN.md): pybpf within 2x bpftool's wall time on /sys/kernel/btf/vmlinux.

Timing is the shared harness's (bench/harness.py: interleaved whole processes, wall time,
peak RSS from GNU time); the same pair is in ``bench/run.py`` as subject ``btf_dump_c``. This
script first checks both outputs are identical (timing a wrong answer is worthless), then
prints medians, the per-pair ratio, peak RSS, and where pybpf's time goes in process
(interpreter + imports, BTF.parse, table build, order+emit, join, write).

It also times the ``pybpf btf dump`` command itself with its C output cache bypassed and warm
(the two CLI rows of the subject).

    python3 bench/btf_dump_c.py [-n RUNS] [--file PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import python_argv, run_pair  # noqa: E402
from subjects.btf_dump_c import VMLINUX, cli_pairs, dump_pair  # noqa: E402

BREAKDOWN = r"""
import sys, time
t0 = time.perf_counter()
from pybpf.btf import BTF
from pybpf.btf.dump_c import _dump
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    data = f.read()
btf = BTF.parse(data)
t2 = time.perf_counter()
tables = btf.table
t3 = time.perf_counter()
pieces = _dump(tables, None)
t4 = time.perf_counter()
text = "".join(pieces)
t5 = time.perf_counter()
with open("/dev/null", "w") as out:
    out.write(text)
t6 = time.perf_counter()
print(f"imports {t1-t0:.3f}  read+parse {t2-t1:.3f}  tables {t3-t2:.3f}  order+emit {t4-t3:.3f}"
      f"  join {t5-t4:.3f}  write {t6-t5:.3f}  (in process {t6-t0:.3f} s)")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=11)
    ap.add_argument("--file", default=VMLINUX)
    args = ap.parse_args()
    pair = dump_pair(args.file)
    env = dict(os.environ, **(pair.env or {}))
    ours = subprocess.run(pair.a, capture_output=True, env=env, check=True).stdout
    theirs = subprocess.run(pair.b, capture_output=True, check=True).stdout
    if ours != theirs:
        raise SystemExit("pybpf's output differs from bpftool's: fix that before timing")

    res = run_pair(pair, runs=args.runs, warmup=1)
    if res.skipped or res.note:
        raise SystemExit(res.skipped or res.note)
    assert res.b is not None
    print(f"{pair.name}: {args.file}, {len(ours)} bytes of C, {args.runs} paired runs")
    print(f"  bpftool: median {res.b.median * 1000:.0f} ms (min {res.b.min * 1000:.0f}), "
          f"peak RSS {res.b_rss_kb.median / 1024:.1f} MiB")
    print(f"  pybpf  : median {res.a.median * 1000:.0f} ms (min {res.a.min * 1000:.0f}), "
          f"peak RSS {res.a_rss_kb.median / 1024:.1f} MiB")
    print(f"  ratio pybpf/bpftool: median {res.ratios.median:.2f}x "
          f"(min {res.ratios.min:.2f}x, max {res.ratios.max:.2f}x; budget 2x)")
    for cli in cli_pairs(args.file):
        r = run_pair(cli, runs=args.runs, warmup=1)
        print(f"  {cli.name}: median {r.a.median * 1000:.0f} ms, ratio {r.ratios.median:.2f}x")
    empty = run_pair(type(pair)("python start-up", python_argv("-c", "pass"), ["true"]), runs=5)
    print(f"  python3 -c pass alone: median {empty.a.median * 1000:.0f} ms")
    for _ in range(3):
        print("  pybpf in process:", subprocess.run(python_argv("-c", BREAKDOWN, args.file),
                                                  capture_output=True, text=True, env=env,
                                                  check=True).stdout.strip())


if __name__ == "__main__":
    main()
