"""Auto-attach: attach a program from its ``SEC()`` name exactly as libbpf's
``bpf_program__attach()`` (and so ``bpf_object__attach_skeleton()``) does.

:func:`auto_attach` takes a loaded program and its parsed section
(:func:`pybpf.object.sections.parse_section`) and returns the :class:`~pybpf.link.Link`, or
``None`` when libbpf would skip the program silently: kinds without an auto-attach function
(XDP, tc, cgroup, sockops, struct_ops programs, ...) and bare names that carry no target
(``SEC("kprobe")``, ``SEC("uprobe")``, ``SEC("tp")``, ``SEC("usdt")``...).
:func:`auto_attach_skip_reason` says why a program is skipped. Names whose target part is
malformed raise :class:`~pybpf.errors.AttachError` as libbpf fails with -EINVAL.

The name formats, as libbpf parses them:

=================================  ==================================================
``kprobe/FUNC[+OFF]``              ``kretprobe/FUNC`` (no offset)
``ksyscall/NAME``                  ``kretsyscall/NAME``
``kprobe.multi/PATTERN``           ``kretprobe.multi/PATTERN``, ``kprobe.session/...``
``uprobe/PATH:FUNC[+OFF]``         ``uretprobe/...``, ``uprobe.s/...`` (PATH may be ``/abs``)
``uprobe.multi/PATH:PATTERN``      ``uretprobe.multi/...``, ``uprobe.session/...``
``usdt/PATH:PROVIDER:NAME``
``tp/CATEGORY/NAME``               ``tracepoint/...``
``raw_tp/NAME``                    ``raw_tracepoint/``, ``raw_tp.w/``...
``tp_btf/``, ``fentry/``, ...      target fixed at load (``freplace`` too)
``lsm/HOOK``, ``iter/TARGET``
=================================  ==================================================
"""

from __future__ import annotations

import re
from typing import Any, Callable

from pybpf.errors import AttachError
from pybpf.link.base import Link

__all__ = ["auto_attach", "auto_attach_skip_reason", "parse_kprobe_target", "parse_uprobe_section",
           "AUTO_ATTACH"]

_KPROBE_RE = re.compile(r"^([a-zA-Z0-9_.]+)(?:\+(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*))?")
_PATTERN_RE = re.compile(r"^[a-zA-Z0-9_.*?]+")


def _int_c(text: str) -> int:
    """strtol(text, 0): 0x hex, leading-0 octal, decimal."""
    if text[:2].lower() == "0x":
        return int(text, 16)
    if len(text) > 1 and text[0] == "0":
        return int(text, 8)
    return int(text)


def parse_kprobe_target(spec: str, sec_name: str) -> tuple[str, int]:
    """``FUNC[+OFF]`` as libbpf's ``sscanf("%m[a-zA-Z0-9_.]+%li")`` reads it."""
    m = _KPROBE_RE.match(spec)
    if not m:
        raise AttachError(f"section '{sec_name}': kprobe name is invalid: {spec}")
    return m.group(1), _int_c(m.group(2)) if m.group(2) else 0


def parse_uprobe_section(sec_name: str) -> tuple[str, str, str] | None:
    """``(probe type, binary path, function spec)`` from ``TYPE/PATH:FUNC`` as libbpf's
    ``sscanf("%m[^/]/%m[^:]:%m[^\\n]")``; ``None`` when only the type is present (no
    auto-attach); :class:`AttachError` for other incomplete forms."""
    slash = sec_name.find("/")
    if slash <= 0:
        return None
    probe_type, rest = sec_name[:slash], sec_name[slash + 1:]
    colon = rest.find(":")
    if not rest or colon == 0:
        return None
    if colon < 0 or colon + 1 == len(rest):
        raise AttachError(f"invalid format of section definition '{sec_name}' "
                          "(expected TYPE/PATH:FUNCTION)")
    return probe_type, rest[:colon], rest[colon + 1:]


def _kprobe(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.kprobe import attach_kprobe

    name = sec.sec_name
    retprobe = name.startswith("kretprobe/")
    func, offset = parse_kprobe_target(name.split("/", 1)[1], name)
    if retprobe and offset:
        raise AttachError(f"section '{name}': kretprobes do not support offset specification")
    return attach_kprobe(prog, func, offset=offset, retprobe=retprobe)


def _ksyscall(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.kprobe import attach_ksyscall

    name = sec.sec_name
    return attach_ksyscall(prog, name.split("/", 1)[1], retprobe=name.startswith("kretsyscall/"))


def _kprobe_multi(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.kprobe_multi import attach_kprobe_multi

    name = sec.sec_name
    spec = name.split("/", 1)[1]
    m = _PATTERN_RE.match(spec)
    if not m:
        raise AttachError(f"section '{name}': kprobe multi pattern is invalid: {spec}")
    session = name.startswith("kprobe.session/")
    return attach_kprobe_multi(prog, m.group(0), retprobe=name.startswith("kretprobe.multi/"),
                               session=session)


def _uprobe(prog: Any, sec: Any, **_: Any) -> Link | None:
    from pybpf.link.uprobe import attach_uprobe

    parts = parse_uprobe_section(sec.sec_name)
    if parts is None:
        return None
    probe_type, path, func = parts
    retprobe = probe_type.startswith("uretprobe")
    offset = 0
    plus = func.rfind("+")
    if plus >= 0:
        try:
            offset = _int_c(func[plus + 1:])
            func = func[:plus]
        except ValueError:
            offset = 0
    if retprobe and offset:
        raise AttachError(f"section '{sec.sec_name}': uretprobes do not support offset specification")
    return attach_uprobe(prog, path, func, offset=offset, retprobe=retprobe)


def _uprobe_multi(prog: Any, sec: Any, **_: Any) -> Link | None:
    from pybpf.link.uprobe_multi import attach_uprobe_multi

    parts = parse_uprobe_section(sec.sec_name)
    if parts is None:
        return None
    probe_type, path, pattern = parts
    return attach_uprobe_multi(prog, path, pattern, retprobe=probe_type.startswith("uretprobe.multi"),
                               session=probe_type.startswith("uprobe.session"))


def _usdt(prog: Any, sec: Any, *, usdt_maps: Any = None, **_: Any) -> Link:
    from pybpf.link.usdt import attach_usdt

    name = sec.sec_name
    m = re.match(r"^usdt(?:\.s)?/([^:]+):([^:]+):([^:]+)$", name)
    if not m:
        raise AttachError(f"invalid section '{name}' (expected usdt/PATH:PROVIDER:NAME)")
    if not usdt_maps:
        raise AttachError(f"section '{name}': USDT attach needs the object's __bpf_usdt_specs map "
                          "(pass usdt_maps=(specs, ip_to_spec_id))")
    specs, ips = (tuple(usdt_maps) + (None,))[:2]
    return attach_usdt(prog, m.group(1), m.group(2), m.group(3), specs_map=specs, ip_to_spec_id_map=ips)


def _tracepoint(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.tracepoint import attach_tracepoint

    target = sec.target or ""
    cat, slash, tp = target.partition("/")
    if not slash or not cat or not tp:
        raise AttachError(f"section '{sec.sec_name}': expected tp/CATEGORY/NAME")
    return attach_tracepoint(prog, cat, tp)


def _raw_tp(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.raw_tracepoint import attach_raw_tracepoint

    return attach_raw_tracepoint(prog, sec.target)


def _tracing(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.tracing import attach_freplace, attach_trace

    if sec.prog_type == "BPF_PROG_TYPE_EXT":
        return attach_freplace(prog)
    return attach_trace(prog)


def _lsm(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.tracing import attach_lsm

    return attach_lsm(prog)


def _iter(prog: Any, sec: Any, **_: Any) -> Link:
    from pybpf.link.iter import attach_iter

    return attach_iter(prog)


#: auto-attach kind (``SectionDef.auto_attach``) -> attach function
AUTO_ATTACH: dict[str, Callable[..., Link | None]] = {
    "kprobe": _kprobe, "ksyscall": _ksyscall, "kprobe_multi": _kprobe_multi,
    "kprobe_session": _kprobe_multi, "uprobe": _uprobe, "uprobe_multi": _uprobe_multi,
    "usdt": _usdt, "tracepoint": _tracepoint, "raw_tp": _raw_tp, "tracing": _tracing,
    "lsm": _lsm, "iter": _iter,
}


def _section(section: Any) -> Any:
    if isinstance(section, str):
        from pybpf.object.sections import parse_section

        return parse_section(section)
    return section


def auto_attach_skip_reason(section: Any) -> str | None:
    """Why libbpf would not auto-attach a program of ``section`` (``None``: it would)."""
    sec = _section(section)
    d = sec.definition
    if d.auto_attach is None:
        how = f" (attach it with pybpf.link's '{d.attach}' functions)" if d.attach else ""
        return f"section '{sec.name}': {d.prog_type} programs are not auto-attachable{how}"
    if sec.auto_attach is None:
        return f"section '{sec.name}': no attach target in the section name, not auto-attachable"
    return None


def auto_attach(program: Any, section: Any, *, usdt_maps: Any = None) -> Link | None:
    """Attach ``program`` as libbpf's auto-attach does for its ``section`` (a
    :class:`~pybpf.object.sections.ProgramSection` or a section name). ``None`` when libbpf
    skips it (see :func:`auto_attach_skip_reason`). ``usdt_maps``: the object's
    ``(__bpf_usdt_specs, __bpf_usdt_ip_to_spec_id)`` maps, for USDT programs."""
    sec = _section(section)
    kind = sec.auto_attach
    if kind is None:
        return None
    fn = AUTO_ATTACH.get(kind)
    if fn is None:
        raise AttachError(f"section '{sec.name}': no auto-attach function for kind '{kind}'")
    return fn(program, sec, usdt_maps=usdt_maps)
