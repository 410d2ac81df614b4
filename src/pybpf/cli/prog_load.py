"""``pybpf prog load`` and ``pybpf prog loadall``, with bpftool's grammar and pinning.

    pybpf prog { load | loadall } OBJ PATH [type TYPE] [map { idx IDX | name NAME } MAP]
                                  [pinmaps MAP_DIR] [autoattach] [kernel_btf FILE]

``load`` loads every program of the object and pins the first at ``PATH``; ``loadall`` pins
each program at ``PATH/<program name>`` (``PATH`` is created). ``type`` overrides the program
type libbpf guesses from the section names (for every program); ``map`` makes the object use
an existing map instead of creating one (``MAP := { id MAP_ID | pinned FILE | name MAP_NAME }``,
``IDX`` counts the object's maps in order); ``pinmaps`` pins every map at
``MAP_DIR/<map name>`` (dots become underscores, as bpffs requires); ``autoattach`` attaches what
can be auto-attached and pins the link instead of the program (programs that cannot be
auto-attached are pinned). ``kernel_btf`` (pybpf's addition) relocates CO-RE against that BTF.
The object is closed afterwards: what is pinned stays in the kernel.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pybpf.cli.common import CLIError, Context, is_prefix
from pybpf.errors import BPFError

__all__ = ["do_load", "do_loadall"]


def do_load(ctx: Context, args: list[str]) -> int:
    return _load(ctx, args, first_only=True)


def do_loadall(ctx: Context, args: list[str]) -> int:
    return _load(ctx, args, first_only=False)


def _prog_type_by_name(name: str) -> tuple[str, str | None]:
    """bpftool: libbpf_prog_type_by_name(TYPE), then with a '/' appended."""
    from pybpf.object.sections import prog_type_by_name

    try:
        return prog_type_by_name(name)
    except BPFError:
        return prog_type_by_name(name + "/")


def _parse(args: list[str]) -> dict[str, Any]:
    if len(args) < 2:
        raise CLIError("expected OBJ and PATH")
    opts: dict[str, Any] = {"file": args[0], "path": args[1], "type": None, "maps": [], "pinmaps": None,
                            "autoattach": False, "kernel_btf": None}
    rest = args[2:]
    while rest:
        word = rest[0]
        if is_prefix(word, "type"):
            if opts["type"] is not None:
                raise CLIError("program type already specified")
            if len(rest) < 2:
                raise CLIError("'type' needs a program type")
            try:
                opts["type"] = _prog_type_by_name(rest[1])
            except BPFError:
                raise CLIError(f"failed to guess program type from '{rest[1]}'") from None
            rest = rest[2:]
        elif is_prefix(word, "map"):
            if len(rest) < 5:
                raise CLIError("'map' needs { idx IDX | name NAME } MAP")
            sel, val = rest[1], rest[2]
            if is_prefix(sel, "idx"):
                try:
                    key: Any = int(val, 0)
                except ValueError:
                    raise CLIError(f"can't parse {val} as IDX") from None
            elif is_prefix(sel, "name"):
                key = val
            else:
                raise CLIError(f"expected 'idx' or 'name', got: '{sel}'?")
            from pybpf.cli.map import open_maps, parse_map_handle

            handle, rest = parse_map_handle(rest[3:])
            found = open_maps(handle)
            if len(found) > 1:
                for fd, _ in found:
                    fd.close()
                raise CLIError(f"several maps match '{handle[1]}'")
            opts["maps"].append((key, found[0][0]))
        elif is_prefix(word, "pinmaps"):
            if len(rest) < 2:
                raise CLIError("'pinmaps' needs a directory")
            opts["pinmaps"] = rest[1]
            rest = rest[2:]
        elif is_prefix(word, "autoattach"):
            opts["autoattach"] = True
            rest = rest[1:]
        elif is_prefix(word, "kernel_btf"):
            if len(rest) < 2:
                raise CLIError("'kernel_btf' needs a file")
            opts["kernel_btf"] = rest[1]
            rest = rest[2:]
        else:
            raise CLIError(f"expected no more arguments, 'type', 'map', 'pinmaps', 'autoattach' or "
                           f"'kernel_btf', got: '{word}'?")
    return opts


def _load(ctx: Context, args: list[str], first_only: bool) -> int:
    opts = _parse(args)
    try:
        return _run(ctx, opts, first_only)
    finally:
        for _, fd in opts["maps"]:
            fd.close()


def _apply_options(spec: Any, opts: dict[str, Any]) -> None:
    from pybpf.object.sections import prog_type_by_name

    for prog in spec.programs.values():
        if opts["type"] is not None:
            ptype, attach = opts["type"]
        else:
            try:
                ptype, attach = prog_type_by_name(prog.section)
            except BPFError:
                raise CLIError(f"failed to guess program type from ELF section '{prog.section}' "
                               f"(program '{prog.name}')") from None
        prog.type = ptype
        prog.expected_attach_type = attach
    maps = spec.maps.list()
    by_index: dict[int, Any] = {}
    for key, fd in opts["maps"]:
        if isinstance(key, str):
            idx = next((i for i, mp in enumerate(maps) if mp.name == key), -1)
            if idx < 0:
                raise CLIError(f"unable to find map '{key}'")
        else:
            idx = key
        if idx in by_index:
            raise CLIError(f"replacement for map idx {idx} specified more than once")
        if not 0 <= idx < len(maps):
            raise CLIError(f"map idx '{idx}' not used")
        by_index[idx] = fd
    for idx, fd in by_index.items():
        maps[idx].reuse(fd)


def _is_bpffs(path: str) -> bool:
    import ctypes

    class StatFS(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 120)]

    libc = ctypes.CDLL(None, use_errno=True)   # the C library is already loaded
    buf = StatFS()
    if libc.statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
        return False
    return (buf.f_type & 0xFFFFFFFF) == 0xCAFE4A11


def _prepare_dir(path: str) -> None:
    """bpftool's create_and_mount_bpffs_dir(), without mounting: the directory, on a bpffs."""
    if not os.path.isdir(path):
        parent = os.path.dirname(os.path.abspath(path))
        if not _is_bpffs(parent):
            raise CLIError(f"can't create directory {path}: {parent} is not on a BPF file system "
                           "(mount one: mount -t bpf bpf /sys/fs/bpf)")
        try:
            os.mkdir(path, 0o700)
        except OSError as exc:
            raise CLIError(f"can't create directory {path}: {exc.strerror}") from None
    elif not _is_bpffs(path):
        raise CLIError(f"{path} is not on a BPF file system")


def _run(ctx: Context, opts: dict[str, Any], first_only: bool) -> int:
    from pybpf.object import ObjectSpec

    spec = ObjectSpec.open(opts["file"])
    _apply_options(spec, opts)
    try:
        obj = spec.load(kernel_btf=opts["kernel_btf"])
    except BPFError as exc:
        from pybpf.object.loader import rephrase

        raise rephrase(exc, f"failed to load object file: {exc.message}") from None
    pinned: list[str] = []
    try:
        path = opts["path"]
        if first_only:
            parent = os.path.dirname(os.path.abspath(path))
            if not _is_bpffs(parent):
                raise CLIError(f"{parent} is not on a BPF file system")
            if not obj.programs:
                raise CLIError("object file doesn't contain any bpf program")
            name = next(iter(obj.programs))
            _pin_one(obj, name, path, opts["autoattach"], ctx)
            pinned.append(path)
        else:
            _prepare_dir(path)
            for name in obj.programs:
                target = os.path.join(path, name)
                _pin_one(obj, name, target, opts["autoattach"], ctx)
                pinned.append(target)
        if opts["pinmaps"]:
            _prepare_dir(opts["pinmaps"])
            obj.pin_maps(opts["pinmaps"])
    except BaseException:
        for p in pinned:
            try:
                os.unlink(p)
            except OSError:
                pass
        obj.close()
        raise
    obj.close()
    if ctx.json:
        ctx.emit_json(None)
    return 0


def _pin_one(obj: Any, name: str, path: str, autoattach: bool, ctx: Context) -> None:
    prog = obj.programs[name]
    if autoattach:
        link = obj.attach_program(name)
        if link is not None:
            try:
                link.pin(path)
            finally:
                link.close()
            return
        print(f"Program {name} does not support autoattach, falling back to pinning", file=sys.stderr)
    try:
        prog.pin(path)
    except BPFError as exc:
        from pybpf.object.loader import rephrase

        raise rephrase(exc, f"failed to pin program {obj.spec.programs[name].section_name}: "
                            f"{exc.message}") from None
