"""Symbol -> file offset for uprobes (libbpf's elf_find_func_offset rules).

Expected offsets are computed from llvm-readelf-19's symbol and section tables
(``st_value - sh_addr + sh_offset`` of the symbol's section) and, for executables, checked
against the PT_LOAD segments llvm-readelf prints; the libbpf behaviours with no numeric oracle
(ambiguity, weak preference, version matching) are exercised on a library built here whose
symbol table llvm-readelf confirms first.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pybpf.elf import ELFFile, glob_match, resolve_pattern_offsets, resolve_syms_offsets
from pybpf.elf import constants as c
from pybpf.errors import ELFError, NotFoundError

from . import readelf
from .conftest import libc_path


@pytest.fixture(autouse=True)
def _need_readelf(require_tools):
    require_tools("llvm-readelf-19")


def _oracle(path: str, dynamic: bool) -> dict[str, list[tuple[int, int, int]]]:
    """name (llvm-readelf's, versioned for .dynsym) -> [(file offset, bind, type)] of defined symbols."""
    secs = readelf.sections(path)
    rows = readelf.dynamic_symbols(path) if dynamic else readelf.symbols(path)
    out: dict[str, list[tuple[int, int, int]]] = {}
    for r in rows:
        if 0 < r["shndx"] < len(secs):
            s = secs[r["shndx"]]
            out.setdefault(r["name"], []).append((r["value"] - s["addr"] + s["offset"], r["bind"], r["type"]))
    return out


def _segment_offset(path: str, vaddr: int) -> int:
    for p in readelf.program_headers(path):
        if p["type"] == c.PT_LOAD and p["vaddr"] <= vaddr < p["vaddr"] + p["filesz"]:
            return vaddr - p["vaddr"] + p["offset"]
    raise AssertionError(f"0x{vaddr:x} not in a PT_LOAD segment")


@pytest.mark.parametrize("binary", ["target_pie", "target_nopie"])
def test_executable_functions(host_bins, binary):
    path = host_bins[binary]
    symtab = _oracle(path, dynamic=False)
    rows = {r["name"]: r for r in readelf.symbols(path)}
    with ELFFile.open(path) as elf:
        for name in ("pybpf_add", "pybpf_weak", "pybpf_static", "main"):
            (want, _bind, typ), = symtab[name]
            assert typ == c.STT_FUNC
            got = elf.find_func_offset(name)
            assert got == want
            # section-based (libbpf) and segment-based translation agree for code
            assert got == _segment_offset(path, rows[name]["value"])
            assert elf.vaddr_to_offset(rows[name]["value"]) == got
        if binary == "target_nopie":
            assert elf.type == c.ET_EXEC and rows["main"]["value"] != elf.find_func_offset("main")
        else:
            assert elf.type == c.ET_DYN
        with pytest.raises(NotFoundError, match="pybpf_nonexistent"):
            elf.find_func_offset("pybpf_nonexistent")
        # "pybpf_ad" must not match "pybpf_add": names match whole, or up to an '@'
        with pytest.raises(NotFoundError):
            elf.find_func_offset("pybpf_ad")


def test_stripped_binary_uses_dynsym(host_bins):
    path = host_bins["target_stripped"]
    dyn = _oracle(path, dynamic=True)
    with ELFFile.open(path) as elf:
        assert elf.symtab is None and elf.dynsym is not None
        (want, _, _), = dyn["pybpf_add"]
        assert elf.find_func_offset("pybpf_add") == want
        with pytest.raises(NotFoundError):
            elf.find_func_offset("pybpf_static")     # static: gone with .symtab
        # an import (undefined in .dynsym, value 0) is not a uprobe target
        undefined = [r["name"].split("@")[0] for r in readelf.dynamic_symbols(path)
                     if r["shndx"] == 0 and r["type"] == c.STT_FUNC and r["name"]]
        assert "printf" in undefined
        with pytest.raises(NotFoundError, match="0"):
            elf.find_func_offset("printf")


def test_versioned_library(host_bins):
    path = host_bins["libver.so"]
    dyn = _oracle(path, dynamic=True)
    # what the library really contains, per llvm-readelf
    (v1, b1, _), = dyn["pybpf_ver@V1"]
    (v2, b2, _), = dyn["pybpf_ver@@V2"]
    (d1, db1, _), = dyn["pybpf_dup@V1"]
    (d2, db2, _), = dyn["pybpf_dup@@V2"]
    (plain, _, _), = dyn["pybpf_plain@@V1"]
    assert v1 != v2 and b1 == b2 == c.STB_GLOBAL
    assert d1 != d2 and db1 == c.STB_WEAK and db2 == c.STB_GLOBAL
    with ELFFile.open(path) as elf:
        assert elf.find_func_offset("pybpf_ver@V1") == v1
        assert elf.find_func_offset("pybpf_ver@@V1") == v1      # libbpf ignores @ vs @@
        assert elf.find_func_offset("pybpf_ver@@V2") == v2
        assert elf.find_func_offset("pybpf_ver@V2") == v2
        with pytest.raises(ELFError, match="ambiguous"):
            elf.find_func_offset("pybpf_ver")                   # two non-weak versions
        assert elf.find_func_offset("pybpf_dup") == d2         # the non-weak one wins
        assert elf.find_func_offset("pybpf_dup@V1") == d1
        assert elf.find_func_offset("pybpf_plain") == plain
        assert elf.find_func_offset("pybpf_plain@@V1") == plain
        with pytest.raises(NotFoundError):
            elf.find_func_offset("pybpf_plain@@V9")


def test_libc(host_bins):
    path = libc_path()
    dyn = _oracle(path, dynamic=True)
    funcs = {n: v for n, v in dyn.items() if all(t == c.STT_FUNC for _, _, t in v)}
    with ELFFile.open(path) as elf:
        (want, _, _), = funcs["malloc@@GLIBC_2.2.5"]
        assert elf.find_func_offset("malloc") == want
        assert elf.find_func_offset("malloc@@GLIBC_2.2.5") == want
        # every default-versioned function resolves by its versioned name
        checked = 0
        for vname, entries in sorted(funcs.items()):
            if "@@" not in vname or len(entries) != 1:
                continue
            assert elf.find_func_offset(vname) == entries[0][0], vname
            checked += 1
        assert checked > 500
        # names with several versions at different offsets, all non-weak: ambiguous without a version
        by_base: dict[str, list[tuple[int, int, int]]] = {}
        for vname, entries in funcs.items():
            by_base.setdefault(vname.split("@")[0], []).extend(entries)
        ambiguous = [b for b, e in by_base.items()
                     if len({o for o, _, _ in e}) > 1 and all(bd != c.STB_WEAK for _, bd, _ in e)]
        assert ambiguous
        for base in ambiguous[:20]:
            with pytest.raises(ELFError, match="ambiguous"):
                elf.find_func_offset(base)


def test_resolve_syms_and_pattern(host_bins):
    path = host_bins["target_pie"]
    symtab = _oracle(path, dynamic=False)
    with ELFFile.open(path) as elf:
        names = ["main", "pybpf_add", "pybpf_static"]
        assert resolve_syms_offsets(elf, names) == [symtab[n][0][0] for n in names]
        with pytest.raises(NotFoundError, match="pybpf_nope"):
            resolve_syms_offsets(elf, ["main", "pybpf_nope"])
        want = sorted(v[0][0] for n, v in symtab.items()
                      if glob_match(n, "pybpf_*") and v[0][2] == c.STT_FUNC)
        assert sorted(resolve_pattern_offsets(elf, "pybpf_*")) == want
        assert len(want) == 3
        with pytest.raises(NotFoundError):
            resolve_pattern_offsets(elf, "nothing_like_this*")


def _libbpf_glob(s: str, p: str) -> bool:
    """Literal port of libbpf's recursive glob_match() (the reference semantics)."""
    i = j = 0
    while i < len(s) and j < len(p) and p[j] != "*":
        if p[j] == "?":
            i += 1
            j += 1
            continue
        if s[i] != p[j]:
            return False
        i += 1
        j += 1
    if j < len(p) and p[j] == "*":
        while j < len(p) and p[j] == "*":
            j += 1
        if j == len(p):
            return True
        while i < len(s):
            if _libbpf_glob(s[i:], p[j:]):
                return True
            i += 1
    return i == len(s) and j == len(p)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab?*", max_size=8), st.text(alphabet="ab", max_size=10))
def test_glob_match_is_libbpfs(pattern, string):
    assert glob_match(string, pattern) == _libbpf_glob(string, pattern)
