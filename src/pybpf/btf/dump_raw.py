"""``btf dump … format raw``: bpftool's raw text and JSON listing of BTF types, byte for byte.

Matches Debian's bpftool 7.1 (libbpf 1.1), including its quirks:

* JSON prints an unsigned 32-bit ENUM value ≥ 2³¹ sign-extended to 64 bits
  (``2**64 - 2**32 + v``), as bpftool widens the record's ``__s32`` before printing it as
  unsigned; its text output prints the plain value;
* VAR lines say ``type_id=N, linkage=…`` (with a comma), other kinds do not;
* DATASEC entries in text name their variable: `` (VAR 'x')``.

For split BTF only the split part is listed (ids continue after the base), as bpftool does.
"""

from __future__ import annotations

import gc
import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["dump_raw", "raw_lines", "raw_json", "dump_json"]

_KIND_STR = (
    "UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
    "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG",
    "ENUM64",
)
_INT_ENC = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_FUNC_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_VAR_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def _kind_str(kind: int) -> str:
    return _KIND_STR[kind] if kind < len(_KIND_STR) else "UNKNOWN"


def _ids(btf: BTF, ids: Iterable[int] | None) -> Iterable[int]:
    if ids is None:
        return range(btf.start_id, len(btf))
    return ids


def raw_lines(btf: BTF, ids: Iterable[int] | None = None) -> Iterator[str]:
    """One text block per type (no trailing newline), as ``bpftool btf dump … format raw``."""
    tab = btf.table
    kinds, names, st, vlens, kflags = tab.kinds, tab.names, tab.size_type, tab.vlens, tab.kflags
    words, woff = tab.words, tab.woff
    string = tab.string
    count = tab.count
    for tid in _ids(btf, ids):
        tab.check_id(tid)
        k = kinds[tid]
        head = f"[{tid}] {_kind_str(k)} '{names[tid] or '(anon)'}'"
        w = woff[tid] + 3
        if k == 1:  # INT
            raw = words[w]
            yield (f"{head} size={st[tid]} bits_offset={(raw >> 16) & 0xFF} nr_bits={raw & 0xFF} "
                   f"encoding={_INT_ENC.get((raw >> 24) & 0x0F, 'UNKN')}")
        elif k in (2, 8, 9, 10, 11, 18):  # PTR TYPEDEF VOLATILE CONST RESTRICT TYPE_TAG
            yield f"{head} type_id={st[tid]}"
        elif k == 3:  # ARRAY
            yield f"{head} type_id={words[w]} index_type_id={words[w + 1]} nr_elems={words[w + 2]}"
        elif k in (4, 5):  # STRUCT UNION
            vlen = vlens[tid]
            parts = [f"{head} size={st[tid]} vlen={vlen}"]
            it = iter(words[w:w + 3 * vlen].tolist())
            if kflags[tid]:
                for n, t, o in zip(it, it, it):
                    bsz = o >> 24
                    line = f"\t'{string(n) if n else '(anon)'}' type_id={t} bits_offset={o & 0xFFFFFF}"
                    parts.append(f"{line} bitfield_size={bsz}" if bsz else line)
            else:
                for n, t, o in zip(it, it, it):
                    parts.append(f"\t'{string(n) if n else '(anon)'}' type_id={t} bits_offset={o}")
            yield "\n".join(parts)
        elif k == 6:  # ENUM
            vlen = vlens[tid]
            signed = kflags[tid]
            parts = [f"{head} encoding={'SIGNED' if signed else 'UNSIGNED'} size={st[tid]} vlen={vlen}"]
            it = iter(words[w:w + 2 * vlen].tolist())
            for n, v in zip(it, it):
                if signed and v & 0x80000000:
                    v -= 1 << 32
                parts.append(f"\t'{string(n) if n else '(anon)'}' val={v}")
            yield "\n".join(parts)
        elif k == 19:  # ENUM64
            vlen = vlens[tid]
            signed = kflags[tid]
            parts = [f"{head} encoding={'SIGNED' if signed else 'UNSIGNED'} size={st[tid]} vlen={vlen}"]
            it = iter(words[w:w + 3 * vlen].tolist())
            for n, lo, hi in zip(it, it, it):
                v = (hi << 32) | lo
                if signed:
                    if v >= 1 << 63:
                        v -= 1 << 64
                    parts.append(f"\t'{string(n) if n else '(anon)'}' val={v}LL")
                else:
                    parts.append(f"\t'{string(n) if n else '(anon)'}' val={v}ULL")
            yield "\n".join(parts)
        elif k == 7:  # FWD
            yield f"{head} fwd_kind={'union' if kflags[tid] else 'struct'}"
        elif k == 12:  # FUNC
            yield f"{head} type_id={st[tid]} linkage={_FUNC_LINKAGE.get(vlens[tid], '(unknown)')}"
        elif k == 13:  # FUNC_PROTO
            vlen = vlens[tid]
            parts = [f"{head} ret_type_id={st[tid]} vlen={vlen}"]
            it = iter(words[w:w + 2 * vlen].tolist())
            for n, t in zip(it, it):
                parts.append(f"\t'{string(n) if n else '(anon)'}' type_id={t}")
            yield "\n".join(parts)
        elif k == 14:  # VAR
            yield f"{head} type_id={st[tid]}, linkage={_VAR_LINKAGE.get(words[w], '(unknown)')}"
        elif k == 15:  # DATASEC
            vlen = vlens[tid]
            parts = [f"{head} size={st[tid]} vlen={vlen}"]
            it = iter(words[w:w + 3 * vlen].tolist())
            for t, o, s in zip(it, it, it):
                line = f"\ttype_id={t} offset={o} size={s}"
                if t < count:
                    line += f" ({_kind_str(kinds[t])} '{names[t] or '(anon)'}')"
                parts.append(line)
            yield "\n".join(parts)
        elif k == 16:  # FLOAT
            yield f"{head} size={st[tid]}"
        elif k == 17:  # DECL_TAG
            idx = words[w]
            if idx & 0x80000000:
                idx -= 1 << 32
            yield f"{head} type_id={st[tid]} component_idx={idx}"
        else:
            yield head


def dump_raw(btf: BTF, ids: Iterable[int] | None = None) -> str:
    """The whole raw text listing (every line newline-terminated)."""
    lines = list(raw_lines(btf, ids))
    return "\n".join(lines) + "\n" if lines else ""


def raw_json(btf: BTF, ids: Iterable[int] | None = None) -> dict[str, Any]:
    """The ``{"types": [...]}`` value bpftool prints with ``-j``, as Python objects."""
    return json.loads(dump_json(btf, ids))


def _json_parts(btf: BTF, ids: Iterable[int] | None, sep: str, quote: Any) -> Iterator[tuple[list[str], str, list[list[str]] | None]]:
    """Per type: its scalar fields as ``"key"<sep>value`` strings, and the name and elements of its
    one nested array (members/values/params/vars), each element a list of such strings."""
    tab = btf.table
    kinds, names, st, vlens, kflags = tab.kinds, tab.names, tab.size_type, tab.vlens, tab.kflags
    words, woff = tab.words, tab.woff
    string = tab.string
    k_id, k_kind, k_name = f'"id"{sep}', f'"kind"{sep}', f'"name"{sep}'
    k_size, k_vlen, k_type = f'"size"{sep}', f'"vlen"{sep}', f'"type_id"{sep}'
    k_bits = f'"bits_offset"{sep}'
    k_val = f'"val"{sep}'
    anon = quote("(anon)")
    kind_q = [quote(_kind_str(k)) for k in range(32)]
    for tid in _ids(btf, ids):
        tab.check_id(tid)
        k = kinds[tid]
        name = names[tid]
        head = [f"{k_id}{tid}", f"{k_kind}{kind_q[k]}", f"{k_name}{quote(name) if name else anon}"]
        w = woff[tid] + 3
        sub: list[list[str]] | None = None
        sub_key = ""
        if k == 1:
            raw = words[w]
            head += [f"{k_size}{st[tid]}", f'"bits_offset"{sep}{(raw >> 16) & 0xFF}',
                     f'"nr_bits"{sep}{raw & 0xFF}',
                     f'"encoding"{sep}{quote(_INT_ENC.get((raw >> 24) & 0x0F, "UNKN"))}']
        elif k in (2, 8, 9, 10, 11, 18):
            head.append(f"{k_type}{st[tid]}")
        elif k == 3:
            head += [f"{k_type}{words[w]}", f'"index_type_id"{sep}{words[w + 1]}', f'"nr_elems"{sep}{words[w + 2]}']
        elif k in (4, 5):
            vlen = vlens[tid]
            head += [f"{k_size}{st[tid]}", f"{k_vlen}{vlen}"]
            sub_key = "members"
            it = iter(words[w:w + 3 * vlen].tolist())
            if kflags[tid]:
                sub = []
                for n, t, o in zip(it, it, it):
                    e = [f"{k_name}{quote(string(n)) if n else anon}", f"{k_type}{t}", f"{k_bits}{o & 0xFFFFFF}"]
                    if o >> 24:
                        e.append(f'"bitfield_size"{sep}{o >> 24}')
                    sub.append(e)
            else:
                sub = [[f"{k_name}{quote(string(n)) if n else anon}", f"{k_type}{t}", f"{k_bits}{o}"]
                       for n, t, o in zip(it, it, it)]
        elif k == 6:
            vlen = vlens[tid]
            signed = kflags[tid]
            head += [f'"encoding"{sep}{quote("SIGNED" if signed else "UNSIGNED")}', f"{k_size}{st[tid]}",
                     f"{k_vlen}{vlen}"]
            sub_key = "values"
            sub = []
            it = iter(words[w:w + 2 * vlen].tolist())
            for n, v in zip(it, it):
                if v & 0x80000000:
                    # bpftool 7.1 sign-extends the record's __s32: signed prints it negative,
                    # unsigned prints the 64-bit two's complement.
                    v = v - (1 << 32) if signed else v + (1 << 64) - (1 << 32)
                sub.append([f"{k_name}{quote(string(n)) if n else anon}", f"{k_val}{v}"])
        elif k == 19:
            vlen = vlens[tid]
            signed = kflags[tid]
            head += [f'"encoding"{sep}{quote("SIGNED" if signed else "UNSIGNED")}', f"{k_size}{st[tid]}",
                     f"{k_vlen}{vlen}"]
            sub_key = "values"
            sub = []
            it = iter(words[w:w + 3 * vlen].tolist())
            for n, lo, hi in zip(it, it, it):
                v = (hi << 32) | lo
                if signed and v >= 1 << 63:
                    v -= 1 << 64
                sub.append([f"{k_name}{quote(string(n)) if n else anon}", f"{k_val}{v}"])
        elif k == 7:
            head.append(f'"fwd_kind"{sep}{quote("union" if kflags[tid] else "struct")}')
        elif k == 12:
            head += [f"{k_type}{st[tid]}", f'"linkage"{sep}{quote(_FUNC_LINKAGE.get(vlens[tid], "(unknown)"))}']
        elif k == 13:
            vlen = vlens[tid]
            head += [f'"ret_type_id"{sep}{st[tid]}', f"{k_vlen}{vlen}"]
            sub_key = "params"
            it = iter(words[w:w + 2 * vlen].tolist())
            sub = [[f"{k_name}{quote(string(n)) if n else anon}", f"{k_type}{t}"] for n, t in zip(it, it)]
        elif k == 14:
            head += [f"{k_type}{st[tid]}", f'"linkage"{sep}{quote(_VAR_LINKAGE.get(words[w], "(unknown)"))}']
        elif k == 15:
            vlen = vlens[tid]
            head += [f"{k_size}{st[tid]}", f"{k_vlen}{vlen}"]
            sub_key = "vars"
            it = iter(words[w:w + 3 * vlen].tolist())
            sub = [[f"{k_type}{t}", f'"offset"{sep}{o}', f"{k_size}{sz}"] for t, o, sz in zip(it, it, it)]
        elif k == 16:
            head.append(f"{k_size}{st[tid]}")
        elif k == 17:
            idx = words[w]
            head += [f"{k_type}{st[tid]}", f'"component_idx"{sep}{idx - (1 << 32) if idx & 0x80000000 else idx}']
        yield head, sub_key, sub


def _simple_quote(s: str) -> str:
    return f'"{s}"'


_NEEDS_QUOTING = re.compile(rb'[\t\n\r\f\b\\"]')
_J2, _J3, _J4, _J5 = "\n" + " " * 8, ",\n" + " " * 12, "\n" + " " * 16, ",\n" + " " * 20


def dump_json(btf: BTF, ids: Iterable[int] | None = None, pretty: bool = False) -> str:
    """The JSON listing as bpftool prints it with ``-j`` / ``-p`` (with the final newline)."""
    from pybpf.jsonw import _quote

    quote = _simple_quote
    b: BTF | None = btf
    while b is not None:
        sec = b.raw[b._str_start:b._str_start + b._str_len]
        if _NEEDS_QUOTING.search(sec):
            quote = _quote
        b = b.base
    out: list[str] = []
    add = out.append
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if pretty:
            # Fields of a type sit at depth 3; elements of its array at depth 5, closed at 4.
            for head, key, sub in _json_parts(btf, ids, ": ", quote):
                text = _J3[1:] + _J3.join(head)
                if sub is not None:
                    if sub:
                        text += (f'{_J3}"{key}": [{{' + "},{".join(_J5[1:] + _J5.join(e) + _J4 for e in sub)
                                 + "}" + _J3[1:] + "]")
                    else:
                        text += f'{_J3}"{key}": []'
                add("{" + text + _J2 + "}")
            if not out:
                return '{\n    "types": []\n}\n'
            return '{\n    "types": [' + ",".join(out) + "\n    ]\n}\n"
        for head, key, sub in _json_parts(btf, ids, ":", quote):
            text = ",".join(head)
            if sub is not None:
                text += f',"{key}":[' + ",".join("{" + ",".join(e) + "}" for e in sub) + "]"
            add("{" + text + "}")
        return '{"types":[' + ",".join(out) + "]}\n"
    finally:
        if gc_was_enabled:
            gc.enable()
