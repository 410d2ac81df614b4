"""A minimal object loader for the events tests (the real one, pybpf.object, comes later).

It does just what these fixtures need, the way libbpf does it:

* maps from the BTF-defined ``.maps`` section (``__uint(type, ...)``, ``max_entries``,
  ``key``/``value`` types or sizes), created with :meth:`pybpf.Map.create`; sizes may be
  overridden per map;
* ``.rodata``/``.data``/``.bss`` as one-element array maps (``.rodata`` read-only for programs
  and frozen), referenced with ``BPF_PSEUDO_MAP_VALUE``;
* ``LD_IMM64`` relocations against maps and data sections, and against ``.text`` functions
  (``BPF_PSEUDO_FUNC``, for ``bpf_user_ringbuf_drain`` callbacks): ``.text`` is appended to the
  program and the offsets fixed up;
* programs loaded with :meth:`pybpf.Program.load` (type from the section name, tracing
  programs attached by BTF id in vmlinux).

No CO-RE: fixtures avoid ``preserve_access_index`` and receive kernel offsets as ``-D``
macros computed from the running kernel's BTF.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from pybpf.btf import BTF, Kind
from pybpf.elf import ELFFile
from pybpf.maps import Map
from pybpf.programs import Program
from pybpf.sys import consts
from pybpf.sys import uapi

_INSN = struct.Struct("<BBhi")
LD_IMM64 = 0x18
CALL = 0x85

# SEC() prefix -> (program type, expected attach type)
_SECTIONS = {
    "xdp": ("xdp", None),
    "socket": ("socket_filter", None),
    "tc": ("sched_cls", None),
    "iter/": ("tracing", "trace_iter"),
    "raw_tp/": ("raw_tracepoint", None),
    "tp/": ("tracepoint", None),
    "syscall": ("syscall", None),
}


@dataclass
class Loaded:
    """Maps and programs of one loaded object; close() releases all of them."""

    maps: dict[str, Map] = field(default_factory=dict)
    progs: dict[str, Program] = field(default_factory=dict)
    fds: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for p in self.progs.values():
            p.close()
        for f in self.fds:
            f.close()
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> Loaded:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def func_btf(nfuncs: int) -> bytes:
    """Raw BTF with ``int (void)`` as type 1 and ``nfuncs`` FUNCs of it (ids 3...): enough
    func_info for the verifier to accept subprograms (callbacks) of a program."""
    strings = b"\0int\0" + b"".join(b"f%d\0" % i for i in range(nfuncs))
    types = struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)          # [1] INT int, signed
    types += struct.pack("<III", 0, 13 << 24, 1)                          # [2] FUNC_PROTO int(void)
    off = 5
    for i in range(nfuncs):
        linkage = 1 if i == 0 else 0
        types += struct.pack("<III", off, (12 << 24) | linkage, 2)       # FUNC f<i>
        off += len(b"f%d\0" % i)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def load_btf(data: bytes) -> Any:
    from pybpf.sys.commands import btf_load

    return btf_load(data, what="test BTF")


def _map_defs(elf: ELFFile, btf: BTF) -> dict[str, dict[str, int]]:
    """name -> {type, max_entries, key_size, value_size, map_flags} from the .maps DATASEC."""
    defs: dict[str, dict[str, int]] = {}
    for sec_id in btf.find(".maps", Kind.DATASEC):
        for vs in btf[sec_id].vars:
            var = btf[vs.type]
            struct_t = btf[btf.skip_mods_and_typedefs(var.type)]
            d = {"type": 0, "max_entries": 0, "key_size": 0, "value_size": 0, "map_flags": 0}
            for mem in struct_t.members:
                ptr = btf[btf.skip_mods_and_typedefs(mem.type)]
                target = btf.skip_mods_and_typedefs(ptr.type)
                if mem.name in ("type", "max_entries", "map_flags", "key_size", "value_size"):
                    d[mem.name] = btf[target].nelems
                elif mem.name in ("key", "value"):
                    d[mem.name + "_size"] = btf.resolve_size(target)
            defs[var.name] = d
    return defs


def load(path: str, *, sizes: dict[str, int] | None = None, vmlinux: BTF | None = None,
         only: list[str] | None = None) -> Loaded:
    """Create the object's maps and load its programs (``only``: program names to load).

    ``sizes`` overrides ``max_entries`` per map name. Tracing (iter) programs need ``vmlinux``.
    """
    out = Loaded()
    try:
        _load(path, out, sizes or {}, vmlinux, only)
    except BaseException:
        out.close()
        raise
    return out


def _load(path: str, out: Loaded, sizes: dict[str, int], vmlinux: BTF | None,
          only: list[str] | None) -> None:
    with open(path, "rb") as f:
        elf = ELFFile(f.read(), name=path)
    btf_sec = elf.section_by_name(".BTF")
    assert btf_sec is not None, f"{path} has no .BTF"
    btf = BTF.parse(bytes(btf_sec.data))
    defs = _map_defs(elf, btf)
    for name, d in defs.items():
        out.maps[name] = Map.create(d["type"], d["key_size"], d["value_size"],
                                    sizes.get(name, d["max_entries"]), name=name[:15],
                                    flags=d["map_flags"])
    # data sections as single-element arrays
    data_maps: dict[int, Map] = {}
    for sec in elf.sections:
        if sec.name in (".rodata", ".data", ".bss") or sec.name.startswith((".rodata.", ".data.")):
            if sec.size == 0:
                continue
            ro = sec.name.startswith(".rodata")
            m = Map.create("array", 4, sec.size, 1, name=sec.name[:15].replace("/", "_"),
                           flags=uapi.BPF_F_RDONLY_PROG if ro else 0)
            out.maps[sec.name] = m
            contents = bytes(sec.data) if sec.has_file_data else bytes(sec.size)
            m.update(b"\0\0\0\0", contents)
            if ro:
                m.freeze()
            data_maps[sec.index] = m
    maps_sec = elf.section_by_name(".maps")
    symtab = elf.symtab
    assert symtab is not None
    text = elf.section_by_name(".text")
    text_insns = bytes(text.data) if text is not None and text.size else b""
    license = "GPL"
    lic = elf.section_by_name("license")
    if lic is not None:
        license = bytes(lic.data).split(b"\0")[0].decode()

    for sec in elf.sections:
        if not sec.is_executable or sec.name == ".text" or not sec.size:
            continue
        kind = next((v for k, v in _SECTIONS.items() if sec.name == k or sec.name.startswith(k)), None)
        if kind is None:
            continue
        funcs = [s for s in elf.symbols() if s.section_index == sec.index and s.type == 2
                 and s.bind == 1]  # global STT_FUNC: one program each
        for fn in funcs:
            if only is None or fn.name in only:
                _load_program(elf, out, sec, fn, kind, text, text_insns, maps_sec, data_maps,
                              license, vmlinux, path)


def _load_program(elf: ELFFile, out: Loaded, sec: Any, fn: Any, kind: tuple[str, str | None],
                  text: Any, text_insns: bytes, maps_sec: Any, data_maps: dict[int, Map],
                  license: str, vmlinux: BTF | None, path: str) -> None:
    symtab = elf.symtab
    assert symtab is not None
    prog_name = fn.name
    main = bytes(sec.data)[fn.value:fn.value + fn.size]
    main_len = len(main) // 8
    relocs = [(0, r._replace(offset=r.offset - fn.value)) for rs in elf.relocations_for(sec)
              for r in rs if fn.value <= r.offset < fn.value + fn.size]
    needs_text = text is not None and any(
        symtab[r.symbol_index].section_index == text.index for _, r in relocs)
    insns = bytearray(main)
    if needs_text:
        assert text is not None
        insns += text_insns
        relocs += [(main_len, r) for rs in elf.relocations_for(text) for r in rs]
    for base, r in relocs:
        sym = symtab[r.symbol_index]
        idx = base + r.offset // 8
        code, regs, off, imm = _INSN.unpack_from(insns, idx * 8)
        if code == LD_IMM64 and maps_sec is not None and sym.section_index == maps_sec.index:
            _INSN.pack_into(insns, idx * 8, code, (regs & 0x0F) | (consts.BPF_PSEUDO_MAP_FD << 4),
                            off, out.maps[sym.name].fileno())
        elif code == LD_IMM64 and sym.section_index in data_maps:
            _INSN.pack_into(insns, idx * 8, code, (regs & 0x0F) | (consts.BPF_PSEUDO_MAP_VALUE << 4),
                            off, data_maps[sym.section_index].fileno())
            c2, r2, o2, _ = _INSN.unpack_from(insns, idx * 8 + 8)
            _INSN.pack_into(insns, idx * 8 + 8, c2, r2, o2, sym.value + imm)
        elif code == LD_IMM64 and text is not None and sym.section_index == text.index:
            target = main_len + (sym.value + imm) // 8
            _INSN.pack_into(insns, idx * 8, code, (regs & 0x0F) | (consts.BPF_PSEUDO_FUNC << 4),
                            off, target - (idx + 1))
        elif code == CALL and text is not None and sym.section_index == text.index:
            target = main_len + sym.value // 8 + imm + 1   # libbpf's rule for call relocations
            _INSN.pack_into(insns, idx * 8, code, regs, off, target - (idx + 1))
        else:
            raise AssertionError(f"{path}: unsupported relocation against {sym.name!r} at insn {idx}")
    ptype, attach = kind
    kw: dict[str, Any] = {}
    if attach is not None:
        kw["expected_attach_type"] = attach
    if needs_text:
        # subprograms (callbacks) need func_info: one generic FUNC per function
        starts = [0] + sorted(main_len + f.value // 8 for f in elf.symbols()
                              if text is not None and f.section_index == text.index and f.type == 2)
        btf_fd = load_btf(func_btf(len(starts)))
        out.fds.append(btf_fd)
        kw["btf"] = btf_fd
        kw["func_info"] = b"".join(struct.pack("<II", start, 3 + i) for i, start in enumerate(starts))
    if sec.name.startswith("iter/"):
        assert vmlinux is not None, "iter programs need vmlinux BTF"
        kw["attach_btf_id"] = vmlinux.find_one("bpf_iter_" + sec.name[len("iter/"):], Kind.FUNC)
    out.progs[prog_name] = Program.load(ptype, bytes(insns), license, name=prog_name[:15], **kw)
