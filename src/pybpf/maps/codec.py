"""Key and value codecs: how Python objects become map keys and values and back.

Every :class:`~pybpf.Map` operation passes keys through ``map.key_codec`` and values through
``map.value_codec``; nothing else converts. The default codecs take and return ``bytes`` of
exactly the map's key/value size. The BTF layer plugs typed codecs in (``map.key_codec =
...``) without any change to the map methods. For per-CPU maps the value codec handles one
CPU's value; the map splits and joins the per-CPU slots.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol, runtime_checkable

from pybpf.errors import InvalidArgumentError

__all__ = ["Codec", "BytesCodec", "FdValueCodec"]


@runtime_checkable
class Codec(Protocol):
    """Converts between Python objects and the ``size`` raw bytes the kernel stores."""

    size: int

    def encode(self, obj: Any) -> bytes | bytearray | memoryview:
        """Raw bytes (exactly ``size`` of them) for ``obj``; raise InvalidArgumentError if it
        cannot be represented."""

    def decode(self, data: bytes) -> Any:
        """The Python object for ``size`` raw bytes."""


class BytesCodec:
    """Raw bytes in, raw bytes out; checks the length. ``what`` is "key" or "value"."""

    __slots__ = ("size", "what", "owner")

    def __init__(self, size: int, what: str = "value", owner: str = "map") -> None:
        self.size = size
        self.what = what
        self.owner = owner

    def encode(self, obj: Any) -> bytes | bytearray | memoryview:
        if not isinstance(obj, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(
                f"{self.owner}: {self.what} must be bytes of length {self.size}, "
                f"not {type(obj).__name__}")
        n = obj.nbytes if isinstance(obj, memoryview) else len(obj)
        if n != self.size:
            raise InvalidArgumentError(
                f"{self.owner}: {self.what} is {n} bytes, expected {self.size}")
        return obj

    def decode(self, data: bytes) -> bytes:
        return data

    def __repr__(self) -> str:
        return f"BytesCodec({self.size})"


_U32 = struct.Struct("<I" if struct.pack("=I", 1)[0] == 1 else ">I")


class FdValueCodec(BytesCodec):
    """Values of maps that store kernel objects by descriptor (program arrays, map-in-maps,
    perf event arrays, sockmaps, devmaps...): accepts raw bytes, a descriptor number, or any
    object with ``fileno()`` (a Map, a Program, an FD) when updating. Lookups return the raw
    bytes the kernel gives back (an object id for map-in-maps)."""

    __slots__ = ()

    def encode(self, obj: Any) -> bytes | bytearray | memoryview:
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return super().encode(obj)
        fd = obj.fileno() if hasattr(obj, "fileno") else obj
        if isinstance(fd, bool) or not isinstance(fd, int) or not 0 <= fd < 1 << 31:
            raise InvalidArgumentError(
                f"{self.owner}: {self.what} must be a file descriptor, an object with fileno() "
                f"or {self.size} bytes, not {obj!r}")
        raw = _U32.pack(fd)
        if self.size != 4:
            if self.size < 4:
                raise InvalidArgumentError(f"{self.owner}: {self.size}-byte value cannot hold an fd")
            raw += bytes(self.size - 4)
        return raw
