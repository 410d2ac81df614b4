"""Interim test-only loader for clang-built fixtures (the real object loader is issue 5).

It loads each program section of a ``*.bpf.o`` as one program: BTF-defined maps from ``.maps``
(``__uint``/``__type`` members), ``.bss``/``.data``/``.rodata`` as one-element array maps,
``ld_imm64`` relocations patched to map descriptors / map values. No CO-RE, no BPF-to-BPF
calls: the fixtures are written so that they need neither.
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

    def close(self) -> None:
        for p in self.progs.values():
            p.close()
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> LoadedObject:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def global_u64(self, section: str, offset: int = 0) -> int:
        raw = self.maps[section].lookup(b"\0\0\0\0")
        return struct.unpack_from("<Q", bytes(raw), offset)[0]

    def globals_raw(self, section: str = ".bss") -> bytes:
        return bytes(self.maps[section].lookup(b"\0\0\0\0"))

    def get(self, name: str) -> int:
        """A global integer variable's current value (read through its section map)."""
        sec, off, size = self.vars[name]
        return int.from_bytes(self.globals_raw(sec)[off:off + size], "little")

    def set(self, name: str, value: int) -> None:
        sec, off, size = self.vars[name]
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
    """Load ``path``'s maps and programs (``only`` restricts to those section names).

    ``prog_opts[section]`` overrides ``Program.load`` arguments; ``map_opts[name]`` overrides
    ``Map.create`` arguments.
    """
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
