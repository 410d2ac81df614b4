"""On-disk cache of what it costs to open a big BTF (vmlinux): record offsets and indexes.

Opening vmlinux BTF from scratch means walking ~130 000 type records and sorting their names;
the result depends only on the bytes, so it is stored once per distinct BTF content and reused
by the next process:

* the key is a fast content hash (:func:`content_key`: length, CRC-32 and Adler-32 of the
  bytes, ~3 ms for vmlinux), so a new kernel (or a different ``kernel_btf=`` file) never sees
  a stale entry;
* entries live in ``$XDG_CACHE_HOME/pybpf`` (else ``~/.cache/pybpf``); when that is not
  writable, in a private ``pybpf-<uid>`` directory under the system temp dir that we own and
  nobody else can write; when neither works, nothing is cached;
* writes are atomic (a unique temporary file in the same directory, then ``os.replace``);
* an entry carries a CRC-32 of its payload and sanity checks against the BTF it describes: a
  corrupt, truncated or foreign entry is ignored and rewritten.

An entry (:class:`IndexEntry`) holds the record word offsets, the sorted name index, and the
columns :class:`pybpf.btf.table.TypeTable` is built from (info and size/type words, names).
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import zlib
from array import array
from typing import Any

__all__ = ["IndexEntry", "cache_dir", "content_key", "load_entry", "store_entry", "FORMAT_VERSION"]

FORMAT_VERSION = 1
#: Entries kept per cache directory (one per kernel/BTF seen); the oldest go first.
MAX_ENTRIES = 8
_MAGIC = b"PYBPFBTI"
# magic, version, byte order (0 little / 1 big), data length, crc32, adler32, n types,
# n named, names blob length, payload crc32
_HEADER = struct.Struct("<8sIIQIIIIII")


class IndexEntry:
    """What the cache stores for one BTF content (all arrays are ``array('I')``)."""

    __slots__ = ("word_offsets", "name_order", "infos", "size_type", "names_blob")

    def __init__(self, word_offsets: array, name_order: array, infos: array, size_type: array,
                 names_blob: bytes) -> None:
        self.word_offsets = word_offsets
        self.name_order = name_order
        self.infos = infos
        self.size_type = size_type
        #: type names joined by NUL, one per local type id (ASCII-safe as stored in BTF)
        self.names_blob = names_blob


def content_key(data: Any) -> str:
    """The cache key of BTF bytes: length, CRC-32 and Adler-32, as hex."""
    return f"{len(data):x}-{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _usable_dir(path: str) -> bool:
    """``path`` exists (or was created) as a directory we own and only we can write."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    if st.st_mode & 0o022:
        return False
    return os.access(path, os.W_OK | os.X_OK)


_dir_memo: dict[str, str | None] = {}


def cache_dir() -> str | None:
    """The directory cache entries go to, or None when no safe writable place exists.

    ``$XDG_CACHE_HOME/pybpf``, else ``~/.cache/pybpf``; when that cannot be used, a private
    ``pybpf-<uid>`` directory in the temp dir (``$TMPDIR`` or ``/tmp``).
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = os.path.expanduser("~")
    key = f"{xdg}\0{home}"
    if key in _dir_memo:
        return _dir_memo[key]
    candidates = []
    if xdg and os.path.isabs(xdg):
        candidates.append(os.path.join(xdg, "pybpf"))
    if home and home != "~" and os.path.isabs(home):
        candidates.append(os.path.join(home, ".cache", "pybpf"))
    tmp = os.environ.get("TMPDIR") or "/tmp"
    candidates.append(os.path.join(tmp, f"pybpf-{os.geteuid()}"))
    found = next((c for c in candidates if _usable_dir(c)), None)
    _dir_memo[key] = found
    return found


def entry_path(key: str, directory: str | None = None) -> str | None:
    """Where the entry for ``key`` lives (None when there is no cache directory)."""
    d = directory if directory is not None else cache_dir()
    return None if d is None else os.path.join(d, f"btf-{key}.idx")


def _order_flag() -> int:
    return 0 if sys.byteorder == "little" else 1


def load_entry(data: Any, key: str, directory: str | None = None) -> IndexEntry | None:
    """The cached entry for ``data`` (whose :func:`content_key` is ``key``), or None.

    Anything wrong with the file (missing, truncated, corrupt, other format version or byte
    order, describing other bytes) gives None; the caller rebuilds and stores a fresh entry.
    """
    path = entry_path(key, directory)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    if len(blob) < _HEADER.size:
        return None
    (magic, version, order, data_len, crc, adler, n_types, n_named, names_len,
     payload_crc) = _HEADER.unpack_from(blob, 0)
    if magic != _MAGIC or version != FORMAT_VERSION or order != _order_flag():
        return None
    if f"{data_len:x}-{crc:08x}{adler:08x}" != key or data_len != len(data):
        return None
    payload = memoryview(blob)[_HEADER.size:]
    if len(payload) != 4 * (3 * n_types + n_named) + names_len or zlib.crc32(payload) != payload_crc:
        return None
    pos = 0

    def take(count: int) -> array:
        nonlocal pos
        a = array("I")
        a.frombytes(payload[pos:pos + 4 * count])
        pos += 4 * count
        return a

    woff = take(n_types)
    order_ids = take(n_named)
    infos = take(n_types)
    size_type = take(n_types)
    names_blob = bytes(payload[pos:pos + names_len])
    return IndexEntry(woff, order_ids, infos, size_type, names_blob)


def store_entry(data: Any, key: str, entry: IndexEntry, directory: str | None = None) -> bool:
    """Write ``entry`` for ``data`` atomically; False when it could not be written (ignored)."""
    path = entry_path(key, directory)
    if path is None:
        return False
    payload = b"".join((entry.word_offsets.tobytes(), entry.name_order.tobytes(), entry.infos.tobytes(),
                        entry.size_type.tobytes(), entry.names_blob))
    crc = zlib.crc32(data)
    adler = zlib.adler32(data)
    header = _HEADER.pack(_MAGIC, FORMAT_VERSION, _order_flag(), len(data), crc, adler,
                          len(entry.word_offsets), len(entry.name_order), len(entry.names_blob),
                          zlib.crc32(payload))
    tmp = f"{path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
        os.replace(tmp, path)
        _prune(os.path.dirname(path), keep=path)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def _prune(directory: str, keep: str) -> None:
    """Drop the least recently written entries beyond :data:`MAX_ENTRIES` (and stale temps)."""
    try:
        names = [n for n in os.listdir(directory) if n.startswith("btf-")]
        entries = []
        for n in names:
            full = os.path.join(directory, n)
            st = os.lstat(full)
            if n.endswith(".tmp") and st.st_mtime < _now() - 3600:
                os.unlink(full)  # left behind by a killed writer
            elif n.endswith(".idx"):
                entries.append((st.st_mtime, full))
        entries.sort(reverse=True)
        for _, full in entries[MAX_ENTRIES:]:
            if full != keep:
                os.unlink(full)
    except OSError:
        pass


def _now() -> float:
    import time

    return time.time()
