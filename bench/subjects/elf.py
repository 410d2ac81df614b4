"""ELF reader: open libc.so.6 (mmap, lazy tables) and resolve a uprobe target, in process.

libbpf's equivalent (elf_find_func_offset) is not exported by libbpf.so, so there is no C
counterpart to run beside it; the figure is reported on its own.
"""

import os
import time

from harness import Metric

_LIBC_CANDIDATES = ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6")


def _libc() -> str | None:
    return next((p for p in _LIBC_CANDIDATES if os.path.exists(p)), None)


def _open_and_find(path: str, repeat: int):
    def sample() -> float:
        from pybpf.elf import ELFFile

        start = time.perf_counter()
        for _ in range(repeat):
            with ELFFile.open(path) as elf:
                elf.find_func_offset("malloc@@GLIBC_2.2.5")
                elf.find_func_offset("free")
        return (time.perf_counter() - start) / repeat

    return sample


def subjects(smoke: bool):
    path = _libc()
    if path is None:
        return []
    return [Metric("elf: open libc.so.6 + 2 uprobe offsets", "s", _open_and_find(path, 1 if smoke else 50), None,
                   what="ELFFile.open + find_func_offset('malloc@@GLIBC_2.2.5') and ('free'), in process",
                   higher_is_better=False, b_label="—")]
