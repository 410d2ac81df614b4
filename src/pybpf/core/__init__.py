"""CO-RE: the relocation engine (single place of truth, like libbpf's relo_core.c).

Purely computational -- it gets the object's BTF and the target BTFs as data and patches raw
instruction bytes; it never makes a system call.

* :class:`Relocator` -- what the object loader uses: ``Relocator(obj_btf, targets)``, then
  ``relocate_sections(core_relo_sections, find_program)`` for a whole object in libbpf's order
  (``explain=True`` for ``pybpf object core``), or per record ``relocate(insns, relo,
  prog_name=..., relo_idx=..., insn_idx=...)`` (patches in place, raises
  :class:`pybpf.errors.CORERelocationError`) / ``explain(...)`` (never raises).
* :class:`Explanation` / :func:`render_explanations` -- what was decided and its text.
* :class:`CORERelo` -- the relocation record; :class:`RelocationKind` -- the 13 kinds.
* :class:`TargetBTF` -- a named target BTF ("vmlinux" or a module).
* :mod:`pybpf.core.relo` -- the engine itself (spec parsing, matching, compatibility rules,
  values, instruction patching); :mod:`pybpf.core.candidates` -- candidate search.
"""

from pybpf.core.candidates import Candidate, TargetBTF, essential_name
from pybpf.core.explain import CandidateOutcome, Explanation, render_explanation, render_explanations
from pybpf.core.kinds import CORERelo, RelocationKind, kind_name
from pybpf.core.relo import POISON_IMM, AccessSpec, RelocationResult
from pybpf.core.relocator import ProgramSlice, Relocator

__all__ = [
    "Relocator",
    "ProgramSlice",
    "Explanation",
    "CandidateOutcome",
    "render_explanation",
    "render_explanations",
    "CORERelo",
    "RelocationKind",
    "kind_name",
    "TargetBTF",
    "Candidate",
    "essential_name",
    "AccessSpec",
    "RelocationResult",
    "POISON_IMM",
]
