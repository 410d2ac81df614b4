"""BTF from ELF objects: the ``.BTF`` (and ``.BTF.ext``) sections of a ``*.bpf.o`` or ``vmlinux``.

Uses :mod:`pybpf.elf` (the ELF reader) to find the sections.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import BTFError

__all__ = ["btf_section", "btf_ext_section"]


def _section(data: Any, name: str, path: str) -> bytes | None:
    try:
        from pybpf.elf import ELFFile  # type: ignore[attr-defined]
    except ImportError:
        raise BTFError(f"{path}: reading BTF from ELF files needs pybpf.elf, which is not available") from None
    elf = ELFFile.parse(data)  # pragma: no cover - wired once pybpf.elf lands
    sec = elf.section(name)
    return None if sec is None else bytes(sec.data)


def btf_section(data: Any, path: str = "<bytes>") -> bytes:
    """The ``.BTF`` section of ELF ``data``; BTFError if there is none."""
    raw = _section(data, ".BTF", path)
    if raw is None:
        raise BTFError(f"{path}: ELF file has no .BTF section")
    return raw


def btf_ext_section(data: Any, path: str = "<bytes>") -> bytes | None:
    """The ``.BTF.ext`` section of ELF ``data``, or None."""
    return _section(data, ".BTF.ext", path)
