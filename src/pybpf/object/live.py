"""``Object``: a loaded BPF object (what :meth:`pybpf.ObjectSpec.load` returns).

    with spec.load() as obj:
        obj.attach()                          # auto-attach as libbpf's skeleton attach
        obj.maps["counts"].items()            # pybpf.Map, BTF-typed keys and values
        obj.variables["total"].value          # live, through the global data map's mmap
        obj.programs["handle"].test_run(...)  # pybpf.Program

The object owns every descriptor it holds (maps, programs, BTF, links, mmaps);
:meth:`Object.close` (or leaving the ``with`` block) releases them all. Maps pinned by name stay
pinned (that is what pinning is for); links are detached.
"""

from __future__ import annotations

import mmap
import os
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from pybpf.errors import AttachError, BPFError, ClosedError, InvalidArgumentError, error_from_errno

if TYPE_CHECKING:
    from pybpf.link import Link
    from pybpf.maps import Map
    from pybpf.object.linker import LinkedProgram
    from pybpf.object.maps import MapSpec
    from pybpf.object.spec import ObjectSpec
    from pybpf.object.variables import Variable

__all__ = ["Object", "ObjectMaps"]


class _GlobalData:
    """Live contents of one global data map: its mmap when BPF_F_MMAPABLE, else map lookups."""

    def __init__(self, map_obj: "Map", spec: "MapSpec") -> None:
        from pybpf.object.maps import BPF_F_MMAPABLE

        self.map = map_obj
        self.read_only = spec.kind in ("rodata", "kconfig")
        self.size = spec.value_size
        self.mm: mmap.mmap | None = None
        if spec.flags & BPF_F_MMAPABLE:
            length = ((spec.value_size + 7) // 8 * 8 * spec.max_entries + mmap.PAGESIZE - 1) \
                // mmap.PAGESIZE * mmap.PAGESIZE
            prot = mmap.PROT_READ if self.read_only else mmap.PROT_READ | mmap.PROT_WRITE
            try:
                self.mm = mmap.mmap(map_obj.fileno(), length, flags=mmap.MAP_SHARED, prot=prot)
            except OSError as exc:
                raise error_from_errno(exc.errno or 0, f"mmap of map '{spec.name}'", op="mmap") from None

    def _raw_value(self) -> bytes:
        from pybpf.maps.codec import BytesCodec

        old = self.map.value_codec
        self.map.value_codec = BytesCodec(self.size, "value", "map")
        try:
            return bytes(self.map.lookup(b"\0\0\0\0"))
        finally:
            self.map.value_codec = old

    def read(self, offset: int, size: int) -> bytes:
        if self.mm is not None:
            if self.mm.closed:
                raise ClosedError("the object is closed")
            return self.mm[offset:offset + size]
        return self._raw_value()[offset:offset + size]

    def write(self, offset: int, data: bytes) -> None:
        if self.mm is not None:
            if self.mm.closed:
                raise ClosedError("the object is closed")
            self.mm[offset:offset + len(data)] = data
            return
        from pybpf.maps.codec import BytesCodec

        raw = bytearray(self._raw_value())
        raw[offset:offset + len(data)] = data
        old = self.map.value_codec
        self.map.value_codec = BytesCodec(self.size, "value", "map")
        try:
            self.map.update(b"\0\0\0\0", bytes(raw))
        finally:
            self.map.value_codec = old

    def close(self) -> None:
        if self.mm is not None:
            self.mm.close()


class _IndexKey:
    """Key codec of global data maps (one element, index 0): an int, or 4 raw bytes."""

    size = 4

    def encode(self, obj: Any) -> bytes:
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return bytes(obj)
        return int(obj).to_bytes(4, "little")

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data[:4], "little")

    def __repr__(self) -> str:
        return "IndexKey()"


class ObjectMaps(Mapping[str, "Map"]):
    """The object's live maps, looked up like :class:`pybpf.object.spec.MapSpecs` (by name, or
    an internal map by its section name: ``obj.maps[".bss"]``). Maps not created are absent."""

    def __init__(self, specs: "list[MapSpec]", objs: "list[Map | None]") -> None:
        from pybpf.object.spec import MapSpecs

        pairs = [(s, o) for s, o in zip(specs, objs) if o is not None]
        self._specs = MapSpecs([s for s, _ in pairs])
        self._objs = {id(s): o for s, o in pairs}

    def __getitem__(self, name: str) -> "Map":
        return self._objs[id(self._specs[name])]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, name: str) -> "MapSpec":
        """The (per-load) :class:`MapSpec` the map was created from."""
        return self._specs[name]

    def __repr__(self) -> str:
        return f"ObjectMaps({list(self._specs)})"


class Object:
    """A loaded BPF object (see the module docstring).

    ``spec`` is the :class:`ObjectSpec` it was loaded from; ``maps`` (:class:`ObjectMaps`),
    ``programs`` (entry programs by name, :class:`pybpf.Program`), ``variables`` (by name,
    :class:`~pybpf.object.variables.Variable`), ``links`` (what :meth:`attach` made),
    ``linked`` (the :class:`~pybpf.object.linker.LinkedProgram` of each program: instructions
    as loaded, before map descriptors were filled in), ``warnings`` (what libbpf would have
    warned about: BTF refused by the kernel, missing func info...).
    """

    def __init__(self, spec: "ObjectSpec", map_specs: "list[MapSpec]", map_objs: "list[Map | None]",
                 programs: dict[str, Any], linked: "dict[str, LinkedProgram]", btf_fd: Any,
                 warnings: list[str]) -> None:
        from pybpf.object.variables import Variable as _Variable

        self.spec = spec
        self.name = spec.name
        self.btf = spec.btf
        self._btf_fd = btf_fd
        self._map_specs = map_specs
        self._map_objs = map_objs
        self.maps = ObjectMaps(map_specs, map_objs)
        self.programs: dict[str, Any] = programs
        self.linked = linked
        self.links: list[Link] = []
        self.warnings = warnings
        self._closed = False
        self._global: list[_GlobalData] = []
        self.variables: dict[str, Variable] = {}
        try:
            self._install_codecs()
            live: dict[int, _GlobalData] = {}
            for mp, obj in zip(map_specs, map_objs):
                if obj is not None and mp.kind in ("data", "rodata", "bss", "kconfig"):
                    g = _GlobalData(obj, mp)
                    self._global.append(g)
                    live[id(mp)] = g
            by_real = {mp.real_name: mp for mp in map_specs if mp.is_internal}
            for name, vs in spec.variables.items():
                owner = by_real.get(vs.section)
                if owner is not None and id(owner) in live:
                    self.variables[name] = _Variable(vs, live[id(owner)])
        except BaseException:
            for g in self._global:
                g.close()
            raise

    def _install_codecs(self) -> None:
        """BTF-typed keys and values for maps whose definition names types."""
        from pybpf.btf.values import ValueCodec
        from pybpf.maps.types import FD_VALUE_TYPES

        btf = self.btf
        if btf is None:
            return
        for mp, obj in zip(self._map_specs, self._map_objs):
            if obj is None:
                continue
            try:
                if mp.is_internal:
                    obj.key_codec = _IndexKey()
                if mp.btf_key_type_id:
                    codec = ValueCodec(btf, mp.btf_key_type_id)
                    if codec.size == obj.key_size:
                        obj.key_codec = codec
                if mp.btf_value_type_id and obj.type not in FD_VALUE_TYPES:
                    codec = ValueCodec(btf, mp.btf_value_type_id)
                    if codec.size == obj.value_size:
                        obj.value_codec = codec
            except BPFError:
                continue   # a type BTF cannot size: keep raw bytes

    def global_data(self, section: str) -> bytes:
        """The current contents of a global data section (``".bss"``, ``".data.foo"``,
        ``".rodata"``, ``".kconfig"``...) as the programs see it."""
        self._check_open()
        mp = self.maps.spec(section)
        for g in self._global:
            if g.map is self.maps[section]:
                return g.read(0, mp.value_size)
        raise KeyError(f"map '{section}' is not a global data map")

    # ------------------------------------------------------------------ attaching
    def attach(self) -> "list[Link]":
        """Attach every loaded program as libbpf's ``bpf_object__attach_skeleton()`` does:
        programs whose ``SEC()`` name says how (tracepoints, kprobes, uprobes, USDT, raw
        tracepoints, fentry/fexit/lsm/iter...) and whose ``autoattach`` is on; others (XDP, tc,
        cgroup, a bare ``SEC("kprobe")``...) are skipped. Then every created struct_ops map
        whose ``autoattach`` is on is registered (:meth:`attach_struct_ops`). Returns the new
        links, which the object owns (detached by :meth:`close`, which unregisters the
        struct_ops maps). On failure the links made by this call are detached and
        :class:`~pybpf.errors.AttachError` names the program or map."""
        self._check_open()
        new: list[Link] = []
        try:
            for name in self.programs:
                pspec = self.spec.programs.get(name)
                if pspec is None or not pspec.autoattach:
                    continue
                link = self._auto_attach(name)
                if link is not None:
                    new.append(link)
            for mp, obj in zip(self._map_specs, self._map_objs):
                if obj is not None and mp.struct_ops is not None and mp.autoattach:
                    new.append(self._attach_struct_ops(mp.name, obj))
        except BaseException:
            for link in new:
                link.close()
            raise
        self.links.extend(new)
        return new

    def attach_program(self, name: str) -> "Link | None":
        """Auto-attach one program as libbpf's ``bpf_program__attach()`` does (whatever its
        ``autoattach`` flag says); ``None`` when its section name says nothing about how to
        attach it. The link belongs to the caller (it is not closed with the object)."""
        self._check_open()
        if name not in self.programs:
            raise KeyError(f"program '{name}' was not loaded")
        return self._auto_attach(name)

    def attach_struct_ops(self, name: str) -> "Link":
        """Register struct_ops map ``name`` (libbpf's ``bpf_map__attach_struct_ops``): a
        struct_ops bpf_link for ``SEC(".struct_ops.link")`` maps, the map's value written for
        ``SEC(".struct_ops")`` ones (see :func:`pybpf.link.attach_struct_ops`). The link
        belongs to the caller; closing it unregisters the map."""
        self._check_open()
        if name not in self.maps or self.maps.spec(name).struct_ops is None:
            raise KeyError(f"struct_ops map '{name}' was not created")
        return self._attach_struct_ops(name, self.maps[name])

    def _attach_struct_ops(self, name: str, obj: "Map") -> "Link":
        from pybpf.link.struct_ops import attach_struct_ops

        try:
            return attach_struct_ops(obj)
        except BPFError as exc:
            raise AttachError(f"map '{name}': failed to register struct_ops: {exc.message}", errno=exc.errno,
                              op=exc.op) from None

    def _auto_attach(self, name: str) -> "Link | None":
        from pybpf.link import auto_attach

        usdt = None
        if "__bpf_usdt_specs" in self.maps:
            ips = self.maps["__bpf_usdt_ip_to_spec_id"] if "__bpf_usdt_ip_to_spec_id" in self.maps else None
            usdt = (self.maps["__bpf_usdt_specs"], ips)
        pspec = self.spec.programs[name]
        if pspec.definition is None:
            return None
        try:
            return auto_attach(self.programs[name], pspec.definition, usdt_maps=usdt)
        except BPFError as exc:
            raise AttachError(f"prog '{name}': failed to auto-attach ({pspec.section_name}): "
                              f"{exc}", errno=exc.errno, op=exc.op) from None

    # ------------------------------------------------------------------ pinning
    def pin_programs(self, path: str) -> list[str]:
        """Pin every loaded program at ``path/<program name>`` (libbpf's
        ``bpf_object__pin_programs``, what ``bpftool prog loadall`` does); returns the paths.
        On failure the pins made so far are removed."""
        self._check_open()
        done: list[str] = []
        try:
            for name, prog in self.programs.items():
                target = os.path.join(path, name)
                _make_parent_dir(target)
                prog.pin(target)
                done.append(target)
        except BaseException:
            for p in done:
                _unlink(p)
            raise
        return done

    def pin_maps(self, path: str) -> list[str]:
        """Pin every created map at ``path/<map name>`` with dots turned into underscores
        (libbpf's ``bpf_object__pin_maps``, ``bpftool prog loadall ... pinmaps DIR``); maps
        already pinned at that path are left alone. Returns the paths."""
        from pybpf.object.loader import sanitize_pin_path

        self._check_open()
        done: list[str] = []
        try:
            for mp, obj in zip(self._map_specs, self._map_objs):
                if obj is None:
                    continue
                target = sanitize_pin_path(f"{path}/{mp.name}")
                if obj.pinned_path == target:
                    continue
                if obj.pinned_path is not None:
                    raise InvalidArgumentError(f"map '{mp.name}' is already pinned at '{obj.pinned_path}', "
                                               f"not at '{target}'")
                _make_parent_dir(target)
                obj.pin(target)
                done.append(target)
        except BaseException:
            for p in done:
                _unlink(p)
            raise
        return done

    # ------------------------------------------------------------------ lifetime
    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"object '{self.name}' is closed")

    def close(self) -> None:
        """Detach the links, unmap the global data, close every descriptor (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for link in reversed(self.links):
            try:
                link.close()
            except BPFError:
                pass
        self.links = []
        for g in self._global:
            g.close()
        for prog in self.programs.values():
            prog.close()
        for obj in self._map_objs:
            if obj is not None:
                obj.close()
        if self._btf_fd is not None:
            self._btf_fd.close()

    def __enter__(self) -> "Object":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (f"<Object {self.name!r}: {len(self.programs)} programs, {len(self.maps)} maps, "
                f"{len(self.links)} links{state}>")


def _make_parent_dir(path: str) -> None:
    parent = os.path.dirname(path)
    try:
        os.mkdir(parent, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise error_from_errno(exc.errno or 0, f"failed to mkdir {parent}", op="mkdir") from None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

