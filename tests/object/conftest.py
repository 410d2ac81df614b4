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
    "obj_freplace": "an freplace program (needs its target program before loading)",
    "obj_bad_section": "an unknown section name",
    "obj_bad_mapdef": "an unknown map attribute",
    "obj_bad_legacy": "a legacy 'maps' section",
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


@pytest.fixture
def no_leftovers(monkeypatch):
    """``with no_leftovers(spec): ...``: records the id of every map, program and BTF object
    created in the block (BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_BTF_LOAD) and fails if any of them
    still exists afterwards (a failed load must release everything it created)."""
    import contextlib
    import time

    import pybpf.maps.map as map_mod
    import pybpf.programs.program as prog_mod
    import pybpf.sys.commands as cmd_mod
    from pybpf.errors import BPFError
    from pybpf.sys import uapi
    from pybpf.sys.commands import get_fd_by_id, get_info, get_next_id

    created: list[tuple[str, int]] = []
    kinds_by_name = {"map": uapi.bpf_map_info, "prog": uapi.bpf_prog_info, "btf": uapi.bpf_btf_info}
    kinds = {int(uapi.BPF_MAP_CREATE): ("map", uapi.bpf_map_info),
             int(uapi.BPF_PROG_LOAD): ("prog", uapi.bpf_prog_info),
             int(uapi.BPF_BTF_LOAD): ("btf", uapi.bpf_btf_info)}

    def recording(real):
        def bpf_raw(cmd, attr, size=None):
            ret, err = real(cmd, attr, size)
            kind = kinds.get(int(cmd))
            if kind is not None and ret >= 0:
                info = get_info(ret, kind[1](), "recorded object")
                created.append((kind[0], int(info.id)))
            return ret, err
        return bpf_raw

    @contextlib.contextmanager
    def check(spec):
        del spec
        for mod in (map_mod, prog_mod, cmd_mod):
            monkeypatch.setattr(mod, "bpf_raw", recording(mod.bpf_raw))
        try:
            yield
        finally:
            monkeypatch.undo()
        # The kernel frees a program after an RCU grace period and the maps it used after that.
        deadline = time.monotonic() + 5
        while True:
            left = []
            for kind, oid in created:
                # Ask whether the id exists without taking a reference: reopening a prog array
                # by id right after its last fd closed makes a second "last user gone" while the
                # kernel's deferred slot clearing of the first is still pending, and this kernel
                # (6.18, prog_array_map_clear) then leaks one map reference for good.
                if get_next_id(kind, oid - 1) == oid:
                    left.append((kind, oid))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if left:
            described = []
            for kind, oid in left:
                try:
                    with get_fd_by_id(kind, oid) as fd:
                        info = get_info(fd.fileno(), kinds_by_name[kind](), "leftover")
                    name = bytes(info.name).rstrip(b"\0").decode() if kind != "btf" else ""
                    described.append((kind, oid, name))
                except BPFError:
                    described.append((kind, oid, "?"))
            left = described
        assert not left, f"left in the kernel: {left}"

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
