"""USDT probes (``SEC("usdt/<binary>:<provider>:<name>")``), compatible with libbpf's
``usdt.bpf.h``.

A USDT probe is a ``nop`` in a binary, described by a ``stapsdt`` note (``.note.stapsdt``):
its address, an optional semaphore (a counter the kernel increments while the probe is
attached, so that the program can skip preparing the arguments otherwise) and an argument
string such as ``-4@%eax 8@-16(%rbp) 4@$5``. Attaching, as libbpf's
``bpf_program__attach_usdt()``:

1. every note of ``provider:name`` in the binary becomes a target: the note address adjusted
   for prelinking (``.stapsdt.base``), translated to a file offset through its executable
   ``PT_LOAD`` segment; the semaphore address translated the same way (``ref_ctr_offset``);
2. each target's argument string is parsed into ``struct __bpf_usdt_spec`` (12 argument specs:
   constant / register / register+offset dereference, pt_regs offset, signedness, bit shift)
   and stored in the BPF object's ``__bpf_usdt_specs`` array under a free spec id;
3. a uprobe is attached at each target with BPF cookie = spec id, which is how
   ``bpf_usdt_arg()`` finds the spec (``__bpf_usdt_ip_to_spec_id`` is only filled, keyed by
   address, for kernels without BPF cookies, as libbpf does).

Detaching removes the uprobes and frees the spec ids. Argument parsing is implemented for
x86-64 (the note syntax is architecture specific).
"""

from __future__ import annotations

import platform
import re
import struct
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

from pybpf.elf import ELFFile
from pybpf.elf.notes import split_stapsdt_desc
from pybpf.errors import BPFError, ELFError, InvalidArgumentError, NoSpaceError, NotFoundError, NotSupportedError
from pybpf.link.base import Link
from pybpf.link.probe import attach_probe
from pybpf.link.uprobe import resolve_binary_path

__all__ = ["UsdtNote", "UsdtTarget", "UsdtArgSpec", "UsdtManager", "UsdtLink", "attach_usdt",
           "read_usdt_notes", "usdt_targets", "parse_usdt_arg", "encode_usdt_spec",
           "X86_64_PT_REGS_OFFSETS", "USDT_MAX_ARG_CNT", "USDT_SPEC_SIZE", "ARG_CONST", "ARG_REG",
           "ARG_REG_DEREF"]

ARG_CONST, ARG_REG, ARG_REG_DEREF = 0, 1, 2
USDT_MAX_ARG_CNT = 12
_ARG = struct.Struct("<QIhbb")              # struct __bpf_usdt_arg_spec (16 bytes)
_TAIL = struct.Struct("<Qh6x")              # usdt_cookie, arg_cnt, padding
#: ``sizeof(struct __bpf_usdt_spec)``
USDT_SPEC_SIZE = _ARG.size * USDT_MAX_ARG_CNT + _TAIL.size

# struct pt_regs on x86-64: field -> byte offset.
_X86_REGS = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx",
             "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"]
_X86_OFF = {n: i * 8 for i, n in enumerate(_X86_REGS)}
#: USDT register names (all widths) -> offset in x86-64 ``struct pt_regs`` (libbpf's table).
X86_64_PT_REGS_OFFSETS: dict[str, int] = {}
for _names, _field in (
        (("rip", "eip"), "ip"), (("rax", "eax", "ax", "al"), "ax"), (("rbx", "ebx", "bx", "bl"), "bx"),
        (("rcx", "ecx", "cx", "cl"), "cx"), (("rdx", "edx", "dx", "dl"), "dx"),
        (("rsi", "esi", "si", "sil"), "si"), (("rdi", "edi", "di", "dil"), "di"),
        (("rbp", "ebp", "bp", "bpl"), "bp"), (("rsp", "esp", "sp", "spl"), "sp")):
    for _n in _names:
        X86_64_PT_REGS_OFFSETS[_n] = _X86_OFF[_field]
for _i in range(8, 16):
    for _sfx in ("", "d", "w", "b"):
        X86_64_PT_REGS_OFFSETS[f"r{_i}{_sfx}"] = _X86_OFF[f"r{_i}"]


@dataclass(frozen=True)
class UsdtNote:
    """One ``stapsdt`` note: ``provider``, ``name``, ``pc`` (probe address), ``base`` (the
    ``.stapsdt.base`` address at link time), ``semaphore`` address (0: none), ``args``."""

    provider: str
    name: str
    pc: int
    base: int
    semaphore: int
    args: str


@dataclass(frozen=True)
class UsdtArgSpec:
    """``struct __bpf_usdt_arg_spec``."""

    val_off: int
    arg_type: int
    reg_off: int
    arg_signed: bool
    arg_bitshift: int


@dataclass(frozen=True)
class UsdtTarget:
    """A probe site to attach: ``rel_ip`` (file offset for the uprobe), ``abs_ip`` (address in
    the binary), ``sem_offset`` (file offset of the semaphore, 0: none) and the note."""

    rel_ip: int
    abs_ip: int
    sem_offset: int
    note: UsdtNote


def read_usdt_notes(elf: ELFFile) -> list[UsdtNote]:
    """Every ``stapsdt`` note of ``elf`` (type 3 in ``.note.stapsdt``)."""
    sec = elf.section_by_name(".note.stapsdt")
    if sec is None:
        return []
    out = []
    for note in sec.notes():
        if note.name != "stapsdt" or note.type != 3:
            continue
        pc, base, sem, (prov, name, args) = split_stapsdt_desc(note.desc, elf.endian)
        out.append(UsdtNote(prov.decode("utf-8", "replace"), name.decode("utf-8", "replace"),
                            pc, base, sem, args.decode("utf-8", "replace")))
    return out


def _segment_offset(elf: ELFFile, addr: int, *, executable: bool, what: str) -> int:
    for ph in elf.program_headers:
        if not ph.is_load or not ph.vaddr <= addr < ph.vaddr + ph.memsz:
            continue
        if executable and not ph.is_executable:
            raise ELFError(f"{elf.name}: {what} 0x{addr:x} is in a non-executable segment")
        return addr - ph.vaddr + ph.offset
    raise ELFError(f"{elf.name}: {what} 0x{addr:x} is in no loadable segment")


def usdt_targets(elf: ELFFile, provider: str, name: str) -> list[UsdtTarget]:
    """The attach targets of ``provider:name`` in ``elf`` (libbpf's ``collect_usdt_targets``)."""
    base_sec = elf.section_by_name(".stapsdt.base")
    out = []
    for note in read_usdt_notes(elf):
        if note.provider != provider or note.name != name:
            continue
        abs_ip = note.pc
        if base_sec is not None and note.base:
            abs_ip += base_sec.addr - note.base  # undo prelink shifts
        rel_ip = _segment_offset(elf, abs_ip, executable=True, what=f"USDT {provider}:{name} at")
        sem = 0
        if note.semaphore:
            sem = _segment_offset(elf, note.semaphore, executable=False,
                                  what=f"USDT {provider}:{name} semaphore at")
        out.append(UsdtTarget(rel_ip, abs_ip, sem, note))
    return out


_RE_DEREF = re.compile(r"^(-?\d+)@(-?(?:0x[0-9a-fA-F]+|\d+))?\(%([a-z0-9]+)\)$")
_RE_REG = re.compile(r"^(-?\d+)@%([a-z0-9]+)$")
_RE_CONST = re.compile(r"^(-?\d+)@\$(-?(?:0x[0-9a-fA-F]+|\d+))$")


def parse_usdt_arg(text: str, machine: str | None = None) -> UsdtArgSpec:
    """One argument of a note (``"-4@-20(%rbp)"``) as ``struct __bpf_usdt_arg_spec``
    (libbpf's x86-64 ``parse_usdt_arg``)."""
    m = machine or platform.machine()
    if m not in ("x86_64", "amd64"):
        raise NotSupportedError(f"USDT argument parsing is implemented for x86-64 only, not {m}")
    if mt := _RE_DEREF.match(text):
        size, off, reg = int(mt.group(1)), int(mt.group(2) or "0", 0), mt.group(3)
        atype = ARG_REG_DEREF
    elif mt := _RE_REG.match(text):
        size, off, reg = int(mt.group(1)), 0, mt.group(2)
        atype = ARG_REG
    elif mt := _RE_CONST.match(text):
        size, off, reg = int(mt.group(1)), int(mt.group(2), 0), ""
        atype = ARG_CONST
    else:
        raise InvalidArgumentError(f"unrecognized USDT argument spec '{text}'")
    if size not in (1, 2, 4, 8, -1, -2, -4, -8):
        raise InvalidArgumentError(f"USDT argument '{text}': unsupported size {size}")
    reg_off = 0
    if reg:
        try:
            reg_off = X86_64_PT_REGS_OFFSETS[reg]
        except KeyError:
            raise InvalidArgumentError(f"USDT argument '{text}': unknown register '%{reg}'") from None
    return UsdtArgSpec(off & 0xFFFFFFFFFFFFFFFF, atype, reg_off, size < 0, 64 - abs(size) * 8)


def _split_args(args: str) -> list[str]:
    return [a for a in args.split(" ") if a]


def encode_usdt_spec(args: str, cookie: int = 0, machine: str | None = None) -> bytes:
    """``struct __bpf_usdt_spec`` bytes (``USDT_SPEC_SIZE``) for a note's argument string."""
    parts = _split_args(args)
    if len(parts) > USDT_MAX_ARG_CNT:
        raise InvalidArgumentError(f"USDT has {len(parts)} arguments, more than {USDT_MAX_ARG_CNT}")
    out = bytearray(USDT_SPEC_SIZE)
    for i, p in enumerate(parts):
        s = parse_usdt_arg(p, machine)
        _ARG.pack_into(out, i * _ARG.size, s.val_off, s.arg_type, s.reg_off, int(s.arg_signed), s.arg_bitshift)
    _TAIL.pack_into(out, _ARG.size * USDT_MAX_ARG_CNT, cookie & 0xFFFFFFFFFFFFFFFF, len(parts))
    return bytes(out)


class UsdtLink(Link):
    """All the uprobes of one USDT attachment; detaching releases their spec ids too."""

    def __init__(self, links: Sequence[Link], *, program: Any, target: str,
                 release_ids: Any) -> None:
        super().__init__("usdt", program=program, target=target, on_released=release_ids)
        self.links = list(links)
        self._owned = list(self.links)

    def _release(self) -> None:  # children first (uprobes off), then spec ids free
        self._closed = True
        errors: list[BaseException] = []
        for link in self.links:
            try:
                link.detach()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        self._owned = []
        try:
            super()._release()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        if errors:
            raise errors[0]


_u32 = struct.Struct("<I")
_i64 = struct.Struct("<q")


class UsdtManager:
    """Spec-id allocation for one BPF object's ``__bpf_usdt_specs`` (and, for kernels without
    BPF cookies, ``__bpf_usdt_ip_to_spec_id``) maps, shared by all its USDT links."""

    def __init__(self, specs_map: Any, ip_map: Any = None, *, use_cookies: bool = True) -> None:
        self.specs_map = specs_map
        self.ip_map = ip_map
        self.use_cookies = use_cookies
        info = specs_map.info()
        self.capacity = int(info.max_entries)
        if int(info.value_size) != USDT_SPEC_SIZE:
            raise InvalidArgumentError(f"USDT specs map has value size {info.value_size}, "
                                       f"expected sizeof(struct __bpf_usdt_spec) = {USDT_SPEC_SIZE}")
        self._free = list(range(self.capacity - 1, -1, -1))

    def _take(self) -> int:
        if not self._free:
            raise NoSpaceError(f"all {self.capacity} USDT spec ids are in use")
        return self._free.pop()

    def attach(self, program: Any, binary_path: str, provider: str, name: str, *, pid: int = -1,
               cookie: int = 0) -> UsdtLink:
        path = resolve_binary_path(binary_path)
        with ELFFile.open(path) as elf:
            targets = usdt_targets(elf, provider, name)
        if not targets:
            raise NotFoundError(f"no USDT probe {provider}:{name} in {path}", errno=2)
        by_args: dict[str, int] = {}
        ids: list[int] = []
        ips: list[int] = []
        links: list[Link] = []

        def release() -> None:
            for ip in ips:
                try:
                    self.ip_map.delete(_i64.pack(ip))
                except BPFError:
                    pass
            self._free.extend(reversed(ids))
            ids.clear()

        try:
            for t in targets:
                spec_id = by_args.get(t.note.args)
                if spec_id is None:
                    spec_id = self._take()
                    ids.append(spec_id)
                    by_args[t.note.args] = spec_id
                    self.specs_map.update(_u32.pack(spec_id), encode_usdt_spec(t.note.args, cookie))
                if not self.use_cookies:
                    if self.ip_map is None:
                        raise NotSupportedError("this kernel has no BPF cookies: USDT needs the "
                                                "__bpf_usdt_ip_to_spec_id map")
                    self.ip_map.update(_i64.pack(t.abs_ip), _u32.pack(spec_id))
                    ips.append(t.abs_ip)
                links.append(attach_probe(program, uprobe=True, retprobe=False, name=path, offset=t.rel_ip,
                                          pid=pid, ref_ctr_offset=t.sem_offset,
                                          cookie=spec_id if self.use_cookies else 0,
                                          target=f"{path}:{provider}:{name}@0x{t.rel_ip:x}"))
        except BaseException:
            for link in links:
                link.detach()
            release()
            raise
        return UsdtLink(links, program=program, target=f"{path}:{provider}:{name}", release_ids=release)


_managers: "weakref.WeakKeyDictionary[Any, UsdtManager]" = weakref.WeakKeyDictionary()


def attach_usdt(program: Any, binary_path: str, provider: str, name: str, *, specs_map: Any,
                ip_to_spec_id_map: Any = None, pid: int = -1, cookie: int = 0) -> UsdtLink:
    """Attach a ``usdt`` program to every ``provider:name`` probe of ``binary_path``.

    ``specs_map``/``ip_to_spec_id_map`` are the program's ``__bpf_usdt_specs`` and
    ``__bpf_usdt_ip_to_spec_id`` maps (the object loader passes them); ``cookie`` is what
    ``bpf_usdt_cookie()`` returns in the program.
    """
    mgr = _managers.get(specs_map)
    if mgr is None:
        mgr = UsdtManager(specs_map, ip_to_spec_id_map)
        _managers[specs_map] = mgr
    return mgr.attach(program, binary_path, provider, name, pid=pid, cookie=cookie)
