"""uprobe/uretprobe programs on user-space functions.

As libbpf's ``bpf_program__attach_uprobe_opts()``: a binary given without a ``/`` is searched
like libbpf's ``resolve_full_path()`` (shared libraries in ``LD_LIBRARY_PATH``, ``/usr/lib64``,
``/usr/lib`` and the multiarch directories; executables in ``PATH``, ``/usr/bin``,
``/usr/sbin``); a function name becomes a file offset through
:func:`pybpf.elf.uprobes.find_func_offset` (which is right for executables, PIE and shared
libraries alike), to which ``offset`` is added. The uprobe perf PMU is used when present,
else a tracefs ``uprobe_events`` entry (removed on detach). ``pid`` restricts the probe to
one process; ``ref_ctr_offset`` is a USDT semaphore the kernel increments while attached.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from pybpf.elf import ELFFile
from pybpf.errors import InvalidArgumentError, NotFoundError
from pybpf.link.base import Link
from pybpf.link.probe import attach_probe

__all__ = ["attach_uprobe", "resolve_binary_path", "function_offset"]

_MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu",
              "s390x": "s390x-linux-gnu", "ppc64le": "powerpc64le-linux-gnu",
              "riscv64": "riscv64-linux-gnu", "loongarch64": "loongarch64-linux-gnu",
              "armv7l": "arm-linux-gnueabihf"}


def _arch_lib_paths() -> str:
    triple = _MULTIARCH.get(platform.machine())
    return f"/lib/{triple}:/usr/lib/{triple}" if triple else ""


def resolve_binary_path(file: str) -> str:
    """libbpf's ``resolve_full_path()``: ``file`` itself if it has a ``/``, else the first match
    in the library (``*.so``/``*.so.*``) or program search path."""
    if "/" in file:
        return file
    is_lib = file.endswith(".so") or ".so." in file
    if is_lib:
        search = [os.environ.get("LD_LIBRARY_PATH", ""), "/usr/lib64:/usr/lib", _arch_lib_paths()]
        perm = os.R_OK
    else:
        search = [os.environ.get("PATH", ""), "/usr/bin:/usr/sbin"]
        perm = os.R_OK | os.X_OK
    for paths in search:
        for d in paths.split(":"):
            if not d:
                continue
            candidate = os.path.join(d, file)
            if os.access(candidate, perm):
                return candidate
    raise NotFoundError(f"uprobe target '{file}' not found in the {'library' if is_lib else 'program'} "
                        "search path (give an absolute path)", errno=2)


def function_offset(binary_path: str, function: str) -> int:
    """File offset of ``function`` (``name``, ``name@VERSION``) in ``binary_path``."""
    with ELFFile.open(binary_path) as elf:
        return elf.find_func_offset(function)


def attach_uprobe(program: Any, binary_path: str, function: str | None = None, *, offset: int = 0,
                  pid: int = -1, retprobe: bool = False, ref_ctr_offset: int = 0, cookie: int = 0,
                  mode: str = "default") -> Link:
    """Attach a uprobe (``retprobe``: uretprobe) program to ``function`` + ``offset`` in
    ``binary_path`` (or to file ``offset`` alone), in every process or only ``pid``."""
    path = resolve_binary_path(binary_path)
    if function:
        if retprobe and offset:
            raise InvalidArgumentError("uretprobes do not support offset specification")
        file_offset = function_offset(path, function) + offset
        target = f"{path}:{function}" + (f"+0x{offset:x}" if offset else "")
    else:
        file_offset = offset
        target = f"{path}:0x{offset:x}"
    if pid >= 0:
        target += f" pid {pid}"
    return attach_probe(program, uprobe=True, retprobe=retprobe, name=path, offset=file_offset,
                        pid=pid, ref_ctr_offset=ref_ctr_offset, cookie=cookie, mode=mode,
                        target=target)
