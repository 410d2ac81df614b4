"""How records reach Python: raw ``bytes``, a ctypes structure, or a ``struct`` tuple.

:func:`record_type` turns what the user passed as ``type=`` into a :class:`RecordType`:

* ``None`` — each record is a ``bytes`` object of the record's length;
* a ctypes type (``ctypes.Structure`` subclass, array, scalar) — a copy decoded with
  ``from_buffer_copy`` (trailing bytes beyond ``sizeof`` are ignored, as a C cast would);
* a :class:`struct.Struct` (or a format string) — the tuple its ``unpack`` gives;
* ``(btf, type_id)`` or ``(btf, "struct event")`` — the ctypes layout of that BTF type
  (:func:`pybpf.btf.ctypes_view.ctype_for`);
* a type name such as ``"struct event"`` — resolved in ``btf=`` or in the BTF the map was
  loaded with (``map.btf``, set by the object loader).

A :class:`RecordType` decodes one record at an offset of a buffer (:meth:`RecordType.one`) and,
for a run of equally long records laid out at a fixed stride, builds the iterator of callback
results without any Python-level work per record (:meth:`RecordType.run`): ``struct``'s
``iter_unpack`` slices the run in C and ``map``/``starmap`` apply the decoder and the callback.
"""

from __future__ import annotations

import ctypes
import struct
from itertools import starmap
from typing import Any, Callable, Iterator

from pybpf.errors import BTFError, InvalidArgumentError, NotSupportedError

__all__ = ["RecordType", "record_type", "HEADER_FORMATS"]

#: Byte order / alignment prefixes of ``struct`` formats.
HEADER_FORMATS = "@=<>!"


class RecordType:
    """A decoder for records of one kind (see the module docstring)."""

    __slots__ = ("kind", "size", "ctype", "struct", "name", "_runs", "_body", "_order", "from_bytes")

    def __init__(self, kind: str, size: int = 0, ctype: Any = None, st: struct.Struct | None = None,
                 name: str = "bytes") -> None:
        self.kind = kind            # "bytes", "ctypes" or "struct"
        self.size = size            # minimum record length (0 for bytes)
        self.ctype = ctype
        self.struct = st
        self.name = name
        self._runs: dict[tuple[int, int, int], struct.Struct] = {}
        #: decodes a record given as ``bytes`` of its length (None: the bytes are the record)
        self.from_bytes: Callable[[bytes], Any] | None = (
            None if kind == "bytes" else ctype.from_buffer_copy if kind == "ctypes" else
            st.unpack_from if st is not None else None)
        if st is not None:
            fmt = st.format if isinstance(st.format, str) else st.format.decode()
            self._order = fmt[0] if fmt and fmt[0] in HEADER_FORMATS else "@"
            self._body = fmt[1:] if fmt and fmt[0] in HEADER_FORMATS else fmt
        else:
            self._order, self._body = "=", ""

    def check(self, length: int, what: str) -> None:
        """Raise when a record of ``length`` bytes is too short for this type."""
        if length < self.size:
            raise InvalidArgumentError(f"{what}: record of {length} bytes is shorter than "
                                       f"{self.name} ({self.size} bytes)")

    def one(self, buf: Any, offset: int, length: int) -> Any:
        """Decode the record of ``length`` bytes at ``offset`` of ``buf`` (a copy)."""
        if self.kind == "bytes":
            return bytes(buf[offset:offset + length]) if isinstance(buf, memoryview) else \
                buf[offset:offset + length]
        if self.kind == "ctypes":
            return self.ctype.from_buffer_copy(buf, offset)
        assert self.struct is not None
        return self.struct.unpack_from(buf, offset)

    def _run_struct(self, header: int, length: int, stride: int) -> struct.Struct:
        key = (header, length, stride)
        st = self._runs.get(key)
        if st is None:
            if self.kind == "struct" and self._order != "@":
                assert self.struct is not None
                tail = stride - header - self.struct.size
                st = struct.Struct(f"{self._order}{header}x{self._body}{tail}x")
            elif self.kind == "struct":
                # native alignment is relative to the record start: slice the bytes, then unpack
                assert self.struct is not None
                st = struct.Struct(f"={header}x{self.struct.size}s{stride - header - self.struct.size}x")
            else:
                st = struct.Struct(f"={header}x{length}s{stride - header - length}x")
            self._runs[key] = st
        return st

    def run(self, view: memoryview, header: int, length: int, stride: int,
            callback: Callable[[Any], Any]) -> tuple[Iterator[Any], Iterator[Any]]:
        """(source, results): ``results`` are the results of ``callback`` over the records of
        ``view``, one record every ``stride`` bytes, each ``length`` bytes long after a
        ``header`` of ``header`` bytes. ``source`` is the ``struct.iter_unpack`` iterator
        slicing the records: its ``length_hint`` tells how many records were not reached yet
        (when a callback stopped the iteration or raised)."""
        src = self._run_struct(header, length, stride).iter_unpack(view)
        if self.kind == "bytes":
            return src, starmap(callback, src)
        if self.kind == "ctypes":
            return src, map(callback, starmap(self.ctype.from_buffer_copy, src))
        if self._order == "@":
            assert self.struct is not None
            return src, map(callback, starmap(self.struct.unpack, src))
        return src, map(callback, src)

    def __repr__(self) -> str:
        return f"<RecordType {self.name}>"


BYTES = RecordType("bytes")


def _is_ctype(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, (ctypes.Structure, ctypes.Union, ctypes.Array,
                                                      ctypes._SimpleCData))  # type: ignore[attr-defined]


def _btf_ctype(btf: Any, type_ref: int | str, what: str) -> RecordType:
    try:
        from pybpf.btf.ctypes_view import ctype_for  # type: ignore[import-not-found]
    except ImportError:
        raise NotSupportedError(f"{what}: BTF-typed records need pybpf.btf.ctypes_view, which this "
                                "build of pybpf lacks; pass a ctypes type or a struct.Struct") from None
    type_id = type_ref if isinstance(type_ref, int) else find_type_id(btf, type_ref, what)
    ct = ctype_for(btf, type_id)
    name = type_ref if isinstance(type_ref, str) else f"BTF type [{type_id}]"
    return RecordType("ctypes", ctypes.sizeof(ct), ct, name=name)


# "struct foo" -> kind names of pybpf.btf.Kind
_PREFIX_KINDS = {"struct": "STRUCT", "union": "UNION", "enum": "ENUM"}


def find_type_id(btf: Any, name: str, what: str) -> int:
    """The id of ``"struct event"``, ``"union u"``, ``"enum e"`` or a typedef/plain name."""
    from pybpf.btf import Kind

    text = " ".join(name.split())
    prefix, _, rest = text.partition(" ")
    if rest and prefix in _PREFIX_KINDS:
        kinds = [Kind[_PREFIX_KINDS[prefix]]]
        if prefix == "enum":
            kinds.append(Kind.ENUM64)
        ids = [i for k in kinds for i in btf.find(rest, k)]
    else:
        ids = btf.find(text)
    if not ids:
        raise BTFError(f"{what}: no type {name!r} in the BTF")
    if len(ids) > 1:
        kinds_seen = {btf.kind_of(i) for i in ids}
        if len(kinds_seen) > 1 or not rest:
            raise BTFError(f"{what}: type name {name!r} is ambiguous (ids {ids})")
    return ids[0]


def record_type(type: Any, *, btf: Any = None, map: Any = None, what: str = "records") -> RecordType:
    """Build the :class:`RecordType` for a ``type=`` argument (see the module docstring)."""
    if type is None:
        return BYTES
    if isinstance(type, RecordType):
        return type
    if _is_ctype(type):
        return RecordType("ctypes", ctypes.sizeof(type), type, name=getattr(type, "__name__", "ctypes type"))
    if isinstance(type, struct.Struct):
        return RecordType("struct", type.size, st=type, name=f"struct format {type.format!r}")
    if isinstance(type, tuple) and len(type) == 2 and isinstance(type[1], (int, str)):
        return _btf_ctype(type[0], type[1], what)
    if isinstance(type, str):
        source = btf if btf is not None else getattr(map, "btf", None)
        if source is None:
            try:  # a struct format string such as "<QII"
                st = struct.Struct(type)
            except struct.error:
                raise InvalidArgumentError(
                    f"{what}: type {type!r} names a BTF type, but no BTF is known for the map; "
                    "pass btf=, a (btf, type_id) pair, a ctypes type or a struct.Struct") from None
            return RecordType("struct", st.size, st=st, name=f"struct format {type!r}")
        return _btf_ctype(source, type, what)
    raise InvalidArgumentError(f"{what}: unsupported record type {type!r}")
