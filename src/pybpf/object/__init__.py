"""Object files: ``ObjectSpec`` (parsed, copyable, syscall-free) and ``Object`` (loaded, owns fds).

==================  ========================================================================
module              job
==================  ========================================================================
spec                :class:`ObjectSpec`: opening (libbpf's ``bpf_object__open``), editing, copy
elfobj              which ELF section is what (``bpf_object__elf_collect``)
objbtf              the object's BTF fix-ups (DATASEC sizes/offsets, extern rewrites)
externs             ``__kconfig`` / ``__ksym`` externs (:class:`ExternSpec`)
maps                BTF-defined maps, global data maps (:class:`MapSpec`)
programs            :class:`ProgramSpec` and its libbpf-style setters
relocs              relocation records of program code and of ``.maps``
variables           global variables (:class:`VariableSpec`, live :class:`Variable`)
struct_ops          struct_ops maps: open (:class:`StructOpsSpec`) and kernel matching at load
sections            libbpf's ``SEC()`` table
linker              CO-RE, BPF-to-BPF calls, callbacks, func/line info, data relocations
kernel              the running kernel's BTF, module BTFs, attach targets (at load)
resolve             extern values (Kconfig, kallsyms, kernel BTF) (at load)
loader              ``bpf_object__load``: BTF, maps, programs, slots, cleanup on failure
live                :class:`Object`: the loaded object, attach, pinning, close
verifier_log        explaining poisoned instructions in a verifier log
dump                what ``pybpf object dump`` prints
==================  ========================================================================

Names are imported on first use (PEP 562) so that ``import pybpf.object`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.lazy import lazy_exports

if TYPE_CHECKING:
    from pybpf.object.externs import ExternSpec
    from pybpf.object.linker import LinkedProgram
    from pybpf.object.live import Object, ObjectMaps
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.spec import MapSpecs, ObjectSpec
    from pybpf.object.struct_ops import StructOpsSpec
    from pybpf.object.variables import Variable, VariableSpec

_LAZY = {
    "ObjectSpec": "pybpf.object.spec", "MapSpecs": "pybpf.object.spec",
    "ProgramSpec": "pybpf.object.programs", "MapSpec": "pybpf.object.maps",
    "ExternSpec": "pybpf.object.externs", "VariableSpec": "pybpf.object.variables",
    "Variable": "pybpf.object.variables", "Object": "pybpf.object.live",
    "ObjectMaps": "pybpf.object.live", "LinkedProgram": "pybpf.object.linker",
    "StructOpsSpec": "pybpf.object.struct_ops",
}


__getattr__ = lazy_exports(globals(), _LAZY)[0]


__all__ = sorted(_LAZY)
