"""The generated UAPI module against the kernel's own BTF, read by bpftool (libbpf)."""

from __future__ import annotations

import ctypes
import os

import pytest

from pybpf.sys import uapi
from pybpf.sys.gen_uapi import ENUMS, STRUCTS, generate

UAPI_PATH = os.path.join(os.path.dirname(uapi.__file__), "uapi.py")

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def _bpftool_vmlinux():
    import shutil

    if shutil.which("bpftool") is None:
        return None
    from tests.sys.bpftool_btf import BpftoolTypeSource

    return BpftoolTypeSource("/sys/kernel/btf/vmlinux")


@pytest.fixture
def bpftool_vmlinux(_bpftool_vmlinux, require_tools):
    """The kernel's BTF as bpftool reads it (an independent parser: libbpf's)."""
    require_tools("bpftool")
    return _bpftool_vmlinux


def _same_kernel() -> bool:
    return uapi.KERNEL_RELEASE == os.uname().release


def _walk(cls, t, where, seen):
    """Check ctypes class ``cls`` against bpftool's view ``t`` of the same type, recursively."""
    assert ctypes.sizeof(cls) == t.size, f"{where}: size"
    fields = {f[0]: f for f in cls._fields_}
    anon = list(getattr(cls, "_anonymous_", ()))
    names = [f[0] for f in cls._fields_ if not f[0].startswith("_pad")]
    assert len(names) == len(t.members), f"{where}: member count {names}"
    for (fname, m) in zip(names, t.members):
        desc = getattr(cls, fname)
        if m.name:
            assert fname.rstrip("_") == m.name, f"{where}: {fname} vs {m.name}"
        else:
            assert fname in anon or not fname.startswith("_"), f"{where}: anonymous member {fname}"
        if m.bit_size:
            assert desc.size >> 16 == m.bit_size, f"{where}.{fname}: bit size"
            assert desc.offset * 8 + (desc.size & 0xFFFF) == m.bit_offset, f"{where}.{fname}: bit offset"
            continue
        assert desc.offset * 8 == m.bit_offset, f"{where}.{fname}: offset"
        ftype = fields[fname][1]
        mt = m.type
        while mt.kind == "array" and issubclass(ftype, ctypes.Array):
            assert ftype._length_ == mt.nelems, f"{where}.{fname}: array length"
            ftype, mt = ftype._type_, mt.elem
        if mt.kind in ("struct", "union"):
            _walk(ftype, mt, f"{where}.{fname}", seen)
        else:
            assert ctypes.sizeof(ftype) == mt.size, f"{where}.{fname}: size"


@pytest.mark.parametrize("kind,name", STRUCTS)
def test_layout_matches_kernel_btf(bpftool_vmlinux, kind, name):
    t = bpftool_vmlinux.named(kind, name)
    assert t is not None, f"{kind} {name} missing from kernel BTF"
    cls = uapi.LAYOUTS[name]
    if _same_kernel():
        _walk(cls, t, name, set())
    else:
        # Another kernel: UAPI only grows, so every member we know must be where it was.
        for fname, *_ in cls._fields_:
            if not fname.startswith("_"):
                m = next((m for m in t.members if m.name == fname), None)
                if m is not None and not m.bit_size:
                    assert getattr(cls, fname).offset * 8 == m.bit_offset


@pytest.mark.parametrize("name", [n for n, _ in ENUMS])
def test_enum_values_match_kernel_btf(bpftool_vmlinux, name):
    t = bpftool_vmlinux.named("enum", name)
    cls = getattr(uapi, name)
    kernel = {n: v for n, v in t.values}
    for member_name, member in cls.__members__.items():
        if member_name in kernel:
            assert int(member) == kernel[member_name], member_name
    if _same_kernel():
        expect = {n for n in kernel if not n.startswith("__")}
        assert set(cls.__members__) == expect


def test_module_level_names_as_in_c():
    assert uapi.BPF_MAP_TYPE_HASH == 1
    assert uapi.BPF_FUNC_map_lookup_elem == 1
    assert uapi.BPF_PROG_TYPE_XDP == uapi.bpf_prog_type.BPF_PROG_TYPE_XDP
    assert uapi.__MAX_BPF_CMD == len({int(m) for m in uapi.bpf_cmd})  # noqa: SLF001


def test_regenerating_from_bpftool_view_gives_the_committed_file(bpftool_vmlinux):
    """The generator is deterministic and depends only on the BTF: fed by libbpf's reading
    of this kernel's BTF it must reproduce the committed module byte for byte."""
    if not _same_kernel():
        pytest.skip(f"uapi.py was generated on Linux {uapi.KERNEL_RELEASE}, this is {os.uname().release}")
    with open(UAPI_PATH) as f:
        committed = f.read()
    assert generate(bpftool_vmlinux) == committed


def test_bpf_attr_anonymous_members_named_by_command(bpftool_vmlinux):
    a = uapi.bpf_attr()
    a.map_create.map_type = 7
    assert a.map_elem.map_fd == 7  # same bytes: a union
    assert ctypes.sizeof(uapi.bpf_attr) == bpftool_vmlinux.named("union", "bpf_attr").size
    # Promoted anonymous members read like C: attr.link_create.target_btf_id.
    lc = bpftool_vmlinux.named("union", "bpf_attr").members
    link_create = next(m for m in lc if m.name == "link_create").type
    union = next(m for m in link_create.members if not m.name and
                 any(x.name == "target_btf_id" for x in m.type.members))
    assert uapi.bpf_attr_link_create.target_btf_id.offset * 8 == union.bit_offset


def test_regenerating_with_pybpf_btf_gives_the_committed_file(capsys):
    """``python -m pybpf.sys.gen_uapi --check``: pybpf's own BTF parser on this kernel's BTF
    reproduces the committed module."""
    if not _same_kernel():
        pytest.skip(f"uapi.py was generated on Linux {uapi.KERNEL_RELEASE}, this is {os.uname().release}")
    from pybpf.sys.gen_uapi import main

    assert main(["--check"]) == 0, capsys.readouterr().out


def test_generator_refuses_missing_types():
    from pybpf.sys.gen_uapi import CType, GenerationError

    class Empty:
        release = "test"

        def named(self, kind, name):
            return None

        def anonymous_enums(self):
            return iter(())

    with pytest.raises(GenerationError, match="not found in the kernel BTF"):
        generate(Empty())
    assert CType("int").kind == "int"
