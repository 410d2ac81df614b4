"""Kernel BTF: how soon a name lookup in vmlinux is ready (warm/cold index cache), bulk decode,
and the raw/JSON dumps, beside libbpf (through ctypes) and bpftool.

Each in-process figure is measured in a fresh interpreter (so nothing is cached in memory): the
child prints seconds from just before ``import pybpf.btf.kernel`` to the answer of
``find("task_struct")`` (the libbpf child likewise from just before ``import ctypes`` and
loading libbpf.so.1), and its own peak RSS (VmHWM). Children run with bytecode caching on (this sandbox sets
PYTHONDONTWRITEBYTECODE=1; an installed package has its .pyc files). The libbpf side loads
/sys/kernel/btf/vmlinux with ``btf__load_vmlinux_btf`` and looks the name up with
``btf__find_by_name`` (libbpf has no cache: it parses every time).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import budgets
from harness import Metric, Pair, Skipped, missing, pybpf_argv, python_argv

VMLINUX = "/sys/kernel/btf/vmlinux"
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
WARM_DIR = os.path.join(tempfile.gettempdir(), f"pybpf-bench-btf-cache-{os.getuid()}")
COLD_DIR = os.path.join(tempfile.gettempdir(), f"pybpf-bench-btf-cold-{os.getuid()}")

#: the child's own peak RSS (VmHWM: not what it inherited from the harness before exec)
_PEAK = (
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
)

PYBPF_LOOKUP = _PEAK + (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "from pybpf.btf.kernel import kernel_btf\n"
    "ids = kernel_btf().find('task_struct')\n"
    "t1 = time.perf_counter()\n"
    "assert ids\n"
    "print(t1 - t0, _peak())\n"
)

LIBBPF_LOOKUP = _PEAK + (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "import ctypes\n"
    "lib = ctypes.CDLL('libbpf.so.1')\n"
    "lib.btf__load_vmlinux_btf.restype = ctypes.c_void_p\n"
    "lib.btf__find_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]\n"
    "btf = lib.btf__load_vmlinux_btf()\n"
    "tid = lib.btf__find_by_name(btf, b'task_struct')\n"
    "t1 = time.perf_counter()\n"
    "assert tid > 0\n"
    "print(t1 - t0, _peak())\n"
)

BULK = _PEAK + (
    "import time, sys\n"
    "from pybpf.btf.kernel import kernel_btf\n"
    "btf = kernel_btf()\n"
    "t0 = time.perf_counter()\n"
    "getattr(btf, sys.argv[1]) if sys.argv[1] == 'table' else btf.decode_all()\n"
    "print(time.perf_counter() - t0, _peak())\n"
)


def _env(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=SRC, PYTHONDONTWRITEBYTECODE="", XDG_CACHE_HOME=cache)
    return env


def _child(script: str, cache: str, *args: str) -> tuple[float, int]:
    """(seconds the child measured, the child's peak RSS in KiB)"""
    proc = subprocess.run(python_argv("-c", script, *args), env=_env(cache), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-300:])
    seconds, peak = proc.stdout.split()[-2:]
    return float(seconds), int(peak)


def _warm() -> tuple[float, int]:
    return _child(PYBPF_LOOKUP, WARM_DIR)


def _cold() -> tuple[float, int]:
    cache = tempfile.mkdtemp(prefix="pybpf-bench-cold-")
    try:
        return _child(PYBPF_LOOKUP, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _libbpf() -> tuple[float, int]:
    return _child(LIBBPF_LOOKUP, WARM_DIR)


def _bulk(what: str):
    return lambda: _child(BULK, WARM_DIR, what)


def subjects(smoke: bool):
    why = missing((VMLINUX,))
    if why:
        return [Skipped("kernel BTF (vmlinux) lookup, dumps", why)]
    _child(PYBPF_LOOKUP, WARM_DIR)  # make sure the warm cache (and .pyc files) exist
    items: list = [
        Metric("kernel BTF lookup ready, warm cache", "s", _warm, _libbpf, higher_is_better=False,
               b_label="libbpf (ctypes)", budget=budgets.BTF_LOOKUP_WARM, needs=("libbpf.so.1",),
               what="import → kernel_btf().find('task_struct') answered, in a fresh process, index "
                    "cache warm; libbpf: btf__load_vmlinux_btf + btf__find_by_name (it has no cache); "
                    "peak RSS of each child"),
        Metric("kernel BTF lookup ready, cold cache", "s", _cold, _libbpf, higher_is_better=False,
               b_label="libbpf (ctypes)", budget=budgets.BTF_LOOKUP_COLD, needs=("libbpf.so.1",),
               what="the same with an empty cache directory: parse, index, write the cache"),
        Pair("kernel BTF lookup, whole process (warm)",
             python_argv("-c", PYBPF_LOOKUP), python_argv("-c", LIBBPF_LOOKUP),
             what="interpreter start to exit, both Python (libbpf through ctypes); peak RSS",
             env={"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "", "XDG_CACHE_HOME": WARM_DIR},
             needs=(VMLINUX, "libbpf.so.1"), b_label="libbpf (ctypes)"),
        Pair("kernel BTF lookup, whole process (cold)",
             python_argv("-c", PYBPF_LOOKUP), python_argv("-c", LIBBPF_LOOKUP),
             what="the same with pybpf's cache directory emptied before each run: parse, index and "
                  "write the cache; peak RSS is the index build's",
             env={"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "", "XDG_CACHE_HOME": COLD_DIR},
             before_each=lambda: shutil.rmtree(COLD_DIR, ignore_errors=True),
             needs=(VMLINUX, "libbpf.so.1"), b_label="libbpf (ctypes)"),
    ]
    if not smoke:
        items += [
            Metric("vmlinux: decode every type into model objects", "s", _bulk("decode_all"), None,
                   higher_is_better=False, what="BTF.decode_all() after a warm open"),
            Metric("vmlinux: columnar TypeTable", "s", _bulk("table"), None, higher_is_better=False,
                   what="btf.table (kinds, names, size/type, vlen columns) after a warm open"),
        ]
    for flags, label in (([], "raw text"), (["-j"], "JSON")):
        items.append(Pair(f"btf dump vmlinux {label}",
                          pybpf_argv(*flags, "btf", "dump", "file", VMLINUX),
                          ["bpftool", *flags, "btf", "dump", "file", VMLINUX],
                          what=f"btf dump file {VMLINUX} {' '.join(flags)}, whole process, stdout discarded",
                          env={"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": ""}, needs=("bpftool", VMLINUX)))
    return items
