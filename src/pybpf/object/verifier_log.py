"""Making a verifier rejection readable: libbpf's ``fixup_verifier_log()``.

Instructions the loader poisoned are calls of helpers that do not exist, so when the verifier
reaches one it rejects the program with ``invalid func unknown#<n>``. Within the last ten lines
of the log this module recognizes the three kinds libbpf recognizes and rewrites those lines
(and the error message) to say what really happened:

* ``call unknown#195896080`` (``0xbad2310``): a CO-RE relocation that could not be applied;
  the log names the relocation's local access spec
  (``failed to resolve CO-RE relocation <byte_off> [7] struct foo.bar (0:1 @ offset 4)``);
* ``call unknown#2001000NNN``: a reference to map NNN, which was not created (autocreate off);
* ``call unknown#2002000NNN``: a call of kfunc extern NNN, which was not resolved (weak).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pybpf.object.linker import POISON_CALL_KFUNC_BASE, POISON_LDIMM64_MAP_BASE

if TYPE_CHECKING:
    from pybpf.object.linker import LinkedProgram
    from pybpf.object.spec import ObjectSpec

__all__ = ["fixup_verifier_log"]

_CORE_POISON = 195896080   # 0xbad2310
_CALL_LINE = re.compile(r"^(\d+): \(\d+\) call unknown#(\d+)")


def fixup_verifier_log(log: str, linked: "LinkedProgram", spec: "ObjectSpec") -> tuple[str, str | None]:
    """``(log with the poisoned lines explained, one-line explanation or None)``."""
    lines = log.split("\n")
    trailing = len(lines) and lines[-1] == ""
    body = lines[:-1] if trailing else lines
    n = len(body)
    for k in range(n - 1, max(-1, n - 11), -1):
        line = body[k]
        if not line.startswith("invalid func unknown#") or k == 0:
            continue
        m = _CALL_LINE.match(body[k - 1])
        if not m:
            continue
        insn, imm = int(m.group(1)), int(m.group(2))
        patch: list[str] | None = None
        why: str | None = None
        if imm == _CORE_POISON:
            rec = linked.core.get(insn)
            if rec is None:
                continue
            expl = rec.explanation
            desc = expl.local_spec if expl is not None and expl.local_spec else \
                f"<{getattr(rec.relo, 'kind_name', rec.relo.kind)}> [{rec.relo.type_id}] + '{getattr(rec.relo, 'access_str', '')}'"
            patch = [f"{insn}: <invalid CO-RE relocation>", f"failed to resolve CO-RE relocation {desc}"]
            reason = expl.poison_reason if expl is not None and expl.poison_reason else "no matching candidate"
            where = f" of '{rec.prog}'" if rec.prog != linked.name else ""
            why = (f"instruction #{insn} was poisoned by CO-RE relocation #{rec.relo_idx}{where} "
                   f"({desc}): {reason}")
        elif POISON_LDIMM64_MAP_BASE <= imm < POISON_CALL_KFUNC_BASE:
            idx = imm - POISON_LDIMM64_MAP_BASE
            maps = spec.maps.list()
            if idx >= len(maps):
                continue
            name = maps[idx].name
            patch = [f"{insn}: <invalid BPF map reference>", f"BPF map '{name}' is referenced but wasn't created"]
            why = f"instruction #{insn} refers to map '{name}', which was not created (autocreate is off)"
        elif POISON_CALL_KFUNC_BASE <= imm < POISON_CALL_KFUNC_BASE + 1000000:
            idx = imm - POISON_CALL_KFUNC_BASE
            if idx >= len(spec.externs):
                continue
            name = spec.externs[idx].name
            patch = [f"{insn}: <invalid kfunc call>", f"kfunc '{name}' is referenced but wasn't resolved"]
            why = f"instruction #{insn} calls kfunc '{name}', which the kernel does not have (weak extern)"
        if patch is None:
            continue
        new = body[:k - 1] + patch + body[k + 1:]
        return "\n".join(new) + ("\n" if trailing else ""), why
    return log, None
