"""Fixtures for the ELF reader tests: BPF objects (both byte orders) and host binaries built
here with gcc (PIE, non-PIE, stripped, a versioned shared library, USDT notes)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import skip_or_fail, tool_unavailable_reason

C_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c")

# (file name, gcc arguments after the compiler); sources are in tests/elf/c
_HOST_BUILDS = {
    "target_pie": ["-O1", "-g", "-fPIE", "-pie", "target.c", "target_sem.c"],
    "target_nopie": ["-O1", "-g", "-fno-pie", "-no-pie", "target.c", "target_sem.c"],
    "target_rdynamic": ["-O1", "-fPIE", "-pie", "-rdynamic", "target.c", "target_sem.c"],
    "libver.so": ["-O1", "-shared", "-fPIC", "libver.c", "-Wl,--version-script=libver.map"],
}


@pytest.fixture(scope="session")
def host_bins(tmp_path_factory) -> dict[str, str]:
    """Paths of the host test binaries, built once per session with gcc.

    ``target_stripped`` is ``target_rdynamic`` after ``strip --strip-all`` (only ``.dynsym``
    is left, as in distribution binaries).
    """
    reason = tool_unavailable_reason("gcc", "strip")
    if reason:
        skip_or_fail(reason)
    out = tmp_path_factory.mktemp("hostbins")
    paths: dict[str, str] = {}
    for name, args in _HOST_BUILDS.items():
        dest = str(out / name)
        proc = subprocess.run(["gcc", *args, "-o", dest], cwd=C_DIR, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"gcc failed building {name}:\n{proc.stderr}")
        paths[name] = dest
    stripped = str(out / "target_stripped")
    shutil.copy(paths["target_rdynamic"], stripped)
    subprocess.run(["strip", "--strip-all", stripped], check=True)
    paths["target_stripped"] = stripped
    return paths


@pytest.fixture(scope="session")
def bpf_objects(compile_bpf) -> dict[str, str]:
    """``elf_features.bpf.c`` compiled little- and big-endian: {"bpfel": path, "bpfeb": path}."""
    return {e: compile_bpf("elf_features.bpf.c", endian=e) for e in ("bpfel", "bpfeb")}


def libc_path() -> str:
    """The C library this Python runs with (a large shared library with versioned symbols)."""
    for cand in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
                 "/lib64/libc.so.6", "/usr/lib/libc.so.6"):
        if os.path.exists(cand):
            return os.path.realpath(cand)
    skip_or_fail("libc.so.6 not found")
    raise AssertionError("unreachable")
