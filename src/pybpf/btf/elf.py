"""BTF from ELF objects: the ``.BTF`` and ``.BTF.ext`` sections of a ``*.bpf.o`` or ``vmlinux``.

``BTF.from_elf(path_or_bytes)`` and ``BTFExt.from_elf(...)`` are the conveniences; the parsers
themselves take raw section bytes (:meth:`BTF.parse`, :meth:`BTFExt.parse`). Sections are found
with :mod:`pybpf.elf` (imported only when an ELF file is actually read). As libbpf's
``btf__parse_elf``, nothing is fixed up (clang leaves DATASEC sizes and offsets 0; the object
loader fills them in from the symbol table).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Union

from pybpf.errors import BTFError, ELFError

if TYPE_CHECKING:
    from pybpf.btf.ext import BTFExt
    from pybpf.btf.spec import BTF

__all__ = ["btf_section", "btf_ext_section", "btf_from_elf", "btf_ext_from_elf", "is_elf"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def is_elf(data: Any) -> bool:
    """Whether ``data`` starts with the ELF magic."""
    return len(data) >= 4 and bytes(data[:4]) == b"\x7fELF"


def _open(source: Any, path: str) -> Any:
    from pybpf.elf import ELFFile

    try:
        if isinstance(source, (str, os.PathLike)):
            return ELFFile.open(source)
        return ELFFile(source, name=path)
    except ELFError as exc:
        raise BTFError(f"{path}: not a readable ELF file: {exc.message}") from None


def _section(source: Any, name: str, path: str) -> bytes | None:
    elf = _open(source, path)
    try:
        sec = elf.section_by_name(name)
        return None if sec is None else bytes(sec.data)
    finally:
        close = getattr(elf, "close", None)
        if close is not None and isinstance(source, (str, os.PathLike)):
            close()


def btf_section(data: Any, path: str = "<bytes>") -> bytes:
    """The ``.BTF`` section of ELF ``data`` (bytes or a path); BTFError if there is none."""
    raw = _section(data, ".BTF", path)
    if raw is None:
        raise BTFError(f"{path}: ELF file has no .BTF section")
    return raw


def btf_ext_section(data: Any, path: str = "<bytes>") -> bytes | None:
    """The ``.BTF.ext`` section of ELF ``data`` (bytes or a path), or None."""
    return _section(data, ".BTF.ext", path)


def _name(source: Any) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<bytes>"


def btf_from_elf(source: Source, base: BTF | None = None) -> BTF:
    """The parsed ``.BTF`` of an ELF file (a path, or the file's bytes)."""
    from pybpf.btf.spec import BTF

    return BTF.parse(btf_section(source, _name(source)), base)


def btf_ext_from_elf(source: Source, btf: BTF | None = None) -> BTFExt | None:
    """The parsed ``.BTF.ext`` of an ELF file (None if it has none); its strings are resolved
    against ``btf`` (by default the file's own ``.BTF``)."""
    from pybpf.btf.ext import BTFExt

    raw = btf_ext_section(source, _name(source))
    if raw is None:
        return None
    if btf is None:
        btf = btf_from_elf(source)
    return BTFExt.parse(raw, btf)
