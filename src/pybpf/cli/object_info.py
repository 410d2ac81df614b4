"""``pybpf object dump OBJ`` and ``pybpf object core OBJ [kernel_btf FILE]``.

``dump`` lists what opening the object found (:mod:`pybpf.object.dump`): sections, programs with
their types and relocations, maps, global variables with their initial values, externs. ``core``
explains every CO-RE relocation against the running kernel's BTF (or ``kernel_btf FILE``): the
local access spec, the candidates considered, the value chosen, or why it was poisoned
(:func:`pybpf.core.render_explanations`). Both accept ``-j``/``-p``.
"""

from __future__ import annotations

from pybpf.cli.common import CLIError, Context, is_prefix

__all__ = ["do_dump", "do_core"]


def do_dump(ctx: Context, args: list[str]) -> int:
    from pybpf.object import ObjectSpec
    from pybpf.object.dump import describe, render

    if len(args) != 1:
        raise CLIError("usage: pybpf object dump OBJ")
    info = describe(ObjectSpec.open(args[0]))
    if ctx.json:
        ctx.emit_json(info)
    else:
        ctx.out.write(render(info))
    return 0


def do_core(ctx: Context, args: list[str]) -> int:
    from pybpf.core import render_explanations
    from pybpf.object import ObjectSpec

    if not args:
        raise CLIError("usage: pybpf object core OBJ [kernel_btf FILE]")
    path, rest = args[0], args[1:]
    kernel_btf = None
    while rest:
        if is_prefix(rest[0], "kernel_btf") and len(rest) >= 2:
            kernel_btf = rest[1]
            rest = rest[2:]
        else:
            raise CLIError(f"expected 'kernel_btf FILE', got: '{rest[0]}'")
    spec = ObjectSpec.open(path)
    explanations = spec.core_explanations(kernel_btf)
    if ctx.json:
        ctx.emit_json([e.to_dict() for e in explanations])
    else:
        ctx.out.write(render_explanations(explanations))
    return 0
