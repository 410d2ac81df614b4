"""The benchmark harness must not rot: its smoke mode runs every subject once, tiny sizes.

No timing is asserted (benchmarks are not tests); the check is that every subject ran both
sides to a clean exit and produced a figure.
"""

import os
import subprocess
import sys

import pytest

from .conftest import pybpf_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.kernel
def test_bench_smoke_runs_every_subject(require_tools):
    require_tools("bpftool")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke", "-o", "-"],
                          capture_output=True, text=True, env=pybpf_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    body = rows[1:]  # first row is the header
    assert body, proc.stdout
    for row in body:
        assert "skipped" not in row and "note:" not in row, row
