"""Sanitizing BTF for kernels without newer kinds, as libbpf's bpf_object__sanitize_btf does.

The expectation is computed here, independently, from libbpf's rules applied to bpftool's JSON
listing of the original BTF; the result is bpftool's JSON listing of the sanitized bytes.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest

from pybpf.btf import BTF
from pybpf.btf.builder import BTFBuilder
from pybpf.btf.sanitize import BTFFeatures, needs_sanitizing, sanitize

from .helpers import bpftool_types, dump_section
from .test_builder import build_every_kind

FEATURES = [f.name for f in dataclasses.fields(BTFFeatures)]


def _int1(t: dict) -> dict:
    return {"id": t["id"], "kind": "INT", "name": t["name"], "size": 1, "bits_offset": 0, "nr_bits": 8,
            "encoding": "(none)"}


def libbpf_rules(types: list[dict], f: BTFFeatures) -> list[dict]:
    """libbpf's sanitization (libbpf.c, bpf_object__sanitize_btf) on bpftool's listing."""
    orig = {t["id"]: t for t in types}
    out = []
    placeholder = None
    next_id = max(orig) + 1
    for t in copy.deepcopy(types):
        k = t["kind"]
        if (not f.datasec and k == "VAR") or (not f.decl_tag and k == "DECL_TAG"):
            t = _int1(t)
        elif not f.datasec and k == "DATASEC":
            new_name = t["name"].replace(".", "_").replace("?", "_")
            t = {"id": t["id"], "kind": "STRUCT", "name": new_name, "size": t["size"], "vlen": t["vlen"],
                 "members": [{"name": orig[v["type_id"]]["name"], "type_id": v["type_id"],
                              "bits_offset": v["offset"] * 8} for v in t["vars"]]}
        elif not f.qmark_datasec and k == "DATASEC" and t["name"].startswith("?"):
            t["name"] = "_" + t["name"][1:]
        elif not f.func and k == "FUNC_PROTO":
            t = {"id": t["id"], "kind": "ENUM", "name": t["name"], "encoding": "UNSIGNED", "size": 4,
                 "vlen": t["vlen"], "values": [{"name": p["name"], "val": p["type_id"]} for p in t["params"]]}
        elif not f.func and k == "FUNC":
            t = {"id": t["id"], "kind": "TYPEDEF", "name": t["name"], "type_id": t["type_id"]}
        elif not f.func_global and k == "FUNC":
            t["linkage"] = "static"
        elif not f.float and k == "FLOAT":
            t = {"id": t["id"], "kind": "STRUCT", "name": "(anon)", "size": t["size"], "vlen": 0, "members": []}
        elif not f.type_tag and k == "TYPE_TAG":
            t = {"id": t["id"], "kind": "CONST", "name": "(anon)", "type_id": t["type_id"]}
        elif not f.enum64 and k == "ENUM":
            if t["encoding"] == "SIGNED":
                for v in t["values"]:
                    if v["val"] < 0:
                        v["val"] += 1 << 64  # bpftool's JSON of an unsigned enum sign-extends
            t["encoding"] = "UNSIGNED"
        elif not f.enum64 and k == "ENUM64":
            if placeholder is None:
                placeholder = next_id
            t = {"id": t["id"], "kind": "UNION", "name": t["name"], "size": t["size"], "vlen": t["vlen"],
                 "members": [{"name": v["name"], "type_id": placeholder, "bits_offset": 0} for v in t["values"]]}
        out.append(t)
    if placeholder is not None:
        out.append({"id": placeholder, "kind": "INT", "name": "enum64_placeholder", "size": 1, "bits_offset": 0,
                    "nr_bits": 8, "encoding": "(none)"})
    # (libbpf renames DATASEC names in place in the string section; no other type of these
    # inputs shares those strings, so only the DATASECs show the new names)
    return out


def _builder_btf() -> bytes:
    b = BTFBuilder()
    build_every_kind(b)
    i32 = 1
    v = b.add_var("optional", i32, 1)
    b.add_datasec("?.data.opt", 4, [(v, 0, 4)])
    return b.encode()


@pytest.fixture(params=["btf_kinds.bpf.c", "btf_values.bpf.c", "builder"])
def raw_btf(request, compile_bpf, require_tools, tmp_path):
    require_tools("bpftool", "llvm-objcopy-19")
    if request.param == "builder":
        return _builder_btf()
    return dump_section(compile_bpf(request.param), ".BTF", tmp_path)


@pytest.mark.parametrize("missing", FEATURES + ["all"])
def test_sanitized_btf_follows_libbpf(raw_btf, tmp_path, missing):
    if missing == "all":
        features = BTFFeatures.none()
    else:
        features = dataclasses.replace(BTFFeatures(), **{missing: False})
    src = tmp_path / "orig.btf"
    src.write_bytes(raw_btf)
    out = tmp_path / "sanitized.btf"
    out.write_bytes(sanitize(raw_btf, features))
    expected = libbpf_rules(bpftool_types("file", str(src)), features)
    assert bpftool_types("file", str(out)) == expected
    assert BTF.parse(out.read_bytes()).endian == BTF.parse(raw_btf).endian


def test_nothing_missing_is_identity(raw_btf):
    assert not needs_sanitizing(BTFFeatures())
    assert needs_sanitizing(BTFFeatures(float=False))
    assert sanitize(raw_btf, BTFFeatures()) == raw_btf
