"""``pybpf btf``: bpftool's ``btf`` command (show, dump), same grammar, text and JSON.

::

    pybpf btf { show | list } [id BTF_ID]
    pybpf btf dump BTF_SRC [format FORMAT] [base FILE]
        BTF_SRC := { id BTF_ID | prog PROG | map MAP [{key | value | kv | all}] | file FILE }
        FORMAT  := { raw | c }

``file`` takes raw BTF (such as /sys/kernel/btf/*) or an ELF object with a ``.BTF`` section.
Whole-BTF C dumps go through pybpf's on-disk output cache, keyed by the BTF's content
(:func:`pybpf.btf.dump_c.dump_c_cached`); ``PYBPF_NO_CACHE=1`` bypasses it.
Split BTF is read on top of a base given with ``-B/--base-btf FILE`` (bpftool's option) or the
``base FILE`` keyword; files under /sys/kernel/btf/ other than vmlinux get vmlinux as their
base automatically.
"""

from __future__ import annotations

import os
from typing import Any

from pybpf.btf.spec import BTF
from pybpf.cli.common import CLIError, Context, is_prefix
from pybpf.errors import BPFError, BTFError, NotFoundError

__all__ = ["run", "USAGE", "load_btf_file", "read_btf_bytes"]

USAGE = """Usage: pybpf btf { show | list } [id BTF_ID]
       pybpf btf dump BTF_SRC [format FORMAT]
       pybpf btf help

       BTF_SRC := { id BTF_ID | prog PROG | map MAP [{key | value | kv | all}] | file FILE }
       FORMAT  := { raw | c }
       MAP := { id MAP_ID | pinned FILE | name MAP_NAME }
       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} | {-l|--legacy} |
                    {-B|--base-btf} }
"""

SYSFS_PREFIX = "/sys/kernel/btf/"
SYSFS_VMLINUX = "/sys/kernel/btf/vmlinux"


def _errno_text(exc: BaseException) -> str:
    err = getattr(exc, "errno", None)
    if err:
        return os.strerror(err)
    return str(exc)


def read_btf_bytes(path: str) -> Any:
    """The raw BTF in ``path`` as ``bpftool btf dump file`` reads it: the file itself when it is
    raw BTF, the ``.BTF`` section of an ELF file. CLIError with bpftool's message otherwise."""
    from pybpf.btf.elf import is_elf
    from pybpf.btf.kernel import _btf_bytes_of, _read

    try:
        data = _read(path)
    except BPFError as exc:
        raise CLIError(f"failed to load BTF from {path}: {_errno_text(exc)}") from None
    if len(data) >= 2 and data[:2] in (b"\x9f\xeb", b"\xeb\x9f"):
        return data
    if not is_elf(data):
        raise CLIError(f"failed to load BTF from {path}: neither raw BTF nor an ELF file")
    try:
        return _btf_bytes_of(path, data)
    except BTFError as exc:
        raise CLIError(f"failed to load BTF from {path}: {exc}") from None


def _parse(path: str, raw: Any, base: BTF | None) -> BTF:
    try:
        return BTF.parse(raw, base)
    except BTFError as exc:
        raise CLIError(f"failed to load BTF from {path}: {exc}") from None


def load_btf_file(path: str, base: BTF | None = None) -> BTF:
    """BTF from ``path`` as ``bpftool btf dump file`` reads it (raw BTF or ELF ``.BTF``).

    Raises :class:`CLIError` with bpftool's message when it cannot be loaded.
    """
    return _parse(path, read_btf_bytes(path), base)


def _usage(ctx: Context) -> int:
    ctx.out.write(USAGE)
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    return _usage(ctx)


def _take_base(ctx: Context, args: list[str]) -> list[str]:
    """Strip ``-B FILE``/``--base-btf FILE`` and ``base FILE`` from ``args`` into ctx.extra."""
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-B", "--base-btf") or a.startswith("--base-btf="):
            if "=" in a:
                ctx.extra["base_btf"] = a.split("=", 1)[1]
            else:
                if i + 1 >= len(args):
                    raise CLIError(f"option '{a}' requires an argument")
                ctx.extra["base_btf"] = args[i + 1]
                i += 1
        else:
            rest.append(a)
        i += 1
    return rest


def _base_raw(ctx: Context) -> Any:
    """The raw bytes of the base BTF given with -B/base (None without one)."""
    path = ctx.extra.get("base_btf")
    if not path:
        return None
    cached = ctx.extra.get("_base_btf_raw")
    if cached is None:
        try:
            cached = read_btf_bytes(path)
        except CLIError as exc:
            raise CLIError(f"failed to parse base BTF '{path}': {exc.message.split(': ', 1)[-1]}") from None
        ctx.extra["_base_btf_raw"] = cached
    return cached


def _base_btf(ctx: Context) -> BTF | None:
    path = ctx.extra.get("base_btf")
    if not path:
        return None
    cached = ctx.extra.get("_base_btf_obj")
    if cached is None:
        raw = _base_raw(ctx)
        try:
            cached = BTF.parse(raw)
        except BTFError as exc:
            raise CLIError(f"failed to parse base BTF '{path}': {exc}") from None
        ctx.extra["_base_btf_obj"] = cached
    return cached


def _write_c(ctx: Context, data: bytes) -> None:
    """Write a C dump's bytes (names that are not UTF-8 included) to the output."""
    buffer = getattr(ctx.out, "buffer", None)
    if buffer is None:
        ctx.out.write(data.decode("utf-8", "surrogateescape"))
        return
    ctx.out.flush()
    buffer.write(data)
    buffer.flush()


def _dump_options(ctx: Context, args: list[str], path: str | None) -> bool:
    """``[format {raw | c}]`` (and ``base FILE`` for sources other than files): True for C."""
    dump_c = False
    while args:
        if is_prefix(args[0], "format"):
            if len(args) < 2:
                raise CLIError("expecting value for 'format' option\n")
            if args[1] == "c":
                dump_c = True
            elif args[1] == "raw":
                dump_c = False
            else:
                raise CLIError(f"unrecognized format specifier: '{args[1]}', possible values: raw, c")
            args = args[2:]
        elif args[0] == "base" and len(args) >= 2 and path is None:
            ctx.extra["base_btf"] = args[1]
            args = args[2:]
        else:
            raise CLIError(f"unrecognized option: '{args[0]}'")
    return dump_c


def do_dump(ctx: Context, args: list[str]) -> int:
    args = _take_base(ctx, args)
    if len(args) < 2:
        ctx.err.write(f"Error: 'dump' needs at least 2 arguments, {len(args)} found\n")
        ctx.err.write(USAGE)
        return 255
    src, args = args[0], args[1:]
    root_ids: list[int] = []
    btf: BTF | None = None
    btf_id: int | None = None
    path: str | None = None
    raw: Any = None
    if is_prefix(src, "map"):
        btf_id, root_ids, args = _map_source(ctx, args)
    elif is_prefix(src, "prog"):
        btf_id, args = _prog_source(ctx, args)
    elif is_prefix(src, "id"):
        btf_id = _parse_id(args[0])
        args = args[1:]
    elif is_prefix(src, "file"):
        path, args = args[0], args[1:]
        # "base FILE" keyword (pybpf's spelling of -B), accepted after the file
        if len(args) >= 2 and args[0] == "base":
            ctx.extra["base_btf"] = args[1]
            args = args[2:]
        _base_raw(ctx)
        raw = read_btf_bytes(path)
    else:
        raise CLIError(f"unrecognized BTF source specifier: '{src}'")

    # bpftool has parsed a file by the time it reads the options; its errors come first
    option_error: CLIError | None = None
    try:
        dump_c = _dump_options(ctx, args, path)
    except CLIError as exc:
        option_error, dump_c = exc, False

    if path is not None:
        # module BTF under /sys/kernel/btf is split BTF on top of vmlinux
        auto_base = not ctx.extra.get("base_btf") and path.startswith(SYSFS_PREFIX) and path != SYSFS_VMLINUX
        key = None
        from pybpf.btf.cache import cache_disabled

        if dump_c and option_error is None and not ctx.json and not cache_disabled():
            # A whole-BTF C dump depends only on the bytes: the output cache answers before
            # anything is parsed (PYBPF_NO_CACHE=1 bypasses it: no key is even computed).
            from pybpf.btf.dump_c import cache_key, cached_text

            base_raw = read_btf_bytes(SYSFS_VMLINUX) if auto_base else _base_raw(ctx)
            key = cache_key(raw, *([base_raw] if base_raw is not None else []))
            hit = cached_text(key)
            if hit is not None:
                _write_c(ctx, hit)
                return 0
        if auto_base:
            from pybpf.btf.kernel import kernel_btf

            base: BTF | None = kernel_btf()
        else:
            base = _base_btf(ctx)
        btf = _parse(path, raw, base)
        if option_error is not None:
            raise option_error
        if key is not None:
            from pybpf.btf.dump_c import dump_c as _dump_c, store_text

            _write_c(ctx, store_text(key, _dump_c(btf, jobs=0)))
            return 0
    elif option_error is not None:
        raise option_error

    if btf is None:
        assert btf_id is not None
        btf = _btf_by_id(ctx, btf_id)

    if dump_c:
        if ctx.json:
            raise CLIError("JSON output for C-syntax dump is not supported")
        from pybpf.btf.dump_c import dump_c as _dump_c, dump_c_cached

        text = _dump_c(btf, root_ids) if root_ids else dump_c_cached(btf, jobs=0)
        _write_c(ctx, text.encode("utf-8", "surrogateescape"))
        return 0
    from pybpf.btf.dump_raw import dump_json, dump_raw

    ids = root_ids or None
    if ctx.json:
        ctx.out.write(dump_json(btf, ids, pretty=ctx.pretty))
    else:
        ctx.out.write(dump_raw(btf, ids))
    return 0


def _parse_id(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise CLIError(f"can't parse {text} as ID") from None


def _sys() -> Any:
    try:
        import pybpf.sys as bsys
    except ImportError:  # pragma: no cover
        raise CLIError("this command needs pybpf.sys (the kernel interface)") from None
    return bsys


def _btf_by_id(ctx: Context, btf_id: int) -> BTF:
    from pybpf.btf.loaded import load_btf_by_id

    base = _base_btf(ctx)
    try:
        return load_btf_by_id(btf_id, base)
    except NotFoundError as exc:
        raise CLIError(f"get btf by id ({btf_id}): {_errno_text(exc)}") from None
    except BPFError as exc:
        raise CLIError(f"get btf by id ({btf_id}): {_errno_text(exc)}") from None


def _map_source(ctx: Context, args: list[str]) -> tuple[int, list[int], list[str]]:
    from pybpf.btf.loaded import map_btf_info

    btf_id, key_id, value_id, args = map_btf_info(args)
    if args and is_prefix(args[0], "key"):
        return btf_id, [key_id], args[1:]
    if args and is_prefix(args[0], "value"):
        return btf_id, [value_id], args[1:]
    if args and is_prefix(args[0], "all"):
        return btf_id, [], args[1:]
    if args and is_prefix(args[0], "kv"):
        return btf_id, [key_id, value_id], args[1:]
    return btf_id, [key_id, value_id], args


def _prog_source(ctx: Context, args: list[str]) -> tuple[int, list[str]]:
    from pybpf.btf.loaded import prog_btf_id

    return prog_btf_id(args)


def do_show(ctx: Context, args: list[str]) -> int:
    from pybpf.btf.loaded import show_btf

    want: int | None = None
    if args:
        if not is_prefix(args[0], "id"):
            raise CLIError(f"expected 'id', got: '{args[0]}'?")
        if len(args) < 2:
            raise CLIError(f"what is '{args[0]}'?")
        want = _parse_id(args[1])
        if len(args) > 2:
            raise CLIError(f"too many arguments: '{args[2]}'")
    return show_btf(ctx, want)


_COMMANDS = {
    "show": do_show,
    "list": do_show,
    "help": do_help,
    "dump": do_dump,
}


def run(ctx: Context, args: list[str]) -> int:
    """Entry point for ``pybpf btf …``."""
    args = _take_base(ctx, args)
    if not args:
        return do_show(ctx, [])
    for word, handler in _COMMANDS.items():
        if is_prefix(args[0], word):
            return handler(ctx, args[1:])
    raise CLIError(f"unknown btf command '{args[0]}'")
