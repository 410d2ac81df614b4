"""Live BPF maps (``Map``), usable with or without an ELF object.

The names are imported from their modules on first use: ``from pybpf.maps.info import
MapInfo`` does not load the element operations.
"""

from __future__ import annotations

from pybpf.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

