"""Live BPF maps (``Map``), usable with or without an ELF object."""

from __future__ import annotations

from pybpf.maps.codec import BytesCodec, Codec, FdValueCodec
from pybpf.maps.info import MapInfo
from pybpf.maps.map import BatchResult, Map

__all__ = ["Map", "MapInfo", "BatchResult", "Codec", "BytesCodec", "FdValueCodec"]
