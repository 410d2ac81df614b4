"""Programs of a BPF object before loading: :class:`ProgramSpec`.

One spec per ``STT_FUNC`` symbol of an executable section. Entry programs live in named
sections (``SEC("xdp")``) and are typed by libbpf's ``SEC()`` table
(:mod:`pybpf.object.sections`); functions in ``.text`` are subprograms, appended to every
entry program that calls them when the object is loaded.

Setters mirror libbpf's ``bpf_program__set_*``: ``autoload``, ``autoattach``, ``type`` (a new
type drops what the section name implied: sleepable/frags flags and the BTF attach target),
``expected_attach_type``, ``flags`` (extra ``BPF_PROG_LOAD`` flags), ``ifindex`` and
:meth:`ProgramSpec.set_attach_target`.
"""

from __future__ import annotations

from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING, Any

from pybpf.errors import InvalidArgumentError, ObjectError
from pybpf.object.sections import ProgramSection, parse_section

if TYPE_CHECKING:
    from pybpf.object.relocs import Reloc

__all__ = ["ProgramSpec"]


class ProgramSpec(Record, frozen=False):
    """A program (or ``.text`` subprogram) of the object. See the module docstring.

    ``section`` is the section name without the ``?`` prefix (``section_name`` keeps it);
    ``insns`` the program's own instructions as in the file (subprograms are appended at load);
    ``insn_offset`` the index of its first instruction in the section; ``relocations`` its
    :class:`~pybpf.object.relocs.Reloc` records. ``definition`` is the parsed section name
    (None for unknown names: set ``type`` before loading such a program).
    """

    name: str
    section: str
    section_index: int
    insn_offset: int
    insns: bytes
    is_subprog: bool = False
    sym_global: bool = True
    mark_btf_static: bool = False
    autoload: bool = True
    autoattach: bool = True
    definition: ProgramSection | None = None
    type: Any = None
    expected_attach_type: Any = None
    flags: int = 0
    ifindex: int = 0
    log_level: int = 0
    attach_target: str | None = None
    attach_program: Any = None
    relocations: "list[Reloc]" = field_spec(default_factory=list)

    @classmethod
    def from_raw(cls, raw: Any, is_subprog: bool) -> "ProgramSpec":
        """A spec for an :class:`~pybpf.object.elfobj.RawProgram`, typed by its section name."""
        sec = raw.section
        autoload = not sec.startswith("?")
        spec = cls(raw.name, sec if autoload else sec[1:], raw.section_index, raw.insn_offset, raw.insns,
                   is_subprog=is_subprog, sym_global=raw.sym_global, mark_btf_static=raw.mark_btf_static,
                   autoload=autoload)
        if not is_subprog:
            try:
                d = parse_section(sec, program=raw.name)
            except ObjectError:
                d = None   # libbpf: unknown name, the type must be set before loading
            if d is not None:
                object.__setattr__(spec, "definition", d)
                object.__setattr__(spec, "type", d.prog_type)
                object.__setattr__(spec, "expected_attach_type", d.expected_attach_type)
        return spec

    def __setattr__(self, key: str, value: Any) -> None:
        if "relocations" in self.__dict__:   # after __init__: validate like libbpf's setters
            if key == "type":
                value = _check_type(value)
                if not _same_type(self.type, value):
                    object.__setattr__(self, "definition", None)
            elif key in ("flags", "ifindex", "log_level"):
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
                    raise InvalidArgumentError(f"program '{self.name}': {key} must be a 32-bit number")
            elif key in ("autoload", "autoattach"):
                value = bool(value)
            elif key == "expected_attach_type" and value is not None:
                value = _check_attach_type(value)
        object.__setattr__(self, key, value)

    # ------------------------------------------------------------------ views
    @property
    def section_name(self) -> str:
        """The section name as written (with ``?`` for programs not loaded by default)."""
        return self.definition.name if self.definition is not None else self.section

    @property
    def insn_count(self) -> int:
        return len(self.insns) // 8

    @property
    def type_name(self) -> str | None:
        """bpftool's name of the program type (``"xdp"``), None if unknown."""
        if self.type is None:
            return None
        from pybpf.sys.names import parse_prog_type, prog_type_name

        return prog_type_name(parse_prog_type(self.type))

    @property
    def sleepable(self) -> bool:
        return self.definition is not None and self.definition.sleepable

    def prog_flags(self) -> int:
        """``BPF_PROG_LOAD`` flags: yours plus what the section implies (libbpf's prepare step)."""
        flags = self.flags
        d = self.definition
        if d is not None:
            flags |= d.prog_flags
        return flags

    def btf_attach_name(self) -> str | None:
        """The BTF attach target of tp_btf/fentry/fexit/fmod_ret/lsm/iter/freplace programs."""
        if self.attach_target is not None:
            return self.attach_target
        d = self.definition
        if d is None or not d.definition.attach_btf:
            return None
        slash = self.section.find("/")
        return None if slash < 0 else self.section[slash + 1:]

    def set_attach_target(self, target: str | None = None, program: Any = None) -> None:
        """libbpf's ``bpf_program__set_attach_target()``: the kernel function (``target``) or,
        with ``program`` (a loaded :class:`pybpf.Program` or descriptor), the function of that
        BPF program (freplace, fentry/fexit on BPF programs). Resolved when loading."""
        if target is None and program is None:
            raise InvalidArgumentError(f"program '{self.name}': give an attach target name and/or program")
        object.__setattr__(self, "attach_target", target)
        object.__setattr__(self, "attach_program", program)

    def instructions(self) -> list[Any]:
        """The program's own instructions, decoded (:mod:`pybpf.asm`)."""
        from pybpf.asm import decode

        return decode(self.insns, "little", strict=False)  # type: ignore[arg-type]

    def copy(self) -> "ProgramSpec":
        new = self.__copy__()
        new.__dict__["relocations"] = list(self.relocations)
        return new

    def __copy__(self) -> "ProgramSpec":
        # every attribute, not only the fields (Record's copy rebuilds from the fields)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    __reduce__ = object.__reduce__  # copy.deepcopy and pickle: the whole __dict__, as before

    def __repr__(self) -> str:
        kind = "subprogram" if self.is_subprog else (self.type or "untyped")
        return f"<ProgramSpec {self.name} sec={self.section_name!r} {kind} insns={self.insn_count}>"


def _check_type(value: Any) -> Any:
    if value is None:
        return None
    from pybpf.sys.names import parse_prog_type

    parse_prog_type(value)   # raises InvalidArgumentError for unknown names
    return value


def _check_attach_type(value: Any) -> Any:
    from pybpf.sys.names import parse_attach_type

    parse_attach_type(value)
    return value


def _same_type(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    from pybpf.sys.names import parse_prog_type

    return parse_prog_type(a) == parse_prog_type(b)
