"""BTF-typed tracing programs: ``tp_btf``, ``fentry``/``fexit``/``fmod_ret``, ``lsm``,
``freplace``.

These programs are bound to their target when loaded (``attach_btf_id``); attaching only
activates the trampoline or hook. As libbpf's ``bpf_program__attach_trace()`` /
``attach_lsm()``: ``BPF_LINK_CREATE`` with the program's expected attach type (Linux 5.10+;
a cookie needs 5.19+), falling back to ``BPF_RAW_TRACEPOINT_OPEN`` with no name on kernels
whose LINK_CREATE refuses these attach types (EINVAL), unless a cookie was asked for.

fentry/fexit/fmod_ret/lsm/freplace need a kernel that can build BPF trampolines on the
target (``CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`` and the function in
``available_filter_functions``); elsewhere the kernel already refuses them at load.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys import uapi
from pybpf.sys.commands import link_create, raw_tracepoint_open
from pybpf.sys.names import attach_type_name, parse_attach_type

__all__ = ["attach_trace", "attach_lsm", "attach_freplace", "tracing_link_attr",
           "RAW_TP_FALLBACK_TYPES"]

_EINVAL = 22

#: Attach types libbpf retries with BPF_RAW_TRACEPOINT_OPEN when LINK_CREATE says EINVAL.
RAW_TP_FALLBACK_TYPES = frozenset({
    int(uapi.BPF_TRACE_RAW_TP), int(uapi.BPF_LSM_MAC), int(uapi.BPF_TRACE_FENTRY),
    int(uapi.BPF_TRACE_FEXIT), int(uapi.BPF_MODIFY_RETURN),
})


def _attach_type(program: Any, attach_type: int | str | None, kind: str) -> int:
    if attach_type is not None:
        return parse_attach_type(attach_type)
    value = getattr(program, "expected_attach_type", None)
    if not value:
        raise InvalidArgumentError(f"{kind} attach: the program has no expected attach type "
                                   "(pass attach_type=, e.g. 'trace_fentry')")
    return int(value)


def tracing_link_attr(prog_fd: int, attach_type: int, *, target_fd: int = 0, target_btf_id: int = 0,
                      cookie: int = 0) -> uapi.bpf_attr_link_create:
    """The ``BPF_LINK_CREATE`` attribute :func:`attach_trace` sends (exposed for inspection)."""
    attr = uapi.bpf_attr_link_create()
    attr.prog_fd = prog_fd
    attr.target_fd = target_fd
    attr.attach_type = attach_type
    if target_btf_id:
        attr.tracing.target_btf_id = target_btf_id
    attr.tracing.cookie = cookie
    return attr


def attach_trace(program: Any, *, cookie: int = 0, attach_type: int | str | None = None) -> Link:
    """Attach a tp_btf/fentry/fexit/fmod_ret (or lsm) program to the target it was loaded for.

    ``attach_type`` defaults to the program's ``expected_attach_type``.
    """
    kind = "tracing"
    prog_fd = fd_of(program, f"{kind} attach: program")
    atype = _attach_type(program, attach_type, kind)
    label = attach_type_name(atype)
    what = f"attaching {getattr(program, 'name', '') or 'program'} ({label})"

    def fill(attr: Any) -> None:
        attr.tracing.cookie = cookie

    try:
        fd = link_create(prog_fd, 0, atype, fill=fill, what=what)
    except BPFError as exc:
        if exc.errno != _EINVAL or cookie or atype not in RAW_TP_FALLBACK_TYPES:
            raise
        try:
            fd = raw_tracepoint_open(None, prog_fd)
        except BPFError as exc2:
            raise error_from_errno(exc2.errno or 0, what, op=exc2.op) from None
    link_kind = "lsm" if atype in (int(uapi.BPF_LSM_MAC), int(uapi.BPF_LSM_CGROUP)) else kind
    return Link(link_kind, fd=fd, program=program, target=label)


def attach_lsm(program: Any, *, cookie: int = 0) -> Link:
    """Attach an LSM program (``SEC("lsm/<hook>")``) to the hook it was loaded for. Linux 5.7+,
    needs ``CONFIG_BPF_LSM`` and ``bpf`` in the active LSM list."""
    return attach_trace(program, cookie=cookie, attach_type=getattr(program, "expected_attach_type", None)
                        or int(uapi.BPF_LSM_MAC))


def attach_freplace(program: Any, target_program: Any = None, function: str | None = None) -> Link:
    """Attach an ``freplace`` (BPF_PROG_TYPE_EXT) program.

    Without a target it replaces the function it was loaded against; with ``target_program``
    and ``function`` it replaces that global function of the target program (looked up in the
    target's BTF). Linux 5.10+.
    """
    prog_fd = fd_of(program, "freplace attach: program")
    if (target_program is None) != (function is None):
        raise InvalidArgumentError("freplace attach: give both target_program and function, or neither")
    if target_program is None:
        fd = link_create(prog_fd, 0, 0, what="attaching freplace program")
        return Link("tracing", fd=fd, program=program, target="freplace")
    target_fd = fd_of(target_program, "freplace attach: target program")
    btf_id = _prog_func_btf_id(target_program, function or "")

    def fill(attr: Any) -> None:
        attr.tracing.target_btf_id = btf_id

    fd = link_create(prog_fd, target_fd, 0, fill=fill,
                     what=f"attaching freplace program to function '{function}'")
    return Link("tracing", fd=fd, program=program, target=f"freplace {function}")


def _prog_func_btf_id(target_program: Any, function: str) -> int:
    from pybpf.btf import Kind
    from pybpf.btf.loaded import load_btf_by_id
    from pybpf.errors import NotFoundError

    info = target_program.info(arrays=False) if hasattr(target_program, "info") else None
    btf_id = getattr(info, "btf_id", 0)
    if not btf_id:
        raise NotFoundError("freplace attach: the target program has no BTF")
    ids = load_btf_by_id(btf_id).find(function, Kind.FUNC)
    if not ids:
        raise NotFoundError(f"freplace attach: no function '{function}' in the target program's BTF")
    return ids[0]
