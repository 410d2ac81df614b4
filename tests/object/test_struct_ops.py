"""struct_ops maps in objects: opening, loading and bad input, against independent oracles.

* Opening, against the ELF file as llvm-readelf-19 reads it (the struct_ops section's
  relocations) and the object's BTF as bpftool dumps it (DATASEC variables, member offsets):
  map names, sizes, flags, autocreate, and which program each function pointer names.
  (libbpf 1.1's own open of the ``.struct_ops`` build is compared by test_spec.py, and bpftool
  ``prog loadall`` of it by test_differential.py, as for every obj_* fixture.)
* Loading, against the kernel: programs carry the kernel's ``struct tcp_congestion_ops`` as
  attach target (its id from bpftool's dump of vmlinux BTF), the map the kernel's value type
  and size. Registered, against ``bpftool struct_ops register`` of the same object: the same
  map (name, type, sizes, flags, kernel value type), the same programs in the same members
  (names, types, tags) and the same value otherwise, as bpftool decodes both.
* Which programs are loaded (libbpf's struct_ops autoload rules) and the spec's editing API.
* Bad input: member type/size mismatches, a struct the kernel lacks, programs in the wrong
  section, a function in a non-function member... a clear error naming the map and member,
  libbpf (bpftool 7.1) refusing the same object, and nothing left in the kernel.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from pybpf.errors import BPFError, InvalidArgumentError, NotSupportedError, ObjectError
from pybpf.object import ObjectSpec
from tests.link.test_struct_ops import available, build_struct_ops, registered_struct_ops, transfer
from tests.link.test_struct_ops import cc_names, tools  # noqa: F401 - fixtures

BPF_F_LINK = 1 << 13


def _btf_json(path: str) -> dict[int, dict]:
    out = subprocess.run(["bpftool", "btf", "dump", "file", path, "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {t["id"]: t for t in json.loads(out)["types"]}


def _relocations(path: str, section: str) -> list[tuple[int, str]]:
    """``(offset, symbol)`` of the relocations of ``section``, as llvm-readelf-19 lists them."""
    out = subprocess.run(["llvm-readelf-19", "-r", path], capture_output=True, text=True, check=True).stdout
    rows: list[tuple[int, str]] = []
    inside = False
    for line in out.splitlines():
        m = re.match(r"Relocation section '(.*)' at offset", line)
        if m:
            inside = m.group(1) == ".rel" + section
            continue
        parts = line.split()
        if inside and len(parts) == 5 and re.fullmatch(r"[0-9a-f]{16}", parts[0]):
            rows.append((int(parts[0], 16), parts[4]))
    return rows


def _symbols(path: str) -> dict[str, int]:
    """Values of the OBJECT symbols, as llvm-readelf-19 lists them (clang leaves DATASEC
    variable offsets at 0; loaders take them from the symbols)."""
    out = subprocess.run(["llvm-readelf-19", "-s", path], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[3] == "OBJECT":
            syms[parts[7]] = int(parts[1], 16)
    return syms


def _expected_struct_ops(path: str) -> dict[str, dict]:
    """The struct_ops maps of ``path`` as bpftool's BTF dump and llvm-readelf describe them."""
    types = _btf_json(path)
    syms = _symbols(path)
    out = {}
    for t in types.values():
        if t["kind"] != "DATASEC" or t["name"].lstrip("?") not in (".struct_ops", ".struct_ops.link"):
            continue
        relocs = _relocations(path, t["name"])
        for v in t["vars"]:
            var = types[v["type_id"]]
            st = types[var["type_id"]]
            start = syms[var["name"]]
            progs = {}
            for off, sym in relocs:
                if start <= off < start + st["size"]:
                    member = next(m["name"] for m in st["members"] if m["bits_offset"] == (off - start) * 8)
                    progs[member] = sym
            out[var["name"]] = {"type": st["name"], "size": st["size"], "section": t["name"],
                                "flags": BPF_F_LINK if t["name"].endswith(".link") else 0,
                                "autocreate": not t["name"].startswith("?"), "programs": progs}
    return out


@pytest.fixture
def readers(require_tools):
    require_tools("bpftool", "llvm-readelf-19")


@pytest.mark.parametrize("variant", [{}, {"link": True}, {"link": True, "section": "?.struct_ops.link"},
                                     {"section": "?.struct_ops"}],
                         ids=["struct_ops", "struct_ops.link", "?struct_ops.link", "?struct_ops"])
def test_open_matches_elf_and_btf(compile_bpf, vmlinux_h, readers, variant):
    path = build_struct_ops(compile_bpf, vmlinux_h, **variant)
    want = _expected_struct_ops(path)
    assert want, "the fixture has struct_ops maps"
    spec = ObjectSpec.open(path)
    got = {}
    for mp in spec.maps.values():
        if mp.struct_ops is None:
            continue
        assert (mp.type, mp.key_size, mp.max_entries, mp.kind) == (26, 4, 1, "struct_ops")
        assert (mp.btf_key_type_id, mp.btf_value_type_id) == (0, 0)     # as libbpf: the kernel's type
        got[mp.name] = {"type": mp.struct_ops.type_name, "size": mp.value_size, "section": mp.struct_ops.section,
                        "flags": mp.flags, "autocreate": mp.autocreate, "programs": dict(mp.struct_ops.programs)}
    assert got == want
    # struct_ops maps come after every other map (libbpf: after .kconfig)
    kinds = [mp.kind for mp in spec.maps.values()]
    assert kinds[-len(want):] == ["struct_ops"] * len(want)
    # the referenced programs' expected_attach_type is their local member index (libbpf 1.1)
    members = [m["name"] for m in next(t for t in _btf_json(path).values()
                                       if t.get("name") == "tcp_congestion_ops" and t["kind"] == "STRUCT")["members"]]
    for ops in got.values():
        for member, prog in ops["programs"].items():
            assert spec.programs[prog].expected_attach_type == members.index(member)


def test_struct_ops_spec_editing(compile_bpf, vmlinux_h):
    path = build_struct_ops(compile_bpf, vmlinux_h)
    spec = ObjectSpec.open(path)
    ops = spec.maps["pybpf_cc"].struct_ops
    assert ops["name"] == b"pybpf_cc" and ops["flags"] == 0 and ops["ssthresh"] == "pybpf_ssthresh"
    assert ops["set_state"] is None and ops.is_function("init") and not ops.is_function("name")
    assert "key" in ops and "nope" not in ops and list(ops)[:2] == ["ssthresh", "cong_avoid"]
    copy = spec.copy()
    cops = copy.maps["pybpf_cc"].struct_ops
    cops["name"] = b"other"
    cops["flags"] = 1
    cops["release"] = None
    cops["set_state"] = spec.programs["pybpf_init"]
    assert cops["name"] == b"other" and cops["flags"] == 1 and cops["release"] is None
    assert cops["set_state"] == "pybpf_init"
    assert ops["name"] == b"pybpf_cc" and ops["flags"] == 0 and ops["release"] == "pybpf_release"
    assert ops["set_state"] is None
    with pytest.raises(KeyError, match="no member 'nope'"):
        ops["nope"] = 1
    with pytest.raises(InvalidArgumentError, match="flags"):
        ops["flags"] = 1 << 40
    with pytest.raises(InvalidArgumentError, match="program name"):
        ops["init"] = 42


def test_object_dump_shows_struct_ops(compile_bpf, vmlinux_h, run_pybpf):
    path = build_struct_ops(compile_bpf, vmlinux_h, link=True)
    info = json.loads(run_pybpf("object", "dump", path, "-j").stdout)
    maps = {m["name"]: m for m in info["maps"]}
    assert maps["pybpf_cc_b"]["struct_ops"] == {
        "type": "tcp_congestion_ops", "section": ".struct_ops.link", "autocreate": True,
        "programs": {"ssthresh": "pybpf_ssthresh", "cong_avoid": "pybpf_cong_avoid",
                     "undo_cwnd": "pybpf_undo_cwnd", "init": "pybpf_init_b"}}
    text = run_pybpf("object", "dump", path).stdout
    assert "struct tcp_congestion_ops in .struct_ops.link" in text and ".init = pybpf_init_b" in text


# ------------------------------------------------------------------------------------------ load

def _vmlinux_struct(name: str) -> tuple[int, int, list[str]]:
    """``(id, size, member names)`` of ``struct name`` in vmlinux BTF, as bpftool dumps it."""
    out = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(rf"^\[(\d+)\] STRUCT '{re.escape(name)}' size=(\d+) vlen=(\d+)\n((?:\t.*\n)*)", out, re.M)
    assert m, name
    members = re.findall(r"^\t'([^']*)' type_id=", m.group(4), re.M)
    return int(m.group(1)), int(m.group(2)), members


@pytest.mark.kernel
def test_load_uses_the_kernels_types(compile_bpf, vmlinux_h, require_tools):
    require_tools("bpftool")
    path = build_struct_ops(compile_bpf, vmlinux_h, link=True)
    ops_id, _, members = _vmlinux_struct("tcp_congestion_ops")
    value_id, value_size, _ = _vmlinux_struct("bpf_struct_ops_tcp_congestion_ops")
    spec = ObjectSpec.open(path)
    with spec.load() as obj:
        for name in ("pybpf_cc", "pybpf_cc_b"):
            info = obj.maps[name].info()
            assert (int(info.type), info.key_size, info.value_size, info.max_entries) == (26, 4, value_size, 1)
            assert info.map_flags == BPF_F_LINK and info.btf_vmlinux_value_type_id == value_id
            assert (info.btf_key_type_id, info.btf_value_type_id) == (0, 0) and info.btf_id
            assert len(obj.maps[name].struct_ops_value) == value_size
        for prog in obj.programs.values():
            pinfo = prog.info()
            assert pinfo.attach_btf_id == ops_id and pinfo.attach_btf_obj_id in (0, 1), prog.name
        assert members.index("ssthresh") == 0 and members.index("init") == 16
        # the spec is untouched by loading (value sizes, autoload, types): it loads again
        assert spec.maps["pybpf_cc"].value_size == 192
        with spec.load() as again:
            assert set(again.programs) == set(obj.programs)


def _bpftool_view(map_id: int) -> dict:
    """A registered struct_ops map as bpftool decodes it: map info, the value with each program
    replaced by (name, type, tag), and ``struct_ops show``'s line."""
    text = subprocess.run(["bpftool", "-j", "struct_ops", "dump", "id", str(map_id)],
                          capture_output=True, text=True, check=True).stdout
    text = text.strip()
    # bpftool 7.1 prints the info and value objects of one map without the enclosing list
    dump = json.loads(text if text.startswith("[") else f"[{text}]")
    info = dump[0]["bpf_map_info"]
    value = dump[1]["bpf_struct_ops_tcp_congestion_ops"]
    progs = {}
    for member, text in value["data"].items():
        m = re.search(r" (\w+)/prog_id:(\d+)$", text) if isinstance(text, str) else None
        if m:
            p = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", m.group(2)],
                                          capture_output=True, text=True, check=True).stdout)
            progs[member] = (m.group(1), p["name"], p["type"], p["tag"])
            value["data"][member] = "<prog>"
    shown = json.loads(subprocess.run(["bpftool", "-j", "struct_ops", "show", "id", str(map_id)],
                                      capture_output=True, text=True, check=True).stdout)
    keep = ("type", "key_size", "value_size", "max_entries", "map_flags", "name", "btf_vmlinux_value_type_id",
            "btf_key_type_id", "btf_value_type_id", "btf_vmlinux_id")
    return {"info": {k: info[k] for k in keep}, "value": value, "programs": progs,
            "show": {k: v for k, v in shown.items() if k != "id"}}


@pytest.mark.kernel
def test_register_matches_bpftool(build, require_tools):
    """``bpftool struct_ops register OBJ`` (libbpf 1.1) and pybpf's load + attach of the same
    ``.struct_ops`` object register the same thing."""
    require_tools("bpftool")
    path = build("obj_struct_ops")
    subprocess.run(["bpftool", "struct_ops", "unregister", "name", "pybpf_cc"], capture_output=True)
    assert "pybpf_cc" not in available()
    proc = subprocess.run(["bpftool", "struct_ops", "register", path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    try:
        reg = registered_struct_ops()["pybpf_cc"]
        want = _bpftool_view(reg["id"])
    finally:
        subprocess.run(["bpftool", "struct_ops", "unregister", "name", "pybpf_cc"], capture_output=True)
    assert "pybpf_cc" not in available()
    with ObjectSpec.open(path).load() as obj:
        obj.attach()
        try:
            assert "pybpf_cc" in available()
            got = _bpftool_view(obj.maps["pybpf_cc"].id)
        finally:
            obj.close()
    assert "pybpf_cc" not in available()
    assert got == want
    assert set(got["programs"]) == {"ssthresh", "cong_avoid", "undo_cwnd", "init", "release"}
    assert got["value"]["common"]["state"] == "BPF_STRUCT_OPS_STATE_INUSE"


# ------------------------------------------------------------------------------------------ autoload

@pytest.mark.kernel
def test_programs_follow_their_maps(compile_bpf, vmlinux_h):
    """A struct_ops program is loaded exactly when a map using it is created (libbpf 1.5's
    bpf_object_adjust_struct_ops_autoload), whatever its own autoload says."""
    path = build_struct_ops(compile_bpf, vmlinux_h, link=True)
    shared = {"pybpf_ssthresh", "pybpf_cong_avoid", "pybpf_undo_cwnd"}
    spec = ObjectSpec.open(path)
    spec.maps["pybpf_cc"].autocreate = False
    spec.programs["pybpf_init_b"].autoload = False          # overridden: pybpf_cc_b uses it
    with spec.load() as obj:
        assert set(obj.programs) == shared | {"pybpf_init_b"}
        assert "pybpf_cc" not in obj.maps and "pybpf_cc_b" in obj.maps
    spec = ObjectSpec.open(build_struct_ops(compile_bpf, vmlinux_h, link=True, section="?.struct_ops.link"))
    with spec.load() as obj:
        assert obj.programs == {} and [m for m in obj.maps if obj.maps.spec(m).struct_ops is not None] == []
    spec.maps["pybpf_cc_b"].autocreate = True
    with spec.load() as obj:
        assert set(obj.programs) == shared | {"pybpf_init_b"}


@pytest.mark.kernel
def test_dropped_callback(compile_bpf, vmlinux_h, no_leftovers, cc_names):
    """A callback dropped from the map before loading: its program, used nowhere else, cannot be
    loaded (nothing says what it implements) unless it is not autoloaded; then the member is
    empty in the registered map."""
    spec = ObjectSpec.open(build_struct_ops(compile_bpf, vmlinux_h))
    cc = cc_names()
    ops = spec.maps["pybpf_cc"].struct_ops
    ops["name"] = cc.encode()
    ops["release"] = None
    with no_leftovers(spec):
        with pytest.raises(ObjectError, match="prog 'pybpf_release': struct_ops program is not used by any "
                                              "struct_ops map"):
            spec.load()
    spec.programs["pybpf_release"].autoload = False
    with spec.load() as obj:
        assert "pybpf_release" not in obj.programs
        obj.attach()
        value = registered_struct_ops()[cc]["value"]["data"]
        assert value["release"].endswith(" 0") and "pybpf_init/prog_id" in value["init"]
        assert transfer(cc) == cc
        assert obj.variables["release_calls"].value == 0 and obj.variables["init_calls"].value == 1
    assert cc not in available()


PRELUDE = """#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;
__u64 init_calls;
SEC("struct_ops/ss") __u32 BPF_PROG(ss, struct sock *sk) { return tcp_reno_ssthresh(sk); }
SEC("struct_ops/ca") void BPF_PROG(ca, struct sock *sk, __u32 ack, __u32 acked) { tcp_reno_cong_avoid(sk, ack, acked); }
SEC("struct_ops/undo") __u32 BPF_PROG(undo, struct sock *sk) { return tcp_reno_undo_cwnd(sk); }
SEC("struct_ops/init") void BPF_PROG(init, struct sock *sk) { __sync_fetch_and_add(&init_calls, 1); }
"""


def _compile(compile_bpf, vmlinux_h, body: str, name: str) -> str:
    return compile_bpf(source=PRELUDE + body, name=name, include_dirs=(vmlinux_h,),
                       flags=("-Wno-incompatible-pointer-types", "-Wno-int-conversion"))


@pytest.mark.kernel
def test_local_struct_in_another_order(compile_bpf, vmlinux_h, cc_names):
    """A local (flavored) struct with the members in another order and a member the kernel lacks
    (zero, so skipped): members are matched by name, programs get the kernel's member index
    (or the kernel would refuse the registration), and the algorithm works."""
    body = """
struct tcp_congestion_ops___mini {
	char name[16];
	void (*init)(struct sock *sk);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*ssthresh)(struct sock *sk);
	int pybpf_unused;
};
SEC(".struct_ops.link") struct tcp_congestion_ops___mini mini = {
	.name = "pyb_mini", .init = (void *)init, .undo_cwnd = (void *)undo, .cong_avoid = (void *)ca,
	.ssthresh = (void *)ss,
};
"""
    spec = ObjectSpec.open(_compile(compile_bpf, vmlinux_h, body, "obj_struct_ops_mini"))
    assert spec.programs["init"].expected_attach_type == 1          # local index until loaded
    cc = cc_names()
    spec.maps["mini"].struct_ops["name"] = cc.encode()
    with spec.load() as obj:
        obj.attach()
        assert transfer(cc) == cc
        assert obj.variables["init_calls"].value == 1
    assert cc not in available()


BAD = [
    ("kind", """
struct tcp_congestion_ops___bad { __u32 (*ssthresh)(struct sock *sk); void *flags; char name[16]; };
SEC(".struct_ops") struct tcp_congestion_ops___bad bad_cc = { .ssthresh = (void *)ss, .name = "pyb_bad" };
""", "load", ObjectError, "struct_ops map 'bad_cc': member 'flags' type mismatch: ptr in the object, int in the "
                          "kernel's struct tcp_congestion_ops"),
    ("size", """
struct tcp_congestion_ops___bad { __u32 (*ssthresh)(struct sock *sk); __u64 flags; char name[16]; };
SEC(".struct_ops") struct tcp_congestion_ops___bad bad_cc = { .ssthresh = (void *)ss, .name = "pyb_bad" };
""", "load", ObjectError, "struct_ops map 'bad_cc': member 'flags' size mismatch: 8 bytes in the object, 4 in "
                          "the kernel's struct tcp_congestion_ops"),
    ("unknown-struct", """
struct pybpf_no_such_ops { __u32 (*run)(struct sock *sk); };
SEC(".struct_ops.link") struct pybpf_no_such_ops bad_ops = { .run = (void *)ss };
""", "load", NotSupportedError, "struct_ops map 'bad_ops': struct pybpf_no_such_ops is not found in the "
                                "kernel's BTF"),
    ("missing-member", """
struct tcp_congestion_ops___bad { __u32 (*ssthresh)(struct sock *sk); char name[16]; int pybpf_extra; };
SEC(".struct_ops") struct tcp_congestion_ops___bad bad_cc = { .ssthresh = (void *)ss, .pybpf_extra = 1 };
""", "load", NotSupportedError, "struct_ops map 'bad_cc': member 'pybpf_extra' is not in the kernel's struct "
                                "tcp_congestion_ops"),
    ("not-a-kernel-function", """
struct tcp_congestion_ops___bad { __u32 (*ssthresh)(struct sock *sk); void (*owner)(void); };
SEC(".struct_ops") struct tcp_congestion_ops___bad bad_cc = { .ssthresh = (void *)ss, .owner = (void *)init };
""", "load", ObjectError, "struct_ops map 'bad_cc': member 'owner' is a function pointer in the object but not "
                          "in the kernel's struct tcp_congestion_ops"),
    ("xdp-program", """
SEC("xdp") int xdp_prog(struct xdp_md *ctx) { return XDP_PASS; }
SEC(".struct_ops") struct tcp_congestion_ops bad_cc = { .ssthresh = (void *)xdp_prog, .name = "pyb_bad" };
""", "open", ObjectError, "struct_ops map 'bad_cc': member 'ssthresh': program 'xdp_prog' is not a struct_ops "
                          "program \\(it is in section 'xdp'"),
    ("text-function", """
__attribute__((noinline)) __u32 plain_fn(struct sock *sk) { return 2; }
SEC("xdp") int xdp_prog(struct xdp_md *ctx) { return plain_fn(0); }
SEC(".struct_ops") struct tcp_congestion_ops bad_cc = { .ssthresh = (void *)plain_fn, .name = "pyb_bad" };
""", "open", ObjectError, "struct_ops map 'bad_cc': member 'ssthresh': program 'plain_fn' is not a struct_ops "
                          "program \\(it is a subprogram"),
    ("data-member", """
SEC(".struct_ops") struct tcp_congestion_ops bad_cc = { .ssthresh = (void *)ss, .owner = (void *)ca };
""", "open", ObjectError, "struct_ops map 'bad_cc': member 'owner' is not a function pointer, so 'ca' cannot"),
    ("reused", """
SEC(".struct_ops") struct tcp_congestion_ops bad_cc = { .ssthresh = (void *)ss, .undo_cwnd = (void *)ss };
""", "open", ObjectError, "struct_ops map 'bad_cc': member 'undo_cwnd': program 'ss' is already used for member "
                          "#0"),
]


@pytest.mark.kernel
@pytest.mark.parametrize("case, body, phase, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_struct_ops(compile_bpf, vmlinux_h, no_leftovers, bpffs_dir, require_tools, case, body, phase,
                        error, message):
    require_tools("bpftool")
    path = _compile(compile_bpf, vmlinux_h, body, f"obj_struct_ops_bad_{case.replace('-', '_')}")
    # libbpf refuses the same object
    proc = subprocess.run(["bpftool", "prog", "loadall", path, os.path.join(bpffs_dir, "progs")],
                          capture_output=True, text=True)
    assert proc.returncode != 0, proc.stdout
    if phase == "open":
        with pytest.raises(error, match=message) as exc:
            ObjectSpec.open(path)
    else:
        spec = ObjectSpec.open(path)
        with no_leftovers(spec):
            with pytest.raises(error, match=message) as exc:
                spec.load()
    assert path in str(exc.value)


def test_fuzzed_struct_ops_objects(build):
    """Mutations of the struct_ops parts of an object (the section, its relocations, the BTF):
    pybpf errors only."""
    import random

    from tests.object.test_bad_input import _section

    with open(build("obj_struct_ops"), "rb") as f:
        good = f.read()
    rng = random.Random(1234)
    targets = [_section(good, n) for n in (".struct_ops", ".rel.struct_ops", ".BTF")]
    for _ in range(400):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            sec = rng.choice(targets)
            pos = sec["offset"] + rng.randrange(max(1, sec["size"]))
            data[pos] = rng.randrange(256)
        try:
            spec = ObjectSpec.from_bytes(bytes(data), name="fuzz")
        except BPFError:
            continue
        for mp in spec.maps.values():
            if mp.struct_ops is not None:
                for member in mp.struct_ops:
                    try:
                        mp.struct_ops[member]
                    except BPFError:
                        pass
