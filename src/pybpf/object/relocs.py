"""ELF relocations of program code, classified as libbpf's ``bpf_program__record_reloc()`` does.

Each relocation of an executable section becomes a :class:`Reloc` of the program that holds the
instruction, with the instruction index in that program's own frame:

==============  ===========================================================================
kind            what the instruction is / refers to
==============  ===========================================================================
LD64            ``ld_imm64`` of a map in ``.maps`` (becomes ``BPF_PSEUDO_MAP_FD``)
DATA            ``ld_imm64`` of a global variable (``BPF_PSEUDO_MAP_VALUE`` + offset)
CALL            BPF-to-BPF call into ``.text`` (``BPF_PSEUDO_CALL``)
SUBPROG_ADDR    ``ld_imm64`` of a ``.text`` function's address (callback, ``BPF_PSEUDO_FUNC``)
EXTERN_LD64     ``ld_imm64`` of a ``__kconfig``/``__ksym`` extern
EXTERN_CALL     call of a kfunc (``BPF_PSEUDO_KFUNC_CALL``)
==============  ===========================================================================

Map relocations of ``.maps`` itself (prog-array and map-in-map initial slots) are handled by
:func:`map_slots`.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from pybpf.errors import ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.elf import Symbol
    from pybpf.object.elfobj import ElfObject
    from pybpf.object.externs import ExternSpec
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec

__all__ = ["Reloc", "collect_relocations", "map_slots", "LD64", "CALL", "DATA", "EXTERN_LD64",
           "EXTERN_CALL", "SUBPROG_ADDR", "RELOC_NAMES"]

LD64, CALL, DATA, EXTERN_LD64, EXTERN_CALL, SUBPROG_ADDR = range(6)
RELOC_NAMES = {LD64: "map", CALL: "call", DATA: "data", EXTERN_LD64: "extern",
               EXTERN_CALL: "kfunc", SUBPROG_ADDR: "func_addr"}

_INSN = struct.Struct("<BBhi")
_LD_IMM64 = 0x18
_CALL = 0x85
_PSEUDO_CALL = 1
_STT_FUNC, _STT_SECTION = 2, 3
_STB_LOCAL, _STB_GLOBAL = 0, 1
_SHN_LORESERVE = 0xFF00
_SHN_XINDEX = 0xFFFF


class Reloc(NamedTuple):
    """One relocation of a program (see the module docstring).

    ``insn`` is the instruction index within the program; ``map_index`` indexes the object's
    maps (LD64, DATA); ``sym_off`` is the symbol's offset (DATA: within the section; CALL /
    SUBPROG_ADDR: the callee's byte offset in ``.text``); ``extern_index`` indexes the
    object's externs; ``symbol`` names the target for messages and dumps.
    """

    kind: int
    insn: int
    map_index: int = -1
    sym_off: int = 0
    extern_index: int = -1
    symbol: str = ""

    @property
    def kind_name(self) -> str:
        return RELOC_NAMES.get(self.kind, str(self.kind))


def _find_program(programs: "list[ProgramSpec]", sec_idx: int, insn_idx: int) -> "ProgramSpec | None":
    for p in programs:
        if p.section_index == sec_idx and p.insn_offset <= insn_idx < p.insn_offset + p.insn_count:
            return p
    return None


def collect_relocations(elf: "ElfObject", programs: "list[ProgramSpec]", maps: "list[MapSpec]",
                        externs: "list[ExternSpec]", where: str) -> None:
    """Classify every program relocation and store it in ``program.relocations`` (sorted)."""
    symbols = elf.symbols
    nsec = len(elf.section_names) + 1
    by_section: dict[int, list[ProgramSpec]] = {}
    for p in programs:
        by_section.setdefault(p.section_index, []).append(p)
    ext_by_sym = {e.symbol_index: i for i, e in enumerate(externs)}
    for sec_idx, entries in elf.prog_relocations:
        sec_name = elf.section_names.get(sec_idx, "?")
        rel_name = f".rel{sec_name}"
        sec_size = elf.section_sizes.get(sec_idx, 0)
        progs = by_section.get(sec_idx, [])
        for i, (offset, _rtype, sym_idx) in enumerate(entries):
            if not 0 <= sym_idx < len(symbols):
                raise ObjectError(f"{where}: sec '{rel_name}': symbol #{sym_idx} not found for relo #{i}")
            sym = symbols[sym_idx]
            shndx = sym.shndx
            if shndx == _SHN_XINDEX and sym.section_index is not None:
                shndx = sym.section_index
            if shndx >= nsec:
                raise ObjectError(f"{where}: sec '{rel_name}': corrupted symbol #{sym_idx} '{sym.name}' "
                                  f"pointing to invalid section #{shndx} for relo #{i}")
            if offset % 8 or offset >= sec_size:
                raise ObjectError(f"{where}: sec '{rel_name}': invalid offset 0x{offset:x} for relo #{i} "
                                  f"(section '{sec_name}' is {sec_size} bytes)")
            insn_idx = offset // 8
            if sym.type == _STT_SECTION and not sym.name:
                sym_name = elf.section_names.get(shndx, "<?>")
            else:
                sym_name = sym.name or "<?>"
            prog = _find_program(progs, sec_idx, insn_idx)
            if prog is None:
                continue  # libbpf: probably an overridden weak function
            local = insn_idx - prog.insn_offset
            prog.relocations.append(_record(prog, local, sym_name, sym, sym_idx, shndx, elf, maps,
                                            ext_by_sym, where))
    for p in programs:
        if len(p.relocations) > 1:
            p.relocations.sort(key=lambda r: (r.insn, r.kind))


def _record(prog: "ProgramSpec", insn_idx: int, sym_name: str, sym: "Symbol", sym_idx: int, shndx: int,
            elf: "ElfObject", maps: "list[MapSpec]", ext_by_sym: dict[int, int], where: str) -> Reloc:
    code, regs, _off, imm = _INSN.unpack_from(prog.insns, insn_idx * 8)
    src = regs >> 4
    pname = prog.name
    is_call = code == _CALL
    if not is_call and code != _LD_IMM64:
        raise ObjectError(f"{where}: prog '{pname}': invalid relo against '{sym_name}' for insns[{insn_idx}]"
                          f".code 0x{code:x} (only ld_imm64 and call instructions can be relocated)")
    if sym.shndx == 0 and sym.bind in (1, 2) and sym.type == 0:  # extern
        ext = ext_by_sym.get(sym_idx)
        if ext is None:
            raise ObjectError(f"{where}: prog '{pname}': extern relo failed to find extern for "
                              f"'{sym_name}' ({sym_idx})")
        return Reloc(EXTERN_CALL if is_call else EXTERN_LD64, insn_idx, extern_index=ext, symbol=sym_name)
    if is_call:
        if src != _PSEUDO_CALL:
            raise ObjectError(f"{where}: prog '{pname}': incorrect bpf_call opcode at insn #{insn_idx} "
                              f"(relocation against '{sym_name}' on a helper call)")
        if not shndx or shndx != elf.text_index:
            raise ObjectError(f"{where}: prog '{pname}': bad call relo against '{sym_name}' in section "
                              f"'{elf.section_names.get(shndx, '?')}' (subprograms must be in .text)")
        if sym.value % 8:
            raise ObjectError(f"{where}: prog '{pname}': bad call relo against '{sym_name}' at offset "
                              f"{sym.value}")
        return Reloc(CALL, insn_idx, sym_off=sym.value, symbol=sym_name)
    if not shndx or shndx >= _SHN_LORESERVE:
        raise ObjectError(f"{where}: prog '{pname}': invalid relo against '{sym_name}' in special section "
                          f"0x{shndx:x}; forgot to initialize global var?..")
    if shndx == elf.text_index and ((sym.bind == _STB_LOCAL and sym.type == _STT_SECTION)
                                    or (sym.bind == _STB_GLOBAL and sym.type == _STT_FUNC)):
        if sym.value % 8 or imm % 8:
            raise ObjectError(f"{where}: prog '{pname}': bad subprog addr relo against '{sym_name}' at "
                              f"offset {sym.value}+{imm}")
        return Reloc(SUBPROG_ADDR, insn_idx, sym_off=sym.value, symbol=sym_name)
    kind = "kconfig" if shndx == elf.symbols_index else elf.section_kinds.get(shndx)
    sec_name = elf.section_names.get(shndx, "?")
    if kind is None:
        if shndx != elf.maps_index:
            raise ObjectError(f"{where}: prog '{pname}': bad map relo against '{sym_name}' in section "
                              f"'{sec_name}'")
        for mi, mp in enumerate(maps):
            if mp.kind == "user" and mp.section_index == shndx and mp.section_offset == sym.value:
                return Reloc(LD64, insn_idx, map_index=mi, symbol=mp.name)
        raise ObjectError(f"{where}: prog '{pname}': map relo failed to find map for section '{sec_name}', "
                          f"off {sym.value}")
    if kind == "kconfig":
        raise ObjectError(f"{where}: prog '{pname}': bad data relo against section '{sec_name}'")
    for mi, mp in enumerate(maps):
        if mp.kind == kind and mp.section_index == shndx:
            return Reloc(DATA, insn_idx, map_index=mi, sym_off=sym.value, symbol=sym_name)
    raise ObjectError(f"{where}: prog '{pname}': data relo failed to find map for section '{sec_name}'")


def map_slots(elf: "ElfObject", maps: "list[MapSpec]", btf: "BTF", find_program: "Callable[[str], Any]",
              where: str) -> None:
    """libbpf's bpf_object__collect_map_relos(): initial prog-array / map-in-map slots."""
    from pybpf.btf import Kind
    from pybpf.btf.model import Datasec, Var

    if not elf.maps_relocations:
        return
    sec_ids = btf.find(".maps", Kind.DATASEC)
    if not sec_ids:
        raise ObjectError(f"{where}: .rel.maps without a BTF DATASEC '.maps'")
    sec = btf[min(sec_ids)]
    if not isinstance(sec, Datasec):
        raise ObjectError(f"{where}: BTF [{min(sec_ids)}] '.maps' is not a DATASEC")
    symbols = elf.symbols
    user = [(i, mp) for i, mp in enumerate(maps) if mp.kind == "user"]
    for i, (offset, sym_idx) in enumerate(elf.maps_relocations):
        if not 0 <= sym_idx < len(symbols):
            raise ObjectError(f"{where}: .maps relo #{i}: symbol {sym_idx:x} not found")
        sym = symbols[sym_idx]
        name = sym.name or "<?>"
        owner = None
        vi = None
        for _, mp in user:
            vi = sec.vars[mp.btf_var_index]
            if vi.offset <= offset and offset + 8 <= vi.offset + vi.size:
                owner = mp
                break
        if owner is None or vi is None:
            raise ObjectError(f"{where}: .maps relo #{i}: cannot find map '{name}' at rel->r_offset {offset}")
        from pybpf.object.maps import MAP_IN_MAP, MAP_TYPE_HASH_OF_MAPS, MAP_TYPE_PROG_ARRAY

        if owner.type in MAP_IN_MAP:
            if sym.section_index != elf.maps_index:
                raise ObjectError(f"{where}: .maps relo #{i}: '{name}' isn't a BTF-defined map")
            if owner.type == MAP_TYPE_HASH_OF_MAPS and owner.key_size != 4:
                raise ObjectError(f"{where}: .maps relo #{i}: hash-of-maps '{owner.name}' should have "
                                  "key size 4")
            if not any(mp.name == name for _, mp in user):
                raise ObjectError(f"{where}: .maps relo #{i}: '{name}' isn't a valid map reference")
        elif owner.type == MAP_TYPE_PROG_ARRAY:
            prog = find_program(name)
            if prog is None:
                raise ObjectError(f"{where}: .maps relo #{i}: '{name}' isn't a valid program reference")
            if (prog.section_index != sym.section_index or prog.insn_offset * 8 != sym.value):
                raise ObjectError(f"{where}: .maps relo #{i}: '{name}' isn't an entry-point program")
        else:
            raise ObjectError(f"{where}: .maps relo #{i} in map '{owner.name}': only prog-array and "
                              "map-in-map maps have initial values")
        var = btf[vi.type]
        if not isinstance(var, Var):
            raise ObjectError(f"{where}: .maps relo #{i}: map '{owner.name}': DATASEC '.maps' entry "
                              f"[{vi.type}] is not a VAR")
        def_t = btf[btf.skip_mods_and_typedefs(var.type)]
        members = getattr(def_t, "members", ())
        if not members or members[-1].name != "values":
            raise ObjectError(f"{where}: .maps relo #{i}: map '{owner.name}' has no 'values' member last")
        moff = members[-1].bit_offset // 8
        if offset - vi.offset < moff:
            raise ObjectError(f"{where}: .maps relo #{i}: offset {offset} is before 'values' of "
                              f"map '{owner.name}'")
        slot_off = offset - vi.offset - moff
        if slot_off % 8:
            raise ObjectError(f"{where}: .maps relo #{i}: misaligned slot in map '{owner.name}'")
        owner.init_slots[slot_off // 8] = name
