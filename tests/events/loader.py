"""The events tests' view of an object loaded by the object loader (pybpf.object).

Maps are keyed by name (global data maps by their section name: ``.rodata``, ``.bss``...),
programs by name, and read and written as raw bytes, as these tests expect (the object loader
gives its maps BTF-typed keys and values; this view puts the plain byte codecs back).
``sizes`` sets maps' ``max_entries`` before loading, ``only`` restricts loading to those
programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pybpf.maps import Map
from pybpf.programs import Program


@dataclass
class Loaded:
    """Maps and programs of one loaded object; close() releases all of them."""

    maps: dict[str, Map] = field(default_factory=dict)
    progs: dict[str, Program] = field(default_factory=dict)
    live: Any = None

    def close(self) -> None:
        if self.live is not None:
            self.live.close()

    def __enter__(self) -> Loaded:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _raw_codecs(m: Map) -> None:
    from pybpf.maps.codec import BytesCodec, FdValueCodec
    from pybpf.maps.types import FD_VALUE_TYPES

    owner = m._label()
    m.key_codec = BytesCodec(m.key_size, "key", owner)
    m.value_codec = (FdValueCodec if m.type in FD_VALUE_TYPES else BytesCodec)(m.value_size, "value", owner)


def load(path: str, *, sizes: dict[str, int] | None = None, vmlinux: Any = None,
         only: list[str] | None = None) -> Loaded:
    """Open ``path`` with :class:`pybpf.object.ObjectSpec` and load it. ``vmlinux`` is not
    needed any more (the loader finds attach targets in the kernel's BTF itself)."""
    from pybpf.object import ObjectSpec

    spec = ObjectSpec.open(path)
    for name, size in (sizes or {}).items():
        spec.maps[name].max_entries = size
    if only is not None:
        for prog in spec.programs.values():
            prog.autoload = prog.name in only
    live = spec.load()
    out = Loaded(live=live)
    for name in live.maps:
        mp = live.maps.spec(name)
        m = live.maps[name]
        _raw_codecs(m)
        out.maps[mp.real_name if mp.is_internal else name] = m
    out.progs.update(live.programs)
    return out
