"""Function name -> file offset, the way libbpf resolves uprobe targets (``libbpf/src/elf.c``).

The kernel attaches uprobes at a *file offset*. libbpf computes it from the symbol's containing
section: ``st_value - sh_addr + sh_offset``, which is right for executables (absolute
addresses), PIE and shared libraries (addresses relative to the load base) alike. The rules
reproduced here, so ``SEC("uprobe/libc.so.6:malloc")`` resolves exactly as under libbpf:

* ``.dynsym`` is searched first, then ``.symtab``; the first table with a positive match wins.
* Only symbols of the requested type (``STT_FUNC``) whose section index names an existing
  section are considered (an undefined symbol counts, with offset 0; absolute ones do not).
* ``name`` may carry a version: ``malloc@GLIBC_2.2.5`` or ``malloc@@GLIBC_2.2.5`` (libbpf does
  not distinguish the two). Without a version, ``foo`` matches ``foo`` and ``foo@...`` but not
  ``foo2``. With one, a ``.dynsym`` symbol matches when its version *definition* has that
  name; a ``.symtab`` symbol when its full name is ``name`` exactly.
* Several matches at different offsets: one non-weak and any number of weak ones resolve to
  the non-weak symbol; two non-weak ones are ambiguous (an error).
* A result of 0 is "not found" (libbpf suggests using the library path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from pybpf.errors import ELFError, NotFoundError
from pybpf.elf import constants as c

if TYPE_CHECKING:
    from pybpf.elf.file import ELFFile
    from pybpf.elf.symbols import SymbolTable

__all__ = ["find_func_offset", "resolve_syms_offsets", "resolve_pattern_offsets", "glob_match",
           "symbol_file_offset"]


def glob_match(string: str, pattern: str) -> bool:
    """libbpf's ``glob_match``: ``*`` matches any run, ``?`` any one character."""
    si = pi = 0
    star_p = star_s = -1
    ls, lp = len(string), len(pattern)
    while si < ls:
        if pi < lp and (pattern[pi] == "?" or pattern[pi] == string[si]) and pattern[pi] != "*":
            si += 1
            pi += 1
        elif pi < lp and pattern[pi] == "*":
            star_p = pi
            star_s = si
            pi += 1
        elif star_p >= 0:
            pi = star_p + 1
            star_s += 1
            si = star_s
        else:
            return False
    while pi < lp and pattern[pi] == "*":
        pi += 1
    return pi == lp


def _first_table(elf: "ELFFile", sh_type: int) -> "SymbolTable | None":
    for sec in elf.sections:
        if sec.type == sh_type:
            return elf.symbol_table(sec)
    return None


def symbol_file_offset(elf: "ELFFile", shndx: int, value: int) -> int | None:
    """``value - sh_addr + sh_offset`` of section ``shndx`` (``None`` if no such section)."""
    if shndx >= len(elf.sections):
        return None
    sec = elf.sections[shndx]
    return value - sec.addr + sec.offset


def _candidates(table: "SymbolTable", st_type: int, indices: Sequence[int] | None
                ) -> Iterator[tuple[int, str, int, int, int]]:
    """(index, name, bind, shndx, value) of symbols of ``st_type`` whose section exists,
    in index order, as libbpf's ``elf_sym_iter_next`` yields them."""
    elf = table._elf
    nsec = len(elf.sections)
    layout = table._layout
    data = table._data
    get = table.strings.get
    if indices is None:
        rows: Iterator[tuple[int, tuple[int, ...]]] = enumerate(layout.iter_unpack(data))
    else:
        rows = ((i, layout.unpack_from(data, i * 24)) for i in indices)
    for i, (st_name, info, _other, shndx, value, _size) in rows:
        if info & 0xF != st_type:
            continue
        try:
            name = get(st_name)
        except ELFError:
            continue   # elf_strptr() failed: libbpf skips the symbol
        if shndx >= nsec:
            continue   # elf_getscn() failed (SHN_ABS, SHN_COMMON, SHN_XINDEX, bad index)
        yield i, name, info >> 4, shndx, value


def find_func_offset(elf: "ELFFile", name: str) -> int:
    """File offset of function ``name`` (optionally ``name@VER``/``name@@VER``) in ``elf``.

    :class:`~pybpf.errors.NotFoundError` if there is no such function (or it resolves to 0),
    :class:`~pybpf.errors.ELFError` if two non-weak definitions disagree. Mirrors libbpf's
    ``elf_find_func_offset()`` (libbpf 1.x).
    """
    at = name.find("@")
    if at >= 0:
        base = name[:at]
        lib_ver: str | None = name[at + 2:] if name[at + 1:at + 2] == "@" else name[at + 1:]
    else:
        base, lib_ver = name, None
    base_b = base.encode("utf-8", "surrogateescape")
    ret: int | None = None    # None: no table searched yet (libbpf's -ENOENT)
    for sh_type in (c.SHT_DYNSYM, c.SHT_SYMTAB):
        table = _first_table(elf, sh_type)
        if table is None:
            continue
        versions = elf.versions if sh_type == c.SHT_DYNSYM else None
        ret = 0
        last_bind = -1
        # Names equal to base, or base followed by '@': find them in the string table first.
        offsets = table.strings.offsets_of(base_b) + table.strings.offsets_with_prefix(base_b + b"@")
        for idx, sym_name, bind, shndx, value in _candidates(table, c.STT_FUNC,
                                                             table.indices_of_name_offsets(offsets)):
            if not (sym_name == base or sym_name.startswith(base + "@")):
                continue
            if versions is not None:
                word = versions.word(idx)
                if word is None:
                    continue   # gelf_getversym() failed
                ver = word & c.VERSYM_VERSION
            else:
                ver = 0
            if lib_ver is not None:
                if sh_type == c.SHT_DYNSYM:
                    vname = versions.definition_name(ver) if versions is not None else None
                    if vname is None or vname != lib_ver:
                        continue
                elif sym_name != name:
                    continue
            offset = symbol_file_offset(elf, shndx, value)
            assert offset is not None
            if ret > 0:
                if offset == ret:
                    continue
                if last_bind != c.STB_WEAK and bind != c.STB_WEAK:
                    raise ELFError(f"{elf.name}: ambiguous match for '{name}': '{sym_name}' at file "
                                   f"offset 0x{offset:x} and another non-weak symbol at 0x{ret:x}")
                if bind == c.STB_WEAK:
                    continue
            ret = offset
            last_bind = bind
        if ret > 0:
            break
    if ret is not None and ret > 0:
        return ret
    if ret == 0:
        hint = ("should not be 0 in a shared library" if elf.type == c.ET_DYN
                else "try using shared library path instead")
        raise NotFoundError(f"{elf.name}: function '{name}' not found (its symbol table entry is 0: {hint})")
    raise NotFoundError(f"{elf.name}: function '{name}' not found (no symbol table)")


def resolve_syms_offsets(elf: "ELFFile", names: Sequence[str], st_type: int = c.STT_FUNC) -> list[int]:
    """File offsets of every symbol in ``names`` (exact names), as libbpf's
    ``elf_resolve_syms_offsets()`` for ``uprobe.multi`` with explicit symbols.

    :class:`NotFoundError` unless all are found, :class:`ELFError` for an ambiguous one.
    """
    wanted: dict[str, list[int]] = {}
    for pos, n in enumerate(names):
        wanted.setdefault(n, []).append(pos)
    offsets = [0] * len(names)
    binds: dict[str, int] = {n: c.STB_LOCAL for n in wanted}
    done: set[str] = set()
    for sh_type in (c.SHT_DYNSYM, c.SHT_SYMTAB):
        table = _first_table(elf, sh_type)
        if table is None:
            continue
        name_offsets: list[int] = []
        for n in wanted:
            name_offsets += table.strings.offsets_of(n.encode("utf-8", "surrogateescape"))
        for _idx, sym_name, bind, shndx, value in _candidates(table, st_type,
                                                              table.indices_of_name_offsets(name_offsets)):
            if sym_name not in wanted:
                continue
            off = symbol_file_offset(elf, shndx, value)
            assert off is not None
            first = wanted[sym_name][0]
            if offsets[first] > 0:
                if offsets[first] == off:
                    continue
                if binds[sym_name] != c.STB_WEAK and bind != c.STB_WEAK:
                    raise ELFError(f"{elf.name}: ambiguous match for '{sym_name}': file offsets "
                                   f"0x{offsets[first]:x} and 0x{off:x}")
                if bind == c.STB_WEAK:
                    continue
            else:
                done.add(sym_name)
            for pos in wanted[sym_name]:
                offsets[pos] = off
            binds[sym_name] = bind
    missing = [n for n in wanted if n not in done]
    if missing:
        raise NotFoundError(f"{elf.name}: symbols not found: {', '.join(missing)}")
    return offsets


def resolve_pattern_offsets(elf: "ELFFile", pattern: str) -> list[int]:
    """File offsets of every ``STT_FUNC`` symbol matching glob ``pattern``, as libbpf's
    ``elf_resolve_pattern_offsets()`` (``.symtab`` first; ``.dynsym`` only if that found none)."""
    found: list[int] = []
    for sh_type in (c.SHT_SYMTAB, c.SHT_DYNSYM):
        table = _first_table(elf, sh_type)
        if table is None:
            continue
        for _idx, sym_name, _bind, shndx, value in _candidates(table, c.STT_FUNC, None):
            if glob_match(sym_name, pattern):
                off = symbol_file_offset(elf, shndx, value)
                assert off is not None
                found.append(off)
        if found:
            break
    if not found:
        raise NotFoundError(f"{elf.name}: no function matches '{pattern}'")
    return found
