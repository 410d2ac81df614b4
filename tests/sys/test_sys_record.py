"""``Record`` against ``dataclasses`` (the behaviour it replaces), on the same declarations."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from pybpf.maps import BatchResult, MapInfo
from pybpf.programs import ProgramInfo
from pybpf.programs import TestRunResult as RunResult
from pybpf.sys.record import Record, field_spec


class RFrozen(Record):
    a: int
    b: str
    c: tuple[int, ...] = ()
    d: int | None = None
    extra: dict[str, str] = field_spec(default_factory=dict, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class DFrozen:
    a: int
    b: str
    c: tuple[int, ...] = ()
    d: int | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)


class RMutable(Record, frozen=False):
    items: list[int]
    token: bytes | None


@dataclasses.dataclass
class DMutable:
    items: list[int]
    token: bytes | None


CALLS = [
    ((1, "x"), {}),
    ((1,), {"b": "y", "d": 4}),
    ((), {"b": "z", "a": 2, "c": (1, 2)}),
    ((1, "x", (3,), 5, {"k": "v"}), {}),
]


def _outcome(cls, args, kwargs):
    try:
        return "ok", cls(*args, **kwargs)
    except TypeError as exc:
        return "TypeError", str(exc).replace(cls.__qualname__, "C")


@pytest.mark.parametrize("args,kwargs", CALLS + [
    ((), {}), ((1,), {}), ((1, "x"), {"a": 3}), ((1, "x"), {"zz": 1}),
    ((1, "x", (), None, {}, 9), {}),
])
def test_construction_repr_eq_hash_like_dataclass(args, kwargs):
    r_kind, r = _outcome(RFrozen, args, kwargs)
    d_kind, d = _outcome(DFrozen, args, kwargs)
    assert r_kind == d_kind
    if r_kind != "ok":
        return
    assert repr(r).replace("RFrozen", "X") == repr(d).replace("DFrozen", "X")
    assert vars(r) == vars(d) and list(vars(r)) == list(vars(d))
    twin = RFrozen(*args, **kwargs)
    assert r == twin and hash(r) == hash(twin)
    assert hash(r) == hash(d)  # both hash the tuple of compared fields
    assert r.__match_args__ == DFrozen.__match_args__


def test_equality_ignores_uncompared_fields_and_other_classes():
    assert RFrozen(1, "x", extra={"a": "b"}) == RFrozen(1, "x")
    assert RFrozen(1, "x") != RFrozen(2, "x")
    assert RFrozen(1, "x") != DFrozen(1, "x")
    assert RFrozen(1, "x").extra is not RFrozen(1, "x").extra  # a new dict each time


def test_frozen_and_mutable():
    r = RFrozen(1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.b
    m, dm = RMutable([1], None), DMutable([1], None)
    m.token = b"t"
    dm.token = b"t"
    assert repr(m).replace("RMutable", "X") == repr(dm).replace("DMutable", "X")
    with pytest.raises(TypeError):
        hash(m)
    with pytest.raises(TypeError):
        hash(dm)


def test_bad_declaration_refused_like_dataclass():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        class Bad(Record):  # noqa: F841
            a: int = 1
            b: int
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @dataclasses.dataclass
        class BadD:  # noqa: F841
            a: int = 1
            b: int


def test_library_records_pickle_and_compare():
    info = MapInfo(type=1, id=3, key_size=4, value_size=8, max_entries=16, map_flags=0, name="m")
    assert pickle.loads(pickle.dumps(info)) == info
    assert "MapInfo(type=1, id=3" in repr(info) and info.type_name == "hash"
    prog = ProgramInfo(type=6, id=1, tag=b"\0" * 8, name="p", extra={"x": "y"})
    assert prog == ProgramInfo(type=6, id=1, tag=b"\0" * 8, name="p")
    assert "extra" not in repr(prog) and prog.type_name == "xdp"
    assert RunResult(1, 2, b"", b"") == RunResult(retval=1, duration=2, data_out=b"", ctx_out=b"")
    res = BatchResult([(b"k", b"v")], None)
    assert res.done and res == BatchResult([(b"k", b"v")], None)
