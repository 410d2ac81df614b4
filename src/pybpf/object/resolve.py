"""Resolving externs at load time, as libbpf's ``bpf_object__resolve_externs()``.

* ``__kconfig`` externs: ``LINUX_KERNEL_VERSION`` (the running kernel's version code),
  ``LINUX_HAS_BPF_COOKIE`` and ``LINUX_HAS_SYSCALL_WRAPPER`` (probed), other ``LINUX_*`` only
  when weak (zero); ``CONFIG_*`` from extra Kconfig text given to the load, then
  ``/boot/config-$(uname -r)`` or ``/proc/config.gz``. Values are written into the ``.kconfig``
  map's initial contents with libbpf's checks (``y``/``n``/``m`` for bool, tristate and char;
  quoted strings for char arrays, truncated to fit; integers that must fit the extern's size).
* typeless ``__ksym`` variables: their address from ``/proc/kallsyms``;
* typed ``__ksym`` variables and kfuncs: their BTF id in the kernel's BTF (vmlinux, then loaded
  modules), checked for type compatibility; a kfunc of a module gets its module's BTF
  descriptor in the programs' ``fd_array``.

Unresolved weak externs default to zero (kfunc calls to them are poisoned at link time); an
unresolved strong extern is an error naming it.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from pybpf.errors import BPFError, ObjectError
from pybpf.object.externs import (KCFG_BOOL, KCFG_CHAR, KCFG_CHAR_ARR, KCFG_INT, KCFG_TRISTATE, KCONFIG,
                                  KSYM, ExternSpec)
from pybpf.object.linker import ExternValue

if TYPE_CHECKING:
    from pybpf.object.kernel import KernelContext
    from pybpf.object.spec import ObjectSpec

__all__ = ["resolve_externs", "apply_kconfig_line", "read_system_kconfig", "TRI_NO", "TRI_YES", "TRI_MODULE"]

TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2
_U64 = (1 << 64) - 1


class _KcfgError(ObjectError):
    pass


def _set_num(e: ExternSpec, v: ExternValue, data: bytearray, value: int) -> None:
    """libbpf's set_kcfg_value_num()."""
    if e.kcfg_type not in (KCFG_INT, KCFG_CHAR, KCFG_BOOL):
        raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' implies integer, char, or boolean type "
                         f"(it is {e.kcfg_type})")
    if e.kcfg_type == KCFG_BOOL and value > 1:
        raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' isn't boolean compatible")
    bits = e.size * 8
    if e.size != 8:
        ok = ((value + (1 << (bits - 1))) & _U64) < (1 << bits) if e.signed else (value >> bits) == 0
        if not ok:
            raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' doesn't fit in {e.size} bytes")
    if e.size not in (1, 2, 4, 8):
        raise _KcfgError(f"extern (kcfg) '{e.name}': {e.size}-byte values are not supported")
    data[e.offset:e.offset + e.size] = (value & ((1 << bits) - 1)).to_bytes(e.size, "little")
    v.is_set = True


def _set_tri(e: ExternSpec, v: ExternValue, data: bytearray, value: str) -> None:
    """libbpf's set_kcfg_value_tri()."""
    if e.kcfg_type == KCFG_BOOL:
        if value == "m":
            raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' implies tristate or char type")
        data[e.offset] = 1 if value == "y" else 0
    elif e.kcfg_type == KCFG_TRISTATE:
        tri = TRI_YES if value == "y" else TRI_MODULE if value == "m" else TRI_NO
        data[e.offset:e.offset + 4] = tri.to_bytes(4, "little")
    elif e.kcfg_type == KCFG_CHAR:
        data[e.offset] = ord(value)
    else:
        raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' implies bool, tristate, or char type "
                         f"(it is {e.kcfg_type})")
    v.is_set = True


def _set_str(e: ExternSpec, v: ExternValue, data: bytearray, value: str) -> None:
    """libbpf's set_kcfg_value_str(): a quoted string into a char array (truncated to fit)."""
    if e.kcfg_type != KCFG_CHAR_ARR:
        raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' implies char array type "
                         f"(it is {e.kcfg_type})")
    if not value.endswith('"') or len(value) < 2:
        raise _KcfgError(f"extern (kcfg) '{e.name}': invalid string config '{value}'")
    raw = value[1:-1].encode("utf-8", "surrogateescape")
    if len(raw) >= e.size:
        raw = raw[:e.size - 1]
    data[e.offset:e.offset + len(raw)] = raw
    data[e.offset + len(raw)] = 0
    v.is_set = True


_NUM = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def _strtoull(text: str) -> int | None:
    """C's strtoull(text, &end, 0) with the whole string consumed; None if it is not a number."""
    m = _NUM.match(text)
    if not m:
        return None
    sign, digits = m.groups()
    if digits[:2].lower() == "0x":
        n = int(digits, 16)
    elif len(digits) > 1 and digits[0] == "0":
        n = int(digits, 8)
    else:
        n = int(digits)
    if n > _U64:
        return None   # ERANGE
    return (-n) & _U64 if sign == "-" else n


def apply_kconfig_line(line: str, by_name: dict[str, tuple[ExternSpec, ExternValue]], data: bytearray) -> None:
    """libbpf's bpf_object__process_kconfig_line() for one ``CONFIG_X=value`` line."""
    if not line.startswith("CONFIG_"):
        return
    if line.endswith("\n"):
        line = line[:-1]
    name, sep, value = line.partition("=")
    if not sep:
        raise _KcfgError(f"failed to parse '{line}': no separator")
    if not value:
        raise _KcfgError(f"failed to parse '{line}': no value")
    hit = by_name.get(name)
    if hit is None or hit[1].is_set:
        return
    e, v = hit
    first = value[0]
    if first in "ynm":
        _set_tri(e, v, data, first)
    elif first == '"':
        _set_str(e, v, data, value)
    else:
        num = _strtoull(value)
        if num is None:
            raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' isn't a valid integer")
        if e.kcfg_type not in (KCFG_INT, KCFG_CHAR):
            raise _KcfgError(f"extern (kcfg) '{e.name}': value '{value}' implies integer type "
                             f"(it is {e.kcfg_type})")
        _set_num(e, v, data, num)


_system_kconfig: tuple[str, str] | None = None


def read_system_kconfig() -> tuple[str, str]:
    """``(path, text)`` of the running kernel's Kconfig: ``/boot/config-$(uname -r)``, then
    ``/proc/config.gz`` (either may be gzip-compressed, as libbpf's gzopen allows). Read once
    per process (the running kernel's configuration does not change)."""
    global _system_kconfig
    if _system_kconfig is None:
        _system_kconfig = _read_system_kconfig()
    return _system_kconfig


def _read_system_kconfig() -> tuple[str, str]:
    for path in (f"/boot/config-{os.uname().release}", "/proc/config.gz"):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if raw[:2] == b"\x1f\x8b":
            try:
                import gzip

                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise ObjectError(f"failed to read system Kconfig {path}: {exc}") from None
        return path, raw.decode("utf-8", "replace")
    raise ObjectError("failed to open system Kconfig: neither /boot/config-$(uname -r) nor "
                      "/proc/config.gz is readable (needed by CONFIG_* __kconfig externs)")


def _read_kallsyms(wanted: dict[str, list[int]], spec: "ObjectSpec", values: list[ExternValue]) -> None:
    """libbpf's kallsyms_cb(): addresses of typeless (and typed) ``__ksym`` variables."""
    try:
        with open("/proc/kallsyms", "rb") as f:
            text = f.read().decode("latin-1")
    except OSError as exc:
        raise ObjectError(f"failed to open /proc/kallsyms: {exc.strerror}") from None
    for name, idxs in wanted.items():
        pat = re.compile(r"^([0-9a-fA-F]+) (\S) (" + re.escape(name) + r")(\.llvm\.\S*)?(?:[ \t][^\n]*)?$",
                         re.M)
        for m in pat.finditer(text):
            if m.group(4) and m.group(2) != "d":
                continue
            addr = int(m.group(1), 16)
            for i in idxs:
                v = values[i]
                if v.is_set and v.addr != addr:
                    raise ObjectError(f"extern (ksym) '{name}': resolution is ambiguous: 0x{v.addr:x} "
                                      f"or 0x{addr:x} (several kernel symbols of that name)")
                if not v.is_set:
                    v.is_set = True
                    v.addr = addr
    del spec


def resolve_externs(spec: "ObjectSpec", ctx: "KernelContext", kconfig_data: bytearray | None,
                    extra_kconfig: str | None) -> list[ExternValue]:
    """Values of every extern of ``spec`` (see the module docstring); ``kconfig_data`` (the
    ``.kconfig`` map's contents for this load) is filled in."""
    externs = spec.externs
    values = [ExternValue() for _ in externs]
    if not externs:
        return values
    where = spec.path or spec.name
    need_config = need_kallsyms = need_btf = False
    try:
        for e, v in zip(externs, values):
            if e.kind == KSYM:
                if e.type_id:
                    need_btf = True
                else:
                    need_kallsyms = True
                continue
            assert kconfig_data is not None
            if e.name.startswith("CONFIG_"):
                need_config = True
                continue
            if e.name == "LINUX_KERNEL_VERSION":
                from pybpf.object.kernel import kernel_version_code

                value = kernel_version_code()
                if not value:
                    raise ObjectError(f"extern (kcfg) '{e.name}': failed to get kernel version")
            elif e.name == "LINUX_HAS_BPF_COOKIE":
                from pybpf.features import probe_capability

                value = int(probe_capability("bpf_cookie"))
            elif e.name == "LINUX_HAS_SYSCALL_WRAPPER":
                value = int(_has_syscall_wrapper())
            elif not e.name.startswith("LINUX_") or not e.weak:
                raise ObjectError(f"extern (kcfg) '{e.name}': unrecognized virtual extern (libbpf fills "
                                  "CONFIG_* from Kconfig and LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, "
                                  "LINUX_HAS_SYSCALL_WRAPPER; other LINUX_* must be __weak)")
            else:
                continue   # unknown weak LINUX_*: stays zero
            _set_num(e, v, kconfig_data, value)
        kcfg_names: dict[str, tuple[ExternSpec, ExternValue]] = {}
        for e, v in zip(externs, values):
            kcfg_names.setdefault(e.name, (e, v))
        kcfg_only = {k: ev for k, ev in kcfg_names.items() if ev[0].kind == KCONFIG}
        if need_config and extra_kconfig:
            assert kconfig_data is not None
            _kconfig_text(extra_kconfig, kcfg_only, kconfig_data, "in-memory Kconfig")
            need_config = any(not v.is_set for e, v in zip(externs, values) if e.kind == KCONFIG)
        if need_config:
            assert kconfig_data is not None
            path, text = read_system_kconfig()
            _kconfig_text(text, kcfg_only, kconfig_data, f"system Kconfig {path}")
    except _KcfgError as exc:
        raise ObjectError(f"{where}: {exc.message}") from None
    if need_kallsyms:
        wanted: dict[str, list[int]] = {}
        for i, e in enumerate(externs):
            if e.kind == KSYM and not e.is_func:
                wanted.setdefault(e.name, []).append(i)
        _read_kallsyms(wanted, spec, values)
    if need_btf:
        for e, v in zip(externs, values):
            if e.kind == KSYM and e.type_id:
                _resolve_ksym_btf(spec, e, v, ctx, where)
    for e, v in zip(externs, values):
        if not v.is_set and not e.weak:
            raise ObjectError(f"{where}: extern '{e.name}' (strong): not resolved "
                              f"({_why_unresolved(e)}); declare it __weak to default it to zero")
    return values


def _kconfig_text(text: str, by_name: dict[str, tuple[ExternSpec, ExternValue]], data: bytearray,
                  what: str) -> None:
    """Every ``CONFIG_`` line of ``text`` through :func:`apply_kconfig_line`."""
    for line in text.splitlines():
        if not line.startswith("CONFIG_"):
            continue
        name, sep, value = line.partition("=")
        if sep and value and name not in by_name:
            continue   # well-formed and not wanted: nothing to do (fast path)
        try:
            apply_kconfig_line(line, by_name, data)
        except _KcfgError as exc:
            raise _KcfgError(f"error parsing {what} line '{line}': {exc.message}") from None


def _why_unresolved(e: ExternSpec) -> str:
    if e.kind == KCONFIG:
        return "no such option in the kernel's Kconfig"
    if e.is_func:
        return "no such kfunc in the kernel's or any module's BTF"
    if e.type_id:
        return "no such variable in the kernel's or any module's BTF"
    return "no such symbol in /proc/kallsyms"


_syscall_wrapper: bool | None = None


def _has_syscall_wrapper() -> bool:
    """libbpf's FEAT_SYSCALL_WRAPPER probe: can a kprobe be created on ``__<arch>_sys_bpf``
    (through the kprobe PMU, else legacy kprobe_events)? False on kernels without kprobes."""
    global _syscall_wrapper
    if _syscall_wrapper is None:
        _syscall_wrapper = _probe_syscall_wrapper()
    return _syscall_wrapper


def _probe_syscall_wrapper() -> bool:
    from pybpf.link import probe as lp
    from pybpf.link.kprobe import syscall_prefix

    pfx = syscall_prefix()
    if not pfx:
        return False
    name = f"__{pfx}_sys_bpf"
    try:
        if lp._pmu_available(False):
            lp.open_probe_pmu(False, False, name, 0).close()
            return True
        if lp._legacy_available(False):
            fd, remove = lp.open_probe_legacy(False, False, name, 0)
            fd.close()
            remove()
            return True
    except (BPFError, OSError):
        return False
    return False


def _resolve_ksym_btf(spec: "ObjectSpec", e: ExternSpec, v: ExternValue, ctx: "KernelContext", where: str) -> None:
    """libbpf's bpf_object__resolve_ksym_{var,func}_btf_id()."""
    from pybpf.btf import Kind
    from pybpf.core.relo import CoreFailure, types_are_compat

    local = spec.btf
    assert local is not None
    if e.is_func:
        found = ctx.find_kernel_type(e.essential_name, Kind.FUNC)
        if found is None:
            if e.weak:
                return
            raise ObjectError(f"{where}: extern (func ksym) '{e.name}': not found in kernel or module BTFs")
        kbtf, kid, mod = found
        kproto = kbtf[kid].type
        try:
            ok = types_are_compat(local, e.type_id, kbtf, kproto)
        except CoreFailure:
            ok = False
        if not ok:
            if e.weak:
                return
            raise ObjectError(f"{where}: extern (func ksym) '{e.name}': func_proto [{e.type_id}] "
                              f"incompatible with {mod.name if mod else 'vmlinux'} [{kproto}]")
        v.is_set = True
        v.kernel_btf_id = kid
        v.fd_array_index = ctx.fd_array_index(mod) if mod is not None else 0
        v.btf_obj_fd = mod.fd.fileno() if mod is not None and mod.fd is not None else 0
        return
    found = ctx.find_kernel_type(e.name, Kind.VAR)
    if found is None:
        if e.weak:
            return
        raise ObjectError(f"{where}: extern (var ksym) '{e.name}': not found in kernel BTF")
    kbtf, kid, mod = found
    targ_type = kbtf.skip_mods_and_typedefs(kbtf[kid].type)
    try:
        ok = types_are_compat(local, e.type_id, kbtf, targ_type)
    except CoreFailure:
        ok = False
    if not ok:
        lt = local[e.type_id]
        tt = kbtf[targ_type]
        raise ObjectError(f"{where}: extern (var ksym) '{e.name}': incompatible types, expected "
                          f"[{e.type_id}] {lt.kind.name.lower()} {lt.name}, but kernel has [{targ_type}] "
                          f"{tt.kind.name.lower()} {tt.name}")
    v.is_set = True
    v.kernel_btf_id = kid
    v.btf_obj_fd = mod.fd.fileno() if mod is not None and mod.fd is not None else 0
