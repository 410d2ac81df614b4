"""Shared helpers for the BTF tests: running the oracles and building BTF from their output.

Only plumbing lives here (running bpftool/llvm tools, pinning objects in bpffs, turning
bpftool's JSON back into bytes); expectations always come from the oracles themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from typing import Iterator

from pybpf.btf import BTF, model as m
from pybpf.btf.builder import BTFBuilder

VMLINUX = "/sys/kernel/btf/vmlinux"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def bpftool(*args: str, check: bool = True) -> str:
    return run("bpftool", *args, check=check).stdout


def bpftool_types(*args: str) -> list[dict]:
    """``bpftool btf dump ... -j`` parsed: the list of type records."""
    return json.loads(bpftool("btf", "dump", *args, "-j"))["types"]


def dump_section(obj: str, name: str, tmp_path) -> bytes:
    """The bytes of ELF section ``name`` of ``obj`` (via llvm-objcopy-19)."""
    out = tmp_path / f"sec-{uuid.uuid4().hex}.bin"
    run("llvm-objcopy-19", f"--dump-section={name}={out}", obj, str(tmp_path / f"copy-{uuid.uuid4().hex}.o"))
    return out.read_bytes()


_ENC = {"(none)": 0, "SIGNED": 1, "CHAR": 2, "BOOL": 4}
_LINK = {"static": 0, "global": 1, "extern": 2}
_REFS = {"PTR": m.Pointer, "CONST": m.Const, "VOLATILE": m.Volatile, "RESTRICT": m.Restrict,
         "TYPEDEF": m.Typedef, "TYPE_TAG": m.TypeTag}


def _name(n: str) -> str:
    return "" if n == "(anon)" else n


def btf_from_bpftool(types: list[dict], base: BTF | None = None) -> BTF:
    """Rebuild BTF bytes from bpftool's JSON listing (ids must be consecutive from the start)."""
    b = BTFBuilder(base)
    for t in types:
        assert t["id"] == b.next_id, "bpftool listing must be complete and in id order"
        k, n = t["kind"], _name(t["name"])
        if k == "INT":
            b.add_int(n, t["size"], _ENC[t["encoding"]], t["nr_bits"], t["bits_offset"])
        elif k in _REFS:
            b.add_type(_REFS[k](0, n, t["type_id"]))
        elif k == "ARRAY":
            b.add_array(t["type_id"], t["index_type_id"], t["nr_elems"])
        elif k in ("STRUCT", "UNION"):
            mems = [(_name(x["name"]), x["type_id"], x["bits_offset"], x.get("bitfield_size", 0)) for x in t["members"]]
            (b.add_struct if k == "STRUCT" else b.add_union)(n, t["size"], mems)
        elif k == "ENUM":
            vals = []
            for v in t["values"]:
                val = v["val"]
                if t["encoding"] == "UNSIGNED" and val >= 1 << 32:  # bpftool's sign-extension
                    val -= (1 << 64) - (1 << 32)
                vals.append((v["name"], val))
            b.add_enum(n, t["size"], vals, signed=t["encoding"] == "SIGNED")
        elif k == "ENUM64":
            b.add_enum64(n, t["size"], [(v["name"], v["val"]) for v in t["values"]],
                         signed=t["encoding"] == "SIGNED")
        elif k == "FWD":
            b.add_fwd(n, t["fwd_kind"] == "union")
        elif k == "FUNC":
            b.add_func(n, t["type_id"], _LINK[t["linkage"]])
        elif k == "FUNC_PROTO":
            b.add_func_proto(t["ret_type_id"], [(_name(p["name"]), p["type_id"]) for p in t["params"]])
        elif k == "VAR":
            b.add_var(n, t["type_id"], _LINK[t["linkage"]])
        elif k == "DATASEC":
            b.add_datasec(n, t["size"], [(v["type_id"], v["offset"], v["size"]) for v in t["vars"]])
        elif k == "FLOAT":
            b.add_float(n, t["size"])
        elif k == "DECL_TAG":
            b.add_decl_tag(n, t["type_id"], t["component_idx"])
        else:
            raise AssertionError(f"unexpected kind {k}")
    return b.build()


@contextlib.contextmanager
def bpffs_loaded(obj: str) -> Iterator[str]:
    """``bpftool prog loadall OBJ DIR pinmaps DIR_maps``; yields the maps dir; unpins at exit."""
    tag = f"pybpf_btf_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    progs = f"/sys/fs/bpf/{tag}"
    maps = f"/sys/fs/bpf/{tag}_maps"
    os.mkdir(maps)
    try:
        run("bpftool", "prog", "loadall", obj, progs, "pinmaps", maps)
        yield maps
    finally:
        for d in (progs, maps):
            if os.path.isdir(d):
                for name in os.listdir(d):
                    os.unlink(os.path.join(d, name))
                os.rmdir(d)
