"""What ``pybpf object dump OBJ`` shows: an :class:`~pybpf.object.spec.ObjectSpec` as data or text.

:func:`describe` returns plain JSON-ready data (sections, programs with their types and
relocations, maps, variables with their initial values, externs, CO-RE record counts);
:func:`render` turns it into the text listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pybpf.object.maps import MapSpec
    from pybpf.object.programs import ProgramSpec
    from pybpf.object.spec import ObjectSpec

__all__ = ["describe", "render"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _prog_type(value: Any) -> Any:
    if value is None:
        return None
    from pybpf.sys.names import parse_prog_type, prog_type_name

    try:
        return prog_type_name(parse_prog_type(value))
    except Exception:  # noqa: BLE001 - a type this kernel's UAPI lacks
        return str(value)


def _attach_type(value: Any) -> Any:
    if value is None:
        return None
    from pybpf.sys.names import attach_type_name, parse_attach_type

    try:
        return attach_type_name(parse_attach_type(value))
    except Exception:  # noqa: BLE001
        return str(value)


def _program(spec: "ObjectSpec", p: "ProgramSpec") -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name, "section": p.section_name, "subprogram": p.is_subprog,
        "insn_offset": p.insn_offset, "insns": p.insn_count,
    }
    if not p.is_subprog:
        from pybpf.object.struct_ops import is_struct_ops_program

        # a struct_ops program's "attach type" is its member index (libbpf 1.1 at open)
        eat = p.expected_attach_type if is_struct_ops_program(p) else _attach_type(p.expected_attach_type)
        out.update(type=_prog_type(p.type), expected_attach_type=eat,
                   autoload=p.autoload, sleepable=p.sleepable, attach_target=p.btf_attach_name(),
                   auto_attach=p.definition.auto_attach if p.definition is not None else None)
    maps = spec.maps.list()
    rels = []
    for r in p.relocations:
        row: dict[str, Any] = {"insn": r.insn, "kind": r.kind_name, "symbol": r.symbol}
        if r.map_index >= 0:
            row["map"] = maps[r.map_index].name
        if r.kind_name == "data":
            row["offset"] = r.sym_off
        if r.extern_index >= 0:
            row["extern"] = spec.externs[r.extern_index].name
        rels.append(row)
    out["relocations"] = rels
    return out


def _map(mp: "MapSpec") -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": mp.name, "type": mp.type_name, "key_size": mp.key_size, "value_size": mp.value_size,
        "max_entries": mp.max_entries, "flags": mp.flags, "kind": mp.kind,
    }
    if mp.is_internal:
        out["section"] = mp.real_name
    if mp.btf_key_type_id or mp.btf_value_type_id:
        out["btf_key_type_id"] = mp.btf_key_type_id
        out["btf_value_type_id"] = mp.btf_value_type_id
    if mp.numa_node:
        out["numa_node"] = mp.numa_node
    if mp.map_extra:
        out["map_extra"] = mp.map_extra
    if mp.pinning:
        out["pinning"] = "by_name"
    if mp.inner is not None:
        out["inner"] = _map(mp.inner)
    if mp.init_slots:
        out["init_slots"] = {str(k): v for k, v in sorted(mp.init_slots.items())}
    ops = mp.struct_ops
    if ops is not None:
        out["struct_ops"] = {"type": ops.type_name, "section": ops.section, "autocreate": mp.autocreate,
                             "programs": dict(ops.programs)}
    return out


def describe(spec: "ObjectSpec") -> dict[str, Any]:
    """Everything :mod:`pybpf.object.dump` shows, as JSON-ready data."""
    from pybpf.btf.values import decode

    variables = []
    for v in spec.variables.values():
        row: dict[str, Any] = {"name": v.name, "section": v.section, "offset": v.offset, "size": v.size,
                               "type": v.type_name, "linkage": {0: "static", 1: "global"}.get(v.linkage, "extern")}
        try:
            row["value"] = _jsonable(decode(v.btf, v.type_id, v.raw))
        except Exception:  # noqa: BLE001 - a type values cannot decode: show bytes
            row["value"] = v.raw.hex()
        variables.append(row)
    externs = []
    for e in spec.externs:
        row = {"name": e.name, "kind": e.kind, "weak": e.weak}
        if e.kind == "kconfig":
            row.update(type=e.kcfg_type, size=e.size, offset=e.offset)
        else:
            row.update(type="func" if e.is_func else ("typed" if e.type_id else "typeless"))
        externs.append(row)
    core = []
    if spec.btf_ext is not None:
        for sec_name, recs in spec.btf_ext.core_relos.items():
            core.append({"section": sec_name, "count": len(recs)})
    return {
        "name": spec.name, "path": spec.path, "license": spec.license, "kern_version": spec.kern_version,
        "sections": [{"index": s.index, "name": s.name, "type": s.type_name, "flags": s.flags, "size": s.size}
                     for s in spec.sections],
        "programs": [_program(spec, p) for p in spec.all_programs],
        "maps": [_map(mp) for mp in spec.maps.list()],
        "variables": variables,
        "externs": externs,
        "core_relocations": core,
    }


def render(info: dict[str, Any]) -> str:
    """The text listing of :func:`describe`'s data."""
    lines = [f"object {info['name']!r}" + (f" ({info['path']})" if info["path"] else ""),
             f"license: {info['license']!r}" + (f", kern_version: {info['kern_version']:#x}"
                                                  if info["kern_version"] is not None else "")]
    lines.append("\nsections:")
    for s in info["sections"]:
        lines.append(f"  [{s['index']:2}] {s['name']:<32} {s['type']:<14} flags {s['flags']:#x} "
                     f"size {s['size']}")
    lines.append("\nprograms:")
    for p in info["programs"]:
        if p["subprogram"]:
            head = f"  {p['name']}: subprogram in {p['section']}, {p['insns']} insns at insn {p['insn_offset']}"
        else:
            eat = p["expected_attach_type"]
            if isinstance(eat, int):
                attach = f", member #{eat}"
            else:
                attach = f", attach {eat}" if eat else ""
            target = f", target {p['attach_target']}" if p["attach_target"] else ""
            flags = "" if p["autoload"] else ", autoload off"
            head = (f"  {p['name']}: {p['type'] or 'UNKNOWN TYPE'} (sec '{p['section']}'{attach}{target}{flags}), "
                    f"{p['insns']} insns")
        lines.append(head)
        for r in p["relocations"]:
            what = r.get("map") or r.get("extern") or r["symbol"]
            extra = f" + {r['offset']}" if r.get("offset") else ""
            lines.append(f"    insn {r['insn']:>5}: {r['kind']:<9} {what}{extra}")
    lines.append("\nmaps:")
    for m in info["maps"]:
        lines.append(_map_line(m, "  "))
        if "inner" in m:
            lines.append(_map_line(m["inner"], "    inner "))
        for slot, target in m.get("init_slots", {}).items():
            lines.append(f"    slot [{slot}] = {target}")
        ops = m.get("struct_ops")
        if ops is not None:
            off = "" if ops["autocreate"] else ", autocreate off"
            lines.append(f"    struct {ops['type']} in {ops['section']}{off}")
            for member, prog in ops["programs"].items():
                lines.append(f"    .{member} = {prog}")
    if info["variables"]:
        lines.append("\nvariables:")
        for v in info["variables"]:
            lines.append(f"  {v['name']}: {v['type']} ({v['linkage']}) in {v['section']}+{v['offset']} "
                         f"size {v['size']} = {v['value']!r}")
    if info["externs"]:
        lines.append("\nexterns:")
        for e in info["externs"]:
            detail = f", {e['size']} bytes at +{e['offset']}" if e["kind"] == "kconfig" else ""
            lines.append(f"  {e['name']}: {e['kind']} {e['type']}{' weak' if e['weak'] else ''}{detail}")
    if info["core_relocations"]:
        lines.append("\nCO-RE relocations:")
        for c in info["core_relocations"]:
            lines.append(f"  {c['section']}: {c['count']}")
    return "\n".join(lines) + "\n"


def _map_line(m: dict[str, Any], indent: str) -> str:
    extra = []
    if "section" in m:
        extra.append(f"section {m['section']}")
    if m.get("pinning"):
        extra.append("pinned by name")
    if m.get("btf_value_type_id") or m.get("btf_key_type_id"):
        extra.append(f"btf key {m.get('btf_key_type_id', 0)} value {m.get('btf_value_type_id', 0)}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return (f"{indent}{m['name']}: {m['type']} key {m['key_size']} value {m['value_size']} "
            f"max_entries {m['max_entries']} flags {m['flags']:#x}{tail}")
