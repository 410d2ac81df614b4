"""The ELF side of opening a BPF object: what each section is, exactly as libbpf sorts them.

:func:`collect` walks the sections of a relocatable ``EM_BPF`` ELF file the way libbpf's
``bpf_object__elf_collect()`` does and returns an :class:`ElfObject`: the license, the
``version`` section, the raw ``.BTF``/``.BTF.ext`` bytes, the global data sections (``.data*``,
``.rodata*``, ``.bss*``), the ``.maps`` section, one :class:`RawProgram` per ``STT_FUNC`` symbol
of every executable section (sorted by section index and offset, as libbpf sorts them), the
struct_ops sections (``.struct_ops``, ``.struct_ops.link`` and their ``?`` forms) and the
relocation sections libbpf processes (those of executable sections, of ``.maps`` and of the
struct_ops sections).

Sections libbpf ignores (string tables, ``.llvm_addrsig``, DWARF and its relocations,
relocations of ``.BTF``/``.BTF.ext``, an empty ``.text``) are skipped without being decoded, so a
``-g`` object with megabytes of debug information opens as fast as a stripped one.

Everything is copied out of the file: the returned object does not keep the ELF mapping.
Malformed input raises :class:`~pybpf.errors.ELFError` / :class:`~pybpf.errors.ObjectError`
naming the section or symbol.
"""

from __future__ import annotations

from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING

from pybpf.elf import constants as c
from pybpf.errors import ELFError, ObjectError

from pybpf.object.struct_ops import STRUCT_OPS_SECTIONS, StructOpsSection

if TYPE_CHECKING:
    from pybpf.elf import ELFFile, Section, Symbol

__all__ = ["ElfObject", "RawProgram", "DataSection", "collect", "object_name_from_path",
           "SEC_DATA", "SEC_RODATA", "SEC_BSS"]

SEC_DATA = "data"
SEC_RODATA = "rodata"
SEC_BSS = "bss"

#: libbpf's LIBBPF_LICENSE buffer: at most 63 characters of the license are kept.
_LICENSE_MAX = 63


class RawProgram(Record, frozen=False):
    """One ``STT_FUNC`` symbol of an executable section: a program or a subprogram."""

    name: str
    section: str            #: section name as written (may start with '?')
    section_index: int
    insn_offset: int        #: first instruction's index within the section
    insns: bytes
    sym_global: bool
    mark_btf_static: bool   #: global but STV_HIDDEN/STV_INTERNAL: its BTF FUNC becomes static


class DataSection(Record, frozen=False):
    """A global data section that becomes an internal array map."""

    index: int
    name: str
    kind: str               #: SEC_DATA, SEC_RODATA or SEC_BSS
    size: int
    data: bytes             #: contents (empty for .bss: zero-filled at load)


class ElfObject(Record, frozen=False):
    """What :func:`collect` found (see the module docstring)."""

    name: str
    endian: str
    license: str = ""
    kern_version: int | None = None
    btf: bytes | None = None
    btf_ext: bytes | None = None
    sections: list[tuple[int, str, int, int, int]] = field_spec(default_factory=list)
    data_sections: list[DataSection] = field_spec(default_factory=list)
    programs: list[RawProgram] = field_spec(default_factory=list)
    text_index: int = 0
    maps_index: int = -1
    maps_data: bytes = b""
    struct_ops: list[StructOpsSection] = field_spec(default_factory=list)
    #: relocations of struct_ops sections: section index -> [(offset, symbol index)]
    struct_ops_relocations: dict[int, list[tuple[int, int]]] = field_spec(default_factory=dict)
    symbols_index: int = 0
    #: section index -> kind, for the sections relocations may refer to
    section_kinds: dict[int, str] = field_spec(default_factory=dict)
    section_names: dict[int, str] = field_spec(default_factory=dict)
    section_sizes: dict[int, int] = field_spec(default_factory=dict)
    #: program section index -> [(offset, type, symbol index)], in file order
    prog_relocations: list[tuple[int, list[tuple[int, int, int]]]] = field_spec(default_factory=list)
    #: relocations of .maps: [(offset, symbol index)]
    maps_relocations: list[tuple[int, int]] = field_spec(default_factory=list)
    symbols: list["Symbol"] = field_spec(default_factory=list)
    #: first section index of each name (how libbpf maps .BTF.ext section names to sections)
    first_index: dict[str, int] = field_spec(default_factory=dict)


def object_name_from_path(path: str) -> str:
    """libbpf's object name: the file's base name cut to 15 characters, then at the first dot."""
    import os

    base = os.path.basename(path)[:15]
    dot = base.find(".")
    return base if dot < 0 else base[:dot]


def _ignored(sec: "Section", name: str) -> bool:
    """libbpf's ignore_elf_section()."""
    if sec.type in (c.SHT_STRTAB, c.SHT_LLVM_ADDRSIG):
        return True
    if sec.type == c.SHT_PROGBITS and sec.size == 0 and name == ".text":
        return True
    if name.startswith(".debug_"):
        return True
    if name.startswith(".rel"):
        rest = name[4:]
        if rest.startswith(".debug_") or rest in (".BTF", ".BTF.ext"):
            return True
    return False


def collect(elf: "ELFFile", name: str) -> ElfObject:
    """Sort the sections of ``elf`` as libbpf does (see the module docstring)."""
    where = elf.name
    if elf.type != c.ET_REL or (elf.machine and elf.machine != c.EM_BPF):
        raise ObjectError(f"{where}: not a valid eBPF object file: e_type is {elf.type_name} and "
                          f"e_machine {elf.machine_name} (want a relocatable EM_BPF object, "
                          "as clang -target bpf -c produces)")
    import sys

    host = "<" if sys.byteorder == "little" else ">"
    if elf.endian != host:
        raise ObjectError(f"{where}: endianness mismatch: the object is "
                          f"{'big' if elf.endian == '>' else 'little'}-endian, this host is "
                          f"{sys.byteorder}-endian (build it with -target "
                          f"{'bpfel' if host == '<' else 'bpfeb'})")
    obj = ElfObject(name=name, endian=elf.endian)
    sections = elf.sections
    symtabs = [s for s in sections if s.type == c.SHT_SYMTAB]
    if len(symtabs) > 1:
        raise ELFError(f"{where}: multiple symbol tables (sections {symtabs[0].index} and "
                       f"{symtabs[1].index})")
    if not symtabs:
        raise ObjectError(f"{where}: couldn't find symbol table (no SHT_SYMTAB section), "
                          "stripped object file?")
    symtab = elf.symbol_table(symtabs[0])
    if symtabs[0].entsize != 24:
        raise ELFError(f"{where}: symbol table {symtabs[0].describe()} has entry size "
                       f"{symtabs[0].entsize}, not 24")
    obj.symbols_index = symtabs[0].index
    symbols = list(symtab)
    obj.symbols = symbols
    strtab_index = symtabs[0].link
    if not strtab_index or strtab_index > len(sections) - 1:
        raise ELFError(f"{where}: symbol strings section missing or invalid (sh_link={strtab_index})")
    funcs: dict[int, list[Symbol]] = {}
    for sym in symbols:
        if sym.type == c.STT_FUNC and sym.section_index is not None:
            funcs.setdefault(sym.section_index, []).append(sym)

    rel_sections: list[Section] = []
    for sec in sections[1:]:
        sname = sec.name
        obj.section_names[sec.index] = sname
        obj.section_sizes[sec.index] = sec.size
        obj.first_index.setdefault(sname, sec.index)
        if _ignored(sec, sname):
            continue
        obj.sections.append((sec.index, sname, sec.type, sec.flags, sec.size))
        if sname == "license":
            raw = bytes(sec.data)
            nul = raw.find(b"\0")
            lic = raw if nul < 0 else raw[:nul]
            obj.license = lic[:_LICENSE_MAX].decode("utf-8", "replace")
        elif sname == "version":
            raw = bytes(sec.data)
            if len(raw) != 4:
                raise ObjectError(f"{where}: invalid kver section {sec.describe()}: {len(raw)} bytes, "
                                  "expected 4")
            obj.kern_version = int.from_bytes(raw, "little" if elf.byteorder == "little" else "big")
        elif sname == "maps":
            raise ObjectError(f"{where}: legacy map definitions in 'maps' {sec.describe()} are not "
                              "supported (as in libbpf v1.0+): define maps in SEC(\".maps\") "
                              "with __uint/__type (BTF-defined maps)")
        elif sname == ".maps":
            obj.maps_index = sec.index
            obj.maps_data = bytes(sec.data)
        elif sname == ".BTF":
            if sec.type != c.SHT_PROGBITS:
                raise ELFError(f"{where}: {sec.describe()} has type {sec.type_name}, not SHT_PROGBITS")
            obj.btf = bytes(sec.data)
        elif sname == ".BTF.ext":
            if sec.type != c.SHT_PROGBITS:
                raise ELFError(f"{where}: {sec.describe()} has type {sec.type_name}, not SHT_PROGBITS")
            obj.btf_ext = bytes(sec.data)
        elif sec.type == c.SHT_SYMTAB:
            pass
        elif sec.type == c.SHT_PROGBITS and sec.size > 0:
            if sec.flags & c.SHF_EXECINSTR:
                if sname == ".text":
                    obj.text_index = sec.index
                _add_programs(obj, elf, sec, funcs.get(sec.index, ()))
            elif sname == ".data" or sname.startswith(".data."):
                obj.data_sections.append(DataSection(sec.index, sname, SEC_DATA, sec.size, bytes(sec.data)))
                obj.section_kinds[sec.index] = SEC_DATA
            elif sname == ".rodata" or sname.startswith(".rodata."):
                obj.data_sections.append(DataSection(sec.index, sname, SEC_RODATA, sec.size, bytes(sec.data)))
                obj.section_kinds[sec.index] = SEC_RODATA
            elif sname in STRUCT_OPS_SECTIONS:
                obj.struct_ops.append(StructOpsSection(sec.index, sname, bytes(sec.data)))
        elif sec.type == c.SHT_REL:
            target = sec.info
            if sec.entsize != 16 or target >= len(sections):
                raise ELFError(f"{where}: relocation {sec.describe()}: entry size {sec.entsize} "
                               f"(want 16) or target section {target} out of range")
            if (sections[target].flags & c.SHF_EXECINSTR or sname == ".rel.maps"
                    or sname[4:] in STRUCT_OPS_SECTIONS and sname.startswith(".rel")):
                rel_sections.append(sec)
        elif sec.type == c.SHT_NOBITS and (sname == ".bss" or sname.startswith(".bss.")):
            obj.data_sections.append(DataSection(sec.index, sname, SEC_BSS, sec.size, b""))
            obj.section_kinds[sec.index] = SEC_BSS
    if obj.programs:
        obj.programs.sort(key=lambda p: (p.section_index, p.insn_offset))
    # Relocation entries, decoded and checked now (the ELF is closed after opening).
    st_ops = {s.index for s in obj.struct_ops}
    for sec in rel_sections:
        rs = elf.relocation_section(sec)
        target = sec.info
        entries = [(r.offset, r.type, r.symbol_index) for r in rs.entries()]
        if target == obj.maps_index:
            obj.maps_relocations.extend((off, sym) for off, _, sym in entries)
        elif target in st_ops:
            obj.struct_ops_relocations.setdefault(target, []).extend((off, sym) for off, _, sym in entries)
        elif sections[target].flags & c.SHF_EXECINSTR:
            obj.prog_relocations.append((target, entries))
    return obj


def _add_programs(obj: ElfObject, elf: "ELFFile", sec: "Section", syms: "list[Symbol] | tuple") -> None:
    """libbpf's bpf_object__add_programs() for one executable section."""
    data = sec.data
    size = sec.size
    for sym in syms:
        off, length, name = sym.value, sym.size, sym.name
        if off + length > size:
            raise ObjectError(f"{elf.name}: sec '{sec.name}': program '{name}' at offset {off} "
                              f"({length} bytes) crosses the section boundary ({size} bytes)")
        if sec.index != obj.text_index and sym.bind == c.STB_LOCAL:
            raise ObjectError(f"{elf.name}: sec '{sec.name}': program '{name}' is static and not "
                              "supported (entry programs must be global functions)")
        if length == 0 or length % 8 or off % 8:
            raise ObjectError(f"{elf.name}: sec '{sec.name}': corrupted program '{name}', offset "
                              f"{off}, size {length} (not whole 8-byte instructions)")
        is_global = sym.bind != c.STB_LOCAL
        hidden = is_global and sym.visibility in (c.STV_HIDDEN, c.STV_INTERNAL)
        obj.programs.append(RawProgram(name, sec.name, sec.index, off // 8, bytes(data[off:off + length]),
                                       is_global, hidden))
