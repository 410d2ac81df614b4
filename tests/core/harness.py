"""Run the same object through libbpf and through pybpf.core and put the results side by side.

* :func:`run_libbpf` loads an object with the system's libbpf (child process, see
  libbpf_oracle.py) against a target BTF file and returns its log and final instructions.
* :func:`run_pybpf` relocates the same object with :class:`pybpf.core.Relocator`, walking the
  ``.BTF.ext`` records in libbpf's order and stopping at the first failed relocation like a load.
* :func:`core_log` keeps the CO-RE messages of a libbpf log; an explanation's ``log`` holds
  pybpf's version of the same messages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

from pybpf.btf import BTF
from pybpf.core import Explanation, Relocator, TargetBTF
from pybpf.errors import CORERelocationError

from .objfile import ObjectFile, core_relos, read_object

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libbpf_oracle.py")
LIBBPF_SO = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"
TARGETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets")

_LEVELS = {0: "warn", 1: "info", 2: "debug"}


@dataclass
class LibbpfRun:
    load_err: int | None
    log: list[tuple[str, str]]
    insns: dict[str, bytes]

    def core_log(self) -> list[tuple[str, str]]:
        return core_log(self.log)


@dataclass
class PybpfRun:
    obj: ObjectFile
    explanations: list[Explanation]
    insns: dict[str, bytes]
    error: CORERelocationError | None = None
    log: list[tuple[str, str]] = field(default_factory=list)


def run_libbpf(obj_path: str, btf_path: str | None) -> LibbpfRun:
    """libbpf's CO-RE decisions for ``obj_path`` against ``btf_path`` (None: the running kernel)."""
    args = [sys.executable, ORACLE, obj_path] + ([btf_path] if btf_path else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"libbpf oracle crashed ({proc.returncode}): {proc.stderr}"
    data = json.loads(proc.stdout)
    log = [(_LEVELS.get(level, str(level)), text.removeprefix("libbpf: ").rstrip("\n"))
           for level, text in data["log"]]
    insns = {name: bytes.fromhex(h) for name, h in data["insns"].items()}
    return LibbpfRun(data["load_err"], log, insns)


_CORE_LINE = re.compile(r"^(prog '[^']*': relo(?: #\d+:| for \[)|CO-RE relocating |unexpected kind )")
# libbpf.c's own messages around relocation that pybpf's loader (not the engine) will print.
_NOT_ENGINE = re.compile(r"^prog '[^']*': relo #\d+: (poisoning insn #\d+ that (loads map|calls kfunc)"
                         r"|failed to record relocation)")


def core_log(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The CO-RE relocation messages of a libbpf log, in order."""
    return [(lvl, text) for lvl, text in log if _CORE_LINE.match(text) and not _NOT_ENGINE.match(text)]


def _explanations_so_far(exc: CORERelocationError) -> list[Explanation]:
    return list(getattr(exc, "explanations", [exc.explanation]))  # type: ignore[attr-defined]


def load_target(path: str) -> BTF:
    """A target BTF file: raw BTF, or an ELF object whose .BTF section is used (as libbpf does)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        data = read_object(path).btf
    return BTF.parse(data)


def run_pybpf(obj_path: str, targets: list[TargetBTF] | BTF, *, modules=None, stop_on_error: bool = True
              ) -> PybpfRun:
    """Relocate every program of ``obj_path`` like libbpf's bpf_object__relocate_core, through
    :meth:`Relocator.relocate_sections` (``stop_on_error=False``: explain mode, nothing stops)."""
    obj = read_object(obj_path)
    local = BTF.parse(obj.btf)
    reloc = Relocator(local, targets, modules=modules)
    out = PybpfRun(obj, [], {})
    try:
        out.explanations = reloc.relocate_sections(core_relos(obj), obj.program_at, explain=not stop_on_error)
    except CORERelocationError as exc:
        out.error = exc
        out.explanations = _explanations_so_far(exc)
    for expl in out.explanations:
        out.log.extend(expl.log)
        if expl.error is not None and out.error is None:
            out.error = CORERelocationError(expl.error)
    out.insns = {p.name: bytes(p.insns) for p in obj.programs}
    return out
