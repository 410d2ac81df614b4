"""Fixtures of the attach tests: fixture objects compiled with clang-19 and loaded by the
interim test loader (tests/link/loader.py)."""

from __future__ import annotations

import os


import pytest

from tests.link.loader import load_object
from tests.sys.helpers import make_bpffs_dir


@pytest.fixture
def load_fixture(compile_bpf):
    """``load_fixture("link_trace.bpf.c", only=(...))`` -> LoadedObject, closed after the test."""
    opened = []

    def load(name: str, include_dirs: tuple[str, ...] = (), **kw):
        obj = load_object(compile_bpf(name, include_dirs=include_dirs), **kw)
        opened.append(obj)
        return obj

    yield load
    for obj in opened:
        obj.close()


@pytest.fixture
def bpffs_dir():
    yield from make_bpffs_dir()


def trigger_getpid(n: int = 5) -> None:
    for _ in range(n):
        os.getpid()


C_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c")


@pytest.fixture(scope="session")
def uprobe_binaries(tmp_path_factory):
    """gcc-built uprobe/USDT targets: ``exe`` (non-PIE), ``pie``, ``lib`` (libuptarget.so) and
    ``exe_lib`` (an executable calling into the library; rpath set)."""
    import shutil
    import subprocess

    from tests.conftest import skip_or_fail

    if shutil.which("gcc") is None:
        skip_or_fail("gcc is not installed")
    out = tmp_path_factory.mktemp("uprobe-targets")
    src = os.path.join(C_DIR, "uptarget.c")
    plain = os.path.join(C_DIR, "uptarget_plain.c")
    lib = os.path.join(C_DIR, "libuptarget.c")
    plain_o = str(out / "plain.o")   # -O0: USDT arguments read from the stack (deref specs)
    steps = [
        ["gcc", "-O0", "-g", "-fPIC", "-c", plain, "-o", plain_o],
        ["gcc", "-O2", "-g", "-no-pie", "-fno-pie", src, plain_o, "-o", str(out / "uptarget")],
        ["gcc", "-O2", "-g", "-fPIE", "-pie", src, plain_o, "-o", str(out / "uptarget-pie")],
        ["gcc", "-O2", "-g", "-shared", "-fPIC", lib, "-o", str(out / "libuptarget.so")],
        ["gcc", "-O2", "-g", "-DWITH_LIB", src, plain_o, "-L", str(out), "-luptarget",
         f"-Wl,-rpath,{out}", "-o", str(out / "uptarget-lib")],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return {"exe": str(out / "uptarget"), "pie": str(out / "uptarget-pie"),
            "lib": str(out / "libuptarget.so"), "exe_lib": str(out / "uptarget-lib")}


@pytest.fixture(scope="session")
def usdt_include(tmp_path_factory):
    """A directory with ``usdt_inline.bpf.h``: the installed libbpf usdt.bpf.h with its
    ``__kconfig`` extern and ``__weak`` subprograms turned into inline code."""
    src = "/usr/include/bpf/usdt.bpf.h"
    if not os.path.exists(src):
        from tests.conftest import skip_or_fail

        skip_or_fail("libbpf-dev's usdt.bpf.h is not installed")
    text = open(src).read()
    text = text.replace("extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;",
                        "static const _Bool LINUX_HAS_BPF_COOKIE = 1;")
    text = "\n".join("static __always_inline" if line == "__weak __hidden" else line
                     for line in text.split("\n"))
    out = tmp_path_factory.mktemp("usdt-include")
    (out / "usdt_inline.bpf.h").write_text(text)
    return str(out)


def run_target(path: str, n: int, *, wait: bool = False, stdin_after=None) -> str:
    """Run an uptarget binary for ``n`` iterations; returns its output line."""
    import subprocess

    if not wait:
        return subprocess.run([path, str(n)], capture_output=True, text=True, check=True).stdout
    proc = subprocess.Popen([path, str(n), "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if stdin_after is not None:
            stdin_after(proc.pid)
        out, _ = proc.communicate("go\n", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out
