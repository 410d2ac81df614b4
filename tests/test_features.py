"""Feature probes: cached, explained, and agreeing with what the kernel says it has."""

from __future__ import annotations

import os

import pytest

from pybpf import Map, Program, features
from pybpf.errors import InvalidArgumentError, NotSupportedError
from pybpf.features import (
    BTF_KINDS,
    CAPABILITIES,
    MISC_PROBES,
    REQUIREMENTS,
    Requirement,
    explain_map_create_failure,
    explain_prog_load_failure,
    kernel_config,
    probe_btf_kind,
    probe_capability,
    probe_helper,
    probe_link_type,
    probe_map_type,
    probe_misc,
    probe_prog_type,
    requirement,
    supported_helpers,
)
from pybpf.sys import uapi
from tests.sys.helpers import ret

kernel = pytest.mark.kernel


def _release() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()))


def _version(text: str) -> tuple[int, int]:
    a, b = text.split(".")
    return int(a), int(b)


#: Features whose probes legitimately fail on a new-enough kernel with the options set:
#: this machine has no ftrace-patchable functions (DESIGN.md), so no trampolines for
#: ext/lsm programs, and the BPF LSM is not among the active LSMs.
NEEDS_MORE_THAN_CONFIG = {("prog", uapi.BPF_PROG_TYPE_EXT), ("prog", uapi.BPF_PROG_TYPE_LSM)}


@kernel
def test_probes_agree_with_release_and_kernel_config():
    """Where the kernel is new enough and has every option the table names, the probe must
    say yes; /proc/config.gz and uname are the oracles."""
    cfg = kernel_config()
    if cfg is None:
        pytest.skip("no kernel configuration readable")
    release = _release()
    checked = 0
    for (kind, what), req in REQUIREMENTS.items():
        if (kind, what) in NEEDS_MORE_THAN_CONFIG:
            continue
        if _version(req.linux) > release or any(cfg.get(c) not in ("y", "m") for c in req.config):
            continue
        probe = {"map": probe_map_type, "prog": probe_prog_type, "link": probe_link_type,
                 "btf": probe_btf_kind, "cap": probe_capability, "misc": probe_misc}[kind]
        assert probe(what), f"{kind} {what}: {req} holds here but the probe says no"
        checked += 1
    assert checked > 80


@kernel
def test_missing_config_shows_in_probes():
    cfg = kernel_config() or {}
    if cfg.get("CONFIG_BPF_LIRC_MODE2") not in ("y", "m"):
        assert not probe_prog_type("lirc_mode2")
    if cfg.get("CONFIG_NETKIT") not in ("y", "m"):
        assert not probe_link_type("netkit")


@kernel
def test_probes_are_cached(monkeypatch):
    features.clear_cache()
    calls = []
    real = features.bpf_raw

    def spy(*a, **k):
        calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(features, "bpf_raw", spy)
    assert probe_map_type("hash") and probe_prog_type("xdp")
    assert probe_helper("xdp", "bpf_map_lookup_elem")
    n = len(calls)
    for _ in range(3):
        probe_map_type("hash"), probe_prog_type("xdp"), probe_helper("xdp", 1)
    assert len(calls) == n


@kernel
def test_every_btf_kind_and_capability_answers():
    for kind in BTF_KINDS:
        assert isinstance(probe_btf_kind(kind), bool)
    for cap in CAPABILITIES:
        assert isinstance(probe_capability(cap), bool)
    for name in MISC_PROBES:
        assert isinstance(probe_misc(name), bool)


@kernel
def test_helper_probe_matches_real_loads():
    """The verifier is the oracle: a program calling the helper loads or is refused."""
    call_ktime = bytes([0x85, 0, 0, 0]) + int(uapi.BPF_FUNC_ktime_get_ns).to_bytes(4, "little")
    with Program.load("xdp", call_ktime + bytes([0x95]) + bytes(7)):
        pass
    assert probe_helper("xdp", "bpf_ktime_get_ns")
    assert not probe_helper("socket_filter", "bpf_xdp_adjust_head")
    assert "bpf_xdp_adjust_head" in supported_helpers("xdp")
    assert "bpf_trace_printk" not in supported_helpers("xdp")
    assert "bpf_trace_printk" in supported_helpers("xdp", full=True)
    with pytest.raises(NotSupportedError):
        probe_helper("struct_ops", 1)
    assert supported_helpers("lsm") == []
    with pytest.raises(InvalidArgumentError, match="unknown helper"):
        probe_helper("xdp", "bpf_no_such_helper")


@kernel
def test_capabilities_match_direct_use():
    assert probe_capability("mmapable_array")
    with Map.create("array", 4, 4, 1, flags=uapi.BPF_F_MMAPABLE):
        pass
    assert probe_capability("batch_ops")
    with Map.create("array", 4, 4, 2) as m:
        assert len(m.lookup_batch(2).items) == 2
    assert probe_capability("ringbuf")
    with Map.create("ringbuf", 0, 0, os.sysconf("SC_PAGE_SIZE")):
        pass
    assert probe_capability("bpf_cookie") and probe_capability("global_data")
    assert probe_link_type("iter") and probe_link_type("tracing")


def test_requirement_table_and_hints(monkeypatch):
    assert str(requirement("map", uapi.BPF_MAP_TYPE_RINGBUF)) == "needs Linux 5.8+"
    assert str(Requirement("5.7", ("CONFIG_BPF_LSM",))) == "needs Linux 5.7+ with CONFIG_BPF_LSM"
    assert requirement("cap", "nonsense") is None
    monkeypatch.setitem(features._cache, ("prog", int(uapi.BPF_PROG_TYPE_LIRC_MODE2)), False)
    assert explain_prog_load_failure(22, int(uapi.BPF_PROG_TYPE_LIRC_MODE2)) == (
        "program type lirc_mode2 is not supported by this kernel "
        "(needs Linux 4.18+ with CONFIG_BPF_LIRC_MODE2)")
    assert explain_prog_load_failure(22, 4242) == "program type 4242 is unknown to pybpf and this kernel"
    assert "trampolines" in explain_prog_load_failure(1, int(uapi.BPF_PROG_TYPE_TRACING))
    assert explain_map_create_failure(13, int(uapi.BPF_MAP_TYPE_HASH)) is None
    for bad in (lambda: probe_btf_kind("blob"), lambda: probe_capability("x"),
                lambda: probe_misc("y")):
        with pytest.raises(InvalidArgumentError):
            bad()


@kernel
def test_unsupported_program_type_error_names_the_config():
    if probe_prog_type("lirc_mode2"):
        pytest.skip("this kernel has lirc_mode2")
    with pytest.raises(Exception, match="needs Linux 4.18\\+ with CONFIG_BPF_LIRC_MODE2"):
        Program.load("lirc_mode2", ret(0), expected_attach_type="lirc_mode2")
