"""Candidate search: which target types may correspond to a local type (libbpf's rules).

A target type is a candidate for a local type when both have the same *essential* name (the
name up to a ``___flavor`` suffix, see :func:`essential_name`) and compatible kinds (equal, or
both enums). The kernel's own BTF ("vmlinux") is searched first; module BTFs only when vmlinux
has no candidate at all, exactly as libbpf's ``bpf_core_find_cands`` does.

Searching is done through a per-target index of essential names built once from the BTF's
name index, so a relocation against vmlinux does not scan its 100 000+ types.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from typing import Callable, Iterable, NamedTuple, Sequence, Union

from pybpf.btf import BTF, Kind

__all__ = [
    "TargetBTF",
    "Candidate",
    "CandidateIndex",
    "essential_name",
    "kinds_compatible",
    "kind_str",
    "describe_type",
]

_ENUM_KINDS = (Kind.ENUM, Kind.ENUM64)


class TargetBTF(NamedTuple):
    """A target BTF and the name it is reported under ("vmlinux", or the module's name)."""

    name: str
    btf: BTF


class Candidate(NamedTuple):
    """A candidate target type: ``type_id`` in ``target.btf``."""

    target: TargetBTF
    type_id: int

    @property
    def btf(self) -> BTF:
        return self.target.btf


def _is_flavor_sep(name: str, i: int) -> bool:
    # "X___Y" at i where neither X nor Y is an underscore.
    return (name[i] != "_" and name[i + 1] == "_" and name[i + 2] == "_" and name[i + 3] == "_"
            and name[i + 4] != "_")


def essential_name(name: str) -> str:
    """``name`` without its flavor: everything after the last ``___`` (libbpf's
    bpf_core_essential_name_len): ``"task_struct___v2"`` -> ``"task_struct"``."""
    for i in range(len(name) - 5, -1, -1):
        if _is_flavor_sep(name, i):
            return name[:i + 1]
    return name


def kinds_compatible(a: Kind, b: Kind) -> bool:
    """libbpf's btf_kind_core_compat: same kind, or ENUM and ENUM64 in any combination."""
    return a == b or (a in _ENUM_KINDS and b in _ENUM_KINDS)


def kind_str(kind: Kind) -> str:
    """libbpf's name for a BTF kind (btf_kind_str): ``"struct"``, ``"enum64"``, ``"void"`` …"""
    return "void" if kind == Kind.UNKN else kind.name.lower()


def describe_type(btf: BTF, type_id: int) -> str:
    """``[id] kind name`` as libbpf prints a type (``<anon>`` for an anonymous one)."""
    return f"[{type_id}] {kind_str(btf.kind_of(type_id))} {btf.name_of(type_id) or '<anon>'}"


# BTF -> {essential name: ids of its flavored names}; kept as long as the BTF lives, so that
# loading several objects against the same kernel BTF builds it once.
_FLAVORED: weakref.WeakKeyDictionary[BTF, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def _flavored_names(btf: BTF) -> dict[str, list[int]]:
    flavored = _FLAVORED.get(btf)
    if flavored is None:
        flavored = {}
        for name, ids in btf.name_index.items():
            if "___" in name:
                ess = essential_name(name)
                if ess != name:
                    flavored.setdefault(ess, []).extend(ids)
        _FLAVORED[btf] = flavored
    return flavored


class CandidateIndex:
    """Essential-name lookup over the types a target BTF adds (not its base).

    Names without a flavor come straight from the BTF's name index; flavored names are
    grouped by essential name once per BTF, the first time it is searched.
    """

    __slots__ = ("target",)

    def __init__(self, target: TargetBTF) -> None:
        self.target = target

    def _flavored_index(self) -> dict[str, list[int]]:
        return _flavored_names(self.target.btf)

    def lookup(self, ess: str, kind: Kind) -> list[int]:
        """Ids (ascending, like libbpf's linear scan) of types with essential name ``ess`` and a
        kind compatible with ``kind``."""
        btf = self.target.btf
        ids = _essential_ids(btf, ess)
        kind_of = btf.kind_of
        return [i for i in ids if kinds_compatible(kind_of(i), kind)]


def _essential_ids(btf: BTF, ess: str) -> list[int]:
    """Ids of the types this BTF adds whose essential name is ``ess``, ascending.

    A binary search in the BTF's sorted name order (installed from the on-disk index cache for
    kernel BTF) for the names that start with ``ess``: the name itself and its
    ``ess___flavor`` variants. Building the full name dictionary instead would cost a third
    of a second for vmlinux, in every process.
    """
    target = ess.encode("utf-8", "surrogateescape")
    by_prefix = getattr(btf, "ids_by_name_prefix", None)
    found = by_prefix(target) if by_prefix is not None else None
    if found is not None:
        # No name index yet (a kernel BTF just parsed, see pybpf.btf.kernel.defer_cache_writes):
        # the names starting with ``ess``, searched in the bytes, with the same filter.
        out = []
        for tid, raw in found:
            name = raw.decode("utf-8", "surrogateescape")
            if name == ess or essential_name(name) == ess:
                out.append(tid)
        out.sort()
        return out
    order = btf.name_order
    name_of = btf.name_of

    def key(tid: int) -> bytes:
        return name_of(tid).encode("utf-8", "surrogateescape")

    i = bisect_left(order, target, key=key)
    out: list[int] = []
    n = len(order)
    while i < n:
        tid = order[i]
        name = name_of(tid)
        if not key(tid).startswith(target):
            break
        if name == ess or essential_name(name) == ess:
            out.append(tid)
        i += 1
    out.sort()
    return out


TargetSpec = Union[BTF, TargetBTF]


def as_target(spec: TargetSpec, default_name: str) -> TargetBTF:
    """Accept a bare :class:`BTF` (named ``default_name``) or a :class:`TargetBTF`."""
    return spec if isinstance(spec, TargetBTF) else TargetBTF(default_name, spec)


class CandidateFinder:
    """Finds candidates in vmlinux first, then (only if vmlinux has none) in module BTFs.

    ``modules`` is a sequence of module targets or a zero-argument callable returning them,
    called the first time a module search is needed (libbpf loads module BTFs lazily too).
    """

    def __init__(self, vmlinux: TargetSpec,
                 modules: Sequence[TargetSpec] | Callable[[], Iterable[TargetSpec]] = ()) -> None:
        self.vmlinux = CandidateIndex(as_target(vmlinux, "vmlinux"))
        self._modules_src = modules
        self._modules: list[CandidateIndex] | None = None

    @property
    def modules(self) -> list[CandidateIndex]:
        if self._modules is None:
            src = self._modules_src
            items = src() if callable(src) else src
            self._modules = [CandidateIndex(as_target(t, f"module#{i}")) for i, t in enumerate(items)]
        return self._modules

    def find(self, local_btf: BTF, local_id: int) -> list[Candidate]:
        """Candidates for local type ``local_id`` (which must be named); vmlinux first."""
        name = local_btf.name_of(local_id)
        kind = local_btf.kind_of(local_id)
        ess = essential_name(name)
        found = [Candidate(self.vmlinux.target, i) for i in self.vmlinux.lookup(ess, kind)]
        if found:
            return found
        for index in self.modules:
            found.extend(Candidate(index.target, i) for i in index.lookup(ess, kind))
        return found
