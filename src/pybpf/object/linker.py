"""Linking an object's programs into what the kernel gets, as libbpf's ``bpf_object__relocate()``.

For every entry program that will be loaded:

1. **CO-RE** (:meth:`Linker.apply_core`): every ``.BTF.ext`` CO-RE record, in file order, is
   resolved by one :class:`pybpf.core.Relocator` and patched into the instructions of the
   (sub)program holding it; records of programs that are not loaded are skipped, as libbpf does.
2. **Calls and callbacks** (:meth:`Linker.link`): starting from the entry program, every
   BPF-to-BPF call and every ``ld_imm64`` of a function address (marked ``BPF_PSEUDO_FUNC``)
   pulls the called ``.text`` function in: it is appended at the end of the program (the first
   time it is met, depth first, exactly libbpf's order) and the instruction's ``imm`` is made
   relative to where it landed. An ``exception_callback:<name>`` declaration tag appends that
   callback too. The appended functions' relocations and CO-RE records follow them.
3. **func_info / line_info**: the ``.BTF.ext`` records of each piece, re-based to instruction
   indices in the linked program (libbpf's ``adjust_prog_btf_ext_info()``).
4. **Data** (:func:`apply_data`, at load time, when map descriptors exist): map references
   become ``BPF_PSEUDO_MAP_FD``, global variables ``BPF_PSEUDO_MAP_VALUE`` + offset, externs
   their kconfig map offset / kernel BTF id / kallsyms address, kfunc calls
   ``BPF_PSEUDO_KFUNC_CALL`` (BTF id 0 for an unresolved weak kfunc, as libbpf 1.1 does);
   references to maps that are not created are poisoned the way libbpf poisons them.
"""

from __future__ import annotations

import struct
from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pybpf.errors import CORERelocationError, ObjectError
from pybpf.object.relocs import CALL, DATA, EXTERN_CALL, EXTERN_LD64, LD64, SUBPROG_ADDR, Reloc

if TYPE_CHECKING:
    from pybpf.core import Explanation
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.spec import ObjectSpec

__all__ = ["Linker", "LinkedProgram", "CoreRecord", "ExternValue", "apply_data", "explain_core",
           "POISON_LDIMM64_MAP_BASE", "POISON_CALL_KFUNC_BASE"]

_INSN = struct.Struct("<BBhi")
_IMM = struct.Struct("<i")
_LD_IMM64 = 0x18
_CALL = 0x85
_PSEUDO_MAP_FD, _PSEUDO_MAP_VALUE, _PSEUDO_BTF_ID, _PSEUDO_FUNC = 1, 2, 3, 4
_PSEUDO_CALL, _PSEUDO_KFUNC_CALL = 1, 2
#: libbpf's poison constants: ``call unknown#2001000000 + map index`` for a reference to a map
#: that is not created, ``2002000000 + extern index`` for an unresolved weak kfunc.
POISON_LDIMM64_MAP_BASE = 2001000000
POISON_CALL_KFUNC_BASE = 2002000000


def _s32(v: int) -> int:
    return (v + 0x80000000) % 0x100000000 - 0x80000000


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


class CoreRecord(Record, frozen=False):
    """A CO-RE relocation applied to an instruction of a linked program."""

    prog: str
    relo_idx: int
    relo: Any
    explanation: "Explanation | None" = None


class LinkedProgram(Record, frozen=False):
    """An entry program with its subprograms appended and calls resolved (see the module docs).

    ``relocs`` are the data relocations still to apply, with instruction indices in the linked
    program; ``core`` maps instruction index -> :class:`CoreRecord`; ``func_info`` /
    ``line_info`` are kernel-form records (instruction index, ...) or None when the object has
    none for this program.
    """

    spec: "ProgramSpec"
    insns: bytearray
    relocs: list[Reloc] = field_spec(default_factory=list)
    core: dict[int, CoreRecord] = field_spec(default_factory=dict)
    func_info: list[tuple[int, int]] | None = None
    func_info_rec_size: int = 8
    line_info: list[tuple[int, int, int, int]] | None = None
    line_info_rec_size: int = 16
    subprograms: list[str] = field_spec(default_factory=list)
    exception_callback: str | None = None
    warnings: list[str] = field_spec(default_factory=list)
    #: the extern values this program was linked with (set by ObjectSpec.link)
    externs: "list[ExternValue]" = field_spec(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def core_explanations(self) -> "list[Explanation]":
        """The CO-RE explanations of this program's relocations, in instruction order."""
        return [rec.explanation for _, rec in sorted(self.core.items()) if rec.explanation is not None]

    def func_info_bytes(self) -> bytes:
        if not self.func_info:
            return b""
        pad = bytes(max(0, self.func_info_rec_size - 8))
        return b"".join(struct.pack("<II", off, tid) + pad for off, tid in self.func_info)

    def line_info_bytes(self) -> bytes:
        if not self.line_info:
            return b""
        pad = bytes(max(0, self.line_info_rec_size - 16))
        return b"".join(struct.pack("<IIII", *rec) + pad for rec in self.line_info)


class ExternValue(Record, frozen=False):
    """An extern's value at load time (what libbpf keeps in ``struct extern_desc``)."""

    is_set: bool = False
    addr: int = 0
    kernel_btf_id: int = 0
    btf_obj_fd: int = 0
    fd_array_index: int = 0


class _Slice:
    """What :class:`pybpf.core.Relocator` patches: a program's own instructions."""

    __slots__ = ("name", "insns", "first_insn")

    def __init__(self, name: str, insns: bytearray, first_insn: int) -> None:
        self.name = name
        self.insns = insns
        self.first_insn = first_insn


class Linker:
    """Links the programs of one object load (see the module docstring).

    Works on copies of the programs' instructions: the :class:`ObjectSpec` is left untouched.
    """

    def __init__(self, spec: "ObjectSpec", *, decl_tags: bool = True,
                 loads: "Callable[[ProgramSpec], bool] | None" = None) -> None:
        self.spec = spec
        #: whether a program is loaded (default: its autoload; struct_ops maps can decide)
        self.loads: Callable[[ProgramSpec], bool] = loads or (lambda p: p.autoload)
        self.programs = spec.all_programs
        self.work: dict[int, bytearray] = {id(p): bytearray(p.insns) for p in self.programs}
        self.core_records: dict[int, list[tuple[int, CoreRecord]]] = {}
        self.explanations: list[Explanation] = []
        self.decl_tags = decl_tags
        by_sec: dict[int, list[ProgramSpec]] = {}
        for p in self.programs:
            by_sec.setdefault(p.section_index, []).append(p)
        self._by_section = by_sec
        self._relo_at: dict[int, dict[int, Reloc]] = {}
        self._candidates: dict[int, list[int]] = {}
        self._exception_cbs: dict[str, str] | None = None

    # ------------------------------------------------------------------ lookups
    def find(self, section_index: int | None, insn_idx: int) -> "ProgramSpec | None":
        """The program holding instruction ``insn_idx`` of a section (find_prog_by_sec_insn)."""
        if section_index is None:
            return None
        for p in self._by_section.get(section_index, ()):
            if p.insn_offset <= insn_idx < p.insn_offset + p.insn_count:
                return p
        return None

    def _relocs_at(self, prog: "ProgramSpec") -> dict[int, Reloc]:
        table = self._relo_at.get(id(prog))
        if table is None:
            table = {}
            for r in prog.relocations:
                table.setdefault(r.insn, r)
            self._relo_at[id(prog)] = table
        return table

    def _call_sites(self, prog: "ProgramSpec") -> list[int]:
        """Indices of the program's call and ld_imm64 instructions (what linking looks at)."""
        sites = self._candidates.get(id(prog))
        if sites is None:
            codes = bytes(self.work[id(prog)][0::8])
            sites = [i for i, code in enumerate(codes) if code == _CALL or code == _LD_IMM64]
            self._candidates[id(prog)] = sites
        return sites

    # ------------------------------------------------------------------ CO-RE
    def core_sections(self) -> list[tuple[str, list[Any]]]:
        ext = self.spec.btf_ext
        if ext is None:
            return []
        return [(name, recs) for name, recs in ext.core_relos.items() if recs]

    def apply_core(self, targets: list[Any], modules: Callable[[], Iterable[Any]] | None = None, *,
                   explain: bool = False, all_programs: bool = False) -> list["Explanation"]:
        """Run every CO-RE relocation in ``.BTF.ext`` order (see the module docstring).

        Raises :class:`CORERelocationError` naming the program and relocation on the first
        failure (unless ``explain``: then every relocation is explained, none raises).
        """
        sections = self.core_sections()
        if not sections:
            return []
        from pybpf.core import Relocator

        spec = self.spec
        assert spec.btf is not None
        reloc = Relocator(spec.btf, targets, modules=modules)
        out: list[Explanation] = []
        for sec_name, records in sections:
            sec_idx = spec.section_index(sec_name)
            for relo_idx, relo in enumerate(records):
                prog = self.find(sec_idx, relo.insn_off // 8)
                if prog is None and relo.insn_off % 8 == 0:
                    continue   # e.g. an eliminated weak subprogram: libbpf skips it
                if prog is not None and not self.loads(prog) and not all_programs:
                    continue   # not loaded: not relocated
                name = prog.name if prog is not None else ""
                insns = self.work[id(prog)] if prog is not None else bytearray()
                insn_idx = relo.insn_off // 8 - (prog.insn_offset if prog is not None else 0)
                if explain:   # patch this linker's copies as a load would, never raise
                    try:
                        expl = reloc.relocate(insns, relo, prog_name=name, relo_idx=relo_idx,
                                              insn_idx=insn_idx)
                    except CORERelocationError as exc:
                        expl = exc.explanation  # type: ignore[attr-defined]
                else:
                    try:
                        expl = reloc.relocate(insns, relo, prog_name=name, relo_idx=relo_idx,
                                              insn_idx=insn_idx)
                    except CORERelocationError as exc:
                        raise CORERelocationError(
                            f"{spec.path or spec.name}: failed to perform CO-RE relocations: "
                            f"{exc.message}") from None
                out.append(expl)
                if prog is not None:
                    self.core_records.setdefault(id(prog), []).append(
                        (insn_idx, CoreRecord(name, relo_idx, relo, expl)))
        self.explanations = out
        return out

    # ------------------------------------------------------------------ calls
    def mark_pseudo_funcs(self) -> None:
        """Mark ``ld_imm64`` of function addresses ``BPF_PSEUDO_FUNC`` (before linking calls)."""
        for p in self.programs:
            buf = self.work[id(p)]
            for r in p.relocations:
                if r.kind == SUBPROG_ADDR:
                    pos = r.insn * 8 + 1
                    buf[pos] = (buf[pos] & 0x0F) | (_PSEUDO_FUNC << 4)

    def exception_callbacks(self) -> dict[str, str]:
        """Entry program name -> exception callback subprogram name (``exception_callback:``
        declaration tags, libbpf 1.3+), validated as libbpf validates them."""
        if self._exception_cbs is not None:
            return self._exception_cbs
        out: dict[str, str] = {}
        btf = self.spec.btf
        if btf is None or not self.decl_tags:
            self._exception_cbs = out
            return out
        from pybpf.btf import Kind
        from pybpf.btf import model as m

        tags = []
        for tid in range(1, len(btf)):
            if btf.kind_of(tid) == Kind.DECL_TAG:
                t = btf[tid]
                if t.component_idx == -1 and t.name.startswith("exception_callback:"):  # type: ignore[attr-defined]
                    tags.append(t)
        if not tags:
            self._exception_cbs = out
            return out
        where = self.spec.path or self.spec.name
        for prog in self.programs:
            if prog.is_subprog:
                continue
            found: str | None = None
            for tag in tags:
                target = btf[tag.type]  # type: ignore[attr-defined]
                if not isinstance(target, m.Func) or target.linkage != m.Linkage.GLOBAL:
                    raise ObjectError(f"{where}: prog '{prog.name}': exception_callback:<value> decl tag "
                                      "not applied to the main program")
                if target.name != prog.name:
                    continue
                if found is not None:   # several: the verifier will complain; libbpf appends none
                    found = None
                    break
                cb = tag.name[len("exception_callback:"):]
                if not cb:
                    raise ObjectError(f"{where}: prog '{prog.name}': exception_callback:<value> decl tag "
                                      "contains empty value")
                matches = [p for p in self.programs if p.is_subprog and p.name == cb]
                if not matches:
                    raise ObjectError(f"{where}: prog '{prog.name}': cannot find exception callback '{cb}'")
                sub = matches[0]
                if not sub.sym_global or sub.mark_btf_static:
                    raise ObjectError(f"{where}: prog '{prog.name}': exception callback {cb} must be a "
                                      "global non-hidden function")
                found = cb
            if found is not None:
                out[prog.name] = found
        self._exception_cbs = out
        return out

    def link(self, main: "ProgramSpec") -> LinkedProgram:
        """Append subprograms to ``main``, resolve its calls, re-base its func/line info."""
        spec = self.spec
        where = spec.path or spec.name
        text = spec.text_section_index
        buf = bytearray(self.work[id(main)])
        out = LinkedProgram(main, buf, list(main.relocations))
        for insn, rec in self.core_records.get(id(main), ()):
            out.core[insn] = rec
        sub_off: dict[int, int] = {}
        ext = spec.btf_ext
        state: dict[str, list[tuple[int, ...]] | None] = {"func": None, "line": None}
        if ext is not None:
            if ext.func_info_rec_size:
                out.func_info_rec_size = ext.func_info_rec_size
            if ext.line_info_rec_size:
                out.line_info_rec_size = ext.line_info_rec_size

        def adjust(prog: "ProgramSpec", prog_off: int) -> None:
            if ext is None:
                return
            for key, table in (("func", ext.func_info), ("line", ext.line_info)):
                if prog is not main and state[key] is None:
                    continue
                recs = self._ext_records(table, prog)
                if recs is None:
                    if state[key] is not None:
                        raise ObjectError(f"{where}: prog '{prog.name}': missing .BTF.ext "
                                          f"{key} info (its caller '{main.name}' has some)")
                    out.warnings.append(f"prog '{prog.name}': missing .BTF.ext {key} info for the main "
                                        f"program, skipping all of .BTF.ext {key} info")
                    continue
                adj = prog_off - prog.insn_offset
                new: list[tuple[int, ...]]
                if key == "func":
                    new = [(r.insn_off // 8 + adj, r.type_id) for r in recs]
                else:
                    new = [(r.insn_off // 8 + adj, r.file_name_off, r.line_off, (r.line << 10) | r.col)
                           for r in recs]
                state[key] = (state[key] or []) + new

        def append(sub: "ProgramSpec") -> int:
            off = len(buf) // 8
            sub_off[id(sub)] = off
            buf.extend(self.work[id(sub)])
            out.relocs.extend(r._replace(insn=r.insn + off) for r in sub.relocations)
            for insn, rec in self.core_records.get(id(sub), ()):
                out.core[insn + off] = rec
            out.subprograms.append(sub.name)
            reloc_code(sub, off)
            return off

        def reloc_code(prog: "ProgramSpec", prog_off: int) -> None:
            adjust(prog, prog_off)
            rel_at = self._relocs_at(prog)
            for idx in self._call_sites(prog):
                pos = (prog_off + idx) * 8
                code, regs, off, imm = _INSN.unpack_from(buf, pos)
                src, dst = regs >> 4, regs & 0x0F
                is_call = code == _CALL and src == _PSEUDO_CALL and dst == 0 and off == 0
                is_func = code == _LD_IMM64 and src == _PSEUDO_FUNC
                if not is_call and not is_func:
                    continue
                relo = rel_at.get(idx)
                if relo is not None and relo.kind == EXTERN_CALL:
                    continue
                if relo is not None and relo.kind not in (CALL, SUBPROG_ADDR):
                    raise ObjectError(f"{where}: prog '{prog.name}': unexpected relo for insn #{idx}, "
                                      f"type {relo.kind_name}")
                if relo is not None:
                    if relo.kind == CALL:
                        sub_idx = relo.sym_off // 8 + imm + 1
                    else:
                        sub_idx = _cdiv(relo.sym_off + imm, 8)
                elif is_func:
                    raise ObjectError(f"{where}: prog '{prog.name}': missing subprog addr relo for "
                                      f"insn #{idx}")
                else:
                    sub_idx = prog.insn_offset + idx + imm + 1
                sub = self.find(text, sub_idx) if text else None
                if sub is None:
                    raise ObjectError(f"{where}: prog '{prog.name}': insn #{idx} calls instruction "
                                      f"#{sub_idx} of .text, but no .text function holds it")
                target = sub_off.get(id(sub))
                if target is None:
                    target = append(sub)
                _IMM.pack_into(buf, pos + 4, _s32(target - (prog_off + idx) - 1))

        reloc_code(main, 0)
        cb_name = self.exception_callbacks().get(main.name)
        if cb_name is not None:
            cb = self.spec.subprograms.get(cb_name)
            if cb is not None and id(cb) not in sub_off:
                append(cb)
            out.exception_callback = cb_name
        out.func_info = state["func"]  # type: ignore[assignment]
        out.line_info = state["line"]  # type: ignore[assignment]
        return out

    def _ext_records(self, table: dict[str, list[Any]], prog: "ProgramSpec") -> list[Any] | None:
        """libbpf's adjust_prog_btf_ext_info() selection: the records of ``prog``'s range in
        the first .BTF.ext group of its section (None if there are none)."""
        spec = self.spec
        start, end = prog.insn_offset, prog.insn_offset + prog.insn_count
        for sec_name, recs in table.items():
            if spec.section_index(sec_name) != prog.section_index:
                continue
            first = last = -1
            for i, r in enumerate(recs):
                insn = r.insn_off // 8
                if insn < start:
                    continue
                if insn >= end:
                    break
                if first < 0:
                    first = i
                last = i
            if first < 0:
                return None
            return recs[first:last + 1]
        return None


def apply_data(linked: LinkedProgram, spec: "ObjectSpec", map_fds: list[int | None],
               externs: list[ExternValue], kconfig_fd: int | None) -> bytes:
    """The linked program's final instructions for the kernel (step 4 of the module docstring).

    ``map_fds[i]`` is the descriptor of map ``i`` (None: not created, references are poisoned);
    ``externs[i]`` the value of extern ``i``.
    """
    buf = bytearray(linked.insns)
    where = spec.path or spec.name
    for i, r in enumerate(linked.relocs):
        pos = r.insn * 8
        code, regs, off, imm = _INSN.unpack_from(buf, pos)
        dst = regs & 0x0F
        if r.kind in (LD64, DATA):
            fd = map_fds[r.map_index] if r.map_index < len(map_fds) else None
            if r.kind == DATA:
                _IMM.pack_into(buf, pos + 12, _s32(imm + r.sym_off))
            if fd is None:
                for k in (0, 8):
                    _INSN.pack_into(buf, pos + k, _CALL, 0, 0, POISON_LDIMM64_MAP_BASE + r.map_index)
                continue
            pseudo = _PSEUDO_MAP_FD if r.kind == LD64 else _PSEUDO_MAP_VALUE
            _INSN.pack_into(buf, pos, code, dst | (pseudo << 4), off, fd)
        elif r.kind == EXTERN_LD64:
            e = spec.externs[r.extern_index]
            v = externs[r.extern_index]
            if e.kind == "kconfig":
                if kconfig_fd is None:
                    raise ObjectError(f"{where}: prog '{linked.name}': .kconfig map was not created")
                _INSN.pack_into(buf, pos, code, dst | (_PSEUDO_MAP_VALUE << 4), off, kconfig_fd)
                _IMM.pack_into(buf, pos + 12, e.offset)
            elif e.type_id and v.is_set:
                _INSN.pack_into(buf, pos, code, dst | (_PSEUDO_BTF_ID << 4), off, v.kernel_btf_id)
                _IMM.pack_into(buf, pos + 12, v.btf_obj_fd)
            else:
                _IMM.pack_into(buf, pos + 4, _s32(v.addr & 0xFFFFFFFF))
                _IMM.pack_into(buf, pos + 12, _s32((v.addr >> 32) & 0xFFFFFFFF))
        elif r.kind == EXTERN_CALL:
            v = externs[r.extern_index]
            if v.is_set:
                _INSN.pack_into(buf, pos, code, dst | (_PSEUDO_KFUNC_CALL << 4), v.fd_array_index,
                                v.kernel_btf_id)
            else:
                # An unresolved weak kfunc: libbpf 1.1 (what bpftool 7.1 loads with) leaves a
                # kfunc call of BTF id 0, which the kernel accepts in dead code; libbpf 1.4+
                # turns it into ``call 2002000000 + extern index`` instead.
                _INSN.pack_into(buf, pos, code, dst | (_PSEUDO_KFUNC_CALL << 4), 0, 0)
        elif r.kind == SUBPROG_ADDR:
            if regs >> 4 != _PSEUDO_FUNC:
                raise ObjectError(f"{where}: prog '{linked.name}': relo #{i}: bad insn (function address "
                                  "load is not BPF_PSEUDO_FUNC)")
    return bytes(buf)


def explain_core(spec: "ObjectSpec", kernel_btf: Any = None) -> list["Explanation"]:
    """Explanations of every CO-RE relocation of ``spec`` (all programs) against the running
    kernel's BTF or the BTF file ``kernel_btf``; nothing is loaded."""
    from pybpf.object.kernel import KernelContext

    ctx = KernelContext(kernel_btf)
    try:
        targets, modules = ctx.core_targets()
        return Linker(spec).apply_core(targets, modules, explain=True, all_programs=True)
    finally:
        ctx.close()
