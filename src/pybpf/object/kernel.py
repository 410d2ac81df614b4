"""What one object load needs to know about the running kernel, fetched on demand.

:class:`KernelContext` hands out the kernel's BTF (:func:`pybpf.btf.kernel.kernel_btf`, with its
on-disk index cache), the BTF of loaded modules with a descriptor each (libbpf's
``load_module_btfs()``: BTF objects in id order, named by ``BPF_OBJ_GET_INFO_BY_FD``; their
types come from ``/sys/kernel/btf/<module>``), the CO-RE targets (the running kernel, or a custom
BTF file like libbpf's ``btf_custom_path``, in which case modules are not searched), and the
lookups of BTF attach targets (tp_btf, fentry/fexit/fmod_ret, lsm, iter: names and kinds from
:mod:`pybpf.link.btf_targets`) and of kernel symbols. Module descriptors are closed by
:meth:`KernelContext.close` once the object is loaded.
"""

from __future__ import annotations

from pybpf.record import Record
from typing import Any, Callable, Iterable

from pybpf.errors import BPFError, NotFoundError

__all__ = ["KernelContext", "ModuleBTF", "kernel_version_code", "load_btf_file"]


class ModuleBTF(Record, frozen=False):
    """A kernel module's BTF: ``name``, kernel object ``id``, parsed ``btf`` (split on vmlinux),
    descriptor ``fd`` (None when it could not be opened: no privileges)."""

    name: str
    id: int
    btf: Any
    fd: Any = None
    fd_array_index: int = 0


def load_btf_file(path: str) -> Any:
    """A custom target BTF: raw BTF (parsed through :func:`pybpf.btf.kernel.kernel_btf`, with its
    index cache) or an ELF file's ``.BTF`` section (a ``vmlinux`` image, a ``clang -g`` object),
    as libbpf's ``btf__parse()`` accepts both."""
    from pybpf.btf import BTF
    from pybpf.btf.kernel import kernel_btf
    from pybpf.errors import BTFError

    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise NotFoundError(f"target BTF {path}: {exc.strerror}", errno=exc.errno) from None
    if magic != b"\x7fELF":
        return kernel_btf(path)
    from pybpf.elf import ELFFile

    with ELFFile.open(path) as elf:
        sec = elf.section_by_name(".BTF")
        if sec is None:
            raise BTFError(f"target BTF {path}: ELF file has no .BTF section")
        try:
            return BTF.parse(bytes(sec.data))
        except BTFError as exc:
            raise BTFError(f"target BTF {path}: section '.BTF': {exc.message}") from None


def kernel_version_code() -> int:
    """libbpf's get_kernel_version(): ``KERNEL_VERSION(major, minor, patch)`` of the running kernel
    (Ubuntu's /proc/version_signature first; patch capped at 255); 0 if unknown."""
    import os
    import re

    try:
        with open("/proc/version_signature") as f:
            parts = f.read().split()
        if len(parts) >= 3:
            m = re.match(r"(\d+)\.(\d+)\.(\d+)", parts[2])
            if m:
                a, b, c = (int(x) for x in m.groups())
                return (a << 16) + (b << 8) + min(c, 255)
    except OSError:
        pass
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", os.uname().release)
    if not m:
        return 0
    a, b, c = (int(x) for x in m.groups())
    return (a << 16) + (b << 8) + min(c, 255)


class KernelContext:
    """See the module docstring. ``custom_btf`` is a path (or a parsed BTF) for CO-RE only."""

    def __init__(self, custom_btf: Any = None) -> None:
        self.custom_btf = custom_btf
        self._vmlinux: Any = None
        self._modules: list[ModuleBTF] | None = None
        self._fd_array: list[Any] = []

    # ------------------------------------------------------------------ BTF
    @property
    def vmlinux(self) -> Any:
        """The running kernel's BTF."""
        if self._vmlinux is None:
            from pybpf.btf.kernel import kernel_btf

            self._vmlinux = kernel_btf()
        return self._vmlinux

    def modules(self) -> list[ModuleBTF]:
        """Loaded modules' BTF, in BTF object id order (what libbpf searches after vmlinux)."""
        if self._modules is not None:
            return self._modules
        mods: list[ModuleBTF] = []
        try:
            mods = self._modules_by_id()
        except BPFError:
            mods = self._modules_by_sysfs()
        self._modules = mods
        return mods

    def _modules_by_id(self) -> list[ModuleBTF]:
        import ctypes

        from pybpf.btf.kernel import module_btf
        from pybpf.sys import uapi
        from pybpf.sys.commands import get_fd_by_id, get_info, iter_ids

        out: list[ModuleBTF] = []
        try:
            for btf_id in iter_ids("btf"):
                try:
                    fd = get_fd_by_id("btf", btf_id)
                except NotFoundError:
                    continue
                keep = False
                try:
                    name = ctypes.create_string_buffer(64)
                    info = uapi.bpf_btf_info()
                    info.name = ctypes.addressof(name)
                    info.name_len = 64
                    get_info(fd.fileno(), info, "BTF")
                    mod = name.value.decode("utf-8", "replace")
                    if not info.kernel_btf or mod == "vmlinux" or not mod:
                        continue
                    try:
                        btf = module_btf(mod, self.vmlinux)
                    except (BPFError, OSError):
                        continue
                    out.append(ModuleBTF(mod, btf_id, btf, fd))
                    keep = True
                finally:
                    if not keep:
                        fd.close()
        except BaseException:
            for m in out:
                m.fd.close()
            raise
        return out

    def _modules_by_sysfs(self) -> list[ModuleBTF]:
        from pybpf.btf.kernel import module_btf, module_names

        out = []
        for name in module_names():
            try:
                out.append(ModuleBTF(name, 0, module_btf(name, self.vmlinux)))
            except (BPFError, OSError):
                continue
        return out

    def core_targets(self) -> tuple[list[Any], Callable[[], Iterable[Any]] | None]:
        """``(targets, modules)`` for :class:`pybpf.core.Relocator`."""
        from pybpf.core import TargetBTF

        if self.custom_btf is not None:
            btf = self.custom_btf
            if isinstance(btf, str):
                btf = load_btf_file(btf)
            return [TargetBTF("vmlinux", btf)], None
        return [TargetBTF("vmlinux", self.vmlinux)], lambda: [TargetBTF(m.name, m.btf) for m in self.modules()]

    # ------------------------------------------------------------------ lookups
    def find_kernel_type(self, name: str, kind: Any) -> tuple[Any, int, ModuleBTF | None] | None:
        """libbpf's find_ksym_btf_id(): ``(btf, type id, module or None)``, vmlinux first."""
        ids = self.vmlinux.find(name, kind)
        if ids:
            return self.vmlinux, min(ids), None
        base = len(self.vmlinux)
        for mod in self.modules():
            own = [i for i in mod.btf.find(name, kind) if i >= base]
            if own:
                return mod.btf, min(own), mod
        return None

    def attach_btf_id(self, target: str, attach_type: str | None) -> tuple[int, ModuleBTF | None]:
        """libbpf's find_kernel_btf_id(): BTF id of a tracing attach target (``"module:func"``
        restricts the search to one module); :class:`NotFoundError` if there is none."""
        from pybpf.btf import Kind
        from pybpf.link.btf_targets import btf_name_for

        module = None
        name = target
        if ":" in target:
            module, _, name = target.partition(":")
        btf_name, kind_name = btf_name_for(attach_type, name)
        kind = Kind[kind_name]
        if module is None or module == "vmlinux":
            ids = self.vmlinux.find(btf_name, kind)
            if ids:
                return min(ids), None
            if module == "vmlinux":
                raise NotFoundError(f"attach target '{target}': no {kind_name} '{btf_name}' in vmlinux BTF")
        base = len(self.vmlinux)
        for mod in self.modules():
            if module is not None and mod.name != module:
                continue
            own = [i for i in mod.btf.find(btf_name, kind) if i >= base]
            if own:
                return min(own), mod
        where = f"module '{module}'" if module else "vmlinux or any loaded module"
        raise NotFoundError(f"attach target '{target}' not found: no {kind_name} '{btf_name}' in the "
                            f"BTF of {where}")

    def fd_array_index(self, mod: ModuleBTF) -> int:
        """Index of ``mod``'s BTF descriptor in the programs' ``fd_array`` (libbpf never uses 0)."""
        if not mod.fd_array_index:
            if mod.fd is None:
                raise NotFoundError(f"kernel module '{mod.name}': no descriptor for its BTF object")
            if not self._fd_array:
                self._fd_array.append(0)
            mod.fd_array_index = len(self._fd_array)
            self._fd_array.append(mod.fd)
        return mod.fd_array_index

    @property
    def fd_array(self) -> list[Any] | None:
        return list(self._fd_array) if self._fd_array else None

    def close(self) -> None:
        """Close the module BTF descriptors."""
        for mod in self._modules or ():
            if mod.fd is not None:
                mod.fd.close()
        self._fd_array = []
