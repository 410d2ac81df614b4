"""``Map``: a live BPF map, created here or opened by pin path, id or descriptor.

Element operations take and return what the map's codecs produce (raw ``bytes`` by default,
see :mod:`pybpf.maps.codec`). Per-CPU maps return a list with one value per possible CPU and
take such a list on update. Queue and stack maps have no key: use :meth:`Map.push`,
:meth:`Map.pop` and :meth:`Map.peek`; bloom filters use :meth:`Map.push` and
:meth:`Map.may_contain`.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Sequence
from typing import Any, Iterator

from pybpf.errors import (
    BPFError,
    InvalidArgumentError,
    KeyNotFoundError,
    NoSpaceError,
    error_from_errno,
)
from pybpf.maps.codec import BytesCodec, Codec, FdValueCodec
from pybpf.maps.info import MapInfo, query_map_info
from pybpf.maps.types import (
    FD_VALUE_TYPES,
    MAP_IN_MAP_TYPES,
    NO_ELEMENT_OPS_TYPES,
    PERCPU_TYPES,
)
from pybpf.sys import uapi
from pybpf.sys.commands import attr_size, get_fd_by_id, obj_get, obj_pin
from pybpf.sys.consts import BPF_OBJ_NAME_LEN
from pybpf.sys.cpus import num_possible_cpus
from pybpf.sys.fd import FD
from pybpf.sys.names import map_type_name, parse_map_type
from pybpf.record import Record
from pybpf.sys.syscall import NR_BPF, bpf_raw, bpf_syscall, command_name

__all__ = ["Map", "BatchResult", "check_object_name"]

_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1

# Command numbers as plain ints (no enum needed on the hot paths).
_CMD = dict(uapi.enum_members("bpf_cmd"))
_MAP_CREATE = _CMD["BPF_MAP_CREATE"]
_LOOKUP = _CMD["BPF_MAP_LOOKUP_ELEM"]
_UPDATE = _CMD["BPF_MAP_UPDATE_ELEM"]
_DELETE = _CMD["BPF_MAP_DELETE_ELEM"]
_NEXT_KEY = _CMD["BPF_MAP_GET_NEXT_KEY"]
_LOOKUP_AND_DELETE = _CMD["BPF_MAP_LOOKUP_AND_DELETE_ELEM"]
_FREEZE = _CMD["BPF_MAP_FREEZE"]
_LOOKUP_BATCH = _CMD["BPF_MAP_LOOKUP_BATCH"]
_LOOKUP_AND_DELETE_BATCH = _CMD["BPF_MAP_LOOKUP_AND_DELETE_BATCH"]
_UPDATE_BATCH = _CMD["BPF_MAP_UPDATE_BATCH"]
_DELETE_BATCH = _CMD["BPF_MAP_DELETE_BATCH"]
_BLOOM_FILTER = dict(uapi.enum_members("bpf_map_type"))["BPF_MAP_TYPE_BLOOM_FILTER"]

_Elem = uapi.bpf_attr_map_elem
_ATTR = ctypes.sizeof(_Elem)
# Bytes of bpf_attr each element command reads. The kernel wants everything after a
# command's last field zero, so delete and get_next_key pass less than the prefilled block.
_ELEM_SIZE = attr_size(_Elem, "flags")
_KEY_SIZE = attr_size(_Elem, "key")
_NEXT_SIZE = attr_size(_Elem, "next_key")
_Batch = uapi.bpf_attr_batch
_BATCH_SIZE = attr_size(_Batch, "flags")
_Create = uapi.bpf_attr_map_create
_addressof = ctypes.addressof
_c_char = ctypes.c_char
_c_void_p = ctypes.c_void_p
_get_errno = ctypes.get_errno
_bpf = bpf_syscall
_NR = NR_BPF
_ENOENT = 2

# The attr blocks of a _Scratch, by what they point at: key->value, key->next, NULL->next,
# next->value, NULL->value.
_SLOT_ELEM, _SLOT_NEXT, _SLOT_FIRST, _SLOT_NEXT_VALUE, _SLOT_NO_KEY = range(5)


class _Scratch:
    """Preallocated buffers for one element operation on one map at a time.

    One ctypes block holds five ``bpf_attr`` element blocks, prefilled with the map's
    descriptor and the addresses of a key, a value and a next-key buffer in the same block
    (see the ``_SLOT_*`` names), so an operation only copies its key in, makes the system
    call and copies the answer out.

    A map keeps a pool (a list) of these; an operation pops one and appends it back when
    done. ``list.pop``/``list.append`` are atomic, so two threads using one map (ctypes
    releases the GIL during the system call), or a signal handler interrupting an operation
    on the same map, each work on their own buffers: an empty pool just means a fresh set.
    """

    __slots__ = ("key", "value", "next", "attrs", "ptrs", "_mem")

    def __init__(self, fd: int, key_size: int, value_size: int) -> None:
        ks, vs = max(key_size, 1), max(value_size, 1)
        koff = 5 * _ATTR
        voff = koff + ((ks + 7) & ~7)
        noff = voff + ((vs + 7) & ~7)
        mem = (_c_char * (noff + ks))()
        base = _addressof(mem)
        self._mem = mem
        self.key = (_c_char * ks).from_buffer(mem, koff)
        self.value = (_c_char * vs).from_buffer(mem, voff)
        self.next = (_c_char * ks).from_buffer(mem, noff)
        attrs = []
        for slot, (k, v) in enumerate(((koff, voff), (koff, noff), (0, noff), (noff, voff),
                                       (0, voff))):
            a = _Elem.from_buffer(mem, slot * _ATTR)
            a.map_fd = fd
            a.key = base + k if k else 0
            a.value = base + v
            attrs.append(a)
        self.attrs = attrs
        self.ptrs = [_c_void_p(base + slot * _ATTR) for slot in range(5)]


#: struct.Struct objects splitting batch buffers: (item size, count) -> Struct.
_SPLITTERS: dict[tuple[int, int], struct.Struct] = {}
_SPLIT_CHUNK = 1024


def _split(buf: Any, size: int, count: int) -> list[bytes]:
    """The first ``count`` consecutive ``size``-byte items of ``buf`` as bytes objects
    (one ``struct`` call per 1024 items instead of one slice each)."""
    out: list[bytes] = []
    offset = 0
    while count > 0:
        n = min(count, _SPLIT_CHUNK)
        splitter = _SPLITTERS.get((size, n))
        if splitter is None:
            splitter = struct.Struct(f"{size}s" * n)
            if n == _SPLIT_CHUNK:
                _SPLITTERS[(size, n)] = splitter
        out += splitter.unpack_from(buf, offset)
        offset += n * size
        count -= n
    return out


def _u32(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32_MAX:
        raise InvalidArgumentError(f"{what} must be an integer from 0 to {_U32_MAX}, not {value!r}")
    return value


def _u64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        raise InvalidArgumentError(f"{what} must be an integer from 0 to 2**64-1, not {value!r}")
    return value


def check_object_name(name: str, what: str) -> bytes:
    """The kernel's rule for map and program names: ``[A-Za-z0-9_.]``, at most 15 bytes
    (longer names are cut to 15, as libbpf does)."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"{what} name must be a str, not {type(name).__name__}")
    bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "_."))})
    if bad:
        raise InvalidArgumentError(
            f"{what} name {name!r} has characters the kernel refuses: {''.join(bad)!r} "
            f"(allowed: letters, digits, '_' and '.')")
    return name.encode()[: BPF_OBJ_NAME_LEN - 1]


def _fd_of(obj: Any, what: str) -> int:
    if obj is None:
        return 0
    if hasattr(obj, "fileno"):
        return int(obj.fileno())
    if isinstance(obj, int) and not isinstance(obj, bool) and obj >= 0:
        return obj
    raise InvalidArgumentError(f"{what} must be a descriptor or an object with fileno(), not {obj!r}")


class BatchResult(Record, frozen=False):
    """One batch of a batch lookup: the ``items`` read and the ``token`` to continue from
    (None once the whole map has been walked)."""

    items: list[tuple[Any, Any]]
    token: bytes | None

    @property
    def done(self) -> bool:
        return self.token is None


class Map:
    """A BPF map owned by this process (through an :class:`~pybpf.sys.FD`).

    Create one with :meth:`create`, or open an existing one with :meth:`from_pin`,
    :meth:`from_id` or :meth:`from_fd`. Close it with :meth:`close` or a ``with`` block
    (the kernel frees the map once nothing references it: no descriptor, pin or program).

    Element operations may be called from several threads at once (and from signal
    handlers): each call works on its own set of pooled buffers.
    """

    def __init__(self, fd: FD, info: MapInfo, *, name: str | None = None) -> None:
        self._fd = fd
        self._info = info
        self._id = info.id or None
        self.name = name if name is not None else info.name
        self.type = info.type
        self.key_size = info.key_size
        self.value_size = info.value_size
        self.max_entries = info.max_entries
        self.flags = info.map_flags
        self.pinned_path: str | None = None
        owner = self._label()
        fd.what = owner
        self._percpu = self.type in PERCPU_TYPES
        self._keyless = self.key_size == 0
        self._ncpus = num_possible_cpus() if self._percpu else 1
        self._stride = (self.value_size + 7) & ~7 if self._percpu else self.value_size
        #: bytes of one element's value as the kernel reads/writes it (all CPUs' slots)
        self._value_bytes = self._stride * self._ncpus
        self._pool: list[_Scratch] = []
        self._fast_key = self._fast = False
        self._key_codec: Codec = BytesCodec(self.key_size, "key", owner)
        value_codec = FdValueCodec if self.type in FD_VALUE_TYPES else BytesCodec
        self._value_codec: Codec = value_codec(self.value_size, "value", owner)
        self._codecs_changed()

    # ------------------------------------------------------------------ codecs

    @property
    def key_codec(self) -> Codec:
        """How keys are converted (see :mod:`pybpf.maps.codec`); assignable."""
        return self._key_codec

    @key_codec.setter
    def key_codec(self, codec: Codec) -> None:
        self._key_codec = codec
        self._codecs_changed()

    @property
    def value_codec(self) -> Codec:
        """How values (one CPU's value of per-CPU maps) are converted; assignable."""
        return self._value_codec

    @value_codec.setter
    def value_codec(self, codec: Codec) -> None:
        self._value_codec = codec
        self._codecs_changed()

    def _codecs_changed(self) -> None:
        # The fast paths copy exact-size bytes straight into the buffers and return the
        # kernel's bytes: exactly what the default BytesCodec does, minus the calls.
        plain_key = type(self._key_codec) is BytesCodec and self._key_codec.size == self.key_size
        plain_value = (type(self._value_codec) is BytesCodec
                       and self._value_codec.size == self.value_size and not self._percpu)
        self._fast_key = plain_key and not self._keyless
        self._fast = self._fast_key and plain_value

    # ------------------------------------------------------------------ construction

    @classmethod
    def create(
        cls,
        type: int | str,
        key_size: int,
        value_size: int,
        max_entries: int,
        *,
        name: str = "",
        flags: int = 0,
        inner_map: Any = None,
        numa_node: int | None = None,
        map_extra: int = 0,
        btf: Any = None,
        btf_key_type_id: int = 0,
        btf_value_type_id: int = 0,
        btf_vmlinux_value_type_id: int = 0,
        value_type_btf_obj_fd: Any = None,
        ifindex: int = 0,
    ) -> Map:
        """``BPF_MAP_CREATE``.

        ``type`` is a :class:`~pybpf.sys.uapi.bpf_map_type`, its number, or a name
        (``"hash"``). ``inner_map`` (a Map or descriptor) is the template of map-in-map
        values. ``numa_node`` sets ``BPF_F_NUMA_NODE``. ``map_extra`` is the bloom filter's
        number of hash functions or the arena's start address (Linux 5.16+). ``btf`` (a
        descriptor or object with ``fileno()``) with ``btf_key_type_id``/``btf_value_type_id``
        describes keys and values for the kernel.
        """
        map_type = parse_map_type(type)
        label = f"map '{name}' ({map_type_name(map_type)})" if name else f"{map_type_name(map_type)} map"
        attr = _Create()
        attr.map_type = map_type
        attr.key_size = _u32(key_size, f"{label}: key_size")
        attr.value_size = _u32(value_size, f"{label}: value_size")
        attr.max_entries = _u32(max_entries, f"{label}: max_entries")
        flags = _u32(flags, f"{label}: flags")
        if numa_node is not None:
            attr.numa_node = _u32(numa_node, f"{label}: numa_node")
            flags |= uapi.BPF_F_NUMA_NODE
        attr.map_flags = flags
        attr.map_name = check_object_name(name, "map")
        attr.inner_map_fd = _fd_of(inner_map, f"{label}: inner_map")
        if inner_map is not None and map_type not in MAP_IN_MAP_TYPES:
            raise InvalidArgumentError(f"{label}: inner_map is only for array_of_maps and hash_of_maps")
        attr.map_ifindex = _u32(ifindex, f"{label}: ifindex")
        attr.btf_fd = _fd_of(btf, f"{label}: btf")
        attr.btf_key_type_id = _u32(btf_key_type_id, f"{label}: btf_key_type_id")
        attr.btf_value_type_id = _u32(btf_value_type_id, f"{label}: btf_value_type_id")
        attr.btf_vmlinux_value_type_id = _u32(btf_vmlinux_value_type_id,
                                              f"{label}: btf_vmlinux_value_type_id")
        attr.map_extra = _u64(map_extra, f"{label}: map_extra")
        last = "map_extra"
        if value_type_btf_obj_fd is not None:
            attr.value_type_btf_obj_fd = _fd_of(value_type_btf_obj_fd, f"{label}: value_type_btf_obj_fd")
            last = "value_type_btf_obj_fd"
        from pybpf.sys.rlimit import ensure_memlock_rlimit

        ensure_memlock_rlimit()
        ret, err = bpf_raw(_MAP_CREATE, attr, attr_size(_Create, last))
        if ret < 0:
            raise _create_error(err, label, map_type, key_size, value_size, max_entries, flags)
        fd = FD(ret, label)
        info = MapInfo(type=_as_map_type(map_type), id=0, key_size=key_size, value_size=value_size,
                       max_entries=max_entries, map_flags=flags, name=attr.map_name.decode(),
                       btf_id=0, btf_key_type_id=btf_key_type_id,
                       btf_value_type_id=btf_value_type_id, map_extra=map_extra)
        return cls(fd, info, name=name)

    @classmethod
    def from_fd(cls, fd: int | FD, *, dup: bool = True) -> Map:
        """Wrap an existing map descriptor (duplicated unless ``dup=False``, which takes
        ownership of an :class:`FD` or number)."""
        if isinstance(fd, FD):
            owned = fd.dup() if dup else fd
        else:
            owned = FD(os.dup(fd), "map") if dup else FD(fd, "map")
        if not _is_map_fd(owned.fileno()):
            owned.close()
            raise InvalidArgumentError(f"descriptor {int(fd)} is not a BPF map")
        try:
            info = query_map_info(owned.fileno(), "map")
        except BPFError:
            owned.close()
            raise
        return cls(owned, info)

    @classmethod
    def from_pin(cls, path: str) -> Map:
        """Open the map pinned at ``path`` in a bpffs."""
        fd = obj_get(path, what="map")
        if not _is_map_fd(fd.fileno()):
            fd.close()
            raise InvalidArgumentError(f"{path} is not a pinned map")
        try:
            info = query_map_info(fd.fileno(), f"pinned map {path}")
        except BPFError:
            fd.close()
            raise
        m = cls(fd, info)
        m.pinned_path = path
        return m

    @classmethod
    def from_id(cls, map_id: int) -> Map:
        """Open the map with kernel id ``map_id`` (needs CAP_SYS_ADMIN)."""
        fd = get_fd_by_id("map", map_id)
        try:
            info = query_map_info(fd.fileno(), f"map id {map_id}")
        except BPFError:
            fd.close()
            raise
        return cls(fd, info)

    # ------------------------------------------------------------------ basics

    def _label(self) -> str:
        tname = map_type_name(self.type)
        ident = f" id {self._id}" if self._id else ""
        return f"map '{self.name}' ({tname}{ident})" if self.name else f"{tname} map{ident}"

    @property
    def fd(self) -> FD:
        """The owned descriptor."""
        return self._fd

    def fileno(self) -> int:
        """The descriptor number (raises :class:`ClosedError` once closed)."""
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    @property
    def id(self) -> int:
        """The kernel's id of the map (asked once, then cached)."""
        if self._id is None:
            self._id = self.info().id
        return self._id

    @property
    def is_percpu(self) -> bool:
        return self._percpu

    @property
    def ncpus(self) -> int:
        """Number of per-CPU value slots (possible CPUs) for per-CPU maps, else 1."""
        return self._ncpus

    def info(self) -> MapInfo:
        """A fresh :class:`MapInfo` from the kernel."""
        info = query_map_info(self.fileno(), self._label())
        self._id = info.id
        return info

    def close(self) -> None:
        """Release the descriptor (safe to call twice)."""
        self._fd.close()

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return (f"<Map {self.name or '(unnamed)'} type={map_type_name(self.type)} "
                f"key={self.key_size} value={self.value_size} max_entries={self.max_entries}{state}>")

    # ------------------------------------------------------------------ encoding helpers

    def _key_bytes(self, key: Any) -> bytes | bytearray:
        """The key through the key codec, checked to be exactly ``key_size`` bytes."""
        raw = self._key_codec.encode(key)
        if type(raw) is not bytes and type(raw) is not bytearray:
            raw = memoryview(raw).tobytes()  # any buffer: memoryview, ctypes object, array
        if len(raw) != self.key_size:
            raise InvalidArgumentError(
                f"{self._label()}: the key codec gave {len(raw)} bytes, expected {self.key_size}")
        return raw

    def _one_value(self, value: Any) -> bytes | bytearray:
        raw = self._value_codec.encode(value)
        if type(raw) is not bytes and type(raw) is not bytearray:
            raw = memoryview(raw).tobytes()
        if len(raw) != self.value_size:
            raise InvalidArgumentError(
                f"{self._label()}: the value codec gave {len(raw)} bytes, expected {self.value_size}")
        return raw

    def _value_raw(self, value: Any) -> bytes | bytearray:
        """The bytes the kernel reads for ``value`` (every CPU's slot for per-CPU maps)."""
        if not self._percpu:
            return self._one_value(value)
        if isinstance(value, (bytes, bytearray, memoryview, str)) or not isinstance(value, Sequence):
            raise InvalidArgumentError(
                f"{self._label()}: a per-CPU value is a sequence of {self._ncpus} values "
                f"(one per possible CPU), not {type(value).__name__}")
        if len(value) != self._ncpus:
            raise InvalidArgumentError(
                f"{self._label()}: got {len(value)} per-CPU values, expected {self._ncpus}")
        pad = bytes(self._stride - self.value_size)
        return b"".join(bytes(self._one_value(v)) + pad for v in value)

    def _decode_value(self, raw: bytes) -> Any:
        if not self._percpu:
            return self._value_codec.decode(raw[: self.value_size])
        stride, size, dec = self._stride, self.value_size, self._value_codec.decode
        return [dec(raw[i * stride: i * stride + size]) for i in range(self._ncpus)]

    def _error(self, err: int, cmd: int, doing: str, key: Any = None) -> BPFError:
        where = self._label()
        msg = f"{where}: {doing}"
        if key is not None:
            msg += f" key {_show(key)}"
        cls = None
        if err == _ENOENT and cmd in (_LOOKUP, _DELETE, _LOOKUP_AND_DELETE):
            cls = KeyNotFoundError
        if err == 7 and cmd == _UPDATE:  # E2BIG
            msg += f": the map is full (max_entries {self.max_entries})"
        if self.type in NO_ELEMENT_OPS_TYPES and err in (22, 95, 524):
            msg += f": {map_type_name(self.type)} maps have no element operations from user space"
        return error_from_errno(err, msg, op=command_name(cmd), cls=cls)

    def _scratch(self) -> _Scratch:
        """Buffers for one operation: from the pool, or new when another thread (or an
        interrupted operation of this one) holds every pooled set. Checks the map is open."""
        fd = self._fd.fileno()
        try:
            return self._pool.pop()
        except IndexError:
            return _Scratch(fd, self.key_size, self._value_bytes)

    def _run(self, cmd: int, slot: int, size: int, key: Any = None, value: Any = None,
             flags: int = 0, out: str = "") -> tuple[int, bytes]:
        """One element command through a scratch set: ``key``/``value`` (exact-size bytes)
        are copied in, ``flags`` set for this call; returns ``(errno or 0, answer)`` where
        the answer is the value (``out="value"``) or next-key (``out="next"``) buffer."""
        s = self._scratch()
        if key is not None:
            s.key.raw = key
        if value is not None:
            s.value.raw = value
        attr = s.attrs[slot]
        if flags:
            attr.flags = flags
        ret = _bpf(_NR, cmd, s.ptrs[slot], size)
        err = _get_errno() if ret < 0 else 0
        if flags:
            attr.flags = 0
        answer = b""
        if out and not err:
            answer = s.value.raw if out == "value" else s.next.raw
        self._pool.append(s)
        return err, answer

    def _no_key(self, op: str) -> None:
        if self._keyless:
            raise InvalidArgumentError(
                f"{self._label()}: {op} needs a key, but {map_type_name(self.type)} maps have none "
                f"(use push/pop/peek{'/may_contain' if self.type == _BLOOM_FILTER else ''})")

    # ------------------------------------------------------------------ element operations

    def lookup(self, key: Any, flags: int = 0) -> Any:
        """The value stored under ``key``; raises :class:`KeyNotFoundError` if absent.

        ``flags`` may be ``BPF_F_LOCK`` (maps whose value holds a ``bpf_spin_lock``).
        """
        if self._fast and type(key) is bytes and len(key) == self.key_size and \
                type(flags) is int and not flags:
            # Fast path (default codecs): the key goes straight into a pooled buffer.
            s = self._scratch()
            s.key.raw = key
            if _bpf(_NR, _LOOKUP, s.ptrs[0], _ELEM_SIZE) < 0:
                err = _get_errno()
                self._pool.append(s)
                raise self._error(err, _LOOKUP, "lookup", key)
            value = s.value.raw
            self._pool.append(s)
            return value
        self._no_key("lookup")
        err, raw = self._run(_LOOKUP, _SLOT_ELEM, _ELEM_SIZE, key=self._key_bytes(key),
                             flags=_u64(flags, "flags"), out="value")
        if err:
            raise self._error(err, _LOOKUP, "lookup", key)
        return self._decode_value(raw)

    def get(self, key: Any, default: Any = None) -> Any:
        """Like :meth:`lookup`, but ``default`` when the key is absent."""
        try:
            return self.lookup(key)
        except KeyNotFoundError:
            return default

    def update(self, key: Any, value: Any, flags: int = 0) -> None:
        """Store ``value`` under ``key``. ``flags``: ``BPF_ANY`` (0, default), ``BPF_NOEXIST``
        (fail with ExistsError if present), ``BPF_EXIST`` (fail with KeyNotFoundError if
        absent), optionally ``| BPF_F_LOCK``."""
        if self._fast and type(key) is bytes and len(key) == self.key_size and \
                type(value) is bytes and len(value) == self.value_size and \
                type(flags) is int and not flags:
            s = self._scratch()
            s.key.raw = key
            s.value.raw = value
            if _bpf(_NR, _UPDATE, s.ptrs[0], _ELEM_SIZE) < 0:
                err = _get_errno()
                self._pool.append(s)
                raise self._update_error(err, key)
            self._pool.append(s)
            return
        self._no_key("update")
        err, _ = self._run(_UPDATE, _SLOT_ELEM, _ELEM_SIZE, key=self._key_bytes(key),
                           value=self._value_raw(value), flags=_u64(flags, "flags"))
        if err:
            raise self._update_error(err, key)

    def _update_error(self, err: int, key: Any) -> BPFError:
        exc = self._error(err, _UPDATE, "update", key)
        if err == _ENOENT:
            return KeyNotFoundError(exc.message, errno=err, op=exc.op)
        return exc

    def delete(self, key: Any) -> None:
        """Remove ``key``; raises :class:`KeyNotFoundError` if absent."""
        if self._fast_key and type(key) is bytes and len(key) == self.key_size:
            s = self._scratch()
            s.key.raw = key
            if _bpf(_NR, _DELETE, s.ptrs[0], _KEY_SIZE) < 0:
                err = _get_errno()
                self._pool.append(s)
                raise self._error(err, _DELETE, "delete", key)
            self._pool.append(s)
            return
        self._no_key("delete")
        err, _ = self._run(_DELETE, _SLOT_ELEM, _KEY_SIZE, key=self._key_bytes(key))
        if err:
            raise self._error(err, _DELETE, "delete", key)

    def get_next_key(self, key: Any = None) -> Any:
        """The key after ``key`` (the first key when ``key`` is None), or None at the end."""
        if self._fast_key and (key is None or (type(key) is bytes and len(key) == self.key_size)):
            s = self._scratch()
            if key is None:
                ret = _bpf(_NR, _NEXT_KEY, s.ptrs[_SLOT_FIRST], _NEXT_SIZE)
            else:
                s.key.raw = key
                ret = _bpf(_NR, _NEXT_KEY, s.ptrs[_SLOT_NEXT], _NEXT_SIZE)
            if ret < 0:
                err = _get_errno()
                self._pool.append(s)
                if err == _ENOENT:
                    return None
                raise self._error(err, _NEXT_KEY, "get_next_key", key)
            nxt = s.next.raw
            self._pool.append(s)
            return nxt
        self._no_key("get_next_key")
        if key is None:
            err, raw = self._run(_NEXT_KEY, _SLOT_FIRST, _NEXT_SIZE, out="next")
        else:
            err, raw = self._run(_NEXT_KEY, _SLOT_NEXT, _NEXT_SIZE, key=self._key_bytes(key),
                                 out="next")
        if err == _ENOENT:
            return None
        if err:
            raise self._error(err, _NEXT_KEY, "get_next_key", key)
        return self._key_codec.decode(raw[: self.key_size])

    def lookup_and_delete(self, key: Any, flags: int = 0) -> Any:
        """Return the value under ``key`` and remove it (hash maps need Linux 5.14+)."""
        self._no_key("lookup_and_delete")
        err, raw = self._run(_LOOKUP_AND_DELETE, _SLOT_ELEM, _ELEM_SIZE, key=self._key_bytes(key),
                             flags=_u64(flags, "flags"), out="value")
        if err:
            raise self._error(err, _LOOKUP_AND_DELETE, "lookup_and_delete", key)
        return self._decode_value(raw)

    def keys(self) -> Iterator[Any]:
        """Iterate over the keys (``BPF_MAP_GET_NEXT_KEY``)."""
        key = self.get_next_key(None)
        while key is not None:
            yield key
            key = self.get_next_key(key)

    def values(self) -> Iterator[Any]:
        """Iterate over the values (keys deleted meanwhile are skipped)."""
        for _, v in self.items():
            yield v

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Iterate over ``(key, value)`` pairs (keys deleted meanwhile are skipped)."""
        if not self._fast:
            for key in self.keys():
                try:
                    yield key, self.lookup(key)
                except KeyNotFoundError:
                    continue
            return
        # Fast path: next key and its value with one scratch set per step (never held
        # across a yield, so the caller may use the map inside the loop).
        pool = self._pool
        prev: bytes | None = None
        while True:
            s = self._scratch()
            if prev is None:
                ret = _bpf(_NR, _NEXT_KEY, s.ptrs[_SLOT_FIRST], _NEXT_SIZE)
            else:
                s.key.raw = prev
                ret = _bpf(_NR, _NEXT_KEY, s.ptrs[_SLOT_NEXT], _NEXT_SIZE)
            if ret < 0:
                err = _get_errno()
                pool.append(s)
                if err == _ENOENT:
                    return
                raise self._error(err, _NEXT_KEY, "get_next_key", prev)
            key = s.next.raw
            if _bpf(_NR, _LOOKUP, s.ptrs[_SLOT_NEXT_VALUE], _ELEM_SIZE) < 0:
                err = _get_errno()
                pool.append(s)
                if err != _ENOENT:
                    raise self._error(err, _LOOKUP, "lookup", key)
                prev = key  # deleted meanwhile: skip it
                continue
            value = s.value.raw
            pool.append(s)
            prev = key
            yield key, value

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    def __getitem__(self, key: Any) -> Any:
        return self.lookup(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def __contains__(self, key: Any) -> bool:
        if self.type == _BLOOM_FILTER:
            return self.may_contain(key)
        try:
            self.lookup(key)
        except KeyNotFoundError:
            return False
        return True

    # ------------------------------------------------------------------ queue / stack / bloom

    def _keyless_only(self, op: str) -> None:
        if not self._keyless:
            raise InvalidArgumentError(
                f"{self._label()}: {op} is for queue, stack and bloom_filter maps")

    def push(self, value: Any, flags: int = 0) -> None:
        """Queue/stack: add ``value`` (``BPF_EXIST`` overwrites the oldest when full).
        Bloom filter: add ``value`` to the set."""
        self._keyless_only("push")
        err, _ = self._run(_UPDATE, _SLOT_NO_KEY, _ELEM_SIZE, value=self._value_raw(value),
                           flags=_u64(flags, "flags"))
        if err:
            raise self._error(err, _UPDATE, "push")

    def pop(self) -> Any:
        """Queue/stack: remove and return the next value; KeyNotFoundError when empty."""
        self._keyless_only("pop")
        err, raw = self._run(_LOOKUP_AND_DELETE, _SLOT_NO_KEY, _ELEM_SIZE, out="value")
        if err == _ENOENT:
            raise KeyNotFoundError(f"{self._label()}: pop: the map is empty", errno=err,
                                   op=command_name(_LOOKUP_AND_DELETE))
        if err:
            raise self._error(err, _LOOKUP_AND_DELETE, "pop")
        return self._decode_value(raw)

    def peek(self) -> Any:
        """Queue/stack: the next value without removing it; KeyNotFoundError when empty."""
        self._keyless_only("peek")
        if self.type == _BLOOM_FILTER:
            raise InvalidArgumentError(f"{self._label()}: use may_contain(value) on a bloom filter")
        err, raw = self._run(_LOOKUP, _SLOT_NO_KEY, _ELEM_SIZE, out="value")
        if err == _ENOENT:
            raise KeyNotFoundError(f"{self._label()}: peek: the map is empty", errno=err,
                                   op=command_name(_LOOKUP))
        if err:
            raise self._error(err, _LOOKUP, "peek")
        return self._decode_value(raw)

    def may_contain(self, value: Any) -> bool:
        """Bloom filter: False if ``value`` was certainly never added, True if it may have
        been (Linux 5.16+)."""
        if self.type != _BLOOM_FILTER:
            raise InvalidArgumentError(f"{self._label()}: may_contain is for bloom_filter maps")
        err, _ = self._run(_LOOKUP, _SLOT_NO_KEY, _ELEM_SIZE, value=self._value_raw(value))
        if err == _ENOENT:
            return False
        if err:
            raise self._error(err, _LOOKUP, "may_contain")
        return True

    # ------------------------------------------------------------------ batch operations

    def _batch_call(self, cmd: int, keys: Any, values: Any, count: int, in_batch: Any,
                    out_batch: Any, elem_flags: int) -> tuple[int, int]:
        attr = _Batch()
        attr.map_fd = self._fd.fileno()
        attr.keys = _addressof(keys) if keys is not None else 0
        attr.values = _addressof(values) if values is not None else 0
        attr.count = count
        attr.in_batch = _addressof(in_batch) if in_batch is not None else 0
        attr.out_batch = _addressof(out_batch) if out_batch is not None else 0
        attr.elem_flags = elem_flags
        ret, err = bpf_raw(cmd, attr, _BATCH_SIZE)
        return (err if ret < 0 else 0), int(attr.count)

    def _batch_items(self, keys: Any, values: Any, got: int) -> list[tuple[Any, Any]]:
        """The first ``got`` (key, value) pairs of batch buffers, through the codecs."""
        ks, vs = self.key_size, self._value_bytes
        key_list = _split(keys, ks, got)
        value_list = _split(values, vs, got)
        if type(self._key_codec) is not BytesCodec:
            key_list = [self._key_codec.decode(k) for k in key_list]
        if not self._fast:
            value_list = [self._decode_value(v) for v in value_list]
        return list(zip(key_list, value_list))

    def _batch_lookup(self, cmd: int, doing: str, count: int, token: bytes | None,
                      elem_flags: int, bufs: list[Any] | None = None) -> BatchResult:
        """One lookup(-and-delete) batch; ``bufs`` caches the buffers between calls of one
        walk (``[count, keys, values, in_token, out_token]``)."""
        self._no_key(doing)
        _u32(count, "count")
        if count == 0:
            raise InvalidArgumentError(f"{self._label()}: {doing}: count must be at least 1")
        elem_flags = _u64(elem_flags, "elem_flags")
        tok_size = max(self.key_size, 8)
        if bufs is not None and bufs and bufs[0] == count:
            _, keys, values, in_batch, out_batch = bufs
        else:
            keys = (_c_char * (self.key_size * count))()
            values = (_c_char * (self._value_bytes * count))()
            in_batch = (_c_char * tok_size)()
            out_batch = (_c_char * tok_size)()
            if bufs is not None:
                bufs[:] = [count, keys, values, in_batch, out_batch]
        if token is not None:
            if len(token) > tok_size:
                raise InvalidArgumentError(f"{self._label()}: {doing}: bad batch token")
            in_batch.raw = bytes(token).ljust(tok_size, b"\0")
        err, got = self._batch_call(cmd, keys, values, count,
                                    in_batch if token is not None else None, out_batch, elem_flags)
        if err and err != _ENOENT:
            raise self._error(err, cmd, doing)
        return BatchResult(self._batch_items(keys, values, got),
                           None if err == _ENOENT else out_batch.raw)

    def lookup_batch(self, count: int = 64, token: bytes | None = None, *,
                     elem_flags: int = 0) -> BatchResult:
        """``BPF_MAP_LOOKUP_BATCH``: up to ``count`` elements, continuing after ``token``
        (None: from the start). Linux 5.6+. Hash maps raise NoSpaceError when one hash bucket
        holds more than ``count`` elements; :meth:`items_batch` grows the count by itself."""
        return self._batch_lookup(_LOOKUP_BATCH, "lookup_batch", count, token, elem_flags)

    def lookup_and_delete_batch(self, count: int = 64, token: bytes | None = None, *,
                                elem_flags: int = 0) -> BatchResult:
        """``BPF_MAP_LOOKUP_AND_DELETE_BATCH``: like :meth:`lookup_batch`, removing what it
        returns (hash maps only)."""
        return self._batch_lookup(_LOOKUP_AND_DELETE_BATCH, "lookup_and_delete_batch",
                                  count, token, elem_flags)

    def items_batch(self, batch_size: int = 256, *, delete: bool = False) -> Iterator[tuple[Any, Any]]:
        """Every ``(key, value)`` through batch lookups (removing them with ``delete=True``)."""
        cmd, doing = ((_LOOKUP_AND_DELETE_BATCH, "lookup_and_delete_batch") if delete
                      else (_LOOKUP_BATCH, "lookup_batch"))
        token: bytes | None = None
        size = batch_size
        bufs: list[Any] = []  # one set of buffers for the whole walk
        while True:
            try:
                res = self._batch_lookup(cmd, doing, size, token, 0, bufs)
            except NoSpaceError:
                if size >= max(self.max_entries, 1):
                    raise
                size *= 2
                continue
            yield from res.items
            if res.token is None:
                return
            token = res.token

    def _keys_blob(self, keys: Sequence[Any]) -> bytearray:
        ks = self.key_size
        if self._fast_key and all(type(k) is bytes and len(k) == ks for k in keys):
            return bytearray(b"".join(keys))
        return bytearray(b"".join(bytes(self._key_bytes(k)) for k in keys))

    def update_batch(self, keys: Sequence[Any], values: Sequence[Any], *, flags: int = 0) -> int:
        """``BPF_MAP_UPDATE_BATCH``: store ``values[i]`` under ``keys[i]``; returns the count
        (``flags`` as for :meth:`update`, applied to every element)."""
        self._no_key("update_batch")
        if len(keys) != len(values):
            raise InvalidArgumentError(
                f"{self._label()}: update_batch: {len(keys)} keys but {len(values)} values")
        n = len(keys)
        if n == 0:
            return 0
        kblob = self._keys_blob(keys)
        vs = self.value_size
        if self._fast and all(type(v) is bytes and len(v) == vs for v in values):
            vblob = bytearray(b"".join(values))
        else:
            vblob = bytearray(b"".join(bytes(self._value_raw(v)) for v in values))
        kb = (_c_char * len(kblob)).from_buffer(kblob)
        vb = (_c_char * len(vblob)).from_buffer(vblob)
        err, got = self._batch_call(_UPDATE_BATCH, kb, vb, _u32(n, "count"), None, None,
                                    _u64(flags, "flags"))
        if err:
            progress = f" ({got} of {n} done)" if got < n else ""
            raise self._error(err, _UPDATE_BATCH, f"update_batch{progress}")
        return got

    def delete_batch(self, keys: Sequence[Any], *, flags: int = 0) -> int:
        """``BPF_MAP_DELETE_BATCH``: remove every key; KeyNotFoundError names how many went
        before the first missing key."""
        self._no_key("delete_batch")
        n = len(keys)
        if n == 0:
            return 0
        kblob = self._keys_blob(keys)
        kb = (_c_char * len(kblob)).from_buffer(kblob)
        err, got = self._batch_call(_DELETE_BATCH, kb, None, _u32(n, "count"), None, None,
                                    _u64(flags, "flags"))
        if err:
            progress = f" ({got} of {n} deleted)" if got < n else ""
            raise error_from_errno(err, f"{self._label()}: delete_batch{progress}",
                                   op=command_name(_DELETE_BATCH),
                                   cls=KeyNotFoundError if err == _ENOENT else None)
        return got

    # ------------------------------------------------------------------ whole-map operations

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``: make the map read-only for user space for good (Linux 5.2+)."""
        attr = _Elem()
        attr.map_fd = self._fd.fileno()
        ret, err = bpf_raw(_FREEZE, attr, 4)
        if ret < 0:
            raise self._error(err, _FREEZE, "freeze")

    def pin(self, path: str) -> None:
        """Pin the map at ``path`` (in a mounted bpffs) so that it outlives this process."""
        obj_pin(self.fileno(), path, what=self._label())
        self.pinned_path = path

    def unpin(self, path: str | None = None) -> None:
        """Remove the pin at ``path`` (default: where :meth:`pin` put it)."""
        target = path or self.pinned_path
        if target is None:
            raise InvalidArgumentError(f"{self._label()} is not pinned")
        try:
            os.unlink(target)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self._label()}: unpinning {target}",
                                   op="unlink") from None
        if target == self.pinned_path:
            self.pinned_path = None


def _as_map_type(value: int) -> int:
    try:
        return uapi.bpf_map_type(value)
    except ValueError:
        return value


def _is_map_fd(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:bpf-map"
    except OSError:
        return True


def _show(obj: Any) -> str:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        raw = bytes(obj)
        text = raw[:16].hex(" ")
        return text + (" ..." if len(raw) > 16 else "")
    return repr(obj)


def _create_error(err: int, label: str, map_type: int, key_size: int, value_size: int,
                  max_entries: int, flags: int) -> BPFError:
    msg = (f"creating {label} (key {key_size}B, value {value_size}B, max_entries {max_entries}, "
           f"flags {flags:#x})")
    hint = None
    try:
        from pybpf.features import explain_map_create_failure

        hint = explain_map_create_failure(err, map_type)
    except Exception:  # noqa: BLE001 - a hint must never hide the real error
        hint = None
    if hint:
        msg += f": {hint}"
    exc = error_from_errno(err, msg, op="BPF_MAP_CREATE")
    return exc

