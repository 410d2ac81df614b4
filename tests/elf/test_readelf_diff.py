"""pybpf.elf against llvm-readelf-19 on the same files: sections, symbols, relocations,
program headers and notes of BPF objects (little and big endian), gcc-built host binaries
(PIE, non-PIE, stripped, versioned shared library, USDT notes), /bin/ls and libc.so.6."""

from __future__ import annotations

import pytest

from pybpf.elf import ELFFile
from pybpf.elf import constants as c

from . import readelf
from .conftest import libc_path

pytestmark = pytest.mark.usefixtures("_need_readelf")


@pytest.fixture
def _need_readelf(require_tools):
    require_tools("llvm-readelf-19")


@pytest.fixture(params=["bpfel", "bpfeb", "target_pie", "target_nopie", "target_stripped",
                        "libver.so", "/bin/ls", "libc"])
def any_file(request, bpf_objects, host_bins) -> str:
    key = request.param
    if key in bpf_objects:
        return bpf_objects[key]
    if key in host_bins:
        return host_bins[key]
    return libc_path() if key == "libc" else key


def _open_both_ways(path: str):
    """The same file parsed from bytes and through mmap must agree; yield both."""
    with open(path, "rb") as f:
        data = f.read()
    return ELFFile(data, name=path), ELFFile.open(path)


def test_header(any_file):
    oracle = readelf.readelf_json(any_file, "-h")["ElfHeader"]
    for elf in _open_both_ways(any_file):
        with elf:
            assert elf.type == int(oracle["Type"].rsplit("(", 1)[1].rstrip(")"), 16)   # "Relocatable (0x1)"
            assert elf.machine == oracle["Machine"]["Value"]
            assert elf.flags == oracle["Flags"]["Value"]
            assert elf.entry == oracle["Entry"]
            assert elf.shoff == oracle["SectionHeaderOffset"]
            assert len(elf.sections) == int(oracle["SectionHeaderCount"])     # printed as text
            assert elf.shstrndx == int(oracle["StringTableSectionIndex"])
            assert elf.phoff == oracle["ProgramHeaderOffset"]
            assert len(elf.program_headers) == oracle["ProgramHeaderCount"]
            assert elf.byteorder == ("little" if oracle["Ident"]["DataEncoding"]["Value"] == 1 else "big")


def test_sections(any_file):
    expected = readelf.sections(any_file)
    for elf in _open_both_ways(any_file):
        with elf:
            got = [{"index": s.index, "name": s.name, "name_offset": s.name_offset, "type": s.type,
                    "flags": s.flags, "addr": s.addr, "offset": s.offset, "size": s.size,
                    "link": s.link, "info": s.info, "addralign": s.addralign, "entsize": s.entsize}
                   for s in elf.sections]
            assert got == expected
            with open(any_file, "rb") as f:
                raw = f.read()
            for s in elf.sections:
                data = s.data
                if s.type in (c.SHT_NOBITS, c.SHT_NULL):
                    assert len(data) == 0
                else:
                    assert bytes(data) == raw[s.offset:s.offset + s.size]
                assert elf.section(s.index) is s
                assert elf.section_by_name(s.name) is not None


def _symbol_rows(table) -> list[dict]:
    return [{"name": s.name, "name_offset": None, "value": s.value, "size": s.size, "bind": s.bind,
             "type": s.type, "other": s.other, "shndx": s.shndx} for s in table]


def _without_name_offset(rows):
    return [{k: v for k, v in r.items() if k != "name_offset"} for r in rows]


def test_symtab(any_file):
    expected = readelf.symbols(any_file)
    elf = ELFFile.open(any_file)
    with elf:
        table = elf.symtab
        if table is None:
            assert expected == []
            return
        assert len(table) == len(expected)
        rows = _symbol_rows(table)
        for row, exp in zip(rows, expected):
            if exp["type"] == c.STT_SECTION and exp["name_offset"] == 0:
                # llvm-readelf shows an unnamed section symbol under its section's name
                assert row["name"] == "" and exp["name"] == elf.sections[row["shndx"]].name
                row["name"] = exp["name"]
        assert _without_name_offset(rows) == _without_name_offset(expected)
        # lookups by name agree with a scan of the oracle's list
        for name in {r["name"] for r in expected if r["name_offset"]}:
            want = [i for i, r in enumerate(expected) if r["name"] == name]
            assert [s.index for s in table.find(name)] == want, name
        # the index built for the whole table gives the same answers
        index = table.by_name()
        assert sum(len(v) for v in index.values()) == len(expected)
        for sym in table:
            if sym.section_index is not None:
                assert sym.section_index == sym.shndx < len(elf.sections)


def test_dynsym_with_versions(any_file):
    expected = readelf.dynamic_symbols(any_file)
    with ELFFile.open(any_file) as elf:
        table = elf.dynsym
        if table is None:
            assert expected == []
            return
        versions = elf.versions
        rows = _symbol_rows(table)
        for row, sym in zip(rows, table):
            row["name"] = versions.versioned_name(sym) if versions is not None else sym.name
        assert _without_name_offset(rows) == _without_name_offset(expected)


def test_relocations(any_file):
    expected = readelf.relocations(any_file)
    with ELFFile.open(any_file) as elf:
        got = {}
        for rs in elf.relocation_sections():
            got[rs.section.index] = [{"offset": r.offset, "type": r.type, "symbol": r.symbol_index,
                                      "addend": r.addend} for r in rs]
        assert got == expected
        for rs in elf.relocation_sections():
            if elf.type == c.ET_REL:
                assert rs.target is not None and rs.target.index == rs.section.info
            for r in rs:
                sym = rs.symbol(r)
                assert (sym is None) == (r.symbol_index == 0)


def test_bpf_relocation_names(bpf_objects):
    """Relocation type names for BPF come from the named table and match llvm-readelf's."""
    for path in bpf_objects.values():
        oracle = readelf.readelf_json(path, "-r")["Relocations"]
        names = {(g["SectionIndex"], i): r["Relocation"]["Type"]["Name"]
                 for g in oracle for i, r in enumerate(g["Relocs"])}
        with ELFFile.open(path) as elf:
            seen = set()
            for rs in elf.relocation_sections():
                for r in rs:
                    assert rs.type_name(r) == names[(rs.section.index, r.index)]
                    seen.add(rs.type_name(r))
        # the fixture exercises every BPF relocation type clang emits
        assert seen == {"R_BPF_64_64", "R_BPF_64_ABS64", "R_BPF_64_ABS32", "R_BPF_64_NODYLD32", "R_BPF_64_32"}


def test_program_headers(any_file):
    expected = readelf.program_headers(any_file)
    with ELFFile.open(any_file) as elf:
        got = [{"type": p.type, "flags": p.flags, "offset": p.offset, "vaddr": p.vaddr, "paddr": p.paddr,
                "filesz": p.filesz, "memsz": p.memsz, "align": p.align} for p in elf.program_headers]
        assert got == expected


def test_notes(any_file):
    expected = readelf.notes(any_file)
    with ELFFile.open(any_file) as elf:
        got = []
        for n in elf.notes():
            section = n.container.split("'")[1]
            got.append({"section": section, "owner": n.name, "type": n.type, "size": len(n.desc),
                        "desc": bytes(n.desc)})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            if e["desc"] is None:     # llvm-readelf decoded it into text; compare the rest
                g = {**g, "desc": None}
            assert g == e


def test_usdt_notes_decode_like_gnu_readelf(host_bins, require_tools):
    """The stapsdt descriptor split from pybpf's notes equals GNU readelf's USDT decoding."""
    require_tools("readelf")
    from pybpf.elf import split_stapsdt_desc

    for key in ("target_pie", "target_nopie"):
        path = host_bins[key]
        expected = readelf.gnu_readelf_stapsdt(path)
        assert {p["name"] for p in expected} == {"plain", "withsem"}
        with ELFFile.open(path) as elf:
            got = []
            for n in elf.notes():
                if n.name == "stapsdt" and n.type == c.NT_STAPSDT:
                    pc, base, sem, (prov, name, args) = split_stapsdt_desc(n.desc, elf.endian)
                    got.append({"provider": prov.decode(), "name": name.decode(), "pc": pc, "base": base,
                                "semaphore": sem, "args": args.decode()})
            assert got == expected
            # the semaphore of "withsem" lives in the file (.probes); translate it both ways
            sem = next(p["semaphore"] for p in got if p["name"] == "withsem")
            off = elf.vaddr_to_offset(sem)
            assert off is not None and elf.offset_to_vaddr(off) == sem
            probes = elf.section_by_name(".probes")
            assert probes is not None and off == sem - probes.addr + probes.offset


def test_vaddr_offset_translation_matches_sections(any_file):
    """For every allocated section with file data, segment-based translation of its address
    agrees with the section header (addr -> offset), computed from llvm-readelf's tables."""
    secs = readelf.sections(any_file)
    phdrs = readelf.program_headers(any_file)
    with ELFFile.open(any_file) as elf:
        for s in secs:
            if not (s["flags"] & c.SHF_ALLOC) or s["type"] == c.SHT_NOBITS or s["size"] == 0:
                continue
            if s["flags"] & c.SHF_TLS:
                continue
            loads = [p for p in phdrs if p["type"] == c.PT_LOAD
                     and p["vaddr"] <= s["addr"] < p["vaddr"] + p["filesz"]]
            want = s["addr"] - loads[0]["vaddr"] + loads[0]["offset"] if loads else None
            assert elf.vaddr_to_offset(s["addr"]) == want, s["name"]
            if want is not None:
                assert want == s["offset"]
                assert elf.offset_to_vaddr(s["offset"]) == s["addr"]


def test_extended_section_numbering(tmp_path, require_tools):
    """65305 sections: e_shnum=0 with the count in section 0, and symbols in sections past
    SHN_LORESERVE through SHN_XINDEX + SHT_SYMTAB_SHNDX (assembled by llvm-mc-19)."""
    require_tools("llvm-mc-19")
    import subprocess

    asm = tmp_path / "many.s"
    asm.write_text("".join(f'.section .text.f{i},"ax",@progbits\n.globl f{i}\nf{i}:\n ret\n' for i in range(65300)))
    obj = str(tmp_path / "many.o")
    subprocess.run(["llvm-mc-19", "-filetype=obj", "-triple=x86_64-linux-gnu", str(asm), "-o", obj], check=True)
    header = readelf.readelf_json(obj, "-h")["ElfHeader"]
    expected_sections = readelf.sections(obj)
    expected_symbols = readelf.symbols(obj)
    with ELFFile.open(obj) as elf:
        assert header["SectionHeaderCount"] == f"0 ({len(elf.sections)})"
        assert len(elf.sections) == len(expected_sections) > c.SHN_LORESERVE
        assert [(s.name, s.type, s.offset, s.size, s.link, s.info) for s in elf.sections] == \
            [(s["name"], s["type"], s["offset"], s["size"], s["link"], s["info"]) for s in expected_sections]
        table = elf.symtab
        assert len(table) == len(expected_symbols)
        xindex = 0
        for sym, exp in zip(table, expected_symbols):
            assert (sym.name or exp["name"], sym.value, sym.bind, sym.type) == \
                (exp["name"], exp["value"], exp["bind"], exp["type"])
            if sym.shndx == c.SHN_XINDEX:
                xindex += 1
                assert sym.section_index == exp["shndx"]     # llvm-readelf prints the resolved index
            elif sym.section_index is not None:
                assert sym.section_index == exp["shndx"]
        assert xindex > 10
        (last,) = table.find("f65299")
        assert elf.sections[last.section_index].name == ".text.f65299"
