"""uprobe.multi / uretprobe.multi / uprobe.session: many user-space probes in one bpf_link
(``BPF_LINK_CREATE`` with ``BPF_TRACE_UPROBE_MULTI``, Linux 6.6+; sessions 6.13+).

As libbpf's ``bpf_program__attach_uprobe_multi()``: the probes are given as a glob
``pattern`` over the binary's functions (``.symtab`` first, then ``.dynsym``), as explicit
``symbols``, or as file ``offsets``; ``ref_ctr_offsets`` and ``cookies`` go one per probe.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Sequence

from pybpf.elf import ELFFile
from pybpf.elf.uprobes import resolve_pattern_offsets, resolve_syms_offsets
from pybpf.errors import InvalidArgumentError
from pybpf.link.base import Link, fd_of
from pybpf.link.uprobe import resolve_binary_path
from pybpf.sys import uapi
from pybpf.sys.commands import link_create

__all__ = ["attach_uprobe_multi", "uprobe_multi_attr_fill", "BPF_F_UPROBE_MULTI_RETURN"]

BPF_F_UPROBE_MULTI_RETURN = 1


def uprobe_multi_attr_fill(path: str, offsets: Sequence[int], ref_ctr_offsets: Sequence[int],
                           cookies: Sequence[int], flags: int, pid: int) -> Any:
    """A ``fill(attr)`` for :func:`~pybpf.sys.commands.link_create` setting ``uprobe_multi``."""
    count = len(offsets)

    def fill(attr: Any) -> Any:
        um = attr.uprobe_multi
        pbuf = ctypes.create_string_buffer(os.fsencode(path))
        offs = (ctypes.c_uint64 * count)(*offsets)
        keep: list[Any] = [pbuf, offs]
        um.path = ctypes.addressof(pbuf)
        um.offsets = ctypes.addressof(offs)
        if ref_ctr_offsets:
            refs = (ctypes.c_uint64 * count)(*ref_ctr_offsets)
            keep.append(refs)
            um.ref_ctr_offsets = ctypes.addressof(refs)
        if cookies:
            cks = (ctypes.c_uint64 * count)(*cookies)
            keep.append(cks)
            um.cookies = ctypes.addressof(cks)
        um.cnt = count
        um.flags = flags
        um.pid = pid if pid > 0 else 0
        return keep

    return fill


def attach_uprobe_multi(program: Any, binary_path: str, pattern: str | None = None, *,
                        symbols: Sequence[str] = (), offsets: Sequence[int] = (),
                        ref_ctr_offsets: Sequence[int] = (), cookies: Sequence[int] = (),
                        pid: int = -1, retprobe: bool = False, session: bool = False) -> Link:
    """Attach a uprobe.multi program to every function of ``binary_path`` matching
    ``pattern`` (or the given ``symbols``/``offsets``), in every process or only ``pid``."""
    if sum(1 for x in (pattern, symbols, offsets) if x) != 1:
        raise InvalidArgumentError("uprobe.multi attach: give exactly one of pattern, symbols, offsets")
    if retprobe and session:
        raise InvalidArgumentError("uprobe.multi attach: a session is not a retprobe")
    path = resolve_binary_path(binary_path)
    if pattern or symbols:
        if pattern and (cookies or ref_ctr_offsets):
            raise InvalidArgumentError("uprobe.multi attach: cookies and ref_ctr_offsets need "
                                       "explicit symbols or offsets")
        with ELFFile.open(path) as elf:
            offs = resolve_pattern_offsets(elf, pattern) if pattern else resolve_syms_offsets(elf, list(symbols))
    else:
        offs = list(offsets)
    for what, seq in (("cookies", cookies), ("ref_ctr_offsets", ref_ctr_offsets)):
        if seq and len(seq) != len(offs):
            raise InvalidArgumentError(f"uprobe.multi attach: {len(seq)} {what} for {len(offs)} probes")
    flags = BPF_F_UPROBE_MULTI_RETURN if retprobe else 0
    atype = uapi.BPF_TRACE_UPROBE_SESSION if session else uapi.BPF_TRACE_UPROBE_MULTI
    prog_fd = fd_of(program, "uprobe.multi attach: program")
    target = f"{path}:{pattern or ','.join(symbols) or f'{len(offs)} offsets'}"
    fd = link_create(prog_fd, 0, atype,
                     fill=uprobe_multi_attr_fill(path, offs, list(ref_ctr_offsets), list(cookies), flags, pid),
                     what=f"attaching uprobe.multi to {target}")
    return Link("uprobe_multi", fd=fd, program=program, target=target)
