"""Loading the fixtures and making them run: results read back through maps and globals.

Every expected value comes from outside pybpf: from C semantics of the fixture (computed here
in Python), from the running kernel (getpid, /proc, /proc/config.gz, /proc/kallsyms), or from
what the kernel reports about the loaded objects.
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess

import pytest

from pybpf.errors import AttachError, BPFError, ObjectError, PermissionDeniedError, VerifierError
from pybpf.object import ObjectSpec

pytestmark = pytest.mark.kernel

PKT = bytes(64)


def _skb_ctx(mark: int = 0) -> bytes:
    ctx = bytearray(192)                 # struct __sk_buff
    struct.pack_into("<I", ctx, 8, mark)  # mark
    return bytes(ctx)


# ------------------------------------------------------------------------------ global data

def test_globals_edit_run_and_live_variables(build):
    spec = ObjectSpec.open(build("obj_globals"))
    spec.variables["rd_mult"].value = 7
    spec.variables["rd_cfg"].value = {"mult": 30, "add": 40, "tag": "xyz", "flag": 1, "level": 2}
    spec.variables["bss_cfg"].value = {"mult": 5, "level": 3}
    with spec.load() as obj:
        v = obj.variables
        assert obj.programs["globals_xdp"].test_run(PKT).retval == 2        # XDP_PASS
        out = v["out_values"].value
        assert out[0] == 7 * 10
        assert out[1] == 30 + 40 + 1 + 2
        assert out[2] == ord("p") + ord("y")
        assert out[3] == 77 + 88
        assert out[4] == 1 + 2 + 3 + 4
        assert out[5] == 5
        assert out[6] == 5 + 3
        assert out[7] == 0
        assert v["bss_total"].value == 1 and v["data_counter"].value == 11
        # live writes reach the program through the mmap; reads see its writes
        v["data_counter"].value = 100
        v["hidden_global"].value = 6
        obj.programs["globals_xdp"].test_run(PKT)
        out = v["out_values"].value
        assert out[0] == 7 * 100 and out[5] == 6 and out[7] == 1
        assert v["data_counter"].value == 101 and v["bss_total"].value == 2
        # .rodata is frozen: read-only for user space, also through the map
        assert v["rd_mult"].value == 7 and v["rd_mult"].read_only
        with pytest.raises(PermissionDeniedError):
            v["rd_mult"].value = 1
        with pytest.raises(BPFError):
            obj.maps[".rodata"].update(0, bytes(obj.maps[".rodata"].value_size))
        # the same bytes through the maps' typed codecs
        assert obj.maps[".data"].lookup(0)["data_counter"] == 101
        assert obj.maps[".data.custom"].lookup(0) == {"custom_data": 77}
        info = obj.maps[".rodata"].info()
        assert info.name == obj.spec.maps[".rodata"].name and info.frozen


def test_spec_reusable_and_unchanged_by_load(build):
    spec = ObjectSpec.open(build("obj_globals"))
    before = bytes(spec.maps[".data"].data)
    for _ in range(2):
        with spec.load() as obj:
            obj.variables["data_counter"].value = 50
            obj.programs["globals_xdp"].test_run(PKT)
            assert obj.variables["out_values"].value[0] == 2 * 50
    assert bytes(spec.maps[".data"].data) == before


def test_custom_bss_section(build):
    with ObjectSpec.open(build("obj_sections")).load() as obj:
        for i in range(3):
            obj.programs["sections_xdp"].test_run(PKT)
        assert obj.variables["custom_bss"].value == 6 and obj.variables["seen"].value == 6


# ------------------------------------------------------------------------------ calls

def test_calls_callbacks_and_hidden_subprograms(build):
    spec = ObjectSpec.open(build("obj_calls"))
    mode = 3
    with spec.load() as obj:
        for i, v in enumerate((5, 6, 7, 8)):
            obj.maps["arr"][i] = v
        obj.variables["results"].value = [0] * 7 + [1000]
        for name in ("calls_a", "calls_b"):
            assert obj.programs[name].test_run(PKT).retval == 2
        obj.programs["calls_c"].test_run(PKT, _skb_ctx())
        r = obj.variables["results"].value

        def sub_c(x): return x * 3 + 1
        def sub_b(x): return sub_c(x) + 2
        def sub_a(x): return sub_b(x) * 2

        assert r[0] == sub_a(mode)
        assert r[1] == mode + 100
        assert r[2] == sub_c(mode) + (mode ^ 5) + 1000
        assert r[3] == sum(range(10))
        assert r[4] == sum(v + k for k, v in enumerate((5, 6, 7, 8))) + sub_b(mode)
        # each entry program got its own copy of what it calls, in first-call order
        assert obj.linked["calls_a"].subprograms == ["sub_a", "sub_b", "sub_c", "global_sub"]
        assert obj.linked["calls_b"].subprograms == ["sub_c", "hidden_sub", "loop_cb"]
        assert obj.linked["calls_c"].subprograms == ["each_cb", "sub_b", "sub_c"]


def test_func_and_line_info_reach_the_kernel(build):
    """The kernel got one func_info per function of each linked program, at the instruction
    where each function starts (the kernel checks that), and line info."""
    with ObjectSpec.open(build("obj_calls")).load() as obj:
        for name, prog in obj.programs.items():
            info = prog.info()
            linked = obj.linked[name]
            assert len(info.func_info) // info.func_info_rec_size == 1 + len(linked.subprograms)
            assert len(info.line_info) // info.line_info_rec_size == len(linked.line_info)
            assert info.btf_id


def test_exception_callback_appended(build):
    spec = ObjectSpec.open(build("obj_exceptions"))
    with spec.load() as obj:
        prog = obj.programs["exc_main"]
        assert obj.linked["exc_main"].exception_callback == "exc_cb"
        assert "exc_cb" in obj.linked["exc_main"].subprograms
        assert prog.test_run(PKT, _skb_ctx()).retval == 7
        obj.variables["throw_value"].value = 41
        assert prog.test_run(PKT, _skb_ctx()).retval == 42      # exc_cb(cookie) = cookie + 1


# ------------------------------------------------------------------------------ maps

def test_maps_slots_tail_calls_and_definitions(build):
    from pybpf.sys.cpus import num_possible_cpus

    spec = ObjectSpec.open(build("obj_maps"))
    with spec.load() as obj:
        m = obj.maps
        m["inner_b"][1] = 55
        m["inner_a"][0] = 66
        prog = obj.programs["maps_main"]
        assert prog.test_run(PKT, _skb_ctx(0)).retval == 0      # empty slot: tail call falls through
        r = obj.variables["results"].value
        assert r[0] == 55 and r[2] == 66                        # outer_arr[0] = inner_b, outer_hash[4] = inner_a
        assert prog.test_run(PKT, _skb_ctx(1)).retval == 1 and obj.variables["results"].value[1] == 11
        assert prog.test_run(PKT, _skb_ctx(3)).retval == 3 and obj.variables["results"].value[3] == 33
        ids = {name: m[name].info().id for name in ("inner_a", "inner_b")}
        raw = m["outer_arr"]
        slots = {k: int.from_bytes(bytes(raw.lookup(k.to_bytes(4, "little"))), "little")
                 for k in (0, 2)}
        assert slots == {0: ids["inner_b"], 2: ids["inner_a"]}
        with pytest.raises(BPFError):
            raw.lookup((1).to_bytes(4, "little"))
        info = {name: m[name].info() for name in m}
        assert info["ring"].max_entries == 8192
        assert info["perf"].max_entries == num_possible_cpus()
        assert info["bloom"].map_extra == 3
        assert info["hash_noprealloc"].map_flags == 1
        assert info["numa"].map_flags & 4
        assert (info["lru_sized"].key_size, info["lru_sized"].value_size) == (8, 16)
        assert info["counts" if "counts" in info else "percpu"].btf_value_type_id
        assert info["stacks"].btf_value_type_id == 0 and info["perf"].btf_key_type_id == 0


def test_pinning_by_name(build, bpffs_dir, no_leftovers):
    from pybpf.maps import Map

    spec = ObjectSpec.open(build("obj_pinning"))
    path = os.path.join(bpffs_dir, "pybpf_pinned_counts")
    with spec.load(pin_root=bpffs_dir) as obj:
        first = obj.maps["pybpf_pinned_counts"].info().id
        obj.programs["pinned_xdp"].test_run(PKT)
    assert os.path.exists(path)
    with spec.load(pin_root=bpffs_dir) as obj:       # reused, with its contents
        assert obj.maps["pybpf_pinned_counts"].info().id == first
        assert obj.maps["pybpf_pinned_counts"][1] == 1
    # an incompatible map at the pin path is refused, and nothing is left behind
    os.unlink(path)
    with Map.create("hash", 4, 8, 99, name="other") as other:
        other.pin(path)
        with no_leftovers(spec):
            with pytest.raises(ObjectError, match=r"pybpf_pinned_counts.*parameter mismatch.*max_entries 99"):
                spec.load(pin_root=bpffs_dir)
    os.unlink(path)


def test_failed_load_unpins_what_it_pinned(build, bpffs_dir, no_leftovers):
    spec = ObjectSpec.open(build("obj_pinning"))
    spec.programs["pinned_xdp"].type = "tracing"       # no attach target: the kernel refuses it
    with no_leftovers(spec):
        with pytest.raises(BPFError, match="pinned_xdp"):
            spec.load(pin_root=bpffs_dir)
    assert os.listdir(bpffs_dir) == []


def test_map_reuse(build):
    from pybpf.maps import Map

    spec = ObjectSpec.open(build("obj_calls"))
    with Map.create("array", 4, 8, 4, name="shared") as shared:
        shared.update((0).to_bytes(4, "little"), (1000).to_bytes(8, "little"))
        spec.maps["arr"].reuse(shared)
        with spec.load() as obj:
            assert obj.maps["shared"].info().id == shared.info().id
            obj.programs["calls_c"].test_run(PKT, _skb_ctx())
            assert obj.variables["results"].value[4] == 1000 + (0 + 1 + 2 + 3) + 12   # + sub_b(3)


def test_autocreate_off_poisons_references(build):
    spec = ObjectSpec.open(build("obj_calls"))
    spec.maps["arr"].autocreate = False
    spec.programs["calls_c"].autoload = False
    with spec.load() as obj:                         # calls_c is the only user of arr
        assert "arr" not in obj.maps and "calls_c" not in obj.programs
    spec.programs["calls_c"].autoload = True
    with pytest.raises(VerifierError) as exc:
        spec.load()
    assert "map 'arr', which was not created" in str(exc.value)
    assert "BPF map 'arr' is referenced but wasn't created" in exc.value.log


# ------------------------------------------------------------------------------ externs

def _kernel_config() -> dict[str, str]:
    for path in (f"/boot/config-{os.uname().release}", "/proc/config.gz"):
        try:
            raw = open(path, "rb").read()
        except OSError:
            continue
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        out = {}
        for line in raw.decode().splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                k, _, v = line.partition("=")
                out[k] = v
        return out
    pytest.skip("no kernel configuration readable")


def test_kconfig_and_kallsyms_externs(build):
    cfg = _kernel_config()
    for opt in ("CONFIG_BPF_SYSCALL", "CONFIG_BPF_JIT", "CONFIG_BPF", "CONFIG_HZ", "CONFIG_NR_CPUS",
                "CONFIG_NR_CPUS_RANGE_BEGIN", "CONFIG_PHYSICAL_START", "CONFIG_ILLEGAL_POINTER_VALUE",
                "CONFIG_LOCALVERSION", "CONFIG_DEFAULT_HOSTNAME"):
        if opt not in cfg:
            pytest.skip(f"this kernel's configuration has no {opt}")
    syms = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if parts[2] == "__start_BTF":
                syms[parts[2]] = int(parts[0], 16)
    rel = [int(x) for x in os.uname().release.split("-")[0].split(".")[:3]]
    tri = {"y": 1, "m": 2, "n": 0}
    with ObjectSpec.open(build("obj_externs")).load() as obj:
        obj.programs["kconfig_run"].test_run()
        out = obj.variables["out_num"].value
        assert out[0] == (rel[0] << 16) + (rel[1] << 8) + min(rel[2], 255)
        assert out[1] == 1                                # bpf_get_attach_cookie exists on 6.x
        assert out[3] == 0                                # weak: unknown LINUX_, missing CONFIG_ and "is not set"
        assert out[4] == (cfg["CONFIG_BPF_SYSCALL"] == "y")
        assert out[5] == tri[cfg["CONFIG_BPF_JIT"]]
        assert out[6] == ord(cfg["CONFIG_BPF"][0])
        assert out[7] == int(cfg["CONFIG_HZ"]) + int(cfg["CONFIG_NR_CPUS"]) * 1000 + \
            int(cfg["CONFIG_NR_CPUS_RANGE_BEGIN"]) * 10000000
        assert out[8] == int(cfg["CONFIG_PHYSICAL_START"], 0)
        assert out[9] == int(cfg["CONFIG_ILLEGAL_POINTER_VALUE"], 0) & ((1 << 64) - 1)
        assert out[10] == syms["__start_BTF"]
        assert out[11] == 0                               # weak ksym missing from kallsyms
        lv = cfg["CONFIG_LOCALVERSION"].strip('"').encode()[:15]
        assert obj.variables["out_localversion"].value == lv
        assert obj.variables["out_hostname"].value == cfg["CONFIG_DEFAULT_HOSTNAME"].strip('"').encode()[:3]


def test_extra_kconfig_takes_precedence(build):
    with ObjectSpec.open(build("obj_externs")).load(kconfig="CONFIG_HZ=1000\nCONFIG_BPF_JIT=m\n") as obj:
        obj.programs["kconfig_run"].test_run()
        cfg = _kernel_config()
        out = obj.variables["out_num"].value
        assert out[5] == 2
        assert out[7] == 1000 + int(cfg["CONFIG_NR_CPUS"]) * 1000 + int(cfg["CONFIG_NR_CPUS_RANGE_BEGIN"]) * 10000000


@pytest.mark.parametrize("line, message", [
    ("CONFIG_HZ=y", "implies bool, tristate, or char type"),
    ("CONFIG_BPF_SYSCALL=m", "implies tristate or char type"),
    ("CONFIG_NR_CPUS=70000", "doesn't fit in 2 bytes"),
    ("CONFIG_HZ=12x", "isn't a valid integer"),
    ("CONFIG_LOCALVERSION=7", "implies integer type"),
    ("CONFIG_HZ", "no separator"),
    ("CONFIG_HZ=", "no value"),
    ('CONFIG_HZ="a"', "implies char array type"),
])
def test_kconfig_values_checked_like_libbpf(build, line, message, no_leftovers):
    spec = ObjectSpec.open(build("obj_externs"))
    with no_leftovers(spec):
        with pytest.raises(ObjectError, match=message):
            spec.load(kconfig=line)


def test_kconfig_map_matches_libbpf(build, libbpf):
    """The .kconfig map libbpf fills for the same object holds the same bytes."""
    path = build("obj_externs")
    want = libbpf(path, load=True)
    assert want["load_err"] == 0
    libbpf_kcfg = next(m for m in want["maps_after_load"] if m["name"].endswith(".kconfig"))
    with ObjectSpec.open(path).load() as obj:
        got = bytes(obj.maps[".kconfig"].value_codec.encode(obj.maps[".kconfig"].lookup(0)))
    assert got.hex() == libbpf_kcfg["initial_value"]


def test_kfuncs(build):
    with ObjectSpec.open(build("obj_kfuncs")).load() as obj:
        obj.variables["want_pid"].value = os.getpid()
        obj.programs["kfunc_run"].test_run()
        v = obj.variables
        assert v["got_pid"].value == os.getpid()
        assert v["have_release"].value == 1 and v["have_missing"].value == 0


def test_typed_ksym_resolved_but_kernel_needs_kallsyms(build):
    """runqueues resolves to its BTF VAR; the kernel then wants its address from kallsyms."""
    spec = ObjectSpec.open(build("obj_ksym_var"))
    with open("/proc/kallsyms") as f:
        if any(line.split()[2] == "runqueues" for line in f):
            with spec.load():
                return
    with pytest.raises(VerifierError, match="ksym_var") as exc:
        spec.load()
    assert "runqueues" in exc.value.log


# ------------------------------------------------------------------------------ CO-RE

def test_core_against_running_kernel(build):
    spec = ObjectSpec.open(build("obj_core"))
    spec.variables["target_pid"].value = os.getpid()
    from pybpf.btf.kernel import kernel_btf
    from pybpf.btf import Kind

    kbtf = kernel_btf()
    task_size = kbtf[kbtf.find_one("task_struct", Kind.STRUCT)].size
    ringbuf = next(v.value for t in kbtf.find("bpf_map_type", Kind.ENUM)
                   for v in kbtf[t].values if v.name == "BPF_MAP_TYPE_RINGBUF")
    with spec.load() as obj:
        obj.attach()
        os.getpid()
        v = obj.variables
        assert v["hits"].value >= 1
        assert v["seen_pid"].value == v["seen_tgid"].value == os.getpid()
        assert v["seen_ppid"].value == os.getppid()
        with open("/proc/self/comm", "rb") as f:
            assert v["seen_comm"].value == f.read().strip()[:15]
        assert (v["has_pid"].value, v["has_missing"].value) == (1, 0)
        assert (v["has_type"].value, v["missing_type"].value) == (1, 0)
        assert v["task_size"].value == task_size
        assert v["enum_val"].value == ringbuf
        assert v["reset_on_fork"].value in (0, 1)


def test_core_poisoned_instruction_explained(build, no_leftovers):
    spec = ObjectSpec.open(build("obj_core_poison"))
    with no_leftovers(spec):
        with pytest.raises(VerifierError) as exc:
            spec.load()
    err = exc.value
    text = str(err)
    assert "core_poisoned" in text and "CO-RE relocation #0" in text
    assert "struct task_struct___pybpf.pybpf_no_such_field" in text
    assert "<invalid CO-RE relocation>" in err.log
    assert "call unknown#195896080" not in err.log


def test_core_custom_target_btf(build, core_target_btf):
    """kernel_btf= relocates against that BTF only (libbpf's btf_custom_path): field offsets,
    type size and enum value come from it (read back from bpftool's dump of that BTF)."""
    import json

    raw = json.loads(subprocess.run(["bpftool", "btf", "dump", "file", core_target_btf, "-j"],
                                    capture_output=True, text=True, check=True).stdout)["types"]
    task = next(t for t in raw if t["kind"] == "STRUCT" and t["name"] == "task_struct")
    offsets = {m["name"]: m["bits_offset"] // 8 for m in task["members"]}
    ringbuf = next(v["val"] for t in raw if t["kind"] == "ENUM" for v in t["values"]
                   if v["name"] == "BPF_MAP_TYPE_RINGBUF")
    spec = ObjectSpec.open(build("obj_core"))
    with spec.load(kernel_btf=core_target_btf) as obj:
        expl = {(e.kind_name, (e.local_spec or "").split("(")[0].split("] ")[-1].strip()): e
                for e in obj.linked["core_getpid"].core_explanations()}
        assert expl["byte_off", "struct task_struct.pid"].result.new_val == offsets["pid"]
        assert expl["byte_off", "struct task_struct.tgid"].result.new_val == offsets["tgid"]
        assert expl["field_exists", "struct task_struct.pid"].result.new_val == 1
        sizes = [e.result.new_val for e in obj.linked["core_getpid"].core_explanations()
                 if e.kind_name == "type_size"]
        assert sizes == [task["size"]]
        values = [e.result.new_val for e in obj.linked["core_getpid"].core_explanations()
                  if e.kind_name == "enumval_value"]
        assert values == [ringbuf]


# ------------------------------------------------------------------------------ attach

def test_tracing_auto_attach(build):
    spec = ObjectSpec.open(build("obj_trace"))
    spec.variables["target_pid"].value = os.getpid()
    with spec.load() as obj:
        links = obj.attach()
        kinds = sorted(link.kind for link in links)
        # tp, raw_tp, tp_btf and the iterator attach; bare SEC("raw_tp") and XDP are skipped
        assert len(links) == 4, kinds
        for _ in range(3):
            os.getpid()
        v = obj.variables
        assert v["tp_hits"].value >= 3 and v["raw_hits"].value >= 3 and v["btf_hits"].value >= 3
        assert v["bare_hits"].value == 0
        it = next(link for link in links if link.kind == "iter")
        text = it.read_all().decode()
        comm = open("/proc/self/comm").read().strip()[:15]
        assert f"pid {os.getpid()} comm {comm}" in text
    assert obj.links == []


def test_kprobe_auto_attach_failure_names_program(build):
    with ObjectSpec.open(build("obj_kprobe")).load() as obj:
        try:
            links = obj.attach()
        except AttachError as exc:
            assert "on_nanosleep" in str(exc) and "kprobe/do_nanosleep" in str(exc)
            assert obj.links == []
        else:
            assert len(links) == 1     # a kernel with kprobes


def test_fentry_refused_cleanly(build, no_leftovers):
    spec = ObjectSpec.open(build("obj_fentry"))
    with no_leftovers(spec):
        try:
            obj = spec.load()
        except BPFError as exc:
            assert "fentry_nanosleep" in str(exc)
        else:
            with obj:
                assert set(obj.programs) == {"fentry_nanosleep", "fexit_nanosleep", "lsm_file_open",
                                             "sleepable_nanosleep"}


def test_freplace_needs_and_uses_its_target(build, no_leftovers):
    """freplace: refused without a target program; with one, attach_btf_id is the replaced
    function's FUNC in the target's BTF as the kernel holds it, attach_prog_fd the target. This
    kernel refuses BPF_PROG_TYPE_EXT (EPERM, like fentry): then the error names the program and
    nothing is left; a kernel that loads it must run the replacement."""
    from pybpf.btf import Kind
    from pybpf.btf.loaded import load_btf_by_id
    from pybpf.link import attach_freplace
    from pybpf.object.loader import _attach_target

    xdp_in = bytes(64)
    with ObjectSpec.open(build("obj_freplace_target")).load() as target:
        prog = target.programs["freplace_target"]
        assert prog.test_run(xdp_in).retval == 2                  # XDP_PASS from pick_verdict()
        spec = ObjectSpec.open(build("obj_freplace"))
        ext_spec = spec.programs["new_verdict"]
        assert ext_spec.type == "BPF_PROG_TYPE_EXT"
        with no_leftovers(spec):
            with pytest.raises(ObjectError, match="new_verdict.*set_attach_target"):
                spec.load()
        ext_spec.set_attach_target(program=prog)
        kernel_btf = load_btf_by_id(prog.info().btf_id)
        want = kernel_btf.find("pick_verdict", Kind.FUNC)
        assert len(want) == 1
        assert _attach_target(ext_spec, None, "x") == {"attach_btf_id": want[0], "attach_prog_fd": prog}
        with no_leftovers(spec):
            try:
                ext = spec.load()
            except PermissionDeniedError as exc:
                assert "prog 'new_verdict'" in str(exc)
                return
        with ext:
            with attach_freplace(ext.programs["new_verdict"]):
                assert prog.test_run(xdp_in).retval == 1          # XDP_DROP from new_verdict()
                ext.variables["verdict"].value = 3                # XDP_TX, through the live .data
                assert prog.test_run(xdp_in).retval == 3
                assert ext.variables["replaced_runs"].value == 2
            assert prog.test_run(xdp_in).retval == 2
        assert target.variables["target_runs"].value == 4


def test_usdt_auto_attach(build, usdt_target):
    spec = ObjectSpec.open(build("obj_usdt", flags=(f'-DUSDT_TARGET="{usdt_target}"',)))
    with spec.load() as obj:
        links = obj.attach()
        assert len(links) == 1
        out = subprocess.run([usdt_target, "5"], capture_output=True, text=True, check=True).stdout
        v = obj.variables
        assert v["ticks"].value == 5 and v["last_arg"].value == 4
        assert v["arg_sum"].value == sum(sum(range(i + 1)) for i in range(5))
        assert int(out) == sum(range(5))


def test_close_releases_everything(build):
    from tests.conftest import _kernel_fds

    before = _kernel_fds()
    obj = ObjectSpec.open(build("obj_maps")).load()
    assert len(_kernel_fds()) > len(before)
    obj.close()
    obj.close()
    assert _kernel_fds() == before
