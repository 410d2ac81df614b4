"""ELF64 reader for BPF objects, executables and shared libraries (no syscalls).

>>> from pybpf.elf import ELFFile
>>> with ELFFile.open("/lib/x86_64-linux-gnu/libc.so.6") as libc:     # mmap, lazy
...     libc.find_func_offset("malloc@@GLIBC_2.2.5")                   # uprobe offset
>>> obj = ELFFile(open("prog.bpf.o", "rb").read())                     # from bytes
>>> [s.name for s in obj.sections]; obj.symtab.find("handler")
>>> for rs in obj.relocations_for("xdp"): ...

Modules: :mod:`~pybpf.elf.file` (header, sections), :mod:`~pybpf.elf.symbols`,
:mod:`~pybpf.elf.relocations`, :mod:`~pybpf.elf.segments` (program headers, address
translation), :mod:`~pybpf.elf.notes`, :mod:`~pybpf.elf.versions` (GNU symbol versioning),
:mod:`~pybpf.elf.uprobes` (libbpf's symbol -> file offset rules), :mod:`~pybpf.elf.constants`.
Malformed input raises :class:`pybpf.errors.ELFError`.
"""

from pybpf.errors import ELFError
from pybpf.lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile, Section
    from pybpf.elf.notes import Note, split_stapsdt_desc
    from pybpf.elf.relocations import Relocation, RelocationSection
    from pybpf.elf.segments import ProgramHeader
    from pybpf.elf.strtab import StringTable
    from pybpf.elf.symbols import Symbol, SymbolTable
    from pybpf.elf.uprobes import find_func_offset, glob_match, resolve_pattern_offsets, resolve_syms_offsets
    from pybpf.elf.versions import SymbolVersion, SymbolVersions

# The names below come from their submodules on first use (opening a BPF object needs neither
# notes, segments, versions nor the uprobe helpers).
_LAZY = {
    "ELFFile": "file", "Section": "file",
    "Note": "notes", "split_stapsdt_desc": "notes",
    "Relocation": "relocations", "RelocationSection": "relocations",
    "ProgramHeader": "segments", "StringTable": "strtab",
    "Symbol": "symbols", "SymbolTable": "symbols",
    "find_func_offset": "uprobes", "glob_match": "uprobes", "resolve_pattern_offsets": "uprobes",
    "resolve_syms_offsets": "uprobes",
    "SymbolVersion": "versions", "SymbolVersions": "versions",
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY, "pybpf.elf.")



__all__ = [
    "ELFError", "ELFFile", "Section", "Symbol", "SymbolTable", "Relocation", "RelocationSection",
    "ProgramHeader", "Note", "StringTable", "SymbolVersion", "SymbolVersions",
    "find_func_offset", "resolve_syms_offsets", "resolve_pattern_offsets", "glob_match",
    "split_stapsdt_desc",
]
