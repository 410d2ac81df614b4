"""On-disk cache of what it costs to open a big BTF (vmlinux): record offsets and indexes.

Opening vmlinux BTF from scratch means walking ~130 000 type records and sorting their names;
the result depends only on the bytes, so it is stored once per distinct BTF content and reused
by the next process:

* the key is a fast content hash (:func:`content_key`: length and CRC-32 of the bytes, ~2 ms
  for vmlinux; zlib's CRC-32 is hardware-assisted, Adler-32 took three times as long for no
  real gain: a stale hit needs another BTF of the very same length with the same CRC, and
  its first and last records must still match the entry), so a new kernel (or a different
  ``kernel_btf=`` file) never sees a stale entry;
* entries live in ``$XDG_CACHE_HOME/pybpf`` (else ``~/.cache/pybpf``); when that is not
  writable, in a private ``pybpf-<uid>`` directory under the system temp dir that we own and
  nobody else can write; when neither works, nothing is cached;
* writes are atomic (a unique temporary file in the same directory, then ``os.replace``);
* an entry carries a CRC-32 of its payload and sanity checks against the BTF it describes: a
  corrupt, truncated or foreign entry is ignored and rewritten.

An entry (:class:`IndexEntry`) holds the record word offsets, the sorted name index, and the
columns :class:`pybpf.btf.table.TypeTable` is built from (info and size/type words, names).

The same directory and rules serve byte blobs computed from BTF content (:func:`load_blob` /
:func:`store_blob`: the C header :func:`pybpf.btf.dump_c.dump_c_cached` writes), keyed by the
caller's content key, with their own bound on the number of entries.

``PYBPF_NO_CACHE=1`` in the environment turns every on-disk cache off (nothing is read or
written; everything is computed).
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import zlib
from array import array
from typing import Any

__all__ = ["IndexEntry", "cache_dir", "content_key", "load_entry", "store_entry", "load_blob", "store_blob",
           "cache_disabled", "FORMAT_VERSION", "NO_CACHE_ENV"]

FORMAT_VERSION = 2
#: Entries kept per cache directory (one per kernel/BTF seen); the oldest go first.
MAX_ENTRIES = 8
#: Blob entries kept per cache directory and prefix (a vmlinux.h is a few MB).
MAX_BLOB_ENTRIES = 4
#: Environment variable that turns the on-disk caches off when set to anything but "" or "0".
NO_CACHE_ENV = "PYBPF_NO_CACHE"
_MAGIC = b"PYBPFBTI"
# magic, version, byte order (0 little / 1 big), data length, crc32, 0 (reserved), n types,
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
    """The cache key of BTF bytes: length and CRC-32, as hex."""
    return f"{len(data):x}-{zlib.crc32(data):08x}"


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


def cache_disabled() -> bool:
    """Whether ``PYBPF_NO_CACHE`` turns the on-disk caches off."""
    return os.environ.get(NO_CACHE_ENV, "") not in ("", "0")


def cache_dir() -> str | None:
    """The directory cache entries go to, or None when no safe writable place exists (or
    ``PYBPF_NO_CACHE`` is set).

    ``$XDG_CACHE_HOME/pybpf``, else ``~/.cache/pybpf``; when that cannot be used, a private
    ``pybpf-<uid>`` directory in the temp dir (``$TMPDIR`` or ``/tmp``).
    """
    if cache_disabled():
        return None
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


_ZERO = (0,)


def load_entry(data: Any, key: str, directory: str | None = None) -> IndexEntry | None:
    """The cached entry for ``data`` (whose :func:`content_key` is ``key``), or None.

    Anything wrong with the file (missing, truncated, corrupt, other format version or byte
    order, describing other bytes) gives None; the caller rebuilds and stores a fresh entry.
    """
    path = entry_path(key, directory)
    if path is None:
        return None
    # The payload is read straight into its arrays (no intermediate copy of a few MB), with
    # its CRC-32 computed along the way.
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER.size)
            if len(head) < _HEADER.size:
                return None
            (magic, version, order, data_len, crc, _reserved, n_types, n_named, names_len,
             payload_crc) = _HEADER.unpack(head)
            if magic != _MAGIC or version != FORMAT_VERSION or order != _order_flag():
                return None
            if f"{data_len:x}-{crc:08x}" != key or data_len != len(data):
                return None
            if os.fstat(f.fileno()).st_size != _HEADER.size + 4 * (3 * n_types + n_named) + names_len:
                return None
            columns = []
            running = 0
            for count in (n_types, n_named, n_types, n_types):
                a = array("I", _ZERO) * count
                if f.readinto(a) != 4 * count:
                    return None
                running = zlib.crc32(a, running)
                columns.append(a)
            names_blob = f.read(names_len)
    except OSError:
        return None
    if len(names_blob) != names_len or zlib.crc32(names_blob, running) != payload_crc:
        return None
    woff, order_ids, infos, size_type = columns
    return IndexEntry(woff, order_ids, infos, size_type, names_blob)


def store_entry(data: Any, key: str, entry: IndexEntry, directory: str | None = None) -> bool:
    """Write ``entry`` for ``data`` atomically; False when it could not be written (ignored)."""
    path = entry_path(key, directory)
    if path is None:
        return False
    payload = b"".join((entry.word_offsets.tobytes(), entry.name_order.tobytes(), entry.infos.tobytes(),
                        entry.size_type.tobytes(), entry.names_blob))
    crc = zlib.crc32(data)
    header = _HEADER.pack(_MAGIC, FORMAT_VERSION, _order_flag(), len(data), crc, 0,
                          len(entry.word_offsets), len(entry.name_order), len(entry.names_blob),
                          zlib.crc32(payload))
    if not _write_atomically(path, (header, payload)):
        return False
    _prune(os.path.dirname(path), keep=path, prefix="btf-", suffix=".idx", limit=MAX_ENTRIES)
    return True


def _write_atomically(path: str, chunks: tuple[bytes, ...]) -> bool:
    """Write ``chunks`` to ``path`` through a unique temporary file and ``os.replace``."""
    tmp = f"{path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


# ---------------------------------------------------------------------- blobs
_BLOB_MAGIC = b"PYBPFBLB"
# magic, version, key length, payload length, payload crc32 (the key follows the header)
_BLOB_HEADER = struct.Struct("<8sIIQI")
_BLOB_PREFIXES = frozenset({"dumpc"})


def _blob_path(prefix: str, key: str, directory: str | None) -> str | None:
    if prefix not in _BLOB_PREFIXES or not key or "/" in key or "\0" in key or len(key) > 200:
        raise ValueError(f"bad cache blob name {prefix!r}/{key!r}")
    d = directory if directory is not None else cache_dir()
    return None if d is None else os.path.join(d, f"{prefix}-{key}.blob")


def load_blob(prefix: str, key: str, directory: str | None = None) -> bytes | None:
    """The bytes stored under ``prefix``/``key``, or None (missing, unreadable, truncated,
    corrupt, written by another format version or for another key: all ignored)."""
    path = _blob_path(prefix, key, directory)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    if len(blob) < _BLOB_HEADER.size:
        return None
    magic, version, key_len, payload_len, crc = _BLOB_HEADER.unpack_from(blob, 0)
    start = _BLOB_HEADER.size + key_len
    if magic != _BLOB_MAGIC or version != FORMAT_VERSION or len(blob) != start + payload_len:
        return None
    if blob[_BLOB_HEADER.size:start] != key.encode():
        return None
    payload = memoryview(blob)[start:]
    if zlib.crc32(payload) != crc:
        return None
    return bytes(payload)


def store_blob(prefix: str, key: str, payload: bytes, directory: str | None = None) -> bool:
    """Store ``payload`` under ``prefix``/``key`` atomically (keeping at most
    :data:`MAX_BLOB_ENTRIES` per prefix); False when it could not be written (ignored)."""
    path = _blob_path(prefix, key, directory)
    if path is None:
        return False
    raw_key = key.encode()
    header = _BLOB_HEADER.pack(_BLOB_MAGIC, FORMAT_VERSION, len(raw_key), len(payload), zlib.crc32(payload))
    if not _write_atomically(path, (header, raw_key, payload)):
        return False
    _prune(os.path.dirname(path), keep=path, prefix=f"{prefix}-", suffix=".blob", limit=MAX_BLOB_ENTRIES)
    return True


def _prune(directory: str, keep: str, prefix: str, suffix: str, limit: int) -> None:
    """Drop the least recently written ``prefix*suffix`` entries beyond ``limit`` (and stale
    temporary files of that prefix)."""
    try:
        entries = []
        for n in os.listdir(directory):
            if not n.startswith(prefix):
                continue
            full = os.path.join(directory, n)
            st = os.lstat(full)
            if n.endswith(".tmp") and st.st_mtime < _now() - 3600:
                os.unlink(full)  # left behind by a killed writer
            elif n.endswith(suffix):
                entries.append((st.st_mtime, full))
        entries.sort(reverse=True)
        for _, full in entries[limit:]:
            if full != keep:
                os.unlink(full)
    except OSError:
        pass


def _now() -> float:
    import time

    return time.time()
