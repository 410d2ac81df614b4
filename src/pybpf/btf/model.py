"""The BTF type model: one small immutable class per kind.

Types refer to other types by **id** (an ``int``), as in the on-disk format and in libbpf;
:class:`pybpf.btf.BTF` resolves ids. Id 0 is ``void`` (:data:`VOID`). Every type has ``id``,
``name`` (``""`` when anonymous) and ``kind``. Attribute names are uniform across kinds:

* ``size`` — byte size (INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT),
* ``type`` — the referenced type id (PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG, FUNC,
  VAR, DECL_TAG; the element type of ARRAY; the return type of FUNC_PROTO).

``kflag`` semantics are decoded into named attributes (bitfield offsets of members, FWD of a
union, enum signedness), so nothing above this module looks at the raw info word.
"""

from __future__ import annotations

from enum import IntEnum
import typing
from typing import ClassVar, NamedTuple

__all__ = [
    "Kind",
    "IntEncoding",
    "Linkage",
    "Type",
    "Void",
    "VOID",
    "Int",
    "Pointer",
    "Array",
    "Member",
    "Struct",
    "Union",
    "Composite",
    "EnumValue",
    "Enum",
    "Enum64",
    "Fwd",
    "Typedef",
    "Volatile",
    "Const",
    "Restrict",
    "TypeTag",
    "Func",
    "Param",
    "FuncProto",
    "Var",
    "VarSecinfo",
    "Datasec",
    "Float",
    "DeclTag",
    "AnyType",
    "MODIFIER_KINDS",
]


class Kind(IntEnum):
    """BTF_KIND_* values (include/uapi/linux/btf.h)."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding:
    """BTF_INT_* encoding bits of an INT type."""

    SIGNED = 1 << 0
    CHAR = 1 << 1
    BOOL = 1 << 2


class Linkage(IntEnum):
    """Linkage of FUNC (static/global/extern) and VAR (static/global/extern) types."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class Type:
    """Common base: ``id``, ``name`` and the class-level ``kind``."""

    __slots__ = ("id", "name")
    kind: ClassVar[Kind] = Kind.UNKN

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name

    def _fields(self) -> tuple:
        return tuple(getattr(self, s) for c in type(self).__mro__ for s in getattr(c, "__slots__", ()))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self), self.id, self.name))

    def __repr__(self) -> str:
        body = ", ".join(
            f"{s}={getattr(self, s)!r}"
            for c in reversed(type(self).__mro__)
            for s in getattr(c, "__slots__", ())
        )
        return f"{type(self).__name__}({body})"


class Void(Type):
    """``void`` (type id 0)."""

    __slots__ = ()
    kind = Kind.UNKN


VOID = Void(0, "")


class Int(Type):
    """BTF_KIND_INT. ``encoding`` holds :class:`IntEncoding` bits; ``bits`` the value width,
    ``offset`` its bit offset inside ``size`` bytes (0 for everything clang emits)."""

    __slots__ = ("size", "encoding", "offset", "bits")
    kind = Kind.INT

    def __init__(self, id: int, name: str, size: int, encoding: int, offset: int, bits: int) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.encoding = encoding
        self.offset = offset
        self.bits = bits

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)

    @property
    def is_char(self) -> bool:
        return bool(self.encoding & IntEncoding.CHAR)

    @property
    def is_bool(self) -> bool:
        return bool(self.encoding & IntEncoding.BOOL)


class _Ref(Type):
    """A type that only refers to another (``type``)."""

    __slots__ = ("type",)

    def __init__(self, id: int, name: str, type: int) -> None:
        self.id = id
        self.name = name
        self.type = type


class Pointer(_Ref):
    """BTF_KIND_PTR to ``type``."""

    __slots__ = ()
    kind = Kind.PTR


class Typedef(_Ref):
    """BTF_KIND_TYPEDEF ``name`` for ``type``."""

    __slots__ = ()
    kind = Kind.TYPEDEF


class Volatile(_Ref):
    """BTF_KIND_VOLATILE modifier."""

    __slots__ = ()
    kind = Kind.VOLATILE


class Const(_Ref):
    """BTF_KIND_CONST modifier."""

    __slots__ = ()
    kind = Kind.CONST


class Restrict(_Ref):
    """BTF_KIND_RESTRICT modifier."""

    __slots__ = ()
    kind = Kind.RESTRICT


class TypeTag(_Ref):
    """BTF_KIND_TYPE_TAG: ``__attribute__((btf_type_tag(name)))`` on ``type`` (Linux 5.17+)."""

    __slots__ = ()
    kind = Kind.TYPE_TAG


class Array(Type):
    """BTF_KIND_ARRAY of ``nelems`` elements of ``type``, indexed by ``index_type``."""

    __slots__ = ("type", "index_type", "nelems")
    kind = Kind.ARRAY

    def __init__(self, id: int, name: str, type: int, index_type: int, nelems: int) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.index_type = index_type
        self.nelems = nelems


class Member(NamedTuple):
    """A struct/union member. ``bit_offset`` from the start of the composite; ``bitfield_size``
    is 0 for a plain member (kflag semantics already applied)."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0


class Composite(Type):
    """Common base of :class:`Struct` and :class:`Union`."""

    __slots__ = ("size", "members", "kflag")

    def __init__(self, id: int, name: str, size: int, members: tuple[Member, ...], kflag: bool = False) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.members = members
        #: Whether the record used the kflag (bitfield) member-offset encoding.
        self.kflag = kflag


class Struct(Composite):
    """BTF_KIND_STRUCT."""

    __slots__ = ()
    kind = Kind.STRUCT


class Union(Composite):
    """BTF_KIND_UNION."""

    __slots__ = ()
    kind = Kind.UNION


class EnumValue(NamedTuple):
    """An enumerator: ``name`` and its value, already sign-interpreted per the enum's kflag."""

    name: str
    value: int


class Enum(Type):
    """BTF_KIND_ENUM (32-bit values); ``signed`` from the kflag (Linux 6.0+ semantics)."""

    __slots__ = ("size", "values", "signed")
    kind = Kind.ENUM

    def __init__(self, id: int, name: str, size: int, values: tuple[EnumValue, ...], signed: bool) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.values = values
        self.signed = signed


class Enum64(Enum):
    """BTF_KIND_ENUM64 (64-bit values, Linux 6.0+)."""

    __slots__ = ()
    kind = Kind.ENUM64


class Fwd(Type):
    """BTF_KIND_FWD: forward declaration of a struct (or a union when ``is_union``)."""

    __slots__ = ("is_union",)
    kind = Kind.FWD

    def __init__(self, id: int, name: str, is_union: bool) -> None:
        self.id = id
        self.name = name
        self.is_union = is_union


class Func(Type):
    """BTF_KIND_FUNC: a function ``name`` whose prototype is ``type`` (a FUNC_PROTO id)."""

    __slots__ = ("type", "linkage")
    kind = Kind.FUNC

    def __init__(self, id: int, name: str, type: int, linkage: int) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.linkage = linkage


class Param(NamedTuple):
    """A FUNC_PROTO parameter. A trailing ``Param("", 0)`` means ``...`` (variadic)."""

    name: str
    type: int


class FuncProto(Type):
    """BTF_KIND_FUNC_PROTO: return type ``type`` and ``params``."""

    __slots__ = ("type", "params")
    kind = Kind.FUNC_PROTO

    def __init__(self, id: int, name: str, type: int, params: tuple[Param, ...]) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.params = params

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


class Var(Type):
    """BTF_KIND_VAR: a global variable of ``type`` with ``linkage``."""

    __slots__ = ("type", "linkage")
    kind = Kind.VAR

    def __init__(self, id: int, name: str, type: int, linkage: int) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.linkage = linkage


class VarSecinfo(NamedTuple):
    """A DATASEC entry: the VAR (or FUNC, for .ksyms) ``type`` at ``offset`` of ``size`` bytes."""

    type: int
    offset: int
    size: int


class Datasec(Type):
    """BTF_KIND_DATASEC: an ELF data section (``.data``, ``.bss``, ``.kconfig`` …)."""

    __slots__ = ("size", "vars")
    kind = Kind.DATASEC

    def __init__(self, id: int, name: str, size: int, vars: tuple[VarSecinfo, ...]) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.vars = vars


class Float(Type):
    """BTF_KIND_FLOAT of ``size`` bytes (Linux 5.13+)."""

    __slots__ = ("size",)
    kind = Kind.FLOAT

    def __init__(self, id: int, name: str, size: int) -> None:
        self.id = id
        self.name = name
        self.size = size


class DeclTag(Type):
    """BTF_KIND_DECL_TAG ``name`` on ``type``; ``component_idx`` -1 for the type itself, else
    the member/parameter index (Linux 5.16+)."""

    __slots__ = ("type", "component_idx")
    kind = Kind.DECL_TAG

    def __init__(self, id: int, name: str, type: int, component_idx: int) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.component_idx = component_idx


AnyType = typing.Union[
    Void, Int, Pointer, Array, Struct, Union, Enum, Enum64, Fwd, Typedef, Volatile, Const,
    Restrict, TypeTag, Func, FuncProto, Var, Datasec, Float, DeclTag,
]

#: Kinds skipped by "skip modifiers": they change qualifiers, not layout.
MODIFIER_KINDS = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
