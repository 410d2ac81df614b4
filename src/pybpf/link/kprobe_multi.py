"""kprobe.multi / kretprobe.multi / kprobe.session: many kernel functions in one bpf_link
(``BPF_LINK_CREATE`` with ``BPF_TRACE_KPROBE_MULTI``, Linux 5.18+; sessions 6.10+).

Functions are given as a glob ``pattern`` (libbpf: matched against
``available_filter_functions_addrs`` when the kernel has it, else ``/proc/kallsyms`` names that
``available_filter_functions`` lists), or as explicit ``symbols`` or ``addresses``, with one
optional cookie each. Needs fprobe (``CONFIG_FPROBE``) and ftrace-patchable functions.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Sequence

from pybpf.elf.uprobes import glob_match
from pybpf.errors import BPFError, InvalidArgumentError, NotFoundError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys import uapi
from pybpf.sys.commands import link_create
from pybpf.sys.tracefs import available_filter_functions, kallsyms, tracefs_path

__all__ = ["attach_kprobe_multi", "resolve_kprobe_pattern", "kprobe_multi_attr_fill",
           "BPF_F_KPROBE_MULTI_RETURN"]

BPF_F_KPROBE_MULTI_RETURN = 1


def resolve_kprobe_pattern(pattern: str, *, filter_addrs_path: str | None = None,
                           filter_funcs: Sequence[str] | None = None,
                           symbols: Sequence[tuple[int, str, str, str]] | None = None
                           ) -> tuple[list[str], list[int]]:
    """``(names, addresses)`` of attachable kernel functions matching glob ``pattern``.

    With ``available_filter_functions_addrs`` (Linux 6.5+) addresses are returned (names
    empty); otherwise names from kallsyms that ftrace can patch. The keyword arguments replace
    the kernel's files (for tests).
    """
    path = filter_addrs_path
    if path is None and filter_funcs is None and symbols is None:
        try:
            candidate = tracefs_path("available_filter_functions_addrs")
            path = candidate if os.access(candidate, os.R_OK) and _readable(candidate) else None
        except BPFError:
            path = None
    if path is not None:
        addrs: list[int] = []
        try:
            f = open(path)
        except OSError as exc:
            raise error_from_errno(exc.errno or 5, f"kprobe.multi '{pattern}': cannot list the "
                                   f"attachable kernel functions ({path})", op="open") from None
        with f:
            for line in f:
                parts = line.split()
                if len(parts) < 2 or parts[1].startswith("__ftrace_invalid_address__"):
                    continue
                if glob_match(parts[1], pattern):
                    addrs.append(int(parts[0], 16))
        if not addrs:
            raise NotFoundError(f"kprobe.multi: no attachable kernel function matches '{pattern}' "
                                f"({path} lists the functions fprobe can attach to)", errno=2)
        return [], addrs
    if filter_funcs is None:
        try:
            filter_funcs = available_filter_functions()
        except BPFError as exc:
            raise error_from_errno(exc.errno or 5, f"kprobe.multi '{pattern}': cannot list the "
                                   "attachable kernel functions (available_filter_functions)",
                                   op="open") from None
    funcs = set(filter_funcs)
    names: list[str] = []
    seen: set[str] = set()
    for _addr, letter, name, _mod in (symbols if symbols is not None else kallsyms()):
        if letter not in "tTwW" or name in seen:
            continue
        if glob_match(name, pattern) and name in funcs:
            names.append(name)
            seen.add(name)
    if not names:
        raise NotFoundError(f"kprobe.multi: no attachable kernel function matches '{pattern}' "
                            "(only functions in available_filter_functions can be probed)", errno=2)
    return names, []


def _readable(path: str) -> bool:
    try:
        with open(path):
            return True
    except OSError:
        return False


def kprobe_multi_attr_fill(names: Sequence[str], addresses: Sequence[int], cookies: Sequence[int],
                           flags: int) -> Any:
    """A ``fill(attr)`` for :func:`~pybpf.sys.commands.link_create` setting ``kprobe_multi``."""
    count = len(names) or len(addresses)

    def fill(attr: Any) -> Any:
        keep: list[Any] = []
        km = attr.kprobe_multi
        km.flags = flags
        km.cnt = count
        if names:
            bufs = [ctypes.create_string_buffer(n.encode()) for n in names]
            ptrs = (ctypes.c_uint64 * count)(*[ctypes.addressof(b) for b in bufs])
            keep += [bufs, ptrs]
            km.syms = ctypes.addressof(ptrs)
        if addresses:
            arr = (ctypes.c_uint64 * count)(*addresses)
            keep.append(arr)
            km.addrs = ctypes.addressof(arr)
        if cookies:
            carr = (ctypes.c_uint64 * count)(*cookies)
            keep.append(carr)
            km.cookies = ctypes.addressof(carr)
        return keep

    return fill


def attach_kprobe_multi(program: Any, pattern: str | None = None, *, symbols: Sequence[str] = (),
                        addresses: Sequence[int] = (), cookies: Sequence[int] = (),
                        retprobe: bool = False, session: bool = False) -> Link:
    """Attach a kprobe.multi program to every function matching ``pattern`` (or ``symbols`` /
    ``addresses``). ``session`` makes it a kprobe.session link (entry and return)."""
    given = sum(1 for x in (pattern, symbols, addresses) if x)
    if given != 1:
        raise InvalidArgumentError("kprobe.multi attach: give exactly one of pattern, symbols, addresses")
    if retprobe and session:
        raise InvalidArgumentError("kprobe.multi attach: a session is not a retprobe")
    names, addrs = list(symbols), list(addresses)
    if pattern:
        if cookies:
            raise InvalidArgumentError("kprobe.multi attach: cookies need explicit symbols or addresses")
        names, addrs = resolve_kprobe_pattern(pattern)
    count = len(names) or len(addrs)
    if cookies and len(cookies) != count:
        raise InvalidArgumentError(f"kprobe.multi attach: {len(cookies)} cookies for {count} functions")
    flags = BPF_F_KPROBE_MULTI_RETURN if retprobe else 0
    atype = uapi.BPF_TRACE_KPROBE_SESSION if session else uapi.BPF_TRACE_KPROBE_MULTI
    prog_fd = fd_of(program, "kprobe.multi attach: program")
    target = pattern or (f"{count} symbols" if names else f"{count} addresses")
    fd = link_create(prog_fd, 0, atype, fill=kprobe_multi_attr_fill(names, addrs, list(cookies), flags),
                     what=f"attaching kprobe.multi to {target}")
    return Link("kprobe_multi", fd=fd, program=program, target=target)
