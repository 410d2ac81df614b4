"""``pybpf object {disasm | dump | core | help} OBJ ...``: look inside BPF object files without loading them.

``disasm`` prints what ``llvm-objdump -d`` prints for every executable section (``-S`` adds
source lines from ``.BTF.ext`` line info, ``-r`` relocations). Other subcommands (``dump``,
``core``) are added to :data:`COMMANDS` by their modules.
"""

from __future__ import annotations

from typing import Any

from pybpf.cli.common import CLIError, Context, Handler, dispatch

__all__ = ["run", "COMMANDS", "disassemble_object"]

USAGE = """Usage: pybpf object disasm OBJ [section NAME]... [-S|source] [-r|reloc] [mcpu CPU] [-z]
       pybpf object dump OBJ
       pybpf object core OBJ [kernel_btf FILE]
       pybpf object help

       CPU := { generic | v1 | v2 | v3 | v4 }   (as llvm-objdump --mcpu; v3+ shows w registers)
"""


def _help(ctx: Context, args: list[str]) -> int:
    ctx.out.write(USAGE)
    return 0


def _disasm(ctx: Context, args: list[str]) -> int:
    if not args:
        raise CLIError("expected an object file")
    path = args[0]
    sections: list[str] = []
    opts: dict[str, Any] = {"source": False, "relocs": False, "mcpu": "generic", "zeroes": False}
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("section", "--section", "-s") or a.startswith("--section="):
            if "=" in a:
                sections.append(a.split("=", 1)[1])
                i += 1
                continue
            if i + 1 >= len(args):
                raise CLIError(f"{a} needs a section name")
            sections.append(args[i + 1])
            i += 2
            continue
        if a in ("mcpu", "--mcpu") or a.startswith("--mcpu="):
            if "=" in a:
                cpu = a.split("=", 1)[1]
            else:
                if i + 1 >= len(args):
                    raise CLIError(f"{a} needs a cpu name")
                cpu = args[i + 1]
                i += 1
            if cpu not in ("generic", "probe", "v1", "v2", "v3", "v4"):
                raise CLIError(f"unknown cpu '{cpu}' (want generic, v1, v2, v3 or v4)")
            opts["mcpu"] = cpu
        elif a in ("-S", "--source", "source"):
            opts["source"] = True
        elif a in ("-r", "--reloc", "reloc"):
            opts["relocs"] = True
        elif a in ("-z", "--disassemble-zeroes", "zeroes"):
            opts["zeroes"] = True
        else:
            raise CLIError(f"unexpected argument '{a}'")
        i += 1
    if ctx.json:
        ctx.emit_json(disassemble_object(path, sections=sections or None, as_json=True, **opts))
    else:
        ctx.out.write(disassemble_object(path, sections=sections or None, **opts))
    return 0


def _dump(ctx: Context, args: list[str]) -> int:
    from pybpf.cli.object_info import do_dump

    return do_dump(ctx, args)


def _core(ctx: Context, args: list[str]) -> int:
    from pybpf.cli.object_info import do_core

    return do_core(ctx, args)


#: subcommand -> handler; ``dump`` and ``core`` live in :mod:`pybpf.cli.object_info`.
COMMANDS: dict[str, Handler] = {
    "disasm": _disasm,
    "dump": _dump,
    "core": _core,
    "help": _help,
}


def run(ctx: Context, args: list[str]) -> int:
    return dispatch(ctx, args, COMMANDS, "object")


def _line_map(elf: Any, name: str) -> dict[int, Any]:
    """Byte offset -> asm LineInfo for section ``name`` from ``.BTF.ext`` (empty if none)."""
    from pybpf.asm import LineInfo
    from pybpf.btf import BTF
    from pybpf.btf.ext import BTFExt

    btf_sec = elf.section_by_name(".BTF")
    ext_sec = elf.section_by_name(".BTF.ext")
    if btf_sec is None or ext_sec is None:
        return {}
    btf = BTF.parse(bytes(btf_sec.data))
    ext = BTFExt.parse(bytes(ext_sec.data), btf)
    out = {}
    for rec in ext.line_info.get(name, ()):
        # Several records at one offset: the last one describes the instruction.
        out[rec.insn_off] = LineInfo(rec.file_name, rec.line, rec.col, rec.line_text)
    return out


def disassemble_object(path: str, *, sections: list[str] | None = None, source: bool = False,
                       relocs: bool = False, mcpu: str = "generic", zeroes: bool = False,
                       as_json: bool = False) -> Any:
    """``llvm-objdump -d [-S] [-r] [--mcpu=CPU] [-z] [-j S]...`` of the object at ``path``.

    Returns the text, or with ``as_json`` a list of sections with their instructions.
    """
    from pybpf.asm import Relocation, Symbol, disassemble_section, objdump_header
    from pybpf.elf import ELFFile
    from pybpf.elf.constants import (SHF_EXECINSTR, SHT_NOBITS, SHT_REL, SHT_RELA, STT_SECTION,
                                     relocation_type_name)

    alu32 = mcpu in ("v3", "v4")
    with ELFFile.open(path) as elf:
        secs = []
        if sections:
            for name in sections:
                sec = elf.section_by_name(name)
                if sec is None:
                    raise CLIError(f"{path}: no section named '{name}'")
                secs.append(sec)
            secs.sort(key=lambda s: s.index)
        else:
            secs = [s for s in elf.sections if s.flags & SHF_EXECINSTR and s.type != SHT_NOBITS]
        by_section: dict[int, list[Any]] = {}
        for sym in elf.symbols():
            if sym.section_index is not None:
                by_section.setdefault(sym.section_index, []).append(sym)
        rels: dict[int, list[Any]] = {}
        if relocs or as_json:
            for rs in elf.relocation_sections():
                if rs.section.type not in (SHT_REL, SHT_RELA) or rs.target is None:
                    continue
                for r in rs:
                    sym = rs.symbols[r.symbol_index] if rs.symbols is not None else None
                    name = ""
                    if sym is not None:
                        name = sym.name
                        if sym.type == STT_SECTION and sym.section_index is not None:
                            name = elf.sections[sym.section_index].name
                    rels.setdefault(rs.target.index, []).append(
                        Relocation(r.offset, relocation_type_name(elf.machine, r.type), name))
        out_text = [objdump_header(path)]
        out_json = []
        for sec in secs:
            data = bytes(sec.data)
            symbols = [Symbol(s.name, s.value, s.type) for s in by_section.get(sec.index, ())]
            lines = _line_map(elf, sec.name) if source else None
            if as_json:
                out_json.append(_section_json(sec.name, data, symbols, elf.byteorder, alu32,
                                              lines or {}, rels.get(sec.index, [])))
                continue
            out_text.append(disassemble_section(
                sec.name, data, symbols, byteorder=elf.byteorder, alu32=alu32,
                lines=lines if source else None,
                relocations=rels.get(sec.index, []) if relocs else None,
                zeroes=zeroes, text_section=bool(sec.flags & SHF_EXECINSTR)))
    return out_json if as_json else "".join(out_text)


def _section_json(name: str, data: bytes, symbols: list[Any], byteorder: str, alu32: bool,
                  lines: dict[int, Any], relocs: list[Any]) -> dict[str, Any]:
    from pybpf.asm import decode, format_instruction

    insns = decode(data[:len(data) - len(data) % 8], byteorder, strict=False)  # type: ignore[arg-type]
    names = {}
    for s in sorted(symbols, key=lambda s: (s.value, s.name)):
        if s.name and s.type not in (3, 4):
            names.setdefault(s.value, s.name)
    rel_at = {r.offset: r for r in relocs}
    rows = []
    pos = 0
    for insn in insns:
        row: dict[str, Any] = {"offset": pos, "index": pos // 8,
                               "bytes": data[pos:pos + insn.size].hex(),
                               "text": format_instruction(insn, alu32=alu32)}
        if pos in names:
            row["symbol"] = names[pos]
        if pos in lines:
            li = lines[pos]
            row["source"] = {"file": li.file, "line": li.line, "column": li.column,
                             "text": li.text}
        if pos in rel_at:
            row["relocation"] = {"type": rel_at[pos].type, "symbol": rel_at[pos].symbol}
        rows.append(row)
        pos += insn.size
    return {"name": name, "size": len(data), "insns": rows}
