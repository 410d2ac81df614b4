"""BTF: type model, parsers (raw, ELF ``.BTF``/``.BTF.ext``, split), kernel BTF, dumpers, builder.

``BTF.parse(raw_bytes)`` gives a :class:`BTF`; ``btf[type_id]`` a type from
:mod:`pybpf.btf.model`; ``btf.find(name, Kind.STRUCT)`` ids by name.
"""

from pybpf.btf.model import (
    VOID,
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Param,
    Pointer,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from pybpf.btf.spec import BTF

__all__ = [
    "BTF", "VOID", "Array", "Composite", "Const", "Datasec", "DeclTag", "Enum", "Enum64",
    "EnumValue", "Float", "Func", "FuncProto", "Fwd", "Int", "IntEncoding", "Kind", "Linkage",
    "Member", "Param", "Pointer", "Restrict", "Struct", "Type", "Typedef", "TypeTag", "Union",
    "Var", "VarSecinfo", "Void", "Volatile",
]
