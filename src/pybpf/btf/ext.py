"""``.BTF.ext``: per-section function info, line info and CO-RE relocation records.

Layout (include/uapi/linux/btf.h has the BTF side; libbpf's btf.h documents this one): a header
``{magic 0xeb9f, version 1, flags, hdr_len, func_info_off/len, line_info_off/len
[, core_relo_off/len]}`` whose offsets count from the end of the header; each info block starts
with a 32-bit record size and continues with ``{sec_name_off, num_info, records...}`` groups,
one per ELF code section. Record sizes come from the file (the format allows records to grow):
the fields we know are read from the start of each record and the rest is skipped.

Record ``insn_off`` values are **byte** offsets into the ELF section, as in the file; the
``insn`` property gives the instruction index (``insn_off // 8``).

String offsets (section names, file names, source lines, CO-RE access strings) refer to the
string section of the object's ``.BTF``; pass that :class:`~pybpf.btf.BTF` to resolve them.

Both byte orders are accepted (the magic tells). Malformed input raises :class:`BTFError`
naming the byte offset.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = [
    "BTFExt",
    "CoreRelo",
    "CoreReloKind",
    "FuncInfo",
    "LineInfo",
    "BTF_EXT_MAGIC",
    "FUNC_INFO_MIN_SIZE",
    "LINE_INFO_MIN_SIZE",
    "CORE_RELO_MIN_SIZE",
]

BTF_EXT_MAGIC = 0xEB9F
FUNC_INFO_MIN_SIZE = 8
LINE_INFO_MIN_SIZE = 16
CORE_RELO_MIN_SIZE = 16
_HDR_MIN = 24  # up to line_info_len
_HDR_CORE = 32  # up to core_relo_len


class CoreReloKind(IntEnum):
    """enum bpf_core_relo_kind (include/uapi/linux/bpf.h)."""

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


class FuncInfo(NamedTuple):
    """``struct bpf_func_info``: the FUNC type ``type_id`` of the function starting at ``insn_off``."""

    insn_off: int
    type_id: int

    @property
    def insn(self) -> int:
        """Instruction index (``insn_off // 8``)."""
        return self.insn_off // 8


class LineInfo(NamedTuple):
    """``struct bpf_line_info``: source position of the instruction at ``insn_off``.

    ``file_name``/``line_text`` are the resolved strings (empty when parsed without a BTF).
    """

    insn_off: int
    file_name_off: int
    line_off: int
    line: int
    col: int
    file_name: str = ""
    line_text: str = ""

    @property
    def insn(self) -> int:
        """Instruction index (``insn_off // 8``)."""
        return self.insn_off // 8


class CoreRelo(NamedTuple):
    """``struct bpf_core_relo``: relocate the instruction at ``insn_off`` (see :class:`CoreReloKind`).

    ``access_str`` is the resolved access specifier (``"0:1:2"``), empty without a BTF.
    """

    insn_off: int
    type_id: int
    access_str_off: int
    kind: int
    access_str: str = ""

    @property
    def insn(self) -> int:
        """Instruction index (``insn_off // 8``)."""
        return self.insn_off // 8

    @property
    def kind_name(self) -> str:
        """``"FIELD_BYTE_OFFSET"`` …, or ``"UNKNOWN(n)"``."""
        try:
            return CoreReloKind(self.kind).name
        except ValueError:
            return f"UNKNOWN({self.kind})"


class BTFExt:
    """Parsed ``.BTF.ext``: records grouped by ELF section name, in file order.

    ``func_info``, ``line_info`` and ``core_relos`` map a section name (``"tc"``,
    ``"kprobe/do_sys_open"``, ``".text"``) to its records; ``*_rec_size`` keep the record sizes
    the file declared (0 when the block is absent).
    """

    def __init__(self) -> None:
        self.endian = "<"
        self.version = 1
        self.flags = 0
        self.hdr_len = _HDR_MIN
        self.func_info: dict[str, list[FuncInfo]] = {}
        self.line_info: dict[str, list[LineInfo]] = {}
        self.core_relos: dict[str, list[CoreRelo]] = {}
        self.func_info_rec_size = 0
        self.line_info_rec_size = 0
        self.core_relo_rec_size = 0

    @classmethod
    def parse(cls, data: Any, btf: BTF | None = None) -> BTFExt:
        """Parse ``.BTF.ext`` bytes; ``btf`` (the object's ``.BTF``) resolves string offsets.

        Without ``btf``, section names are given as ``"#<offset>"`` and strings stay empty.
        """
        data = bytes(data)
        self = cls()
        if len(data) < 8:
            raise BTFError(f".BTF.ext header truncated: {len(data)} bytes")
        magic = struct.unpack_from("<H", data, 0)[0]
        if magic == BTF_EXT_MAGIC:
            e = "<"
        elif magic == 0x9FEB:
            e = ">"
        else:
            raise BTFError(f"bad .BTF.ext magic 0x{magic:04x} at offset 0 (want 0xeb9f)")
        if btf is not None and btf.endian != e:
            raise BTFError(".BTF.ext byte order differs from its .BTF")
        self.endian = e
        _, self.version, self.flags, hdr_len = struct.unpack_from(e + "HBBI", data, 0)
        if self.version != 1:
            raise BTFError(f"unsupported .BTF.ext version {self.version} at offset 2")
        if self.flags:
            raise BTFError(f"unsupported .BTF.ext flags 0x{self.flags:x} at offset 3")
        if hdr_len < _HDR_MIN:
            raise BTFError(f".BTF.ext hdr_len {hdr_len} is shorter than the {_HDR_MIN}-byte minimum")
        if hdr_len > len(data):
            raise BTFError(f".BTF.ext hdr_len {hdr_len} runs past the end of the data ({len(data)} bytes)")
        self.hdr_len = hdr_len
        fi_off, fi_len, li_off, li_len = struct.unpack_from(e + "IIII", data, 8)
        string = _resolver(btf)
        self.func_info_rec_size = self._block(
            data, "func_info", fi_off, fi_len, FUNC_INFO_MIN_SIZE, self.func_info,
            lambda rec, p: FuncInfo(*struct.unpack_from(e + "II", rec, p)), string,
        )
        self.line_info_rec_size = self._block(
            data, "line_info", li_off, li_len, LINE_INFO_MIN_SIZE, self.line_info,
            lambda rec, p: _line_info(struct.unpack_from(e + "IIII", rec, p), string, p), string,
        )
        if hdr_len >= _HDR_CORE:
            cr_off, cr_len = struct.unpack_from(e + "II", data, 24)
            self.core_relo_rec_size = self._block(
                data, "core_relo", cr_off, cr_len, CORE_RELO_MIN_SIZE, self.core_relos,
                lambda rec, p: _core_relo(struct.unpack_from(e + "IIII", rec, p), string, p), string,
            )
        return self

    @classmethod
    def from_elf(cls, source: Any, btf: BTF | None = None) -> BTFExt | None:
        """The ``.BTF.ext`` of an ELF object (a path or its bytes), or None if it has none.

        Strings resolve against ``btf``, by default the object's own ``.BTF``.
        """
        from pybpf.btf.elf import btf_ext_from_elf

        return btf_ext_from_elf(source, btf)

    def _block(self, data: bytes, what: str, off: int, length: int, min_size: int,
               out: dict[str, list[Any]], make: Any, string: Any) -> int:
        if length == 0:
            return 0
        start = self.hdr_len + off
        if off % 4:
            raise BTFError(f".BTF.ext {what} offset {off} is not 4-byte aligned")
        end = start + length
        if end > len(data):
            raise BTFError(
                f".BTF.ext {what} block [{start}, {end}) runs past the end of the data ({len(data)} bytes)"
            )
        if length < 4:
            raise BTFError(f".BTF.ext {what} block at offset {start} is too short for its record size")
        e = self.endian
        rec_size = struct.unpack_from(e + "I", data, start)[0]
        if rec_size < min_size or rec_size % 4:
            raise BTFError(
                f".BTF.ext {what} record size {rec_size} at offset {start} is invalid "
                f"(at least {min_size}, multiple of 4)"
            )
        p = start + 4
        while p < end:
            if end - p < 8:
                raise BTFError(f".BTF.ext {what} section header at offset {p} truncated")
            name_off, count = struct.unpack_from(e + "II", data, p)
            if count == 0:
                raise BTFError(f".BTF.ext {what} section at offset {p} has no records")
            if count * rec_size > end - p - 8:
                raise BTFError(
                    f".BTF.ext {what} section at offset {p}: {count} records of {rec_size} bytes run "
                    f"past the end of the block ({end})"
                )
            name = string(name_off, p) if string is not None else f"#{name_off}"
            recs = out.setdefault(name, [])
            q = p + 8
            for _ in range(count):
                recs.append(make(data, q))
                q += rec_size
            p = q
        return rec_size

    # ------------------------------------------------------------------ helpers
    def sections(self) -> list[str]:
        """Every section name that has any record, in first-seen order."""
        seen: dict[str, None] = {}
        for table in (self.func_info, self.line_info, self.core_relos):
            for name in table:
                seen.setdefault(name, None)
        return list(seen)

    def __repr__(self) -> str:
        n = lambda d: sum(len(v) for v in d.values())  # noqa: E731
        return (f"<BTFExt func_info={n(self.func_info)} line_info={n(self.line_info)} "
                f"core_relos={n(self.core_relos)} sections={self.sections()}>")


def _resolver(btf: BTF | None) -> Any:
    if btf is None:
        return None

    def string(off: int, where: int) -> str:
        try:
            return btf.string(off)
        except BTFError as exc:
            raise BTFError(f".BTF.ext record at offset {where}: {exc.message}") from None

    return string


def _line_info(fields: tuple[int, int, int, int], string: Any, where: int) -> LineInfo:
    insn_off, file_off, line_off, line_col = fields
    if string is None:
        return LineInfo(insn_off, file_off, line_off, line_col >> 10, line_col & 0x3FF)
    return LineInfo(insn_off, file_off, line_off, line_col >> 10, line_col & 0x3FF,
                    string(file_off, where), string(line_off, where))


def _core_relo(fields: tuple[int, int, int, int], string: Any, where: int) -> CoreRelo:
    insn_off, type_id, access_off, kind = fields
    if string is None:
        return CoreRelo(insn_off, type_id, access_off, kind)
    return CoreRelo(insn_off, type_id, access_off, kind, string(access_off, where))
