"""Bad relocation records, bad instructions and bad BTF: a CORERelocationError naming the
program, the instruction and the relocation -- never another exception.

The first group needs no kernel (the expectation is the error and its context). The second
forges bad records into a real object and checks that pybpf fails exactly where and how
libbpf does (same messages up to the failure).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTF, Kind
from pybpf.core import CORERelo, RelocationKind as K, Relocator, TargetBTF
from pybpf.errors import CORERelocationError

from .harness import load_target, run_libbpf, run_pybpf
from .objfile import core_relo_locations, patched_copy, read_object
from .test_libbpf_differential import assert_same_as_libbpf


class Relo(NamedTuple):
    """A relocation record carrying its access string directly (the engine accepts either)."""

    insn_off: int
    type_id: int
    access_str: str
    kind: int


def mov(imm: int) -> bytes:  # r1 = imm (ALU64 | MOV | K)
    return struct.pack("<BBhi", 0xB7, 0x01, 0, imm)


EXIT = struct.pack("<BBhi", 0x95, 0, 0, 0)
ADD_REG = struct.pack("<BBhi", 0x0F, 0x21, 0, 0)  # r1 += r2
LD_IMM64 = struct.pack("<BBhi", 0x18, 0x01, 0, 5) + struct.pack("<BBhi", 0, 0, 0, 0)


@pytest.fixture(scope="module")
def env(compile_bpf, core_target):
    obj = read_object(compile_bpf("core_fields.bpf.c"))
    local = BTF.parse(obj.btf)
    target = load_target(core_target("core_same"))

    def ids(name: str, kind: Kind) -> int:
        return local.find_one(name, kind)

    sample = ids("core_sample", Kind.STRUCT)
    anon = next(m.type for m in local[sample].members if not m.name)
    return {
        "local": local,
        "target": target,
        "sample": sample,
        "inner": ids("core_inner", Kind.STRUCT),
        "anon": anon,
        "color": ids("core_color", Kind.ENUM),
        "member": {m.name: i for i, m in enumerate(local[sample].members)},
    }


def relocate(env, relo, insns: bytes = mov(0) + EXIT, *, prog="prog", relo_idx=3, insn_idx=None):
    buf = bytearray(insns)
    reloc = Relocator(env["local"], env["target"])
    expl = reloc.relocate(buf, relo, prog_name=prog, relo_idx=relo_idx, insn_idx=insn_idx)
    return expl, buf


def fails(env, relo, insns: bytes = mov(0) + EXIT, **kw) -> str:
    with pytest.raises(CORERelocationError) as info:
        relocate(env, relo, insns, **kw)
    text = str(info.value)
    assert "prog 'prog'" in text and "relo #3" in text and "insn #" in text
    assert info.value.explanation.error == info.value.message
    return text


def test_access_string_out_of_range(env):
    assert "out of range" in fails(env, Relo(0, env["sample"], "0:99", K.FIELD_BYTE_OFFSET))
    arr = env["member"]["arr"]
    assert "array index 4" in fails(env, Relo(0, env["sample"], f"0:{arr}:4", K.FIELD_BYTE_OFFSET))
    # into a scalar: 'a' is an int, it has no members
    assert "neither a struct" in fails(env, Relo(0, env["sample"], "0:0:1", K.FIELD_BYTE_OFFSET))


@pytest.mark.parametrize("text", ["", ":0", "0:", "x", "0::1", "0:-1", "0:99999999999", "0:1x",
                                  ":".join(["0"] * 65)])
def test_malformed_access_strings(env, text):
    assert "access string" in fails(env, Relo(0, env["sample"], text, K.FIELD_BYTE_OFFSET))


def test_type_relocation_needs_access_string_zero(env):
    assert "needs access string '0'" in fails(env, Relo(0, env["sample"], "0:1", K.TYPE_EXISTS))


@pytest.mark.parametrize("kind", [13, 99, -1])
def test_unknown_kind(env, kind):
    assert "unknown relocation kind" in fails(env, Relo(0, env["sample"], "0:0", kind))


def test_bad_local_type(env):
    assert "out of range" in fails(env, Relo(0, 10 ** 6, "0:0", K.FIELD_BYTE_OFFSET))
    assert "anonymous" in fails(env, Relo(0, env["anon"], "0:0", K.FIELD_BYTE_OFFSET))
    assert "not an enum" in fails(env, Relo(0, env["sample"], "0", K.ENUMVAL_VALUE))
    assert "out of range" in fails(env, Relo(0, env["color"], "7", K.ENUMVAL_VALUE))


def test_bad_string_offset(env):
    relo = CORERelo(0, env["sample"], 10 ** 7, K.FIELD_BYTE_OFFSET)
    assert "string section" in fails(env, relo)


def test_relocation_on_a_non_instruction(env):
    relo = Relo(3, env["sample"], "0:0", K.FIELD_BYTE_OFFSET)
    assert "not a multiple of 8" in fails(env, relo)
    assert "outside the program" in fails(env, Relo(80, env["sample"], "0:0", K.FIELD_BYTE_OFFSET))
    assert "cannot carry" in fails(env, Relo(0, env["sample"], "0:0", K.FIELD_BYTE_OFFSET), EXIT + EXIT)
    assert "register operand" in fails(env, Relo(0, env["sample"], "0:0", K.FIELD_BYTE_OFFSET), ADD_REG)
    # the second half of a 64-bit immediate load
    relo = Relo(8, env["local"].find_one("core_color", Kind.ENUM), "0", K.ENUMVAL_EXISTS)
    assert "not a plain 64-bit immediate load" in fails(env, relo, LD_IMM64)
    # a 64-bit immediate load cut off at the end of the program
    assert "not a plain 64-bit immediate load" in fails(env, Relo(0, relo.type_id, "0", K.ENUMVAL_EXISTS),
                                                        LD_IMM64[:8])


def test_instruction_holding_the_wrong_value(env):
    text = fails(env, Relo(0, env["sample"], "0:1", K.FIELD_BYTE_OFFSET), mov(12345))
    assert "unexpected insn #0 (ALU/ALU64) value: got 12345, expected 4" in text


def test_error_names_the_program_instruction_and_relocation(env):
    with pytest.raises(CORERelocationError) as info:
        relocate(env, Relo(16, env["sample"], "0:99", K.FIELD_BYTE_OFFSET), mov(0) * 3,
                 prog="handle_exec", relo_idx=7, insn_idx=2)
    text = str(info.value)
    assert text.startswith("prog 'handle_exec': relo #7 at insn #2 (<byte_off> [")
    assert "struct core_sample + '0:99'" in text


def test_bad_target_btf_is_an_error_not_a_crash(env):
    # A target whose core_sample.a is a typedef that refers to itself.
    strings = b"\0int\0core_sample\0a\0loop\0"
    types = struct.pack("<III", 1, 1 << 24, 4) + struct.pack("<I", (1 << 24) | 32)       # [1] int
    types += struct.pack("<III", 5, (4 << 24) | 1, 4) + struct.pack("<III", 17, 3, 0)    # [2] struct
    types += struct.pack("<III", 19, 8 << 24, 3)                                          # [3] typedef -> 3
    raw = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    bad = BTF.parse(raw + types + strings)
    reloc = Relocator(env["local"], [TargetBTF("vmlinux", bad)])
    with pytest.raises(CORERelocationError, match="bad BTF"):
        reloc.relocate(bytearray(mov(0)), Relo(0, env["sample"], "0:0", K.FIELD_BYTE_OFFSET))


def test_explain_never_raises(env):
    reloc = Relocator(env["local"], env["target"])
    expl = reloc.explain(Relo(0, env["sample"], "0:99", K.FIELD_BYTE_OFFSET), insns=mov(0))
    assert expl.error and "out of range" in expl.error
    assert "error:" in expl.render()


ACCESS = st.one_of(
    st.text(alphabet="0123456789:+- x", max_size=12),
    st.lists(st.integers(0, 40), min_size=1, max_size=6).map(lambda xs: ":".join(map(str, xs))),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.integers(-2, 15), type_id=st.integers(0, 60), access=ACCESS,
       insn_off=st.integers(0, 40), insns=st.binary(min_size=0, max_size=40))
def test_fuzz_only_relocation_errors(env, kind, type_id, access, insn_off, insns):
    reloc = Relocator(env["local"], env["target"])
    buf = bytearray(insns)
    try:
        reloc.relocate(buf, Relo(insn_off, type_id, access, kind), prog_name="p")
    except CORERelocationError as exc:
        assert "prog 'p'" in str(exc)
    assert len(buf) == len(insns)


# ------------------------------------------------------------ forged records, against libbpf
def _records(obj_path):
    obj = read_object(obj_path)
    local = BTF.parse(obj.btf)
    recs = core_relo_locations(obj)
    return obj, local, recs


def _forge(compile_bpf, tmp_path, how):
    path = compile_bpf("core_fields.bpf.c")
    obj, local, recs = _records(path)
    edits = how(obj, local, recs)
    return patched_copy(path, str(tmp_path / "forged.bpf.o"), edits)


def _first(recs, kind):
    return next(r for r in recs if r[3].kind == kind)


def _access_off(local, text):
    """Offset of an existing string in the object's BTF string section."""
    data = local.raw
    hdr = struct.unpack_from("<HBBIIIII", data, 0)
    start = hdr[3] + hdr[6]
    pos = data.index(b"\0" + text.encode() + b"\0", start) + 1
    return pos - start


def _string_file_off(obj, local, text):
    hdr = struct.unpack_from("<HBBIIIII", local.raw, 0)
    return obj.sections[".BTF"].offset + hdr[3] + hdr[6] + _access_off(local, text)


FORGERIES = {
    # kind 13 does not exist
    "unknown-kind": lambda obj, local, recs: [(recs[0][2] + 12, "<I", 13)],
    # a local type id past the end of the object's BTF
    "type-out-of-range": lambda obj, local, recs: [(recs[0][2] + 4, "<I", 99999)],
    # a relocation against the anonymous struct inside core_sample
    "anonymous-type": lambda obj, local, recs: [
        (recs[0][2] + 4, "<I", next(m.type for m in local[local.find_one("core_sample", Kind.STRUCT)].members
                                    if not m.name))],
    # core_sample's access string "0:13" applied to core_inner, which has 2 members
    "access-out-of-range": lambda obj, local, recs: [
        (recs[0][2] + 4, "<I", local.find_one("core_inner", Kind.STRUCT)),
        (recs[0][2] + 8, "<I", _access_off(local, "0:13"))],
    # the access string "0:4:1" (in.y) rewritten in place to "0:0:1": a step into the int 'a'
    "access-into-scalar": lambda obj, local, recs: [
        (_string_file_off(obj, local, "0:4:1"), "5s", b"0:0:1")],
    # a type relocation with a field access string
    "type-with-access": lambda obj, local, recs: [
        (_first(recs, K.TYPE_EXISTS)[2] + 8, "<I", _access_off(local, "0:4:1"))],
    # a relocation pointing into the middle of an instruction
    "misaligned": lambda obj, local, recs: [(recs[0][2], "<I", recs[0][3].insn_off + 4)],
    # a relocation on the program's final 'exit'
    "on-exit": lambda obj, local, recs: [
        (recs[0][2], "<I", (next(p for p in obj.programs if p.name == "core_probe_reads").insn_cnt - 1) * 8)],
    # the compiler's value in the instruction does not match the local type
    "wrong-insn-value": lambda obj, local, recs: [
        (obj.sections[recs[0][0]].offset + recs[0][3].insn_off + 4, "<i", 77)],
    # TYPE_ID_LOCAL on type 0 (void) is allowed
    "local-id-void": lambda obj, local, recs: [(_first(recs, K.TYPE_ID_LOCAL)[2] + 4, "<I", 0)],
}


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_records_fail_like_libbpf(compile_bpf, core_target, require_libbpf, tmp_path, name):
    forged = _forge(compile_bpf, tmp_path, FORGERIES[name])
    tgt = core_target("core_same")
    lb = run_libbpf(forged, tgt)
    pb = run_pybpf(forged, load_target(tgt))
    if name != "misaligned":
        assert_same_as_libbpf(lb, pb)
    if name == "misaligned":
        # libbpf gives up without a CO-RE message; so must pybpf, and it must fail.
        assert lb.load_err and lb.load_err < 0 and not lb.core_log()
        assert pb.error is not None and "not a multiple of 8" in str(pb.error) and not pb.log
    elif name == "local-id-void":
        assert pb.error is None
    else:
        assert pb.error is not None


@pytest.mark.kernel
def test_offset_too_big_for_a_load_like_libbpf(compile_bpf, core_target, require_libbpf):
    obj = compile_bpf("core_fields.bpf.c")
    tgt = core_target("core_huge")
    lb = run_libbpf(obj, tgt)
    pb = run_pybpf(obj, load_target(tgt))
    assert_same_as_libbpf(lb, pb)
    assert pb.error is not None and "16-bit offset" in str(pb.error)
