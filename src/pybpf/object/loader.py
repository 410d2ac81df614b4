"""Loading an :class:`~pybpf.object.spec.ObjectSpec` into the kernel, as libbpf's ``bpf_object__load()``.

Steps (libbpf's order; linking is done before anything is created so that a CO-RE failure
leaves nothing behind):

1. resolve externs (:mod:`pybpf.object.resolve`) into the ``.kconfig`` map's contents;
   match struct_ops maps against the kernel's types (:mod:`pybpf.object.struct_ops`), which
   also decides which struct_ops programs are loaded and where they attach;
2. link every program that will be loaded (:mod:`pybpf.object.linker`): CO-RE against the
   running kernel's BTF (or ``kernel_btf``), subprograms and callbacks, func/line info;
3. load the object's BTF, rewritten for what this kernel supports
   (:func:`pybpf.btf.sanitize.sanitize` with :mod:`pybpf.features` probes); if the kernel
   refuses it the load goes on without BTF, as libbpf does;
4. create the maps in order: reuse a compatible map pinned at its ``LIBBPF_PIN_BY_NAME`` path
   (refusing an incompatible one), else create it (inner map template first for map-in-maps,
   retried without BTF ids if the kernel refuses them), fill and freeze global data, fill
   map-in-map slots, pin new ``PIN_BY_NAME`` maps;
5. load the programs: data relocations applied with the maps' descriptors, BTF attach targets
   found (``attach_btf_id``; freplace against its target program), ``.rodata`` bound to every
   program; a verifier rejection keeps its log, with poisoned instructions explained;
6. fill prog-array slots; keep each struct_ops map's value (program descriptors in its
   function slots) for registering (:func:`pybpf.link.attach_struct_ops`,
   :meth:`pybpf.Object.attach`), which loading itself does not do (as libbpf).

On any failure everything created so far is closed and maps pinned by this load are unpinned;
the error names the map or program and why.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, NotFoundError, ObjectError, VerifierError

if TYPE_CHECKING:
    from pybpf.maps import Map
    from pybpf.object.kernel import KernelContext
    from pybpf.object.struct_ops import KernelStructOps, StructOpsPlan
    from pybpf.object.linker import ExternValue, LinkedProgram
    from pybpf.object.live import Object
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.spec import ObjectSpec

__all__ = ["load_object", "DEFAULT_PIN_ROOT", "sanitize_pin_path", "rephrase"]

DEFAULT_PIN_ROOT = "/sys/fs/bpf"
_BPF_F_NUMA_NODE = 1 << 2
_BTF_FEATURES = (("func", "func"), ("func_global", "global_func"), ("datasec", "datasec"),
                 ("float", "float"), ("decl_tag", "decl_tag"), ("type_tag", "type_tag"),
                 ("enum64", "enum64"))


def rephrase(exc: BPFError, message: str) -> BPFError:
    """A copy of ``exc`` (same class, errno, op, verifier log...) with a new message."""
    cls = type(exc)
    new = cls.__new__(cls)
    new.__dict__.update(exc.__dict__)
    new.message = message
    new.args = (message,)
    return new


def sanitize_pin_path(path: str) -> str:
    """libbpf's sanitize_pin_path(): bpffs refuses dots in names, so every '.' becomes '_'."""
    return path.replace(".", "_")


class _Created:
    """Everything one load created, released together if the load fails."""

    def __init__(self) -> None:
        self.maps: list[Any] = []
        self.programs: list[Any] = []
        self.pinned: list[str] = []
        self.btf_fd: Any = None

    def release(self) -> None:
        for path in reversed(self.pinned):
            try:
                os.unlink(path)
            except OSError:
                pass
        for obj in reversed(self.programs):
            obj.close()
        for obj in reversed(self.maps):
            if obj is not None:
                obj.close()
        if self.btf_fd is not None:
            self.btf_fd.close()


def _btf_features() -> dict[str, bool]:
    """libbpf's FEAT_BTF_* probes, as :class:`pybpf.btf.sanitize.BTFFeatures` keywords (the
    class itself is built only when something is missing: see :func:`_load_btf`)."""
    from pybpf.features import probe_btf_kind

    return {attr: probe_btf_kind(kind) for attr, kind in _BTF_FEATURES}


def load_object(spec: "ObjectSpec", *, kernel_btf: Any = None, pin_root: str | None = None,
                kconfig: str | None = None, log_level: int = 0) -> "Object":
    """See the module docstring and :meth:`ObjectSpec.load`."""
    from pybpf.object.kernel import KernelContext
    from pybpf.object.linker import Linker
    from pybpf.object.resolve import resolve_externs
    from pybpf.sys.rlimit import ensure_memlock_rlimit

    where = spec.path or spec.name or "<object>"
    if isinstance(kernel_btf, os.PathLike):
        kernel_btf = os.fspath(kernel_btf)
    for p in spec.programs.values():
        if p.autoload and p.type is None:
            raise ObjectError(f"{where}: prog '{p.name}': missing BPF prog type, check ELF section name "
                              f"'{p.section_name}' (no libbpf SEC() definition matches it; set "
                              "spec.programs[...].type)")
    ensure_memlock_rlimit()
    ctx = KernelContext(kernel_btf)
    created = _Created()
    warnings: list[str] = []
    try:
        maps = [mp.copy() for mp in spec.maps.list()]
        kcfg = next((mp for mp in maps if mp.kind == "kconfig"), None)
        externs = resolve_externs(spec, ctx, kcfg.data if kcfg is not None else None, kconfig)
        plan = _struct_ops_plan(spec, maps, ctx, where)
        progs = [p for p in spec.programs.values() if plan.loads(p)]

        decl_tags = True
        if spec.btf is not None:
            features = _btf_features()
            decl_tags = features["decl_tag"]
        linker = Linker(spec, decl_tags=decl_tags, loads=plan.loads)
        if linker.core_sections() and any(plan.loads(p) for p in spec.all_programs):
            targets, modules = ctx.core_targets()
            linker.apply_core(targets, modules)
        linker.mark_pseudo_funcs()
        linked = {p.name: linker.link(p) for p in progs}
        for lp in linked.values():
            warnings.extend(lp.warnings)

        btf_fd = None
        if spec.btf is not None:
            btf_fd = _load_btf(spec, features, warnings, where)
            created.btf_fd = btf_fd

        map_objs = _create_maps(spec, maps, btf_fd, pin_root, created, where, plan)
        kconfig_fd = None
        if kcfg is not None:
            kobj = map_objs[maps.index(kcfg)]
            kconfig_fd = kobj.fileno() if kobj is not None else None

        prog_objs = _load_programs(spec, progs, linked, maps, map_objs, externs, kconfig_fd, btf_fd, ctx,
                                   created, log_level, where, plan)
        _init_prog_arrays(maps, map_objs, prog_objs, where)
        _prepare_struct_ops(plan, map_objs, prog_objs)

        from pybpf.object.live import Object

        obj = Object(spec, maps, map_objs, prog_objs, linked, btf_fd, warnings)
    except BaseException:
        created.release()
        raise
    finally:
        ctx.close()
    return obj


def link_object(spec: "ObjectSpec", *, kernel_btf: Any = None, kconfig: str | None = None
                ) -> "dict[str, LinkedProgram]":
    """Steps 1 and 2 of the module docstring only (see :meth:`ObjectSpec.link`)."""
    from pybpf.object.kernel import KernelContext
    from pybpf.object.linker import Linker
    from pybpf.object.resolve import resolve_externs

    ctx = KernelContext(os.fspath(kernel_btf) if isinstance(kernel_btf, os.PathLike) else kernel_btf)
    where = spec.path or spec.name or "<object>"
    try:
        maps = [mp.copy() for mp in spec.maps.list()]
        kcfg = next((mp for mp in maps if mp.kind == "kconfig"), None)
        externs = resolve_externs(spec, ctx, kcfg.data if kcfg is not None else None, kconfig)
        plan = _struct_ops_plan(spec, maps, ctx, where)
        linker = Linker(spec, loads=plan.loads)
        if linker.core_sections():
            targets, modules = ctx.core_targets()
            linker.apply_core(targets, modules)
        linker.mark_pseudo_funcs()
        out = {}
        for p in spec.programs.values():
            if plan.loads(p):
                lp = linker.link(p)
                lp.externs = externs
                out[p.name] = lp
        return out
    finally:
        ctx.close()


# ------------------------------------------------------------------------------------------ struct_ops

def _struct_ops_plan(spec: "ObjectSpec", maps: "list[MapSpec]", ctx: "KernelContext", where: str) -> "StructOpsPlan":
    """struct_ops maps matched against the kernel, the programs' attach targets and autoload
    (:func:`pybpf.object.struct_ops.plan_struct_ops`); refuses a struct_ops program no created
    map uses (the kernel could not tell which struct and member it implements)."""
    from pybpf.object.struct_ops import StructOpsPlan, is_struct_ops_program, plan_struct_ops

    plan = StructOpsPlan()
    if any(mp.struct_ops is not None for mp in maps):
        plan = plan_struct_ops(spec, maps, ctx, where)
    for p in spec.programs.values():
        if plan.loads(p) and p.name not in plan.programs and is_struct_ops_program(p):
            raise ObjectError(f"{where}: prog '{p.name}': struct_ops program is not used by any struct_ops "
                              "map that is created, so nothing says which kernel struct and member it "
                              "implements (put it in a SEC(\".struct_ops\") variable's function pointer, "
                              "or set its autoload to False)")
    return plan


def _prepare_struct_ops(plan: "StructOpsPlan", map_objs: "list[Map | None]", progs: dict[str, Any]) -> None:
    """Keep each struct_ops map's value, program descriptors in place, on the map
    (``Map.struct_ops_value``) for :func:`pybpf.link.attach_struct_ops` (libbpf's
    bpf_object_prepare_struct_ops)."""
    from pybpf.object.struct_ops import fill_value

    for idx, kso in plan.maps.items():
        obj = map_objs[idx]
        if obj is not None:
            obj.struct_ops_value = fill_value(kso, progs)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ BTF

def _load_btf(spec: "ObjectSpec", features: dict[str, bool], warnings: list[str], where: str) -> Any:
    """Hidden subprograms' FUNCs made static, kinds the kernel lacks replaced, BTF_LOAD."""
    from pybpf.object.objbtf import BTFPatcher, mark_static_funcs
    from pybpf.sys.commands import btf_load

    assert spec.btf is not None
    raw = bytes(spec.btf.raw)
    hidden = [p.name for p in spec.all_programs if p.mark_btf_static and p.is_subprog]
    if hidden:
        patcher = BTFPatcher(raw, f"{where}: .BTF")
        mark_static_funcs(patcher, hidden)
        raw = patcher.encode()
    if not all(features.values()):
        from pybpf.btf.sanitize import BTFFeatures, needs_sanitizing, sanitize

        btf_features = BTFFeatures(**features)
        if needs_sanitizing(btf_features):
            raw = sanitize(raw, btf_features)
    try:
        return btf_load(raw, what=f"{where}: object BTF")
    except BPFError as exc:
        warnings.append(f"Error loading .BTF into kernel: {exc}. BTF is optional, ignoring.")
        return None


# ------------------------------------------------------------------------------------------ maps

def _pin_path(mp: "MapSpec", pin_root: str | None) -> str | None:
    if mp.pin_path:
        return mp.pin_path
    if mp.pinning == 1:
        return os.path.join(pin_root or DEFAULT_PIN_ROOT, mp.name)
    return None


def _reuse_pinned(mp: "MapSpec", path: str, where: str) -> "Map | None":
    """libbpf's bpf_object__reuse_map(): the compatible map pinned at ``path``, or None."""
    from pybpf.maps import Map

    try:
        pinned = Map.from_pin(path)
    except NotFoundError:
        return None
    except BPFError as exc:
        raise ObjectError(f"{where}: map '{mp.name}': couldn't retrieve pinned map '{path}': {exc}") from None
    try:
        info = pinned.info()
        want = (mp.type, mp.key_size, mp.value_size, mp.max_entries, mp.flags, mp.map_extra)
        have = (int(info.type), info.key_size, info.value_size, info.max_entries, info.map_flags,
                info.map_extra)
        if want != have:
            fields = ("type", "key_size", "value_size", "max_entries", "map_flags", "map_extra")
            diff = ", ".join(f"{f} {h} (object wants {w})" for f, w, h in zip(fields, want, have) if w != h)
            raise ObjectError(f"{where}: map '{mp.name}': couldn't reuse pinned map at '{path}': "
                              f"parameter mismatch: {diff}")
    except BaseException:
        pinned.close()
        raise
    pinned.name = mp.name
    return pinned


def _create_one(mp: "MapSpec", btf_fd: Any, where: str, kso: "KernelStructOps | None" = None) -> "Map":
    """libbpf's bpf_object__create_map() (inner map template first; BTF dropped on refusal)."""
    from pybpf.maps import Map
    from pybpf.object.maps import MAP_IN_MAP, MAP_TYPE_PERF_EVENT_ARRAY, NO_BTF_TYPES

    if kso is not None:
        return _create_struct_ops(mp, btf_fd, where, kso)

    max_entries = mp.max_entries
    if mp.type == MAP_TYPE_PERF_EVENT_ARRAY and not max_entries:
        from pybpf.sys.cpus import num_possible_cpus

        max_entries = num_possible_cpus()
    key_id, value_id = mp.btf_key_type_id, mp.btf_value_type_id
    if mp.type in NO_BTF_TYPES or btf_fd is None:
        key_id = value_id = 0
    inner = None
    if mp.type in MAP_IN_MAP and mp.inner is not None:
        try:
            inner = _create_one(mp.inner, btf_fd, where)
        except BPFError as exc:
            raise ObjectError(f"{where}: map '{mp.name}': failed to create inner map: {exc}") from None
    try:
        kw: dict[str, Any] = dict(name=mp.name[:15], flags=mp.flags, inner_map=inner,
                                  map_extra=mp.map_extra, ifindex=mp.ifindex)
        if mp.flags & _BPF_F_NUMA_NODE:
            kw["numa_node"] = mp.numa_node
        try:
            return Map.create(mp.type, mp.key_size, mp.value_size, max_entries,
                              btf=btf_fd if (key_id or value_id) else None,
                              btf_key_type_id=key_id, btf_value_type_id=value_id, **kw)
        except BPFError:
            if not (key_id or value_id):
                raise
            # libbpf: "Error in bpf_create_map_xattr(...). Retrying without BTF."
            return Map.create(mp.type, mp.key_size, mp.value_size, max_entries, **kw)
    finally:
        if inner is not None:
            inner.close()


def _create_struct_ops(mp: "MapSpec", btf_fd: Any, where: str, kso: "KernelStructOps") -> "Map":
    """A struct_ops map: the kernel's value type (``btf_vmlinux_value_type_id``, in a module's
    BTF with ``BPF_F_VTYPE_BTF_OBJ_FD``); the object's BTF must be loaded (the kernel wants it)."""
    from pybpf.maps import Map
    from pybpf.object.struct_ops import BPF_F_VTYPE_BTF_OBJ_FD

    if btf_fd is None:
        raise ObjectError(f"{where}: map '{mp.name}': struct_ops maps need the object's BTF, which the kernel "
                          "refused (see the load's warnings)")
    flags = mp.flags
    kw: dict[str, Any] = {}
    if kso.module is not None:
        if kso.module.fd is None:
            raise ObjectError(f"{where}: map '{mp.name}': struct {kso.type_name} is in module "
                              f"'{kso.module.name}', whose BTF object cannot be opened")
        kw["value_type_btf_obj_fd"] = kso.module.fd
        flags |= BPF_F_VTYPE_BTF_OBJ_FD
    if mp.flags & _BPF_F_NUMA_NODE:
        kw["numa_node"] = mp.numa_node
    return Map.create(mp.type, mp.key_size, mp.value_size, mp.max_entries, name=mp.name[:15], flags=flags,
                      btf=btf_fd, btf_vmlinux_value_type_id=kso.value_type_id, map_extra=mp.map_extra,
                      ifindex=mp.ifindex, **kw)


def _create_maps(spec: "ObjectSpec", maps: "list[MapSpec]", btf_fd: Any, pin_root: str | None,
                 created: _Created, where: str, plan: "StructOpsPlan | None" = None) -> "list[Map | None]":
    from pybpf.sys.commands import obj_pin

    out: list[Map | None] = []
    st_ops = plan.maps if plan is not None else {}
    for idx, mp in enumerate(maps):
        if not mp.autocreate:
            out.append(None)
            continue
        path = _pin_path(mp, pin_root)
        obj = None
        if mp.reuse_fd is not None:
            obj = _reuse_fd(mp, where)
            created.maps.append(obj)
            if path is not None:
                _pin_new(obj, mp, path, created, where)
            out.append(obj)
            continue
        for attempt in (0, 1):
            if path is not None:
                obj = _reuse_pinned(mp, path, where)
                if obj is not None:
                    obj.reused = True  # type: ignore[attr-defined]
                    break
                if attempt:
                    raise ObjectError(f"{where}: map '{mp.name}': cannot find pinned map at '{path}'")
            try:
                obj = _create_one(mp, btf_fd, where, st_ops.get(idx))
            except ObjectError:
                raise
            except BPFError as exc:
                raise rephrase(exc, f"{where}: map '{mp.name}': failed to create: {exc.message}") from None
            obj.reused = False  # type: ignore[attr-defined]
            created.maps.append(obj)
            try:
                _populate(mp, obj, out, maps, where)
            except BPFError as exc:
                raise rephrase(exc, f"{where}: map '{mp.name}': {exc.message}") from None
            if path is None:
                break
            parent = os.path.dirname(path)
            try:
                os.mkdir(parent, 0o700)
            except FileExistsError:
                pass
            except OSError as exc:
                raise ObjectError(f"{where}: map '{mp.name}': failed to mkdir {parent}: {exc.strerror}") from None
            try:
                obj_pin(obj.fileno(), path, what=f"map '{mp.name}'")
            except BPFError as exc:
                created.maps.remove(obj)
                obj.close()
                if exc.errno == _errno.EEXIST and attempt == 0:
                    continue   # someone pinned it meanwhile: reuse theirs
                raise ObjectError(f"{where}: map '{mp.name}': failed to auto-pin at '{path}': {exc}") from None
            obj.pinned_path = path
            created.pinned.append(path)
            break
        if obj is not None and getattr(obj, "reused", False):
            obj.pinned_path = path
            created.maps.append(obj)
        out.append(obj)
    return out


def _reuse_fd(mp: "MapSpec", where: str) -> "Map":
    """libbpf's bpf_map__reuse_fd(): the given map, with its definition taken over."""
    from pybpf.maps import Map

    src = mp.reuse_fd
    fd = src.fd if isinstance(src, Map) else src
    try:
        obj = Map.from_fd(fd)
    except BPFError as exc:
        raise ObjectError(f"{where}: map '{mp.name}': unable to set up map reuse: {exc}") from None
    info = obj.info()
    if not (len(info.name) == 15 and mp.name.startswith(info.name)):
        object.__setattr__(mp, "name", info.name)
    for key, value in (("type", int(info.type)), ("key_size", info.key_size), ("value_size", info.value_size),
                       ("max_entries", info.max_entries), ("flags", info.map_flags),
                       ("btf_key_type_id", info.btf_key_type_id), ("btf_value_type_id", info.btf_value_type_id),
                       ("map_extra", info.map_extra)):
        object.__setattr__(mp, key, value)
    obj.name = mp.name
    obj.reused = True  # type: ignore[attr-defined]
    return obj


def _pin_new(obj: "Map", mp: "MapSpec", path: str, created: _Created, where: str) -> None:
    from pybpf.sys.commands import obj_pin

    parent = os.path.dirname(path)
    try:
        os.mkdir(parent, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ObjectError(f"{where}: map '{mp.name}': failed to mkdir {parent}: {exc.strerror}") from None
    try:
        obj_pin(obj.fileno(), path, what=f"map '{mp.name}'")
    except BPFError as exc:
        raise ObjectError(f"{where}: map '{mp.name}': failed to auto-pin at '{path}': {exc}") from None
    obj.pinned_path = path
    created.pinned.append(path)


def _populate(mp: "MapSpec", obj: "Map", done: "list[Map | None]", maps: "list[MapSpec]", where: str) -> None:
    """Global data contents (frozen for .rodata/.kconfig) and map-in-map slots."""
    from pybpf.object.maps import MAP_TYPE_PROG_ARRAY

    if mp.is_internal:
        assert mp.data is not None
        obj.update(b"\0\0\0\0", bytes(mp.data))
        if mp.kind in ("rodata", "kconfig"):
            obj.freeze()
    if mp.init_slots and mp.type != MAP_TYPE_PROG_ARRAY:
        names = [m.name for m in maps]
        for slot, target in sorted(mp.init_slots.items()):
            idx = names.index(target) if target in names else -1
            fd_obj = done[idx] if 0 <= idx < len(done) else None
            if fd_obj is None:
                raise ObjectError(f"failed to initialize slot [{slot}] to map '{target}': that map is not "
                                  "created (it must be defined before the map-in-map and be created)")
            obj.update(slot.to_bytes(4, "little"), fd_obj.fileno().to_bytes(4, "little"))


def _init_prog_arrays(maps: "list[MapSpec]", map_objs: "list[Map | None]", progs: dict[str, Any],
                      where: str) -> None:
    from pybpf.object.maps import MAP_TYPE_PROG_ARRAY

    for mp, obj in zip(maps, map_objs):
        if obj is None or mp.type != MAP_TYPE_PROG_ARRAY or not mp.init_slots:
            continue
        for slot, name in sorted(mp.init_slots.items()):
            prog = progs.get(name)
            if prog is None:
                raise ObjectError(f"{where}: map '{mp.name}': failed to initialize slot [{slot}] to prog "
                                  f"'{name}': the program is not loaded (autoload is off)")
            try:
                obj.update(slot.to_bytes(4, "little"), prog.fileno().to_bytes(4, "little"))
            except BPFError as exc:
                raise rephrase(exc, f"{where}: map '{mp.name}': failed to initialize slot [{slot}] to prog "
                                    f"'{name}': {exc.message}") from None


# ------------------------------------------------------------------------------------------ programs

def _attach_type_name(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("BPF_"):
        return value
    from pybpf.sys import uapi
    from pybpf.sys.names import parse_attach_type

    num = parse_attach_type(value)
    try:
        return uapi.bpf_attach_type(num).name
    except ValueError:
        return None


def _is_ext(prog: "ProgramSpec") -> bool:
    from pybpf.sys.names import parse_prog_type

    return parse_prog_type(prog.type) == parse_prog_type("ext")


def _attach_target(prog: "ProgramSpec", ctx: "KernelContext", where: str) -> dict[str, Any]:
    """attach_btf_id (+ attach_prog_fd / attach_btf_obj_fd) as libbpf_prepare_prog_load() finds it."""
    d = prog.definition
    explicit = prog.attach_target is not None or prog.attach_program is not None
    if not explicit and (d is None or not d.definition.attach_btf):
        return {}
    name = prog.btf_attach_name()
    if prog.attach_program is not None or _is_ext(prog):
        if prog.attach_program is None:
            raise ObjectError(f"{where}: prog '{prog.name}': attach program FD is not set (freplace "
                              "programs need spec.programs[...].set_attach_target(program=...))")
        if not name:
            raise ObjectError(f"{where}: prog '{prog.name}': no function of the target program to attach to")
        from pybpf.link.tracing import _prog_func_btf_id

        try:
            btf_id = _prog_func_btf_id(prog.attach_program, name)
        except BPFError as exc:
            raise ObjectError(f"{where}: prog '{prog.name}': failed to find BPF program BTF ID for "
                              f"'{name}': {exc}") from None
        return {"attach_btf_id": btf_id, "attach_prog_fd": prog.attach_program}
    if not name:
        raise ObjectError(f"{where}: prog '{prog.name}': no BTF-based attach target is specified "
                          f"(section '{prog.section_name}' has none), use set_attach_target()")
    try:
        btf_id, mod = ctx.attach_btf_id(name, _attach_type_name(prog.expected_attach_type))
    except BPFError as exc:
        raise ObjectError(f"{where}: prog '{prog.name}': failed to find kernel BTF type ID of '{name}': "
                          f"{exc.message}") from None
    out: dict[str, Any] = {"attach_btf_id": btf_id}
    if mod is not None:
        if mod.fd is None:
            raise ObjectError(f"{where}: prog '{prog.name}': attach target '{name}' is in module "
                              f"'{mod.name}', whose BTF object cannot be opened")
        out["attach_btf_obj_fd"] = mod.fd
    return out


def _load_programs(spec: "ObjectSpec", progs: "list[ProgramSpec]", linked: "dict[str, LinkedProgram]",
                   maps: "list[MapSpec]", map_objs: "list[Map | None]", externs: "list[ExternValue]",
                   kconfig_fd: int | None, btf_fd: Any, ctx: "KernelContext", created: _Created,
                   log_level: int, where: str, plan: "StructOpsPlan | None" = None) -> dict[str, Any]:
    from pybpf.object.kernel import kernel_version_code
    from pybpf.object.linker import apply_data
    from pybpf.programs import Program
    from pybpf.sys.commands import prog_bind_map

    fds = [o.fileno() if o is not None else None for o in map_objs]
    rodata = [o for mp, o in zip(maps, map_objs) if mp.kind == "rodata" and o is not None]
    kern_version = spec.kern_version if spec.kern_version is not None else kernel_version_code()
    license = spec.license
    out: dict[str, Any] = {}
    for prog in progs:
        lp = linked[prog.name]
        insns = apply_data(lp, spec, fds, externs, kconfig_fd)
        kw: dict[str, Any] = dict(name=prog.name, expected_attach_type=prog.expected_attach_type,
                                  kern_version=kern_version, flags=prog.prog_flags(),
                                  ifindex=prog.ifindex, log_level=prog.log_level | log_level)
        st_ops = plan.programs.get(prog.name) if plan is not None else None
        if st_ops is not None:
            # libbpf: the kernel's struct and member index (bpf_map__init_kern_struct_ops)
            kw["attach_btf_id"], kw["expected_attach_type"], mod = st_ops
            if mod is not None:
                kw["attach_btf_obj_fd"] = mod.fd
        else:
            kw.update(_attach_target(prog, ctx, where))
        if btf_fd is not None:
            kw.update(btf=btf_fd, func_info=lp.func_info_bytes(), func_info_rec_size=lp.func_info_rec_size,
                      line_info=lp.line_info_bytes(), line_info_rec_size=lp.line_info_rec_size)
        fd_array = ctx.fd_array
        if fd_array:
            kw["fd_array"] = fd_array
        try:
            obj = Program.load(prog.type, insns, license, **kw)
        except VerifierError as exc:
            raise _verifier_error(exc, lp, spec, where) from None
        except BPFError as exc:
            raise rephrase(exc, f"{where}: prog '{prog.name}': failed to load: {exc.message}") from None
        created.programs.append(obj)
        for rmap in rodata:
            try:
                prog_bind_map(obj.fileno(), rmap.fileno())
            except BPFError:
                pass   # libbpf: "Don't fail hard if can't bind rodata"
        out[prog.name] = obj
    return out


def _verifier_error(exc: VerifierError, lp: "LinkedProgram", spec: "ObjectSpec", where: str) -> VerifierError:
    from pybpf.object.verifier_log import fixup_verifier_log

    log, why = fixup_verifier_log(exc.log, lp, spec)
    msg = f"{where}: prog '{lp.name}': BPF program load failed"
    if why:
        msg += f": {why}"
    new = VerifierError(msg, log, errno=exc.errno, op=exc.op, truncated=exc.truncated)
    new.program = lp.name  # type: ignore[attr-defined]
    return new
