"""Extern symbols of a BPF object: ``__kconfig`` values and ``__ksym`` kernel symbols.

An extern is an undefined ``STT_NOTYPE`` symbol bound ``GLOBAL`` or ``WEAK`` whose BTF VAR or
FUNC sits in the ``.kconfig`` or ``.ksyms`` DATASEC. :func:`collect_externs` finds them as
libbpf's ``bpf_object__collect_externs()`` does, classifies them (:class:`ExternSpec`), sorts
them in libbpf's order (kconfig before ksym; kconfig by descending alignment, ascending size,
then name; ties by name) and rewrites the object's BTF the way libbpf does (see
:mod:`pybpf.object.objbtf`). Every value is resolved at load time
(:mod:`pybpf.object.resolve`); opening makes no system call.

Kconfig extern types, as libbpf accepts them: ``bool`` (1-byte ``_Bool``), ``char`` (any 1-byte
integer), integers of 2, 4 or 8 bytes (signed or not), ``enum libbpf_tristate`` (4-byte ENUM or
an ENUM64 of that name) and non-empty ``char`` arrays.
"""

from __future__ import annotations

from pybpf.record import Record
from typing import TYPE_CHECKING, Iterable

from pybpf.btf import Kind
from pybpf.btf import model as m
from pybpf.errors import ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.elf import Symbol
    from pybpf.object.objbtf import BTFPatcher

__all__ = ["ExternSpec", "collect_externs", "KCFG_CHAR", "KCFG_BOOL", "KCFG_INT", "KCFG_TRISTATE",
           "KCFG_CHAR_ARR", "KCONFIG", "KSYM", "essential_name"]

KCONFIG = "kconfig"
KSYM = "ksym"
KCFG_CHAR = "char"
KCFG_BOOL = "bool"
KCFG_INT = "int"
KCFG_TRISTATE = "tristate"
KCFG_CHAR_ARR = "char_array"
_KIND_ORDER = {KCONFIG: 1, KSYM: 2}
_STT_NOTYPE, _STB_GLOBAL, _STB_WEAK = 0, 1, 2


class ExternSpec(Record):
    """One extern of the object (see the module docstring).

    ``kind`` is ``"kconfig"`` or ``"ksym"``; ``btf_id`` the extern's BTF VAR/FUNC;
    ``essential_name`` the name without a ``___flavor`` suffix. Kconfig externs have
    ``kcfg_type`` (``"bool"``, ``"char"``, ``"int"``, ``"tristate"``, ``"char_array"``),
    ``size``, ``align``, ``signed`` and ``offset`` (in the ``.kconfig`` map). Ksyms have
    ``type_id`` (the local type with modifiers and typedefs skipped; 0 for a typeless
    ``extern const void sym __ksym``) and ``is_func`` (a kfunc).
    """

    name: str
    kind: str
    symbol_index: int
    btf_id: int
    weak: bool
    essential_name: str
    kcfg_type: str | None = None
    size: int = 0
    align: int = 0
    signed: bool = False
    offset: int = 0
    type_id: int = 0
    is_func: bool = False

    @property
    def typed(self) -> bool:
        """A ksym resolved through kernel BTF (not /proc/kallsyms)."""
        return self.kind == KSYM and self.type_id != 0

    def describe(self) -> str:
        strength = "weak" if self.weak else "strong"
        if self.kind == KCONFIG:
            return f"extern (kcfg) '{self.name}' ({strength}, {self.kcfg_type}, {self.size} bytes)"
        what = "func ksym" if self.is_func else ("var ksym" if self.type_id else "typeless ksym")
        return f"extern ({what}) '{self.name}' ({strength})"


def essential_name(name: str) -> str:
    """libbpf's bpf_core_essential_name_len(): the name before its last ``___flavor``."""
    for i in range(len(name) - 5, -1, -1):
        if (name[i] != "_" and name[i + 1] == "_" and name[i + 2] == "_" and name[i + 3] == "_"
                and name[i + 4] != "_"):
            return name[:i + 1]
    return name


def _kcfg_type(btf: "BTF", type_id: int) -> tuple[str | None, bool]:
    """libbpf's find_kcfg_type(): (type or None when unsupported, signed)."""
    t = btf[btf.skip_mods_and_typedefs(type_id)]
    if isinstance(t, m.Int):
        if t.is_bool:
            return (KCFG_BOOL if t.size == 1 else None), False
        signed = t.signed
        if t.size == 1:
            return KCFG_CHAR, signed
        if t.size not in (2, 4, 8):
            return None, signed
        return KCFG_INT, signed
    if isinstance(t, m.Enum64):
        return (KCFG_TRISTATE if t.name == "libbpf_tristate" else None), False
    if isinstance(t, m.Enum):
        return (KCFG_TRISTATE if t.size == 4 and t.name == "libbpf_tristate" else None), False
    if isinstance(t, m.Array):
        if t.nelems == 0:
            return None, False
        elem, _ = _kcfg_type(btf, t.type)
        return (KCFG_CHAR_ARR if elem == KCFG_CHAR else None), False
    return None, False


def _sort_key(e: ExternSpec) -> tuple:
    if e.kind == KCONFIG:
        return (_KIND_ORDER[e.kind], -e.align, e.size, e.name.encode())
    return (_KIND_ORDER[e.kind], 0, 0, e.name.encode())


def collect_externs(symbols: Iterable["Symbol"], patcher: "BTFPatcher | None", where: str) -> list[ExternSpec]:
    """Find, classify and sort the externs; rewrite ``.ksyms``/``.kconfig`` in ``patcher``."""
    syms = [s for s in symbols
            if s.shndx == 0 and s.bind in (_STB_GLOBAL, _STB_WEAK) and s.type == _STT_NOTYPE and s.name]
    dummy_id = _add_dummy_ksym_var(patcher)
    if not syms:
        return []
    if patcher is None:
        raise ObjectError(f"{where}: extern '{syms[0].name}' needs BTF, but the object has no .BTF "
                          "section (build with -g)")
    btf = patcher.btf
    var_to_sec: dict[int, int] = {}
    for tid in range(1, len(btf)):
        if btf.kind_of(tid) == Kind.DATASEC:
            for v in btf[tid].vars:  # type: ignore[attr-defined]
                var_to_sec.setdefault(v.type, tid)
    out: list[ExternSpec] = []
    kcfg_sec = ksym_sec = 0
    for sym in syms:
        btf_id = _find_extern_btf_id(btf, sym.name, where)
        t = btf[btf_id]
        name = t.name
        sec_id = var_to_sec.get(btf_id, 0)
        if not sec_id:
            raise ObjectError(f"{where}: failed to find the BTF DATASEC of extern '{name}' [{btf_id}]")
        sec_name = btf.name_of(sec_id)
        weak = sym.bind == _STB_WEAK
        ess = essential_name(name)
        if sec_name == ".kconfig":
            if isinstance(t, m.Func):
                raise ObjectError(f"{where}: extern function '{name}' is unsupported under the .kconfig "
                                  "section")
            kcfg_sec = sec_id
            vtype = t.type  # type: ignore[attr-defined]
            try:
                size = btf.resolve_size(vtype)
                align = btf.alignment(vtype)
            except Exception as exc:  # noqa: BLE001 - BTFError or a model error on bad input
                raise ObjectError(f"{where}: failed to resolve size/alignment of extern (kcfg) "
                                  f"'{name}': {exc}") from None
            if size <= 0 or align <= 0:
                raise ObjectError(f"{where}: extern (kcfg) '{name}' has size {size}, alignment {align}")
            kind, signed = _kcfg_type(btf, vtype)
            if kind is None:
                raise ObjectError(f"{where}: extern (kcfg) '{name}': type is unsupported (kconfig "
                                  "externs are bool, char, 2/4/8-byte integers, enum "
                                  "libbpf_tristate or char arrays)")
            out.append(ExternSpec(name, KCONFIG, sym.index, btf_id, weak, ess, kind, size, align, signed))
        elif sec_name == ".ksyms":
            ksym_sec = sec_id
            type_id = btf.skip_mods_and_typedefs(t.type)  # type: ignore[attr-defined]
            out.append(ExternSpec(name, KSYM, sym.index, btf_id, weak, ess, type_id=type_id,
                                  is_func=isinstance(t, m.Func)))
        else:
            raise ObjectError(f"{where}: unrecognized extern section '{sec_name}' of extern '{name}' "
                              "(externs live in .kconfig or .ksyms)")
    out.sort(key=_sort_key)
    by_name = {e.name: e for e in reversed(out)}  # first of each name wins, as find_extern_by_name
    assert patcher is not None
    if ksym_sec:
        _rewrite_ksyms(patcher, ksym_sec, by_name, dummy_id, where)
    if kcfg_sec:
        out = _layout_kconfig(patcher, kcfg_sec, out, by_name, where)
    return out


def _find_extern_btf_id(btf: "BTF", name: str, where: str) -> int:
    """libbpf's find_extern_btf_id(): the first VAR or FUNC named ``name``; it must be extern."""
    ids = sorted(i for i in btf.find(name) if btf.kind_of(i) in (Kind.VAR, Kind.FUNC))
    if not ids:
        raise ObjectError(f"{where}: failed to find BTF for extern '{name}' (no VAR or FUNC of that "
                          "name in .BTF)")
    t = btf[ids[0]]
    if t.linkage != m.Linkage.EXTERN:  # type: ignore[attr-defined]
        raise ObjectError(f"{where}: BTF {t.kind.name} '{name}' [{ids[0]}] of extern symbol "
                          f"'{name}' is not extern")
    return ids[0]


def _find_int32(btf: "BTF") -> int:
    for tid in range(1, len(btf)):
        if btf.kind_of(tid) == Kind.INT and btf[tid].bits == 32:  # type: ignore[attr-defined]
            return tid
    return 0


def _add_dummy_ksym_var(patcher: "BTFPatcher | None") -> int:
    """libbpf's add_dummy_ksym_var(): a ``dummy_ksym`` VAR when ``.ksyms`` holds a FUNC."""
    if patcher is None:
        return 0
    btf = patcher.btf
    secs = btf.find(".ksyms", Kind.DATASEC)
    if not secs:
        return 0
    sec = btf[secs[0]]
    if not any(btf.kind_of(v.type) == Kind.FUNC for v in sec.vars):  # type: ignore[attr-defined]
        return 0
    return patcher.add_var("dummy_ksym", _find_int32(btf), 1)


def _rewrite_ksyms(p: "BTFPatcher", sec_id: int, by_name: dict[str, ExternSpec], dummy_id: int,
                   where: str) -> None:
    btf = p.btf
    int_id = _find_int32(btf)
    dummy_name = p.word(dummy_id, 0) if dummy_id else 0
    n = p.vlen(sec_id)
    off = 0
    for i in range(n):
        vs = 3 + 3 * i
        vt = p.word(sec_id, vs)
        ext_name = btf.name_of(vt)
        if ext_name not in by_name:
            raise ObjectError(f"{where}: failed to find extern definition for BTF "
                              f"{btf.kind_of(vt).name.lower()} '{ext_name}' in .ksyms")
        if p.kind(vt) == Kind.FUNC:
            proto = p.word(vt, 2)
            if 0 < proto < p.count and p.kind(proto) == Kind.FUNC_PROTO:
                for j in range(p.vlen(proto)):
                    if p.word(proto, 3 + 2 * j + 1) and not p.word(proto, 3 + 2 * j):
                        p.set_word(proto, 3 + 2 * j, dummy_name)
            p.set_word(sec_id, vs, dummy_id)
            p.set_word(vt, 1, (p.word(vt, 1) & ~0xFFFF) | 1)   # BTF_FUNC_GLOBAL
        else:
            p.set_word(vt, 3, 1)                                  # BTF_VAR_GLOBAL_ALLOCATED
            p.set_word(vt, 2, int_id)
        p.set_word(sec_id, vs + 1, off)
        p.set_word(sec_id, vs + 2, 4)
        off += 4
    p.set_word(sec_id, 2, off)


def _layout_kconfig(p: "BTFPatcher", sec_id: int, externs: list[ExternSpec], by_name: dict[str, ExternSpec],
                    where: str) -> list[ExternSpec]:
    """Offsets of kconfig externs in the .kconfig map (in sorted order, each aligned)."""
    out = []
    off = 0
    for e in externs:
        if e.kind == KCONFIG:
            data_off = (off + e.align - 1) // e.align * e.align
            off = data_off + e.size
            e = ExternSpec(*(data_off if n == "offset" else getattr(e, n) for n in e._fields))
        out.append(e)
    placed = {e.name: e for e in reversed(out)}
    p.set_word(sec_id, 2, off)
    btf = p.btf
    for i in range(p.vlen(sec_id)):
        vs = 3 + 3 * i
        vt = p.word(sec_id, vs)
        ext_name = btf.name_of(vt)
        ext = placed.get(ext_name)
        if ext is None or ext.kind != KCONFIG:
            raise ObjectError(f"{where}: failed to find extern definition for BTF var '{ext_name}' "
                              "in .kconfig")
        p.set_word(vt, 3, 1)                                      # BTF_VAR_GLOBAL_ALLOCATED
        p.set_word(sec_id, vs + 1, ext.offset)
    del by_name
    return out
