"""``ObjectSpec``: a clang-built BPF object (``*.bpf.o``), parsed and editable, not yet loaded.

    spec = ObjectSpec.open("execsnoop.bpf.o")       # or ObjectSpec.from_bytes(data, name=...)
    spec.variables["targ_uid"].value = 1000          # .rodata/.data/.bss, typed through BTF
    spec.maps["events"].max_entries = 1 << 20
    spec.programs["handle_exit"].autoload = False
    spec.maps["my_cc"].struct_ops["name"] = b"my_cc2"  # struct_ops maps: members by name
    with spec.load() as obj:                         # pybpf.Object
        obj.attach()                                 # programs, then struct_ops maps
        ...

Opening follows libbpf 1.x's ``bpf_object__open()`` step by step (section sorting, externs, BTF
fix-ups, BTF-defined maps, global data maps, ``SEC()`` typing, struct_ops maps, relocation
records) and makes no system call: the result depends only on the bytes (and ``name``).
Everything that depends on the running kernel (extern values, struct_ops types, CO-RE, BTF
sanitizing, map and program creation) happens in
:meth:`ObjectSpec.load`. A spec can be loaded several times; :meth:`ObjectSpec.copy` (also
``copy.copy``/``copy.deepcopy``) gives an independent one to edit.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from pybpf.errors import BPFError, BTFError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.btf.ext import BTFExt
    from pybpf.core import Explanation
    from pybpf.object.externs import ExternSpec
    from pybpf.object.linker import LinkedProgram
    from pybpf.object.live import Object
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.variables import VariableSpec

__all__ = ["ObjectSpec", "MapSpecs", "SectionInfo"]


class SectionInfo:
    """One ELF section libbpf looks at: ``index``, ``name``, ``type`` (SHT_*), ``flags``, ``size``."""

    __slots__ = ("index", "name", "type", "flags", "size")

    def __init__(self, index: int, name: str, type: int, flags: int, size: int) -> None:
        self.index, self.name, self.type, self.flags, self.size = index, name, type, flags, size

    @property
    def type_name(self) -> str:
        from pybpf.elf import constants as c

        return c.name_of(c.SHT_NAMES, self.type)

    def __repr__(self) -> str:
        return f"<SectionInfo [{self.index}] {self.name} {self.type_name} {self.size} bytes>"


class MapSpecs(Mapping[str, "MapSpec"]):
    """The object's maps by name, looked up as libbpf's ``bpf_object__find_map_by_name()``:
    ``maps["counts"]``, an internal map by its kernel name (``maps["execsno.rodata"]``) or by
    its section name (``maps[".rodata"]``). Iterates in libbpf's map order."""

    def __init__(self, maps: "list[MapSpec]") -> None:
        self._list = maps

    def __getitem__(self, name: str) -> "MapSpec":
        for mp in self._list:
            if name.startswith("."):
                if mp.real_name == name:
                    return mp
                continue
            if mp.kind in ("data", "rodata") and mp.real_name not in (".data", ".rodata"):
                if mp.real_name == name:
                    return mp
                continue
            if mp.name == name:
                return mp
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (mp.name for mp in self._list)

    def __len__(self) -> int:
        return len(self._list)

    def index(self, name: str) -> int:
        """Position of map ``name`` in the object's map list (bpftool's ``map idx``)."""
        mp = self[name]
        return next(i for i, x in enumerate(self._list) if x is mp)

    def list(self) -> "list[MapSpec]":
        return self._list

    def __repr__(self) -> str:
        return f"MapSpecs({[mp.name for mp in self._list]})"


class ObjectSpec:
    """A parsed BPF object (see the module docstring).

    ``name`` (libbpf's object name, the prefix of internal map names), ``path``, ``license``,
    ``kern_version`` (from a ``version`` section, else None: the running kernel's at load),
    ``btf`` (the object's BTF after libbpf's fix-ups) and ``btf_ext``; ``programs`` (entry
    programs by name, in libbpf's order), ``subprograms`` (``.text`` functions), ``maps``
    (:class:`MapSpecs`), ``variables`` (global variables by name), ``externs`` (in libbpf's
    order), ``sections`` (the ELF sections libbpf considers).
    """

    name: str
    path: str | None
    license: str
    kern_version: int | None
    btf: "BTF | None"
    btf_ext: "BTFExt | None"
    programs: "dict[str, ProgramSpec]"
    subprograms: "dict[str, ProgramSpec]"
    maps: MapSpecs
    variables: "dict[str, VariableSpec]"
    externs: "list[ExternSpec]"
    sections: list[SectionInfo]
    _text_index: int
    _section_index: dict[str, int]
    _all_programs: "list[ProgramSpec]"

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str], *, name: str | None = None) -> "ObjectSpec":
        """Parse the object file at ``path`` (no system calls besides reading it).

        ``name`` overrides the object name libbpf derives from the file name.
        """
        from pybpf.elf import ELFFile
        from pybpf.object.elfobj import object_name_from_path

        path = os.fspath(path)
        obj_name = name[:15] if name is not None else object_name_from_path(path)
        with ELFFile.open(path) as elf:
            return cls._from_elf(elf, obj_name, path)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, *, name: str | None = None) -> "ObjectSpec":
        """Parse an object from memory; ``name`` is the object name (default ``""``)."""
        from pybpf.elf import ELFFile

        elf = ELFFile(bytes(data), name=name or "<bytes>")
        return cls._from_elf(elf, (name or "")[:15], None)

    @classmethod
    def _from_elf(cls, elf: Any, obj_name: str, path: str | None) -> "ObjectSpec":
        where = path or (f"object '{obj_name}'" if obj_name else "<bytes>")
        try:
            return cls._parse(elf, obj_name, path, where)
        except BPFError:
            raise
        except (IndexError, KeyError, ValueError, TypeError, AttributeError, RecursionError, UnicodeError,
                OverflowError, MemoryError, struct.error) as exc:   # defensive: malformed input must not crash
            raise ObjectError(f"{where}: malformed object ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _parse(cls, elf: Any, obj_name: str, path: str | None, where: str) -> "ObjectSpec":
        from pybpf.btf.ext import BTFExt
        from pybpf.object import elfobj, maps as mapmod, relocs
        from pybpf.object.externs import KCONFIG, collect_externs
        from pybpf.object.objbtf import BTFPatcher, fixup_datasecs
        from pybpf.object.programs import ProgramSpec
        from pybpf.object.struct_ops import collect_struct_ops

        raw = elfobj.collect(elf, obj_name)
        self = cls.__new__(cls)
        self.name = obj_name
        self.path = path
        self.license = raw.license
        self.kern_version = raw.kern_version
        self.sections = [SectionInfo(*s) for s in raw.sections]
        self._text_index = raw.text_index
        self._section_index = dict(raw.first_index)

        patcher = BTFPatcher(raw.btf, f"{where}: section '.BTF'") if raw.btf is not None else None
        externs = collect_externs(raw.symbols, patcher, where)
        btf = None
        if patcher is not None:
            sizes = {nm: raw.section_sizes[idx] for nm, idx in raw.first_index.items()}
            fixup_datasecs(patcher, raw.symbols, sizes, where)
            btf = patcher.build()
            btf.pointer_size = 8
        self.btf = btf
        self.externs = externs
        self.btf_ext = None
        if raw.btf_ext is not None and btf is not None:
            try:
                self.btf_ext = BTFExt.parse(raw.btf_ext, btf)
            except BTFError as exc:
                raise BTFError(f"{where}: section '.BTF.ext': {exc.message}") from None

        # maps: BTF-defined ones, then global data in section order, then .kconfig
        map_list: list[MapSpec] = []
        if raw.maps_index >= 0:
            if btf is None:
                raise ObjectError(f"{where}: the object defines maps in .maps but has no .BTF section "
                                  "(BTF is required: build with -g)")
            map_list.extend(mapmod.user_maps(btf, raw.maps_index, len(raw.maps_data), where))
        for ds in sorted(raw.data_sections, key=lambda d: d.index):
            if ds.size == 0:
                continue
            map_list.append(mapmod.internal_map(obj_name, ds.kind, ds.name, ds.index, ds.data, ds.size, btf))
        kcfg = [e for e in externs if e.kind == KCONFIG]
        if kcfg:
            last = kcfg[-1]
            map_list.append(mapmod.internal_map(obj_name, mapmod.MAP_KCONFIG, ".kconfig", raw.symbols_index,
                                                b"", last.offset + last.size, btf))

        # programs: sorted by (section, offset); .text functions are subprograms
        n = len(raw.programs)
        progs = [ProgramSpec.from_raw(p, p.section_index == raw.text_index and n > 1) for p in raw.programs]
        self._all_programs = progs
        self.programs = {p.name: p for p in progs if not p.is_subprog}
        self.subprograms = {p.name: p for p in progs if p.is_subprog}
        # struct_ops maps come last (libbpf: after .kconfig), their function pointers resolved
        map_list.extend(collect_struct_ops(raw.struct_ops, raw.struct_ops_relocations, raw.symbols, btf,
                                           progs, where))
        self.maps = MapSpecs(map_list)
        relocs.collect_relocations(raw, progs, map_list, externs, where)
        if btf is not None:
            relocs.map_slots(raw, map_list, btf, self.programs.get, where)
        self.variables = self._collect_variables()
        return self

    def _collect_variables(self) -> "dict[str, VariableSpec]":
        from pybpf.btf import Kind
        from pybpf.object.variables import VariableSpec

        out: dict[str, VariableSpec] = {}
        btf = self.btf
        if btf is None:
            return out
        for mp in self.maps.list():
            if mp.kind not in ("data", "rodata", "bss") or not mp.btf_value_type_id:
                continue
            if btf.kind_of(mp.btf_value_type_id) != Kind.DATASEC:
                continue
            for vs in btf[mp.btf_value_type_id].vars:  # type: ignore[attr-defined]
                if btf.kind_of(vs.type) != Kind.VAR:
                    continue
                var = btf[vs.type]
                if not var.name or var.name in out:
                    continue
                if vs.offset + vs.size > mp.value_size:
                    continue
                out[var.name] = VariableSpec(var.name, mp, btf, vs.type, var.type,  # type: ignore[attr-defined]
                                             vs.offset, vs.size, var.linkage)  # type: ignore[attr-defined]
        return out

    # ------------------------------------------------------------------ views
    @property
    def all_programs(self) -> "list[ProgramSpec]":
        """Every program and subprogram, in libbpf's order (section index, then offset)."""
        return list(self._all_programs)

    def program(self, name: str) -> "ProgramSpec":
        """Entry program or subprogram ``name``."""
        p = self.programs.get(name) or self.subprograms.get(name)
        if p is None:
            raise KeyError(name)
        return p

    @property
    def text_section_index(self) -> int:
        return self._text_index

    def section_index(self, name: str) -> int | None:
        """Index of the first ELF section called ``name`` (how .BTF.ext refers to sections)."""
        return self._section_index.get(name)

    def extern(self, name: str) -> "ExternSpec":
        for e in self.externs:
            if e.name == name:
                return e
        raise KeyError(name)

    # ------------------------------------------------------------------ copying
    def copy(self) -> "ObjectSpec":
        """An independent copy: programs, maps and variables can be edited separately.

        The BTF, ``.BTF.ext`` and extern descriptions (never edited) are shared.
        """
        new = ObjectSpec.__new__(ObjectSpec)
        new.__dict__.update(self.__dict__)
        progs = [p.copy() for p in self._all_programs]
        new._all_programs = progs
        new.programs = {p.name: p for p in progs if not p.is_subprog}
        new.subprograms = {p.name: p for p in progs if p.is_subprog}
        old_maps = self.maps.list()
        maps = [mp.copy() for mp in old_maps]
        new.maps = MapSpecs(maps)
        by_id = {id(o): n for o, n in zip(old_maps, maps)}
        new.variables = {k: v.rebind(by_id[id(v.map)]) for k, v in self.variables.items()}
        new.sections = list(self.sections)
        new.externs = list(self.externs)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> "ObjectSpec":
        return self.copy()

    # ------------------------------------------------------------------ loading
    def load(self, kernel_btf: Any = None, pin_root: str | None = None, *, kconfig: str | None = None,
             log_level: int = 0) -> "Object":
        """Create the maps and load the programs into the kernel; returns a :class:`pybpf.Object`.

        ``kernel_btf``: path of the BTF (raw, or an ELF file with ``.BTF``) to relocate CO-RE
        against instead of the running kernel's (libbpf's ``btf_custom_path``).
        ``pin_root``: directory for ``LIBBPF_PIN_BY_NAME`` maps (default ``/sys/fs/bpf``).
        ``kconfig``: extra Kconfig lines (``CONFIG_X=y``) that take precedence over the
        running kernel's configuration (libbpf's ``kconfig`` open option).
        ``log_level``: verifier log level for every program (the log is kept in
        ``Program.verifier_log``). On failure everything created so far is released.
        Needs root (CAP_BPF, CAP_PERFMON/CAP_SYS_ADMIN for tracing programs).
        """
        from pybpf.object.loader import load_object

        return load_object(self, kernel_btf=kernel_btf, pin_root=pin_root, kconfig=kconfig,
                           log_level=log_level)

    def link(self, kernel_btf: Any = None, *, kconfig: str | None = None) -> "dict[str, LinkedProgram]":
        """What :meth:`load` would hand the kernel, without creating anything: extern values
        resolved (reading the kernel's configuration, kallsyms and BTF), CO-RE applied,
        subprograms appended, func/line info re-based, for every program that would be
        loaded. Map descriptors are filled in only by :meth:`load`
        (:func:`pybpf.object.linker.apply_data`); the values the externs got are in each
        result's ``externs``."""
        from pybpf.object.loader import link_object

        return link_object(self, kernel_btf=kernel_btf, kconfig=kconfig)

    def core_explanations(self, kernel_btf: Any = None) -> "list[Explanation]":
        """What CO-RE would do for every relocation against the running kernel's BTF (or the
        BTF file ``kernel_btf``), without loading anything: :mod:`pybpf.core` explanations."""
        from pybpf.object.linker import explain_core

        return explain_core(self, kernel_btf)

    def __repr__(self) -> str:
        return (f"<ObjectSpec {self.name!r}: {len(self.programs)} programs, {len(self.maps)} maps, "
                f"{len(self.variables)} variables>")

