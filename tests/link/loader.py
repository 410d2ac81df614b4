"""Test-side view of an object loaded by the object loader (pybpf.object), as the attach tests
use it: programs keyed by section name, maps by name (``.bss``/``.data``/``.rodata`` by section),
global integers read and written by name.

Objects are opened and loaded by :class:`pybpf.object.ObjectSpec`. The one exception is a
struct_ops program given an explicit ``attach_btf_id`` (``prog_opts``): libbpf, and so
pybpf.object, only loads struct_ops programs a ``.struct_ops`` map refers to, and the
struct_ops test builds its map by hand; those objects go through :func:`_load_raw`, the interim
loader these tests started with (one program per section, no CO-RE, no BPF-to-BPF calls).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from pybpf import Map, Program
from pybpf.btf import BTF, Kind
from pybpf.elf import ELFFile
from pybpf.link.btf_targets import find_attach_btf_id
from pybpf.object.sections import parse_section
from pybpf.sys import consts

_INSN = struct.Struct("<BBhi")
_MAP_FIELDS = ("type", "key_size", "value_size", "max_entries", "map_flags")


@dataclass
class LoadedObject:
    maps: dict[str, Map] = field(default_factory=dict)
    progs: dict[str, Program] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    #: global variable name -> (section, offset, size)
    vars: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: the pybpf.object.Object (None for objects loaded by _load_raw)
    live: Any = None

    def close(self) -> None:
        if self.live is not None:
            self.live.close()
            return
        for p in self.progs.values():
            p.close()
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> LoadedObject:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def global_u64(self, section: str, offset: int = 0) -> int:
        return struct.unpack_from("<Q", self.globals_raw(section), offset)[0]

    def globals_raw(self, section: str = ".bss") -> bytes:
        if self.live is not None:
            return self.live.global_data(section)
        return bytes(self.maps[section].lookup(b"\0\0\0\0"))

    def get(self, name: str) -> int:
        """A global integer variable's current value (read through its section map)."""
        sec, off, size = self.vars[name]
        return int.from_bytes(self.globals_raw(sec)[off:off + size], "little")

    def set(self, name: str, value: int) -> None:
        sec, off, size = self.vars[name]
        if self.live is not None:
            self.live.variables[name].raw = value.to_bytes(size, "little")
            return
        raw = bytearray(self.globals_raw(sec))
        raw[off:off + size] = value.to_bytes(size, "little")
        self.maps[sec].update(b"\0\0\0\0", bytes(raw))


def _map_defs(elf: ELFFile) -> dict[str, dict[str, int]]:
    sec = elf.section_by_name(".BTF")
    if sec is None or elf.section_by_name(".maps") is None:
        return {}
    btf = BTF.parse(bytes(sec.data))
    out: dict[str, dict[str, int]] = {}
    for dsid in btf.find(".maps", Kind.DATASEC):
        for vs in btf[dsid].vars:
            var = btf[vs.type]
            st = btf[btf.skip_mods_and_typedefs(var.type)]
            d: dict[str, int] = {}
            for m in st.members:
                ptr = btf[btf.skip_mods_and_typedefs(m.type)]
                target = btf.skip_mods_and_typedefs(ptr.type)
                if m.name in ("key", "value"):
                    d[m.name + "_size"] = btf.resolve_size(target)
                elif m.name in _MAP_FIELDS:
                    d[m.name] = btf[target].nelems
            out[var.name] = d
    return out


def load_object(path: str, *, only: tuple[str, ...] | None = None,
                prog_opts: dict[str, dict[str, Any]] | None = None,
                map_opts: dict[str, dict[str, Any]] | None = None) -> LoadedObject:
    """Load ``path`` with pybpf.object (``only`` restricts to those section names).

    ``prog_opts[section]`` sets program attributes (``expected_attach_type``, ``type``...),
    ``map_opts[name]`` map attributes (``max_entries``, ``flags``...) before loading.
    """
    from pybpf.object import ObjectSpec

    if any("attach_btf_id" in o for o in (prog_opts or {}).values()):
        return _load_raw(path, only=only, prog_opts=prog_opts, map_opts=map_opts)
    spec = ObjectSpec.open(path)
    for prog in spec.programs.values():
        if only is not None and prog.section_name not in only:
            prog.autoload = False
        for attr, value in (prog_opts or {}).get(prog.section_name, {}).items():
            setattr(prog, attr, value)
    for name, opts in (map_opts or {}).items():
        for attr, value in opts.items():
            setattr(spec.maps[name], attr, value)
    live = spec.load()
    obj = LoadedObject(live=live)
    for name, prog in live.programs.items():
        obj.progs[spec.programs[name].section_name] = prog
        obj.sections[spec.programs[name].section_name] = spec.programs[name].definition
    for name in live.maps:
        mp = live.maps.spec(name)
        obj.maps[mp.real_name if mp.is_internal else name] = live.maps[name]
    for name, var in spec.variables.items():
        obj.vars[name] = (var.section, var.offset, var.size)
    return obj


def _load_raw(path: str, *, only: tuple[str, ...] | None = None,
                prog_opts: dict[str, dict[str, Any]] | None = None,
                map_opts: dict[str, dict[str, Any]] | None = None) -> LoadedObject:
    """The interim loader: ``prog_opts[section]`` overrides ``Program.load`` arguments,
    ``map_opts[name]`` ``Map.create`` arguments."""
    obj = LoadedObject()
    try:
        with ELFFile.open(path) as elf:
            license_sec = elf.section_by_name("license")
            lic = bytes(license_sec.data).split(b"\0")[0].decode() if license_sec else "GPL"
            for name, d in _map_defs(elf).items():
                kw = dict(map_type=d["type"], key_size=d.get("key_size", 0),
                          value_size=d.get("value_size", 0), max_entries=d.get("max_entries", 0),
                          flags=d.get("map_flags", 0), name=name[:15])
                kw.update((map_opts or {}).get(name, {}))
                obj.maps[name] = Map.create(kw.pop("map_type"), kw.pop("key_size"),
                                            kw.pop("value_size"), kw.pop("max_entries"), **kw)
            for secname in (".bss", ".data", ".rodata"):
                sec = elf.section_by_name(secname)
                if sec is None or not sec.size:
                    continue
                m = Map.create("array", 4, sec.size, 1, name=secname)
                obj.maps[secname] = m
                m.update(b"\0\0\0\0", bytes(sec.data) if sec.has_file_data else bytes(sec.size))
            symtab = elf.symtab
            for sym in symtab:
                if sym.section_index is None or sym.type != 1:  # STT_OBJECT
                    continue
                sname = elf.sections[sym.section_index].name
                if sname in obj.maps:
                    obj.vars[sym.name] = (sname, sym.value, sym.size)
            for sec in elf.sections:
                if not sec.is_executable or sec.name == ".text" or not sec.size:
                    continue
                if only is not None and sec.name not in only:
                    continue
                ps = parse_section(sec.name)
                obj.sections[sec.name] = ps
                code = bytearray(sec.data)
                for rsec in elf.relocations_for(sec):
                    for rel in rsec:
                        sym = symtab[rel.symbol_index]
                        tsec = elf.sections[sym.section_index] if sym.section_index is not None else None
                        off = rel.offset
                        c, regs, o, imm = _INSN.unpack_from(code, off)
                        if c != 0x18:
                            raise AssertionError(f"{sec.name}: unsupported relocation at {off} (code {c:#x})")
                        if tsec is not None and tsec.name == ".maps":
                            fd = obj.maps[sym.name].fileno()
                            _INSN.pack_into(code, off, c, (regs & 0x0F) | (consts.BPF_PSEUDO_MAP_FD << 4), o, fd)
                        elif tsec is not None and tsec.name in obj.maps:
                            fd = obj.maps[tsec.name].fileno()
                            _INSN.pack_into(code, off, c, (regs & 0x0F) | (consts.BPF_PSEUDO_MAP_VALUE << 4), o, fd)
                            c2, r2, o2, _ = _INSN.unpack_from(code, off + 8)
                            _INSN.pack_into(code, off + 8, c2, r2, o2, imm + sym.value)
                        else:
                            raise AssertionError(f"{sec.name}: relocation against {sym.name!r}")
                kw: dict[str, Any] = dict(expected_attach_type=ps.expected_attach_type,
                                          flags=ps.prog_flags, name=_prog_name(symtab, sec.index))
                if ps.definition.attach_btf and ps.target and ps.definition.prog_type != "BPF_PROG_TYPE_EXT":
                    kw["attach_btf_id"] = find_attach_btf_id(ps.target, ps.expected_attach_type).btf_id
                kw.update((prog_opts or {}).get(sec.name, {}))
                obj.progs[sec.name] = Program.load(ps.prog_type, bytes(code), lic, **kw)
    except BaseException:
        obj.close()
        raise
    return obj


def _prog_name(symtab: Any, shndx: int) -> str:
    for sym in symtab:
        if sym.section_index == shndx and sym.type == 2 and sym.value == 0:
            return sym.name[:15]
    return ""
