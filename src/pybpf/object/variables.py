"""Global variables of a BPF object, typed through its BTF.

Every VAR of a ``.data*``, ``.rodata*`` or ``.bss*`` DATASEC is a variable at an offset in
its section's internal map. Before loading, :class:`VariableSpec` reads and writes the map's
initial contents (``spec.variables["targ_pid"].value = 1234``: a ``const volatile`` filter is
set this way, as with a libbpf skeleton's ``rodata``). After loading, :class:`Variable` reads
and writes the live map through its ``mmap`` (``BPF_F_MMAPABLE`` maps) or, for maps libbpf
does not make mmapable (sections of static variables only), through map lookups and updates.
``.rodata`` is frozen: its live variables are read-only.

Values are Python values as :mod:`pybpf.btf.values` decodes them (ints, bools, floats, bytes
for char arrays, lists, dicts for structs); ``raw`` gives the bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf.btf.values import decode, encode
from pybpf.errors import BPFError, InvalidArgumentError, PermissionDeniedError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.object.maps import MapSpec

__all__ = ["VariableSpec", "Variable"]


class _Typed:
    name: str
    btf: "BTF"
    type_id: int
    offset: int
    size: int

    def _decode(self, raw: bytes) -> Any:
        return decode(self.btf, self.type_id, raw)

    def _encode(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == self.size:
            return bytes(value)
        try:
            return encode(self.btf, self.type_id, value, self.size)
        except BPFError as exc:
            raise InvalidArgumentError(f"variable '{self.name}': {exc.message}") from None

    @property
    def type_name(self) -> str:
        """The variable's C type as BTF names it (``"int"``, ``"struct config"``)."""
        btf = self.btf
        t = btf[btf.skip_mods_and_typedefs(self.type_id)]
        kind = t.kind.name.lower()
        if t.name:
            return t.name if kind in ("int", "float") else f"{kind} {t.name}"
        return kind


class VariableSpec(_Typed):
    """A global variable of an unloaded object: edits change the map's initial contents."""

    def __init__(self, name: str, map_spec: "MapSpec", btf: "BTF", var_id: int, type_id: int, offset: int,
                 size: int, linkage: int) -> None:
        self.name = name
        self.map = map_spec
        self.btf = btf
        self.var_id = var_id
        self.type_id = type_id
        self.offset = offset
        self.size = size
        self.linkage = linkage

    @property
    def section(self) -> str:
        """The ELF section the variable lives in (``.rodata``, ``.bss``, ``.data.custom``...)."""
        return self.map.real_name

    @property
    def raw(self) -> bytes:
        data = self.map.data
        assert data is not None
        return bytes(data[self.offset:self.offset + self.size])

    @raw.setter
    def raw(self, value: bytes) -> None:
        value = bytes(value)
        if len(value) != self.size:
            raise InvalidArgumentError(f"variable '{self.name}' is {self.size} bytes, got {len(value)}")
        data = self.map.data
        assert data is not None
        data[self.offset:self.offset + self.size] = value

    @property
    def value(self) -> Any:
        return self._decode(self.raw)

    @value.setter
    def value(self, value: Any) -> None:
        self.raw = self._encode(value)

    def rebind(self, map_spec: "MapSpec") -> "VariableSpec":
        """The same variable on another (copied) map spec."""
        return VariableSpec(self.name, map_spec, self.btf, self.var_id, self.type_id, self.offset,
                            self.size, self.linkage)

    def __repr__(self) -> str:
        return f"<VariableSpec {self.name} ({self.type_name}) {self.section}+{self.offset}>"


class Variable(_Typed):
    """A global variable of a loaded object, read and written in the kernel's map."""

    def __init__(self, spec: VariableSpec, live: Any) -> None:
        self.name = spec.name
        self.btf = spec.btf
        self.type_id = spec.type_id
        self.offset = spec.offset
        self.size = spec.size
        self.section = spec.section
        self._live = live          # pybpf.object.live._GlobalData

    @property
    def read_only(self) -> bool:
        """``.rodata`` (and ``.kconfig``) maps are frozen: user space cannot change them."""
        return self._live.read_only

    @property
    def raw(self) -> bytes:
        return self._live.read(self.offset, self.size)

    @raw.setter
    def raw(self, value: bytes) -> None:
        value = bytes(value)
        if len(value) != self.size:
            raise InvalidArgumentError(f"variable '{self.name}' is {self.size} bytes, got {len(value)}")
        if self.read_only:
            raise PermissionDeniedError(f"variable '{self.name}' is in {self.section}, which is frozen "
                                        "(read-only) once loaded; set it on the ObjectSpec before load()")
        self._live.write(self.offset, value)

    @property
    def value(self) -> Any:
        return self._decode(self.raw)

    @value.setter
    def value(self, value: Any) -> None:
        self.raw = self._encode(value)

    def __repr__(self) -> str:
        return f"<Variable {self.name} ({self.type_name}) {self.section}+{self.offset}>"
