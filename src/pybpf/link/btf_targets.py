"""BTF attach targets of ``ATTACH_BTF`` programs (tp_btf, fentry/fexit/fmod_ret, lsm, iter).

The kernel loads such programs against a BTF type id: libbpf's ``find_kernel_btf_id()`` maps
the section's target name to a BTF name by attach type, looks it up in vmlinux's BTF and then
in the modules' split BTF. The same rules are here, for the object loader and for tests:

=====================  =======================  ========
attach type            BTF name                 BTF kind
=====================  =======================  ========
BPF_TRACE_RAW_TP       ``btf_trace_<name>``     TYPEDEF
BPF_LSM_MAC/CGROUP     ``bpf_lsm_<name>``       FUNC
BPF_TRACE_ITER         ``bpf_iter_<name>``      FUNC
others (fentry, ...)   ``<name>``               FUNC
=====================  =======================  ========

``"module:function"`` restricts the search to that module (libbpf 1.3+ syntax).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pybpf.errors import BPFError, NotFoundError

__all__ = ["AttachTarget", "BTF_PREFIXES", "btf_name_for", "find_attach_btf_id", "vmlinux_btf",
           "module_btf"]

#: attach type name -> (prefix, BTF kind name) as libbpf's ``btf_attach_type_prefix``.
BTF_PREFIXES: dict[str, tuple[str, str]] = {
    "BPF_TRACE_RAW_TP": ("btf_trace_", "TYPEDEF"),
    "BPF_LSM_MAC": ("bpf_lsm_", "FUNC"),
    "BPF_LSM_CGROUP": ("bpf_lsm_", "FUNC"),
    "BPF_TRACE_ITER": ("bpf_iter_", "FUNC"),
}

_BTF_DIR = "/sys/kernel/btf"


@dataclass(frozen=True)
class AttachTarget:
    """Where a target was found: ``btf_id`` in ``module`` (``"vmlinux"`` for the kernel
    itself; a module target also needs that module's BTF object id at load, ``btf_obj_id``)."""

    name: str
    btf_name: str
    btf_id: int
    module: str = "vmlinux"
    btf_obj_id: int = 0


def btf_name_for(attach_type: str | None, name: str) -> tuple[str, str]:
    """``(BTF name, kind name)`` libbpf searches for ``name`` under ``attach_type``."""
    prefix, kind = BTF_PREFIXES.get(attach_type or "", ("", "FUNC"))
    return prefix + name, kind


def vmlinux_btf(path: str | None = None) -> Any:
    """The parsed kernel BTF (``/sys/kernel/btf/vmlinux`` or ``path``): :func:`pybpf.btf.kernel.kernel_btf`
    (one per process, with the on-disk index cache)."""
    from pybpf.btf.kernel import kernel_btf

    return kernel_btf(path)


def module_btf(module: str) -> Any:
    """The split BTF of kernel module ``module`` on top of vmlinux's:
    :func:`pybpf.btf.kernel.module_btf` (one per process)."""
    from pybpf.btf.kernel import module_btf as _module_btf

    return _module_btf(module)


def _btf_object_id(module: str) -> int:
    """Kernel id of the BTF object named ``module`` (for ``attach_btf_obj_fd``)."""
    from pybpf.btf.loaded import LoadedBTF
    from pybpf.errors import BPFError
    from pybpf.sys.commands import iter_ids

    for btf_id in iter_ids("btf"):
        try:
            with LoadedBTF.from_id(btf_id) as kbtf:
                info = kbtf.info()
        except BPFError:
            continue
        if info.kernel_btf and info.name == module:
            return btf_id
    raise NotFoundError(f"no kernel BTF object for module '{module}' is loaded")


def find_attach_btf_id(name: str, attach_type: str | None, *, kernel_btf: str | None = None,
                       search_modules: bool = True) -> AttachTarget:
    """The BTF id a program attaching to ``name`` with ``attach_type`` (``"BPF_TRACE_FENTRY"``)
    is loaded with. :class:`NotFoundError` naming the BTF name when nothing matches."""
    from pybpf.btf import Kind

    module = None
    if ":" in name:
        module, _, name = name.partition(":")
    btf_name, kind_name = btf_name_for(attach_type, name)
    kind = Kind[kind_name]
    if module is None or module == "vmlinux":
        ids = vmlinux_btf(kernel_btf).find(btf_name, kind)
        if ids:
            return AttachTarget(name, btf_name, ids[0])
        if module == "vmlinux" or kernel_btf is not None or not search_modules:
            raise NotFoundError(f"attach target '{name}' not found: no {kind_name} '{btf_name}' in "
                                f"{'vmlinux' if kernel_btf is None else kernel_btf} BTF")
    modules = [module] if module else sorted(m for m in os.listdir(_BTF_DIR) if m != "vmlinux")
    for mod in modules:
        try:
            btf = module_btf(mod)
        except (OSError, BPFError):
            continue
        ids = [i for i in btf.find(btf_name, kind) if i >= len(vmlinux_btf())]
        if ids:
            return AttachTarget(name, btf_name, ids[0], mod, _btf_object_id(mod))
    where = f"module '{module}'" if module else "vmlinux or any module"
    raise NotFoundError(f"attach target '{name}' not found: no {kind_name} '{btf_name}' in the BTF "
                        f"of {where}")
