"""Symbol tables (``.symtab``, ``.dynsym``), decoded lazily.

A :class:`SymbolTable` validates its section header when created and decodes a symbol only when
asked for one (``table[i]``, iteration, :meth:`SymbolTable.find`). Finding a symbol by name does
not decode the table: the name is searched in the string table first (a C-speed ``find`` over
the mapped bytes), then the matching ``st_name`` offsets are looked up in an array of the
table's ``st_name`` column. That keeps "open ``libc.so.6``, find ``malloc``" at a few
milliseconds.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import TYPE_CHECKING, Iterator, NamedTuple

from pybpf.errors import ELFError
from pybpf.elf import constants as c

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile, Section

__all__ = ["Symbol", "SymbolTable", "SYM_SIZE"]

SYM_SIZE = 24
_SYM = {e: struct.Struct(e + "IBBHQQ") for e in "<>"}
_NATIVE = "<" if sys.byteorder == "little" else ">"


class Symbol(NamedTuple):
    """One ``Elf64_Sym``, with its name decoded and its section index resolved.

    ``shndx`` is the raw ``st_shndx`` (``SHN_UNDEF``, ``SHN_ABS``, ``SHN_COMMON``,
    ``SHN_XINDEX`` or an index); ``section_index`` is the index of the section the symbol is
    defined in (``SHN_XINDEX`` already looked up in ``SHT_SYMTAB_SHNDX``), or ``None`` for
    undefined, absolute, common and other reserved indices.
    """

    index: int
    name: str
    value: int
    size: int
    info: int
    other: int
    shndx: int
    section_index: int | None

    @property
    def type(self) -> int:
        """``STT_*`` (low 4 bits of ``st_info``)."""
        return self.info & 0xF

    @property
    def bind(self) -> int:
        """``STB_*`` (high 4 bits of ``st_info``)."""
        return self.info >> 4

    @property
    def visibility(self) -> int:
        """``STV_*`` (low 2 bits of ``st_other``)."""
        return self.other & 0x3

    @property
    def type_name(self) -> str:
        return c.name_of(c.STT_NAMES, self.type)

    @property
    def bind_name(self) -> str:
        return c.name_of(c.STB_NAMES, self.bind)

    @property
    def visibility_name(self) -> str:
        return c.name_of(c.STV_NAMES, self.visibility)

    @property
    def is_undefined(self) -> bool:
        """``st_shndx == SHN_UNDEF`` (an import, or an extern in a BPF object)."""
        return self.shndx == c.SHN_UNDEF

    @property
    def is_absolute(self) -> bool:
        return self.shndx == c.SHN_ABS

    @property
    def is_common(self) -> bool:
        return self.shndx == c.SHN_COMMON

    @property
    def is_global(self) -> bool:
        """Bound ``STB_GLOBAL`` or ``STB_WEAK`` (visible outside its object)."""
        return self.bind in (c.STB_GLOBAL, c.STB_WEAK)


class SymbolTable:
    """The symbols of one ``SHT_SYMTAB``/``SHT_DYNSYM`` section.

    ``len(table)``, ``table[i]`` (:class:`ELFError` for an index out of range), iteration in
    index order, :meth:`find` by exact name. ``section`` is the symbol table's section,
    ``strings`` its string table (``sh_link``).
    """

    def __init__(self, elf: "ELFFile", sec: "Section") -> None:
        self._elf = elf
        self.section = sec
        where = f"{elf.name}: symbol table {sec.describe()}"
        if sec.type not in (c.SHT_SYMTAB, c.SHT_DYNSYM):
            raise ELFError(f"{where} has type {sec.type_name}, not SHT_SYMTAB or SHT_DYNSYM")
        if sec.entsize not in (0, SYM_SIZE):
            raise ELFError(f"{where}: unsupported entry size sh_entsize={sec.entsize} "
                           f"(ELF64 symbols are {SYM_SIZE} bytes)")
        if sec.size % SYM_SIZE:
            raise ELFError(f"{where}: size {sec.size} is not a multiple of the {SYM_SIZE}-byte entry size")
        strsec = elf._linked_section(sec, sec.link, "sh_link", (c.SHT_STRTAB,))
        self.strings = elf.string_table(strsec)
        self.strings.what = f"{strsec.describe()} (names of {sec.describe()})"
        self._data = sec.data
        self._count = sec.size // SYM_SIZE
        self._layout = _SYM[elf.endian]
        self._nsections = len(elf.sections)
        self._xindex: array | None = None
        self._name_column: array | None = None
        self._index: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"<SymbolTable {self.section.name!r}: {self._count} symbols>"

    # -- decoding -------------------------------------------------------------------------------
    def _file_offset(self, index: int) -> int:
        return self.section.offset + index * SYM_SIZE

    def _extended_indices(self, index: int, name: str) -> array:
        if self._xindex is None:
            for sec in self._elf.sections:
                if sec.type == c.SHT_SYMTAB_SHNDX and sec.link == self.section.index:
                    words = array("I")
                    data = sec.data
                    words.frombytes(data[: len(data) - len(data) % 4])
                    if self._elf.endian != _NATIVE:
                        words.byteswap()
                    self._xindex = words
                    break
            else:
                raise ELFError(f"{self._elf.name}: symbol #{index} '{name}' in {self.section.describe()} "
                               f"(file offset 0x{self._file_offset(index):x}) has st_shndx=SHN_XINDEX but "
                               "the file has no SHT_SYMTAB_SHNDX section for this table")
        return self._xindex

    def _make(self, index: int, fields: tuple[int, int, int, int, int, int]) -> Symbol:
        st_name, info, other, shndx, value, size = fields
        name = self.strings.get(st_name, user=f"{self._elf.name}: symbol #{index} in {self.section.describe()}")
        if shndx == c.SHN_UNDEF:
            resolved: int | None = None
        elif shndx == c.SHN_XINDEX:
            ext = self._extended_indices(index, name)
            if index >= len(ext):
                raise ELFError(f"{self._elf.name}: symbol #{index} '{name}' in {self.section.describe()}: "
                               f"SHT_SYMTAB_SHNDX has no entry for it ({len(ext)} entries)")
            resolved = ext[index]
        elif shndx >= c.SHN_LORESERVE:
            resolved = None   # SHN_ABS, SHN_COMMON, processor/OS specific
        else:
            resolved = shndx
        if resolved is not None and resolved >= self._nsections:
            raise ELFError(f"{self._elf.name}: symbol #{index} '{name}' in {self.section.describe()} "
                           f"(file offset 0x{self._file_offset(index):x}): section index {resolved} "
                           f"out of range ({self._nsections} sections)")
        return Symbol(index, name, value, size, info, other, shndx, resolved)

    def __getitem__(self, index: int) -> Symbol:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise ELFError(f"{self._elf.name}: symbol index {index} out of range in "
                           f"{self.section.describe()} ({self._count} symbols)")
        return self._make(index, self._layout.unpack_from(self._data, index * SYM_SIZE))

    def get(self, index: int) -> Symbol:
        """``table[index]`` (same errors)."""
        return self[index]

    def __iter__(self) -> Iterator[Symbol]:
        make = self._make
        for index, fields in enumerate(self._layout.iter_unpack(self._data)):
            yield make(index, fields)

    def raw_fields(self) -> Iterator[tuple[int, int, int, int, int, int]]:
        """Undecoded ``(st_name, st_info, st_other, st_shndx, st_value, st_size)`` tuples."""
        return self._layout.iter_unpack(self._data)

    # -- lookup by name -------------------------------------------------------------------------
    def _st_names(self) -> array:
        if self._name_column is None:
            words = array("I")
            words.frombytes(self._data)
            if self._elf.endian != _NATIVE:
                words.byteswap()
            self._name_column = words[::SYM_SIZE // 4]
        return self._name_column

    def indices_of_name_offsets(self, offsets: list[int]) -> list[int]:
        """Indices of the symbols whose ``st_name`` is one of ``offsets``, sorted."""
        if not offsets:
            return []
        column = self._st_names()
        hits: list[int] = []
        for off in set(offsets):
            start = 0
            while True:
                try:
                    i = column.index(off, start)
                except ValueError:
                    break
                hits.append(i)
                start = i + 1
        hits.sort()
        return hits

    def find(self, name: str) -> list[Symbol]:
        """Every symbol named exactly ``name``, in index order (nothing decoded but those)."""
        key = name.encode("utf-8", "surrogateescape")
        if b"\0" in key:
            return []
        if self._index is not None:
            return [self[i] for i in self._index.get(name, ())]
        return [self[i] for i in self.indices_of_name_offsets(self.strings.offsets_of(key))]

    def first(self, name: str) -> Symbol | None:
        """The first symbol named ``name``, or ``None``."""
        hits = self.find(name)
        return hits[0] if hits else None

    def by_name(self) -> dict[str, list[int]]:
        """Name -> symbol indices for the whole table (built once, then used by :meth:`find`)."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            get = self.strings.get
            user = f"{self._elf.name}: {self.section.describe()}"
            for i, st_name in enumerate(self._st_names()):
                index.setdefault(get(st_name, user=user), []).append(i)
            self._index = index
        return self._index
