"""CO-RE relocation kinds and the relocation record clang emits (``struct bpf_core_relo``)."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "RelocationKind",
    "CORERelo",
    "kind_name",
    "FIELD_KINDS",
    "TYPE_KINDS",
    "ENUMVAL_KINDS",
]


class RelocationKind(IntEnum):
    """``enum bpf_core_relo_kind`` (include/uapi/linux/bpf.h)."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


class CORERelo(NamedTuple):
    """One ``core_relo`` record of ``.BTF.ext`` (``struct bpf_core_relo``).

    ``insn_off`` is the byte offset of the instruction in its ELF section, ``type_id`` the local
    root type, ``access_str_off`` the offset of the access string (``"0:1:2"``) in the object's
    BTF string section, ``kind`` a :class:`RelocationKind` value (kept as a plain int so that an
    unknown kind read from a file survives until it is reported).

    The engine only reads these four attributes, so any object that has them (for example the
    record type of pybpf's ``.BTF.ext`` parser) can be passed instead.
    """

    insn_off: int
    type_id: int
    access_str_off: int
    kind: int


#: libbpf's short names (core_relo_kind_str), used in every message and explanation.
_KIND_NAMES = {
    RelocationKind.FIELD_BYTE_OFFSET: "byte_off",
    RelocationKind.FIELD_BYTE_SIZE: "byte_sz",
    RelocationKind.FIELD_EXISTS: "field_exists",
    RelocationKind.FIELD_SIGNED: "signed",
    RelocationKind.FIELD_LSHIFT_U64: "lshift_u64",
    RelocationKind.FIELD_RSHIFT_U64: "rshift_u64",
    RelocationKind.TYPE_ID_LOCAL: "local_type_id",
    RelocationKind.TYPE_ID_TARGET: "target_type_id",
    RelocationKind.TYPE_EXISTS: "type_exists",
    RelocationKind.TYPE_MATCHES: "type_matches",
    RelocationKind.TYPE_SIZE: "type_size",
    RelocationKind.ENUMVAL_EXISTS: "enumval_exists",
    RelocationKind.ENUMVAL_VALUE: "enumval_value",
}

FIELD_KINDS = frozenset({
    RelocationKind.FIELD_BYTE_OFFSET, RelocationKind.FIELD_BYTE_SIZE, RelocationKind.FIELD_EXISTS,
    RelocationKind.FIELD_SIGNED, RelocationKind.FIELD_LSHIFT_U64, RelocationKind.FIELD_RSHIFT_U64,
})
TYPE_KINDS = frozenset({
    RelocationKind.TYPE_ID_LOCAL, RelocationKind.TYPE_ID_TARGET, RelocationKind.TYPE_EXISTS,
    RelocationKind.TYPE_MATCHES, RelocationKind.TYPE_SIZE,
})
ENUMVAL_KINDS = frozenset({RelocationKind.ENUMVAL_EXISTS, RelocationKind.ENUMVAL_VALUE})


def kind_name(kind: int) -> str:
    """libbpf's name for a relocation kind (``"byte_off"``, …), ``"unknown"`` for anything else."""
    return _KIND_NAMES.get(kind, "unknown")  # type: ignore[call-overload]
