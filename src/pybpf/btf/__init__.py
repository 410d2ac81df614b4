"""BTF: type model, parsers (raw, ELF ``.BTF``/``.BTF.ext``, split), kernel BTF, dumpers, builder.

``BTF.parse(raw_bytes)`` gives a :class:`BTF`; ``btf[type_id]`` a type from
:mod:`pybpf.btf.model`; ``btf.find(name, Kind.STRUCT)`` ids by name.

Also here, imported on first use (so ``import pybpf.btf`` stays cheap): ``kernel_btf``,
``module_btf`` (:mod:`pybpf.btf.kernel`), ``BTFExt`` (:mod:`pybpf.btf.ext`), ``BTFBuilder``
(:mod:`pybpf.btf.builder`), ``BTFFeatures``/``sanitize`` (:mod:`pybpf.btf.sanitize`),
``LoadedBTF`` (:mod:`pybpf.btf.loaded`), ``ValueCodec``/``decode``/``encode``/``format_value``
(:mod:`pybpf.btf.values`), ``ctype_for`` (:mod:`pybpf.btf.ctypes_view`), ``dump_raw``/
``dump_json`` (:mod:`pybpf.btf.dump_raw`).
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
from pybpf.lazy import lazy_exports

_LAZY = {
    "kernel_btf": "pybpf.btf.kernel", "module_btf": "pybpf.btf.kernel", "BTFExt": "pybpf.btf.ext",
    "BTFBuilder": "pybpf.btf.builder", "BTFFeatures": "pybpf.btf.sanitize", "sanitize": "pybpf.btf.sanitize",
    "LoadedBTF": "pybpf.btf.loaded", "ValueCodec": "pybpf.btf.values", "decode": "pybpf.btf.values",
    "encode": "pybpf.btf.values", "format_value": "pybpf.btf.values", "ctype_for": "pybpf.btf.ctypes_view",
    "dump_raw": "pybpf.btf.dump_raw", "dump_json": "pybpf.btf.dump_raw", "TypeTable": "pybpf.btf.table",
}


__getattr__ = lazy_exports(globals(), _LAZY)[0]


__all__ = [
    "BTF", "VOID", "Array", "Composite", "Const", "Datasec", "DeclTag", "Enum", "Enum64",
    "EnumValue", "Float", "Func", "FuncProto", "Fwd", "Int", "IntEncoding", "Kind", "Linkage",
    "Member", "Param", "Pointer", "Restrict", "Struct", "Type", "Typedef", "TypeTag", "Union",
    "Var", "VarSecinfo", "Void", "Volatile", *_LAZY,
]
