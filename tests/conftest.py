"""Test-wide rules.

* ``@pytest.mark.kernel`` marks a test that needs root and a BPF-capable kernel. When the
  machine cannot run it, it is skipped with the reason -- unless ``PYBPF_REQUIRE_KERNEL=1``
  (set by ``.ci/run``), in which case it fails with that reason instead.
* Every test is checked for leaked kernel objects: file descriptors opened during a test that
  refer to BPF maps/programs/links/BTF, perf events or epoll instances and are still open after
  it fail the test.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

# Property tests must not fail because a loaded 2-core machine was slow (no deadlines), and CI
# runs must be reproducible (derandomized: the same examples every run; locally, random).
settings.register_profile("pybpf", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("pybpf-ci", parent=settings.get_profile("pybpf"), derandomize=True,
                          database=None, print_blob=True)
settings.load_profile("pybpf-ci" if os.environ.get("CI") else "pybpf")

REQUIRE_KERNEL = os.environ.get("PYBPF_REQUIRE_KERNEL") == "1"

# /proc/self/fd link targets that belong to kernel objects pybpf creates.
_LEAK_TARGETS = ("anon_inode:bpf", "anon_inode:btf", "anon_inode:[perf_event]", "anon_inode:[eventpoll]",
                 "anon_inode:bpf-")


def kernel_unavailable_reason() -> str | None:
    """Why kernel tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (CAP_BPF/CAP_SYS_ADMIN)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux missing)"
    try:
        from pybpf.sys import probe_bpf_syscall
    except ImportError:
        return None
    return probe_bpf_syscall()


def tool_unavailable_reason(*names: str) -> str | None:
    """Why a differential oracle (bpftool, clang-19, llvm-objdump-19, ...) cannot be used."""
    missing = [n for n in names if shutil.which(n) is None]
    return f"oracle not installed: {', '.join(missing)}" if missing else None


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; under PYBPF_REQUIRE_KERNEL=1 fail with it instead."""
    if REQUIRE_KERNEL:
        pytest.fail(f"PYBPF_REQUIRE_KERNEL=1 and this test would skip: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel") is not None:
        reason = kernel_unavailable_reason()
        if reason:
            skip_or_fail(reason)


def _kernel_fds() -> dict[int, str]:
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith(_LEAK_TARGETS):
            fds[int(name)] = target
    return fds


@pytest.fixture(autouse=True)
def _no_kernel_fd_leaks():
    before = _kernel_fds()
    yield
    leaked = {fd: t for fd, t in _kernel_fds().items() if before.get(fd) != t}
    if leaked:
        pytest.fail(f"test leaked kernel file descriptors: {leaked}", pytrace=False)


@pytest.fixture
def require_tools():
    """``require_tools("bpftool", "clang-19")`` skips (or fails under REQUIRE_KERNEL) if missing."""

    def check(*names: str) -> None:
        reason = tool_unavailable_reason(*names)
        if reason:
            skip_or_fail(reason)

    return check


SRC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def pybpf_command(*args: str) -> list[str]:
    """argv that runs this checkout's pybpf CLI (not whatever is installed)."""
    import sys

    return [sys.executable, "-m", "pybpf", *args]


def pybpf_env() -> dict[str, str]:
    """Environment for subprocesses that must import this checkout's ``src``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@pytest.fixture
def run_pybpf():
    """``run_pybpf("prog", "show", "-j")`` -> CompletedProcess (text, captured), this checkout's CLI."""
    import subprocess

    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(pybpf_command(*args), env=pybpf_env(), capture_output=True,
                              text=True, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"pybpf {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    return run


PROGS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "progs")
CLANG = "clang-19"


def bpf_cflags(mcpu: str = "v3", endian: str = "bpfel") -> list[str]:
    """The clang flags fixtures are built with (libbpf-tools' flags: -g -O2, CO-RE friendly)."""
    import platform

    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    multiarch = f"/usr/include/{platform.machine()}-linux-gnu"
    return ["-g", "-O2", "-target", endian, f"-mcpu={mcpu}", f"-D__TARGET_ARCH_{arch}",
            "-I", multiarch, "-I", PROGS_DIR, "-Wall", "-Werror", "-Wno-unused-function"]


@pytest.fixture(scope="session")
def compile_bpf(tmp_path_factory):
    """Compile a BPF C fixture with clang-19; returns the object's path (memoized per session).

    ``compile_bpf("maps.bpf.c")`` builds ``tests/progs/maps.bpf.c``; ``compile_bpf(source=TEXT,
    name="x")`` builds inline C. ``mcpu``/``endian``/``flags``/``include_dirs`` pass through.
    """
    import hashlib
    import subprocess

    out_dir = tmp_path_factory.mktemp("progs")
    memo: dict[str, str] = {}

    def build(path: str | None = None, *, source: str | None = None, name: str | None = None,
              mcpu: str = "v3", endian: str = "bpfel", flags: tuple[str, ...] = (),
              include_dirs: tuple[str, ...] = ()) -> str:
        reason = tool_unavailable_reason(CLANG)
        if reason:
            skip_or_fail(reason)
        if source is None:
            assert path is not None
            src = path if os.path.isabs(path) else os.path.join(PROGS_DIR, path)
            with open(src) as f:
                text = f.read()
        else:
            text = source
        cflags = bpf_cflags(mcpu, endian) + [a for d in include_dirs for a in ("-I", d)] + list(flags)
        key = hashlib.sha256((text + "\0" + "\0".join(cflags)).encode()).hexdigest()[:16]
        if key in memo:
            return memo[key]
        stem = name or os.path.basename(path or "inline").removesuffix(".c").removesuffix(".bpf")
        src_file = out_dir / f"{stem}-{key}.bpf.c"
        src_file.write_text(text)
        obj = out_dir / f"{stem}-{key}.bpf.o"
        proc = subprocess.run([CLANG, *cflags, "-c", str(src_file), "-o", str(obj)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"clang failed on {path or name}:\n{proc.stderr}")
        memo[key] = str(obj)
        return str(obj)

    return build


VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="session")
def vmlinux_h(tmp_path_factory):
    """Include directory holding a ``vmlinux.h`` that pybpf itself generated from the running
    kernel's BTF (/sys/kernel/btf/vmlinux): ``compile_bpf("x.bpf.c", include_dirs=(vmlinux_h,))``."""
    if not os.path.exists(VMLINUX_BTF):
        skip_or_fail(f"kernel has no BTF ({VMLINUX_BTF} missing)")
    from pybpf.btf import BTF
    from pybpf.btf.dump_c import dump_c

    with open(VMLINUX_BTF, "rb") as f:
        text = dump_c(BTF.parse(f.read()))
    out_dir = tmp_path_factory.mktemp("vmlinux_h")
    with open(out_dir / "vmlinux.h", "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
    return str(out_dir)
