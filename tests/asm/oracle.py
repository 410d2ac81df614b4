"""The LLVM oracles of the instruction-layer tests, and a test-only ELF section reader.

* :func:`mc_encode` runs ``llvm-mc-19 -show-encoding --print-imm-hex`` on assembly text and
  returns (canonical text, encoding bytes) per instruction.
* :func:`objdump_raw` wraps raw instruction bytes into an object with llvm-mc (``.byte``) and
  returns llvm-objdump-19's listing of it as {byte offset: (raw bytes, text)}.
* :func:`code_sections` reads the executable sections, their symbols and relocations of an
  ELF object with a few lines of ``struct`` (the pybpf.elf reader is not what these tests
  test, and must not be trusted by them).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field

MC = "llvm-mc-19"
OBJDUMP = "llvm-objdump-19"

_ENC = re.compile(r"^\t(?P<text>.*?)\s+# encoding: \[(?P<bytes>[^\]]*)\]\s*$")


def mc_encode(text: str, *, triple: str = "bpfel", mcpu: str = "v4") -> list[tuple[str, bytes]]:
    """(llvm's canonical text, bytes) for each instruction of ``text``."""
    proc = subprocess.run([MC, "-triple", triple, f"-mcpu={mcpu}", "-show-encoding",
                           "--print-imm-hex"], input=text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"llvm-mc failed:\n{proc.stderr}")
    out = []
    for line in proc.stdout.splitlines():
        m = _ENC.match(line)
        if m:
            raw = bytes(int(b, 16) for b in m.group("bytes").split(","))
            out.append((m.group("text").strip(), raw))
    return out


def mc_disassemble(encodings: list[bytes], *, triple: str = "bpfel", mcpu: str = "v4"
                   ) -> list[str]:
    """``llvm-mc --disassemble`` text of each (valid) encoding, in order."""
    source = "\n".join(" ".join(f"0x{b:02x}" for b in raw) for raw in encodings) + "\n"
    proc = subprocess.run([MC, "--disassemble", "-triple", triple, f"-mcpu={mcpu}",
                           "--print-imm-hex"], input=source, capture_output=True, text=True)
    if proc.returncode != 0 or "warning" in proc.stderr:
        raise AssertionError(f"llvm-mc --disassemble failed:\n{proc.stderr}")
    return [line.strip() for line in proc.stdout.splitlines()
            if line.startswith("\t") and line.strip() != ".text"]


def mc_object(text: str, path: str, *, triple: str = "bpfel", mcpu: str = "v4") -> None:
    """Assemble ``text`` into an ELF object at ``path`` with llvm-mc."""
    proc = subprocess.run([MC, "-triple", triple, f"-mcpu={mcpu}", "-filetype=obj", "-o", path],
                          input=text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"llvm-mc failed:\n{proc.stderr}")


def objdump(path: str, *args: str) -> str:
    proc = subprocess.run([OBJDUMP, *args, path], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"llvm-objdump failed:\n{proc.stderr}")
    return proc.stdout


_LINE = re.compile(r"^\s*(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\t(.*)$")


def objdump_raw(chunks: list[bytes], *, mcpu: str = "v1", triple: str = "bpfel"
                ) -> dict[int, tuple[str, str]]:
    """llvm-objdump -d -z of the concatenated ``chunks``: {byte offset: (raw hex, text)}.

    The listing's index is offset // 8, which is exact because every chunk is a multiple of
    8 bytes; the jump annotation ``<...>`` is kept in the text.
    """
    lines = ['.section .text,"ax",@progbits']
    for c in chunks:
        lines.append(".byte " + ",".join(str(b) for b in c))
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "raw.o")
        mc_object("\n".join(lines) + "\n", obj, triple=triple)
        listing = objdump(obj, "-d", "-z", f"--mcpu={mcpu}")
    out: dict[int, tuple[str, str]] = {}
    for line in listing.splitlines():
        m = _LINE.match(line)
        if m:
            out[int(m.group(1)) * 8] = (m.group(2), m.group(3))
    return out


def strip_annotation(text: str) -> str:
    """Drop llvm-objdump's `` <sym+0x..>`` jump annotation (not the ``<<=`` operator)."""
    if text.endswith(">") and not text.startswith("<"):
        return text[:text.rindex(" <")]
    return text


# --- test-only ELF reading --------------------------------------------------------------

@dataclass
class CodeSection:
    index: int
    name: str
    data: bytes
    symbols: list[tuple[str, int, int]] = field(default_factory=list)  # (name, value, type)
    relocations: list[tuple[int, int, str]] = field(default_factory=list)  # (off, type, sym)


def code_sections(path: str) -> tuple[str, list[CodeSection]]:
    """(byte order, executable sections in header order) of a 64-bit ELF object."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:4] == b"\x7fELF" and raw[4] == 2
    e = "<" if raw[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", raw, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", raw, 0x3A)
    shdrs = [struct.unpack_from(e + "IIQQQQIIQQ", raw, shoff + i * shentsize)
             for i in range(shnum)]

    def strtab(idx: int, off: int) -> str:
        base = shdrs[idx][4] + off
        return raw[base:raw.index(b"\0", base)].decode()

    names = [strtab(shstrndx, h[0]) for h in shdrs]
    sections: dict[int, CodeSection] = {}
    for i, h in enumerate(shdrs):
        if h[1] == 1 and h[2] & 0x4:  # SHT_PROGBITS, SHF_EXECINSTR
            sections[i] = CodeSection(i, names[i], raw[h[4]:h[4] + h[5]])
    symbols: list[tuple[str, int, int, int]] = []
    for i, h in enumerate(shdrs):
        if h[1] != 2:  # SHT_SYMTAB
            continue
        for k in range(h[5] // 24):
            name_off, info, other, shndx, value, size = struct.unpack_from(
                e + "IBBHQQ", raw, h[4] + k * 24)
            symbols.append((strtab(h[6], name_off) if name_off else "", info & 0xF, shndx, value))
    for name, typ, shndx, value in symbols:
        if shndx in sections:
            sections[shndx].symbols.append((name, value, typ))
    for h in shdrs:
        if h[1] == 9 and h[7] in sections:  # SHT_REL, sh_info = target section
            for k in range(h[5] // 16):
                off, info = struct.unpack_from(e + "QQ", raw, h[4] + k * 16)
                sym = symbols[info >> 32]
                name = sym[0] or (names[sym[2]] if sym[1] == 3 else "")
                sections[h[7]].relocations.append((off, info & 0xFFFFFFFF, name))
    return ("little" if e == "<" else "big"), [sections[i] for i in sorted(sections)]


BPF_RELOC_NAMES = {0: "R_BPF_NONE", 1: "R_BPF_64_64", 2: "R_BPF_64_ABS64",
                   3: "R_BPF_64_ABS32", 4: "R_BPF_64_NODYLD32", 10: "R_BPF_64_32"}
