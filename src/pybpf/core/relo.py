"""The CO-RE relocation engine: the single place of truth, like libbpf's relo_core.c.

For one relocation record (``struct bpf_core_relo``) and the candidate target types found for
its local root type, this module

1. parses the access string into a local :class:`AccessSpec` (:func:`parse_spec`),
2. matches it against every candidate (:func:`spec_match`) using libbpf's compatibility rules
   (:func:`fields_are_compat`, :func:`types_are_compat`, :func:`types_match`),
3. computes original and new values for the relocation kind (:func:`calc_relo`), refusing
   candidates that disagree (libbpf's ambiguity rule) (:func:`calc_relo_insn`),
4. patches the instruction, or poisons it (:func:`patch_insn`).

Semantics follow libbpf 1.x exactly -- including which values are validated against the
instruction, when a load/store size may be adjusted, how instructions are poisoned and which
messages are printed -- so that an object relocated here is byte-identical to the same object
relocated by libbpf against the same target BTF. Every step records what it did in an
:class:`~pybpf.core.explain.Explanation`.

Nothing here makes a system call: BTF comes in as data (:class:`pybpf.btf.BTF`).
Failures raise :class:`CoreFailure` (an errno and a human message); the
:class:`~pybpf.core.relocator.Relocator` turns them into :class:`pybpf.errors.CORERelocationError`
naming the program, instruction and relocation.
"""

from __future__ import annotations

import errno as _errno
import re
from pybpf.record import Record
from typing import Any

from pybpf.btf import BTF, Kind
from pybpf.btf import model as m
from pybpf.core.candidates import Candidate, describe_type, essential_name, kind_str, kinds_compatible
from pybpf.core.explain import CandidateOutcome, Explanation
from pybpf.core.insn import (
    BYTES_SIZE, CALL, CLASS_ALU, CLASS_ALU64, CLASS_LD, CLASS_LDX, CLASS_ST, CLASS_STX, LD_IMM64,
    MODE_MASK, SIZE_BYTES, SIZE_MASK, SRC_K, SRC_MASK, RawInsn, insn_class, read_insn, write_insn,
)
from pybpf.core.kinds import ENUMVAL_KINDS, FIELD_KINDS, TYPE_KINDS, RelocationKind as K, kind_name
from pybpf.errors import BTFError

__all__ = [
    "MAX_SPEC_LEN",
    "POISON_IMM",
    "CoreFailure",
    "Accessor",
    "AccessSpec",
    "RelocationResult",
    "parse_spec",
    "format_spec",
    "spec_match",
    "fields_are_compat",
    "types_are_compat",
    "types_match",
    "calc_relo",
    "calc_relo_insn",
    "patch_insn",
]

#: libbpf's BPF_CORE_SPEC_MAX_LEN: longest access string / deepest nesting.
MAX_SPEC_LEN = 64
#: The helper id a poisoned instruction calls: 0xbad2310, "bad relo".
POISON_IMM = 0xBAD2310
#: Recursion limit of the type compatibility checks (libbpf passes 32 as ``level``).
COMPAT_LEVEL = 32

_U64 = (1 << 64) - 1
_SHRT_MAX = 0x7FFF
_COMPOSITE = (Kind.STRUCT, Kind.UNION)
_ENUMS = (Kind.ENUM, Kind.ENUM64)


class CoreFailure(Exception):
    """A relocation that cannot be applied: ``err`` is the (positive) errno libbpf would return."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(message)
        self.err = err
        self.message = message


class _Poison(Exception):
    """Internal: the target side of a relocation is missing; the instruction must be poisoned."""


class _Log:
    """Collects libbpf-worded messages into an explanation (``pr_debug``/``pr_warn``)."""

    __slots__ = ("lines",)

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = lines

    def debug(self, text: str) -> None:
        self.lines.append(("debug", text))

    def warn(self, text: str) -> None:
        self.lines.append(("warn", text))


# ---------------------------------------------------------------------------------- specs
class Accessor(Record, frozen=False):
    """One high-level step of an access: a named field (``name``) or an array index (``name`` None).

    ``type_id`` is the struct/union holding the field, or the array element type.
    """

    type_id: int
    idx: int
    name: str | None = None


class AccessSpec:
    """A parsed access (libbpf's ``bpf_core_spec``).

    ``raw`` is the low-level access string as numbers (every step, anonymous members included);
    ``accessors`` only the semantically meaningful steps (named fields, array indices);
    ``bit_offset`` the accessed field's offset from the root.
    """

    __slots__ = ("btf", "root_type_id", "kind", "raw", "accessors", "bit_offset")

    def __init__(self, btf: BTF, root_type_id: int, kind: int) -> None:
        self.btf = btf
        self.root_type_id = root_type_id
        self.kind = kind
        self.raw: list[int] = []
        self.accessors: list[Accessor] = []
        self.bit_offset = 0

    @property
    def access_string(self) -> str:
        return ":".join(str(i) for i in self.raw)

    def format(self) -> str:
        return format_spec(self)

    def __repr__(self) -> str:
        return f"<AccessSpec {format_spec(self)}>"


def format_spec(spec: AccessSpec) -> str:
    """libbpf's bpf_core_format_spec: ``<byte_off> [7] struct foo.a.b (0:1:2 @ offset 8)``."""
    btf = spec.btf
    text = f"<{kind_name(spec.kind)}> {describe_type(btf, spec.root_type_id)}"
    if spec.kind in TYPE_KINDS:
        return text
    if spec.kind in ENUMVAL_KINDS:
        t = btf[btf.skip_mods_and_typedefs(spec.root_type_id)]
        idx = spec.raw[0] if spec.raw else 0
        if isinstance(t, m.Enum) and 0 <= idx < len(t.values):
            v = t.values[idx]
            text += f"::{v.name} = {v.value}"
        return text
    if spec.kind in FIELD_KINDS:
        parts = [text]
        for i, acc in enumerate(spec.accessors):
            if acc.name is not None:
                parts.append(f".{acc.name}")
            elif i > 0 or acc.idx > 0:
                parts.append(f"[{acc.idx}]")
        bo = spec.bit_offset
        where = f"{bo // 8}.{bo % 8}" if bo % 8 else f"{bo // 8}"
        parts.append(f" ({spec.access_string} @ offset {where})")
        return "".join(parts)
    return text


_NUMBER = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def _parse_access_string(text: str) -> list[int]:
    """"0:1:2" -> [0, 1, 2], accepting what libbpf's sscanf("%d") loop accepts."""
    if not text or text[0] == ":":
        raise CoreFailure(_errno.EINVAL, f"malformed access string '{text}'")
    raw: list[int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == ":":
            pos += 1
        mt = _NUMBER.match(text, pos)
        if mt is None:
            raise CoreFailure(_errno.EINVAL, f"malformed access string '{text}'")
        value = int(mt.group(1))
        if not 0 <= value <= 0x7FFFFFFF:
            raise CoreFailure(_errno.EINVAL, f"access index {value} out of range in '{text}'")
        if len(raw) == MAX_SPEC_LEN:
            raise CoreFailure(_errno.E2BIG, f"access string '{text}' is longer than {MAX_SPEC_LEN} steps")
        raw.append(value)
        pos = mt.end()
    return raw


def _resolve_size(btf: BTF, type_id: int, what: str) -> int:
    try:
        return btf.resolve_size(type_id)
    except BTFError as exc:
        raise CoreFailure(_errno.EINVAL, f"cannot size {what} {describe_type(btf, type_id)}: "
                                         f"{exc.message}") from None


def _is_flex_arr(btf: BTF, prev: Accessor | None, arr: m.Array) -> bool:
    # A zero-length array that is the last member of the struct holding it.
    if prev is None or prev.name is None or arr.nelems > 0:
        return False
    holder = btf[prev.type_id]
    return isinstance(holder, m.Composite) and prev.idx == len(holder.members) - 1


def parse_spec(btf: BTF, relo: Any, access_str: str, prog_name: str, log: _Log | None = None) -> AccessSpec:
    """Turn a relocation's access string into the local :class:`AccessSpec` (bpf_core_parse_spec).

    Raises :class:`CoreFailure` for an access string that does not fit the local type.
    """
    kind = relo.kind
    if not access_str or access_str[0] == ":":
        raise CoreFailure(_errno.EINVAL, f"malformed access string '{access_str}'")
    spec = AccessSpec(btf, relo.type_id, kind)
    if kind in TYPE_KINDS:
        if access_str != "0":
            raise CoreFailure(_errno.EINVAL, f"type-based relocation needs access string '0', "
                                             f"got '{access_str}'")
        return spec
    raw = _parse_access_string(access_str)
    spec.raw = raw
    tid = btf.skip_mods_and_typedefs(relo.type_id)
    t = btf[tid]
    first = Accessor(tid, raw[0])
    spec.accessors.append(first)

    if kind in ENUMVAL_KINDS:
        if not isinstance(t, m.Enum):
            raise CoreFailure(_errno.EINVAL, f"enum value relocation on {describe_type(btf, tid)}, "
                                             f"which is not an enum")
        if len(raw) > 1 or raw[0] >= len(t.values):
            raise CoreFailure(_errno.EINVAL, f"enumerator index '{access_str}' out of range for "
                                             f"{describe_type(btf, tid)} ({len(t.values)} values)")
        first.name = t.values[raw[0]].name
        return spec
    if kind not in FIELD_KINDS:
        raise CoreFailure(_errno.EINVAL, f"unknown relocation kind {kind}")

    size = _resolve_size(btf, tid, "root type")
    spec.bit_offset = raw[0] * size * 8
    for i in range(1, len(raw)):
        tid = btf.skip_mods_and_typedefs(tid)
        t = btf[tid]
        idx = raw[i]
        if isinstance(t, m.Composite):
            if idx >= len(t.members):
                raise CoreFailure(_errno.EINVAL, f"access index {idx} at step {i} of '{access_str}' is "
                                                 f"out of range for {describe_type(btf, tid)} "
                                                 f"({len(t.members)} members)")
            mem = t.members[idx]
            spec.bit_offset += mem.bit_offset
            if mem.name:
                spec.accessors.append(Accessor(tid, idx, mem.name))
            tid = mem.type
        elif isinstance(t, m.Array):
            elem = btf.skip_mods_and_typedefs(t.type)
            flex = _is_flex_arr(btf, spec.accessors[-1], t)
            if not flex and idx >= t.nelems:
                raise CoreFailure(_errno.EINVAL, f"array index {idx} at step {i} of '{access_str}' is "
                                                 f"out of range for {describe_type(btf, tid)} "
                                                 f"({t.nelems} elements)")
            spec.accessors.append(Accessor(elem, idx))
            spec.bit_offset += idx * _resolve_size(btf, elem, "array element") * 8
            tid = elem
        else:
            if log is not None:
                # libbpf prints its parse cursor here, which has reached the end of the string.
                log.warn(f"prog '{prog_name}': relo for [{relo.type_id}]  (at idx {i}) "
                         f"captures type [{tid}] of unexpected kind {kind_str(t.kind)}")
            raise CoreFailure(_errno.EINVAL, f"step {i} of '{access_str}' goes into "
                                             f"{describe_type(btf, tid)}, which is neither a struct, "
                                             f"a union nor an array")
    return spec


# ---------------------------------------------------------------------- compatibility rules
def _names_match(local_name: str, targ_name: str) -> bool:
    # bpf_core_names_match: both anonymous, or equal essential names.
    if not targ_name:
        return not local_name
    return essential_name(local_name) == essential_name(targ_name)


def fields_are_compat(local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int) -> bool:
    """Whether a local field type and a target field type may be relocated onto each other.

    Modifiers and typedefs are skipped; structs/unions are always compatible; pointers and
    floats by kind; enums and forward declarations if their essential names agree (or one
    is anonymous); ints unless they use the deprecated bit offset; arrays by element type.
    """
    for _ in range(1000):
        local_id = local_btf.skip_mods_and_typedefs(local_id)
        targ_id = targ_btf.skip_mods_and_typedefs(targ_id)
        lt = local_btf[local_id]
        tt = targ_btf[targ_id]
        if lt.kind in _COMPOSITE and tt.kind in _COMPOSITE:
            return True
        if not kinds_compatible(lt.kind, tt.kind):
            return False
        kind = lt.kind
        if kind in (Kind.PTR, Kind.FLOAT):
            return True
        if kind in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if kind == Kind.INT:
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if kind == Kind.ARRAY:
            local_id = lt.type  # type: ignore[attr-defined]
            targ_id = tt.type  # type: ignore[attr-defined]
            continue
        return False
    raise CoreFailure(_errno.ELOOP, "array element types nest too deeply")


def types_are_compat(local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int,
                     level: int = COMPAT_LEVEL, log: _Log | None = None) -> bool:
    """libbpf's bpf_core_types_are_compat (TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE).

    Beyond the root name check done by candidate search, names are ignored: kinds must agree
    (struct vs union matters), ints are compatible unless bit-offset ints, arrays and pointers
    by element/pointee, function prototypes by arity and argument/return types.
    Raises :class:`CoreFailure` when recursion goes too deep.
    """
    if not kinds_compatible(local_btf.kind_of(local_id), targ_btf.kind_of(targ_id)):
        return False
    depth = 32
    while True:
        depth -= 1
        if depth < 0:
            raise CoreFailure(_errno.EINVAL, "type compatibility check nests too deeply")
        local_id = local_btf.skip_mods_and_typedefs(local_id)
        targ_id = targ_btf.skip_mods_and_typedefs(targ_id)
        lt = local_btf[local_id]
        tt = targ_btf[targ_id]
        if not kinds_compatible(lt.kind, tt.kind):
            return False
        kind = lt.kind
        if kind in (Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64):
            return True
        if kind == Kind.INT:
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if kind == Kind.PTR:
            local_id, targ_id = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        if kind == Kind.ARRAY:
            local_id, targ_id = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        if kind == Kind.FUNC_PROTO:
            assert isinstance(lt, m.FuncProto) and isinstance(tt, m.FuncProto)
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if level <= 0:
                    raise CoreFailure(_errno.EINVAL, "type compatibility check nests too deeply")
                if not types_are_compat(local_btf, local_btf.skip_mods_and_typedefs(lp.type),
                                        targ_btf, targ_btf.skip_mods_and_typedefs(tp.type),
                                        level - 1, log):
                    return False
            local_id = local_btf.skip_mods_and_typedefs(lt.type)
            targ_id = targ_btf.skip_mods_and_typedefs(tt.type)
            continue
        if log is not None:
            log.warn(f"unexpected kind {kind_str(kind)} relocated, local [{local_id}], target [{targ_id}]")
        return False


def _enums_match(lt: m.Enum, tt: m.Enum) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(_names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def _composites_match(local_btf: BTF, lt: m.Composite, targ_btf: BTF, tt: m.Composite,
                      behind_ptr: bool, level: int, log: _Log | None) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        for tm in tt.members:
            if not _names_match(lm.name, tm.name):
                continue
            if types_match(local_btf, lm.type, targ_btf, tm.type, behind_ptr, level - 1, log):
                break
        else:
            return False
    return True


def types_match(local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int,
                behind_ptr: bool = False, level: int = COMPAT_LEVEL, log: _Log | None = None) -> bool:
    """libbpf's bpf_core_types_match (TYPE_MATCHES), stricter than :func:`types_are_compat`.

    Modifiers and typedefs are skipped and names must agree at every level; kinds must be equal
    (a struct/union behind a pointer may match a forward declaration of the same flavor, an
    enum may match an enum64); ints by size and signedness; enums by size with every local
    enumerator named in the target; structs/unions by members (every local member must have a
    same-named matching member in the target; behind a pointer only names and kinds count);
    arrays by length and element; function prototypes by arity, arguments and return type.
    """
    if level <= 0:
        raise CoreFailure(_errno.EINVAL, "type match check nests too deeply")
    depth = 32
    while True:
        depth -= 1
        if depth < 0:
            raise CoreFailure(_errno.EINVAL, "type match check nests too deeply")
        local_id = local_btf.skip_mods_and_typedefs(local_id)
        targ_id = targ_btf.skip_mods_and_typedefs(targ_id)
        lt = local_btf[local_id]
        tt = targ_btf[targ_id]
        if not _names_match(lt.name, tt.name):
            return False
        lk, tk = lt.kind, tt.kind
        if lk == Kind.UNKN:
            return lk == tk
        if lk == Kind.FWD:
            assert isinstance(lt, m.Fwd)
            if behind_ptr:
                if lk == tk:
                    return lt.is_union == tt.is_union  # type: ignore[attr-defined]
                return (tk == Kind.STRUCT and not lt.is_union) or (tk == Kind.UNION and lt.is_union)
            if lk != tk:
                return False
            return lt.is_union == tt.is_union  # type: ignore[attr-defined]
        if lk in _ENUMS:
            if tk not in _ENUMS:
                return False
            return _enums_match(lt, tt)  # type: ignore[arg-type]
        if lk in _COMPOSITE:
            if behind_ptr:
                if lk == tk:
                    return True
                if tk != Kind.FWD:
                    return False
                return (lk == Kind.UNION) == tt.is_union  # type: ignore[attr-defined]
            if lk != tk:
                return False
            return _composites_match(local_btf, lt, targ_btf, tt,  # type: ignore[arg-type]
                                     behind_ptr, level, log)
        if lk == Kind.INT:
            if lk != tk:
                return False
            return lt.size == tt.size and lt.signed == tt.signed  # type: ignore[attr-defined]
        if lk == Kind.PTR:
            if lk != tk:
                return False
            behind_ptr = True
            local_id, targ_id = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        if lk == Kind.ARRAY:
            if lk != tk or lt.nelems != tt.nelems:  # type: ignore[attr-defined]
                return False
            local_id, targ_id = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        if lk == Kind.FUNC_PROTO:
            if lk != tk:
                return False
            assert isinstance(lt, m.FuncProto) and isinstance(tt, m.FuncProto)
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if not types_match(local_btf, lp.type, targ_btf, tp.type, behind_ptr, level - 1, log):
                    return False
            local_id, targ_id = lt.type, tt.type
            continue
        if log is not None:
            log.warn(f"unexpected kind {kind_str(lk)} relocated, local [{local_id}], target [{targ_id}]")
        return False


# ---------------------------------------------------------------------------- matching
class _Why:
    """Carries the reason a candidate was rejected out of the matching recursion."""

    __slots__ = ("reason",)

    def __init__(self) -> None:
        self.reason = ""


def _type_text(btf: BTF, type_id: int) -> str:
    tid = btf.skip_mods_and_typedefs(type_id)
    t = btf[tid]
    return f"{kind_str(t.kind)} {t.name}" if t.name else kind_str(t.kind)


def _match_member(local_btf: BTF, local_acc: Accessor, targ_btf: BTF, targ_id: int,
                  spec: AccessSpec, why: _Why) -> tuple[bool, int]:
    """Find the local accessor's field by name in target composite ``targ_id``, looking through
    anonymous members; extends ``spec`` (raw steps, accessor, bit offset) like libbpf's
    bpf_core_match_member, including what it leaves behind on a miss. Returns (found, field type)."""
    targ_id = targ_btf.skip_mods_and_typedefs(targ_id)
    tt = targ_btf[targ_id]
    if not isinstance(tt, m.Composite):
        return False, 0
    local_member = local_btf[local_acc.type_id].members[local_acc.idx]  # type: ignore[attr-defined]
    for i, mem in enumerate(tt.members):
        if len(spec.raw) == MAX_SPEC_LEN:
            raise CoreFailure(_errno.E2BIG, "target struct/union/array nesting is too deep")
        spec.bit_offset += mem.bit_offset
        spec.raw.append(i)
        if not mem.name:
            found, next_id = _match_member(local_btf, local_acc, targ_btf, mem.type, spec, why)
            if found:
                return True, next_id
        elif mem.name == local_member.name:
            spec.accessors.append(Accessor(targ_id, i, mem.name))
            if fields_are_compat(local_btf, local_member.type, targ_btf, mem.type):
                return True, mem.type
            spec.accessors.pop()
            why.reason = (f"field '{mem.name}' of {describe_type(targ_btf, targ_id)} is "
                          f"{_type_text(targ_btf, mem.type)}, incompatible with local "
                          f"{_type_text(local_btf, local_member.type)}")
            return False, 0
        spec.bit_offset -= mem.bit_offset
        spec.raw.pop()
    return False, 0


def spec_match(local_spec: AccessSpec, targ_btf: BTF, targ_id: int,
               log: _Log | None = None) -> tuple[AccessSpec, str | None]:
    """Try to match ``local_spec`` onto candidate ``targ_id`` (libbpf's bpf_core_spec_match).

    Returns the target spec (complete when matched, as far as it got otherwise) and None when
    the candidate matches, else the reason it does not.
    """
    kind = local_spec.kind
    targ = AccessSpec(targ_btf, targ_id, kind)
    local_btf = local_spec.btf
    if kind in TYPE_KINDS:
        if kind == K.TYPE_MATCHES:
            ok = types_match(local_btf, local_spec.root_type_id, targ_btf, targ_id, log=log)
            return targ, None if ok else "types do not match (bpf_core_types_match rules)"
        ok = types_are_compat(local_btf, local_spec.root_type_id, targ_btf, targ_id, log=log)
        return targ, None if ok else "types are not compatible (bpf_core_types_are_compat rules)"

    local_acc = local_spec.accessors[0]
    if kind in ENUMVAL_KINDS:
        tid = targ_btf.skip_mods_and_typedefs(targ_id)
        tt = targ_btf[tid]
        if not isinstance(tt, m.Enum):
            return targ, f"{describe_type(targ_btf, tid)} is not an enum"
        want = essential_name(local_acc.name or "")
        for i, v in enumerate(tt.values):
            if essential_name(v.name) == want:
                targ.accessors.append(Accessor(tid, i, v.name))
                targ.raw.append(i)
                return targ, None
        return targ, f"{describe_type(targ_btf, tid)} has no enumerator '{want}'"

    if kind not in FIELD_KINDS:
        raise CoreFailure(_errno.EINVAL, f"unknown relocation kind {kind}")
    why = _Why()
    for i, local_acc in enumerate(local_spec.accessors):
        targ_id = targ_btf.skip_mods_and_typedefs(targ_id)
        if local_acc.name is not None:
            found, next_id = _match_member(local_btf, local_acc, targ_btf, targ_id, targ, why)
            if not found:
                if not why.reason:
                    if targ_btf.kind_of(targ_id) in _COMPOSITE:
                        why.reason = f"{describe_type(targ_btf, targ_id)} has no field '{local_acc.name}'"
                    else:
                        why.reason = (f"{describe_type(targ_btf, targ_id)} is not a struct or union "
                                      f"(looking for field '{local_acc.name}')")
                return targ, why.reason
            targ_id = next_id
            continue
        if i > 0:
            tt = targ_btf[targ_id]
            if not isinstance(tt, m.Array):
                return targ, f"{describe_type(targ_btf, targ_id)} is not an array (local index [{local_acc.idx}])"
            flex = _is_flex_arr(targ_btf, targ.accessors[-1] if targ.accessors else None, tt)
            if not flex and local_acc.idx >= tt.nelems:
                return targ, (f"index [{local_acc.idx}] is out of bounds of "
                              f"{describe_type(targ_btf, targ_id)} ({tt.nelems} elements)")
            targ_id = targ_btf.skip_mods_and_typedefs(tt.type)
        if len(targ.raw) == MAX_SPEC_LEN:
            raise CoreFailure(_errno.E2BIG, "target struct/union/array nesting is too deep")
        targ.accessors.append(Accessor(targ_id, local_acc.idx))
        targ.raw.append(local_acc.idx)
        targ.bit_offset += local_acc.idx * _resolve_size(targ_btf, targ_id, "target type") * 8
    return targ, None


# ---------------------------------------------------------------------------- values
class RelocationResult(Record, frozen=False):
    """The decision for one relocation (libbpf's ``bpf_core_relo_res``).

    ``orig_val`` is what the instruction must hold now (checked when ``validate``), ``new_val``
    what it gets; ``poison`` replaces the instruction by an invalid call instead;
    ``orig_sz``/``new_sz`` are the memory access sizes for field-offset relocations of
    loads/stores, and ``fail_memsz_adjust`` says that changing it would misread the field.
    Values are unsigned 64-bit, as in libbpf.
    """

    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz_adjust: bool = False
    orig_sz: int = 0
    new_sz: int = 0
    orig_type_id: int = 0
    new_type_id: int = 0


def _calc_field(prog_name: str, relo: Any, spec: AccessSpec | None,
                log: _Log | None) -> tuple[int, int, int, bool]:
    """(value, field size, field type id, validate) for a field relocation on ``spec``."""
    kind = relo.kind
    if kind == K.FIELD_EXISTS:
        return (1 if spec is not None else 0), 0, 0, True
    if spec is None:
        raise _Poison()
    btf = spec.btf
    acc = spec.accessors[-1]
    if acc.name is None:  # array element (or the root itself)
        if kind == K.FIELD_BYTE_OFFSET:
            sz = _resolve_size(btf, acc.type_id, "array element")
            return (spec.bit_offset // 8) & _U64, sz, acc.type_id, True
        if kind == K.FIELD_BYTE_SIZE:
            return _resolve_size(btf, acc.type_id, "array element"), 0, 0, True
        if log is not None:
            log.warn(f"prog '{prog_name}': relo {kind} at insn #{relo.insn_off // 8} can't be "
                     f"applied to array access")
        raise CoreFailure(_errno.EINVAL, f"<{kind_name(kind)}> cannot be applied to an array element")

    holder = btf[acc.type_id]
    assert isinstance(holder, m.Composite)
    mem = holder.members[acc.idx]
    field_type_id = btf.skip_mods_and_typedefs(mem.type)
    mt = btf[field_type_id]
    bit_off = spec.bit_offset
    bit_sz = mem.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = getattr(mt, "size", 0)
        if byte_sz <= 0:
            raise CoreFailure(_errno.EINVAL, f"bitfield '{acc.name}' has unsized type "
                                             f"{describe_type(btf, field_type_id)}")
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                if log is not None:
                    log.warn(f"prog '{prog_name}': relo {kind} at insn #{relo.insn_off // 8} can't "
                             f"be satisfied for bitfield")
                raise CoreFailure(_errno.E2BIG, f"bitfield '{acc.name}' cannot be read with a "
                                                f"64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = _resolve_size(btf, field_type_id, "field")
        byte_off = spec.bit_offset // 8
        bit_sz = byte_sz * 8
    # Bitfield offsets/sizes are ambiguous (the compiler may pick another load), so only
    # signedness and right shift are validated for them.
    validate = not bitfield
    field_sz = 0
    type_id = 0
    if kind == K.FIELD_BYTE_OFFSET:
        val = byte_off
        if not bitfield:
            field_sz = byte_sz
            type_id = field_type_id
    elif kind == K.FIELD_BYTE_SIZE:
        val = byte_sz
    elif kind == K.FIELD_SIGNED:
        val = int((isinstance(mt, m.Enum) and mt.signed) or (isinstance(mt, m.Int) and mt.signed))
        validate = True
    elif kind == K.FIELD_LSHIFT_U64:
        if btf.endian == "<":
            val = 64 - (bit_off + bit_sz - byte_off * 8)
        else:
            val = (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
    elif kind == K.FIELD_RSHIFT_U64:
        val = 64 - bit_sz
        validate = True
    else:
        raise CoreFailure(_errno.EOPNOTSUPP, f"unsupported field relocation kind {kind}")
    # libbpf computes field values in 32-bit unsigned arithmetic: a shift for a field wider
    # than 8 bytes wraps around 2**32.
    return val & 0xFFFFFFFF, field_sz, type_id, validate


def _calc_type(relo: Any, spec: AccessSpec | None) -> tuple[int, bool]:
    """(value, validate) for a type relocation on ``spec`` (None: no target type)."""
    if spec is None:
        return 0, True
    kind = relo.kind
    if kind == K.TYPE_ID_TARGET:
        # Type ids embedded in instructions may change during linking: not validated.
        return spec.root_type_id, False
    if kind in (K.TYPE_EXISTS, K.TYPE_MATCHES):
        return 1, True
    if kind == K.TYPE_SIZE:
        return _resolve_size(spec.btf, spec.root_type_id, "type"), True
    raise CoreFailure(_errno.EOPNOTSUPP, f"unsupported type relocation kind {kind}")


def _calc_enumval(relo: Any, spec: AccessSpec | None) -> int:
    kind = relo.kind
    if kind == K.ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if kind == K.ENUMVAL_VALUE:
        if spec is None:
            raise _Poison()
        acc = spec.accessors[0]
        t = spec.btf[acc.type_id]
        assert isinstance(t, m.Enum)
        value = t.values[acc.idx].value
        if t.kind == Kind.ENUM:
            # libbpf reads the 32-bit value as signed and widens it.
            value &= 0xFFFFFFFF
            if value >= 1 << 31:
                value -= 1 << 32
        return value & _U64
    raise CoreFailure(_errno.EOPNOTSUPP, f"unsupported enum relocation kind {kind}")


def calc_relo(prog_name: str, relo: Any, relo_idx: int, local_spec: AccessSpec,
              targ_spec: AccessSpec | None, log: _Log | None = None) -> RelocationResult:
    """Original and new values of a relocation for one target (libbpf's bpf_core_calc_relo).

    ``targ_spec`` None means no candidate matched: existence checks become 0, size/offset
    relocations request poisoning.
    """
    res = RelocationResult()
    kind = relo.kind
    try:
        if kind in FIELD_KINDS:
            res.orig_val, res.orig_sz, res.orig_type_id, res.validate = _calc_field(
                prog_name, relo, local_spec, log)
            res.new_val, res.new_sz, res.new_type_id, _ = _calc_field(prog_name, relo, targ_spec, log)
            if res.orig_sz != res.new_sz:
                assert targ_spec is not None
                orig_t = local_spec.btf[res.orig_type_id]
                new_t = targ_spec.btf[res.new_type_id]
                # Resizing a load/store is safe for pointers and unsigned integers only
                # (zero extension keeps the value); anything else would be misread.
                if isinstance(orig_t, m.Pointer) and isinstance(new_t, m.Pointer):
                    pass
                elif (isinstance(orig_t, m.Int) and isinstance(new_t, m.Int)
                      and orig_t.encoding != 1 and new_t.encoding != 1):
                    pass
                else:
                    res.fail_memsz_adjust = True
        elif kind in TYPE_KINDS:
            res.orig_val, res.validate = _calc_type(relo, local_spec)
            res.new_val, _ = _calc_type(relo, targ_spec)
        elif kind in ENUMVAL_KINDS:
            res.orig_val = _calc_enumval(relo, local_spec)
            res.new_val = _calc_enumval(relo, targ_spec)
        else:
            raise CoreFailure(_errno.EOPNOTSUPP, f"unknown relocation kind {kind}")
    except _Poison:
        res.poison = True
    except CoreFailure as exc:
        if exc.err == _errno.EOPNOTSUPP and log is not None:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: unrecognized CO-RE relocation "
                     f"{kind_name(kind)} ({kind}) at insn #{relo.insn_off // 8}")
        raise
    return res


def _missing_reason(local_spec: AccessSpec, outcomes: list[CandidateOutcome]) -> str:
    what = "enumerator" if local_spec.kind in ENUMVAL_KINDS else "field"
    if not outcomes:
        return f"the target has no type named like the local one, so the {what} cannot be located"
    return f"no candidate has the {what}: " + "; ".join(
        f"#{c.index} {c.reason}" for c in outcomes if not c.matched)


def calc_relo_insn(prog_name: str, relo: Any, relo_idx: int, local_btf: BTF, local_spec: AccessSpec,
                   cands: list[Candidate], expl: Explanation) -> RelocationResult:
    """Decide a relocation against its candidates (libbpf's bpf_core_calc_relo_insn).

    ``cands`` is the cached candidate list of the local root type; as in libbpf it is pruned
    in place to the candidates that matched, so later relocations of the same type only see
    those. Several matching candidates must agree (same bit offset, same value and poison
    decision), else the relocation fails.
    """
    log = _Log(expl.log)
    if relo.kind == K.TYPE_ID_LOCAL:
        # Needs no target; not validated because ids may change when objects are linked.
        root = local_spec.root_type_id
        return RelocationResult(orig_val=root, new_val=root, validate=False)
    if not local_btf.name_of(relo.type_id):
        log.warn(f"prog '{prog_name}': relo #{relo_idx}: <{kind_name(relo.kind)}> ({relo.kind}) "
                 f"relocation doesn't support anonymous types")
        raise CoreFailure(_errno.EOPNOTSUPP, "relocations against anonymous types are not supported")

    chosen: RelocationResult | None = None
    chosen_spec: AccessSpec | None = None
    kept: list[Candidate] = []
    for i, cand in enumerate(cands):
        desc = describe_type(cand.btf, cand.type_id)
        try:
            targ_spec, reason = spec_match(local_spec, cand.btf, cand.type_id, log)
        except CoreFailure as exc:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: error matching candidate #{i} "
                     f"{format_spec(AccessSpec(cand.btf, cand.type_id, relo.kind))}: {-exc.err}")
            raise CoreFailure(exc.err, f"error matching candidate #{i} {desc} in "
                                       f"{cand.target.name}: {exc.message}") from None
        spec_text = format_spec(targ_spec)
        log.debug(f"prog '{prog_name}': relo #{relo_idx}: "
                  f"{'non-matching' if reason is not None else 'matching'} candidate #{i} {spec_text}")
        outcome = CandidateOutcome(i, cand.target.name, cand.type_id, desc, reason is None, spec_text,
                                   reason)
        expl.candidates.append(outcome)
        if reason is not None:
            continue
        res = calc_relo(prog_name, relo, relo_idx, local_spec, targ_spec, log)
        outcome.new_val = res.new_val
        outcome.poison = res.poison
        if chosen is None:
            chosen, chosen_spec = res, targ_spec
            expl.chosen = outcome
        elif targ_spec.bit_offset != chosen_spec.bit_offset:  # type: ignore[union-attr]
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: field offset ambiguity: "
                     f"{targ_spec.bit_offset} != {chosen_spec.bit_offset}")  # type: ignore[union-attr]
            raise CoreFailure(_errno.EINVAL, f"ambiguous candidates: candidate #{i} {desc} puts the "
                                             f"field at bit offset {targ_spec.bit_offset}, candidate "
                                             f"#{expl.chosen.index} {expl.chosen.type_desc} at "  # type: ignore[union-attr]
                                             f"{chosen_spec.bit_offset}")  # type: ignore[union-attr]
        elif res.poison != chosen.poison or res.new_val != chosen.new_val:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: relocation decision ambiguity: "
                     f"{'failure' if res.poison else 'success'} {res.new_val} != "
                     f"{'failure' if chosen.poison else 'success'} {chosen.new_val}")
            raise CoreFailure(_errno.EINVAL, f"ambiguous candidates: candidate #{i} {desc} gives "
                                             f"{'poison' if res.poison else res.new_val}, candidate "
                                             f"#{expl.chosen.index} {expl.chosen.type_desc} gives "  # type: ignore[union-attr]
                                             f"{'poison' if chosen.poison else chosen.new_val}")
        kept.append(cand)
    if kept:
        cands[:] = kept  # prune the shared candidate list, as libbpf does
        assert chosen is not None
        if chosen.poison:
            expl.poison_reason = "the matching target lacks what the relocation needs"
        return chosen
    log.debug(f"prog '{prog_name}': relo #{relo_idx}: no matching targets found")
    res = calc_relo(prog_name, relo, relo_idx, local_spec, None, log)
    if res.poison:
        expl.poison_reason = _missing_reason(local_spec, expl.candidates)
    return res


# ---------------------------------------------------------------------------- patching
def _poison_one(buf: bytearray | memoryview, idx: int, endian: str) -> None:
    write_insn(buf, idx, RawInsn(CALL, 0, 0, 0, POISON_IMM), endian)


def patch_insn(prog_name: str, insns: bytearray | memoryview, insn_idx: int, relo: Any, relo_idx: int,
               res: RelocationResult, endian: str, expl: Explanation) -> None:
    """Apply ``res`` to instruction ``insn_idx`` of ``insns`` in place (libbpf's bpf_core_patch_insn).

    Patches the immediate of ``rX = imm`` / ``rX op= imm``, the offset (and, for field offsets,
    the access size) of loads and stores, or both halves of a 64-bit immediate load, after
    checking that the instruction holds the value the compiler was expected to put there.
    Poisoning turns the instruction into ``call 0xbad2310`` (both halves of a 64-bit immediate
    load), which the verifier rejects if it is reachable. Raises :class:`CoreFailure` for an
    instruction that cannot carry the relocation.
    """
    log = _Log(expl.log)
    count = len(insns) // 8
    if not 0 <= insn_idx < count:
        raise CoreFailure(_errno.EINVAL, f"instruction #{insn_idx} is outside the program "
                                         f"({count} instructions)")
    insn = read_insn(insns, insn_idx, endian)
    cls = insn_class(insn.code)

    def poison(reason: str) -> None:
        if insn.code == LD_IMM64 and insn_idx + 1 < count:
            log.debug(f"prog '{prog_name}': relo #{relo_idx}: substituting insn #{insn_idx + 1} w/ invalid insn")
            _poison_one(insns, insn_idx + 1, endian)
        log.debug(f"prog '{prog_name}': relo #{relo_idx}: substituting insn #{insn_idx} w/ invalid insn")
        _poison_one(insns, insn_idx, endian)
        expl.poisoned = True
        expl.poison_reason = expl.poison_reason or reason
        halves = " (both halves)" if insn.code == LD_IMM64 else ""
        expl.patch.append(f"insn #{insn_idx}{halves} replaced by call 0x{POISON_IMM:x} (invalid helper)")

    if res.poison:
        poison("the target lacks what the relocation needs")
        return
    orig_val, new_val = res.orig_val, res.new_val

    if cls in (CLASS_ALU, CLASS_ALU64):
        if insn.code & SRC_MASK != SRC_K:
            raise CoreFailure(_errno.EINVAL, f"insn #{insn_idx} is an ALU instruction with a register "
                                             f"operand, it has no immediate to relocate")
        got = insn.imm & _U64
        if res.validate and got != orig_val:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: unexpected insn #{insn_idx} (ALU/ALU64) "
                     f"value: got {insn.imm & 0xFFFFFFFF}, exp {orig_val} -> {new_val}")
            raise CoreFailure(_errno.EINVAL, f"unexpected insn #{insn_idx} (ALU/ALU64) value: got "
                                             f"{insn.imm}, expected {orig_val} (-> {new_val})")
        write_insn(insns, insn_idx, insn._replace(imm=new_val & 0xFFFFFFFF), endian)
        log.debug(f"prog '{prog_name}': relo #{relo_idx}: patched insn #{insn_idx} (ALU/ALU64) "
                  f"imm {got} -> {new_val}")
        expl.patch.append(f"patched insn #{insn_idx} (ALU/ALU64) imm {got} -> {new_val}")
        return

    if cls in (CLASS_LDX, CLASS_ST, CLASS_STX):
        got = insn.off & _U64
        if res.validate and got != orig_val:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: unexpected insn #{insn_idx} (LDX/ST/STX) "
                     f"value: got {insn.off & 0xFFFFFFFF}, exp {orig_val} -> {new_val}")
            raise CoreFailure(_errno.EINVAL, f"unexpected insn #{insn_idx} (LDX/ST/STX) value: got "
                                             f"{insn.off}, expected {orig_val} (-> {new_val})")
        if new_val > _SHRT_MAX:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: insn #{insn_idx} (LDX/ST/STX) value too "
                     f"big: {new_val}")
            raise CoreFailure(_errno.ERANGE, f"insn #{insn_idx} (LDX/ST/STX): new offset {new_val} does "
                                             f"not fit the 16-bit offset field")
        if res.fail_memsz_adjust:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: insn #{insn_idx} (LDX/ST/STX) accesses "
                     f"field incorrectly. Make sure you are accessing pointers, unsigned integers, "
                     f"or fields of matching type and size.")
            poison(f"the field's size changes from {res.orig_sz} to {res.new_sz} bytes and it is not "
                   f"an unsigned integer or a pointer, so the load/store cannot be resized")
            return
        code = insn.code
        msg = f"patched insn #{insn_idx} (LDX/ST/STX) off {got} -> {new_val}"
        log.debug(f"prog '{prog_name}': relo #{relo_idx}: {msg}")
        expl.patch.append(msg)
        if res.new_sz != res.orig_sz:
            have = SIZE_BYTES[code & SIZE_MASK]
            if have != res.orig_sz:
                write_insn(insns, insn_idx, insn._replace(off=new_val), endian)
                log.warn(f"prog '{prog_name}': relo #{relo_idx}: insn #{insn_idx} (LDX/ST/STX) "
                         f"unexpected mem size: got {have}, exp {res.orig_sz}")
                raise CoreFailure(_errno.EINVAL, f"insn #{insn_idx} (LDX/ST/STX) accesses {have} bytes, "
                                                 f"expected {res.orig_sz}")
            size_bits = BYTES_SIZE.get(res.new_sz)
            if size_bits is None:
                write_insn(insns, insn_idx, insn._replace(off=new_val), endian)
                log.warn(f"prog '{prog_name}': relo #{relo_idx}: insn #{insn_idx} (LDX/ST/STX) invalid "
                         f"new mem size: {res.new_sz}")
                raise CoreFailure(_errno.EINVAL, f"insn #{insn_idx} (LDX/ST/STX): the field is now "
                                                 f"{res.new_sz} bytes, which no load/store can access")
            code = (code & MODE_MASK) | size_bits | cls
            msg = f"patched insn #{insn_idx} (LDX/ST/STX) mem_sz {res.orig_sz} -> {res.new_sz}"
            log.debug(f"prog '{prog_name}': relo #{relo_idx}: {msg}")
            expl.patch.append(msg)
        write_insn(insns, insn_idx, insn._replace(code=code, off=new_val), endian)
        return

    if cls == CLASS_LD:
        second = read_insn(insns, insn_idx + 1, endian) if insn_idx + 1 < count else None
        if (insn.code != LD_IMM64 or insn.src != 0 or insn.off != 0 or second is None
                or second.code != 0 or second.dst != 0 or second.src != 0 or second.off != 0):
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: insn #{insn_idx} (LDIMM64) has unexpected form")
            raise CoreFailure(_errno.EINVAL, f"insn #{insn_idx} is not a plain 64-bit immediate load")
        imm = (insn.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)
        if res.validate and imm != orig_val:
            log.warn(f"prog '{prog_name}': relo #{relo_idx}: unexpected insn #{insn_idx} (LDIMM64) "
                     f"value: got {imm}, exp {orig_val} -> {new_val}")
            raise CoreFailure(_errno.EINVAL, f"unexpected insn #{insn_idx} (LDIMM64) value: got {imm}, "
                                             f"expected {orig_val} (-> {new_val})")
        write_insn(insns, insn_idx, insn._replace(imm=new_val & 0xFFFFFFFF), endian)
        write_insn(insns, insn_idx + 1, second._replace(imm=(new_val >> 32) & 0xFFFFFFFF), endian)
        msg = f"patched insn #{insn_idx} (LDIMM64) imm64 {imm} -> {new_val}"
        log.debug(f"prog '{prog_name}': relo #{relo_idx}: {msg}")
        expl.patch.append(msg)
        return

    log.warn(f"prog '{prog_name}': relo #{relo_idx}: trying to relocate unrecognized insn #{insn_idx}, "
             f"code:0x{insn.code:x}, src:0x{insn.src:x}, dst:0x{insn.dst:x}, "
             f"off:0x{insn.off & 0xFFFFFFFF:x}, imm:0x{insn.imm & 0xFFFFFFFF:x}")
    raise CoreFailure(_errno.EINVAL, f"insn #{insn_idx} (opcode 0x{insn.code:02x}) cannot carry a "
                                     f"CO-RE relocation")
