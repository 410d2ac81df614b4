"""What the CO-RE engine decided for each relocation, and the text that explains it.

Every relocation the engine handles yields an :class:`Explanation`: the local access spec in
libbpf's notation (``<byte_off> [7] struct foo.a.b (0:1:2 @ offset 8)``), every candidate it
considered and why a rejected one did not match, the chosen candidate, the old -> new value and
how the instruction was patched, or why it was poisoned, or the error that stopped the load.
:func:`render_explanations` turns a list of them into the text of ``pybpf object core``.

``log`` additionally keeps the messages libbpf would have printed for the same relocation
(same wording), which is what the differential tests compare against libbpf itself.
"""

from __future__ import annotations

from pybpf.record import Record, field_spec
from typing import TYPE_CHECKING, Iterable

from pybpf.core.kinds import kind_name

if TYPE_CHECKING:
    from pybpf.core.relo import RelocationResult

__all__ = ["CandidateOutcome", "Explanation", "render_explanation", "render_explanations"]


class CandidateOutcome(Record, frozen=False):
    """One candidate target type as the engine saw it."""

    #: Position in the candidate list considered for this relocation (libbpf's "candidate #N").
    index: int
    #: Name of the target BTF it comes from ("vmlinux" or a module name).
    target: str
    type_id: int
    #: ``[id] kind name`` of the candidate.
    type_desc: str
    matched: bool
    #: The target access spec in libbpf's notation (partial for a rejected candidate).
    spec: str
    #: Why the candidate did not match (None when it matched).
    reason: str | None = None
    #: The value this candidate gives the relocation (matched candidates only).
    new_val: int | None = None
    poison: bool = False


class Explanation(Record, frozen=False):
    """The engine's account of one relocation (see the module docstring)."""

    prog_name: str
    relo_idx: int
    insn_idx: int
    kind: int
    type_id: int
    access_str: str
    #: Local type, ``[id] kind name``.
    local_type: str = ""
    #: Local access spec in libbpf's notation; None if the relocation could not be parsed.
    local_spec: str | None = None
    #: Candidates found by the search this relocation triggered (None: reused from an earlier
    #: relocation of the same local type, or no search needed). ``(target, type_desc)`` pairs.
    searched: list[tuple[str, str]] | None = None
    candidates: list[CandidateOutcome] = field_spec(default_factory=list)
    chosen: CandidateOutcome | None = None
    result: RelocationResult | None = None
    #: Human-readable descriptions of what was done to the instruction(s).
    patch: list[str] = field_spec(default_factory=list)
    poisoned: bool = False
    poison_reason: str | None = None
    #: Why the relocation failed (the load must fail); None on success.
    error: str | None = None
    #: libbpf's messages for this relocation: ``(level, text)``, level "warn" or "debug".
    log: list[tuple[str, str]] = field_spec(default_factory=list)

    @property
    def kind_name(self) -> str:
        return kind_name(self.kind)

    @property
    def ok(self) -> bool:
        return self.error is None

    def render(self) -> str:
        return render_explanation(self)

    def to_dict(self) -> dict:
        """A JSON-ready view (for ``pybpf object core -j``)."""
        res = self.result
        return {
            "prog": self.prog_name,
            "relo": self.relo_idx,
            "insn": self.insn_idx,
            "kind": self.kind_name,
            "type_id": self.type_id,
            "local_type": self.local_type,
            "access": self.access_str,
            "local_spec": self.local_spec,
            "candidates": [
                {"index": c.index, "target": c.target, "type_id": c.type_id, "type": c.type_desc,
                 "matched": c.matched, "spec": c.spec, "reason": c.reason, "value": c.new_val,
                 "poison": c.poison}
                for c in self.candidates
            ],
            "chosen": self.chosen.index if self.chosen is not None else None,
            "orig_val": res.orig_val if res is not None else None,
            "new_val": res.new_val if res is not None and not self.poisoned else None,
            "patch": list(self.patch),
            "poisoned": self.poisoned,
            "poison_reason": self.poison_reason,
            "error": self.error,
        }


def _value(v: int | None) -> str:
    if v is None:
        return "?"
    return str(v) if v < 1 << 63 else f"{v} ({v - (1 << 64)})"


def render_explanation(e: Explanation) -> str:
    """Multi-line text explaining one relocation."""
    head = f"prog '{e.prog_name}': relo #{e.relo_idx}: insn #{e.insn_idx}: "
    if e.local_spec is not None:
        head += e.local_spec
    else:
        head += f"<{e.kind_name}> {e.local_type or f'[{e.type_id}]'} + '{e.access_str}'"
    lines = [head]
    if e.searched is not None:
        if e.searched:
            lines.append("  candidates found: " + ", ".join(f"{d} in {t}" for t, d in e.searched))
        else:
            lines.append("  candidates found: none")
    for c in e.candidates:
        if c.matched:
            verdict = "poison" if c.poison else f"value {_value(c.new_val)}"
            lines.append(f"  candidate #{c.index} {c.type_desc} in {c.target}: matches {c.spec} -> {verdict}")
        else:
            lines.append(f"  candidate #{c.index} {c.type_desc} in {c.target}: rejected: {c.reason}")
    if e.error is None and e.result is not None:
        if e.chosen is not None:
            lines.append(f"  chosen: candidate #{e.chosen.index} {e.chosen.type_desc} in {e.chosen.target}")
        elif e.kind == 6:  # TYPE_ID_LOCAL needs no target
            lines.append("  no candidate needed (local type id)")
        else:
            lines.append("  no matching candidate")
        if not e.poisoned and not e.result.poison:
            lines.append(f"  value: {_value(e.result.orig_val)} -> {_value(e.result.new_val)}")
    for p in e.patch:
        lines.append(f"  {p}")
    if e.poisoned:
        lines.append(f"  poisoned: {e.poison_reason}")
    if e.error is not None:
        lines.append(f"  error: {e.error}")
    return "\n".join(lines)


def render_explanations(explanations: Iterable[Explanation]) -> str:
    """The text of ``pybpf object core``: every relocation, blank line separated, then a summary."""
    items = list(explanations)
    body = "\n\n".join(render_explanation(e) for e in items)
    poisoned = sum(1 for e in items if e.poisoned)
    failed = sum(1 for e in items if e.error is not None)
    summary = f"{len(items)} CO-RE relocation{'s' if len(items) != 1 else ''}: " \
              f"{len(items) - poisoned - failed} applied, {poisoned} poisoned, {failed} failed"
    return f"{body}\n\n{summary}\n" if body else f"{summary}\n"
