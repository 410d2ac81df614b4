"""Opening and loading an object (pybpf.object) beside ``bpftool prog loadall`` (libbpf).

Two objects from tests/progs, compiled CO-RE style (clang-19, a vmlinux.h of the running
kernel): ``obj_tool`` (tool-sized: an execsnoop-like pair of tracepoints, a ring buffer, CO-RE
reads, .rodata/.bss) and ``obj_many`` (64 programs sharing subprograms and maps).

* whole process: ``pybpf prog loadall OBJ DIR`` against ``bpftool prog loadall OBJ DIR`` (both
  pin every program, then exit; the pins are removed before each run);
* in process: ``ObjectSpec.open(OBJ).load()`` then ``close()`` in a fresh interpreter that
  already loaded the object once (modules imported, kernel BTF cache warm, as in a tool that
  loads objects repeatedly), against the same bpftool process's wall time, and the first load
  of a fresh interpreter (imports included, kernel BTF cache on disk warm).

Needs root (BPF_PROG_LOAD), clang-19 and bpftool; otherwise there is nothing to report.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time

from harness import Metric, Pair, pybpf_argv, python_argv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")
PROGS = os.path.join(ROOT, "tests", "progs")
VMLINUX = "/sys/kernel/btf/vmlinux"
CLANG = "clang-19"
BUILD_DIR = os.path.join(tempfile.gettempdir(), f"pybpf-bench-load-{os.getuid()}")
PIN_ROOT = "/sys/fs/bpf"
ENV = {"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": ""}

#: a fresh interpreter: load once (warm), then time one open + load + close
STEADY = (
    "import sys, time\n"
    "from pybpf.object import ObjectSpec\n"
    "ObjectSpec.open(sys.argv[1]).load().close()\n"
    "t0 = time.perf_counter()\n"
    "ObjectSpec.open(sys.argv[1]).load().close()\n"
    "print(time.perf_counter() - t0)\n"
)
#: a fresh interpreter: imports + first open + load + close
FIRST = (
    "import sys, time\n"
    "t0 = time.perf_counter()\n"
    "from pybpf.object import ObjectSpec\n"
    "ObjectSpec.open(sys.argv[1]).load().close()\n"
    "print(time.perf_counter() - t0)\n"
)


def _cflags(include: str) -> list[str]:
    import platform

    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return ["-g", "-O2", "-target", "bpfel", "-mcpu=v3", f"-D__TARGET_ARCH_{arch}",
            "-I", f"/usr/include/{platform.machine()}-linux-gnu", "-I", PROGS, "-I", include]


def _build(names: list[str]) -> dict[str, str]:
    """Compile the objects (cached in BUILD_DIR by source and vmlinux BTF hash)."""
    os.makedirs(BUILD_DIR, exist_ok=True)
    with open(VMLINUX, "rb") as f:
        kernel = hashlib.sha256(f.read()).hexdigest()[:12]
    include = os.path.join(BUILD_DIR, f"vmlinux-{kernel}")
    header = os.path.join(include, "vmlinux.h")
    if not os.path.exists(header):
        os.makedirs(include, exist_ok=True)
        text = subprocess.run(["bpftool", "btf", "dump", "file", VMLINUX, "format", "c"],
                              capture_output=True, text=True, check=True).stdout
        with open(header + ".tmp", "w") as f:
            f.write(text)
        os.replace(header + ".tmp", header)
    out = {}
    for name in names:
        src = os.path.join(PROGS, f"{name}.bpf.c")
        digest = hashlib.sha256()
        for path in (src, os.path.join(PROGS, "obj_common.h")):
            with open(path, "rb") as f:
                digest.update(f.read())
        obj = os.path.join(BUILD_DIR, f"{name}-{kernel}-{digest.hexdigest()[:12]}.bpf.o")
        if not os.path.exists(obj):
            subprocess.run([CLANG, *_cflags(include), "-c", src, "-o", obj + ".tmp"], check=True,
                           capture_output=True)
            os.replace(obj + ".tmp", obj)
        out[name] = obj
    return out


def _unpin(path: str) -> None:
    if not os.path.isdir(path):
        return
    for entry in os.listdir(path):
        os.unlink(os.path.join(path, entry))
    os.rmdir(path)


def _child(script: str, obj: str) -> float:
    env = dict(os.environ)
    env.update(ENV)
    out = subprocess.run(python_argv("-c", script, obj), env=env, capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip().splitlines()[-1])


def _bpftool_wall(obj: str, pin: str) -> float:
    _unpin(pin)
    t0 = time.perf_counter()
    subprocess.run(["bpftool", "prog", "loadall", obj, pin], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    _unpin(pin)
    return wall


def _usable() -> bool:
    if os.geteuid() != 0 or not os.path.exists(VMLINUX) or not os.path.isdir(PIN_ROOT):
        return False
    return all(shutil.which(t) for t in (CLANG, "bpftool"))


def subjects(smoke: bool):
    if not _usable():
        return []
    names = ["obj_tool"] if smoke else ["obj_tool", "obj_many"]
    objs = _build(names)
    # warm the kernel BTF cache and the .pyc files once
    _child(FIRST, objs["obj_tool"])
    items: list = []
    for name in names:
        obj = objs[name]
        pin = os.path.join(PIN_ROOT, f"pybpf-bench-load-{os.getpid()}-{name}")
        label = "tool-sized object" if name == "obj_tool" else "large object (64 programs)"
        items.append(Pair(
            f"prog loadall, {label}", pybpf_argv("prog", "loadall", obj, pin),
            ["bpftool", "prog", "loadall", obj, pin],
            what=f"{name}: open, CO-RE, load maps and programs, pin each program; whole process",
            env=ENV, before_each=lambda pin=pin: _unpin(pin), needs=("bpftool",)))
        items.append(Metric(
            f"open + load + close, {label}, warm process", "s",
            lambda obj=obj: _child(STEADY, obj), lambda obj=obj, pin=pin: _bpftool_wall(obj, pin),
            higher_is_better=False, b_label="bpftool",
            what=f"{name}: ObjectSpec.open().load().close() after one warm-up load in the same "
                 "interpreter, against bpftool prog loadall's whole process (budget 2×)"))
        if not smoke:
            items.append(Metric(
                f"first open + load + close, {label}", "s",
                lambda obj=obj: _child(FIRST, obj), lambda obj=obj, pin=pin: _bpftool_wall(obj, pin),
                higher_is_better=False, b_label="bpftool",
                what=f"{name}: imports + ObjectSpec.open().load().close() in a fresh interpreter, "
                     "kernel BTF cache warm on disk, against bpftool prog loadall"))
    return items
