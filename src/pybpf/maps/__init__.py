"""Live BPF maps (``Map``), usable with or without an ELF object.

The names are imported from their modules on first use: ``from pybpf.maps.info import
MapInfo`` does not load the element operations.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.maps.codec import BytesCodec, Codec, FdValueCodec
    from pybpf.maps.info import MapInfo
    from pybpf.maps.map import BatchResult, Map

__all__ = ["Map", "MapInfo", "BatchResult", "Codec", "BytesCodec", "FdValueCodec"]

_LAZY = {
    "Map": "pybpf.maps.map", "BatchResult": "pybpf.maps.map", "MapInfo": "pybpf.maps.info",
    "Codec": "pybpf.maps.codec", "BytesCodec": "pybpf.maps.codec",
    "FdValueCodec": "pybpf.maps.codec",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
