"""``pybpf asm FILE [-o OUT] [section S] [big-endian]``: assemble llvm BPF syntax.

FILE (``-`` for standard input) holds instructions in the syntax llvm-objdump prints and
llvm-mc accepts, or a whole ``llvm-objdump -d``/``pybpf object disasm`` listing. Without
``-o`` the result is listed the way ``llvm-objdump -d -r`` would show it (labels as
symbols, references to names the loader resolves as relocations);
with ``-o OUT`` the raw instruction bytes of the section are written to OUT, ready for
BPF_PROG_LOAD. ``-j`` prints the sections as JSON.
"""

from __future__ import annotations

import sys

from pybpf.asm import Relocation, Symbol, assemble_sections, disassemble_section, encode
from pybpf.cli.common import CLIError, Context, is_prefix

__all__ = ["run"]

USAGE = """Usage: pybpf asm FILE [-o OUT] [section NAME] [big-endian]
       FILE := llvm BPF assembly or an llvm-objdump listing ('-' for stdin)
"""


def run(ctx: Context, args: list[str]) -> int:
    if not args or args[0] in ("help", "-h", "--help"):
        ctx.out.write(USAGE)
        return 0
    path: str | None = None
    out_path: str | None = None
    section: str | None = None
    byteorder = "little"
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "--output"):
            if i + 1 >= len(args):
                raise CLIError("-o needs a file name")
            out_path = args[i + 1]
            i += 2
            continue
        if is_prefix(a, "section") and len(a) > 1:
            if i + 1 >= len(args):
                raise CLIError("section needs a name")
            section = args[i + 1]
            i += 2
            continue
        if a in ("big-endian", "--big-endian"):
            byteorder = "big"
        elif path is None:
            path = a
        else:
            raise CLIError(f"unexpected argument '{a}'")
        i += 1
    if path is None:
        raise CLIError("expected a FILE to assemble")
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a text file") from None
    sections = assemble_sections(text)
    if section is not None:
        if section not in sections:
            raise CLIError(f"no section '{section}' in {path} (have: {', '.join(sections)})")
        sections = {section: sections[section]}
    if out_path is not None:
        if len(sections) != 1:
            raise CLIError(f"{path} has {len(sections)} sections ({', '.join(sections)}); "
                           "choose one with 'section NAME'")
        data = encode(next(iter(sections.values())), byteorder)  # type: ignore[arg-type]
        try:
            with open(out_path, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise CLIError(f"cannot write {out_path}: {exc.strerror}") from None
        return 0
    if ctx.json:
        ctx.emit_json([_json(name, insns, byteorder) for name, insns in sections.items()])
        return 0
    for name, insns in sections.items():
        data = encode(insns, byteorder)  # type: ignore[arg-type]
        symbols, pos = [], 0
        for insn in insns:
            if insn.symbol:
                symbols.append(Symbol(insn.symbol, pos))
            pos += insn.size
        local = {s.name for s in symbols}
        # Names the loader resolves (maps, variables, functions elsewhere) are shown as the
        # relocations an object file would carry, as llvm-objdump -r shows them.
        relocs, pos = [], 0
        for insn in insns:
            if insn.reference and insn.reference not in local:
                kind = "R_BPF_64_64" if insn.is_ld_imm64 else "R_BPF_64_32"
                relocs.append(Relocation(pos, kind, insn.reference))
            pos += insn.size
        ctx.out.write(disassemble_section(name, data, symbols, byteorder=byteorder, alu32=True,
                                          relocations=relocs, zeroes=True))
    return 0


def _json(name: str, insns: list, byteorder: str) -> dict:  # type: ignore[type-arg]
    from pybpf.asm import format_instruction

    rows = []
    pos = 0
    for insn in insns:
        raw = encode([insn], byteorder)  # type: ignore[arg-type]
        row = {"offset": pos, "bytes": raw.hex(), "text": format_instruction(insn, alu32=True)}
        if insn.symbol:
            row["symbol"] = insn.symbol
        if insn.reference:
            row["reference"] = insn.reference
        rows.append(row)
        pos += insn.size
    return {"section": name, "size": pos, "insns": rows}
