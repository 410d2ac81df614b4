"""An independent reader of kernel BTF for the tests: bpftool's JSON dump, as a TypeSource.

This is the oracle the generated layouts are checked against (bpftool parses BTF with libbpf,
not with pybpf.btf).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Iterable

from pybpf.sys.gen_uapi import CMember, CType

_SKIP = ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG")


def _enum_value(val: int, t: dict[str, Any]) -> int:
    """bpftool 7.1 prints some 32-bit values sign-extended to 64 bits; BTF stores 32 bits."""
    if t["kind"] == "ENUM":
        val &= 0xFFFFFFFF
        if t["encoding"] == "SIGNED" and val >= 1 << 31:
            val -= 1 << 32
    return val


class BpftoolTypeSource:
    """Types of a BTF file as ``bpftool btf dump file PATH -j`` reports them."""

    def __init__(self, path: str = "/sys/kernel/btf/vmlinux", release: str | None = None,
                 dump: dict[str, Any] | None = None) -> None:
        if dump is None:
            out = subprocess.run(["bpftool", "btf", "dump", "file", path, "-j"],
                                 capture_output=True, check=True).stdout
            dump = json.loads(out)
        self.types: list[dict[str, Any]] = dump["types"]
        self.by_id = {t["id"]: t for t in self.types}
        self.release = release or os.uname().release
        self._memo: dict[int, CType] = {}

    def raw(self, kind: str, name: str) -> dict[str, Any] | None:
        kinds = ("ENUM", "ENUM64") if kind == "enum" else (kind.upper(),)
        for t in self.types:
            if t["kind"] in kinds and t["name"] == name:
                return t
        return None

    def named(self, kind: str, name: str) -> CType | None:
        t = self.raw(kind, name)
        return None if t is None else self.convert(t["id"])

    def anonymous_enums(self) -> Iterable[CType]:
        for t in self.types:
            if t["kind"] in ("ENUM", "ENUM64") and t["name"] == "(anon)":
                yield self.convert(t["id"])

    def convert(self, tid: int) -> CType:
        if tid in self._memo:
            return self._memo[tid]
        t = self.by_id[tid]
        while t["kind"] in _SKIP:
            t = self.by_id[t["type_id"]]
            tid = t["id"]
            if tid in self._memo:
                return self._memo[tid]
        kind = t["kind"]
        name = "" if t["name"] == "(anon)" else t["name"]
        if kind == "INT":
            ct = CType("int", name, t["size"], signed=t["encoding"] == "SIGNED",
                       is_char=name == "char" or t["encoding"] == "CHAR",
                       is_bool=t["encoding"] == "BOOL")
        elif kind in ("ENUM", "ENUM64"):
            ct = CType("enum", name, t["size"], signed=t["encoding"] == "SIGNED",
                       values=[(v["name"], _enum_value(v["val"], t)) for v in t["values"]])
        elif kind == "PTR":
            ct = CType("ptr", "", 8)
        elif kind == "ARRAY":
            ct = CType("array", "", 0, elem=self.convert(t["type_id"]), nelems=t["nr_elems"])
        elif kind in ("STRUCT", "UNION"):
            ct = CType(kind.lower(), name, t["size"])
            self._memo[tid] = ct
            ct.members = [CMember("" if m["name"] == "(anon)" else m["name"],
                                  self.convert(m["type_id"]), m["bits_offset"],
                                  m.get("bitfield_size", 0)) for m in t["members"]]
        else:
            ct = CType(kind.lower(), name, t.get("size", 0))
        self._memo[tid] = ct
        return ct
