"""Fixtures of the object loader's tests: the obj_* fixtures compiled against a pybpf-generated
vmlinux.h, libbpf (libbpf.so.1) and bpftool as oracles, bpffs scratch directories, and a check
that a failed load leaves nothing in the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import skip_or_fail, tool_unavailable_reason

HERE = os.path.dirname(os.path.abspath(__file__))
LIBBPF_SO = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"

#: every obj_*.bpf.c fixture
FIXTURES = sorted(f[:-len(".bpf.c")] for f in os.listdir(os.path.join(os.path.dirname(HERE), "progs"))
                  if f.startswith("obj_") and f.endswith(".bpf.c"))
#: fixtures bpftool 7.1 (libbpf 1.1) cannot load on this kernel, and why
NOT_LOADABLE_BY_BPFTOOL = {
    "obj_sections": "a .bss.X section (libbpf 1.2+)",
    "obj_exceptions": "an exception callback (libbpf 1.3+)",
    "obj_core_poison": "an unguarded CO-RE relocation that cannot be applied",
    "obj_ksym_var": "a typed __ksym variable the kernel has no kallsyms address for",
    "obj_fentry": "BPF trampolines (this kernel cannot attach fentry/fexit/lsm)",
    "obj_bad_section": "an unknown section name",
    "obj_bad_mapdef": "an unknown map attribute",
    "obj_bad_license": "a GPL-only helper without a license",
    "obj_bad_extern": "an unresolvable strong extern",
    "obj_bad_ksym": "an unresolvable strong ksym",
    "obj_bad_kfunc": "an unresolvable strong kfunc",
}


@pytest.fixture(scope="session")
def build(compile_bpf, vmlinux_h):
    """``build("obj_calls")`` -> path of tests/progs/obj_calls.bpf.c compiled (CO-RE style)."""

    def run(name: str, flags: tuple[str, ...] = ()) -> str:
        return compile_bpf(f"{name}.bpf.c", include_dirs=(vmlinux_h,), flags=flags)

    return run


@pytest.fixture
def require_libbpf():
    if not os.path.exists(LIBBPF_SO):
        skip_or_fail(f"oracle not installed: {LIBBPF_SO}")


def run_libbpf(path: str, *, load: bool = False, btf: str | None = None, kconfig: str | None = None) -> dict:
    """What libbpf itself makes of ``path`` (tests/object/libbpf_oracle.py, in a child process)."""
    argv = [sys.executable, os.path.join(HERE, "libbpf_oracle.py"), path]
    if load:
        argv.append("load")
    if btf:
        argv += ["btf", btf]
    if kconfig:
        argv += ["kconfig", kconfig]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"libbpf oracle crashed on {path}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


@pytest.fixture
def libbpf(require_libbpf):
    return run_libbpf


@pytest.fixture
def bpffs_dir():
    from tests.sys.helpers import make_bpffs_dir

    yield from make_bpffs_dir()


@pytest.fixture
def require_bpftool():
    reason = tool_unavailable_reason("bpftool")
    if reason:
        skip_or_fail(reason)


def kernel_objects(names: set[str]) -> set[tuple[str, int]]:
    """``(kind, id)`` of the programs and maps in the kernel whose name is one of ``names``
    (kernel names: at most 15 characters)."""
    from pybpf.errors import BPFError
    from pybpf.maps.info import query_map_info
    from pybpf.programs.info import query_prog_info
    from pybpf.sys.commands import get_fd_by_id, iter_ids

    short = {n[:15] for n in names}
    out = set()
    for kind, query in (("prog", lambda fd: query_prog_info(fd, arrays=False)), ("map", query_map_info)):
        for oid in iter_ids(kind):
            try:
                fd = get_fd_by_id(kind, oid)
            except BPFError:
                continue
            with fd:
                try:
                    info = query(fd.fileno())
                except BPFError:
                    continue
            if info.name in short:
                out.add((kind, oid))
    return out


@pytest.fixture
def no_leftovers():
    """``with no_leftovers(spec): ...``: fails if programs or maps named like the spec's are
    left in the kernel after the block (a failed load must release everything)."""
    import contextlib

    @contextlib.contextmanager
    def check(spec):
        names = set(spec.programs) | {mp.name for mp in spec.maps.values()}
        before = kernel_objects(names)
        yield
        left = kernel_objects(names) - before
        assert not left, f"left in the kernel: {sorted(left)}"

    return check


@pytest.fixture(scope="session")
def usdt_target(tmp_path_factory):
    """A gcc-built binary with the pybpf:tick USDT probe (tests/object/c/obj_usdt_target.c)."""
    import shutil

    if shutil.which("gcc") is None:
        skip_or_fail("gcc is not installed")
    out = tmp_path_factory.mktemp("usdt-target") / "obj_usdt_target"
    proc = subprocess.run(["gcc", "-O1", "-g", os.path.join(HERE, "c", "obj_usdt_target.c"), "-o", str(out)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise AssertionError(proc.stderr)
    return str(out)


@pytest.fixture(scope="session")
def core_target_btf(tmp_path_factory):
    """tests/object/c/obj_core_target.c built with clang-19 -g for BPF: a custom CO-RE target."""
    reason = tool_unavailable_reason("clang-19")
    if reason:
        skip_or_fail(reason)
    out = tmp_path_factory.mktemp("core-target") / "obj_core_target.o"
    subprocess.run(["clang-19", "-g", "-target", "bpf", "-c", os.path.join(HERE, "c", "obj_core_target.c"),
                    "-o", str(out)], check=True, capture_output=True)
    return str(out)
