"""ObjectSpec.open against libbpf's own bpf_object__open on the same objects.

libbpf 1.1 (libbpf.so.1, through tests/object/libbpf_oracle.py) is the oracle for what opening
finds: the object name, every program (name, section, program type, expected attach type,
autoload) and every map (name, type, key/value sizes, max_entries, flags, numa_node,
map_extra, BTF key/value type ids, inner map template, internal maps' initial contents).
Known differences from libbpf 1.1 (features of later libbpf that pybpf follows) are listed and
checked explicitly. Opening makes no system call and is deterministic; copies are independent.
"""

from __future__ import annotations

import copy
import os

import pytest

from pybpf.errors import BPFError, InvalidArgumentError
from pybpf.object import ObjectSpec

from .conftest import FIXTURES

#: fixtures libbpf 1.1 refuses to open (and what pybpf must say instead)
LIBBPF_OPEN_FAILS = {"obj_bad_mapdef", "obj_bad_legacy", "obj_sections"}


def _prog_type_number(name):
    from pybpf.sys.names import parse_prog_type

    return parse_prog_type(name) if name is not None else 0


def _attach_type_number(name):
    from pybpf.sys.names import parse_attach_type

    return parse_attach_type(name) if name is not None else 0


@pytest.mark.parametrize("name", [f for f in FIXTURES if f not in LIBBPF_OPEN_FAILS])
def test_open_matches_libbpf(name, build, libbpf):
    path = build(name)
    want = libbpf(path)
    assert want["open_err"] == 0, want["log"][-3:]
    spec = ObjectSpec.open(path)
    assert spec.name == want["name"]
    got_progs = [{"name": p.name, "section": p.section, "type": _prog_type_number(p.type),
                  "expected_attach_type": _attach_type_number(p.expected_attach_type),
                  "autoload": p.autoload, "flags": p.flags}
                 for p in spec.programs.values()]
    assert got_progs == want["programs"]
    got_maps = []
    for mp in spec.maps.values():
        row = {"name": mp.name, "type": mp.type, "key_size": mp.key_size, "value_size": mp.value_size,
               "max_entries": mp.max_entries, "flags": mp.flags, "numa_node": mp.numa_node,
               "map_extra": mp.map_extra, "btf_key_type_id": mp.btf_key_type_id,
               "btf_value_type_id": mp.btf_value_type_id, "internal": mp.is_internal,
               "initial_value": bytes(mp.data).hex() if mp.data is not None else None}
        if mp.inner is not None:
            row["inner"] = {"name": mp.inner.name, "type": mp.inner.type, "key_size": mp.inner.key_size,
                            "value_size": mp.inner.value_size, "max_entries": mp.inner.max_entries}
        got_maps.append(row)
    for mp in want["maps"]:
        if mp["name"].endswith(".rodata.str1.1"):
            # libbpf 1.2+ maps a section without BTF variables non-mmapable; 1.1 did not.
            mp["flags"] &= ~(1 << 10)
    assert got_maps == want["maps"]


@pytest.mark.parametrize("name", sorted(LIBBPF_OPEN_FAILS - {"obj_sections"}))
def test_open_refuses_what_libbpf_refuses(name, build, libbpf):
    path = build(name)
    assert libbpf(path)["open_err"] != 0
    with pytest.raises(BPFError) as exc:
        ObjectSpec.open(path)
    assert path in str(exc.value)


def test_custom_bss_section(build):
    """libbpf 1.2+ gives a .bss.X section its own internal map named after the section."""
    spec = ObjectSpec.open(build("obj_sections"))
    mp = spec.maps[".bss.custom"]
    assert (mp.name, mp.kind, mp.value_size, bytes(mp.data)) == (".bss.custom", "bss", 4, bytes(4))
    assert spec.variables["custom_bss"].map is mp


def test_deterministic_and_syscall_free(build, monkeypatch):
    path = build("obj_maps")
    from pybpf.object.dump import describe

    first = describe(ObjectSpec.open(path))
    import pybpf.sys.syscall as sc

    def no_syscalls(*a, **k):
        raise AssertionError("ObjectSpec.open made a bpf() call")

    monkeypatch.setattr(sc, "bpf_raw", no_syscalls)
    with open(path, "rb") as f:
        data = f.read()
    again = describe(ObjectSpec.from_bytes(data, name=os.path.basename(path).split(".")[0][:15]))
    again["path"] = first["path"]
    assert again == first


def test_from_bytes_name(build):
    with open(build("obj_globals"), "rb") as f:
        data = f.read()
    spec = ObjectSpec.from_bytes(data)
    assert spec.name == ""
    assert [mp.name for mp in spec.maps.values() if mp.is_internal][:2] == [".rodata", ".data"]
    named = ObjectSpec.from_bytes(data, name="a_long_object_name")
    assert named.name == "a_long_object_n"
    assert named.maps[".rodata"].name == "a_long_o.rodata"


def test_copy_is_independent(build):
    spec = ObjectSpec.open(build("obj_globals"))
    for dup in (spec.copy(), copy.copy(spec), copy.deepcopy(spec)):
        dup.variables["rd_mult"].value = 9
        dup.maps[".rodata"].flags |= 0
        dup.programs["globals_xdp"].autoload = False
        assert spec.variables["rd_mult"].value == 2
        assert dup.variables["rd_mult"].value == 9
        assert spec.programs["globals_xdp"].autoload
        assert dup.variables["rd_mult"].map is dup.maps[".rodata"]


def test_variables_typed_edit(build):
    spec = ObjectSpec.open(build("obj_globals"))
    v = spec.variables
    assert v["rd_cfg"].value == {"mult": 3, "add": 4, "tag": b"abc", "flag": 1, "level": 5}
    assert v["rd_name"].value == b"pybpf"
    assert v["data_arr"].value == [1, 2, 3, 4]
    assert v["hidden_global"].linkage == 0      # __hidden: static, as libbpf marks it
    v["rd_cfg"].value = {"mult": -1, "level": 7}
    assert v["rd_cfg"].value["mult"] == -1 and v["rd_cfg"].value["level"] == 7
    assert v["rd_cfg"].value["tag"] == b""       # unspecified members are zero
    v["data_arr"].raw = bytes(range(32))
    assert v["data_arr"].value[0] == int.from_bytes(bytes(range(8)), "little")
    with pytest.raises(InvalidArgumentError):
        v["rd_mult"].value = 1 << 40
    with pytest.raises(InvalidArgumentError):
        v["rd_name"].value = "much too long for eight"


def test_setters_like_libbpf(build):
    spec = ObjectSpec.open(build("obj_maps"))
    ring = spec.maps["ring"]
    ring.max_entries = 5000                      # rounded to a power-of-2 number of pages
    assert ring.max_entries == 8192
    spec.maps["hash_noprealloc"].max_entries = 7
    assert spec.maps["hash_noprealloc"].max_entries == 7
    spec.maps["lru_sized"].type = "hash"
    assert spec.maps["lru_sized"].type == 1
    with pytest.raises(InvalidArgumentError):
        spec.maps["lru_sized"].type = "no_such_type"
    with pytest.raises(InvalidArgumentError):
        spec.maps["hash_noprealloc"].max_entries = -1
    prog = spec.programs["maps_main"]
    prog.autoload = False
    assert not prog.autoload
    prog.type = "xdp"
    assert prog.definition is None               # a new type forgets what the section implied
    with pytest.raises(InvalidArgumentError):
        prog.type = "not_a_type"


def test_internal_map_values_fixed(build):
    spec = ObjectSpec.open(build("obj_globals"))
    with pytest.raises(InvalidArgumentError):
        spec.maps[".data"].value_size = 1
    with pytest.raises(InvalidArgumentError):
        spec.maps[".bss"].type = "hash"


def test_map_lookup_by_section_name(build):
    spec = ObjectSpec.open(build("obj_globals"))
    assert spec.maps[".rodata"] is spec.maps["obj_glob.rodata"]
    assert spec.maps[".data.custom"].name == ".data.custom"
    assert ".bss" in spec.maps and "counts" not in spec.maps
    assert spec.maps.index(".data") == 1


def test_program_kinds(build):
    spec = ObjectSpec.open(build("obj_fentry"))
    p = spec.programs
    assert p["sleepable_nanosleep"].sleepable and p["sleepable_nanosleep"].prog_flags() == 1 << 4
    assert not p["not_loaded"].autoload and p["not_loaded"].section_name == "?fentry/vfs_read"
    assert p["lsm_file_open"].btf_attach_name() == "file_open"
    calls = ObjectSpec.open(build("obj_calls"))
    assert set(calls.subprograms) == {"sub_a", "sub_b", "sub_c", "global_sub", "hidden_sub", "loop_cb",
                                      "each_cb"}
    assert calls.subprograms["hidden_sub"].mark_btf_static
    assert not calls.subprograms["global_sub"].mark_btf_static


def test_unknown_section_opens_untyped(build):
    spec = ObjectSpec.open(build("obj_bad_section"))
    assert spec.programs["mystery"].type is None
    assert spec.programs["fine"].type == "BPF_PROG_TYPE_XDP"


def test_externs_classified(build):
    spec = ObjectSpec.open(build("obj_externs"))
    ext = {e.name: e for e in spec.externs}
    assert [e.kind for e in spec.externs][:1] == ["kconfig"]
    assert ext["CONFIG_BPF_JIT"].kcfg_type == "tristate"
    assert ext["CONFIG_BPF"].kcfg_type == "char"
    assert ext["CONFIG_NR_CPUS"].kcfg_type == "int" and ext["CONFIG_NR_CPUS"].size == 2
    assert ext["CONFIG_ILLEGAL_POINTER_VALUE"].signed
    assert ext["CONFIG_LOCALVERSION"].kcfg_type == "char_array"
    assert ext["CONFIG_KPROBES"].weak and ext["CONFIG_BPF_SYSCALL"].kcfg_type == "bool"
    assert ext["__start_BTF"].kind == "ksym" and not ext["__start_BTF"].typed
    # libbpf's layout of .kconfig: by descending alignment, then ascending size, then name
    kc = [e for e in spec.externs if e.kind == "kconfig"]
    assert kc == sorted(kc, key=lambda e: (-e.align, e.size, e.name))
    offs = [e.offset for e in kc]
    assert offs == sorted(offs) and all(e.offset % e.align == 0 for e in kc)
    assert spec.maps[".kconfig"].value_size == kc[-1].offset + kc[-1].size
    funcs = ObjectSpec.open(build("obj_kfuncs"))
    assert {e.name for e in funcs.externs if e.is_func} == {"bpf_task_from_pid", "bpf_task_release",
                                                            "bpf_pybpf_no_such_kfunc"}
