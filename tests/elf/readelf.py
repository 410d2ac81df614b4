"""llvm-readelf-19 as the oracle: its JSON output, flattened into plain Python values.

Everything here is parsed from llvm-readelf's output only (never from pybpf), so the
differential tests compare two independent readers of the same file.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

READELF = "llvm-readelf-19"


def readelf_json(path: str, *options: str) -> dict[str, Any]:
    """``llvm-readelf-19 --elf-output-style=JSON OPTIONS path`` as a dict."""
    proc = subprocess.run([READELF, "--elf-output-style=JSON", *options, path],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)[0]


def sections(path: str) -> list[dict[str, int | str]]:
    out = []
    for entry in readelf_json(path, "-S")["Sections"]:
        s = entry["Section"]
        out.append({
            "index": s["Index"], "name": s["Name"]["Name"], "name_offset": s["Name"]["Value"],
            "type": s["Type"]["Value"], "flags": s["Flags"]["Value"], "addr": s["Address"],
            "offset": s["Offset"], "size": s["Size"], "link": s["Link"], "info": s["Info"],
            "addralign": s["AddressAlignment"], "entsize": s["EntrySize"],
        })
    return out


def _symbols(entries: list[dict]) -> list[dict[str, int | str]]:
    out = []
    for entry in entries:
        s = entry["Symbol"]
        out.append({
            "name": s["Name"]["Name"], "name_offset": s["Name"]["Value"], "value": s["Value"],
            "size": s["Size"], "bind": s["Binding"]["Value"], "type": s["Type"]["Value"],
            "other": s["Other"]["Value"], "shndx": s["Section"]["Value"],
        })
    return out


def symbols(path: str) -> list[dict[str, int | str]]:
    """``.symtab`` entries in index order."""
    return _symbols(readelf_json(path, "-s")["Symbols"])


def dynamic_symbols(path: str) -> list[dict[str, int | str]]:
    """``.dynsym`` entries in index order (names carry ``@VER``/``@@VER``)."""
    return _symbols(readelf_json(path, "--dyn-syms")["DynamicSymbols"])


def relocations(path: str) -> dict[int, list[dict[str, int | None]]]:
    """Relocation section index -> entries (offset, type, symbol index, addend or None)."""
    out: dict[int, list[dict[str, int | None]]] = {}
    for group in readelf_json(path, "-r")["Relocations"]:
        rows = []
        for entry in group["Relocs"]:
            r = entry["Relocation"]
            rows.append({"offset": r["Offset"], "type": r["Type"]["Value"],
                         "symbol": r["Symbol"]["Value"], "addend": r.get("Addend")})
        out[group["SectionIndex"]] = rows
    return out


def program_headers(path: str) -> list[dict[str, int]]:
    out = []
    for entry in readelf_json(path, "-l").get("ProgramHeaders", []):
        p = entry["ProgramHeader"]
        out.append({"type": p["Type"]["Value"], "flags": p["Flags"]["Value"], "offset": p["Offset"],
                    "vaddr": p["VirtualAddress"], "paddr": p["PhysicalAddress"], "filesz": p["FileSize"],
                    "memsz": p["MemSize"], "align": p["Alignment"]})
    return out


# Note types llvm-readelf prints by name (elf.h values), owner "GNU".
_GNU_NOTE_TYPES = {"NT_GNU_ABI_TAG": 1, "NT_GNU_HWCAP": 2, "NT_GNU_BUILD_ID": 3,
                   "NT_GNU_GOLD_VERSION": 4, "NT_GNU_PROPERTY_TYPE_0": 5}


def notes(path: str) -> list[dict[str, Any]]:
    """Notes of SHT_NOTE sections: section name, owner, type number, data size, and the
    descriptor bytes when llvm-readelf dumps them (unknown note types) or the build id."""
    out = []
    for entry in readelf_json(path, "-n").get("NoteSections", []):
        sec = entry["NoteSection"]
        for n in sec["Notes"]:
            tname = n["Type"]
            m = re.search(r"\(0x([0-9a-fA-F]+)\)", tname)
            ntype = int(m.group(1), 16) if m else _GNU_NOTE_TYPES[tname.split(" ", 1)[0]]
            desc = None
            if "Description data" in n:
                desc = bytes(n["Description data"]["Bytes"])
            elif "Build ID" in n:
                desc = bytes.fromhex(n["Build ID"])
            out.append({"section": sec["Name"], "owner": n["Owner"], "type": ntype,
                        "size": n["Data size"], "desc": desc})
    return out


def gnu_readelf_stapsdt(path: str) -> list[dict[str, Any]]:
    """USDT probes as GNU readelf (binutils) decodes ``.note.stapsdt``: a second oracle."""
    proc = subprocess.run(["readelf", "-n", "--wide", path], capture_output=True, text=True, check=True)
    probes = []
    cur: dict[str, Any] | None = None
    for line in proc.stdout.splitlines():
        line = line.strip()
        if "Provider:" in line:
            cur = {"provider": line.split("Provider:", 1)[1].strip()}
            probes.append(cur)
        elif cur is not None and ":" in line:
            key, val = (p.strip() for p in line.split(":", 1))
            if key == "Name":
                cur["name"] = val
            elif key == "Location":
                loc, base, sem = re.findall(r"0x[0-9a-fA-F]+", val)
                cur.update(pc=int(loc, 16), base=int(base, 16), semaphore=int(sem, 16))
            elif key == "Arguments":
                cur["args"] = val
    return probes
