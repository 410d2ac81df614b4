"""Helper id <-> name, and kfunc names from BTF.

Helper names come from the kernel's ``enum bpf_func_id`` as generated into
:mod:`pybpf.sys.uapi` (``BPF_FUNC_map_lookup_elem = 1`` -> ``"bpf_map_lookup_elem"``); this
module keeps no table of its own. kfuncs have no fixed ids: a kfunc call's ``imm`` is a BTF
type id, so its name comes from the BTF it was resolved against.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["helper_names", "helper_name", "helper_id", "kfunc_name"]


@lru_cache(maxsize=1)
def helper_names() -> dict[int, str]:
    """Helper id -> name (``1 -> "bpf_map_lookup_elem"``); id 0 (unspec) is left out."""
    from pybpf.sys.uapi import bpf_func_id

    out: dict[int, str] = {}
    for name, member in bpf_func_id.__members__.items():
        if not name.startswith("BPF_FUNC_") or name.startswith("__"):
            continue
        value = int(member)
        if value <= 0 or value in out:
            continue
        out[value] = "bpf_" + name[len("BPF_FUNC_"):]
    return out


@lru_cache(maxsize=1)
def _ids() -> dict[str, int]:
    return {name: value for value, name in helper_names().items()}


def helper_name(helper_id: int) -> str | None:
    """``"bpf_map_lookup_elem"`` for 1; None for ids this kernel's enum does not know."""
    return helper_names().get(helper_id)


def helper_id(name: str) -> int | None:
    """Helper id for ``"bpf_map_lookup_elem"`` (or ``"map_lookup_elem"``); None if unknown."""
    ids = _ids()
    hid = ids.get(name)
    if hid is None and not name.startswith("bpf_"):
        hid = ids.get("bpf_" + name)
    return hid


def kfunc_name(btf_id: int, btf: Any) -> str | None:
    """Name of the kfunc with BTF type id ``btf_id`` in ``btf`` (a :class:`pybpf.btf.BTF`,
    for example the kernel's), or None when that id is not a function."""
    from pybpf.btf.model import Kind
    from pybpf.errors import BTFError

    try:
        if btf.kind_of(btf_id) != Kind.FUNC:
            return None
        return btf.name_of(btf_id) or None
    except (BTFError, IndexError):
        return None
