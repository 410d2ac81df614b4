"""The tools' shipped BPF objects: built from the current sources by ``make bpf``, valid for the
kernel, and laid out as the Python front ends decode them.

Oracles: ``make bpf`` (clang-19 against a vmlinux.h that pybpf generates) rebuilding the
objects from the sources; ``bpftool prog loadall`` loading them into the kernel; the objects'
BTF as bpftool dumps it for the event layouts.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

from pybpf.elf import ELFFile
from pybpf.tools import TOOLS, execsnoop, opensnoop
from pybpf.tools.session import object_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS_DIR = os.path.join(REPO, "src", "pybpf", "tools")

SHF_EXECINSTR = 0x4


def _program_sections(path: str) -> dict[str, bytes]:
    with open(path, "rb") as f:
        elf = ELFFile(f.read())
        return {s.name: bytes(s.data) for s in elf.sections if s.flags & SHF_EXECINSTR}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The tool objects rebuilt by ``make bpf`` from copies of the sources in a temp dir."""
    from tests.conftest import skip_or_fail, tool_unavailable_reason

    reason = tool_unavailable_reason("make", "clang-19", "llvm-strip-19")
    if reason:
        skip_or_fail(reason)
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip_or_fail("kernel has no BTF (/sys/kernel/btf/vmlinux missing)")
    out = tmp_path_factory.mktemp("bpf")
    for name in os.listdir(TOOLS_DIR):
        if name.endswith((".bpf.c", ".h")):
            shutil.copy(os.path.join(TOOLS_DIR, name), out / name)
    proc = subprocess.run(["make", "-s", "-C", REPO, "bpf", f"BPF_TOOLS_DIR={out}",
                           f"BPF_BUILD={out / 'build'}", f"PYTHON={sys.executable}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.parametrize("tool", list(TOOLS))
def test_shipped_object_is_built_from_the_current_source(rebuilt, tool):
    fresh = _program_sections(str(rebuilt / f"{tool}.bpf.o"))
    shipped = _program_sections(object_path(tool))
    assert fresh, "no program sections in the rebuilt object"
    assert shipped == fresh, f"{tool}.bpf.o is stale: run `make bpf`"


def test_make_bpf_uses_a_vmlinux_h_generated_by_pybpf(rebuilt, vmlinux_h):
    with open(rebuilt / "build" / "vmlinux.h", "rb") as a, open(os.path.join(vmlinux_h, "vmlinux.h"), "rb") as b:
        assert a.read() == b.read()


@pytest.mark.kernel
@pytest.mark.parametrize("tool", list(TOOLS))
def test_bpftool_loads_the_shipped_object(require_tools, tool, tmp_path):
    require_tools("bpftool")
    pin_dir = f"/sys/fs/bpf/pybpf_test_{tool}_{os.getpid()}"
    proc = subprocess.run(["bpftool", "prog", "loadall", object_path(tool), pin_dir],
                          capture_output=True, text=True)
    try:
        assert proc.returncode == 0, proc.stderr
        pinned = sorted(os.listdir(pin_dir))
        assert pinned and all(p.startswith("tracepoint__syscalls__") for p in pinned)
    finally:
        shutil.rmtree(pin_dir, ignore_errors=True)


# --------------------------------------------------------------------------- event layouts
def _btf_struct(obj: str, name: str) -> dict:
    proc = subprocess.run(["bpftool", "-j", "btf", "dump", "file", obj], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for t in json.loads(proc.stdout)["types"]:
        if t["kind"] == "STRUCT" and t["name"] == name:
            return t
    raise AssertionError(f"struct {name} not in {obj}'s BTF")


def _offsets(fmt: str, names: tuple[str, ...]) -> dict[str, int]:
    order, codes = fmt[0], fmt[1:]
    out, pos, i = {}, 0, 0
    while codes:
        j = 0
        while codes[j].isdigit():
            j += 1
        code = codes[:j + 1]
        codes = codes[j + 1:]
        out[names[i]] = pos
        pos += struct.calcsize(order + code)
        i += 1
    return out


def test_execsnoop_event_layout_matches_btf(require_tools):
    require_tools("bpftool")
    t = _btf_struct(object_path("execsnoop"), "event")
    btf = {m["name"]: m["bits_offset"] // 8 for m in t["members"]}
    names = ("pid", "ppid", "uid", "retval", "args_count", "args_size", "comm")
    assert _offsets(execsnoop.EVENT.format, names) == {n: btf[n] for n in names}
    assert btf["args"] == execsnoop.ARGS_OFFSET
    assert t["size"] == execsnoop.ARGS_OFFSET + execsnoop.TOTAL_MAX_ARGS * execsnoop.ARGSIZE


def test_opensnoop_event_layout_matches_btf(require_tools, compile_bpf, vmlinux_h):
    # struct event lives on the BPF stack only, so the object's BTF lacks it: compile the
    # source with one extra declaration that makes clang emit the type.
    require_tools("bpftool")
    with open(os.path.join(TOOLS_DIR, "opensnoop.bpf.c")) as f:
        source = f.read() + "\nstruct event *__layout_probe(void) { return 0; }\n"
    obj = compile_bpf(source=source, name="tools_opensnoop_layout", include_dirs=(vmlinux_h, TOOLS_DIR))
    t = _btf_struct(obj, "event")
    btf = {m["name"]: m["bits_offset"] // 8 for m in t["members"]}
    names = ("ts", "pid", "uid", "ret", "flags", "mode", "comm", "fname")
    assert _offsets(opensnoop.EVENT.format, names) == btf
