"""The benchmark harness must not rot: its smoke mode runs every subject once, tiny sizes.

No timing is asserted (benchmarks are not tests); the check is that every subject ran both
sides to a clean exit (the counterparts are installed by scripts/setup-test-env.sh, so none
may be skipped), produced a figure, and that the report carries what BENCHMARKS.md promises.
"""

import os
import subprocess
import sys

import pytest

from .conftest import pybpf_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: row-name prefixes every full run must contain: one per deliverable of the benchmark issue
EXPECTED_ROWS = ("btf dump vmlinux format c", "kernel BTF lookup ready, warm cache",
                 "kernel BTF lookup ready, cold cache", "load ", "tool execsnoop: start → attached",
                 "tool opensnoop: start → attached", "tool execsnoop: RSS", "map: lookup",
                 "map: batch", "ringbuf", "perfbuf")


@pytest.mark.kernel
def _bench_pins() -> set[str]:
    try:
        return {n for n in os.listdir("/sys/fs/bpf") if n.startswith("pybpf-bench-")}
    except OSError:
        return set()


def test_bench_smoke_runs_every_subject(require_tools):
    require_tools("bpftool", "clang-19", "gcc", "stdbuf", "/usr/sbin/execsnoop", "/usr/sbin/opensnoop")
    pinned_before = _bench_pins()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke", "-o", "-"],
                          capture_output=True, text=True, env=pybpf_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # whatever a benchmark pins (prog loadall) is gone again: pins would keep programs loaded
    assert _bench_pins() - pinned_before == set()
    lines = proc.stdout.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    header, body = rows[0], rows[1:]
    for column in ("pybpf", "counterpart", "ratio", "budget", "met", "peak RSS"):
        assert column in header, header
    assert body, proc.stdout
    for row in body:
        assert "skipped" not in row and "failed" not in row, row
    names = [row.split(" | ")[0][2:] for row in body]
    for prefix in EXPECTED_ROWS:
        assert any(name.startswith(prefix) for name in names), (prefix, names)
    # the budgets are judged, not just printed
    assert any("**yes**" in row or "**NO**" in row for row in body), body
    for key in ("- date:", "- machine:", "- kernel:", "- python:", "- bpftool:", "- libbpf:",
                "- libbpf-tools:", "- clang:"):
        line = next((x for x in lines if x.startswith(key)), "")
        assert line and "not installed" not in line, (key, line)
    assert "## Rerun" in proc.stdout
