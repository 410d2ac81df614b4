"""``pybpf tool``: the tool list, unknown names, and the objects shipping as package data."""

from __future__ import annotations

import fnmatch
import json
import os


import pytest

from pybpf.tools import TOOLS
from pybpf.tools.session import object_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_list_names_every_tool_with_its_summary(run_pybpf):
    lines = run_pybpf("tool", "list").stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(TOOLS)
    for line, (name, (module, summary)) in zip(lines, TOOLS.items()):
        assert line.endswith(summary)
        mod = __import__(module, fromlist=["NAME"])
        assert (mod.NAME, mod.SUMMARY) == (name, summary)
    assert json.loads(run_pybpf("-j", "tool", "list").stdout) == [
        {"name": n, "summary": s} for n, (_, s) in TOOLS.items()]


def test_unknown_tool_is_one_error_line(run_pybpf):
    proc = run_pybpf("tool", "nosuchsnoop", "-x", check=False)
    assert proc.returncode == 255
    assert proc.stderr == "Error: tool 'nosuchsnoop' is unknown, have you tried 'pybpf tool list'?\n"


def test_tool_without_name_prints_usage(run_pybpf):
    out = run_pybpf("tool").stdout
    assert out.startswith("Usage: pybpf tool { list | help }") and "execsnoop | opensnoop" in out


@pytest.mark.parametrize("tool", list(TOOLS))
def test_tool_files_ship_as_package_data(tool):
    tomllib = pytest.importorskip("tomllib")    # Python 3.11+
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["pybpf"]
    src_root = os.path.join(REPO, "src", "pybpf")
    for suffix in (".bpf.o", ".bpf.c"):
        path = os.path.join(src_root, "tools", tool + suffix)
        assert os.path.exists(path)
        rel = os.path.relpath(path, src_root)
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), (rel, patterns)
    assert object_path(tool) == os.path.join(src_root, "tools", tool + ".bpf.o")
