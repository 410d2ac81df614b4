"""Test-side view of an object loaded by the object loader (pybpf.object), as the attach tests
use it: programs keyed by section name, maps by name (``.bss``/``.data``/``.rodata`` by section),
global integers read and written by name.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from pybpf import Map, Program


@dataclass
class LoadedObject:
    maps: dict[str, Map] = field(default_factory=dict)
    progs: dict[str, Program] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    #: global variable name -> (section, offset, size)
    vars: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: the pybpf.object.Object
    live: Any = None

    def close(self) -> None:
        if self.live is not None:
            self.live.close()

    def __enter__(self) -> LoadedObject:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def global_u64(self, section: str, offset: int = 0) -> int:
        return struct.unpack_from("<Q", self.globals_raw(section), offset)[0]

    def globals_raw(self, section: str = ".bss") -> bytes:
        return self.live.global_data(section)

    def get(self, name: str) -> int:
        """A global integer variable's current value (read through its section map)."""
        sec, off, size = self.vars[name]
        return int.from_bytes(self.globals_raw(sec)[off:off + size], "little")

    def set(self, name: str, value: int) -> None:
        _sec, _off, size = self.vars[name]
        self.live.variables[name].raw = value.to_bytes(size, "little")


def load_object(path: str, *, only: tuple[str, ...] | None = None,
                prog_opts: dict[str, dict[str, Any]] | None = None,
                map_opts: dict[str, dict[str, Any]] | None = None) -> LoadedObject:
    """Load ``path`` with pybpf.object (``only`` restricts to those section names).

    ``prog_opts[section]`` sets program attributes (``expected_attach_type``, ``type``...),
    ``map_opts[name]`` map attributes (``max_entries``, ``flags``...) before loading.
    """
    from pybpf.object import ObjectSpec

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
