"""The running kernel's BTF: vmlinux (lazily, with the on-disk index cache) and modules.

``kernel_btf()`` is what CO-RE, kfunc and attach-target lookups ask for. The first call in a
process maps ``/sys/kernel/btf/vmlinux`` read-only (falling back to reading it), keys it by
content and either installs the cached record offsets and name index
(:mod:`pybpf.btf.cache`) or computes and stores them; later calls return the same object.
Types are decoded only when asked for.

``kernel_btf(path)`` loads another kernel's BTF instead (CO-RE against a kernel that is not
the running one: a raw BTF file such as /sys/kernel/btf/vmlinux copied elsewhere, or an ELF
``vmlinux`` with a ``.BTF`` section); it is cached the same way.

``module_btf(name)`` loads ``/sys/kernel/btf/<name>`` as split BTF on top of vmlinux (needs
``CONFIG_DEBUG_INFO_BTF_MODULES``, Linux 5.11+).

Only reads files under /sys/kernel/btf; no syscalls beyond open/mmap/read.
"""

from __future__ import annotations

import errno
import mmap
import os
import _thread  # threading's Lock without importing threading (start-up time)
from typing import Any

from pybpf.errors import BTFError, NotFoundError
from pybpf.btf import cache as _cache
from pybpf.btf.spec import BTF

__all__ = [
    "SYSFS_BTF_DIR",
    "VMLINUX_PATH",
    "kernel_btf",
    "module_btf",
    "module_names",
    "open_btf_file",
    "clear_kernel_btf",
    "defer_cache_writes",
]

SYSFS_BTF_DIR = "/sys/kernel/btf"
VMLINUX_PATH = SYSFS_BTF_DIR + "/vmlinux"

_lock = _thread.allocate_lock()
_loaded: dict[str, BTF] = {}
_defer_writes = False


def defer_cache_writes(enabled: bool = True) -> None:
    """Make a cache miss cheap for this process (for short-lived front ends such as the tools).

    When on, a BTF that is not in the on-disk index cache is returned as soon as its records
    are scanned: its names are looked up by searching its bytes (:mod:`pybpf.btf.name_search`)
    until something asks for the whole name index, and the cache entry is computed and written
    by a detached background process (at lower priority, atomically: temporary file, then
    rename), so the next process starts warm. Off by default: the entry is written before
    :func:`kernel_btf` returns.
    """
    global _defer_writes
    _defer_writes = enabled


class _SearchedBTF(BTF):
    """A base BTF answering name lookups from its bytes until a name index is built or set."""

    def _find_local(self, name: str) -> list[int]:
        if self._name_index is None and self._name_order is None and name:
            from pybpf.btf.name_search import ids_named

            return ids_named(self, name)
        return super()._find_local(name)

    def ids_by_name_prefix(self, prefix: bytes) -> list[tuple[int, bytes]] | None:
        """``(type id, name)`` of the types whose name starts with ``prefix`` (ids ascending
        per name), found without a name index; None once an index exists (use it instead)."""
        if self._name_index is not None or self._name_order is not None or not prefix:
            return None
        from pybpf.btf.name_search import ids_with_name_offset, names_with_prefix

        out = []
        for off, name in names_with_prefix(self, prefix):
            out.extend((tid, name) for tid in ids_with_name_offset(self, off))
        return out


def _read(path: str) -> Any:
    """The file's bytes: for sysfs BTF a private read-only mmap when the kernel allows it (Linux
    6.16+; the mapping shares the kernel's pages instead of copying megabytes into the
    process), else ``bytes``. Regular files are read, not mapped: one truncated by someone
    else while mapped would kill the process with SIGBUS."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise NotFoundError(f"BTF file {path} does not exist", errno=errno.ENOENT) from None
    except OSError as exc:
        raise BTFError(f"cannot open BTF file {path}: {exc.strerror}", errno=exc.errno) from None
    try:
        size = os.fstat(fd).st_size
        if size > 0 and os.path.realpath(path).startswith(SYSFS_BTF_DIR + "/"):
            try:
                return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
            except (OSError, ValueError):
                pass
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 22)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise BTFError(f"cannot read BTF file {path}: {exc.strerror}", errno=exc.errno) from None
    finally:
        os.close(fd)


def _btf_bytes_of(path: str, data: Any) -> Any:
    """Raw BTF inside ``data``: the bytes themselves, or the ``.BTF`` section of an ELF file."""
    from pybpf.btf.elf import btf_section, is_elf

    if is_elf(data):
        return btf_section(data, path)
    return data


def open_btf_file(path: str, base: BTF | None = None, *, use_cache: bool = True) -> BTF:
    """Parse the BTF in ``path`` (raw BTF or an ELF file with ``.BTF``), using the index cache.

    ``base`` makes it split BTF. The cache is used for base (non-split) BTF only: split BTF
    of modules is small enough to scan.
    """
    data = _btf_bytes_of(path, _read(path))
    if base is not None or not use_cache:
        return BTF.parse(data, base)
    return parse_with_cache(data)


def parse_with_cache(data: Any, directory: str | None = None) -> BTF:
    """Parse base BTF ``data``, taking record offsets and name index from the on-disk cache.

    On a miss (or an unusable entry) the BTF is parsed normally, its name index and table
    columns computed, and a fresh entry stored for the next process.
    """
    key = _cache.content_key(data)
    entry = _cache.load_entry(data, key, directory)
    if entry is not None:
        btf = _from_entry(data, entry)
        if btf is not None:
            return btf
    if _defer_writes:
        from pybpf.btf import name_search

        btf = _SearchedBTF.parse(data)
        if name_search.usable(btf):
            _store_in_background(btf, data, key, directory)
            return btf
    else:
        btf = BTF.parse(data)
    order = btf.build_name_order()
    btf.set_name_order(order)
    entry = _make_entry(btf, order)
    _cache.store_entry(data, key, entry, directory)
    return btf


def _store_in_background(btf: BTF, data: Any, key: str, directory: str | None) -> None:
    """Compute and store ``btf``'s cache entry in a detached grandchild process (nothing when
    there is no cache directory or no process can be forked: the next process tries again).

    The grandchild closes every inherited descriptor first (it must not keep BPF objects, the
    caller's pipes or terminal open), ignores SIGINT (a Ctrl-C meant for the tool), lowers its
    priority and leaves with ``os._exit``; the entry is written atomically by
    :func:`pybpf.btf.cache.store_entry`. The intermediate child is reaped here at once.
    """
    directory = directory if directory is not None else _cache.cache_dir()
    if directory is None:
        return
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:  # child: fork the worker and leave, so that init adopts it
        code = 0
        try:
            if os.fork() == 0:
                code = 1
                try:
                    import signal

                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    os.closerange(0, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
                    os.nice(10)
                    order = btf.build_name_order()
                    _cache.store_entry(data, key, _make_entry(btf, order), directory)
                    code = 0
                finally:
                    os._exit(code)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def _from_entry(data: Any, entry: _cache.IndexEntry) -> BTF | None:
    """A BTF built from a cache entry, or None when the entry does not fit the bytes."""
    try:
        btf = BTF._parse(data, None, entry.word_offsets)
    except BTFError:
        return None
    woff = entry.word_offsets
    words = btf.words
    n = len(woff)
    if not (n == len(entry.infos) == len(entry.size_type)):
        return None
    if n:
        # Cheap consistency checks: first record at word 0, the last one ends the section,
        # the recorded info/size words match the bytes at both ends.
        from pybpf.btf.spec import _FIXED, _PER

        last = woff[-1]
        info = words[last + 1] if last + 1 < len(words) else -1
        fixed = _FIXED[(info >> 24) & 0x1F] if info >= 0 else None
        if woff[0] != 0 or fixed is None or last + fixed + _PER[(info >> 24) & 0x1F] * (info & 0xFFFF) != len(words):
            return None
        if entry.infos[-1] != info or entry.infos[0] != words[1] or entry.size_type[0] != words[2]:
            return None
    elif len(words):
        return None
    btf.set_name_order(entry.name_order)
    btf._table_columns = (entry.infos, entry.size_type, entry.names_blob)
    return btf


def _make_entry(btf: BTF, order: Any) -> _cache.IndexEntry:
    from array import array

    words = btf.words
    woff = btf.word_offsets
    infos = array("I", [words[w + 1] for w in woff])
    size_type = array("I", [words[w + 2] for w in woff])
    btf.load_strings()
    string = btf.string
    names = [string(words[w]) if words[w] else "" for w in woff]
    return _cache.IndexEntry(array("I", woff), array("I", order), infos, size_type, "\0".join(names).encode())


def kernel_btf(path: str | None = None, *, use_cache: bool = True) -> BTF:
    """The kernel's BTF: the running kernel's vmlinux, or the BTF file at ``path``.

    Loaded once per process and path (later calls return the same object). ``use_cache=False``
    skips the on-disk index cache (and does not memoize). Needs a kernel built with
    ``CONFIG_DEBUG_INFO_BTF`` (Linux 5.4+) when ``path`` is None.
    """
    target = path or VMLINUX_PATH
    if use_cache:
        btf = _loaded.get(target)
        if btf is not None:
            return btf
    with _lock:
        if use_cache and target in _loaded:
            return _loaded[target]
        try:
            btf = open_btf_file(target, use_cache=use_cache)
        except NotFoundError:
            if path is None:
                raise NotFoundError(
                    f"kernel BTF {VMLINUX_PATH} not found: the kernel needs CONFIG_DEBUG_INFO_BTF=y; "
                    "pass kernel_btf=PATH to use a BTF file instead"
                ) from None
            raise
        if use_cache:
            _loaded[target] = btf
        return btf


def module_names() -> list[str]:
    """Names of the kernel modules with BTF under /sys/kernel/btf (not vmlinux)."""
    try:
        return sorted(n for n in os.listdir(SYSFS_BTF_DIR) if n != "vmlinux")
    except OSError:
        return []


def module_btf(name: str, base: BTF | None = None) -> BTF:
    """Split BTF of kernel module ``name`` (/sys/kernel/btf/NAME) on top of vmlinux (or ``base``).

    Loaded on demand and memoized per process. Needs Linux 5.11+ with
    ``CONFIG_DEBUG_INFO_BTF_MODULES``.
    """
    if not name or "/" in name or name in (".", ".."):
        raise BTFError(f"invalid kernel module name {name!r}")
    key = f"{SYSFS_BTF_DIR}/{name}"
    if base is None:
        btf = _loaded.get(key)
        if btf is not None:
            return btf
        base = kernel_btf()
    try:
        btf = BTF.parse(_read(key), base)
    except NotFoundError:
        raise NotFoundError(
            f"no BTF for kernel module '{name}' ({key}): module not loaded, or the kernel lacks "
            "CONFIG_DEBUG_INFO_BTF_MODULES"
        ) from None
    if base is _loaded.get(VMLINUX_PATH):
        _loaded[key] = btf
    return btf


def clear_kernel_btf() -> None:
    """Forget the process-wide kernel BTF objects (the next call reloads them)."""
    with _lock:
        _loaded.clear()
