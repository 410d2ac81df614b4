"""Convert pybpf.btf types to the shape of ``bpftool btf dump -j`` records, for comparison.

Only the field mapping lives here (bpftool's names: type_id, bits_offset, nr_elems, …); the
values come from pybpf's parser and the expectation from bpftool itself.
"""

from __future__ import annotations

from pybpf.btf import BTF, Kind, model as m

_ENC = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_FUNC_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_VAR_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def as_bpftool(btf: BTF, t: m.Type) -> dict:
    d: dict = {"id": t.id, "kind": t.kind.name, "name": t.name or "(anon)"}
    k = t.kind
    if isinstance(t, m.Int):
        d.update(size=t.size, bits_offset=t.offset, nr_bits=t.bits, encoding=_ENC.get(t.encoding, "UNKN"))
    elif k in (Kind.PTR, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPEDEF, Kind.TYPE_TAG):
        d["type_id"] = t.type  # type: ignore[attr-defined]
    elif isinstance(t, m.Array):
        d.update(type_id=t.type, index_type_id=t.index_type, nr_elems=t.nelems)
    elif isinstance(t, m.Composite):
        d.update(size=t.size, vlen=len(t.members))
        mems = []
        for mem in t.members:
            md = {"name": mem.name or "(anon)", "type_id": mem.type, "bits_offset": mem.bit_offset}
            if mem.bitfield_size:
                md["bitfield_size"] = mem.bitfield_size
            mems.append(md)
        d["members"] = mems
    elif isinstance(t, m.Enum):  # also Enum64
        values = [v.value for v in t.values]
        if t.kind == Kind.ENUM and not t.signed:
            # bpftool 7.1's JSON widens the record's __s32 to u64 with sign extension, so an
            # unsigned 32-bit value >= 2**31 prints as 2**64 - 2**32 + value (its text is right).
            values = [v + (1 << 64) - (1 << 32) if v >= 1 << 31 else v for v in values]
        d.update(encoding="SIGNED" if t.signed else "UNSIGNED", size=t.size, vlen=len(t.values),
                 values=[{"name": v.name, "val": val} for v, val in zip(t.values, values)])
    elif isinstance(t, m.Fwd):
        d["fwd_kind"] = "union" if t.is_union else "struct"
    elif isinstance(t, m.Func):
        d.update(type_id=t.type, linkage=_FUNC_LINKAGE.get(t.linkage, "(unknown)"))
    elif isinstance(t, m.FuncProto):
        d.update(ret_type_id=t.type, vlen=len(t.params),
                 params=[{"name": p.name or "(anon)", "type_id": p.type} for p in t.params])
    elif isinstance(t, m.Var):
        d.update(type_id=t.type, linkage=_VAR_LINKAGE.get(t.linkage, "(unknown)"))
    elif isinstance(t, m.Datasec):
        d.update(size=t.size, vlen=len(t.vars),
                 vars=[{"type_id": v.type, "offset": v.offset, "size": v.size} for v in t.vars])
    elif isinstance(t, m.Float):
        d["size"] = t.size
    elif isinstance(t, m.DeclTag):
        d.update(type_id=t.type, component_idx=t.component_idx)
    return d
