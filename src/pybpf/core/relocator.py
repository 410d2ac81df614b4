"""The CO-RE entry point for the object loader: one :class:`Relocator` per object being loaded.

A relocator holds the object's BTF, the target BTFs and, like libbpf during one
``bpf_object__load``, a cache of candidate lists per local type that relocations prune as they
go. Relocations must therefore be fed in libbpf's order: ``.BTF.ext`` ``core_relo`` sections
in file order, records in order within each, skipping programs that are not loaded.

    reloc = Relocator(obj_btf, [TargetBTF("vmlinux", vmlinux_btf)])
    for relo_idx, relo in enumerate(section_records):
        reloc.relocate(prog_insns, relo, prog_name=name, relo_idx=relo_idx,
                       insn_idx=relo.insn_off // 8 - prog_first_insn)

:meth:`Relocator.relocate` patches in place and raises :class:`pybpf.errors.CORERelocationError`
when the relocation cannot be applied; :meth:`Relocator.explain` never raises for relocation
problems and returns the :class:`~pybpf.core.explain.Explanation` (what ``pybpf object core``
prints, through :func:`~pybpf.core.explain.render_explanations`).
"""

from __future__ import annotations

import errno as _errno
from typing import Any, Callable, Iterable, Protocol, Sequence, Union

from pybpf.btf import BTF
from pybpf.core.candidates import (
    Candidate, CandidateFinder, TargetBTF, describe_type, kind_str,
)
from pybpf.core.explain import Explanation
from pybpf.core.kinds import RelocationKind, kind_name
from pybpf.core.relo import CoreFailure, _Log, calc_relo_insn, format_spec, parse_spec, patch_insn
from pybpf.errors import BPFError, BTFError, CORERelocationError

__all__ = ["Relocator", "ProgramSlice"]

Target = Union[BTF, TargetBTF]


class ProgramSlice(Protocol):
    """What :meth:`Relocator.relocate_sections` needs to know about a program."""

    name: str
    #: The program's instructions (raw, object byte order), patched in place.
    insns: bytearray
    #: Index of the program's first instruction within its ELF section.
    first_insn: int


class Relocator:
    """Applies CO-RE relocations of one object (``local_btf``, its ``.BTF``) to target BTFs.

    ``targets``: the kernel's BTF first (a :class:`~pybpf.btf.BTF` or a
    :class:`~pybpf.core.candidates.TargetBTF`; a bare BTF is called "vmlinux"), then module
    BTFs (split BTF on top of it). ``modules`` may instead (or in addition) be a callable
    returning module targets, called only the first time a type is not found in vmlinux --
    module BTFs are searched only for types vmlinux lacks, like libbpf. With a custom target
    BTF (``kernel_btf=``), pass just that one target: libbpf does not search modules then.

    Purely computational: no system calls.
    """

    def __init__(self, local_btf: BTF, targets: Target | Sequence[Target],
                 modules: Sequence[Target] | Callable[[], Iterable[Target]] | None = None) -> None:
        if isinstance(targets, (BTF, TargetBTF)):
            targets = [targets]
        if not targets:
            raise CORERelocationError("CO-RE relocation needs at least one target BTF")
        extra = list(targets[1:])
        if modules is None:
            mods: Sequence[Target] | Callable[[], Iterable[Target]] = extra
        elif callable(modules):
            loader = modules
            mods = lambda: [*extra, *loader()]  # noqa: E731
        else:
            mods = [*extra, *modules]
        self.local_btf = local_btf
        self._finder = CandidateFinder(targets[0], mods)
        self._cands: dict[int, list[Candidate]] = {}

    # ------------------------------------------------------------------ public API
    def relocate(self, insns: bytearray | memoryview, relo: Any, *, prog_name: str = "",
                 relo_idx: int = 0, insn_idx: int | None = None) -> Explanation:
        """Resolve ``relo`` and patch instruction ``insn_idx`` of ``insns`` in place.

        ``insns`` are the raw instructions of the program the relocation belongs to (in the
        object's byte order); ``insn_idx`` the instruction's index in them (default
        ``relo.insn_off // 8``, right when the program starts at its section's start).
        ``prog_name`` and ``relo_idx`` (index of the record within its ``.BTF.ext`` section)
        name the relocation in messages, as libbpf does.

        Returns the explanation; raises :class:`pybpf.errors.CORERelocationError` (with the
        explanation as ``.explanation``) when the relocation cannot be applied. A poisoned
        instruction is not an error here: the verifier rejects it only if it is reachable.
        """
        expl = self._run(insns, relo, prog_name, relo_idx, insn_idx)
        if expl.error is not None:
            err = CORERelocationError(expl.error)
            err.explanation = expl  # type: ignore[attr-defined]
            raise err
        return expl

    def explain(self, relo: Any, *, prog_name: str = "", relo_idx: int = 0, insn_idx: int | None = None,
                insns: bytes | bytearray | memoryview | None = None) -> Explanation:
        """Resolve ``relo`` and return what was decided, never raising for relocation problems
        (they are in ``.error``). With ``insns``, the patch is tried on a copy, so validation
        and poisoning show too; the caller's bytes are left alone."""
        buf = bytearray(insns) if insns is not None else None
        return self._run(buf, relo, prog_name, relo_idx, insn_idx)

    def relocate_sections(self, sections: Iterable[tuple[str, Sequence[Any]]],
                          find_program: Callable[[str, int], ProgramSlice | None], *,
                          explain: bool = False) -> list[Explanation]:
        """Apply every ``core_relo`` record of an object, in libbpf's order.

        ``sections``: the ``.BTF.ext`` core_relo info, ``[(section name, [records])]`` in file
        order. ``find_program(section name, instruction index in the section)`` returns the
        program holding that instruction (anything with ``name``, ``insns`` -- a mutable
        buffer patched in place -- and ``first_insn``, its first instruction's index in the
        section), or None to skip the record (no such program, e.g. an eliminated weak
        subprogram, or a program that is not loaded), as libbpf does.

        Stops at the first failure with :class:`pybpf.errors.CORERelocationError` (its
        ``explanations`` attribute lists those made so far, the failed one last); with
        ``explain=True`` leaves the programs alone (each is patched on a copy, so every
        relocation sees its predecessors' work as in a load) and never raises. Returns the
        explanations, in order.
        """
        out: list[Explanation] = []
        copies: dict[int, bytearray] = {}  # explain mode: each program patched on one copy
        for sec_name, records in sections:
            for relo_idx, relo in enumerate(records):
                prog = find_program(sec_name, relo.insn_off // 8)
                if prog is None and relo.insn_off % 8 == 0:
                    continue
                name = prog.name if prog is not None else ""
                insn_idx = relo.insn_off // 8 - (prog.first_insn if prog is not None else 0)
                insns = prog.insns if prog is not None else bytearray()
                if explain:
                    copy = copies.get(id(insns))
                    if copy is None:
                        copy = copies[id(insns)] = bytearray(insns)
                    out.append(self._run(copy, relo, name, relo_idx, insn_idx))
                    continue
                try:
                    out.append(self.relocate(insns, relo, prog_name=name, relo_idx=relo_idx,
                                             insn_idx=insn_idx))
                except CORERelocationError as exc:
                    out.append(exc.explanation)  # type: ignore[attr-defined]
                    exc.explanations = out  # type: ignore[attr-defined]
                    raise
        return out

    # ------------------------------------------------------------------ internals
    def _candidates(self, local_id: int, expl: Explanation, log: _Log) -> list[Candidate]:
        cands = self._cands.get(local_id)
        if cands is None:
            cands = self._finder.find(self.local_btf, local_id)
            self._cands[local_id] = cands
            local_kind = kind_str(self.local_btf.kind_of(local_id))
            local_name = self.local_btf.name_of(local_id)
            expl.searched = []
            for c in cands:
                desc = describe_type(c.btf, c.type_id)
                log.debug(f"CO-RE relocating [{local_id}] {local_kind} {local_name}: found target "
                          f"candidate {desc} in [{c.target.name}]")
                expl.searched.append((c.target.name, desc))
        return cands

    def _run(self, insns: bytearray | memoryview | None, relo: Any, prog_name: str, relo_idx: int,
             insn_idx: int | None) -> Explanation:
        btf = self.local_btf
        kind = relo.kind
        if insn_idx is None:
            insn_idx = relo.insn_off // 8
        access_str = self._access_string(relo)
        expl = Explanation(prog_name, relo_idx, insn_idx, kind, relo.type_id,
                           access_str if access_str is not None else "<?>")
        log = _Log(expl.log)
        where = f"prog '{prog_name}': relo #{relo_idx} at insn #{insn_idx}"
        stage = "check"
        try:
            # Checks libbpf makes before resolving, without a message of their own.
            if relo.insn_off % 8:
                raise CoreFailure(_errno.EINVAL, f"instruction offset {relo.insn_off} is not a "
                                                 f"multiple of 8: not an instruction")
            if insns is not None and not 0 <= insn_idx < len(insns) // 8:
                raise CoreFailure(_errno.EINVAL, f"instruction #{insn_idx} is outside the program "
                                                 f"({len(insns) // 8} instructions)")
            stage = "resolve"
            if not 0 <= relo.type_id < len(btf):
                raise CoreFailure(_errno.EINVAL, f"local type id {relo.type_id} is out of range "
                                                 f"(the object's BTF has ids 1..{len(btf) - 1})")
            expl.local_type = describe_type(btf, relo.type_id)
            where = f"{where} (<{kind_name(kind)}> {expl.local_type} + '{expl.access_str}')"
            local_kind = kind_str(btf.kind_of(relo.type_id))
            local_name = btf.name_of(relo.type_id)
            cands: list[Candidate] = []
            if kind != RelocationKind.TYPE_ID_LOCAL:
                if not local_name:
                    log.warn(f"prog '{prog_name}': relo #{relo_idx}: target candidate search failed "
                             f"for [{relo.type_id}] {local_kind} {local_name}: -{_errno.EINVAL}")
                    raise CoreFailure(_errno.EINVAL, "CO-RE relocations against anonymous types are "
                                                     "not supported (no name to search targets by)")
                cands = self._candidates(relo.type_id, expl, log)
            try:
                if access_str is None:
                    raise CoreFailure(_errno.EINVAL, f"access string offset {relo.access_str_off} is "
                                                     f"outside the object's BTF string section")
                local_spec = parse_spec(btf, relo, access_str, prog_name, log)
            except CoreFailure as exc:
                log.warn(f"prog '{prog_name}': relo #{relo_idx}: parsing [{relo.type_id}] {local_kind} "
                         f"{local_name or '<anon>'} + {expl.access_str} failed: {-exc.err}")
                raise CoreFailure(_errno.EINVAL, f"cannot parse access string: {exc.message}") from None
            expl.local_spec = format_spec(local_spec)
            log.debug(f"prog '{prog_name}': relo #{relo_idx}: {expl.local_spec}")
            res = calc_relo_insn(prog_name, relo, relo_idx, btf, local_spec, cands, expl)
            expl.result = res
            if insns is not None:
                stage = "patch"
                patch_insn(prog_name, insns, insn_idx, relo, relo_idx, res, btf.endian, expl)
            elif res.poison:
                expl.poisoned = True
        except CoreFailure as exc:
            expl.error = f"{where}: {exc.message}"
            self._log_failure(log, stage, prog_name, relo_idx, insn_idx, -exc.err)
        except BTFError as exc:
            expl.error = f"{where}: bad BTF: {exc.message}"
            self._log_failure(log, stage, prog_name, relo_idx, insn_idx, -_errno.EINVAL)
        except (IndexError, KeyError, ValueError, RecursionError) as exc:  # malformed input
            expl.error = f"{where}: malformed relocation or BTF ({type(exc).__name__}: {exc})"
            self._log_failure(log, stage, prog_name, relo_idx, insn_idx, -_errno.EINVAL)
        return expl

    @staticmethod
    def _log_failure(log: _Log, stage: str, prog_name: str, relo_idx: int, insn_idx: int, err: int) -> None:
        # The messages libbpf's bpf_object__relocate_core adds when a relocation fails.
        if stage == "resolve":
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: failed to relocate: {err}")
        elif stage == "patch":
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: failed to patch insn #{insn_idx}: {err}")

    def _access_string(self, relo: Any) -> str | None:
        text = getattr(relo, "access_str", None)
        if isinstance(text, str):
            return text
        try:
            return self.local_btf.string(relo.access_str_off)
        except BPFError:
            return None
