"""ELF constants: numbers from the gABI, the GNU/LLVM extensions we meet, and BPF relocations.

Values stay plain ``int`` everywhere in :mod:`pybpf.elf` (decoding a symbol table must not build
an enum member per field); the ``*_NAMES`` dictionaries turn a number into the usual spelling for
messages and dumps, and :func:`name_of` falls back to hex for numbers we have no name for.
"""

from __future__ import annotations

__all__ = [
    "ELFMAG", "EI_NIDENT", "EI_CLASS", "EI_DATA", "EI_VERSION", "EI_OSABI", "EI_ABIVERSION",
    "ELFCLASS32", "ELFCLASS64", "ELFDATA2LSB", "ELFDATA2MSB",
    "ET_NONE", "ET_REL", "ET_EXEC", "ET_DYN", "ET_CORE", "ET_NAMES",
    "EM_NONE", "EM_386", "EM_ARM", "EM_X86_64", "EM_AARCH64", "EM_BPF", "EM_RISCV", "EM_S390",
    "EM_PPC64", "EM_MIPS", "EM_LOONGARCH", "EM_NAMES",
    "SHT_NULL", "SHT_PROGBITS", "SHT_SYMTAB", "SHT_STRTAB", "SHT_RELA", "SHT_HASH", "SHT_DYNAMIC",
    "SHT_NOTE", "SHT_NOBITS", "SHT_REL", "SHT_SHLIB", "SHT_DYNSYM", "SHT_INIT_ARRAY",
    "SHT_FINI_ARRAY", "SHT_PREINIT_ARRAY", "SHT_GROUP", "SHT_SYMTAB_SHNDX", "SHT_RELR",
    "SHT_GNU_HASH", "SHT_GNU_verdef", "SHT_GNU_verneed", "SHT_GNU_versym", "SHT_LLVM_ADDRSIG",
    "SHT_NAMES",
    "SHF_WRITE", "SHF_ALLOC", "SHF_EXECINSTR", "SHF_MERGE", "SHF_STRINGS", "SHF_INFO_LINK",
    "SHF_LINK_ORDER", "SHF_OS_NONCONFORMING", "SHF_GROUP", "SHF_TLS", "SHF_COMPRESSED",
    "SHF_GNU_RETAIN", "SHF_EXCLUDE", "SHF_NAMES",
    "SHN_UNDEF", "SHN_LORESERVE", "SHN_ABS", "SHN_COMMON", "SHN_XINDEX", "SHN_HIRESERVE",
    "SHN_NAMES",
    "STT_NOTYPE", "STT_OBJECT", "STT_FUNC", "STT_SECTION", "STT_FILE", "STT_COMMON", "STT_TLS",
    "STT_GNU_IFUNC", "STT_NAMES",
    "STB_LOCAL", "STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE", "STB_NAMES",
    "STV_DEFAULT", "STV_INTERNAL", "STV_HIDDEN", "STV_PROTECTED", "STV_NAMES",
    "PT_NULL", "PT_LOAD", "PT_DYNAMIC", "PT_INTERP", "PT_NOTE", "PT_SHLIB", "PT_PHDR", "PT_TLS",
    "PT_GNU_EH_FRAME", "PT_GNU_STACK", "PT_GNU_RELRO", "PT_GNU_PROPERTY", "PT_NAMES",
    "PF_X", "PF_W", "PF_R",
    "R_BPF_NONE", "R_BPF_64_64", "R_BPF_64_ABS64", "R_BPF_64_ABS32", "R_BPF_64_NODYLD32",
    "R_BPF_64_32", "R_BPF_NAMES", "R_BPF_WIDTH",
    "VER_NDX_LOCAL", "VER_NDX_GLOBAL", "VERSYM_HIDDEN", "VERSYM_VERSION",
    "NT_GNU_BUILD_ID", "NT_STAPSDT",
    "name_of", "flag_names", "relocation_type_name",
]

# --- identification -------------------------------------------------------------------------
ELFMAG = b"\x7fELF"
EI_NIDENT = 16
EI_CLASS = 4
EI_DATA = 5
EI_VERSION = 6
EI_OSABI = 7
EI_ABIVERSION = 8
ELFCLASS32 = 1
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2

# --- e_type -----------------------------------------------------------------------------------
ET_NONE, ET_REL, ET_EXEC, ET_DYN, ET_CORE = 0, 1, 2, 3, 4
ET_NAMES = {ET_NONE: "ET_NONE", ET_REL: "ET_REL", ET_EXEC: "ET_EXEC", ET_DYN: "ET_DYN", ET_CORE: "ET_CORE"}

# --- e_machine (the ones BPF tooling meets; others print as numbers) --------------------------
EM_NONE = 0
EM_386 = 3
EM_MIPS = 8
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_BPF = 247
EM_LOONGARCH = 258
EM_NAMES = {
    EM_NONE: "EM_NONE", EM_386: "EM_386", EM_MIPS: "EM_MIPS", EM_PPC64: "EM_PPC64",
    EM_S390: "EM_S390", EM_ARM: "EM_ARM", EM_X86_64: "EM_X86_64", EM_AARCH64: "EM_AARCH64",
    EM_RISCV: "EM_RISCV", EM_BPF: "EM_BPF", EM_LOONGARCH: "EM_LOONGARCH",
}

# --- section types ----------------------------------------------------------------------------
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_HASH = 5
SHT_DYNAMIC = 6
SHT_NOTE = 7
SHT_NOBITS = 8
SHT_REL = 9
SHT_SHLIB = 10
SHT_DYNSYM = 11
SHT_INIT_ARRAY = 14
SHT_FINI_ARRAY = 15
SHT_PREINIT_ARRAY = 16
SHT_GROUP = 17
SHT_SYMTAB_SHNDX = 18
SHT_RELR = 19
SHT_GNU_ATTRIBUTES = 0x6FFFFFF5
SHT_GNU_HASH = 0x6FFFFFF6
SHT_GNU_LIBLIST = 0x6FFFFFF7
SHT_GNU_verdef = 0x6FFFFFFD
SHT_GNU_verneed = 0x6FFFFFFE
SHT_GNU_versym = 0x6FFFFFFF
SHT_LLVM_ODRTAB = 0x6FFF4C00
SHT_LLVM_LINKER_OPTIONS = 0x6FFF4C01
SHT_LLVM_ADDRSIG = 0x6FFF4C03
SHT_LLVM_DEPENDENT_LIBRARIES = 0x6FFF4C04
SHT_LLVM_SYMPART = 0x6FFF4C05
SHT_X86_64_UNWIND = 0x70000001
SHT_NAMES = {
    SHT_NULL: "SHT_NULL", SHT_PROGBITS: "SHT_PROGBITS", SHT_SYMTAB: "SHT_SYMTAB",
    SHT_STRTAB: "SHT_STRTAB", SHT_RELA: "SHT_RELA", SHT_HASH: "SHT_HASH",
    SHT_DYNAMIC: "SHT_DYNAMIC", SHT_NOTE: "SHT_NOTE", SHT_NOBITS: "SHT_NOBITS", SHT_REL: "SHT_REL",
    SHT_SHLIB: "SHT_SHLIB", SHT_DYNSYM: "SHT_DYNSYM", SHT_INIT_ARRAY: "SHT_INIT_ARRAY",
    SHT_FINI_ARRAY: "SHT_FINI_ARRAY", SHT_PREINIT_ARRAY: "SHT_PREINIT_ARRAY", SHT_GROUP: "SHT_GROUP",
    SHT_SYMTAB_SHNDX: "SHT_SYMTAB_SHNDX", SHT_RELR: "SHT_RELR",
    SHT_GNU_ATTRIBUTES: "SHT_GNU_ATTRIBUTES", SHT_GNU_HASH: "SHT_GNU_HASH",
    SHT_GNU_LIBLIST: "SHT_GNU_LIBLIST", SHT_GNU_verdef: "SHT_GNU_verdef",
    SHT_GNU_verneed: "SHT_GNU_verneed", SHT_GNU_versym: "SHT_GNU_versym",
    SHT_LLVM_ODRTAB: "SHT_LLVM_ODRTAB", SHT_LLVM_LINKER_OPTIONS: "SHT_LLVM_LINKER_OPTIONS",
    SHT_LLVM_ADDRSIG: "SHT_LLVM_ADDRSIG", SHT_LLVM_DEPENDENT_LIBRARIES: "SHT_LLVM_DEPENDENT_LIBRARIES",
    SHT_LLVM_SYMPART: "SHT_LLVM_SYMPART", SHT_X86_64_UNWIND: "SHT_X86_64_UNWIND",
}

# --- section flags ----------------------------------------------------------------------------
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_MERGE = 0x10
SHF_STRINGS = 0x20
SHF_INFO_LINK = 0x40
SHF_LINK_ORDER = 0x80
SHF_OS_NONCONFORMING = 0x100
SHF_GROUP = 0x200
SHF_TLS = 0x400
SHF_COMPRESSED = 0x800
SHF_GNU_RETAIN = 0x200000
SHF_EXCLUDE = 0x80000000
SHF_NAMES = {
    SHF_WRITE: "SHF_WRITE", SHF_ALLOC: "SHF_ALLOC", SHF_EXECINSTR: "SHF_EXECINSTR",
    SHF_MERGE: "SHF_MERGE", SHF_STRINGS: "SHF_STRINGS", SHF_INFO_LINK: "SHF_INFO_LINK",
    SHF_LINK_ORDER: "SHF_LINK_ORDER", SHF_OS_NONCONFORMING: "SHF_OS_NONCONFORMING",
    SHF_GROUP: "SHF_GROUP", SHF_TLS: "SHF_TLS", SHF_COMPRESSED: "SHF_COMPRESSED",
    SHF_GNU_RETAIN: "SHF_GNU_RETAIN", SHF_EXCLUDE: "SHF_EXCLUDE",
}

# --- special section indices ------------------------------------------------------------------
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF
SHN_HIRESERVE = 0xFFFF
SHN_NAMES = {SHN_UNDEF: "SHN_UNDEF", SHN_ABS: "SHN_ABS", SHN_COMMON: "SHN_COMMON", SHN_XINDEX: "SHN_XINDEX"}

# --- symbols ----------------------------------------------------------------------------------
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS = 0, 1, 2, 3, 4, 5, 6
STT_GNU_IFUNC = 10
STT_NAMES = {
    STT_NOTYPE: "STT_NOTYPE", STT_OBJECT: "STT_OBJECT", STT_FUNC: "STT_FUNC",
    STT_SECTION: "STT_SECTION", STT_FILE: "STT_FILE", STT_COMMON: "STT_COMMON", STT_TLS: "STT_TLS",
    STT_GNU_IFUNC: "STT_GNU_IFUNC",
}
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STB_GNU_UNIQUE = 10
STB_NAMES = {STB_LOCAL: "STB_LOCAL", STB_GLOBAL: "STB_GLOBAL", STB_WEAK: "STB_WEAK",
             STB_GNU_UNIQUE: "STB_GNU_UNIQUE"}
STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED = 0, 1, 2, 3
STV_NAMES = {STV_DEFAULT: "STV_DEFAULT", STV_INTERNAL: "STV_INTERNAL", STV_HIDDEN: "STV_HIDDEN",
             STV_PROTECTED: "STV_PROTECTED"}

# --- program headers --------------------------------------------------------------------------
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_SHLIB, PT_PHDR, PT_TLS = 0, 1, 2, 3, 4, 5, 6, 7
PT_GNU_EH_FRAME = 0x6474E550
PT_GNU_STACK = 0x6474E551
PT_GNU_RELRO = 0x6474E552
PT_GNU_PROPERTY = 0x6474E553
PT_GNU_SFRAME = 0x6474E554
PT_NAMES = {
    PT_NULL: "PT_NULL", PT_LOAD: "PT_LOAD", PT_DYNAMIC: "PT_DYNAMIC", PT_INTERP: "PT_INTERP",
    PT_NOTE: "PT_NOTE", PT_SHLIB: "PT_SHLIB", PT_PHDR: "PT_PHDR", PT_TLS: "PT_TLS",
    PT_GNU_EH_FRAME: "PT_GNU_EH_FRAME", PT_GNU_STACK: "PT_GNU_STACK", PT_GNU_RELRO: "PT_GNU_RELRO",
    PT_GNU_PROPERTY: "PT_GNU_PROPERTY", PT_GNU_SFRAME: "PT_GNU_SFRAME",
}
PF_X, PF_W, PF_R = 1, 2, 4

# --- BPF relocations (llvm/BinaryFormat/ELFRelocs/BPF.def) -------------------------------------
R_BPF_NONE = 0
R_BPF_64_64 = 1         # ld_imm64: imm of both halves (r_offset + 4, r_offset + 12)
R_BPF_64_ABS64 = 2      # 64-bit data
R_BPF_64_ABS32 = 3      # 32-bit data
R_BPF_64_NODYLD32 = 4   # 32-bit data in .BTF/.BTF.ext, not applied by dynamic loaders
R_BPF_64_32 = 10        # call: imm (r_offset + 4)
R_BPF_NAMES = {
    R_BPF_NONE: "R_BPF_NONE", R_BPF_64_64: "R_BPF_64_64", R_BPF_64_ABS64: "R_BPF_64_ABS64",
    R_BPF_64_ABS32: "R_BPF_64_ABS32", R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
    R_BPF_64_32: "R_BPF_64_32",
}
#: Bytes from r_offset that a BPF relocation touches (an ld_imm64 is two instructions).
R_BPF_WIDTH = {
    R_BPF_NONE: 0, R_BPF_64_64: 16, R_BPF_64_ABS64: 8, R_BPF_64_ABS32: 4, R_BPF_64_NODYLD32: 4,
    R_BPF_64_32: 8,
}

# --- symbol versioning ------------------------------------------------------------------------
VER_NDX_LOCAL = 0
VER_NDX_GLOBAL = 1
VERSYM_HIDDEN = 0x8000
VERSYM_VERSION = 0x7FFF

# --- note types (meaning depends on the owner name) -------------------------------------------
NT_GNU_BUILD_ID = 3   # owner "GNU"
NT_STAPSDT = 3        # owner "stapsdt": a USDT probe descriptor


def name_of(table: dict[int, str], value: int) -> str:
    """``table[value]``, or the value in hex when the table has no name for it."""
    name = table.get(value)
    return name if name is not None else f"0x{value:x}"


def flag_names(value: int, table: dict[int, str] = SHF_NAMES) -> list[str]:
    """Names of the bits set in ``value`` (unknown bits as one hex entry)."""
    names = [name for bit, name in table.items() if value & bit]
    rest = value & ~sum(table)
    if rest:
        names.append(f"0x{rest:x}")
    return names


def relocation_type_name(machine: int, rtype: int) -> str:
    """The name of relocation type ``rtype`` for ``machine``: BPF types by name, others as numbers.

    Only BPF relocations are ever applied by pybpf; relocations of other machines (x86_64,
    aarch64, ... in executables and shared libraries) are listed, not interpreted.
    """
    if machine == EM_BPF and rtype in R_BPF_NAMES:
        return R_BPF_NAMES[rtype]
    return str(rtype)
