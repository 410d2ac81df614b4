"""Reading BPF iterators (``SEC("iter/...")`` programs, Linux 5.8+).

An iterator *link* (``BPF_LINK_CREATE`` with ``BPF_TRACE_ITER``, see :mod:`pybpf.link`)
becomes readable through ``BPF_ITER_CREATE``: every ``read()`` of the new descriptor runs the
program over more objects, and what the program printed (``bpf_seq_printf``) or wrote
(``bpf_seq_write``) comes back through the kernel's seq_file. Each :func:`open_iter` starts a
new pass over the objects.

``link`` is a Link from :mod:`pybpf.link`, a :class:`pybpf.sys.FD`, anything with
``fileno()``, or a plain descriptor number.

* :func:`read` / :func:`read_text` — the whole output of one pass;
* :func:`lines` — text, line by line, as the kernel produces it;
* :func:`chunks` — raw bytes as they come;
* :func:`records` — fixed-size binary records (``bpf_seq_write`` of a struct), as ``bytes``, a
  ctypes type, a ``struct.Struct`` tuple or a BTF type (see :mod:`pybpf.events.decode`).
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from pybpf.errors import BPFError, InvalidArgumentError, error_from_errno
from pybpf.events.decode import record_type
from pybpf.sys.commands import iter_create
from pybpf.sys.fd import FD

__all__ = ["open_iter", "chunks", "read", "read_text", "lines", "records"]

#: bytes asked for per read(); the kernel fills up to this much (at least one page per call).
CHUNK = 1 << 16


def _link_fd(link: Any) -> int:
    if isinstance(link, int) and not isinstance(link, bool):
        return link
    if hasattr(link, "fileno"):
        return int(link.fileno())
    fd = getattr(link, "fd", None)
    if fd is not None:
        return int(fd.fileno() if hasattr(fd, "fileno") else fd)
    raise InvalidArgumentError(f"iterator: expected a link or a link descriptor, not {link!r}")


def open_iter(link: Any) -> FD:
    """``BPF_ITER_CREATE`` on the link: a new descriptor to read one pass from."""
    return iter_create(_link_fd(link))


def _read_chunks(fd: FD, size: int) -> Iterator[bytes]:
    num = fd.fileno()
    while True:
        try:
            data = os.read(num, size)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"reading iterator (fd {num})", op="read") from None
        if not data:
            return
        yield data


def chunks(link: Any, size: int = CHUNK) -> Iterator[bytes]:
    """The output of one pass, in the pieces ``read()`` returns."""
    with open_iter(link) as fd:
        yield from _read_chunks(fd, size)


def read(link: Any) -> bytes:
    """Everything one pass of the iterator outputs."""
    return b"".join(chunks(link))


def read_text(link: Any, encoding: str = "utf-8", errors: str = "replace") -> str:
    """:func:`read`, decoded (undecodable bytes replaced, as ``cat`` would show them)."""
    return read(link).decode(encoding, errors)


def lines(link: Any, encoding: str = "utf-8", errors: str = "replace") -> Iterator[str]:
    """The text of one pass, line by line (without the newline); a last line without a
    newline is yielded too."""
    pending = b""
    for chunk in chunks(link):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode(encoding, errors)
    if pending:
        yield pending.decode(encoding, errors)


def records(link: Any, type: Any, *, size: int | None = None, btf: Any = None) -> Iterator[Any]:
    """Fixed-size binary records of one pass, decoded as ``type`` (None: ``bytes`` of
    ``size``). ``size`` defaults to the type's size. A pass that ends in the middle of a
    record raises :class:`~pybpf.errors.BPFError`."""
    rtype = record_type(type, btf=btf, what="iterator records")
    rec = size if size is not None else rtype.size
    if rec <= 0:
        raise InvalidArgumentError("iterator records: give size= (or a type with a size)")
    if rec < rtype.size:
        raise InvalidArgumentError(f"iterator records: size {rec} is smaller than {rtype.name} "
                                   f"({rtype.size} bytes)")
    pending = b""
    total = 0
    for chunk in chunks(link):
        data = pending + chunk if pending else chunk
        whole = len(data) - len(data) % rec
        if whole:
            view = memoryview(data)[:whole]
            it = rtype.run(view, 0, rec, rec, _identity)[1]
            yield from it
            del it
            view.release()
            total += whole // rec
        pending = data[whole:]
    if pending:
        raise BPFError(f"iterator records: the pass ended {len(pending)} bytes into record "
                       f"{total} ({rec}-byte records)")


def _identity(x: Any) -> Any:
    return x
