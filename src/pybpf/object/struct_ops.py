"""struct_ops maps of a BPF object: BPF implementations of kernel operation tables.

An object declares one as a global variable of a kernel struct type in a ``.struct_ops``
section, its function pointers set to ``SEC("struct_ops/...")`` programs::

    SEC(".struct_ops.link")
    struct tcp_congestion_ops my_cc = { .ssthresh = (void *)my_ssthresh, ..., .name = "my_cc" };

Opening (libbpf's ``init_struct_ops_maps`` and ``bpf_object__collect_st_ops_relos``,
:func:`collect_struct_ops`): every variable of a ``.struct_ops``, ``.struct_ops.link``,
``?.struct_ops`` or ``?.struct_ops.link`` DATASEC becomes a ``BPF_MAP_TYPE_STRUCT_OPS`` map
named after the variable (key 4 bytes, one entry, the value as big as the local struct for
now; ``.link`` sections set ``BPF_F_LINK``; a ``?`` prefix turns ``autocreate`` off), with a
:class:`StructOpsSpec` holding the struct's initial contents and, from the section's
relocations, which program each function pointer names. A relocation that does not land on a
function pointer, or names a function that is not a struct_ops program, is an error naming
the map and member. As libbpf 1.1 does, a referenced program's ``expected_attach_type`` is
its member's index in the local struct until it is loaded.

Loading (libbpf's ``bpf_map__init_kern_struct_ops`` and
``bpf_object_adjust_struct_ops_autoload``, :func:`plan_struct_ops`), for every struct_ops map
that will be created: ``struct X`` (flavor suffix dropped) and ``struct bpf_struct_ops_X`` are
looked up in the kernel's BTF (vmlinux, then loaded modules); members are matched by name: a
member the kernel lacks must be zero (and is skipped), bitfields are refused, kinds must agree,
data members must have the kernel's size and are copied to the kernel's offsets, function
pointers must be function pointers in the kernel too and get their program. Each program is
loaded with ``attach_btf_id`` = the kernel's ``struct X`` and ``expected_attach_type`` = the
kernel's member index (a program may serve several maps only at the same struct and member);
the map is created with the kernel's value size and ``btf_vmlinux_value_type_id`` (and the
module's BTF for module types). A struct_ops program referenced by maps is loaded exactly when
one of those maps is created. Everything is checked before anything is created in the kernel.

After the programs are loaded the value (``struct bpf_struct_ops_X`` with the program
descriptors in the function slots) is kept as the map's ``struct_ops_value``; registering is
:func:`pybpf.link.attach_struct_ops` (or :meth:`pybpf.Object.attach`): for ``.struct_ops``
maps writing the value registers it (and deleting it unregisters), for ``.struct_ops.link``
maps a struct_ops bpf_link does.
"""

from __future__ import annotations

import sys
from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING, Any, Iterator

from pybpf.btf import Kind
from pybpf.errors import BPFError, InvalidArgumentError, NotSupportedError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.object.kernel import KernelContext, ModuleBTF
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.spec import ObjectSpec

__all__ = ["StructOpsSpec", "StructOpsSection", "KernelStructOps", "StructOpsPlan", "collect_struct_ops",
           "plan_struct_ops", "fill_value", "is_struct_ops_program", "STRUCT_OPS_SECTIONS",
           "MAP_TYPE_STRUCT_OPS", "BPF_F_LINK", "BPF_F_VTYPE_BTF_OBJ_FD", "VALUE_PREFIX"]

MAP_TYPE_STRUCT_OPS = 26
BPF_F_LINK = 1 << 13
BPF_F_VTYPE_BTF_OBJ_FD = 1 << 15
_PROG_TYPE_STRUCT_OPS = 27
#: section name -> map flags (libbpf's STRUCT_OPS_SEC / STRUCT_OPS_LINK_SEC, ``?`` = not autocreated)
STRUCT_OPS_SECTIONS = {".struct_ops": 0, ".struct_ops.link": BPF_F_LINK,
                       "?.struct_ops": 0, "?.struct_ops.link": BPF_F_LINK}
#: the kernel's value type of struct_ops type X is ``struct bpf_struct_ops_X``
VALUE_PREFIX = "bpf_struct_ops_"
_SHN_LORESERVE = 0xFF00


class StructOpsSection(Record, frozen=False):
    """A struct_ops ELF section: index, name and contents (copied out of the file)."""

    index: int
    name: str
    data: bytes


def is_struct_ops_program(prog: "ProgramSpec") -> bool:
    """True for a program of type ``BPF_PROG_TYPE_STRUCT_OPS`` (``SEC("struct_ops...")``)."""
    if prog.is_subprog or prog.type is None:
        return False
    from pybpf.sys.names import parse_prog_type

    try:
        return parse_prog_type(prog.type) == _PROG_TYPE_STRUCT_OPS
    except BPFError:
        return False


def _func_proto_of(btf: "BTF", type_id: int) -> bool:
    """libbpf's resolve_func_ptr(): is ``type_id`` a pointer to a function prototype?"""
    t = btf.skip_mods_and_typedefs(type_id)
    if btf.kind_of(t) != Kind.PTR:
        return False
    return btf.kind_of(btf.skip_mods_and_typedefs(btf[t].type)) == Kind.FUNC_PROTO  # type: ignore[attr-defined]


class StructOpsSpec:
    """The contents of a struct_ops map before loading (libbpf's shadow type).

    ``section`` is the ELF section (``.struct_ops``, ``.struct_ops.link``...), ``type_name``
    and ``type_id`` the local ``struct X`` in the object's BTF, ``data`` its initial bytes as
    the ELF file has them (function pointers read as zero), ``programs`` which program each
    function-pointer member names (``{"ssthresh": "my_ssthresh", ...}``; edit it, or use item
    access, to change or drop a callback before loading).

    Item access reads and writes members by name: data members as Python values
    (:mod:`pybpf.btf.values`: ``ops["name"] = b"my_cc"``, ``ops["flags"]``), function
    pointers as program names (``ops["undo_cwnd"] = "other_prog"`` or ``None``).
    """

    def __init__(self, section: str, btf: "BTF", type_id: int, data: bytes) -> None:
        self.section = section
        self.btf = btf
        self.type_id = type_id
        st = btf[type_id]
        self.type_name: str = st.name
        self.data = bytearray(data)
        self.programs: dict[str, str] = {}
        #: the programs the ELF relocations put in the function pointers (what libbpf
        #: remembers at open): member index -> program name
        self.declared: dict[int, str] = {}

    # ------------------------------------------------------------------ members
    @property
    def members(self) -> list[str]:
        """Member names of the local struct, in order."""
        return [m.name for m in self.btf[self.type_id].members]  # type: ignore[attr-defined]

    def _member(self, name: str) -> tuple[int, Any]:
        for i, m in enumerate(self.btf[self.type_id].members):  # type: ignore[attr-defined]
            if m.name == name:
                return i, m
        raise KeyError(f"struct {self.type_name} has no member '{name}'")

    def is_function(self, name: str) -> bool:
        """True when member ``name`` is a function pointer (set to a program)."""
        return _func_proto_of(self.btf, self._member(name)[1].type)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.members

    def __iter__(self) -> Iterator[str]:
        return iter(self.members)

    def __getitem__(self, name: str) -> Any:
        _, m = self._member(name)
        if _func_proto_of(self.btf, m.type):
            return self.programs.get(name)
        from pybpf.btf.values import decode

        if m.bitfield_size:
            raise NotSupportedError(f"struct {self.type_name}: bitfield member '{name}' (struct_ops "
                                    "maps cannot have bitfields)")
        size = self.btf.resolve_size(m.type)
        off = m.bit_offset // 8
        return decode(self.btf, m.type, bytes(self.data[off:off + size]))

    def __setitem__(self, name: str, value: Any) -> None:
        _, m = self._member(name)
        if _func_proto_of(self.btf, m.type):
            if value is None:
                self.programs.pop(name, None)
                return
            prog = getattr(value, "name", value)
            if not isinstance(prog, str):
                raise InvalidArgumentError(f"struct {self.type_name}.{name}: expected a program name, "
                                           f"a ProgramSpec or None, not {type(value).__name__}")
            self.programs[name] = prog
            return
        if m.bitfield_size:
            raise NotSupportedError(f"struct {self.type_name}: bitfield member '{name}' (struct_ops "
                                    "maps cannot have bitfields)")
        from pybpf.btf.values import encode

        size = self.btf.resolve_size(m.type)
        off = m.bit_offset // 8
        if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == size:
            raw = bytes(value)
        else:
            try:
                raw = encode(self.btf, m.type, value, size)
            except BPFError as exc:
                raise InvalidArgumentError(f"struct {self.type_name}.{name}: {exc.message}") from None
        self.data[off:off + size] = raw

    def copy(self) -> "StructOpsSpec":
        import copy

        new = copy.copy(self)
        new.data = bytearray(self.data)
        new.programs = dict(self.programs)
        new.declared = dict(self.declared)
        return new

    def __repr__(self) -> str:
        progs = ", ".join(f".{k} = {v}" for k, v in self.programs.items())
        return f"<StructOpsSpec struct {self.type_name} in {self.section} {{{progs}}}>"


# ------------------------------------------------------------------------------------------ open

def collect_struct_ops(sections: list[StructOpsSection], relocations: dict[int, list[tuple[int, int]]],
                       symbols: list[Any], btf: "BTF | None", programs: "list[ProgramSpec]",
                       where: str) -> "list[MapSpec]":
    """The struct_ops maps of an object, in section order (see the module docstring).

    ``relocations`` maps a struct_ops section index to its ``(offset, symbol index)``
    relocations; ``programs`` are every program and subprogram (their types from ``SEC()``).
    """
    from pybpf.object.maps import MAP_STRUCT_OPS, MapSpec

    out: list[MapSpec] = []
    if not sections:
        return out
    if btf is None:
        raise ObjectError(f"{where}: struct_ops section '{sections[0].name}' needs the object's BTF "
                          "(build with -g)")
    for sec in sorted(sections, key=lambda s: s.index):
        ids = btf.find(sec.name, Kind.DATASEC)
        if not ids:
            raise ObjectError(f"{where}: struct_ops init: DATASEC '{sec.name}' not found in .BTF")
        datasec = btf[min(ids)]
        flags = STRUCT_OPS_SECTIONS[sec.name]
        autocreate = not sec.name.startswith("?")
        for vs in datasec.vars:  # type: ignore[attr-defined]
            var = btf[vs.type]
            var_name = var.name
            try:
                type_id = btf.resolve_type(vs.type)
            except BPFError:
                raise ObjectError(f"{where}: struct_ops init: cannot resolve the type of var [{vs.type}] "
                                  f"in DATASEC '{sec.name}'") from None
            t = btf[type_id]
            if not t.name:
                raise NotSupportedError(f"{where}: struct_ops map '{var_name}' in '{sec.name}': anonymous "
                                        "struct types are not supported (name the struct: it is how the "
                                        "kernel's struct_ops type is found)")
            if t.kind != Kind.STRUCT:
                raise ObjectError(f"{where}: struct_ops map '{var_name}' in '{sec.name}': {t.name} is "
                                  f"not a struct ({t.kind.name.lower()})")
            size = t.size  # type: ignore[attr-defined]
            if vs.offset + size > len(sec.data):
                raise ObjectError(f"{where}: struct_ops map '{var_name}': var is beyond the end of "
                                  f"DATASEC '{sec.name}' ([{vs.offset}, {vs.offset + size}) of "
                                  f"{len(sec.data)} bytes)")
            ops = StructOpsSpec(sec.name, btf, type_id, sec.data[vs.offset:vs.offset + size])
            out.append(MapSpec(name=var_name, type=MAP_TYPE_STRUCT_OPS, key_size=4, value_size=size,
                               max_entries=1, flags=flags, kind=MAP_STRUCT_OPS, section_index=sec.index,
                               section_offset=vs.offset, autocreate=autocreate, struct_ops=ops))
    by_section: dict[int, list[ProgramSpec]] = {}
    for p in programs:
        by_section.setdefault(p.section_index, []).append(p)
    uses: dict[int, tuple[int, int]] = {}
    for sec_idx, rels in sorted(relocations.items()):
        for i, (offset, sym_idx) in enumerate(rels):
            _collect_relo(out, sec_idx, i, offset, sym_idx, symbols, btf, by_section, uses, where)
    return out


def _collect_relo(maps: "list[MapSpec]", sec_idx: int, i: int, offset: int, sym_idx: int, symbols: list[Any],
                  btf: "BTF", by_section: "dict[int, list[ProgramSpec]]", uses: dict[int, tuple[int, int]],
                  where: str) -> None:
    """One relocation of a struct_ops section: a function pointer set to a program."""
    if not 0 <= sym_idx < len(symbols):
        raise ObjectError(f"{where}: struct_ops reloc #{i}: symbol {sym_idx:#x} not found")
    sym = symbols[sym_idx]
    owner = None
    for mp in maps:
        if mp.section_index == sec_idx and mp.section_offset <= offset < mp.section_offset + mp.value_size:
            owner = mp
            break
    if owner is None:
        raise ObjectError(f"{where}: struct_ops reloc #{i}: cannot find map at rel->r_offset {offset}")
    ops = owner.struct_ops
    assert ops is not None
    moff = offset - owner.section_offset
    mname = "?"
    member_idx = -1
    for j, m in enumerate(btf[ops.type_id].members):  # type: ignore[attr-defined]
        if m.bit_offset == moff * 8:
            member_idx, mname = j, m.name
            member = m
            break
    what = f"{where}: struct_ops map '{owner.name}'"
    if member_idx < 0:
        raise ObjectError(f"{what}: relocation at offset {moff} of struct {ops.type_name} does not start "
                          "a member")
    if sym.shndx >= _SHN_LORESERVE:
        raise ObjectError(f"{what}: member '{mname}': unsupported non-static function '{sym.name}' "
                          f"(section index {sym.shndx:#x})")
    if sym.value % 8:
        raise ObjectError(f"{what}: member '{mname}': invalid target program offset {sym.value}")
    if not _func_proto_of(btf, member.type):
        raise ObjectError(f"{what}: member '{mname}' is not a function pointer, so '{sym.name or '?'}' "
                          f"cannot be put in it")
    insn_idx = sym.value // 8
    prog = None
    for p in by_section.get(sym.shndx, ()):
        if p.insn_offset <= insn_idx < p.insn_offset + p.insn_count:
            prog = p
            break
    if prog is None:
        raise ObjectError(f"{what}: member '{mname}': no program at instruction {insn_idx} of section "
                          f"#{sym.shndx} ('{sym.name or '?'}')")
    if not is_struct_ops_program(prog):
        kind = "a subprogram (.text)" if prog.is_subprog else f"in section '{prog.section_name}'"
        raise ObjectError(f"{what}: member '{mname}': program '{prog.name}' is not a struct_ops program "
                          f"(it is {kind}; put it in SEC(\"struct_ops/...\"))")
    # libbpf 1.1: the program's expected_attach_type is the (local) member index until load,
    # and a program can serve several maps only at the same struct and member.
    seen = uses.get(id(prog))
    if seen is not None and seen != (ops.type_id, member_idx):
        raise ObjectError(f"{what}: member '{mname}': program '{prog.name}' is already used for member "
                          f"#{seen[1]} of struct [{seen[0]}]; a struct_ops program implements one member "
                          "of one struct")
    uses[id(prog)] = (ops.type_id, member_idx)
    object.__setattr__(prog, "expected_attach_type", member_idx)
    ops.programs[mname] = prog.name
    ops.declared[member_idx] = prog.name


# ------------------------------------------------------------------------------------------ load

class KernelStructOps(Record, frozen=False):
    """What one struct_ops map is in the running kernel (see :func:`plan_struct_ops`).

    ``type_id``/``value_type_id`` are the kernel's ``struct X`` and ``struct bpf_struct_ops_X``
    (in ``module``'s BTF when not vmlinux'), ``value`` the map value with data members filled
    in, ``slots`` the ``(byte offset in value, program name)`` of the function pointers.
    """

    name: str
    type_name: str
    type_id: int
    value_type_id: int
    value_size: int
    module: "ModuleBTF | None"
    value: bytearray
    slots: list[tuple[int, str]] = field_spec(default_factory=list)


class StructOpsPlan(Record, frozen=False):
    """The struct_ops part of one load: ``maps`` (map index -> :class:`KernelStructOps`),
    ``programs`` (program name -> (attach_btf_id, member index, module)), ``autoload``
    (program name -> whether it is loaded, for struct_ops programs maps refer to)."""

    maps: dict[int, KernelStructOps] = field_spec(default_factory=dict)
    programs: dict[str, tuple[int, int, "ModuleBTF | None"]] = field_spec(default_factory=dict)
    autoload: dict[str, bool] = field_spec(default_factory=dict)

    def loads(self, prog: "ProgramSpec") -> bool:
        """Whether ``prog`` is loaded (its own ``autoload`` unless struct_ops maps decide)."""
        return self.autoload.get(prog.name, prog.autoload)


def plan_struct_ops(spec: "ObjectSpec", maps: "list[MapSpec]", ctx: "KernelContext", where: str) -> StructOpsPlan:
    """Match every struct_ops map that will be created against the kernel (module docstring).

    ``maps`` are this load's map specs (copies); their ``value_size`` becomes the kernel's.
    Raises :class:`ObjectError` / :class:`NotSupportedError` naming the map and member.
    """
    plan = StructOpsPlan()
    forced_off: set[str] = set()
    for idx, mp in enumerate(maps):
        if mp.struct_ops is None or not mp.autocreate:
            continue
        plan.maps[idx] = _init_kern(spec, mp, ctx, plan, forced_off, where)
    # libbpf's bpf_object_adjust_struct_ops_autoload(): a program maps refer to is loaded
    # exactly when one of those maps is created.
    used: dict[str, bool] = {}
    for idx, mp in enumerate(maps):
        ops = mp.struct_ops
        if ops is None:
            continue
        if idx in plan.maps:
            names = [n for _, n in plan.maps[idx].slots]
        else:
            names = list(ops.declared.values())
        for name in names:
            used[name] = used.get(name, False) or mp.autocreate
    for name in forced_off:
        plan.autoload[name] = False
    plan.autoload.update(used)
    return plan


def _init_kern(spec: "ObjectSpec", mp: "MapSpec", ctx: "KernelContext", plan: StructOpsPlan,
               forced_off: set[str], where: str) -> KernelStructOps:
    """libbpf's bpf_map__init_kern_struct_ops() for one map."""
    from pybpf.core import essential_name

    ops = mp.struct_ops
    assert ops is not None
    btf = ops.btf
    what = f"{where}: struct_ops map '{mp.name}'"
    tname = essential_name(ops.type_name)
    found = ctx.find_kernel_type(tname, Kind.STRUCT)
    if found is None:
        raise NotSupportedError(f"{what}: struct {tname} is not found in the kernel's BTF (vmlinux or a "
                                "loaded module): this kernel has no such struct_ops type")
    kbtf, ktype_id, mod = found
    vids = kbtf.find(VALUE_PREFIX + tname, Kind.STRUCT)
    if not vids:
        raise NotSupportedError(f"{what}: struct {VALUE_PREFIX}{tname} is not found in the kernel's BTF: "
                                f"struct {tname} is not a struct_ops type this kernel registers")
    vtype_id = min(vids)
    vtype = kbtf[vtype_id]
    data_member = next((m for m in vtype.members if m.type == ktype_id), None)  # type: ignore[attr-defined]
    if data_member is None:
        raise ObjectError(f"{what}: struct {tname} data is not found in struct {VALUE_PREFIX}{tname}")
    ktype = kbtf[ktype_id]
    kdata_off = data_member.bit_offset // 8
    value = bytearray(vtype.size)  # type: ignore[attr-defined]
    kso = KernelStructOps(mp.name, tname, ktype_id, vtype_id, vtype.size, mod, value)  # type: ignore[attr-defined]
    kmembers = {m.name: (i, m) for i, m in reversed(list(enumerate(ktype.members)))}  # type: ignore[attr-defined]
    for i, m in enumerate(btf[ops.type_id].members):  # type: ignore[attr-defined]
        mname = m.name
        moff = m.bit_offset // 8
        try:
            msize = btf.resolve_size(m.type)
        except BPFError:
            raise ObjectError(f"{what}: failed to resolve the size of member '{mname}'") from None
        mdata = bytes(ops.data[moff:moff + msize])
        is_fn = _func_proto_of(btf, m.type)
        prog_name = ops.programs.get(mname) if is_fn else None
        hit = kmembers.get(mname)
        if hit is None:
            if any(mdata) or prog_name is not None:
                raise NotSupportedError(f"{what}: member '{mname}' is not in the kernel's struct {tname} "
                                        "(only members set to zero may be missing)")
            declared = ops.declared.get(i)
            if declared is not None:
                # declared in the ELF, then dropped: never loaded on this map's account
                _check_program(spec, declared, what, mname, declared=True)
                forced_off.add(declared)
            continue
        kidx, km = hit
        if m.bitfield_size or km.bitfield_size:
            raise NotSupportedError(f"{what}: member '{mname}' is a bitfield, which struct_ops maps do not "
                                    "support")
        kmoff = km.bit_offset // 8
        lt = btf.skip_mods_and_typedefs(m.type)
        kt = kbtf.skip_mods_and_typedefs(km.type)
        lkind, kkind = btf.kind_of(lt), kbtf.kind_of(kt)
        if lkind != kkind:
            raise ObjectError(f"{what}: member '{mname}' type mismatch: {lkind.name.lower()} in the object, "
                              f"{kkind.name.lower()} in the kernel's struct {tname}")
        if lkind == Kind.PTR:
            if prog_name is None:
                continue
            prog = _check_program(spec, prog_name, what, mname)
            if kbtf.kind_of(kbtf.skip_mods_and_typedefs(kbtf[kt].type)) != Kind.FUNC_PROTO:  # type: ignore[attr-defined]
                raise ObjectError(f"{what}: member '{mname}' is a function pointer in the object but not in "
                                  f"the kernel's struct {tname}")
            prev = plan.programs.get(prog.name)
            if prev is not None and (prev[0], prev[1]) != (ktype_id, kidx):
                raise ObjectError(f"{what}: member '{mname}': invalid reuse of program '{prog.name}' (already "
                                  f"member #{prev[1]} of kernel struct [{prev[0]}], here member #{kidx} of "
                                  f"[{ktype_id}]): a struct_ops program implements one member of one struct")
            plan.programs[prog.name] = (ktype_id, kidx, mod)
            kso.slots.append((kdata_off + kmoff, prog.name))
            continue
        try:
            ksize = kbtf.resolve_size(km.type)
        except BPFError:
            ksize = -1
        if ksize != msize:
            raise ObjectError(f"{what}: member '{mname}' size mismatch: {msize} bytes in the object, "
                              f"{ksize} in the kernel's struct {tname}")
        value[kdata_off + kmoff:kdata_off + kmoff + msize] = mdata
    mp.value_size = vtype.size  # type: ignore[attr-defined]
    return kso


def _check_program(spec: "ObjectSpec", name: str, what: str, mname: str, *, declared: bool = False) -> "ProgramSpec":
    prog = spec.programs.get(name)
    if prog is None:
        raise ObjectError(f"{what}: member '{mname}' is set to '{name}', which is not a program of the "
                          "object")
    if not is_struct_ops_program(prog):
        how = "declaratively assigned" if declared else "set to"
        raise ObjectError(f"{what}: member '{mname}' is {how} program '{name}', which is not a struct_ops "
                          f"program (type {prog.type_name})")
    return prog


def fill_value(kso: KernelStructOps, programs: dict[str, Any]) -> bytes:
    """The map value with each function slot set to its loaded program's descriptor
    (libbpf's bpf_map_prepare_vdata)."""
    value = bytearray(kso.value)
    for off, name in kso.slots:
        value[off:off + 8] = programs[name].fileno().to_bytes(8, sys.byteorder)
    return bytes(value)
