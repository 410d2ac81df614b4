"""Generate :mod:`pybpf.sys.uapi` from the running kernel's BTF.

``python -m pybpf.sys.gen_uapi [--btf PATH] [-o FILE | --check]`` reads the kernel's own type
information (``/sys/kernel/btf/vmlinux``) with :mod:`pybpf.btf` and writes ctypes layouts of
``union bpf_attr``, the ``bpf_*_info`` structs, ``perf_event_attr`` and friends, plus the BPF
enums (commands, map/program/attach/link types, helper ids, flags) as Python enums whose
members keep the kernel's names exactly.

Layouts come out of BTF with their exact offsets: wherever C's natural alignment would not put
a member where BTF says it is, an explicit padding member is inserted, and the finished classes
are checked member by member against BTF before anything is written. The output depends only
on the input BTF, so regenerating from the same kernel gives the same file byte for byte.

Anonymous members of ``union bpf_attr`` (one per command group, anonymous in C) get the names
the kernel's comments give them: ``map_create``, ``map_elem``, ``prog_load``, ``obj``,
``prog_attach``, ``get_id``, ``btf_load``. Other anonymous structs and unions are promoted
into their parent with ctypes' ``_anonymous_``, so ``attr.link_create.target_btf_id`` works as
in C.

The committed module is written in the lazy form: every enum and layout as a small text table
(one member or field a line) that :mod:`pybpf.sys.uapi_lazy` turns into the class on first
access, so that importing the module costs a fraction of a millisecond instead of building
~750 enum members and ~80 ctypes classes. ``generate(source, lazy=False)`` writes the same
model as class statements run at import (the form the tests compare the lazy one with).
"""

from __future__ import annotations

import argparse
import ctypes
import keyword
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from pybpf.sys.uapi_lazy import SCALARS

__all__ = [
    "CType",
    "CMember",
    "TypeSource",
    "BTFTypeSource",
    "GenerationError",
    "generate",
    "verify_layout",
    "Layout",
    "STRUCTS",
    "ENUMS",
    "ANON_ENUMS",
    "main",
]


class GenerationError(Exception):
    """The BTF cannot be turned into the module (missing type, impossible layout)."""


# --------------------------------------------------------------------------------------------
# A minimal C type model the generator works on (sources convert into it).


@dataclass(eq=False)
class CMember:
    name: str
    type: CType
    bit_offset: int
    bit_size: int = 0


@dataclass(eq=False)
class CType:
    """A resolved C type: ``kind`` is int, ptr, array, struct, union, enum or other."""

    kind: str
    name: str = ""
    size: int = 0
    signed: bool = False
    is_char: bool = False
    is_bool: bool = False
    members: list[CMember] = field(default_factory=list)
    elem: CType | None = None
    nelems: int = 0
    values: list[tuple[str, int]] = field(default_factory=list)


class TypeSource(Protocol):
    """Where the generator gets its types from."""

    release: str

    def named(self, kind: str, name: str) -> CType | None:
        """The struct/union/enum called ``name`` (``kind`` is struct, union or enum)."""

    def anonymous_enums(self) -> Iterable[CType]:
        """Every anonymous enum, in BTF order."""


# --------------------------------------------------------------------------------------------
# What to generate.

#: (C kind, name, doc) of the composite types written out, in this order.
STRUCTS: list[tuple[str, str]] = [
    ("union", "bpf_attr"),
    ("struct", "bpf_prog_info"),
    ("struct", "bpf_map_info"),
    ("struct", "bpf_btf_info"),
    ("struct", "bpf_link_info"),
    ("struct", "bpf_func_info"),
    ("struct", "bpf_line_info"),
    ("struct", "perf_event_attr"),
    ("struct", "perf_event_header"),
    ("struct", "perf_event_mmap_page"),
    ("struct", "xdp_md"),
    ("struct", "__sk_buff"),
]

#: Named enums written out as IntEnum (or IntFlag where the values are bits).
ENUMS: list[tuple[str, str]] = [
    ("bpf_cmd", "IntEnum"),
    ("bpf_map_type", "IntEnum"),
    ("bpf_prog_type", "IntEnum"),
    ("bpf_attach_type", "IntEnum"),
    ("bpf_link_type", "IntEnum"),
    ("bpf_func_id", "IntEnum"),
    ("bpf_stats_type", "IntEnum"),
    ("bpf_task_fd_type", "IntEnum"),
    ("bpf_perf_event_type", "IntEnum"),
    ("bpf_cgroup_iter_order", "IntEnum"),
    ("bpf_iter_task_type", "IntEnum"),
    ("bpf_core_relo_kind", "IntEnum"),
    ("bpf_stack_build_id_status", "IntEnum"),
    ("xdp_action", "IntEnum"),
    ("sk_action", "IntEnum"),
    ("perf_type_id", "IntEnum"),
    ("perf_hw_id", "IntEnum"),
    ("perf_sw_ids", "IntEnum"),
    ("perf_hw_cache_id", "IntEnum"),
    ("perf_hw_cache_op_id", "IntEnum"),
    ("perf_hw_cache_op_result_id", "IntEnum"),
    ("perf_event_sample_format", "IntFlag"),
    ("perf_event_read_format", "IntFlag"),
    ("perf_event_type", "IntEnum"),
]

#: Anonymous enums named here by one of their members: member -> (class name, base).
ANON_ENUMS: dict[str, tuple[str, str]] = {
    "BPF_ANY": ("bpf_map_update_flags", "IntFlag"),
    "BPF_F_NO_PREALLOC": ("bpf_map_create_flags", "IntFlag"),
    "BPF_F_KPROBE_MULTI_RETURN": ("bpf_kprobe_multi_flags", "IntFlag"),
    "BPF_F_UPROBE_MULTI_RETURN": ("bpf_uprobe_multi_flags", "IntFlag"),
    "BPF_F_INDEX_MASK": ("bpf_perf_event_output_flags", "IntEnum"),
    "BPF_F_SKIP_FIELD_MASK": ("bpf_stackid_flags", "IntEnum"),
    "BPF_RB_NO_WAKEUP": ("bpf_ringbuf_output_flags", "IntFlag"),
    "BPF_RB_AVAIL_DATA": ("bpf_ringbuf_query_flags", "IntEnum"),
    "BPF_RINGBUF_BUSY_BIT": ("bpf_ringbuf_header_bits", "IntEnum"),
    "BPF_F_TIMER_ABS": ("bpf_timer_flags", "IntFlag"),
}

#: Other anonymous enums whose members all start with this prefix become plain constants.
ANON_CONSTANT_PREFIX = "BPF_F_"

#: Names for anonymous members: composite name -> {a member name found inside -> name}.
ANON_MEMBER_NAMES: dict[str, dict[str, str]] = {
    "bpf_attr": {
        "map_type": "map_create",
        "key": "map_elem",
        "prog_type": "prog_load",
        "pathname": "obj",
        "attach_bpf_fd": "prog_attach",
        "start_id": "get_id",
        "btf": "btf_load",
    },
}


# --------------------------------------------------------------------------------------------
# Source: pybpf's own BTF parser.


class BTFTypeSource:
    """Types from a BTF blob parsed by :mod:`pybpf.btf`."""

    _MODIFIERS = ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG")

    def __init__(self, btf: Any, release: str) -> None:
        self.btf = btf
        self.release = release
        self._memo: dict[int, CType] = {}

    @classmethod
    def from_path(cls, path: str, release: str | None = None) -> BTFTypeSource:
        from pybpf.btf import BTF

        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise GenerationError(f"cannot read BTF from {path}: {exc}") from None
        return cls(BTF.parse(data), release or os.uname().release)

    def named(self, kind: str, name: str) -> CType | None:
        from pybpf.btf import Kind

        kinds = (Kind.ENUM, Kind.ENUM64) if kind == "enum" else (Kind[kind.upper()],)
        for k in kinds:
            ids = self.btf.find(name, k)
            if ids:
                return self.convert(ids[0])
        return None

    def anonymous_enums(self) -> Iterable[CType]:
        from pybpf.btf import Kind

        for tid in range(1, len(self.btf)):
            if self.btf.kind_of(tid) in (Kind.ENUM, Kind.ENUM64) and not self.btf.name_of(tid):
                yield self.convert(tid)

    def convert(self, tid: int) -> CType:
        from pybpf.btf import Kind

        btf = self.btf
        while btf.kind_of(tid).name in self._MODIFIERS:
            tid = btf[tid].type
        if tid in self._memo:
            return self._memo[tid]
        t = btf[tid]
        kind = t.kind
        if kind == Kind.INT:
            ct = CType("int", t.name, t.size, signed=t.signed, is_char=t.is_char or t.name == "char",
                       is_bool=t.is_bool)
        elif kind in (Kind.ENUM, Kind.ENUM64):
            ct = CType("enum", t.name, t.size, signed=t.signed,
                       values=[(v.name, v.value) for v in t.values])
        elif kind == Kind.PTR:
            ct = CType("ptr", "", btf.pointer_size)
        elif kind == Kind.ARRAY:
            ct = CType("array", "", 0, elem=self.convert(t.type), nelems=t.nelems)
        elif kind in (Kind.STRUCT, Kind.UNION):
            ct = CType(kind.name.lower(), t.name, t.size)
            self._memo[tid] = ct
            ct.members = [CMember(m.name, self.convert(m.type), m.bit_offset, m.bitfield_size)
                          for m in t.members]
        else:
            ct = CType(kind.name.lower(), t.name, getattr(t, "size", 0) or 0)
        self._memo[tid] = ct
        return ct


# --------------------------------------------------------------------------------------------
# Layout helpers.


def _align_of(t: CType) -> int:
    if t.kind in ("int", "enum", "ptr"):
        return max(1, t.size)
    if t.kind == "array":
        assert t.elem is not None
        return _align_of(t.elem)
    if t.kind in ("struct", "union"):
        return max([_align_of(m.type) for m in t.members] or [1])
    raise GenerationError(f"cannot lay out a member of kind {t.kind} ({t.name or 'anonymous'})")


def _size_of(t: CType) -> int:
    if t.kind == "array":
        assert t.elem is not None
        return _size_of(t.elem) * t.nelems
    return t.size


def _py_name(name: str) -> str:
    return name + "_" if keyword.iskeyword(name) else name


def _member_names(t: CType) -> set[str]:
    """Names visible directly in ``t`` (anonymous members' names promoted, as in C)."""
    out: set[str] = set()
    for m in t.members:
        if m.name:
            out.add(m.name)
        elif m.type.kind in ("struct", "union"):
            out |= _member_names(m.type)
    return out


@dataclass
class Layout:
    """One ctypes class to write: ``fields`` are ``(name, type spec, bit size or 0)``.

    Type specs are the :mod:`pybpf.sys.uapi_lazy` table syntax: ``u32``, ``s64``, ``char``,
    ``bool``, another layout's name, with C array dimensions (``char[16]``)."""

    name: str
    kind: str  # struct or union
    doc: str
    anonymous: list[str]
    fields: list[tuple[str, str, int]]


def _spec_expr(spec: str) -> str:
    """The ctypes expression for a type spec (the eager rendering)."""
    base, _, dims = spec.partition("[")
    expr = f"ctypes.{SCALARS[base]}" if base in SCALARS else base
    for n in reversed(dims.rstrip("]").split("][") if dims else []):
        expr = f"({expr} * {n})"
    return expr


class _Emitter:
    def __init__(self) -> None:
        self.done: dict[int, str] = {}  # id(CType) of named composites -> class name
        self.layouts: list[Layout] = []  # in dependency order: contained classes first
        self.classes: list[tuple[str, CType, list[str]]] = []

    def type_spec(self, t: CType, owner: str, member: str) -> str:
        if t.kind == "int":
            if t.is_bool:
                return "bool"
            if t.is_char and t.size == 1:
                return "char"
            return _int_spec(t.size, t.signed)
        if t.kind == "enum":
            return _int_spec(t.size, t.signed)
        if t.kind == "ptr":
            return "u64"
        if t.kind == "array":
            assert t.elem is not None
            base, sep, dims = self.type_spec(t.elem, owner, member).partition("[")
            return f"{base}[{t.nelems}]" + (sep + dims if sep else "")
        if t.kind in ("struct", "union"):
            if t.name:
                return self.composite(t, t.name)
            # Inner classes are referenced from class bodies, where "__x" would be mangled.
            return self.composite(t, f"{owner.lstrip('_')}_{member}")
        raise GenerationError(f"{owner}.{member}: cannot represent a {t.kind} member")

    def composite(self, t: CType, cls_name: str) -> str:
        key = id(t)
        if key in self.done:
            return self.done[key]
        self.done[key] = cls_name
        is_union = t.kind == "union"
        names_for_anon = ANON_MEMBER_NAMES.get(t.name, {}) if t.name else {}
        fields: list[tuple[str, str, int]] = []
        fieldnames: list[str] = []
        anonymous: list[str] = []
        cur = 0  # next free byte in natural layout (structs)
        pads = 0
        anon_count = 0
        unit_end = -1  # end of the current bitfield storage unit
        for m in t.members:
            mt = m.type
            fname = _py_name(m.name) if m.name else ""
            if not m.name:
                if mt.kind not in ("struct", "union"):
                    raise GenerationError(f"{cls_name}: unnamed member of kind {mt.kind}")
                inner = _member_names(mt)
                chosen = next((v for k, v in names_for_anon.items() if k in inner), None)
                if chosen is None:
                    fname = f"_{'u' if mt.kind == 'union' else 's'}{anon_count}"
                    anon_count += 1
                    anonymous.append(fname)
                else:
                    fname = chosen
            fieldnames.append(fname)
            spec = self.type_spec(mt, cls_name, fname.lstrip("_"))
            if is_union:
                if m.bit_offset != 0:
                    raise GenerationError(f"{cls_name}.{fname}: union member at bit {m.bit_offset}")
                fields.append((fname, spec, m.bit_size))
                continue
            if m.bit_size:
                unit = _size_of(mt)
                start = (m.bit_offset // 8 // unit) * unit
                if start >= unit_end:  # a new storage unit
                    natural = -(-cur // unit) * unit
                    if natural < start:
                        fields.append((f"_pad{pads}", f"u8[{start - cur}]", 0))
                        pads += 1
                    elif natural > start:
                        raise GenerationError(f"{cls_name}.{fname}: bitfield unit before natural place")
                    unit_end = start + unit
                    cur = unit_end
                fields.append((fname, spec, m.bit_size))
                continue
            unit_end = -1
            if m.bit_offset % 8:
                raise GenerationError(f"{cls_name}.{fname}: member not on a byte boundary")
            off = m.bit_offset // 8
            natural = -(-cur // _align_of(mt)) * _align_of(mt)
            if natural < off:
                fields.append((f"_pad{pads}", f"u8[{off - cur}]", 0))
                pads += 1
            elif natural > off:
                raise GenerationError(
                    f"{cls_name}.{fname}: BTF offset {off} is before its natural offset {natural}")
            fields.append((fname, spec, 0))
            cur = off + _size_of(mt)
        align = _align_of(t) if t.members else 1
        if is_union:
            natural_size = max([_size_of(m.type) for m in t.members] or [0])
            natural_size = -(-natural_size // align) * align
            if natural_size < t.size:
                fields.append((f"_pad{pads}", f"u8[{t.size}]", 0))
        else:
            natural_size = -(-cur // align) * align
            if natural_size < t.size:
                fields.append((f"_pad{pads}", f"u8[{t.size - cur}]", 0))
            elif natural_size > t.size:
                raise GenerationError(f"{cls_name}: natural size {natural_size} > BTF size {t.size}")
        c_name = f"{t.kind} {t.name}" if t.name else f"anonymous {t.kind}"
        self.layouts.append(Layout(cls_name, t.kind, f"``{c_name}`` ({t.size} bytes).", anonymous, fields))
        self.classes.append((cls_name, t, fieldnames))
        return cls_name


def _int_spec(size: int, signed: bool) -> str:
    if size not in (1, 2, 4, 8):
        raise GenerationError(f"no ctypes integer of {size} bytes")
    return f"{'s' if signed else 'u'}{size * 8}"


def _private(name: str) -> bool:
    """``__MAX_BPF_CMD`` and the like: Python would mangle them inside a class body."""
    return name.startswith("__")


@dataclass
class _Model:
    """Everything the module holds, independent of how it is written out."""

    release: str
    #: (class name, IntEnum or IntFlag, docstring, members in BTF order)
    enums: list[tuple[str, str, str, list[tuple[str, int]]]] = field(default_factory=list)
    #: enum members at module level: (name, value, owning enum class; "" if private)
    module_names: list[tuple[str, int, str]] = field(default_factory=list)
    #: other anonymous BPF_F_* enums' members: plain constants
    constants: list[tuple[str, int]] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    classes: list[tuple[str, CType, list[str]]] = field(default_factory=list)


def _collect(source: TypeSource) -> _Model:
    model = _Model(source.release)
    for name, base in ENUMS:
        t = source.named("enum", name)
        if t is None:
            raise GenerationError(f"enum {name} not found in the kernel BTF")
        model.enums.append((name, base, f"``enum {name}``.", t.values))
    constants: list[tuple[str, int]] = []
    seen_anon: set[str] = set()
    for t in source.anonymous_enums():
        member_names = [n for n, _ in t.values]
        named = next((ANON_ENUMS[n] for n in member_names if n in ANON_ENUMS), None)
        if named is not None:
            cls, base = named
            if cls in seen_anon:
                continue
            seen_anon.add(cls)
            doc = f"Anonymous enum of {', '.join(member_names[:2])}{', ...' if len(member_names) > 2 else ''}."
            model.enums.append((cls, base, doc, t.values))
        elif member_names and all(n.startswith(ANON_CONSTANT_PREFIX) for n in member_names):
            constants.extend(t.values)
    missing = {v[0] for v in ANON_ENUMS.values()} - seen_anon
    if missing:
        raise GenerationError(f"anonymous enums not found in the kernel BTF: {sorted(missing)}")
    seen_members: set[str] = set()
    for cls, _, _, values in model.enums:
        for n, v in values:
            if n not in seen_members:
                seen_members.add(n)
                model.module_names.append((n, v, "" if _private(n) else cls))
    for n, v in constants:
        if n not in seen_members:
            seen_members.add(n)
            model.constants.append((n, v))
    em = _Emitter()
    for kind, name in STRUCTS:
        t = source.named(kind, name)
        if t is None:
            raise GenerationError(f"{kind} {name} not found in the kernel BTF")
        em.composite(t, name)
    model.layouts = em.layouts
    model.classes = em.classes
    return model


HEADER = '''"""BPF UAPI layouts and enums of the running kernel, generated from its BTF.

Generated by ``python -m pybpf.sys.gen_uapi`` from the BTF of Linux {release}.
Do not edit: regenerate instead. Struct and union classes are ctypes layouts with the
kernel's offsets; enums keep the kernel's member names.{extra}
"""

# fmt: off
# flake8: noqa
from __future__ import annotations
{imports}
KERNEL_RELEASE = {release!r}
'''

LAZY_NOTE = """

Every enum, enum member and layout below is built on first access (see
:mod:`pybpf.sys.uapi_lazy`), so importing this module is cheap: ``uapi.bpf_attr``,
``uapi.BPF_MAP_TYPE_HASH`` (a ``bpf_map_type`` member) and ``from pybpf.sys.uapi import
bpf_cmd`` work as for ordinary module attributes. ``enum_members(name)`` gives an enum's
``(member, value)`` pairs without building its class."""


def _render_lazy(model: _Model) -> str:
    out = [HEADER.format(release=model.release, extra=LAZY_NOTE,
                         imports="\nfrom pybpf.sys.uapi_lazy import install as _install\n")]
    out.append("\n# ---- enums: name -> (base, doc, members) " + "-" * 50 + "\n\n_ENUMS = {\n")
    for name, base, doc, values in model.enums:
        out.append(f"    {name!r}: ({base!r}, {doc!r}, \"\"\"\n")
        out.extend(f"        {n} = {v}\n" for n, v in values if not _private(n))
        out.append("    \"\"\"),\n")
    out.append("}\n")
    out.append("\n# Enum members Python would mangle in a class body: plain ints.\n")
    out.extend(f"{n} = {v}\n" for n, v, owner in model.module_names if not owner)
    if model.constants:
        out.append("\n# Other anonymous BPF_F_* enums (plain constants).\n")
        out.extend(f"{n} = {v}\n" for n, v in model.constants)
    out.append("\n# ---- layouts: name -> (struct or union, doc, anonymous members, fields) "
               + "-" * 20 + "\n\n_LAYOUTS = {\n")
    for lay in model.layouts:
        anon = "(" + "".join(f"{a!r}, " for a in lay.anonymous).rstrip() + ")"
        out.append(f"    {lay.name!r}: ({lay.kind!r}, {lay.doc!r}, {anon}, \"\"\"\n")
        out.extend(f"        {f}: {spec}{f':{bits}' if bits else ''}\n" for f, spec, bits in lay.fields)
        out.append("    \"\"\"),\n")
    out.append("}\n\n__getattr__, __dir__ = _install(globals(), _ENUMS, _LAYOUTS)\n")
    return "".join(out)


def _render_eager(model: _Model) -> str:
    """The same module as plain class statements, everything built at import (used by the
    tests to check the lazy module against)."""
    out = [HEADER.format(release=model.release, extra="", imports="\nimport ctypes\nimport enum\n")]
    out.append("\n# ---- enums " + "-" * 80 + "\n")
    for name, base, doc, values in model.enums:
        lines = [f"class {name}(enum.{base}):", f"    \"\"\"{doc}\"\"\"", ""]
        lines.extend(f"    {n} = {v}" for n, v in values if not _private(n))
        out.append("\n" + "\n".join(lines) + "\n")
    out.append("\n# Every enum member at module level, as in C.\n")
    out.extend(f"{n} = {owner}.{n}\n" if owner else f"{n} = {v}\n" for n, v, owner in model.module_names)
    if model.constants:
        out.append("\n# Other anonymous BPF_F_* enums (plain constants).\n")
        out.extend(f"{n} = {v}\n" for n, v in model.constants)
    out.append("\n# ---- layouts " + "-" * 78 + "\n")
    for lay in model.layouts:
        base = "ctypes.Union" if lay.kind == "union" else "ctypes.Structure"
        lines = [f"class {lay.name}({base}):", f"    \"\"\"{lay.doc}\"\"\"", ""]
        if lay.anonymous:
            lines.append(f"    _anonymous_ = ({', '.join(repr(a) for a in lay.anonymous)},)")
        lines.append("    _fields_ = [")
        lines.extend(f"        (\"{f}\", {_spec_expr(spec)}{f', {bits}' if bits else ''}),"
                     for f, spec, bits in lay.fields)
        lines.append("    ]")
        out.append("\n\n" + "\n".join(lines) + "\n")
    out.append("\n\nENUM_CLASSES = (\n" + "".join(f"    {e[0]},\n" for e in model.enums) + ")\n")
    out.append("\nLAYOUTS = {\n" + "".join(f"    {lay.name!r}: {lay.name},\n" for lay in model.layouts) + "}\n")
    return "".join(out)


def generate(source: TypeSource, *, lazy: bool = True) -> str:
    """The text of the uapi module for the types in ``source``.

    ``lazy`` (the committed form) writes text tables built into classes on first access;
    ``lazy=False`` writes the same enums and layouts as class statements run at import.
    """
    model = _collect(source)
    text = _render_lazy(model) if lazy else _render_eager(model)
    # Check the result against the BTF it came from before anyone uses it.
    namespace: dict[str, Any] = {"__name__": "pybpf.sys._uapi_check"}
    exec(compile(text, "<uapi>", "exec"), namespace)
    for cls_name, t, fieldnames in model.classes:
        cls = namespace[cls_name] if cls_name in namespace else namespace["__getattr__"](cls_name)
        verify_layout(cls, t, fieldnames, cls_name)
    return text


def verify_layout(cls: Any, t: CType, fieldnames: list[str], where: str) -> None:
    """Raise :class:`GenerationError` unless ctypes class ``cls`` has ``t``'s exact layout.

    ``fieldnames`` are the Python names given to ``t``'s members, in order.
    """
    if ctypes.sizeof(cls) != t.size:
        raise GenerationError(f"{where}: size {ctypes.sizeof(cls)} != BTF size {t.size}")
    for m, fname in zip(t.members, fieldnames):
        desc = getattr(cls, fname, None)
        if desc is None:
            raise GenerationError(f"{where}.{fname}: missing")
        _check_member(desc, m, f"{where}.{fname}")


def _check_member(desc: Any, m: CMember, where: str) -> None:
    if m.bit_size:
        # ctypes encodes bitfields as size = (bit size << 16) | bit offset inside the unit.
        bits = desc.size >> 16
        bit_in_unit = desc.size & 0xFFFF
        if bits != m.bit_size or desc.offset * 8 + bit_in_unit != m.bit_offset:
            raise GenerationError(f"{where}: bitfield at {desc.offset}*8+{bit_in_unit}/{bits} "
                                  f"!= BTF {m.bit_offset}/{m.bit_size}")
        return
    if desc.offset * 8 != m.bit_offset:
        raise GenerationError(f"{where}: offset {desc.offset} != BTF {m.bit_offset // 8}")
    if desc.size != _size_of(m.type):
        raise GenerationError(f"{where}: size {desc.size} != BTF {_size_of(m.type)}")


def main(argv: list[str] | None = None) -> int:
    """Command line: write (or ``--check``) src/pybpf/sys/uapi.py from kernel BTF."""
    parser = argparse.ArgumentParser(prog="python -m pybpf.sys.gen_uapi", description=__doc__.split("\n")[0])
    parser.add_argument("--btf", default="/sys/kernel/btf/vmlinux", help="raw BTF to read")
    parser.add_argument("--release", default=None, help="kernel release to record (default: uname -r)")
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "uapi.py")
    parser.add_argument("-o", "--output", default=default_out)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the output file differs from what would be generated")
    args = parser.parse_args(argv)
    text = generate(BTFTypeSource.from_path(args.btf, args.release))
    if args.check:
        try:
            with open(args.output) as f:
                same = f.read() == text
        except OSError:
            same = False
        print(f"{args.output}: {'up to date' if same else 'differs'}")
        return 0 if same else 1
    with open(args.output, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
