"""String tables (``SHT_STRTAB``): NUL-terminated names addressed by byte offset."""

from __future__ import annotations

from typing import Protocol

from pybpf.errors import ELFError

__all__ = ["StringTable", "decode_name"]


class _Findable(Protocol):
    def find(self, sub: bytes, start: int = ..., end: int = ...) -> int: ...
    def __getitem__(self, item: slice) -> bytes: ...


def decode_name(raw: bytes) -> str:
    """ELF names are bytes; decode as UTF-8 keeping undecodable bytes (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


class StringTable:
    """A string table inside the file: ``table[offset]`` returns the name starting there.

    ``raw`` is the file's bytes (``bytes`` or ``mmap``; both have ``find``), ``start``/``size``
    the table's place in it. Offsets outside the table and names without a terminating NUL
    inside it raise :class:`ELFError` naming ``what`` (the table and its user).
    """

    __slots__ = ("_raw", "start", "size", "what", "_cache")

    def __init__(self, raw: _Findable, start: int, size: int, what: str) -> None:
        self._raw = raw
        self.start = start
        self.size = size
        self.what = what
        self._cache: dict[int, str] = {}

    def get(self, offset: int, *, user: str = "") -> str:
        """The NUL-terminated string at ``offset``; ``user`` is added to error messages."""
        cached = self._cache.get(offset)
        if cached is not None:
            return cached
        if offset == 0 and self.size == 0:
            return ""
        if offset >= self.size:
            raise ELFError(
                f"{user + ': ' if user else ''}name offset {offset} is outside string table "
                f"{self.what} ({self.size} bytes at file offset 0x{self.start:x})"
            )
        begin = self.start + offset
        end = self._raw.find(b"\0", begin, self.start + self.size)
        if end < 0:
            raise ELFError(
                f"{user + ': ' if user else ''}name at offset {offset} of string table {self.what} "
                f"(file offset 0x{begin:x}) is not NUL-terminated inside the table"
            )
        name = decode_name(self._raw[begin:end])
        self._cache[offset] = name
        return name

    __getitem__ = get

    def offsets_of(self, name: bytes) -> list[int]:
        """Every offset (relative to the table) where exactly ``name`` + NUL is stored.

        A symbol whose ``st_name`` is one of these offsets is named ``name`` (linkers share
        suffixes, so a name may also sit at the tail of a longer string).
        """
        key = name + b"\0"
        found: list[int] = []
        pos = self.start
        stop = self.start + self.size
        raw = self._raw
        while True:
            pos = raw.find(key, pos, stop)
            if pos < 0:
                return found
            found.append(pos - self.start)
            pos += 1

    def offsets_with_prefix(self, prefix: bytes) -> list[int]:
        """Offsets of every string starting at a place where ``prefix`` is stored."""
        found: list[int] = []
        pos = self.start
        stop = self.start + self.size
        raw = self._raw
        while True:
            pos = raw.find(prefix, pos, stop)
            if pos < 0:
                return found
            found.append(pos - self.start)
            pos += 1
