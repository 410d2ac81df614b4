"""BTF in the kernel: loading it (``BPF_BTF_LOAD``), opening it by id, reading it back.

:class:`LoadedBTF` owns the descriptor of one kernel BTF object::

    with LoadedBTF.load(obj_btf, features="probe") as kbtf:   # sanitized for this kernel
        prog_load(..., prog_btf_fd=kbtf.fileno())
    kbtf = LoadedBTF.from_id(58); kbtf.info(); kbtf.btf()      # someone else's, parsed

``probe_btf_features()`` asks the kernel which BTF kinds it accepts (libbpf's FEAT_BTF_* probes)
and gives the :class:`~pybpf.btf.sanitize.BTFFeatures` that :func:`~pybpf.btf.sanitize.sanitize`
takes. Needs Linux 4.18+ (BTF_LOAD), 5.4+ for BTF ids/info; ``CAP_BPF`` (or root).

The rest are the kernel-facing halves of ``pybpf btf show`` and ``btf dump id|map|prog``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, BTFError, ClosedError, NotFoundError
from pybpf.btf.sanitize import BTFFeatures, needs_sanitizing, sanitize
from pybpf.btf.spec import BTF

if TYPE_CHECKING:
    from pybpf.btf.builder import BTFBuilder
    from pybpf.cli.common import Context
    from pybpf.sys.fd import FD

__all__ = ["BTFInfo", "LoadedBTF", "load_btf_by_id", "probe_btf_features", "btf_of_map", "map_kv_btf",
           "use_btf_codecs", "show_btf"]


@dataclass(frozen=True)
class BTFInfo:
    """``struct bpf_btf_info``: id, size in bytes, name (``"vmlinux"``, a module name, or the
    name a loader gave) and whether it is the kernel's own BTF."""

    id: int
    size: int
    name: str
    kernel_btf: bool


def _query(fd: int, what: str, with_data: bool = False) -> tuple[BTFInfo, bytes]:
    from pybpf.sys import uapi
    from pybpf.sys.commands import get_info

    first = get_info(fd, uapi.bpf_btf_info(), what)
    info = uapi.bpf_btf_info()
    name_buf = ctypes.create_string_buffer(256)
    info.name = ctypes.addressof(name_buf)
    info.name_len = len(name_buf)
    data_buf = None
    if with_data and first.btf_size:
        data_buf = (ctypes.c_char * first.btf_size)()
        info.btf = ctypes.addressof(data_buf)
        info.btf_size = first.btf_size
    got = get_info(fd, info, what)
    data = bytes(data_buf)[: got.btf_size] if data_buf is not None else b""
    return BTFInfo(int(got.id), int(got.btf_size), name_buf.value.decode("utf-8", "replace"),
                   bool(got.kernel_btf)), data


class LoadedBTF:
    """A BTF object in the kernel; owns its descriptor (close it, or use ``with``)."""

    def __init__(self, fd: FD, btf: BTF | None = None) -> None:
        self._fd: FD | None = fd
        self._btf = btf
        self._info: BTFInfo | None = None

    # ------------------------------------------------------------------ creation
    @classmethod
    def load(cls, btf: BTF | BTFBuilder | bytes, *, features: BTFFeatures | str | None = None,
             log_level: int = 0, what: str = "BTF") -> LoadedBTF:
        """``BPF_BTF_LOAD`` of ``btf`` (a :class:`BTF`, a builder, or raw bytes).

        ``features`` sanitizes first, as libbpf does for kernels lacking newer kinds: a
        :class:`BTFFeatures`, or ``"probe"`` to ask the running kernel. A refusal raises
        :class:`BTFError` carrying the kernel's log (``exc.log``).
        """
        from pybpf.btf.builder import BTFBuilder
        from pybpf.sys.commands import btf_load

        if isinstance(btf, BTFBuilder):
            parsed = btf.build()
        elif isinstance(btf, BTF):
            parsed = btf
        else:
            parsed = BTF.parse(bytes(btf))
        raw = bytes(parsed.raw)
        if parsed.base is not None:
            raise BTFError(f"{what}: split BTF cannot be loaded with BPF_BTF_LOAD here")
        if features == "probe":
            features = probe_btf_features()
        if isinstance(features, BTFFeatures) and needs_sanitizing(features):
            raw = sanitize(raw, features)
        elif features is not None and not isinstance(features, BTFFeatures):
            raise BTFError(f"features must be BTFFeatures or 'probe', not {features!r}")
        fd = btf_load(raw, log_level=log_level, what=what)
        return cls(fd, parsed)

    @classmethod
    def from_id(cls, btf_id: int) -> LoadedBTF:
        """Open kernel BTF object ``btf_id`` (``BPF_BTF_GET_FD_BY_ID``; NotFoundError if gone)."""
        from pybpf.sys.commands import get_fd_by_id

        return cls(get_fd_by_id("btf", btf_id))

    @classmethod
    def from_fd(cls, fd: int) -> LoadedBTF:
        """Take ownership of an existing BTF descriptor."""
        from pybpf.sys.fd import FD

        return cls(FD(fd, "BTF"))

    # ------------------------------------------------------------------ access
    @property
    def fd(self) -> FD:
        if self._fd is None or self._fd.closed:
            raise ClosedError("BTF object is closed")
        return self._fd

    def fileno(self) -> int:
        return self.fd.fileno()

    def info(self) -> BTFInfo:
        """What the kernel says about this object (id, size, name, kernel or not)."""
        if self._info is None:
            self._info, _ = _query(self.fileno(), "BTF")
        return self._info

    @property
    def id(self) -> int:
        return self.info().id

    def raw(self) -> bytes:
        """The BTF bytes the kernel holds (as loaded, i.e. after any sanitizing)."""
        info, data = _query(self.fileno(), f"BTF id {self.info().id}", with_data=True)
        self._info = info
        return data

    def btf(self, base: BTF | None = None) -> BTF:
        """The kernel's copy parsed. Module BTF is split BTF: ``base`` defaults to vmlinux."""
        if self._btf is not None and base is None:
            return self._btf
        data = self.raw()
        info = self.info()
        if base is None and info.kernel_btf and info.name != "vmlinux":
            from pybpf.btf.kernel import kernel_btf

            base = kernel_btf()
        btf = BTF.parse(data, base)
        if base is None:
            self._btf = btf
        return btf

    def close(self) -> None:
        if self._fd is not None:
            self._fd.close()
            self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None or self._fd.closed

    def __enter__(self) -> LoadedBTF:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<LoadedBTF closed>"
        return f"<LoadedBTF id {self.id} fd {self.fileno()}>"


def load_btf_by_id(btf_id: int, base: BTF | None = None) -> BTF:
    """The kernel BTF object ``btf_id``, parsed (libbpf's btf__load_from_kernel_by_id_split)."""
    with LoadedBTF.from_id(btf_id) as kbtf:
        return kbtf.btf(base)


def btf_of_map(info: Any) -> BTF | None:
    """The BTF a map was created with (``MapInfo.btf_id``), or None when it has none."""
    if not getattr(info, "btf_id", 0):
        return None
    return load_btf_by_id(info.btf_id)


def map_kv_btf(info: Any) -> BTF | None:
    """The BTF a map's keys and values are described in, as bpftool picks it (its
    get_map_kv_btf): the kernel's vmlinux BTF when the value type is a kernel type
    (``btf_vmlinux_value_type_id``, struct_ops maps), the map's own BTF when it has a value
    type, else None. Raises BPFError when that BTF cannot be read."""
    if getattr(info, "btf_vmlinux_value_type_id", 0):
        from pybpf.btf.kernel import kernel_btf

        return kernel_btf()
    if getattr(info, "btf_value_type_id", 0):
        return load_btf_by_id(info.btf_id)
    return None


def use_btf_codecs(map_: Any, btf: BTF | None = None) -> Any:
    """Make ``map_`` (a :class:`pybpf.Map` created with BTF) take and return Python values:
    its key/value codecs become :class:`~pybpf.btf.values.ValueCodec` of its BTF key/value types
    (dicts for structs, ints, bytes for char arrays …). Returns the map. ``btf`` defaults to the
    map's BTF read back from the kernel. Maps without BTF (or without a key type, as global
    data maps) keep their byte codecs for what has no type.
    """
    from pybpf.btf.values import ValueCodec

    info = map_.info()
    if btf is None:
        btf = btf_of_map(info)
    if btf is None:
        raise BTFError(f"map '{info.name}' (id {info.id}) was created without BTF")
    if info.btf_key_type_id:
        map_.key_codec = ValueCodec(btf, info.btf_key_type_id)
    value_id = info.btf_vmlinux_value_type_id or info.btf_value_type_id
    if value_id:
        map_.value_codec = ValueCodec(btf, value_id)
    return map_


_FEATURE_KINDS = {
    "func": "func", "func_global": "global_func", "datasec": "datasec", "float": "float",
    "decl_tag": "decl_tag", "type_tag": "type_tag", "enum64": "enum64",
}


def probe_btf_features() -> BTFFeatures:
    """Which BTF kinds the running kernel accepts (each probe loads a tiny BTF, cached)."""
    import struct

    from pybpf.features import _btf_load, _cached, btf_blob, probe_btf_kind
    from pybpf.sys.fd import _close

    values = {field: probe_btf_kind(kind) for field, kind in _FEATURE_KINDS.items()}

    def qmark() -> bool:
        # libbpf's probe: a DATASEC named "?.data" (Linux 6.10+ accepts '?' in names)
        types = (struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)  # [1] int
                 + struct.pack("<IIII", 5, 14 << 24, 1, 1)  # [2] var x
                 + struct.pack("<III", 7, (15 << 24) | 1, 4) + struct.pack("<III", 2, 0, 4))
        fd, _ = _btf_load(btf_blob(types, b"\0int\0x\0?.data\0"))
        _close(fd)
        return fd >= 0

    values["qmark_datasec"] = bool(_cached(("btf", "qmark_datasec"), qmark))
    return BTFFeatures(**values)


# ---------------------------------------------------------------------- CLI halves
def _errno_text(exc: BaseException) -> str:
    import os

    err = getattr(exc, "errno", None)
    return os.strerror(err) if err else str(exc)


def map_btf_info(args: list[str]) -> tuple[int, int, int, list[str]]:
    """``MAP`` selector → (btf id, key type id, value type id, rest of args)."""
    from pybpf.cli.common import CLIError
    from pybpf.cli.map import open_one_map, parse_map_handle

    handle, rest = parse_map_handle(args)
    m = open_one_map(handle)
    try:
        info = m.info()
    finally:
        m.close()
    if not info.btf_id:
        raise CLIError("get btf by id (0): No such file or directory")
    value_id = info.btf_vmlinux_value_type_id or info.btf_value_type_id
    return info.btf_id, info.btf_key_type_id, value_id, rest


def prog_btf_id(args: list[str]) -> tuple[int, list[str]]:
    """``PROG`` selector → (btf id of the program, rest of args)."""
    from pybpf.cli.prog import open_one_prog, parse_prog_handle

    handle, rest = parse_prog_handle(args)
    fd, info = open_one_prog(handle)
    fd.close()
    return info.btf_id, rest


class _LibbpfHashmap:
    """libbpf's hashmap (hashmap.c) with bpftool's identity hash, as far as iteration order
    goes: bpftool 7.1 collects (btf id -> prog/map id) pairs in one and lists a BTF's ids in
    that map's bucket order, which new entries enter at the head and growth reshuffles."""

    def __init__(self) -> None:
        self.cap_bits = 0
        self.buckets: list[list[tuple[int, int]]] = []
        self.size = 0

    @staticmethod
    def _hash_bits(h: int, bits: int) -> int:
        if bits == 0:
            return 0
        return ((h * 11400714819323198485) & 0xFFFFFFFFFFFFFFFF) >> (64 - bits)

    def append(self, key: int, value: int) -> None:
        if not self.buckets or (self.size + 1) * 4 // 3 > len(self.buckets):
            bits = max(self.cap_bits + 1, 2)
            new: list[list[tuple[int, int]]] = [[] for _ in range(1 << bits)]
            for bucket in self.buckets:  # entries re-enter at the head, bucket by bucket
                for entry in bucket:
                    new[self._hash_bits(entry[0], bits)].insert(0, entry)
            self.buckets, self.cap_bits = new, bits
        self.buckets[self._hash_bits(key, self.cap_bits)].insert(0, (key, value))
        self.size += 1

    def values_of(self, key: int) -> list[int]:
        if not self.buckets:
            return []
        return [v for k, v in self.buckets[self._hash_bits(key, self.cap_bits)] if k == key]


def _owners() -> tuple[_LibbpfHashmap, _LibbpfHashmap]:
    """btf id -> program ids and map ids using it, in bpftool's listing order."""
    from pybpf.sys import uapi
    from pybpf.sys.commands import get_fd_by_id, get_info, iter_ids

    progs, maps = _LibbpfHashmap(), _LibbpfHashmap()
    for kind, table, info_cls in (("prog", progs, uapi.bpf_prog_info), ("map", maps, uapi.bpf_map_info)):
        for obj_id in iter_ids(kind):
            try:
                fd = get_fd_by_id(kind, obj_id)
            except NotFoundError:
                continue
            try:
                info = get_info(fd.fileno(), info_cls(), kind)
            except BPFError:
                continue
            finally:
                fd.close()
            if info.btf_id:
                table.append(int(info.btf_id), obj_id)
    return progs, maps


def show_btf(ctx: Context, want: int | None = None) -> int:
    """``pybpf btf show [id N]``: bpftool's listing (text or JSON)."""
    from pybpf.jsonw import dumps
    from pybpf.cli.common import CLIError
    from pybpf.sys.commands import iter_ids

    if want is not None:
        try:
            kbtfs = [LoadedBTF.from_id(want)]
        except BPFError as exc:
            raise CLIError(f"can't get BTF object by id ({want}): {_errno_text(exc)}") from None
    else:
        kbtfs = []
        for btf_id in iter_ids("btf"):
            try:
                kbtfs.append(LoadedBTF.from_id(btf_id))
            except NotFoundError:
                continue
    progs, maps = _owners()
    records = []
    try:
        for kbtf in kbtfs:
            try:
                info = kbtf.info()
            except BPFError as exc:
                raise CLIError(f"can't get BTF object info: {_errno_text(exc)}") from None
            records.append(info)
    finally:
        for kbtf in kbtfs:
            kbtf.close()
    if ctx.json:
        out = []
        for info in records:
            obj: dict[str, Any] = {"id": info.id, "size": info.size,
                                   "prog_ids": progs.values_of(info.id),
                                   "map_ids": maps.values_of(info.id),
                                   "kernel": info.kernel_btf}
            if info.name:
                obj["name"] = info.name
            out.append(obj)
        ctx.out.write(dumps(out if want is None else out[0], ctx.pretty))
        return 0
    for info in records:
        if info.kernel_btf:
            line = f"{info.id}: name [{info.name}]  "
        elif info.name:
            line = f"{info.id}: name {info.name}  "
        else:
            line = f"{info.id}: name <anon>  "
        line += f"size {info.size}B"
        if progs.values_of(info.id):
            line += "  prog_ids " + ",".join(map(str, progs.values_of(info.id)))
        if maps.values_of(info.id):
            line += "  map_ids " + ",".join(map(str, maps.values_of(info.id)))
        ctx.out.write(line + "\n")
    return 0
