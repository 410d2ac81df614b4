"""kprobe/kretprobe and ksyscall/kretsyscall programs.

As libbpf's ``bpf_program__attach_kprobe_opts()``: the kprobe perf PMU when the kernel has
one (``/sys/bus/event_source/devices/kprobe``), else a legacy tracefs ``kprobe_events`` entry
that is removed on detach; kretprobes with ``maxactive`` always go through tracefs (only it
takes ``r<N>``). ``bpf_program__attach_ksyscall()`` turns a syscall name into the kernel
function: ``__<arch>_sys_<name>`` on kernels with syscall wrappers, ``__se_sys_<name>``
otherwise.

Kernels built without ``CONFIG_KPROBES`` have neither interface: attaching raises
:class:`~pybpf.errors.NotSupportedError` saying so.
"""

from __future__ import annotations

import platform
from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError
from pybpf.link.base import Link
from pybpf.link.probe import _legacy_available, _pmu_available, attach_probe, open_probe_legacy, open_probe_pmu
from pybpf.sys.tracefs import kallsyms_has

__all__ = ["attach_kprobe", "attach_ksyscall", "syscall_prefix", "SYSCALL_PREFIXES",
           "ksyscall_function"]

#: ``platform.machine()`` -> libbpf's ``arch_specific_syscall_pfx()``.
SYSCALL_PREFIXES: dict[str, str] = {
    "x86_64": "x64", "i386": "ia32", "i686": "ia32", "s390x": "s390x", "s390": "s390",
    "armv7l": "arm", "armv6l": "arm", "aarch64": "arm64", "arm64": "arm64", "mips": "mips",
    "mips64": "mips", "riscv64": "riscv", "ppc64le": "powerpc", "ppc64": "powerpc",
    "loongarch64": "loongarch",
}

_wrapper_state: dict[str, bool] = {}


def syscall_prefix(machine: str | None = None) -> str | None:
    """The syscall wrapper prefix for ``machine`` (this one by default): ``"x64"`` on x86_64."""
    return SYSCALL_PREFIXES.get(machine or platform.machine())


def _kernel_has_syscall_wrapper() -> bool:
    """libbpf's FEAT_SYSCALL_WRAPPER probe: can a kprobe be put on ``__<arch>_sys_bpf``?

    On kernels without any kprobe interface the answer comes from ``/proc/kallsyms`` instead
    (the probe itself would fail for the wrong reason there).
    """
    if "v" in _wrapper_state:
        return _wrapper_state["v"]
    pfx = syscall_prefix()
    result = False
    if pfx:
        name = f"__{pfx}_sys_bpf"
        if _pmu_available(False):
            try:
                open_probe_pmu(False, False, name, 0).close()
                result = True
            except BPFError:
                result = False
        elif _legacy_available(False):
            try:
                fd, remove = open_probe_legacy(False, False, name, 0)
                fd.close()
                remove()
                result = True
            except BPFError:
                result = False
        else:
            result = kallsyms_has(name)
    _wrapper_state["v"] = result
    return result


def ksyscall_function(syscall: str) -> str:
    """The kernel function ``ksyscall/<syscall>`` probes (``"__x64_sys_openat"``)."""
    if not syscall or "/" in syscall:
        raise InvalidArgumentError(f"bad syscall name {syscall!r}")
    if _kernel_has_syscall_wrapper():
        return f"__{syscall_prefix()}_sys_{syscall}"
    return f"__se_sys_{syscall}"


def attach_kprobe(program: Any, function: str | None = None, *, offset: int = 0, address: int = 0,
                  retprobe: bool = False, cookie: int = 0, maxactive: int = 0,
                  mode: str = "default") -> Link:
    """Attach a kprobe (``retprobe``: kretprobe) program to kernel ``function`` + ``offset``
    (or to raw kernel ``address``). ``mode`` is libbpf's attach mode: ``default``, ``legacy``
    (tracefs), ``perf`` (PMU + ioctl) or ``link`` (PMU + perf_event bpf_link)."""
    if function is None and not address:
        raise InvalidArgumentError("kprobe attach: give a function name or an address")
    if retprobe and offset:
        raise InvalidArgumentError("kretprobes do not support offset specification")
    if function is None:
        return attach_probe(program, uprobe=False, retprobe=retprobe, name=None,  # type: ignore[arg-type]
                            offset=address, cookie=cookie, mode=mode, target=f"0x{address:x}")
    target = f"{function}+0x{offset:x}" if offset else function
    return attach_probe(program, uprobe=False, retprobe=retprobe, name=function, offset=offset,
                        cookie=cookie, mode=mode, maxactive=maxactive, target=target)


def attach_ksyscall(program: Any, syscall: str, *, retprobe: bool = False, cookie: int = 0,
                    mode: str = "default") -> Link:
    """Attach a ksyscall (``retprobe``: kretsyscall) program to system call ``syscall``
    (``"openat"``), through the architecture's syscall wrapper function."""
    return attach_kprobe(program, ksyscall_function(syscall), retprobe=retprobe, cookie=cookie, mode=mode)
