"""bpftool's dump of a loaded program's translated ("xlated") instructions.

``pybpf prog dump xlated`` prints the same text as ``bpftool prog dump xlated``: the kernel's
instruction syntax (``kernel/bpf/disasm.c``: ``(85) call bpf_ktime_get_ns#269488``,
``(18) r1 = map[id:12]``, ``goto pc+3``), ``; source`` lines from the program's line info,
C prototypes from its func info, ``opcodes`` bytes, JSON, and the ``visual`` DOT control-flow
graph (``cfg.c``).

Nothing here talks to the kernel: :class:`XlatedDump` takes the instructions and the other
arrays of ``bpf_prog_info`` as data, :class:`Kallsyms` resolves call addresses from the text
of ``/proc/kallsyms``. The instruction syntax is the current kernel's; bpftool 7.1 prints the
same for every instruction it knows (it predates sdiv/smod, movsx, sign-extending loads,
bswap, gotol, may_goto, addr_space_cast and load-acquire/store-release, which it shows as
plain ALU ops or ``BUG_...``/``(null)``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from pybpf.asm import opcodes as op

__all__ = ["Kallsyms", "XlatedDump", "kernel_insn_text", "LineRecord", "FuncRecord",
           "btf_type_only"]

_SLOT = struct.Struct("<BBhi")
_LINE = struct.Struct("<IIII")
_FUNC = struct.Struct("<II")

_ALU = {op.BPF_ADD: "+=", op.BPF_SUB: "-=", op.BPF_MUL: "*=", op.BPF_DIV: "/=",
        op.BPF_OR: "|=", op.BPF_AND: "&=", op.BPF_LSH: "<<=", op.BPF_RSH: ">>=",
        op.BPF_NEG: "neg", op.BPF_MOD: "%=", op.BPF_XOR: "^=", op.BPF_MOV: "=",
        op.BPF_ARSH: "s>>=", op.BPF_END: "endian"}
_ALU_SIGNED = {op.BPF_DIV: "s/=", op.BPF_MOD: "s%="}
_MOVSX = {8: "(s8)", 16: "(s16)", 32: "(s32)"}
_ATOMIC_ALU = {op.BPF_ADD: "add", op.BPF_AND: "and", op.BPF_OR: "or", op.BPF_XOR: "xor"}
_LDST = {op.BPF_W: "u32", op.BPF_H: "u16", op.BPF_B: "u8", op.BPF_DW: "u64"}
_LDSX = {op.BPF_W: "s32", op.BPF_H: "s16", op.BPF_B: "s8"}
_JMP = {op.BPF_JA: "jmp", op.BPF_JEQ: "==", op.BPF_JGT: ">", op.BPF_JLT: "<", op.BPF_JGE: ">=",
        op.BPF_JLE: "<=", op.BPF_JSET: "&", op.BPF_JNE: "!=", op.BPF_JSGT: "s>",
        op.BPF_JSLT: "s<", op.BPF_JSGE: "s>=", op.BPF_JSLE: "s<=", op.BPF_CALL: "call",
        op.BPF_EXIT: "exit"}
_NULL = "(null)"  # what glibc's printf shows for a NULL %s, as the C tables have holes
_BPF_NOSPEC = 0xC0
_BPF_ADDR_PERCPU = -1


def _off(v: int) -> str:
    return f"{v:+d}"


Slot = tuple[int, int, int, int, int]  # code, dst, src, off, imm


def kernel_insn_text(slot: Slot, next_imm: int, *, call_name: Callable[[Slot], str],
                     imm_name: Callable[[Slot, int, int], str]) -> str:
    """The kernel's ``print_bpf_insn()`` text of one slot (``(bf) r1 = r6``), without the
    trailing newline. ``call_name(slot)`` names calls that are not helpers known by id;
    ``imm_name(slot, next_imm, full_imm)`` names LD_IMM64 operands."""
    code, dst, src, off, imm = slot
    cls = code & 0x07
    o = code & 0xF0
    if cls == op.BPF_ALU or cls == op.BPF_ALU64:
        r = "w" if cls == op.BPF_ALU else "r"
        if o == op.BPF_END:
            if cls == op.BPF_ALU64:
                return f"({code:02x}) r{dst} = bswap{imm} r{dst}"
            return f"({code:02x}) r{dst} = {'be' if code & op.BPF_X else 'le'}{imm} r{dst}"
        if o == op.BPF_NEG:
            return f"({code:02x}) {r}{dst} = -{r}{dst}"
        if code == op.BPF_ALU64 | op.BPF_MOV | op.BPF_X and off == 1:
            return (f"({code:02x}) r{dst} = addr_space_cast(r{src}, "
                    f"{(imm & 0xFFFFFFFF) >> 16}, {imm & 0xFFFF})")
        if code == op.BPF_ALU64 | op.BPF_MOV | op.BPF_X and off == _BPF_ADDR_PERCPU:
            return f"({code:02x}) r{dst} = &(void __percpu *)(r{src})"
        sym = _ALU_SIGNED[o] if o in _ALU_SIGNED and off == 1 else _ALU.get(o, _NULL)
        if code & op.BPF_X:
            sx = _MOVSX.get(off, "") if o == op.BPF_MOV else ""
            return f"({code:02x}) {r}{dst} {sym} {sx}{r}{src}"
        return f"({code:02x}) {r}{dst} {sym} {imm}"
    if cls == op.BPF_STX:
        mode = code & 0xE0
        size = _LDST[code & 0x18]
        if mode == op.BPF_MEM:
            return f"({code:02x}) *({size} *)(r{dst} {_off(off)}) = r{src}"
        if mode == op.BPF_ATOMIC:
            wide = "64" if code & 0x18 == op.BPF_DW else ""
            if imm in (op.BPF_ADD, op.BPF_AND, op.BPF_OR, op.BPF_XOR):
                return f"({code:02x}) lock *({size} *)(r{dst} {_off(off)}) {_ALU[imm]} r{src}"
            if imm & 0xFF0F == op.BPF_FETCH and imm & 0xF0 in _ATOMIC_ALU:
                return (f"({code:02x}) r{src} = atomic{wide}_fetch_{_ATOMIC_ALU[imm & 0xF0]}"
                        f"(({size} *)(r{dst} {_off(off)}), r{src})")
            if imm == op.BPF_CMPXCHG:
                return (f"({code:02x}) r0 = atomic{wide}_cmpxchg(({size} *)(r{dst} {_off(off)}),"
                        f" r0, r{src})")
            if imm == op.BPF_XCHG:
                return (f"({code:02x}) r{src} = atomic{wide}_xchg(({size} *)(r{dst} "
                        f"{_off(off)}), r{src})")
            if imm == op.BPF_LOAD_ACQ:
                return f"({code:02x}) r{dst} = load_acquire(({size} *)(r{src} {_off(off)}))"
            if imm == op.BPF_STORE_REL:
                return f"({code:02x}) store_release(({size} *)(r{dst} {_off(off)}), r{src})"
        return f"BUG_{code:02x}"
    if cls == op.BPF_ST:
        mode = code & 0xE0
        if mode == op.BPF_MEM:
            return f"({code:02x}) *({_LDST[code & 0x18]} *)(r{dst} {_off(off)}) = {imm}"
        if mode == _BPF_NOSPEC:
            return f"({code:02x}) nospec"
        return f"BUG_st_{code:02x}"
    if cls == op.BPF_LDX:
        mode = code & 0xE0
        if mode == op.BPF_MEM:
            size = _LDST[code & 0x18]
        elif mode == op.BPF_MEMSX:
            size = _LDSX.get(code & 0x18, _NULL)
        else:
            return f"BUG_ldx_{code:02x}"
        return f"({code:02x}) r{dst} = *({size} *)(r{src} {_off(off)})"
    if cls == op.BPF_LD:
        mode = code & 0xE0
        size = _LDST[code & 0x18]
        if mode == op.BPF_ABS:
            return f"({code:02x}) r0 = *({size} *)skb[{imm}]"
        if mode == op.BPF_IND:
            return f"({code:02x}) r0 = *({size} *)skb[r{src} + {imm}]"
        if mode == op.BPF_IMM and code & 0x18 == op.BPF_DW:
            full = ((next_imm & 0xFFFFFFFF) << 32) | (imm & 0xFFFFFFFF)
            return f"({code:02x}) r{dst} = {imm_name(slot, next_imm, full)}"
        return f"BUG_ld_{code:02x}"
    # BPF_JMP / BPF_JMP32
    r = "w" if cls == op.BPF_JMP32 else "r"
    if o == op.BPF_CALL:
        if src == op.BPF_PSEUDO_CALL:
            return f"({code:02x}) call pc{call_name(slot)}"
        return f"({code:02x}) call {call_name(slot)}#{imm}"
    if code == op.BPF_JMP | op.BPF_JA:
        return f"({code:02x}) goto pc{_off(off)}"
    if code == op.BPF_JMP | op.BPF_JCOND and src == 0:
        return f"({code:02x}) may_goto pc{_off(off)}"
    if code == op.BPF_JMP32 | op.BPF_JA:
        return f"({code:02x}) gotol pc{_off(imm)}"
    if code == op.BPF_JMP | op.BPF_EXIT:
        return f"({code:02x}) exit"
    sym = _JMP.get(o, _NULL)
    if code & op.BPF_X:
        return f"({code:02x}) if {r}{dst} {sym} {r}{src} goto pc{_off(off)}"
    return f"({code:02x}) if {r}{dst} {sym} 0x{imm & 0xFFFFFFFF:x} goto pc{_off(off)}"


class Kallsyms:
    """Exact-address lookups in the text of ``/proc/kallsyms`` (what bpftool uses to name
    helpers, kfuncs and the JITed images of bpf-to-bpf callees).

    ``offsets`` are call immediates relative to ``__bpf_call_base`` (helpers and kfuncs in
    xlated code), ``addresses`` absolute addresses (``jited_ksyms``). Only those are kept,
    so the ~200k lines cost one pass of string compares. When kallsyms hides addresses
    (``__bpf_call_base`` reads as 0), nothing resolves, as in bpftool.
    """

    def __init__(self, text: str, *, offsets: Iterable[int] = (),
                 addresses: Iterable[int] = ()) -> None:
        self.call_base = 0
        self._names: dict[int, str] = {}
        mark = text.find(" __bpf_call_base\n")
        if mark < 0 and text.endswith(" __bpf_call_base"):
            mark = len(text) - len(" __bpf_call_base")
        if mark >= 0:
            line_start = text.rfind("\n", 0, mark) + 1
            try:
                self.call_base = int(text[line_start:mark].split()[0], 16)
            except (ValueError, IndexError):
                self.call_base = 0
        if not self.call_base:
            return
        mask = 0xFFFFFFFFFFFFFFFF
        want = {f"{(self.call_base + o) & mask:016x}" for o in offsets}
        want.update(f"{a & mask:016x}" for a in addresses)
        names = self._names
        for line in text.splitlines():
            if line[:16] in want:
                parts = line.split()
                if len(parts) >= 3:
                    addr = int(parts[0], 16)
                    if addr and addr not in names:
                        names[addr] = parts[2]

    def name(self, address: int) -> str | None:
        """Symbol exactly at ``address`` (the first one listed), or None."""
        return self._names.get(address & 0xFFFFFFFFFFFFFFFF)

    @classmethod
    def read(cls, *, offsets: Iterable[int] = (), addresses: Iterable[int] = (),
             path: str = "/proc/kallsyms") -> Kallsyms:
        """Parse ``path`` (addresses read as 0 without CAP_SYSLOG)."""
        with open(path, encoding="utf-8", errors="replace") as f:
            return cls(f.read(), offsets=offsets, addresses=addresses)


@dataclass(frozen=True)
class LineRecord:
    """One ``bpf_line_info``: instruction index, BTF string offsets of file and line text,
    line number and column."""

    insn_off: int
    file_name_off: int
    line_off: int
    line: int
    col: int


@dataclass(frozen=True)
class FuncRecord:
    """One ``bpf_func_info``: instruction index and the BTF id of the FUNC."""

    insn_off: int
    type_id: int


def parse_line_info(raw: bytes, rec_size: int = 16) -> list[LineRecord]:
    out = []
    for pos in range(0, len(raw) - rec_size + 1, rec_size or 16):
        insn_off, file_off, line_off, line_col = _LINE.unpack_from(raw, pos)
        out.append(LineRecord(insn_off, file_off, line_off, line_col >> 10, line_col & 0x3FF))
    return out


def parse_func_info(raw: bytes, rec_size: int = 8) -> list[FuncRecord]:
    return [FuncRecord(*_FUNC.unpack_from(raw, pos))
            for pos in range(0, len(raw) - rec_size + 1, rec_size or 8)]


def btf_type_only(btf: Any, type_id: int) -> str:
    """bpftool's ``btf_dumper_type_only()``: a type as C, e.g. the prototype
    ``int handler(struct xdp_md * ctx)`` of a FUNC. Empty for what it cannot print."""
    out: list[str] = []
    try:
        if not _type_only(btf, type_id, out):
            return ""
    except Exception:  # BTFError for a bad id: bpftool prints nothing
        return ""
    return "".join(out)


def _type_only(btf: Any, type_id: int, out: list[str]) -> bool:
    from pybpf.btf.model import Kind

    if not type_id:
        out.append("void ")
        return True
    t = btf[type_id]
    kind = t.kind
    if kind in (Kind.INT, Kind.TYPEDEF, Kind.FLOAT):
        out.append(f"{t.name} ")
    elif kind == Kind.STRUCT:
        out.append(f"struct {t.name} ")
    elif kind == Kind.UNION:
        out.append(f"union {t.name} ")
    elif kind in (Kind.ENUM, Kind.ENUM64):
        out.append(f"enum {t.name} ")
    elif kind == Kind.ARRAY:
        if not _type_only(btf, t.type, out):
            return False
        out.append(f"[{t.nelems}]")
    elif kind == Kind.PTR:
        if not _type_only(btf, t.type, out):
            return False
        out.append("* ")
    elif kind == Kind.FWD:
        out.append(f"{'union' if t.is_union else 'struct'} {t.name} ")
    elif kind in (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT):
        out.append({Kind.VOLATILE: "volatile ", Kind.CONST: "const ",
                    Kind.RESTRICT: "restrict "}[kind])
        if not _type_only(btf, t.type, out):
            return False
    elif kind == Kind.FUNC_PROTO:
        return _func(btf, t, None, out)
    elif kind == Kind.FUNC:
        return _func(btf, btf[t.type], t, out)
    elif kind == Kind.VAR:
        if t.linkage == 0:  # BTF_VAR_STATIC
            out.append("static ")
        if not _type_only(btf, t.type, out):
            return False
        out.append(f" {t.name}")
    elif kind == Kind.DATASEC:
        out.append(f'section ("{t.name}") ')
    else:
        return False
    return True


def _func(btf: Any, proto: Any, func: Any, out: list[str]) -> bool:
    if not _type_only(btf, proto.type, out):
        return False
    out.append(f"{func.name}(" if func is not None else "(")
    for i, p in enumerate(proto.params):
        if i:
            out.append(", ")
        if p.type:
            if not _type_only(btf, p.type, out):
                return False
            if p.name:
                out.append(p.name)
            elif out and out[-1].endswith(" "):
                out[-1] = out[-1][:-1]
        else:
            out.append("...")
    out.append(")")
    return True


class XlatedDump:
    """The xlated instructions of one program plus what bpftool uses to annotate them.

    ``insns`` is ``bpf_prog_info.xlated_prog_insns`` (raw bytes, host byte order);
    ``jited_ksyms`` the JITed image addresses of the (sub)programs; ``func_info`` and
    ``line_info`` the raw records (with their record sizes) and ``btf`` the program's BTF
    (a :class:`pybpf.btf.BTF`) that their string and type ids refer to; ``kallsyms`` a
    :class:`Kallsyms` covering the call targets (see :meth:`call_addresses`).
    """

    def __init__(self, insns: bytes, *, kallsyms: Kallsyms | None = None,
                 jited_ksyms: Sequence[int] = (), func_info: bytes = b"",
                 func_info_rec_size: int = 8, line_info: bytes = b"",
                 line_info_rec_size: int = 16, btf: Any = None) -> None:
        n = len(insns) // 8
        self.raw = bytes(insns[:n * 8])
        self.slots: list[Slot] = []
        for code, regs, off, imm in _SLOT.iter_unpack(self.raw):
            self.slots.append((code, regs & 0x0F, regs >> 4, off, imm))
        self.kallsyms = kallsyms
        self.jited_ksyms = list(jited_ksyms)
        self.btf = btf
        self.funcs = parse_func_info(func_info, func_info_rec_size) if btf is not None else []
        self.lines = parse_line_info(line_info, line_info_rec_size)

    # --- names --------------------------------------------------------------------------
    def call_offsets(self) -> list[int]:
        """Immediates of helper and kfunc calls (relative to ``__bpf_call_base``): with
        ``jited_ksyms``, what :class:`Kallsyms` must resolve."""
        return [s[4] for s in self.slots if s[0] & 0xF7 == op.CALL and s[2] != op.BPF_PSEUDO_CALL]

    def resolve_symbols(self, path: str = "/proc/kallsyms") -> None:
        """Load the :class:`Kallsyms` names this dump needs from ``path``."""
        self.kallsyms = Kallsyms.read(offsets=self.call_offsets(), addresses=self.jited_ksyms,
                                      path=path)

    def _call_name(self, slot: Slot) -> str:
        code, dst, src, off, imm = slot
        if src == 0 and 0 <= imm:
            from pybpf.asm.helpers import helper_name

            try:
                name = helper_name(imm)
            except ImportError:
                name = None
            if name:
                return name
        base = self.kallsyms.call_base if self.kallsyms else 0
        address = (base + imm) & 0xFFFFFFFFFFFFFFFF
        if src == op.BPF_PSEUDO_CALL and 0 <= imm < len(self.jited_ksyms):
            address = self.jited_ksyms[imm]
        sym = self.kallsyms.name(address) if self.kallsyms else None
        if src == op.BPF_PSEUDO_CALL:
            if not self.jited_ksyms:
                return _off(off)
            return f"{_off(off)}#{sym}" if sym else f"{_off(off)}#0x{address:x}"
        return sym if sym else f"0x{address:x}"

    @staticmethod
    def _imm_name(slot: Slot, next_imm: int, full: int) -> str:
        src, imm = slot[2], slot[4]
        if src == op.BPF_PSEUDO_MAP_FD:
            return f"map[id:{imm & 0xFFFFFFFF}]"
        if src == op.BPF_PSEUDO_MAP_VALUE:
            return f"map[id:{imm & 0xFFFFFFFF}][0]+{next_imm & 0xFFFFFFFF}"
        if src == op.BPF_PSEUDO_FUNC:
            return f"subprog[{imm:+d}]"
        return f"0x{full:x}"

    def text(self, index: int) -> str:
        """Kernel syntax of the slot at ``index``."""
        nxt = self.slots[index + 1][4] if index + 1 < len(self.slots) else 0
        return kernel_insn_text(self.slots[index], nxt, call_name=self._call_name,
                                imm_name=self._imm_name)

    def _string(self, off: int) -> str | None:
        if self.btf is None:
            return None
        try:
            return self.btf.string(off)
        except Exception:
            return None

    # --- iteration shared by plain and JSON -----------------------------------------------
    def _walk(self) -> Iterator[tuple[int, str | None, LineRecord | None]]:
        """(slot index, prototype or None, line record or None) per instruction, with
        bpftool's record matching (``bpf_prog_linfo__lfind`` and its ``nr_skip`` walk)."""
        funcs = iter(self.funcs)
        record = next(funcs, None)
        nr_skip = 0
        lines = self.lines
        double = False
        for i, slot in enumerate(self.slots):
            if double:
                double = False
                continue
            proto = None
            if record is not None and record.insn_off == i:
                proto = btf_type_only(self.btf, record.type_id)
                record = next(funcs, None)
            linfo = None
            if lines and nr_skip < len(lines) and i >= lines[nr_skip].insn_off:
                k = nr_skip
                while k < len(lines) and i >= lines[k].insn_off:
                    k += 1
                linfo = lines[k - 1]
                nr_skip += 1
            double = slot[0] == op.LD_IMM64
            yield i, proto, linfo

    def _hex(self, index: int, count: int) -> list[str]:
        return [f"0x{b:02x}" for b in self.raw[index * 8:index * 8 + count]]

    def plain(self, *, opcodes: bool = False, linum: bool = False) -> str:
        """``bpftool prog dump xlated PROG [opcodes|linum]``."""
        out: list[str] = []
        for i, proto, linfo in self._walk():
            if proto:
                out.append(f"{proto}:\n")
            if linfo is not None:
                out.append(self._linfo_plain(linfo, linum))
            out.append(f"{i: 4d}: {self.text(i)}\n")
            if opcodes:
                raw = self.raw[i * 8:i * 8 + 8]
                line = "       " + " ".join(f"{b:02x}" for b in raw)
                if self.slots[i][0] == op.LD_IMM64 and i + 1 < len(self.slots):
                    line += " " + " ".join(f"{b:02x}" for b in self.raw[i * 8 + 8:i * 8 + 16])
                out.append(line + "\n")
        return "".join(out)

    def _linfo_plain(self, linfo: LineRecord, linum: bool) -> str:
        line = self._string(linfo.line_off)
        if line is None:
            return ""
        line = line.lstrip()
        if linum:
            file = self._string(linfo.file_name_off) or ""
            return f"; {line} [file:{file} line_num:{linfo.line} line_col:{linfo.col}]\n"
        return f"; {line}\n"

    def json(self, *, opcodes: bool = False, linum: bool = False) -> list[dict[str, Any]]:
        """``bpftool -j prog dump xlated PROG [opcodes|linum]`` as Python objects."""
        out: list[dict[str, Any]] = []
        for i, proto, linfo in self._walk():
            row: dict[str, Any] = {}
            if proto:
                row["proto"] = proto
            if linfo is not None:
                line = self._string(linfo.line_off)
                if line is not None:
                    row["src"] = line.lstrip()
                if linum:
                    file = self._string(linfo.file_name_off)
                    if file is not None:
                        row["file"] = file
                    if linfo.line:
                        row["line_num"] = linfo.line
                    if linfo.col:
                        row["line_col"] = linfo.col
            row["disasm"] = self.text(i)
            if opcodes:
                code, dst, src, _, _ = self.slots[i]
                double = code == op.LD_IMM64 and i + 1 < len(self.slots)
                row["opcodes"] = {
                    "code": f"0x{code:02x}", "src_reg": f"0x{src:x}", "dst_reg": f"0x{dst:x}",
                    "off": [f"0x{b:02x}" for b in self.raw[i * 8 + 2:i * 8 + 4]],
                    "imm": [f"0x{b:02x}" for b in self.raw[i * 8 + 4:i * 8 + (16 if double else 8)]],
                }
            out.append(row)
        return out

    # --- visual ------------------------------------------------------------------------
    def dot(self) -> str:
        """``bpftool prog dump xlated PROG visual``: the control-flow graph in DOT.

        As in bpftool, the graph names bpf-to-bpf calls by offset only (no JITed symbol)."""
        saved, self.jited_ksyms = self.jited_ksyms, []
        try:
            return self._dot()
        finally:
            self.jited_ksyms = saved

    def _dot(self) -> str:
        slots = self.slots
        n = len(slots)
        # Functions start at 0 and at every bpf-to-bpf call target (xlated keeps the
        # relative target in ``off`` of pseudo calls).
        starts = {0}
        for i, (code, dst, src, off, imm) in enumerate(slots):
            if code == op.CALL and src == op.BPF_PSEUDO_CALL:
                starts.add(i + off + 1)
        starts_sorted = sorted(starts)
        out = ['digraph "DOT graph for eBPF program" {\n']
        for fidx, start in enumerate(starts_sorted):
            end = (starts_sorted[fidx + 1] - 1) if fidx + 1 < len(starts_sorted) else n - 1
            out.append(f'subgraph "cluster_{fidx}" {{\n\tstyle="dashed";\n\tcolor="black";\n'
                       f'\tlabel="func_{fidx} ()";\n')
            out.extend(self._dot_func(fidx, start, end))
            out.append("}\n")
        out.append("}\n")
        return "".join(out)

    def _dot_func(self, fidx: int, start: int, end: int) -> list[str]:
        slots = self.slots
        heads = {start}
        for cur in range(start, end + 1):
            code, _, _, off, _ = slots[cur]
            if code & 0x07 in (op.BPF_JMP, op.BPF_JMP32):
                o = code & 0xF0
                if o in (op.BPF_EXIT, op.BPF_CALL):
                    continue
                heads.add(cur + off + 1)
                if o != op.BPF_JA:
                    heads.add(cur + 1)
        bbs = sorted(heads)
        # Block indexes: 0 = ENTRY, 1 = EXIT, then 2.. in address order.
        tails = [bbs[k + 1] - 1 for k in range(len(bbs) - 1)] + [end]
        index = {head: k + 2 for k, head in enumerate(bbs)}
        out = [f'\tfn_{fidx}_bb_0 [shape=Mdiamond,style=filled,label="ENTRY"];\n\n']
        for head, tail in zip(bbs, tails):
            out.append(f'\tfn_{fidx}_bb_{index[head]} [shape=record,style=filled,label="{{')
            out.append(self._dot_block(head, tail, head - start))
            out.append('}"];\n\n')
        out.append(f'\tfn_{fidx}_bb_1 [shape=Mdiamond,style=filled,label="EXIT"];\n\n')
        edge = (f"\tfn_{fidx}_bb_{{}}:s -> fn_{fidx}_bb_{{}}:n "
                '[style="solid,bold", color=black, weight=10, constraint=true];\n')
        out.append(edge.format(0, index[bbs[0]]))
        for k, (head, tail) in enumerate(zip(bbs, tails)):
            nxt = index[bbs[k + 1]] if k + 1 < len(bbs) else 1
            code, _, _, off, _ = slots[tail]
            is_jmp = code & 0x07 in (op.BPF_JMP, op.BPF_JMP32)
            o = code & 0xF0
            if not is_jmp or o == op.BPF_EXIT:
                out.append(edge.format(index[head], nxt))
            elif o == op.BPF_JA:
                out.append(edge.format(index[head], index.get(tail + off + 1, "?")))
            else:
                out.append(edge.format(index[head], nxt))
                out.append(edge.format(index[head], index.get(tail + off + 1, "?")))
        out.append(f'\tfn_{fidx}_bb_0:s -> fn_{fidx}_bb_1:n [style="invis", constraint=true];\n')
        return out

    def _dot_block(self, head: int, tail: int, start_idx: int) -> str:
        parts: list[str] = []
        double = False
        for cur in range(head, tail + 1):
            if double:
                double = False
                continue
            double = self.slots[cur][0] == op.LD_IMM64
            text = (self.text(cur) + "\n")[:63]  # bpftool formats into a 64-byte buffer
            parts.append(f"{cur - head + start_idx: 4d}: " + _dot_escape(text))
            if cur != tail:
                parts.append(" | ")
        return "".join(parts)


def _dot_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\l\\\n")
        elif ch in "<>|&":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
