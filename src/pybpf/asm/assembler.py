"""Assembler for LLVM's BPF assembly syntax (what llvm-objdump prints and llvm-mc accepts).

Accepted input, one instruction per line:

* every instruction form :func:`pybpf.asm.llvm.format_instruction` prints, with immediates
  in decimal or hex (``r0 = 1``, ``r0 = 0x1``, ``r1 += -0x4``, ``r1 = 0x1234 ll``);
* labels (``loop:``) and jumps/calls to them (``goto loop``, ``if r1 > 5 goto out``,
  ``call subprog``); a call to a label becomes a bpf-to-bpf call;
* symbolic 64-bit loads ``r1 = counts ll``: an LD_IMM64 whose ``reference`` is ``counts``
  (a map or variable the loader resolves), or a function address when ``counts`` is a label;
* ``call NAME`` with a helper name (``call bpf_map_lookup_elem``) when the helper table is
  available;
* llvm-objdump listings as they are printed (``-d``, ``-S``, ``-r``): the index and raw
  bytes, ``<sym+0x8>`` annotations and ``;`` source lines are ignored, ``<sym>:`` headers
  are labels, relocation lines set the ``reference`` of their instruction (and mark a
  relocated call as a bpf-to-bpf call, as clang emits it), ``Disassembly of section S:``
  starts section ``S`` (see :func:`assemble_sections`);
* comments after ``#`` or ``//`` and lines starting with ``;``; elsewhere ``;`` separates
  statements, as in llvm-mc and inline assembly (``r0 = 0; exit``).

Round trip: ``assemble(disassembly)`` gives back the same bytes for everything llvm's syntax
can express (``ld_pseudo`` keeps only the low 32 bits of the immediate, as in llvm; a call's
pseudo source survives only through ``-r`` relocation lines, as with llvm-mc).
"""

from __future__ import annotations

import re
from typing import Callable

from pybpf.asm import opcodes as op
from pybpf.asm.codec import ByteOrder, encode
from pybpf.asm.instruction import Instruction, InstructionError
from pybpf.asm.labels import link
from pybpf.asm.llvm import ALU_SYMBOLS, JMP_SYMBOLS

__all__ = ["assemble", "assemble_sections", "assemble_bytes"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)"
    r"|(?P<op>s>>=|s/=|s%=|<<=|>>=|s>=|s<=|s>|s<|==|!=|>=|<=|\+=|-=|\*=|/=|%=|\|=|&=|\^="
    r"|[-+*/()\[\],=<>&|^:])"
    r"|(?P<id>[A-Za-z_.$][\w.$@]*))")
_LISTING = re.compile(r"^\s*\d+:\t(?:[0-9a-f]{2}(?: [0-9a-f]{2})*\t?)?")
_SYMBOL_HEADER = re.compile(r"^[0-9a-fA-F]{8,16} <(?P<name>[^<>]+)>:\s*$")
_ANNOTATION = re.compile(r" <[^<>]*>$")
_RELOC = re.compile(r"^\s*(?P<off>[0-9a-fA-F]+):\s+(?P<type>R_BPF_\w+)\s+(?P<sym>\S+)?\s*$")
_SECTION = re.compile(r"^Disassembly of section (?P<name>.+):\s*$")
_SECTION_DIRECTIVE = re.compile(r"^\s*\.section\s+(?P<name>[^\s,]+)")
_DIRECTIVE = re.compile(r"^\s*\.\w+")
_DOT_LABEL = re.compile(r"^\s*\.\w[\w.$]*:")
_REG = re.compile(r"^([rw])(\d+)$")
_SIZES = {"u8": op.BPF_B, "u16": op.BPF_H, "u32": op.BPF_W, "u64": op.BPF_DW,
          "s8": op.BPF_B, "s16": op.BPF_H, "s32": op.BPF_W}
_ALU_BY_SYMBOL = {v: k for k, v in ALU_SYMBOLS.items()}
_JMP_BY_SYMBOL = {v: k for k, v in JMP_SYMBOLS.items()}
_ATOMIC_FETCH = {"add": op.BPF_ADD, "or": op.BPF_OR, "and": op.BPF_AND, "xor": op.BPF_XOR}
_LOCK = {"+=": op.BPF_ADD, "|=": op.BPF_OR, "&=": op.BPF_AND, "^=": op.BPF_XOR}


class _Syntax(Exception):
    pass


class _Cursor:
    """Token stream of one line with the small matching vocabulary the grammar needs."""

    __slots__ = ("toks", "i")

    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.toks[j][1] if j < len(self.toks) else None

    def done(self) -> bool:
        return self.i >= len(self.toks)

    def take(self) -> str:
        if self.i >= len(self.toks):
            raise _Syntax("unexpected end of line")
        self.i += 1
        return self.toks[self.i - 1][1]

    def expect(self, *words: str) -> None:
        for w in words:
            got = self.take()
            if got != w:
                raise _Syntax(f"expected {w!r}, found {got!r}")

    def accept(self, word: str) -> bool:
        if self.peek() == word:
            self.i += 1
            return True
        return False

    def reg(self) -> tuple[str, int]:
        t = self.take()
        m = _REG.match(t)
        if not m or int(m.group(2)) > 11:
            raise _Syntax(f"expected a register, found {t!r}")
        return m.group(1), int(m.group(2))

    def is_reg(self, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and _REG.match(t) is not None

    def num(self) -> int:
        sign = 1
        t = self.take()
        if t in ("-", "+"):
            sign = -1 if t == "-" else 1
            t = self.take()
        if not t or not t[0].isdigit():
            raise _Syntax(f"expected a number, found {t!r}")
        return sign * int(t, 0) if not t.startswith(("0x", "0X")) else sign * int(t, 16)

    def is_num(self) -> bool:
        t = self.peek()
        if t in ("-", "+"):
            t = self.peek(1)
        return t is not None and t[0].isdigit()

    def ident(self) -> str:
        t = self.take()
        if not (t[0].isalpha() or t[0] in "_.$") or _REG.match(t):
            raise _Syntax(f"expected a name, found {t!r}")
        return t

    def end(self) -> None:
        if not self.done():
            raise _Syntax(f"unexpected {self.peek()!r}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise _Syntax(f"cannot read {text[pos:].strip()!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _signed32(v: int, what: str) -> int:
    if not -0x80000000 <= v <= 0xFFFFFFFF:
        raise _Syntax(f"{what} {v} does not fit 32 bits")
    return v - (1 << 32) if v > 0x7FFFFFFF else v


def _signed16(v: int, what: str) -> int:
    if not -0x8000 <= v <= 0x7FFF:
        raise _Syntax(f"{what} {v} does not fit 16 bits")
    return v


def _mem(c: _Cursor) -> tuple[int, int]:
    """``(rN + OFF)`` / ``(rN - OFF)`` / ``rN + OFF`` (without parens, for xchg/cmpxchg)."""
    paren = c.accept("(")
    kind, base = c.reg()
    if kind != "r":
        raise _Syntax("memory base must be an r register")
    off = 0
    if c.peek() in ("+", "-"):
        sign = -1 if c.take() == "-" else 1
        off = sign * c.num()
    if paren:
        c.expect(")")
    return base, _signed16(off, "offset")


def _typed_mem(c: _Cursor) -> tuple[str, int, int]:
    """``*(u32 *)(r1 + 0x8)`` -> ("u32", base, off); the leading ``*`` already taken."""
    c.expect("(")
    ty = c.take()
    if ty not in _SIZES:
        raise _Syntax(f"unknown access type {ty!r}")
    c.expect("*", ")")
    base, off = _mem(c)
    return ty, base, off


def _target(c: _Cursor) -> tuple[int, str | None]:
    """A jump target: ``+0x3``/``-2``/``5`` (relative slots) or a label name."""
    if c.is_num():
        return c.num(), None
    return 0, c.ident()


class _Line:
    """Parse one instruction (already stripped of labels, listing prefixes and comments)."""

    def __init__(self, helpers: Callable[[str], int | None] | None) -> None:
        self.helpers = helpers
        self.named_calls: set[int] = set()

    def parse(self, c: _Cursor) -> Instruction:
        first = c.peek()
        if first is None:
            raise _Syntax("empty instruction")
        if first == "exit":
            c.take()
            c.end()
            return Instruction(op.EXIT)
        if first in ("goto", "gotol", "may_goto"):
            c.take()
            off, ref = _target(c)
            c.end()
            if first == "gotol":
                return Instruction(op.BPF_JMP32 | op.BPF_JA, imm=_signed32(off, "offset"),
                                   reference=ref)
            code = op.BPF_JMP | (op.BPF_JA if first == "goto" else op.BPF_JCOND)
            return Instruction(code, off=_signed16(off, "offset"), reference=ref)
        if first == "call":
            return self._call(c)
        if first == "callx":
            c.take()
            _, r = c.reg()
            c.end()
            return Instruction(op.BPF_JMP | op.BPF_CALL | op.BPF_X, dst=r)
        if first == "if":
            return self._cond(c)
        if first == "lock":
            c.take()
            c.expect("*")
            ty, base, off = _typed_mem(c)
            sym = c.take()
            if sym not in _LOCK or ty not in ("u32", "u64"):
                raise _Syntax(f"unknown atomic operation {sym!r}")
            kind, src = c.reg()
            c.end()
            return Instruction(op.BPF_STX | op.BPF_ATOMIC | _SIZES[ty], base, src, off, _LOCK[sym])
        if first == "*":
            c.take()
            ty, base, off = _typed_mem(c)
            if ty.startswith("s"):
                raise _Syntax("stores take u8/u16/u32/u64")
            c.expect("=")
            size = _SIZES[ty]
            if c.is_reg():
                kind, src = c.reg()
                c.end()
                return Instruction(op.BPF_STX | op.BPF_MEM | size, base, src, off)
            imm = c.num()
            c.end()
            return Instruction(op.BPF_ST | op.BPF_MEM | size, base, 0, off,
                               _signed32(imm, "immediate"))
        if first == "store_release":
            c.take()
            c.expect("(", "(")
            ty = c.take()
            c.expect("*", ")")
            base, off = _mem(c)
            c.expect(",")
            _, src = c.reg()
            c.expect(")")
            c.end()
            return Instruction(op.BPF_STX | op.BPF_ATOMIC | _SIZES[ty], base, src, off,
                               op.BPF_STORE_REL)
        if first == "ld_pseudo":
            c.take()
            _, dst = c.reg()
            c.expect(",")
            src = c.num()
            c.expect(",")
            imm = c.num()
            c.end()
            if not 0 <= src <= 15:
                raise _Syntax(f"pseudo source {src} does not fit 4 bits")
            return Instruction(op.LD_IMM64, dst, src, 0, _signed32(imm, "immediate"))
        if c.is_reg():
            return self._assign(c)
        raise _Syntax(f"unknown instruction {first!r}")

    def _call(self, c: _Cursor) -> Instruction:
        c.take()
        if c.is_num():
            imm = c.num()
            c.end()
            return Instruction(op.CALL, imm=_signed32(imm, "call target"))
        name = c.ident()
        c.end()
        # A label (resolved by link) or a helper name: decided once all labels are known.
        insn = Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=-1, reference=name)
        self.named_calls.add(id(insn))
        return insn

    def _cond(self, c: _Cursor) -> Instruction:
        c.take()
        kind, dst = c.reg()
        sym = c.take()
        if sym not in _JMP_BY_SYMBOL:
            raise _Syntax(f"unknown comparison {sym!r}")
        cls = op.BPF_JMP if kind == "r" else op.BPF_JMP32
        code = cls | _JMP_BY_SYMBOL[sym]
        src = 0
        imm = 0
        if c.is_reg():
            skind, src = c.reg()
            if skind != kind:
                raise _Syntax("mixed r and w registers")
            code |= op.BPF_X
        else:
            imm = _signed32(c.num(), "immediate")
        c.expect("goto")
        off, ref = _target(c)
        c.end()
        return Instruction(code, dst, src, _signed16(off, "offset"), imm, reference=ref)

    def _assign(self, c: _Cursor) -> Instruction:
        kind, dst = c.reg()
        alu = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
        sym = c.take()
        if sym in _ALU_BY_SYMBOL or sym in ("s/=", "s%="):
            signed = sym in ("s/=", "s%=")
            code = alu | (_ALU_BY_SYMBOL[sym[1:]] if signed else _ALU_BY_SYMBOL[sym])
            off = 1 if signed else 0
            if c.is_reg():
                skind, src = c.reg()
                if skind != kind:
                    raise _Syntax("mixed r and w registers")
                c.end()
                return Instruction(code | op.BPF_X, dst, src, off)
            imm = c.num()
            c.end()
            return Instruction(code, dst, 0, off, _signed32(imm, "immediate"))
        if sym != "=":
            raise _Syntax(f"unknown operator {sym!r}")
        nxt = c.peek()
        # rD = -rD (neg) vs rD = -IMM (mov)
        if nxt == "-" and c.is_reg(1):
            c.take()
            k2, r2 = c.reg()
            c.end()
            if r2 != dst or k2 != kind:
                raise _Syntax("neg takes the same register on both sides")
            return Instruction(alu | op.BPF_NEG, dst)
        if nxt in ("le16", "le32", "le64", "be16", "be32", "be64",
                   "bswap16", "bswap32", "bswap64"):
            c.take()
            _, r2 = c.reg()
            c.end()
            if r2 != dst:
                raise _Syntax("byte swap takes the same register on both sides")
            bits = int(nxt[-2:])
            if nxt.startswith("bswap"):
                return Instruction(op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE, dst, imm=bits)
            order = op.BPF_TO_BE if nxt.startswith("be") else op.BPF_TO_LE
            return Instruction(op.BPF_ALU | op.BPF_END | order, dst, imm=bits)
        if nxt == "(" and c.peek(1) in ("s8", "s16", "s32") and c.peek(2) == ")":
            c.take()
            bits = int(c.take()[1:])
            c.take()
            skind, src = c.reg()
            c.end()
            if skind != kind:
                raise _Syntax("mixed r and w registers")
            return Instruction(alu | op.BPF_MOV | op.BPF_X, dst, src, bits)
        if nxt == "addr_space_cast":
            c.take()
            c.expect("(")
            _, src = c.reg()
            c.expect(",")
            dst_as = c.num()
            c.expect(",")
            src_as = c.num()
            c.expect(")")
            c.end()
            return Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst, src, 1,
                               ((dst_as & 0xFFFF) << 16) | (src_as & 0xFFFF))
        if nxt == "*":
            c.take()
            c.expect("(")
            ty = c.take()
            if ty not in _SIZES:
                raise _Syntax(f"unknown access type {ty!r}")
            c.expect("*", ")")
            if c.peek() == "skb":
                c.take()
                c.expect("[")
                if dst != 0 or ty.startswith("s") or ty == "u64":
                    raise _Syntax("packet loads are r0 = *(u8/u16/u32 *)skb[...]")
                size = _SIZES[ty]
                if c.is_reg():
                    _, src = c.reg()
                    c.expect("]")
                    c.end()
                    return Instruction(op.BPF_LD | op.BPF_IND | size, 0, src)
                imm = c.num()
                c.expect("]")
                c.end()
                return Instruction(op.BPF_LD | op.BPF_ABS | size, imm=_signed32(imm, "offset"))
            base, off = _mem(c)
            c.end()
            if ty.startswith("s"):
                if kind != "r":
                    raise _Syntax("sign-extending loads write an r register")
                return Instruction(op.BPF_LDX | op.BPF_MEMSX | _SIZES[ty], dst, base, off)
            if kind == "w" and ty == "u64":
                raise _Syntax("a 64-bit load writes an r register")
            return Instruction(op.BPF_LDX | op.BPF_MEM | _SIZES[ty], dst, base, off)
        if nxt in ("atomic_fetch_add", "atomic_fetch_or", "atomic_fetch_and", "atomic_fetch_xor",
                   "load_acquire"):
            name = c.take()
            c.expect("(", "(")
            ty = c.take()
            c.expect("*", ")")
            base, off = _mem(c)
            if name == "load_acquire":
                c.expect(")")
                c.end()
                return Instruction(op.BPF_STX | op.BPF_ATOMIC | _SIZES[ty], dst, base, off,
                                   op.BPF_LOAD_ACQ)
            c.expect(",")
            _, src = c.reg()
            c.expect(")")
            c.end()
            if src != dst:
                raise _Syntax("atomic fetch returns into its source register")
            return Instruction(op.BPF_STX | op.BPF_ATOMIC | _SIZES[ty], base, src, off,
                               _ATOMIC_FETCH[name[13:]] | op.BPF_FETCH)
        if nxt in ("xchg_64", "xchg32_32", "cmpxchg_64", "cmpxchg32_32"):
            name = c.take()
            size = op.BPF_DW if name.endswith("_64") else op.BPF_W
            c.expect("(")
            base, off = _mem(c)
            c.expect(",")
            if name.startswith("cmpxchg"):
                _, r0 = c.reg()
                c.expect(",")
                if dst != 0 or r0 != 0:
                    raise _Syntax("cmpxchg compares and returns r0")
            _, src = c.reg()
            c.expect(")")
            c.end()
            if name.startswith("xchg") and src != dst:
                raise _Syntax("xchg returns into its source register")
            imm = op.BPF_CMPXCHG if name.startswith("cmpxchg") else op.BPF_XCHG
            return Instruction(op.BPF_STX | op.BPF_ATOMIC | size, base, src, off, imm)
        if c.is_reg():
            skind, src = c.reg()
            c.end()
            if skind != kind:
                raise _Syntax("mixed r and w registers")
            return Instruction(alu | op.BPF_MOV | op.BPF_X, dst, src)
        if c.is_num():
            imm = c.num()
            if c.accept("ll"):
                c.end()
                if kind != "r":
                    raise _Syntax("a 64-bit load writes an r register")
                if not -(1 << 63) <= imm < (1 << 64):
                    raise _Syntax(f"immediate {imm} does not fit 64 bits")
                imm &= (1 << 64) - 1
                return Instruction(op.LD_IMM64, dst, 0, 0, imm - (1 << 64) if imm >> 63 else imm)
            c.end()
            return Instruction(alu | op.BPF_MOV, dst, 0, 0, _signed32(imm, "immediate"))
        name = c.ident()
        c.expect("ll")
        c.end()
        if kind != "r":
            raise _Syntax("a 64-bit load writes an r register")
        return Instruction(op.LD_IMM64, dst, reference=name)


def _default_helpers(name: str) -> int | None:
    from pybpf.asm.helpers import helper_id

    try:
        return helper_id(name)
    except ImportError:  # the generated uapi module is not available
        return None


def assemble_sections(text: str, *, helpers: Callable[[str], int | None] | None = None,
                      resolve: bool = True) -> dict[str, list[Instruction]]:
    """Assemble ``text`` into ``{section name: instructions}`` (``.text`` unless the text
    names sections with ``Disassembly of section S:`` or ``.section S`` lines).

    Labels become ``symbol`` metadata; with ``resolve`` (the default) jumps and calls to labels
    of the same section get their offsets (:func:`pybpf.asm.link`). ``helpers`` maps a helper
    name to its id for ``call NAME`` (default: the kernel's helper table).
    Raises :class:`InstructionError` naming the line.
    """
    parser = _Line(helpers if helpers is not None else _default_helpers)
    sections: dict[str, list[Instruction]] = {}
    section = ".text"
    current: list[Instruction] = sections.setdefault(section, [])
    pending: list[str] = []  # labels waiting for their instruction
    trailing: dict[str, list[str]] = {}
    offsets: dict[str, list[int]] = {section: []}  # byte offset of each insn, for -r lines
    byte_pos = 0
    aliases: dict[str, dict[str, str]] = {}  # section -> extra label -> label kept
    relocated: list[tuple[Instruction, str]] = []  # (-r line's instruction, symbol)

    def place(insn: Instruction) -> None:
        nonlocal byte_pos
        if pending:
            if len(pending) > 1:
                # Several labels at one place: keep the first, alias the rest.
                for extra in pending[1:]:
                    aliases.setdefault(section, {})[extra] = pending[0]
            insn.symbol = pending[0]
            pending.clear()
        offsets[section].append(byte_pos)
        byte_pos += insn.size
        current.append(insn)

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        try:
            m = _SECTION.match(line.strip()) or _SECTION_DIRECTIVE.match(line)
            if m:
                if pending:
                    trailing.setdefault(section, []).extend(pending)
                    pending.clear()
                section = m.group("name")
                current = sections.setdefault(section, [])
                offsets.setdefault(section, [])
                byte_pos = sum(i.size for i in current)
                continue
            if line.strip().endswith("file format elf64-bpf") or (
                    _DIRECTIVE.match(line) and not _DOT_LABEL.match(line)):
                continue  # listing banner or assembler directive (.text, .globl, ...)
            m = _SYMBOL_HEADER.match(line.strip())
            if m:
                pending.append(m.group("name"))
                continue
            m = _RELOC.match(line)
            if m and not _LISTING.match(line):
                off = int(m.group("off"), 16)
                target = _insn_at(current, offsets[section], off)
                if target is None:
                    raise _Syntax(f"relocation at offset {off:#x} matches no instruction")
                # Relocations describe an unlinked object: attach after linking, so that a
                # relocated call keeps its bytes (imm -1) instead of being resolved.
                if m.group("sym"):
                    relocated.append((target, m.group("sym")))
                if target.opcode == op.CALL:
                    target.src = op.BPF_PSEUDO_CALL
                continue
            if line.lstrip().startswith(";"):
                continue  # llvm-objdump -S source line
            body = _LISTING.sub("", line, count=1)
            for mark in ("#", "//"):
                cut = body.find(mark)
                if cut >= 0:
                    body = body[:cut]
            # ';' separates statements, as in llvm-mc and inline assembly.
            for stmt in body.split(";"):
                stmt = _ANNOTATION.sub("", stmt.rstrip())
                if stmt.strip() == "<unknown>":
                    raise _Syntax("cannot assemble '<unknown>'")
                toks = _tokens(stmt)
                while len(toks) >= 2 and toks[1][1] == ":" and toks[0][0] == "id":
                    pending.append(toks[0][1])
                    toks = toks[2:]
                if toks:
                    place(parser.parse(_Cursor(toks)))
        except _Syntax as exc:
            raise InstructionError(f"{exc} in {raw.strip()!r}", line=lineno) from None
    if pending:
        trailing.setdefault(section, []).extend(pending)
    out: dict[str, list[Instruction]] = {}
    for name, insns in sections.items():
        if not insns and name == ".text" and len(sections) > 1:
            continue
        for insn in insns:
            alias = aliases.get(name, {})
            if insn.reference in alias:
                insn.reference = alias[insn.reference]
        if resolve:
            names = {i.symbol for i in insns if i.symbol} | set(trailing.get(name, []))
            _named_calls(insns, names, parser.named_calls, parser.helpers)
            link(insns, end_symbols=trailing.get(name, []))
        out[name] = insns
    for insn, sym in relocated:
        insn.reference = sym
    return out


def _insn_at(insns: list[Instruction], offsets: list[int], off: int) -> Instruction | None:
    for insn, pos in zip(reversed(insns), reversed(offsets)):
        if pos <= off < pos + insn.size:
            return insn
        if pos < off:
            break
    return None


def _named_calls(insns: list[Instruction], names: set[str], named_calls: set[int],
                 helpers: Callable[[str], int | None] | None) -> None:
    """``call NAME``: a local function if NAME is a label here, else a helper by name."""
    for pos, insn in enumerate(insns):
        if id(insn) not in named_calls or insn.reference in names:
            continue
        hid = helpers(insn.reference) if helpers and insn.reference else None
        if hid is None:
            raise InstructionError(f"call to unknown function or helper {insn.reference!r}",
                                   offset=sum(i.size for i in insns[:pos]))
        insn.src = 0
        insn.imm = hid
        insn.reference = None


def assemble(text: str, *, helpers: Callable[[str], int | None] | None = None,
             resolve: bool = True) -> list[Instruction]:
    """Assemble ``text`` (one section) into instructions; see :func:`assemble_sections`."""
    sections = assemble_sections(text, helpers=helpers, resolve=resolve)
    if len(sections) != 1:
        raise InstructionError(f"text has {len(sections)} sections ({', '.join(sections)}); "
                               "use assemble_sections()")
    return next(iter(sections.values()))


def assemble_bytes(text: str, byteorder: ByteOrder = "little") -> bytes:
    """Assemble one section of ``text`` and encode it."""
    return encode(assemble(text), byteorder)
