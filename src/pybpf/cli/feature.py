"""``pybpf feature probe [kernel] [full]``: bpftool's feature report, text or JSON.

Sections and wording follow bpftool: system configuration (BPF sysctls and kernel options),
system call availability, program types, map types, helpers per program type, miscellaneous
(large programs, bounded loops, ISA extensions). pybpf knows the types and helpers of the
kernel it was generated from, so it may list more than an older bpftool.
"""

from __future__ import annotations

from typing import Any

from pybpf import features
from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.sys import uapi
from pybpf.sys.names import MAP_TYPE_NAMES, PROG_TYPE_NAMES
from pybpf.sys.probe import probe_bpf_syscall

__all__ = ["run", "feature_report"]

USAGE = """Usage: pybpf feature probe [kernel] [full]
       pybpf feature help
"""

#: (sysctl, {value: text}, unknown text, unreadable text) in bpftool's words.
_SYSCTL_TEXT: list[tuple[str, dict[int, str], str, str]] = [
    ("unprivileged_bpf_disabled", {
        0: "bpf() syscall for unprivileged users is enabled",
        1: "bpf() syscall restricted to privileged users (without recovery)",
        2: "bpf() syscall restricted to privileged users (admin can change)",
    }, "bpf() syscall restriction has unknown value {}",
        "Unable to retrieve required privileges for bpf() syscall"),
    ("bpf_jit_enable", {
        0: "JIT compiler is disabled",
        1: "JIT compiler is enabled",
        2: "JIT compiler is enabled with debugging traces in kernel logs",
    }, "JIT-compiler status has unknown value {}", "Unable to retrieve JIT-compiler status"),
    ("bpf_jit_harden", {
        0: "JIT compiler hardening is disabled",
        1: "JIT compiler hardening is enabled for unprivileged users",
        2: "JIT compiler hardening is enabled for all users",
    }, "JIT hardening status has unknown value {}", "Unable to retrieve JIT hardening status"),
    ("bpf_jit_kallsyms", {
        0: "JIT compiler kallsyms exports are disabled",
        1: "JIT compiler kallsyms exports are enabled for root",
        2: "JIT compiler kallsyms exports are enabled for all users",
    }, "JIT kallsyms exports status has unknown value {}",
        "Unable to retrieve JIT kallsyms export status"),
]

_MISC_TEXT = {
    "large_insn_limit": "Large program size limit",
    "bounded_loops": "Bounded loop support",
    "v2_isa_extension": "ISA extension v2",
    "v3_isa_extension": "ISA extension v3",
    "v4_isa_extension": "ISA extension v4",
}


def _prog_types() -> list[int]:
    return [int(t) for t in uapi.bpf_prog_type if t]


def _map_types() -> list[int]:
    return sorted(k for k in MAP_TYPE_NAMES if k)


def feature_report(full: bool = False) -> dict[str, Any]:
    """Everything ``feature probe kernel`` reports, in bpftool's JSON shape."""
    report: dict[str, Any] = {}
    sysconf = features.system_config()
    report["system_config"] = {k: (v if v is not None or k.startswith("CONFIG_") else -1)
                               for k, v in sysconf.items()}
    have_syscall = probe_bpf_syscall() is None
    report["syscall_config"] = {"have_bpf_syscall": have_syscall}
    if not have_syscall:
        return report
    report["program_types"] = {f"have_{PROG_TYPE_NAMES[t]}_prog_type": features.probe_prog_type(t)
                               for t in _prog_types()}
    report["map_types"] = {f"have_{MAP_TYPE_NAMES[t]}_map_type": features.probe_map_type(t)
                           for t in _map_types()}
    helpers: dict[str, Any] = {}
    for t in _prog_types():
        helpers[f"{PROG_TYPE_NAMES[t]}_available_helpers"] = (
            features.supported_helpers(t, full=full) if features.probe_prog_type(t) else [])
    report["helpers"] = helpers
    report["misc"] = {f"have_{name}": features.probe_misc(name) for name in features.MISC_PROBES}
    return report


def _text(report: dict[str, Any], full: bool) -> str:
    out = ["Scanning system configuration..."]
    sysconf = report["system_config"]
    for name, texts, unknown, unreadable in _SYSCTL_TEXT:
        value = sysconf.get(name)
        if value is None or value == -1:
            out.append(unreadable)
        else:
            out.append(texts.get(value, unknown.format(value)))
    limit = sysconf.get("bpf_jit_limit")
    out.append("Unable to retrieve global memory limit for JIT compiler for unprivileged users"
               if limit in (None, -1) else
               f"Global memory limit for JIT compiler for unprivileged users is {limit} bytes")
    if features.kernel_config() is None:
        out.append("skipping kernel config, can't open file: /proc/config.gz")
    else:
        for opt in features.CONFIG_OPTIONS:
            v = sysconf.get(opt)
            out.append(f"{opt} is set to {v}" if v is not None else f"{opt} is not set")
    out.append("")
    out.append("Scanning system call availability...")
    if not report["syscall_config"]["have_bpf_syscall"]:
        out.append("bpf() syscall is NOT available")
        return "\n".join(out) + "\n"
    out.append("bpf() syscall is available")
    out.append("")
    out.append("Scanning eBPF program types...")
    for t in _prog_types():
        ok = report["program_types"][f"have_{PROG_TYPE_NAMES[t]}_prog_type"]
        out.append(f"eBPF program_type {PROG_TYPE_NAMES[t]} is {'available' if ok else 'NOT available'}")
    out.append("")
    out.append("Scanning eBPF map types...")
    for t in _map_types():
        ok = report["map_types"][f"have_{MAP_TYPE_NAMES[t]}_map_type"]
        out.append(f"eBPF map_type {MAP_TYPE_NAMES[t]} is {'available' if ok else 'NOT available'}")
    out.append("")
    out.append("Scanning eBPF helper functions...")
    for t in _prog_types():
        name = PROG_TYPE_NAMES[t]
        out.append(f"eBPF helpers supported for program type {name}:")
        if not report["program_types"][f"have_{name}_prog_type"]:
            out.append("\tProgram type not supported")
            continue
        found = report["helpers"][f"{name}_available_helpers"]
        if not found:
            out.append("\tCould not determine which helpers are available")
        out.extend(f"\t- {h}" for h in found)
    out.append("")
    out.append("Scanning miscellaneous eBPF features...")
    for name, ok in report["misc"].items():
        out.append(f"{_MISC_TEXT[name.removeprefix('have_')]} is {'available' if ok else 'NOT available'}")
    out.append("")
    return "\n".join(out) + "\n"


def do_probe(ctx: Context, args: list[str]) -> int:
    full = False
    rest = list(args)
    if rest and is_prefix(rest[0], "kernel"):
        rest = rest[1:]
    while rest:
        if is_prefix(rest[0], "full"):
            full = True
            rest = rest[1:]
        else:
            raise CLIError(f"expected 'kernel' or 'full', got: '{rest[0]}' "
                           f"(device probes and macros are not supported)")
    report = feature_report(full)
    if ctx.json:
        ctx.emit_json(report)
    else:
        ctx.out.write(_text(report, full))
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {"probe": do_probe, "help": do_help}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf feature ...``."""
    return dispatch(ctx, args, COMMANDS, "feature")
