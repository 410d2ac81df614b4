"""``dump_c`` against ``bpftool btf dump file ... format c`` (bpftool 7.1), byte for byte.

Inputs: the running kernel's BTF, objects compiled with clang-19 from tests/progs/btf_c_*.bpf.c
(both byte orders), and objects linked by ``bpftool gen object`` whose BTF keeps same-named
types apart. The generated headers are then compiled with clang-19: the fixture headers with
``_Static_assert``s that clang lays every struct out as the original BTF says, vmlinux.h
together with libbpf's helper headers.
"""

from __future__ import annotations

import subprocess

import pytest

from pybpf.btf import BTF, Kind, model as m
from pybpf.btf.dump_c import dump_c
from pybpf.errors import BTFError

from .test_dump_c_fuzz import (ARRAY, ENUM, FUNC_PROTO, FWD, INT, PTR, STRUCT, TYPEDEF, VAR,
                               RawBTF, info)

VMLINUX = "/sys/kernel/btf/vmlinux"
FIXTURES = ["btf_c_layout.bpf.c", "btf_c_decls.bpf.c", "btf_kinds.bpf.c"]


def bpftool_c(path: str) -> str:
    proc = subprocess.run(["bpftool", "btf", "dump", "file", str(path), "format", "c"],
                          capture_output=True, check=True)
    return proc.stdout.decode("utf-8", "surrogateescape")


def btf_section(obj: str, tmp_path) -> bytes:
    out = tmp_path / "btf.raw"
    subprocess.run(["llvm-objcopy-19", f"--dump-section=.BTF={out}", str(obj), str(tmp_path / "x.o")],
                   check=True)
    return out.read_bytes()


def assert_same(got: str, expected: str) -> None:
    """Equal, or fail showing the first differing line with context (the texts are huge)."""
    if got == expected:
        return
    g, e = got.splitlines(), expected.splitlines()
    i = next((i for i, (a, b) in enumerate(zip(g, e)) if a != b), min(len(g), len(e)))
    lo = max(0, i - 5)
    pytest.fail(f"first difference at line {i + 1} (pybpf {len(g)} lines, bpftool {len(e)}):\n"
                f"--- bpftool\n" + "\n".join(e[lo:i + 5]) + "\n--- pybpf\n" + "\n".join(g[lo:i + 5]),
                pytrace=False)


@pytest.mark.kernel
def test_vmlinux_identical_to_bpftool(require_tools):
    require_tools("bpftool")
    expected = bpftool_c(VMLINUX)
    with open(VMLINUX, "rb") as f:
        raw = f.read()
    # one process, and two (the child writes the second half, clashing names left to the parent)
    assert_same(dump_c(BTF.parse(raw), jobs=1), expected)
    assert_same(dump_c(BTF.parse(raw), jobs=2), expected)


@pytest.mark.parametrize("endian", ["bpfel", "bpfeb"])
@pytest.mark.parametrize("source", FIXTURES)
def test_object_identical_to_bpftool(compile_bpf, require_tools, tmp_path, source, endian):
    require_tools("bpftool", "llvm-objcopy-19")
    obj = compile_bpf(source, endian=endian)
    expected = bpftool_c(obj)
    raw = btf_section(obj, tmp_path)
    assert_same(dump_c(BTF.parse(raw), jobs=1), expected)
    assert_same(dump_c(BTF.parse(raw), jobs=2), expected)


def test_fixtures_reach_the_hard_cases(compile_bpf, require_tools):
    """The fixtures are only worth something if bpftool's output for them shows the cases."""
    require_tools("bpftool")
    layout = bpftool_c(compile_bpf("btf_c_layout.bpf.c"))
    decls = bpftool_c(compile_bpf("btf_c_decls.bpf.c"))
    for needle in ("__attribute__((packed))", "long: 0;", "int: 29;", "u64 b64: 64;",
                   "char data[0];", "int m2[2][3];", "int (*arrp)[5];", "struct empty {};",
                   "\t\t\t\t\t\tint deepest;", "} *ptr_to_anon;", "const int * volatile const * restrict cvr;"):
        assert needle in layout, needle
    for needle in ("typedef void (* (*fn_returning_fn_t)(int))(long);", "int (*inline_ops[2][2])(int);",
                   "(const char *, ...)", "= -9223372036854775808LL,", "= 18446744073709551615ULL,",
                   "SG_MIN = -2147483648,", "btf_type_tag(\"percpu\")", "struct cyc_b;",
                   "typedef struct tdcyc tdcyc_t;", "enum empty_fwd_enum;", "typedef enum {"):
        assert needle in decls, needle


def test_linked_objects_name_clashes(compile_bpf, require_tools, tmp_path):
    """Same names of different types in one BTF get ``___N`` suffixes in first-use order."""
    require_tools("bpftool", "llvm-objcopy-19")
    objs = [compile_bpf(f"btf_c_names_{part}.bpf.c") for part in "abc"]
    linked = tmp_path / "linked.o"
    subprocess.run(["bpftool", "gen", "object", str(linked), *objs], check=True, capture_output=True)
    expected = bpftool_c(linked)
    for needle in ("struct clash___3 {", "typedef long clash_t___2;", "ident_x___2 = 3,",
                   "CLASH_A___2 = 5,", "struct fwdclash;", "struct fwdclash___2 {",
                   "typedef struct clash___3 clash_s___2;"):
        assert needle in expected, needle
    raw = btf_section(linked, tmp_path)
    assert_same(dump_c(BTF.parse(raw), jobs=1), expected)
    assert_same(dump_c(BTF.parse(raw), jobs=2), expected)


@pytest.mark.parametrize("source", ["btf_c_layout.bpf.c", "btf_c_decls.bpf.c"])
def test_generated_header_reproduces_layout(compile_bpf, require_tools, tmp_path, source):
    """clang, compiling the header, must place every member where the original BTF says."""
    require_tools("llvm-objcopy-19")
    btf = BTF.parse(btf_section(compile_bpf(source), tmp_path))
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "types.h").write_text(dump_c(btf))
    checks = []
    for tid in range(1, len(btf)):
        if btf.kind_of(tid) not in (Kind.STRUCT, Kind.UNION):
            continue
        t = btf[tid]
        if not isinstance(t, m.Composite) or not t.name or len(btf.find(t.name, t.kind)) != 1:
            continue
        kw = "struct" if t.kind == Kind.STRUCT else "union"
        checks.append(f"_Static_assert(sizeof({kw} {t.name}) == {t.size}, \"size of {t.name}\");")
        for mem in t.members:
            if mem.name and not mem.bitfield_size:
                checks.append(f"_Static_assert(__builtin_offsetof({kw} {t.name}, {mem.name}) == "
                              f"{mem.bit_offset // 8}, \"{t.name}.{mem.name}\");")
    assert len(checks) > 20
    src = '#include "types.h"\n' + "\n".join(checks) + "\nint dummy;\n"
    compile_bpf(source=src, name="layout_check", include_dirs=(str(tmp_path / "inc"),),
                flags=("-Wno-visibility", "-Wno-implicitly-unsigned-literal"))


def test_vmlinux_h_fixture_builds_a_core_program(vmlinux_h, compile_bpf, require_tools, tmp_path):
    """vmlinux.h from pybpf + libbpf's bpf_helpers.h/bpf_core_read.h/bpf_tracing.h compile."""
    require_tools("llvm-readelf-19")
    obj = compile_bpf("btf_c_vmlinux.bpf.c", include_dirs=(vmlinux_h,))
    sections = subprocess.run(["llvm-readelf-19", "-S", obj], capture_output=True, text=True,
                              check=True).stdout
    for name in ("tp_btf/sched_process_exec", "kprobe/do_nanosleep", ".BTF.ext", ".maps"):
        assert name in sections, name


@pytest.mark.parametrize("source", FIXTURES)
def test_roots_in_id_order_equal_the_full_dump(compile_bpf, require_tools, tmp_path, source):
    """``roots`` (bpftool's path for ``btf dump map``) visiting every id = the full dump."""
    require_tools("llvm-objcopy-19")
    btf = BTF.parse(btf_section(compile_bpf(source), tmp_path))
    assert dump_c(btf, roots=range(1, len(btf))) == dump_c(btf)


@pytest.mark.kernel
def test_vmlinux_roots_in_id_order_equal_the_full_dump():
    with open(VMLINUX, "rb") as f:
        btf = BTF.parse(f.read())
    assert dump_c(btf, roots=range(1, len(btf))) == dump_c(btf)


def test_library_call_never_forks(monkeypatch):
    """dump_c() without ``jobs`` stays in the caller's process even for vmlinux (the helper
    process is for the command line, which asks for it with jobs=0)."""
    import os

    def no_fork() -> int:
        raise AssertionError("dump_c forked")

    monkeypatch.setenv("PYBPF_DUMP_JOBS", "")
    monkeypatch.setattr(os, "fork", no_fork)
    with open(VMLINUX, "rb") as f:
        text = dump_c(BTF.parse(f.read()))
    assert text.startswith("#ifndef __VMLINUX_H__") and "struct task_struct {" in text


def test_roots_dump_only_what_they_need(compile_bpf, require_tools, tmp_path):
    require_tools("llvm-objcopy-19")
    btf = BTF.parse(btf_section(compile_bpf("btf_c_decls.bpf.c"), tmp_path))
    text = dump_c(btf, roots=[btf.find_one("cyc_c", Kind.STRUCT)])
    assert "struct cyc_a {" in text and "struct cyc_c {" in text
    assert "struct fn_ptrs" not in text and "enum signed_enum" not in text
    with pytest.raises(BTFError, match="out of range"):
        dump_c(btf, roots=[len(btf)])


def anon_enum(raw: RawBTF, value_name: str) -> list[int]:
    return [0, info(ENUM, 1), 4, raw.s(value_name), 1]


def case_proto_return(raw: RawBTF) -> None:
    # [1] int, [2] proto returning [3], [3] anonymous enum: a return type is not "referenced"
    raw.add([raw.s("int"), info(INT), 4, 1 << 24 | 32])
    raw.add([0, info(FUNC_PROTO, 1), 3, raw.s("x"), 1])
    raw.add(anon_enum(raw, "RET_ONLY"))


def case_array_index(raw: RawBTF) -> None:
    # [1] anonymous enum used only as an array's index type, [2] the array, [3] a struct of it
    raw.add(anon_enum(raw, "INDEX_ONLY"))
    raw.add([0, info(ARRAY), 0, 4, 1, 2])
    raw.add([raw.s("holder"), info(STRUCT, 1), 8, raw.s("a"), 2, 0])
    raw.add([raw.s("int"), info(INT), 4, 1 << 24 | 32])


def case_var_only(raw: RawBTF) -> None:
    # [1] var of [2], an anonymous enum nothing else uses; [3] anonymous fwd
    raw.add([raw.s("v"), info(VAR), 2, 1])
    raw.add(anon_enum(raw, "VAR_ONLY"))
    raw.add([0, info(FWD), 0])
    raw.add(anon_enum(raw, "UNUSED"))


def case_typedef_after(raw: RawBTF) -> None:
    # [1] anonymous enum referenced only by a later typedef [2]
    raw.add(anon_enum(raw, "TD_LATER"))
    raw.add([raw.s("later_t"), info(TYPEDEF), 1])


def anon_enum_users(raw: RawBTF, layout: str) -> None:
    # [2] an anonymous enum written inline by every struct ("u" in layout) that has it as a
    # member: its enumerators get ___2, ___3, ...; big structs ("b") weigh the parts of a
    # two-process dump, so the writings fall in the parent's part, the helper's, or both
    raw.add([raw.s("int"), info(INT), 4, 1 << 24 | 32])
    raw.add([0, info(ENUM, 2), 4, raw.s("AGAIN_A"), 1, raw.s("AGAIN_B"), 2])
    users = iter(range(len(layout)))
    for kind in ("user" if c == "u" else "big" for c in layout):
        if kind == "user":
            raw.add([raw.s(f"user{next(users)}"), info(STRUCT, 1), 4, raw.s("e"), 2, 0])
        else:
            n = len(raw.records)
            raw.add([raw.s(f"big{n}"), info(STRUCT, 12), 48]
                    + [w for i in range(12) for w in (raw.s(f"m{i}"), 1, 32 * i)])
    raw.add(anon_enum(raw, "AGAIN_ALONE"))


def case_anon_enum_written_in_both_parts(raw: RawBTF) -> None:
    anon_enum_users(raw, "ubuubu")


def case_anon_enum_written_again_by_the_helper(raw: RawBTF) -> None:
    anon_enum_users(raw, "bbuuu")


@pytest.mark.parametrize("case", [case_proto_return, case_array_index, case_var_only,
                                  case_typedef_after, case_anon_enum_written_in_both_parts,
                                  case_anon_enum_written_again_by_the_helper])
def test_referenced_marks_like_libbpf(require_tools, tmp_path, case):
    """Which anonymous enums count as top-level definitions (libbpf's "referenced" rule).

    Two processes (``jobs=2``) plan before the marks are known, taking enums as unreferenced
    and dropping them afterwards: the text must not change."""
    require_tools("bpftool")
    raw = RawBTF()
    case(raw)
    path = tmp_path / "case.btf"
    path.write_bytes(raw.encode())
    expected = bpftool_c(path)
    assert_same(dump_c(BTF.parse(raw.encode()), jobs=1), expected)
    assert_same(dump_c(BTF.parse(raw.encode()), jobs=2), expected)


def test_split_btf_identical_to_bpftool(require_tools, tmp_path):
    """Split BTF (as modules have) on top of vmlinux: its base's types come first, ids and string
    offsets continue after the base's, as ``bpftool -B vmlinux ... format c`` prints them."""
    require_tools("bpftool")
    from .test_dump_raw import _split_on_vmlinux

    with open(VMLINUX, "rb") as f:
        vmlinux = BTF.parse(f.read())
    path = tmp_path / "module.btf"
    path.write_bytes(_split_on_vmlinux(vmlinux))
    expected = subprocess.run(["bpftool", "-B", VMLINUX, "btf", "dump", "file", str(path), "format", "c"],
                              capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    assert "struct mod_state {" in expected
    for jobs in (1, 2):  # alone, and with a helper writing the second part
        assert_same(dump_c(BTF.parse(path.read_bytes(), base=vmlinux), jobs=jobs), expected)


def test_table_columns_match_bpftool_listing(require_tools, tmp_path):
    """The columnar view the dumpers read (kinds, names, size/type, vlen) against bpftool's JSON
    listing of the same split BTF, base types included."""
    require_tools("bpftool")
    import json

    from .test_dump_raw import _split_on_vmlinux

    with open(VMLINUX, "rb") as f:
        vmlinux = BTF.parse(f.read())
    path = tmp_path / "module.btf"
    path.write_bytes(_split_on_vmlinux(vmlinux))
    table = BTF.parse(path.read_bytes(), base=vmlinux).table
    listed = json.loads(subprocess.run(["bpftool", "-B", VMLINUX, "btf", "dump", "file", str(path), "-j"],
                                       capture_output=True, check=True, text=True).stdout)["types"]
    assert table.count == len(vmlinux) + len(listed)
    kind_names = {k.value: k.name for k in Kind}
    for t in listed:
        tid = t["id"]
        assert kind_names[table.kinds[tid]] == t["kind"], tid
        assert (table.names[tid] or "(anon)") == t["name"], tid
        if "size" in t:
            assert table.size_type[tid] == t["size"], tid
        elif "type_id" in t and t["kind"] != "ARRAY":
            assert table.size_type[tid] == t["type_id"], tid
        if "vlen" in t:
            assert table.vlens[tid] == t["vlen"], tid
    task = vmlinux.find_one("task_struct", Kind.STRUCT)
    assert table.names[task] == "task_struct" and table.kinds[task] == Kind.STRUCT


def test_names_that_are_not_utf8_round_trip_byte_exact(require_tools, tmp_path):
    """bpftool copies name bytes as they are; dump_c keeps them as surrogate escapes."""
    require_tools("bpftool")
    raw = RawBTF()
    raw.strtab += b"caf\xe9\0"  # offset 1: not UTF-8
    raw.add([1, info(STRUCT, 1), 4, raw.s("m"), 2, 0])
    raw.add([raw.s("int"), info(INT), 4, 1 << 24 | 32])
    path = tmp_path / "latin1.btf"
    path.write_bytes(raw.encode())
    expected = subprocess.run(["bpftool", "btf", "dump", "file", str(path), "format", "c"],
                              capture_output=True, check=True).stdout
    assert b"struct caf\xe9 {" in expected
    assert dump_c(BTF.parse(raw.encode())).encode("utf-8", "surrogateescape") == expected


# ---------------------------------------------------------------------- bad input
def test_unsatisfiable_cycle_is_refused_like_bpftool(require_tools, tmp_path):
    require_tools("bpftool")
    raw = RawBTF()
    raw.add([0, info(STRUCT, 1), 8, raw.s("self"), 2, 0])  # [1] anonymous struct { [2] self; }
    raw.add([0, info(PTR), 1])                               # [2] pointer to [1]
    path = tmp_path / "cycle.btf"
    path.write_bytes(raw.encode())
    proc = subprocess.run(["bpftool", "btf", "dump", "file", str(path), "format", "c"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "unsatisfiable type cycle, id:[1]" in proc.stderr
    with pytest.raises(BTFError, match=r"unsatisfiable type cycle, id:\[1\]"):
        dump_c(BTF.parse(raw.encode()))


def test_reference_past_the_last_type_names_the_type():
    raw = RawBTF()
    raw.add([raw.s("holder"), info(STRUCT, 1), 4, raw.s("m"), 99, 0])
    with pytest.raises(BTFError, match=r"type id 1 .*99"):
        dump_c(BTF.parse(raw.encode()))


def test_name_past_the_string_section_is_an_error():
    raw = RawBTF()
    raw.add([raw.s("holder"), info(STRUCT, 1), 4, 4000, 0, 0])
    with pytest.raises(BTFError, match="string offset 4000"):
        dump_c(BTF.parse(raw.encode()))


def test_deep_nesting_is_an_error_not_a_crash():
    raw = RawBTF()
    depth = 5000  # struct s1 { struct s2 m; } ... struct s5000 { int m; }: far past any real BTF
    for i in range(1, depth + 1):
        raw.add([raw.s(f"s{i}"), info(STRUCT, 1), 4, raw.s("m"), (i + 1) % (depth + 1), 0])
    with pytest.raises(BTFError):
        dump_c(BTF.parse(raw.encode()))
