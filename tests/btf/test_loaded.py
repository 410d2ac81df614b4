"""BTF in the kernel: BPF_BTF_LOAD (plain and sanitized), open by id, read back, and the
``btf show`` / ``btf dump id|map|prog`` commands, against the kernel and bpftool."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import platform

import pytest

from pybpf.btf import BTF
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.dump_raw import dump_json, dump_raw
from pybpf.btf.loaded import LoadedBTF, load_btf_by_id, probe_btf_features
from pybpf.btf.sanitize import BTFFeatures, sanitize
from pybpf.errors import BTFError, NotFoundError

from .helpers import bpffs_loaded, bpftool, bpftool_types
from .test_builder import build_every_kind

pytestmark = pytest.mark.kernel


def every_kind(named_params: bool = False) -> BTF:
    """Every kind; with ``named_params`` no FUNC_PROTO has an unnamed (or ``...``) parameter:
    sanitized for a kernel without FUNC, those become nameless enumerators, which kernels that
    do validate names (all recent ones, like this one) refuse."""
    b = BTFBuilder()
    build_every_kind(b)
    if named_params:
        for i, t in enumerate(b.types):
            if t.kind.name == "FUNC_PROTO":
                params = tuple(p._replace(name=p.name or f"arg{j}", type=p.type or 1) for j, p in enumerate(t.params))
                b.types[i] = type(t)(t.id, t.name, t.type, params)
    return b.build()


@pytest.mark.parametrize("features", ["all", "none", "probe"])
def test_load_and_read_back(require_tools, features):
    require_tools("bpftool")
    btf = every_kind(named_params=features == "none")
    feats = {"all": BTFFeatures(), "none": BTFFeatures.none(), "probe": "probe"}[features]
    with LoadedBTF.load(btf, features=feats) as kbtf:
        info = kbtf.info()
        expected_raw = bytes(btf.raw) if features != "none" else sanitize(bytes(btf.raw), BTFFeatures.none())
        assert kbtf.raw() == expected_raw
        assert (info.size, info.name, info.kernel_btf) == (len(expected_raw), "", False)
        # bpftool reads the same object from the kernel
        loaded = BTF.parse(expected_raw)
        assert bpftool("btf", "dump", "id", str(info.id)) == dump_raw(loaded)
        assert bpftool("-j", "btf", "dump", "id", str(info.id)) == dump_json(loaded)
        with LoadedBTF.from_id(info.id) as again:
            assert again.id == info.id and again.btf() == again.btf()
            assert [t for t in again.btf().types()] == [t for t in loaded.types()]
        assert load_btf_by_id(info.id).raw == expected_raw
    assert kbtf.closed


def test_kernel_refusal_carries_the_log():
    b = BTFBuilder()
    i32 = b.add_int("int", 4, 1)
    b.add_datasec(".data", 0, [(i32, 0, 4)])  # DATASEC of an INT, size 0: the kernel refuses
    with pytest.raises(BTFError) as info:
        LoadedBTF.load(b)
    assert info.value.errno == errno.EINVAL
    assert getattr(info.value, "log", "")


def settled(ours, theirs, tries: int = 3) -> tuple[str, str]:
    """Both outputs, retried while they differ: other processes may add or drop BPF objects
    (whose ids ``btf show`` lists) between the two runs."""
    for _ in range(tries):
        a, b = ours(), theirs()
        if a == b:
            break
    return a, b


def test_vmlinux_by_id_and_missing_id():
    with LoadedBTF.from_id(1) as kbtf:
        info = kbtf.info()
        assert (info.name, info.kernel_btf) == ("vmlinux", True)
        with open("/sys/kernel/btf/vmlinux", "rb") as f:
            assert kbtf.raw() == f.read()
    with pytest.raises(NotFoundError):
        LoadedBTF.from_id(0x7FFFFFF0)


def test_probed_features_match_the_kernel_version():
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    have = probe_btf_features()
    expected = {"func": (5, 0), "func_global": (5, 6), "datasec": (5, 2), "float": (5, 13),
                "decl_tag": (5, 16), "type_tag": (5, 17), "enum64": (6, 0), "qmark_datasec": (6, 10)}
    for field in dataclasses.fields(BTFFeatures):
        assert getattr(have, field.name) == ((major, minor) >= expected[field.name]), field.name


def test_btf_show_and_dump_id_cli(require_tools, run_pybpf):
    require_tools("bpftool")
    with LoadedBTF.load(every_kind()) as kbtf:
        bid = str(kbtf.id)
        for flags in ([], ["-j"], ["-p"]):
            ours, theirs = settled(lambda: run_pybpf(*flags, "btf", "show", "id", bid).stdout,
                                   lambda: bpftool(*flags, "btf", "show", "id", bid))
            assert ours == theirs
            assert run_pybpf(*flags, "btf", "dump", "id", bid).stdout == bpftool(*flags, "btf", "dump", "id", bid)
    for flags in ([], ["-j"]):
        assert run_pybpf(*flags, "btf", "show", "id", "1").stdout == bpftool(*flags, "btf", "show", "id", "1")
    missing = run_pybpf("btf", "show", "id", "2147483000", check=False)
    assert missing.stderr == bpftool("btf", "show", "id", "2147483000", check=False) or \
        missing.stderr.startswith("Error: can't get BTF object by id (2147483000)")


def test_btf_show_lists_vmlinux_like_bpftool(run_pybpf, require_tools):
    require_tools("bpftool")
    # other processes may create and drop BTF objects meanwhile: compare the stable line
    ours = run_pybpf("btf", "show").stdout.splitlines()
    theirs = bpftool("btf", "show").splitlines()
    assert ours[0] == theirs[0] and ours[0].startswith("1: name [vmlinux]")
    ours_j = json.loads(run_pybpf("-j", "btf", "list").stdout)
    assert ours_j[0] == json.loads(bpftool("-j", "btf", "list"))[0]


def test_map_and_prog_sources(compile_bpf, require_tools, run_pybpf):
    require_tools("bpftool")
    obj = compile_bpf("btf_values.bpf.c")
    with bpffs_loaded(obj) as maps_dir:
        prog_dir = maps_dir[: -len("_maps")]
        prog_pin = f"{prog_dir}/{os.listdir(prog_dir)[0]}"
        map_pin = f"{maps_dir}/values_hash"
        for flags in ([], ["-j"]):
            for which in ([], ["key"], ["value"], ["kv"], ["all"]):
                args = ["btf", "dump", "map", "pinned", map_pin, *which]
                assert run_pybpf(*flags, *args).stdout == bpftool(*flags, *args), which
            args = ["btf", "dump", "prog", "pinned", prog_pin]
            assert run_pybpf(*flags, *args).stdout == bpftool(*flags, *args)
        for which in ([], ["value"], ["all"]):
            args = ["btf", "dump", "map", "pinned", map_pin, *which, "format", "c"]
            assert run_pybpf(*args).stdout == bpftool(*args), which
        btf_id = json.loads(bpftool("map", "show", "pinned", map_pin, "-j"))["btf_id"]
        for flags in ([], ["-j"], ["-p"]):
            ours, theirs = settled(lambda: run_pybpf(*flags, "btf", "show", "id", str(btf_id)).stdout,
                                   lambda: bpftool(*flags, "btf", "show", "id", str(btf_id)))
            assert ours == theirs
        # the kernel's copy (DATASECs fixed up by libbpf) parses like bpftool reads it
        assert [t["id"] for t in bpftool_types("id", str(btf_id))] == list(range(1, len(load_btf_by_id(btf_id))))
