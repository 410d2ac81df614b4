"""``mmap(2)`` of kernel objects: ring buffers, perf event rings, mmap-able array maps.

:func:`map_shared` maps a descriptor ``MAP_SHARED`` and turns failures into the
:mod:`pybpf.errors` class for their errno, naming the object and the range.
:func:`unmap` closes a mapping that may still be exported to memoryviews (a view that
outlives it keeps the pages mapped until the view is released; nothing is leaked).
"""

from __future__ import annotations

import mmap

from pybpf.errors import InvalidArgumentError, error_from_errno

__all__ = ["PAGE_SIZE", "map_shared", "unmap"]

#: The system page size (ring buffers are laid out in pages).
PAGE_SIZE = mmap.PAGESIZE


def map_shared(fd: int, length: int, offset: int = 0, *, write: bool = False,
               what: str = "object") -> mmap.mmap:
    """``mmap(NULL, length, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)``."""
    if length <= 0 or offset < 0 or offset % PAGE_SIZE:
        raise InvalidArgumentError(f"{what}: cannot map {length} bytes at offset {offset}")
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if write else 0)
    try:
        return mmap.mmap(fd, length, mmap.MAP_SHARED, prot, offset=offset)
    except OSError as exc:
        mode = "read-write" if write else "read-only"
        raise error_from_errno(exc.errno or 0, f"{what}: mapping {length} bytes at offset "
                                               f"{offset} {mode}", op="mmap") from None
    except (OverflowError, ValueError) as exc:
        raise InvalidArgumentError(f"{what}: cannot map {length} bytes at offset {offset}: {exc}") from None


def unmap(mapping: mmap.mmap | None) -> bool:
    """Unmap now if no memoryview still refers to the mapping; True when it was unmapped.

    Otherwise the mapping goes away with the last view that refers to it.
    """
    if mapping is None or mapping.closed:
        return True
    try:
        mapping.close()
    except BufferError:
        return False
    return True
