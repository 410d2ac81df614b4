"""``pybpf prog dump xlated PROG [{ file FILE | opcodes | linum | visual }]``.

The same text and JSON as ``bpftool prog dump xlated``: the kernel's view of the translated
program (helper and kfunc calls named through ``/proc/kallsyms`` with their immediates,
``map[id:N]`` references, ``subprog[+N]`` callbacks, bpf-to-bpf calls with the callee's
JITed symbol), its C prototypes and ``;`` source lines from the program's BTF, raw
``opcodes``, ``linum`` positions, and ``visual``, a DOT control-flow graph. ``file FILE``
writes the raw instructions. Several keywords may be combined (bpftool 7.1 takes one).
Needs root (CAP_SYS_ADMIN/CAP_BPF) to read the program; ``dump jited`` is not supported.
"""

from __future__ import annotations

from typing import Any

from pybpf.cli.common import CLIError, Context, is_prefix

__all__ = ["do_dump"]


def do_dump(ctx: Context, args: list[str]) -> int:
    """Handler of ``prog dump``."""
    from pybpf.cli.prog import open_progs, parse_prog_handle

    if not args:
        raise CLIError("expected 'xlated' or 'jited'")
    if is_prefix(args[0], "jited"):
        raise CLIError("'prog dump jited' is not supported (it needs a host disassembler)")
    if not is_prefix(args[0], "xlated"):
        raise CLIError(f"expected 'xlated' or 'jited', got: '{args[0]}'")
    handle, rest = parse_prog_handle(args[1:])
    opcodes = linum = visual = False
    path: str | None = None
    i = 0
    while i < len(rest):
        word = rest[i]
        if is_prefix(word, "file"):
            if i + 1 >= len(rest):
                raise CLIError("missing file name")
            path = rest[i + 1]
            i += 2
            continue
        if is_prefix(word, "opcodes"):
            opcodes = True
        elif is_prefix(word, "linum"):
            linum = True
        elif is_prefix(word, "visual"):
            visual = True
        else:
            raise CLIError(f"expected 'file', 'opcodes', 'linum' or 'visual', got: '{word}'")
        i += 1
    if visual and ctx.json:
        raise CLIError("'visual' is not compatible with JSON output")
    progs = open_progs(handle)
    try:
        if path is not None and len(progs) > 1:
            raise CLIError("several programs matched")
        several = len(progs) > 1
        docs: list[Any] = []
        for n, (fd, _) in enumerate(progs):
            from pybpf.programs.info import query_prog_info

            info = query_prog_info(fd.fileno(), "program", arrays=True)
            if not info.xlated_insns:
                raise CLIError("no instructions returned (kernel.kptr_restrict or missing "
                               "privileges)")
            if path is not None:
                _write(path, info.xlated_insns)
                return 0
            dump = _dump(info)
            if ctx.json:
                insns = dump.json(opcodes=opcodes, linum=linum)
                docs.append(dict(_header_json(ctx, fd, info), insns=insns) if several else insns)
                continue
            if several:
                ctx.out.write(_header_plain(fd, info))
            ctx.out.write(dump.dot() if visual else dump.plain(opcodes=opcodes, linum=linum))
            if several and n != len(progs) - 1:
                ctx.out.write("\n")
        if ctx.json:
            ctx.emit_json(docs if several else docs[0])
    finally:
        for fd, _ in progs:
            fd.close()
    return 0


def _dump(info: Any) -> Any:
    from pybpf.asm.xlated import XlatedDump

    btf = None
    if info.btf_id:
        btf = _program_btf(info.btf_id)
    dump = XlatedDump(info.xlated_insns, jited_ksyms=info.jited_ksyms,
                      func_info=info.func_info, func_info_rec_size=info.func_info_rec_size or 8,
                      line_info=info.line_info, line_info_rec_size=info.line_info_rec_size or 16,
                      btf=btf)
    try:
        dump.resolve_symbols()
    except OSError:
        pass  # no /proc/kallsyms: calls print as addresses, as bpftool does
    return dump


def _program_btf(btf_id: int) -> Any:
    """The program's BTF (string and type ids of its line and func info), by BTF id."""
    from pybpf.btf.loaded import load_btf_by_id
    from pybpf.errors import BPFError

    try:
        return load_btf_by_id(btf_id)
    except BPFError:
        return None  # bpftool prints the instructions without prototypes and source



def _write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise CLIError(f"can't open file {path}: {exc.strerror}") from None


def _header_plain(fd: Any, info: Any) -> str:
    """bpftool's one-line program header (the first line of ``prog show``)."""
    from pybpf.cli.prog import _prog_text  # the show formatter owns that line

    return _prog_text(fd, info, None).splitlines(True)[0]


def _header_json(ctx: Context, fd: Any, info: Any) -> dict[str, Any]:
    from pybpf.cli.prog import _prog_json

    full = _prog_json(ctx, fd, info, None)
    keep = ("id", "type", "name", "tag", "gpl_compatible", "ifindex", "ns_dev", "ns_inode",
            "run_time_ns", "run_cnt", "recursion_misses")
    return {k: full[k] for k in keep if k in full}
