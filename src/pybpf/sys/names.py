"""Short names of map, program, attach and link types, as libbpf and bpftool print them.

libbpf's names are the kernel enum member names without their prefix, lowercased
(``BPF_MAP_TYPE_PERCPU_HASH`` -> ``percpu_hash``, ``BPF_CGROUP_INET_INGRESS`` ->
``cgroup_inet_ingress``); for values with an alias the non-deprecated alias is used
(``BPF_MAP_TYPE_CGROUP_STORAGE``, not ``..._DEPRECATED``). The parse functions accept the short
name, the full enum name or the number.
"""

from __future__ import annotations

from pybpf.errors import InvalidArgumentError
from pybpf.sys import uapi

__all__ = [
    "map_type_name",
    "prog_type_name",
    "attach_type_name",
    "link_type_name",
    "parse_map_type",
    "parse_prog_type",
    "parse_attach_type",
    "parse_link_type",
    "MAP_TYPE_NAMES",
    "PROG_TYPE_NAMES",
    "ATTACH_TYPE_NAMES",
    "LINK_TYPE_NAMES",
]


# Built from the enum tables (uapi.enum_members), not the enum classes: importing this module
# must not pay for building four enums.
_MEMBERS: dict[str, dict[str, int]] = {
    enum_name: dict(uapi.enum_members(enum_name))  # includes aliases, in definition order
    for enum_name in ("bpf_map_type", "bpf_prog_type", "bpf_attach_type", "bpf_link_type")
}


def _names(enum_name: str, prefix: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for name, value in _MEMBERS[enum_name].items():
        if not name.startswith(prefix):
            continue
        short = name[len(prefix):].lower()
        if value not in out or out[value].endswith("_deprecated"):
            out[value] = short
    return out


MAP_TYPE_NAMES: dict[int, str] = _names("bpf_map_type", "BPF_MAP_TYPE_")
PROG_TYPE_NAMES: dict[int, str] = _names("bpf_prog_type", "BPF_PROG_TYPE_")
ATTACH_TYPE_NAMES: dict[int, str] = _names("bpf_attach_type", "BPF_")
LINK_TYPE_NAMES: dict[int, str] = _names("bpf_link_type", "BPF_LINK_TYPE_")


def map_type_name(value: int) -> str:
    """``"hash"`` for BPF_MAP_TYPE_HASH; ``"type 99"`` for numbers this kernel's enum lacks."""
    return MAP_TYPE_NAMES.get(value, f"type {value}")


def prog_type_name(value: int) -> str:
    """``"xdp"`` for BPF_PROG_TYPE_XDP and so on."""
    return PROG_TYPE_NAMES.get(value, f"type {value}")


def attach_type_name(value: int) -> str:
    """``"cgroup_inet_ingress"`` for BPF_CGROUP_INET_INGRESS and so on."""
    return ATTACH_TYPE_NAMES.get(value, f"attach type {value}")


def link_type_name(value: int) -> str:
    """``"raw_tracepoint"`` for BPF_LINK_TYPE_RAW_TRACEPOINT and so on."""
    return LINK_TYPE_NAMES.get(value, f"type {value}")


def _parse(value: int | str, enum_name: str, prefix: str, names: dict[int, str],
           what: str) -> int:
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be a name or a number, not {value!r}")
    if isinstance(value, int):
        if not 0 <= value < 1 << 32:
            raise InvalidArgumentError(f"{what} {value} is out of range")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _parse(int(text), enum_name, prefix, names, what)
        members = _MEMBERS[enum_name]
        member = members.get(text.upper())
        if member is None and not text.upper().startswith(prefix):
            member = members.get(prefix + text.upper())
        if member is not None:
            return member
        known = ", ".join(sorted(set(names.values()) - {"unspec"}))
        raise InvalidArgumentError(f"unknown {what} {value!r} (known: {known})")
    raise InvalidArgumentError(f"{what} must be a name or a number, not {type(value).__name__}")


def parse_map_type(value: int | str) -> int:
    """Map type from ``"hash"``, ``"BPF_MAP_TYPE_HASH"``, ``1`` or ``"1"``."""
    return _parse(value, "bpf_map_type", "BPF_MAP_TYPE_", MAP_TYPE_NAMES, "map type")


def parse_prog_type(value: int | str) -> int:
    """Program type from ``"xdp"``, ``"BPF_PROG_TYPE_XDP"`` or a number."""
    return _parse(value, "bpf_prog_type", "BPF_PROG_TYPE_", PROG_TYPE_NAMES, "program type")


def parse_attach_type(value: int | str) -> int:
    """Attach type from ``"cgroup_inet_ingress"``, ``"BPF_CGROUP_INET_INGRESS"`` or a number."""
    return _parse(value, "bpf_attach_type", "BPF_", ATTACH_TYPE_NAMES, "attach type")


def parse_link_type(value: int | str) -> int:
    """Link type from ``"tracing"``, ``"BPF_LINK_TYPE_TRACING"`` or a number."""
    return _parse(value, "bpf_link_type", "BPF_LINK_TYPE_", LINK_TYPE_NAMES, "link type")
