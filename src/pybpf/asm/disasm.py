"""Section disassembly in the exact layout of ``llvm-objdump-19 -d`` (and ``-S``, ``-r``).

:func:`disassemble_section` works on raw section bytes plus the section's symbols, so it
needs no ELF reader; :func:`objdump_header` gives the file banner. The layout rules follow
llvm-objdump: symbols sorted by (address, name, type), one header per address (the last
non-data symbol there), the section name as a synthetic symbol when nothing is defined at
offset 0, jump targets annotated ``<sym+0xoff>`` with the nearest preceding symbol, runs of
eight or more zero bytes shown as ``...``, undecodable bytes as ``<unknown>``.

Source lines (``-S``) come from ``.BTF.ext`` line info instead of DWARF: the text of a line
is printed as ``; text`` before the first instruction of each change of source line.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction, LineInfo
from pybpf.asm.llvm import branch_target, format_instruction

__all__ = ["Symbol", "Relocation", "disassemble_section", "objdump_header",
           "STT_NOTYPE", "STT_OBJECT", "STT_FUNC", "STT_SECTION", "STT_FILE", "STT_COMMON"]

STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3
STT_FILE = 4
STT_COMMON = 5

_LE = struct.Struct("<BBhi")
_BE = struct.Struct(">BBhi")


@dataclass(frozen=True)
class Symbol:
    """A symbol defined in the section being disassembled: ``value`` is its byte offset,
    ``type`` its ELF ``STT_*`` type. Section and file symbols are ignored, as llvm does."""

    name: str
    value: int
    type: int = STT_NOTYPE


@dataclass(frozen=True)
class Relocation:
    """A relocation of the section, shown by ``-r``: byte ``offset``, type name
    (``R_BPF_64_64``) and the symbol it refers to (``""`` when none)."""

    offset: int
    type: str
    symbol: str = ""


def objdump_header(path: str) -> str:
    """The banner llvm-objdump prints before the sections of ``path``."""
    return f"\n{path}:\tfile format elf64-bpf\n"


def _decode_at(data: bytes, pos: int, little: bool) -> tuple[Instruction | None, int]:
    """One instruction at byte ``pos`` as llvm's BPF disassembler reads it: (insn, size).

    None means llvm fails to decode; the size then says how far it advances (8 for a bad
    8-byte instruction, 1 when fewer than 8 bytes, or 16, remain).
    """
    rem = len(data) - pos
    if rem < 8:
        return None, 1
    code, regs, off, imm = (_LE if little else _BE).unpack_from(data, pos)
    dst, src = (regs & 0x0F, regs >> 4) if little else (regs >> 4, regs & 0x0F)
    if code == op.LD_IMM64 and off == 0 and dst <= 11:
        if rem < 16:
            return None, 1
        hi = (_LE if little else _BE).unpack_from(data, pos + 8)[3]
        return Instruction(code, dst, src, off, (hi << 32) | (imm & 0xFFFFFFFF)), 16
    return Instruction(code, dst, src, off, imm), 8


def _zero_run(data: bytes, pos: int, end: int) -> int:
    n = 0
    while pos + n < end and data[pos + n] == 0:
        n += 1
    return n & ~3 if n >= 8 else 0


def _sorted_symbols(name: str, symbols: Iterable[Symbol], text: bool) -> list[Symbol]:
    syms = [s for s in symbols if s.name and s.type not in (STT_SECTION, STT_FILE)]
    syms.sort(key=lambda s: (s.value, s.name.encode(), s.type))
    if not any(s.value == 0 for s in syms):
        dummy = Symbol(name, 0, STT_FUNC if text else STT_OBJECT)
        keys = [(s.value, s.name.encode(), s.type) for s in syms]
        syms.insert(bisect.bisect_left(keys, (0, name.encode(), dummy.type)), dummy)
    return syms


def disassemble_section(name: str, data: bytes, symbols: Iterable[Symbol] = (), *,
                        byteorder: str = "little", alu32: bool = False,
                        lines: Mapping[int, LineInfo] | None = None,
                        relocations: Sequence[Relocation] | None = None,
                        zeroes: bool = False, text_section: bool = True) -> str:
    """llvm-objdump's ``-d`` text for one executable section (empty if the section is).

    ``alu32`` is ``--mcpu=v3`` (see :mod:`pybpf.asm.llvm`); ``lines`` maps byte offsets to
    line info and turns on ``-S`` style source lines; ``relocations`` turns on ``-r``;
    ``zeroes`` is ``-z`` (do not fold runs of zero bytes); ``text_section`` False is a
    section without SHF_EXECINSTR disassembled on request (``-j``), whose data symbols do not
    turn chunks into data dumps.
    """
    if not data:
        return ""
    little = byteorder == "little"
    syms = _sorted_symbols(name, symbols, text_section)
    addrs = [s.value for s in syms]
    out: list[str] = [f"\nDisassembly of section {name}:\n"]
    relocs = sorted(relocations or (), key=lambda r: r.offset)
    rel_i = 0
    last_line: tuple[str, int] | None = None
    current: LineInfo | None = None
    line_offsets = sorted(lines) if lines else []
    line_i = 0
    size_total = len(data)
    i = 0
    n = len(syms)
    while i < n:
        start = syms[i].value
        j = i
        while j < n and syms[j].value == start:
            j += 1
        here = syms[i:j]
        display = here[-1]
        data_only = text_section
        if text_section:
            for s in here:
                if s.type not in (STT_OBJECT, STT_COMMON):
                    data_only = False
                    display = s
        i = j
        end = size_total if j >= n else min(size_total, syms[j].value)
        if start >= end:
            continue
        out.append(f"\n{start:016x} <{display.name}>:\n")
        pos = start
        # Relocations before this chunk belong to symbols not shown.
        while rel_i < len(relocs) and relocs[rel_i].offset < pos:
            rel_i += 1
        if data_only:
            out.append(_data_dump(data, pos, end))
            continue
        while pos < end:
            if not zeroes:
                limit = end
                if relocations is not None and rel_i < len(relocs):
                    limit = min(limit, relocs[rel_i].offset)
                skip = _zero_run(data, pos, limit)
                if skip:
                    out.append("\t\t...\n")
                    pos += skip
                    continue
            if line_offsets:
                while line_i < len(line_offsets) and line_offsets[line_i] <= pos:
                    current = lines[line_offsets[line_i]]  # type: ignore[index]
                    line_i += 1
                if current is not None and current.line:
                    key = (current.file, current.line)
                    if key != last_line:
                        out.append(f"; {current.text}\n")
                        last_line = key
            insn, size = _decode_at(data, pos, little)
            raw = " ".join(f"{b:02x}" for b in data[pos:pos + size])
            text = format_instruction(insn, alu32=alu32) if insn is not None else "<unknown>"
            line = f"{pos // 8:8d}:\t{raw}\t{text}"
            if insn is not None and text != "<unknown>":
                disp = branch_target(insn)
                if disp is not None:
                    target = (pos + size + disp * size) & 0xFFFFFFFFFFFFFFFF
                    k = bisect.bisect_right(addrs, target)
                    if k:
                        sym = syms[k - 1]
                        delta = (target - sym.value) & 0xFFFFFFFFFFFFFFFF
                        line += f" <{sym.name}+0x{delta:x}>" if delta else f" <{sym.name}>"
            out.append(line + "\n")
            if relocations is not None:
                while rel_i < len(relocs) and relocs[rel_i].offset < pos + size:
                    r = relocs[rel_i]
                    if r.offset >= pos:
                        sym_text = f"\t{r.symbol}" if r.symbol else ""
                        out.append(f"\t\t{r.offset:016x}:  {r.type}{sym_text}\n")
                    rel_i += 1
            pos += size
    return "".join(out) if len(out) > 1 else ""


def _data_dump(data: bytes, pos: int, end: int) -> str:
    """llvm-objdump's dump of a chunk whose symbols are all data objects: hex address,
    up to 8 bytes in hex, then as ASCII."""
    rows = []
    for row in range(pos, end, 8):
        chunk = data[row:min(row + 8, end)]
        raw = "".join(f" {b:02x}" for b in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        rows.append(f"{row:8x}:{raw}{' ' * (3 * (8 - len(chunk)))}         {text}\n")
    return "".join(rows)
