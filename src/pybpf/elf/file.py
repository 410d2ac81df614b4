"""The ELF64 reader: :class:`ELFFile` and :class:`Section`.

``ELFFile(data)`` parses from bytes; :meth:`ELFFile.open` maps a file read-only with ``mmap`` so a
large shared library is never read whole (only the pages the caller touches are faulted in).
Both byte orders are read (BPF objects may be ``bpfeb``); ELF32 files are rejected with a clear
:class:`~pybpf.errors.ELFError` (every BPF object and every 64-bit Linux binary is ELF64).

What is parsed eagerly is small and always needed: the ELF header, the section header table and
the section names. Everything else is decoded on first use: symbol tables
(:mod:`pybpf.elf.symbols`), relocations (:mod:`pybpf.elf.relocations`), program headers
(:mod:`pybpf.elf.segments`), notes (:mod:`pybpf.elf.notes`) and symbol versions
(:mod:`pybpf.elf.versions`).

Every malformed input raises :class:`~pybpf.errors.ELFError` naming the file, the section or
symbol, and the byte offset; parsing never makes a system call (apart from ``open``/``mmap`` in
:meth:`ELFFile.open`).
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import TYPE_CHECKING, Iterator, Sequence, Union

from pybpf.errors import ClosedError, ELFError, error_from_errno
from pybpf.elf import constants as c
from pybpf.elf.strtab import StringTable

if TYPE_CHECKING:
    from pybpf.elf.notes import Note
    from pybpf.elf.relocations import RelocationSection
    from pybpf.elf.segments import ProgramHeader
    from pybpf.elf.symbols import Symbol, SymbolTable
    from pybpf.elf.versions import SymbolVersions

__all__ = ["ELFFile", "Section", "EHDR_SIZE", "SHDR_SIZE"]

Buffer = Union[bytes, bytearray, memoryview, mmap.mmap]

EHDR_SIZE = 64
SHDR_SIZE = 64

# byte order prefix -> precompiled layouts
_EHDR = {e: struct.Struct(e + "HHIQQQIHHHHHH") for e in "<>"}      # after e_ident
_SHDR = {e: struct.Struct(e + "IIQQQQIIQQ") for e in "<>"}


class Section:
    """One section header, plus its contents as a zero-copy ``memoryview`` (:attr:`data`).

    Fields mirror ``Elf64_Shdr``: ``name`` (decoded), ``type``, ``flags``, ``addr``, ``offset``,
    ``size``, ``link``, ``info``, ``addralign``, ``entsize``; ``index`` is the section's number.
    ``SHT_NOBITS`` sections (``.bss``) occupy no file bytes: their ``data`` is empty while
    ``size`` still gives their size in memory.
    """

    __slots__ = ("_elf", "index", "name", "name_offset", "type", "flags", "addr", "offset", "size",
                 "link", "info", "addralign", "entsize")

    def __init__(self, elf: "ELFFile", index: int, fields: tuple[int, ...]) -> None:
        self._elf = elf
        self.index = index
        (self.name_offset, self.type, self.flags, self.addr, self.offset, self.size, self.link,
         self.info, self.addralign, self.entsize) = fields
        self.name = ""

    @property
    def data(self) -> memoryview:
        """The section's bytes in the file (empty for ``SHT_NOBITS`` and ``SHT_NULL``)."""
        buf = self._elf.buffer
        if self.type in (c.SHT_NOBITS, c.SHT_NULL):
            return buf[0:0]
        return buf[self.offset:self.offset + self.size]

    @property
    def has_file_data(self) -> bool:
        """Whether the section occupies bytes in the file (not NULL/NOBITS)."""
        return self.type not in (c.SHT_NOBITS, c.SHT_NULL)

    @property
    def type_name(self) -> str:
        """``"SHT_PROGBITS"`` and so on (hex for unknown types)."""
        return c.name_of(c.SHT_NAMES, self.type)

    @property
    def is_executable(self) -> bool:
        """``SHF_EXECINSTR`` is set (BPF program code lives in such sections)."""
        return bool(self.flags & c.SHF_EXECINSTR)

    def describe(self) -> str:
        """``"section [3] 'xdp'"`` for messages."""
        return f"section [{self.index}] '{self.name}'"

    def notes(self) -> Iterator["Note"]:
        """The notes of an ``SHT_NOTE`` section (see :mod:`pybpf.elf.notes`)."""
        from pybpf.elf.notes import iter_section_notes

        return iter_section_notes(self._elf, self)

    def __repr__(self) -> str:
        return (f"Section(index={self.index}, name={self.name!r}, type={self.type_name}, "
                f"flags=0x{self.flags:x}, addr=0x{self.addr:x}, offset=0x{self.offset:x}, "
                f"size={self.size}, link={self.link}, info={self.info}, "
                f"addralign={self.addralign}, entsize={self.entsize})")


class ELFFile:
    """A parsed ELF64 file (relocatable object, executable, shared library).

    ``ELFFile(data, name=...)`` parses bytes-like ``data`` (``bytes``, ``bytearray``,
    ``memoryview`` or ``mmap``); ``ELFFile.open(path)`` maps a file. Use as a context manager
    (or call :meth:`close`) to unmap a mapped file.

    Header fields: :attr:`machine` (``e_machine``), :attr:`type` (``e_type``), :attr:`flags`
    (``e_flags``), :attr:`entry`, :attr:`osabi`, :attr:`byteorder` (``"little"``/``"big"``),
    :attr:`endian` (struct prefix ``"<"``/``">"``).
    """

    def __init__(self, data: Buffer, *, name: str = "<bytes>", _mapping: mmap.mmap | None = None) -> None:
        if isinstance(data, memoryview):
            raw: Union[bytes, bytearray, mmap.mmap] = data.tobytes()
        elif isinstance(data, (bytes, bytearray, mmap.mmap)):
            raw = data
        else:
            raise TypeError(f"ELFFile needs bytes, bytearray, memoryview or mmap, not {type(data).__name__}")
        self.name = name
        self._raw = raw
        self._mapping = _mapping
        self._closed = False
        self._buf = memoryview(raw)
        self._size = len(raw)
        self._symtabs: dict[int, "SymbolTable"] = {}
        self._relocs: dict[int, "RelocationSection"] = {}
        self._phdrs: list["ProgramHeader"] | None = None
        self._versions: "SymbolVersions | None | bool" = False
        self._by_name: dict[str, Section] | None = None
        self._parse_header()
        self._parse_sections()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "ELFFile":
        """Map ``path`` read-only and parse it (the file is not read whole).

        A file that cannot be opened or mapped raises the :class:`~pybpf.errors.BPFError`
        subclass for its errno (:class:`~pybpf.errors.NotFoundError` for a missing file).
        """
        path = os.fspath(path)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    raise ELFError(f"{path}: empty file, not an ELF object")
                mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise error_from_errno(e.errno or 0, f"cannot map ELF file {path}: {e.strerror}",
                                   op="open") from e
        try:
            return cls(mapping, name=path, _mapping=mapping)
        except BaseException:
            try:
                mapping.close()
            except BufferError:
                pass
            raise

    @classmethod
    def from_bytes(cls, data: Buffer, name: str = "<bytes>") -> "ELFFile":
        """Parse ``data`` (same as the constructor)."""
        return cls(data, name=name)

    def close(self) -> None:
        """Unmap a file opened with :meth:`open` (no-op for bytes).

        Section data views handed out earlier keep the mapping alive; if any is still
        referenced the mapping is left for the garbage collector instead.
        """
        self._closed = True
        if self._mapping is not None:
            self._buf.release()
            try:
                self._mapping.close()
            except BufferError:
                pass
            self._mapping = None

    def __enter__(self) -> "ELFFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, message: str) -> ELFError:
        return ELFError(f"{self.name}: {message}")

    # -- header ---------------------------------------------------------------------------------
    def _parse_header(self) -> None:
        size = self._size
        raw = self._raw
        if size < c.EI_NIDENT:
            raise self._fail(f"truncated ELF identification: file is {size} bytes, need {c.EI_NIDENT}")
        if raw[0:4] != c.ELFMAG:
            raise self._fail(f"not an ELF file: bad magic {bytes(raw[0:4])!r} at offset 0 (want b'\\x7fELF')")
        ei_class = raw[c.EI_CLASS]
        if ei_class == c.ELFCLASS32:
            raise self._fail("ELF32 (ELFCLASS32) files are not supported: pybpf reads ELF64 only "
                             "(every BPF object and 64-bit Linux binary is ELF64)")
        if ei_class != c.ELFCLASS64:
            raise self._fail(f"invalid ELF class {ei_class} at offset {c.EI_CLASS} (want 2 = ELFCLASS64)")
        ei_data = raw[c.EI_DATA]
        if ei_data == c.ELFDATA2LSB:
            self.endian = "<"
        elif ei_data == c.ELFDATA2MSB:
            self.endian = ">"
        else:
            raise self._fail(f"invalid ELF data encoding {ei_data} at offset {c.EI_DATA} "
                             "(want 1 = little endian or 2 = big endian)")
        self.byteorder = "little" if self.endian == "<" else "big"
        self.ident_version = raw[c.EI_VERSION]
        self.osabi = raw[c.EI_OSABI]
        self.abiversion = raw[c.EI_ABIVERSION]
        if size < EHDR_SIZE:
            raise self._fail(f"truncated ELF header: file is {size} bytes, need {EHDR_SIZE}")
        (self.type, self.machine, self.version, self.entry, self.phoff, self.shoff, self.flags,
         self.ehsize, self.phentsize, self._phnum, self.shentsize, self._shnum,
         self._shstrndx) = _EHDR[self.endian].unpack_from(self._buf, c.EI_NIDENT)

    @property
    def type_name(self) -> str:
        """``"ET_REL"``, ``"ET_EXEC"``, ``"ET_DYN"``, ..."""
        return c.name_of(c.ET_NAMES, self.type)

    @property
    def machine_name(self) -> str:
        """``"EM_BPF"``, ``"EM_X86_64"``, ... (hex for machines without a name here)."""
        return c.name_of(c.EM_NAMES, self.machine)

    @property
    def is_bpf(self) -> bool:
        """``e_machine`` is ``EM_BPF``."""
        return self.machine == c.EM_BPF

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        return self._size

    @property
    def buffer(self) -> memoryview:
        """The whole file as a ``memoryview`` (:class:`~pybpf.errors.ClosedError` after :meth:`close`)."""
        if self._closed:
            raise ClosedError(f"{self.name}: ELF file is closed")
        return self._buf

    def read(self, offset: int, size: int, what: str = "data") -> memoryview:
        """``size`` bytes at file ``offset``; :class:`ELFError` naming ``what`` if out of range."""
        if offset < 0 or size < 0 or offset + size > self._size:
            raise self._fail(f"{what} [0x{offset:x}, 0x{offset + size:x}) runs past the end of the "
                             f"file (0x{self._size:x} bytes)")
        return self.buffer[offset:offset + size]

    # -- sections -------------------------------------------------------------------------------
    def _parse_sections(self) -> None:
        self.sections: tuple[Section, ...] = ()
        self.shstrndx = 0
        self.phnum = self._phnum
        if self.shoff == 0:
            if self._shnum:
                raise self._fail(f"e_shnum is {self._shnum} but e_shoff is 0 (no section header table)")
            return
        if self.shentsize != SHDR_SIZE:
            raise self._fail(f"unsupported section header size e_shentsize={self.shentsize} "
                             f"at offset 58 (ELF64 section headers are {SHDR_SIZE} bytes)")
        layout = _SHDR[self.endian]
        if self.shoff + SHDR_SIZE > self._size:
            raise self._fail(f"section header table at offset 0x{self.shoff:x} (e_shoff) "
                             f"is outside the file (0x{self._size:x} bytes)")
        shnum = self._shnum
        first = layout.unpack_from(self._buf, self.shoff)
        if shnum == 0:
            shnum = first[5]   # extended numbering: the count lives in section 0's sh_size
        shstrndx = self._shstrndx
        if shstrndx == c.SHN_XINDEX:
            shstrndx = first[6]   # ... and the string table index in its sh_link
        if self._phnum == 0xFFFF:
            self.phnum = first[7]  # PN_XNUM: program header count in section 0's sh_info
        end = self.shoff + shnum * SHDR_SIZE
        if end > self._size:
            raise self._fail(f"section header table [0x{self.shoff:x}, 0x{end:x}) with {shnum} entries "
                             f"runs past the end of the file (0x{self._size:x} bytes)")
        table = self._buf[self.shoff:end]
        sections = tuple(Section(self, i, f) for i, f in enumerate(layout.iter_unpack(table)))
        for s in sections:
            if s.type not in (c.SHT_NOBITS, c.SHT_NULL) and s.offset + s.size > self._size:
                raise self._fail(f"section [{s.index}]: data [0x{s.offset:x}, 0x{s.offset + s.size:x}) "
                                 f"(sh_offset, sh_size in the header at 0x{self.shoff + s.index * SHDR_SIZE:x}) "
                                 f"runs past the end of the file (0x{self._size:x} bytes)")
        if shstrndx != c.SHN_UNDEF and shstrndx >= len(sections):
            raise self._fail(f"section name table index e_shstrndx={shstrndx} is out of range "
                             f"({len(sections)} sections)")
        self.shstrndx = shstrndx
        self.sections = sections
        if shstrndx != c.SHN_UNDEF:
            names = sections[shstrndx]
            if names.type != c.SHT_STRTAB:
                raise self._fail(f"section name table [{shstrndx}] has type {names.type_name}, "
                                 "not SHT_STRTAB")
            strtab = StringTable(self._raw, names.offset, names.size, f"[{shstrndx}] (section names)")
            for s in sections:
                s.name = strtab.get(s.name_offset, user=f"{self.name}: section [{s.index}] name")

    def section(self, key: int | str) -> Section:
        """Section by index or by name; :class:`ELFError` if there is none.

        Names need not be unique in ELF; by name this returns the first section so named.
        """
        if isinstance(key, int):
            if 0 <= key < len(self.sections):
                return self.sections[key]
            raise self._fail(f"section index {key} out of range ({len(self.sections)} sections)")
        sec = self.section_by_name(key)
        if sec is None:
            raise self._fail(f"no section named '{key}'")
        return sec

    def section_by_name(self, name: str) -> Section | None:
        """The first section named ``name``, or ``None``."""
        if self._by_name is None:
            by_name: dict[str, Section] = {}
            for s in self.sections:
                by_name.setdefault(s.name, s)
            self._by_name = by_name
        return self._by_name.get(name)

    def sections_of_type(self, sh_type: int) -> list[Section]:
        """All sections of type ``sh_type``, in index order."""
        return [s for s in self.sections if s.type == sh_type]

    def _linked_section(self, sec: Section, index: int, field: str, want: Sequence[int]) -> Section:
        if not 0 < index < len(self.sections):
            raise self._fail(f"{sec.describe()}: {field}={index} is not a valid section index "
                             f"({len(self.sections)} sections)")
        target = self.sections[index]
        if want and target.type not in want:
            names = " or ".join(c.name_of(c.SHT_NAMES, t) for t in want)
            raise self._fail(f"{sec.describe()}: {field}={index} points to {target.describe()} of type "
                             f"{target.type_name}, expected {names}")
        return target

    def string_table(self, sec: Section) -> StringTable:
        """``sec`` (an ``SHT_STRTAB`` section) as a :class:`StringTable`."""
        if sec.type != c.SHT_STRTAB:
            raise self._fail(f"{sec.describe()} has type {sec.type_name}, not SHT_STRTAB")
        return StringTable(self._raw, sec.offset, sec.size, f"{sec.describe()}")

    # -- symbols --------------------------------------------------------------------------------
    def symbol_table(self, sec: Section | int | str) -> "SymbolTable":
        """The symbol table in section ``sec`` (``SHT_SYMTAB`` or ``SHT_DYNSYM``), decoded lazily."""
        from pybpf.elf.symbols import SymbolTable

        if not isinstance(sec, Section):
            sec = self.section(sec)
        table = self._symtabs.get(sec.index)
        if table is None:
            table = SymbolTable(self, sec)
            self._symtabs[sec.index] = table
        return table

    @property
    def symtab(self) -> "SymbolTable | None":
        """The first ``SHT_SYMTAB`` section's table (``.symtab``), or ``None`` (stripped)."""
        secs = self.sections_of_type(c.SHT_SYMTAB)
        return self.symbol_table(secs[0]) if secs else None

    @property
    def dynsym(self) -> "SymbolTable | None":
        """The first ``SHT_DYNSYM`` section's table (``.dynsym``), or ``None``."""
        secs = self.sections_of_type(c.SHT_DYNSYM)
        return self.symbol_table(secs[0]) if secs else None

    def symbols(self) -> Iterator["Symbol"]:
        """Every symbol of ``.symtab`` (nothing if the file has none)."""
        table = self.symtab
        return iter(table) if table is not None else iter(())

    def find_symbols(self, name: str) -> list["Symbol"]:
        """Symbols named exactly ``name`` in ``.symtab``, then ``.dynsym``."""
        found: list["Symbol"] = []
        for table in (self.symtab, self.dynsym):
            if table is not None:
                found.extend(table.find(name))
        return found

    def symbol(self, name: str) -> "Symbol | None":
        """The first symbol named ``name`` (``.symtab`` before ``.dynsym``), or ``None``."""
        for table in (self.symtab, self.dynsym):
            if table is not None:
                hits = table.find(name)
                if hits:
                    return hits[0]
        return None

    @property
    def versions(self) -> "SymbolVersions | None":
        """GNU symbol versioning of ``.dynsym`` (``None`` if the file has no ``.gnu.version``)."""
        if self._versions is False:
            from pybpf.elf.versions import SymbolVersions

            self._versions = SymbolVersions.from_elf(self)
        return self._versions  # type: ignore[return-value]

    # -- relocations ----------------------------------------------------------------------------
    def relocation_section(self, sec: Section | int | str) -> "RelocationSection":
        """Section ``sec`` (``SHT_REL``/``SHT_RELA``/``SHT_RELR``) as a :class:`RelocationSection`."""
        from pybpf.elf.relocations import RelocationSection

        if not isinstance(sec, Section):
            sec = self.section(sec)
        rs = self._relocs.get(sec.index)
        if rs is None:
            rs = RelocationSection(self, sec)
            self._relocs[sec.index] = rs
        return rs

    def relocation_sections(self) -> list["RelocationSection"]:
        """Every ``SHT_REL``/``SHT_RELA``/``SHT_RELR`` section, in index order."""
        return [self.relocation_section(s) for s in self.sections
                if s.type in (c.SHT_REL, c.SHT_RELA, c.SHT_RELR)]

    def relocations_for(self, target: Section | int | str) -> list["RelocationSection"]:
        """Relocation sections whose ``sh_info`` names ``target`` (e.g. ``.relxdp`` for ``xdp``)."""
        if not isinstance(target, Section):
            target = self.section(target)
        return [rs for rs in self.relocation_sections() if rs.target is not None and rs.target.index == target.index]

    # -- segments -------------------------------------------------------------------------------
    @property
    def program_headers(self) -> list["ProgramHeader"]:
        """Program headers (``PT_LOAD``, ``PT_NOTE``, ...), validated, in table order."""
        if self._phdrs is None:
            from pybpf.elf.segments import parse_program_headers

            self._phdrs = parse_program_headers(self)
        return self._phdrs

    def segment_data(self, ph: "ProgramHeader") -> memoryview:
        """The file bytes of segment ``ph`` (``p_filesz`` bytes at ``p_offset``)."""
        return self.buffer[ph.offset:ph.offset + ph.filesz]

    def vaddr_to_offset(self, vaddr: int) -> int | None:
        """File offset of virtual address ``vaddr`` through the ``PT_LOAD`` segment containing it.

        ``None`` if no loadable segment maps ``vaddr`` from the file (e.g. it is in ``.bss``).
        This is the translation uprobes need for executables, PIE and shared libraries (the
        kernel wants file offsets); libbpf's USDT code uses the same segment walk.
        """
        from pybpf.elf.segments import vaddr_to_offset

        return vaddr_to_offset(self.program_headers, vaddr)

    def offset_to_vaddr(self, offset: int) -> int | None:
        """Virtual address at which file ``offset`` is loaded, or ``None`` if not in a ``PT_LOAD``."""
        from pybpf.elf.segments import offset_to_vaddr

        return offset_to_vaddr(self.program_headers, offset)

    # -- notes ----------------------------------------------------------------------------------
    def notes(self) -> Iterator["Note"]:
        """Notes of every ``SHT_NOTE`` section, in section order (see :mod:`pybpf.elf.notes`)."""
        for sec in self.sections:
            if sec.type == c.SHT_NOTE:
                yield from sec.notes()

    def segment_notes(self) -> Iterator["Note"]:
        """Notes of every ``PT_NOTE`` segment (for files without section headers)."""
        from pybpf.elf.notes import iter_segment_notes

        for ph in self.program_headers:
            if ph.type == c.PT_NOTE:
                yield from iter_segment_notes(self, ph)

    # -- uprobe targets -------------------------------------------------------------------------
    def find_func_offset(self, name: str) -> int:
        """File offset of function ``name`` for a uprobe, resolved exactly as libbpf does.

        ``name`` may carry a version, ``"malloc@@GLIBC_2.2.5"`` or ``"malloc@GLIBC_2.2.5"``.
        See :func:`pybpf.elf.uprobes.find_func_offset`.
        """
        from pybpf.elf.uprobes import find_func_offset

        return find_func_offset(self, name)

    def __repr__(self) -> str:
        return (f"<ELFFile {self.name!r} {self.type_name} {self.machine_name} "
                f"{'LE' if self.endian == '<' else 'BE'}, {len(self.sections)} sections>")
