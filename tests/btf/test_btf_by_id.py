"""One way to get kernel BTF: by id through pybpf.btf.loaded, vmlinux through kernel_btf().

The attach-target search, the feature probes, the freplace target lookup and the CLI all ask
these two; the answers are checked against bpftool's listing of the same BTF.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from pybpf import Program
from pybpf.btf.kernel import kernel_btf
from pybpf.errors import NotFoundError

from .helpers import bpffs_loaded, bpftool


def _bpftool_vmlinux_id(kind: str, name: str) -> int:
    """Id of the ``kind`` named ``name`` in bpftool's raw dump of the running kernel's BTF."""
    out = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
                         capture_output=True, text=True, check=True).stdout
    mo = re.search(rf"^\[(\d+)\] {kind} '{re.escape(name)}'", out, re.M)
    assert mo, name
    return int(mo.group(1))


def test_attach_targets_and_feature_probes_share_kernel_btf(require_tools):
    require_tools("bpftool")
    from pybpf import features
    from pybpf.link import btf_targets

    assert btf_targets.vmlinux_btf() is kernel_btf()
    expected = _bpftool_vmlinux_id("TYPEDEF", "btf_trace_sched_switch")
    target = btf_targets.find_attach_btf_id("sched_switch", "BPF_TRACE_RAW_TP")
    assert (target.btf_id, target.module) == (expected, "vmlinux")
    assert features._vmlinux_id("btf_trace_sched_switch", "TYPEDEF") == expected
    assert features._cached(("vmlinux",), lambda: None) is kernel_btf()


@pytest.mark.kernel
def test_btf_object_id_by_name(require_tools):
    require_tools("bpftool")
    from pybpf.link.btf_targets import _btf_object_id

    listed = json.loads(bpftool("btf", "show", "-j"))
    vmlinux = [b["id"] for b in listed if b.get("name") == "vmlinux" and b["kernel"]]
    assert _btf_object_id("vmlinux") == vmlinux[0]
    with pytest.raises(NotFoundError):
        _btf_object_id("no_such_module_here")


@pytest.mark.kernel
def test_freplace_target_function_from_the_programs_btf(compile_bpf, require_tools):
    """freplace looks its target function up in the target program's BTF, read by id."""
    require_tools("bpftool", "clang-19")
    from pybpf.link.tracing import _prog_func_btf_id

    obj = compile_bpf("btf_values.bpf.c")
    with bpffs_loaded(obj) as maps_dir:
        progs_dir = maps_dir.removesuffix("_maps")
        with Program.from_pin(f"{progs_dir}/values_prog") as prog:
            listing = bpftool("btf", "dump", "prog", "id", str(prog.id))
            mo = re.search(r"^\[(\d+)\] FUNC 'values_prog'", listing, re.M)
            assert mo
            assert _prog_func_btf_id(prog, "values_prog") == int(mo.group(1))
            with pytest.raises(NotFoundError):
                _prog_func_btf_id(prog, "not_a_function")
