"""libbpf's SEC() table (pybpf.object.sections) against libbpf itself.

Oracles:

* the installed libbpf 1.1.2 through ctypes: its own list of section patterns (printed by
  ``libbpf_prog_type_by_name()`` on failure), its list of attachable patterns, and its answers
  from ``libbpf_prog_type_by_name()`` / ``libbpf_attach_type_by_name()`` on many names; enum
  numbers for the comparison come from the system's ``<linux/bpf.h>`` through gcc;
* libbpf 1.1 predates entries added in libbpf 1.2-1.7 (tcx, netkit, uprobe.multi, sessions,
  unix-socket cgroup hooks, ...) and libbpf never exposes its flags or attach functions, so
  ``LIBBPF_SOURCE`` below is a transcription of the ``SEC_DEF(...)`` lines of the newest
  libbpf/src/libbpf.c sources read for this work (libbpf 1.5 tree plus the 1.6 uprobe.session
  and 1.7 fsession patches); the table is checked against it entry by entry;
* the auto-attach rules are facts from libbpf's ``attach_*()`` functions (which names are
  silently skipped), stated in the tests below.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from pybpf.errors import NotSupportedError, ObjectError
from pybpf.object import sections as S
from pybpf.object.sections import SECTION_DEFS, SecFlag, SectionDef

from tests.conftest import skip_or_fail, tool_unavailable_reason

LIBBPF = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"
INSTALLED = (1, 1)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


OLD_DEFS = [d for d in SECTION_DEFS if _version(d.since) <= INSTALLED]


class Libbpf:
    """ctypes access to libbpf_prog_type_by_name/libbpf_attach_type_by_name and to the
    debug messages libbpf prints through libbpf_set_print()."""

    PRINT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

    def __init__(self, path: str) -> None:
        self.lib = ctypes.CDLL(path)
        self.libc = ctypes.CDLL(None)
        self.libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
        self.lib.libbpf_set_print.restype = ctypes.c_void_p
        self.lib.libbpf_set_print.argtypes = [ctypes.c_void_p]
        self.lib.libbpf_prog_type_by_name.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                                     ctypes.POINTER(ctypes.c_int)]
        self.lib.libbpf_attach_type_by_name.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]

    def messages(self, call) -> list[str]:
        out: list[str] = []

        @self.PRINT
        def cb(level, fmt, args):
            buf = ctypes.create_string_buffer(1 << 16)
            self.libc.vsnprintf(buf, len(buf), fmt, args)
            out.append(buf.value.decode())
            return 0

        old = self.lib.libbpf_set_print(ctypes.cast(cb, ctypes.c_void_p))
        try:
            call()
        finally:
            self.lib.libbpf_set_print(old)
        return out

    def prog_type_by_name(self, name: str) -> tuple[int, int, int]:
        p, a = ctypes.c_int(-1), ctypes.c_int(-1)
        rc = self.lib.libbpf_prog_type_by_name(name.encode(), ctypes.byref(p), ctypes.byref(a))
        return rc, p.value, a.value

    def attach_type_by_name(self, name: str) -> tuple[int, int]:
        a = ctypes.c_int(-1)
        rc = self.lib.libbpf_attach_type_by_name(name.encode(), ctypes.byref(a))
        return rc, a.value

    def listed(self, which: str) -> list[str]:
        """libbpf's own list of patterns ('supported' or 'attachable')."""
        if which == "supported":
            msgs = self.messages(lambda: self.prog_type_by_name("\x01no-such-section"))
        else:
            msgs = self.messages(lambda: self.attach_type_by_name("\x01no-such-section"))
        text = next(m for m in msgs if "names are:" in m)
        return text.split("names are:", 1)[1].split()


@pytest.fixture(scope="module")
def libbpf() -> Libbpf:
    if not os.path.exists(LIBBPF):
        skip_or_fail(f"{LIBBPF} not installed (libbpf1)")
    return Libbpf(LIBBPF)


@pytest.fixture(scope="module")
def uapi_numbers(tmp_path_factory) -> dict[str, int]:
    """Enum values of every type name the libbpf-1.1 entries use, from <linux/bpf.h> via gcc."""
    reason = tool_unavailable_reason("gcc")
    if reason:
        skip_or_fail(reason)
    names = sorted({d.prog_type for d in OLD_DEFS} | {d.expected_attach_type for d in OLD_DEFS
                                                     if d.expected_attach_type})
    src = tmp_path_factory.mktemp("uapi") / "values.c"
    src.write_text("#include <stdio.h>\n#include <linux/bpf.h>\nint main(void) {\n"
                   + "".join(f'printf("{n} %d\\n", (int){n});\n' for n in names) + "return 0; }\n")
    exe = str(src)[:-2]
    subprocess.run(["gcc", str(src), "-o", exe], check=True, capture_output=True)
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def _expected_libbpf_1_1(name: str, numbers: dict[str, int]) -> tuple[int, int, int] | None:
    """What libbpf 1.1 should answer: the first match among the entries it has."""
    d = next((d for d in OLD_DEFS if d.matches(name)), None)
    if d is None:
        return None
    return (0, numbers[d.prog_type], numbers[d.expected_attach_type] if d.expected_attach_type else 0)


# --- the table itself vs libbpf 1.1's own lists ---------------------------------------------

def test_patterns_and_order_equal_libbpf_1_1(libbpf):
    assert [d.sec for d in OLD_DEFS] == libbpf.listed("supported")


def test_attachable_patterns_equal_libbpf_1_1(libbpf):
    assert [d.sec for d in OLD_DEFS if d.flags & SecFlag.ATTACHABLE] == libbpf.listed("attachable")


def _names_for(d: SectionDef) -> list[str]:
    p = d.prefix
    names = [p, p + "/", p + "/x", p + "/a/b:c", p + "x", p + ".s", p[:-1], "?" + p, p.upper(), p + "+"]
    if "/" in p:
        names.append(p.split("/")[0])
    return names


ALL_NAMES = sorted({n for d in SECTION_DEFS for n in _names_for(d)} | {
    "", "/", "tc/ingress/x", "xdp.frags/devmap/x", "cgroup", "cgroup/", "sk_skb/", "kprobe.multi.s",
    "raw_tp.w/sched_switch", "tracepoint/syscalls/sys_enter_execve", "uprobe//bin/bash:readline",
    "usdt/bin:prov:name", "struct_ops/tcp_ca_init", "iter/task_file", "fentry.s/bpf_fentry_test1",
    "lsm.s/file_open", "xdp_devmap", "sockops/x", "netfilter/x", "classifier/x"})


def test_prog_type_by_name_matches_libbpf_1_1(libbpf, uapi_numbers):
    for name in ALL_NAMES:
        got = libbpf.prog_type_by_name(name)
        want = _expected_libbpf_1_1(name, uapi_numbers)
        if want is None:
            assert got[0] == -errno.ESRCH, name
        else:
            assert got == want, name


def test_attach_type_by_name_matches_libbpf_1_1(libbpf, uapi_numbers):
    for name in ALL_NAMES:
        rc, value = libbpf.attach_type_by_name(name)
        d = next((d for d in OLD_DEFS if d.matches(name)), None)
        if d is None or not d.attachable:
            assert rc == -errno.EINVAL, name
        else:
            assert (rc, value) == (0, uapi_numbers[d.expected_attach_type]), name


_PREFIX_PIECES = sorted({piece for d in SECTION_DEFS for piece in re.split(r"([/.])", d.prefix) if piece})


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PREFIX_PIECES), st.text(alphabet="ab/._+?", max_size=3)),
                max_size=5))
def test_random_names_match_libbpf_1_1(pieces):
    """Names glued from pieces of real patterns: matched by libbpf 1.1 exactly when by the table."""
    if not os.path.exists(LIBBPF):
        skip_or_fail(f"{LIBBPF} not installed (libbpf1)")
    name = "".join(pieces)
    rc, _, _ = _LIB.get().prog_type_by_name(name)
    d = next((d for d in OLD_DEFS if d.matches(name)), None)
    assert (rc == 0) == (d is not None), name


class _LIB:
    """One Libbpf handle shared by the hypothesis examples."""

    _lib: Libbpf | None = None

    @classmethod
    def get(cls) -> Libbpf:
        if cls._lib is None:
            cls._lib = Libbpf(LIBBPF)
        return cls._lib


def test_pybpf_lookup_functions_agree_with_libbpf_on_old_entries(libbpf, uapi_numbers):
    """pybpf's prog_type_by_name/attach_type_by_name give libbpf 1.1's answers wherever the
    first matching entry is one libbpf 1.1 has."""
    for name in ALL_NAMES:
        d = S.find_section_def(name)
        if d is not None and _version(d.since) > INSTALLED:
            continue
        rc, ptype, atype = libbpf.prog_type_by_name(name)
        if rc:
            with pytest.raises(ObjectError):
                S.prog_type_by_name(name)
        else:
            pt, at = S.prog_type_by_name(name)
            assert (uapi_numbers[pt], uapi_numbers[at] if at else 0) == (ptype, atype), name
        rc, atype = libbpf.attach_type_by_name(name)
        if rc:
            with pytest.raises(ObjectError):
                S.attach_type_by_name(name)
        else:
            assert uapi_numbers[S.attach_type_by_name(name)] == atype, name


def test_newer_entries_are_unknown_to_libbpf_1_1(libbpf):
    newer = [d for d in SECTION_DEFS if _version(d.since) > INSTALLED]
    assert {d.sec for d in newer} >= {"tcx/ingress", "netkit/peer", "uprobe.multi+", "kprobe.session+",
                                      "uprobe.session+", "netfilter", "struct_ops.s+", "fsession+"}
    for d in newer:
        for name in (d.prefix, d.prefix + "/target"):
            if S.find_section_def(name) is d and next((o for o in OLD_DEFS if o.matches(name)), None) is None:
                assert libbpf.prog_type_by_name(name)[0] == -errno.ESRCH, name


# --- every entry against libbpf's source ----------------------------------------------------

# SEC_DEF(pattern, prog type, expected attach type, flags, attach function) as written in
# libbpf/src/libbpf.c section_defs[] (libbpf 1.5 tree; uprobe.session* from libbpf 1.6,
# fsession* from the libbpf 1.7 patch series), in order.
LIBBPF_SOURCE = """
socket SOCKET_FILTER 0 SEC_NONE -
sk_reuseport/migrate SK_REUSEPORT BPF_SK_REUSEPORT_SELECT_OR_MIGRATE SEC_ATTACHABLE -
sk_reuseport SK_REUSEPORT BPF_SK_REUSEPORT_SELECT SEC_ATTACHABLE -
kprobe+ KPROBE 0 SEC_NONE attach_kprobe
uprobe+ KPROBE 0 SEC_NONE attach_uprobe
uprobe.s+ KPROBE 0 SEC_SLEEPABLE attach_uprobe
kretprobe+ KPROBE 0 SEC_NONE attach_kprobe
uretprobe+ KPROBE 0 SEC_NONE attach_uprobe
uretprobe.s+ KPROBE 0 SEC_SLEEPABLE attach_uprobe
kprobe.multi+ KPROBE BPF_TRACE_KPROBE_MULTI SEC_NONE attach_kprobe_multi
kretprobe.multi+ KPROBE BPF_TRACE_KPROBE_MULTI SEC_NONE attach_kprobe_multi
kprobe.session+ KPROBE BPF_TRACE_KPROBE_SESSION SEC_NONE attach_kprobe_session
uprobe.multi+ KPROBE BPF_TRACE_UPROBE_MULTI SEC_NONE attach_uprobe_multi
uretprobe.multi+ KPROBE BPF_TRACE_UPROBE_MULTI SEC_NONE attach_uprobe_multi
uprobe.session+ KPROBE BPF_TRACE_UPROBE_SESSION SEC_NONE attach_uprobe_multi
uprobe.multi.s+ KPROBE BPF_TRACE_UPROBE_MULTI SEC_SLEEPABLE attach_uprobe_multi
uretprobe.multi.s+ KPROBE BPF_TRACE_UPROBE_MULTI SEC_SLEEPABLE attach_uprobe_multi
uprobe.session.s+ KPROBE BPF_TRACE_UPROBE_SESSION SEC_SLEEPABLE attach_uprobe_multi
ksyscall+ KPROBE 0 SEC_NONE attach_ksyscall
kretsyscall+ KPROBE 0 SEC_NONE attach_ksyscall
usdt+ KPROBE 0 SEC_USDT attach_usdt
usdt.s+ KPROBE 0 SEC_USDT|SEC_SLEEPABLE attach_usdt
tc/ingress SCHED_CLS BPF_TCX_INGRESS SEC_NONE -
tc/egress SCHED_CLS BPF_TCX_EGRESS SEC_NONE -
tcx/ingress SCHED_CLS BPF_TCX_INGRESS SEC_NONE -
tcx/egress SCHED_CLS BPF_TCX_EGRESS SEC_NONE -
tc SCHED_CLS 0 SEC_NONE -
classifier SCHED_CLS 0 SEC_NONE -
action SCHED_ACT 0 SEC_NONE -
netkit/primary SCHED_CLS BPF_NETKIT_PRIMARY SEC_NONE -
netkit/peer SCHED_CLS BPF_NETKIT_PEER SEC_NONE -
tracepoint+ TRACEPOINT 0 SEC_NONE attach_tp
tp+ TRACEPOINT 0 SEC_NONE attach_tp
raw_tracepoint+ RAW_TRACEPOINT 0 SEC_NONE attach_raw_tp
raw_tp+ RAW_TRACEPOINT 0 SEC_NONE attach_raw_tp
raw_tracepoint.w+ RAW_TRACEPOINT_WRITABLE 0 SEC_NONE attach_raw_tp
raw_tp.w+ RAW_TRACEPOINT_WRITABLE 0 SEC_NONE attach_raw_tp
tp_btf+ TRACING BPF_TRACE_RAW_TP SEC_ATTACH_BTF attach_trace
fentry+ TRACING BPF_TRACE_FENTRY SEC_ATTACH_BTF attach_trace
fmod_ret+ TRACING BPF_MODIFY_RETURN SEC_ATTACH_BTF attach_trace
fexit+ TRACING BPF_TRACE_FEXIT SEC_ATTACH_BTF attach_trace
fentry.s+ TRACING BPF_TRACE_FENTRY SEC_ATTACH_BTF|SEC_SLEEPABLE attach_trace
fmod_ret.s+ TRACING BPF_MODIFY_RETURN SEC_ATTACH_BTF|SEC_SLEEPABLE attach_trace
fexit.s+ TRACING BPF_TRACE_FEXIT SEC_ATTACH_BTF|SEC_SLEEPABLE attach_trace
fsession+ TRACING BPF_TRACE_FSESSION SEC_ATTACH_BTF attach_trace
fsession.s+ TRACING BPF_TRACE_FSESSION SEC_ATTACH_BTF|SEC_SLEEPABLE attach_trace
freplace+ EXT 0 SEC_ATTACH_BTF attach_trace
lsm+ LSM BPF_LSM_MAC SEC_ATTACH_BTF attach_lsm
lsm.s+ LSM BPF_LSM_MAC SEC_ATTACH_BTF|SEC_SLEEPABLE attach_lsm
lsm_cgroup+ LSM BPF_LSM_CGROUP SEC_ATTACH_BTF -
iter+ TRACING BPF_TRACE_ITER SEC_ATTACH_BTF attach_iter
iter.s+ TRACING BPF_TRACE_ITER SEC_ATTACH_BTF|SEC_SLEEPABLE attach_iter
syscall SYSCALL 0 SEC_SLEEPABLE -
xdp.frags/devmap XDP BPF_XDP_DEVMAP SEC_XDP_FRAGS -
xdp/devmap XDP BPF_XDP_DEVMAP SEC_ATTACHABLE -
xdp.frags/cpumap XDP BPF_XDP_CPUMAP SEC_XDP_FRAGS -
xdp/cpumap XDP BPF_XDP_CPUMAP SEC_ATTACHABLE -
xdp.frags XDP BPF_XDP SEC_XDP_FRAGS -
xdp XDP BPF_XDP SEC_ATTACHABLE_OPT -
perf_event PERF_EVENT 0 SEC_NONE -
lwt_in LWT_IN 0 SEC_NONE -
lwt_out LWT_OUT 0 SEC_NONE -
lwt_xmit LWT_XMIT 0 SEC_NONE -
lwt_seg6local LWT_SEG6LOCAL 0 SEC_NONE -
sockops SOCK_OPS BPF_CGROUP_SOCK_OPS SEC_ATTACHABLE_OPT -
sk_skb/stream_parser SK_SKB BPF_SK_SKB_STREAM_PARSER SEC_ATTACHABLE_OPT -
sk_skb/stream_verdict SK_SKB BPF_SK_SKB_STREAM_VERDICT SEC_ATTACHABLE_OPT -
sk_skb/verdict SK_SKB BPF_SK_SKB_VERDICT SEC_ATTACHABLE_OPT -
sk_skb SK_SKB 0 SEC_NONE -
sk_msg SK_MSG BPF_SK_MSG_VERDICT SEC_ATTACHABLE_OPT -
lirc_mode2 LIRC_MODE2 BPF_LIRC_MODE2 SEC_ATTACHABLE_OPT -
flow_dissector FLOW_DISSECTOR BPF_FLOW_DISSECTOR SEC_ATTACHABLE_OPT -
cgroup_skb/ingress CGROUP_SKB BPF_CGROUP_INET_INGRESS SEC_ATTACHABLE_OPT -
cgroup_skb/egress CGROUP_SKB BPF_CGROUP_INET_EGRESS SEC_ATTACHABLE_OPT -
cgroup/skb CGROUP_SKB 0 SEC_NONE -
cgroup/sock_create CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE SEC_ATTACHABLE -
cgroup/sock_release CGROUP_SOCK BPF_CGROUP_INET_SOCK_RELEASE SEC_ATTACHABLE -
cgroup/sock CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE SEC_ATTACHABLE_OPT -
cgroup/post_bind4 CGROUP_SOCK BPF_CGROUP_INET4_POST_BIND SEC_ATTACHABLE -
cgroup/post_bind6 CGROUP_SOCK BPF_CGROUP_INET6_POST_BIND SEC_ATTACHABLE -
cgroup/bind4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_BIND SEC_ATTACHABLE -
cgroup/bind6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_BIND SEC_ATTACHABLE -
cgroup/connect4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_CONNECT SEC_ATTACHABLE -
cgroup/connect6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_CONNECT SEC_ATTACHABLE -
cgroup/connect_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_CONNECT SEC_ATTACHABLE -
cgroup/sendmsg4 CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_SENDMSG SEC_ATTACHABLE -
cgroup/sendmsg6 CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_SENDMSG SEC_ATTACHABLE -
cgroup/sendmsg_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_SENDMSG SEC_ATTACHABLE -
cgroup/recvmsg4 CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_RECVMSG SEC_ATTACHABLE -
cgroup/recvmsg6 CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_RECVMSG SEC_ATTACHABLE -
cgroup/recvmsg_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_RECVMSG SEC_ATTACHABLE -
cgroup/getpeername4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETPEERNAME SEC_ATTACHABLE -
cgroup/getpeername6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETPEERNAME SEC_ATTACHABLE -
cgroup/getpeername_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETPEERNAME SEC_ATTACHABLE -
cgroup/getsockname4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETSOCKNAME SEC_ATTACHABLE -
cgroup/getsockname6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETSOCKNAME SEC_ATTACHABLE -
cgroup/getsockname_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETSOCKNAME SEC_ATTACHABLE -
cgroup/sysctl CGROUP_SYSCTL BPF_CGROUP_SYSCTL SEC_ATTACHABLE -
cgroup/getsockopt CGROUP_SOCKOPT BPF_CGROUP_GETSOCKOPT SEC_ATTACHABLE -
cgroup/setsockopt CGROUP_SOCKOPT BPF_CGROUP_SETSOCKOPT SEC_ATTACHABLE -
cgroup/dev CGROUP_DEVICE BPF_CGROUP_DEVICE SEC_ATTACHABLE_OPT -
struct_ops+ STRUCT_OPS 0 SEC_NONE -
struct_ops.s+ STRUCT_OPS 0 SEC_SLEEPABLE -
sk_lookup SK_LOOKUP BPF_SK_LOOKUP SEC_ATTACHABLE -
netfilter NETFILTER BPF_NETFILTER SEC_NONE -
"""

# libbpf's enum sec_def_flags
_SOURCE_FLAGS = {"SEC_NONE": 0, "SEC_EXP_ATTACH_OPT": 1, "SEC_ATTACHABLE": 2, "SEC_ATTACHABLE_OPT": 3,
                 "SEC_ATTACH_BTF": 4, "SEC_SLEEPABLE": 8, "SEC_XDP_FRAGS": 16, "SEC_USDT": 32}
# libbpf attach function -> pybpf attach kind
_ATTACH_FN = {"attach_kprobe": "kprobe", "attach_uprobe": "uprobe", "attach_ksyscall": "ksyscall",
              "attach_usdt": "usdt", "attach_tp": "tracepoint", "attach_raw_tp": "raw_tp",
              "attach_trace": "tracing", "attach_kprobe_multi": "kprobe_multi",
              "attach_kprobe_session": "kprobe_session", "attach_uprobe_multi": "uprobe_multi",
              "attach_lsm": "lsm", "attach_iter": "iter", "-": None}


def test_every_entry_matches_libbpf_source():
    rows = [line.split() for line in LIBBPF_SOURCE.strip().splitlines()]
    assert [r[0] for r in rows] == [d.sec for d in SECTION_DEFS]
    for (sec, ptype, atype, flags, fn), d in zip(rows, SECTION_DEFS):
        assert d.prog_type == "BPF_PROG_TYPE_" + ptype, sec
        assert d.expected_attach_type == (None if atype == "0" else atype), sec
        assert int(d.flags) == sum(_SOURCE_FLAGS[f] for f in flags.split("|")), sec
        assert d.auto_attach == _ATTACH_FN[fn], sec


# --- matching rules ------------------------------------------------------------------------

@pytest.mark.parametrize("name, sec", [
    ("kprobe", "kprobe+"), ("kprobe/do_sys_open", "kprobe+"), ("kprobe.multi/x*", "kprobe.multi+"),
    ("uprobe.s//bin/sh:main", "uprobe.s+"), ("tp/sched/sched_switch", "tp+"),
    ("xdp", "xdp"), ("xdp.frags", "xdp.frags"), ("xdp/devmap", "xdp/devmap"),
    ("xdp.frags/cpumap", "xdp.frags/cpumap"), ("tc", "tc"), ("tc/ingress", "tc/ingress"),
    ("cgroup/sock", "cgroup/sock"), ("cgroup/sock_create", "cgroup/sock_create"),
    ("struct_ops/init", "struct_ops+"), ("struct_ops.s/sleepy", "struct_ops.s+"),
    ("fentry.s/do_unlinkat", "fentry.s+"), ("raw_tp.w/bpf_test_finish", "raw_tp.w+"),
])
def test_matching(name, sec):
    assert S.find_section_def(name).sec == sec
    parsed = S.parse_section(name)
    assert parsed.definition.sec == sec and parsed.autoload and parsed.sec_name == name


@pytest.mark.parametrize("name", ["kprobex", "kprobe_multi", "xdp/foo", "xdpx", "tc/ingressx", "tcx",
                                  "tp_btfx/a", "sk_skb/other", "cgroup/sock_createx", "", "/", "?"])
def test_no_match(name):
    assert S.find_section_def(name.lstrip("?")) is None
    with pytest.raises(ObjectError, match="unknown section name"):
        S.parse_section(name)


def test_question_mark_turns_autoload_off():
    p = S.parse_section("?tp/syscalls/sys_enter_openat")
    assert not p.autoload
    assert p.sec_name == "tp/syscalls/sys_enter_openat" and p.name == "?tp/syscalls/sys_enter_openat"
    assert p.definition.sec == "tp+" and p.target == "syscalls/sys_enter_openat"
    # libbpf_prog_type_by_name() itself knows nothing of '?'
    with pytest.raises(ObjectError):
        S.prog_type_by_name("?xdp")


def test_unknown_names_get_a_clear_error():
    with pytest.raises(ObjectError) as err:
        S.parse_section("xpd", program="my_prog")
    msg = str(err.value)
    assert "program 'my_prog'" in msg and "'xpd'" in msg and "did you mean 'xdp'" in msg
    with pytest.raises(ObjectError, match="failed to guess program type"):
        S.prog_type_by_name("kprob/foo")
    with pytest.raises(ObjectError, match="not attachable"):
        S.attach_type_by_name("kprobe/foo")


def test_custom_definitions_take_precedence_and_slash_patterns():
    custom = (SectionDef("xdp", "BPF_PROG_TYPE_SCHED_CLS", None, SecFlag.NONE, None, None),
              SectionDef("mytype/", "BPF_PROG_TYPE_KPROBE", None, SecFlag.NONE, None, None))
    assert S.parse_section("xdp", custom).prog_type == "BPF_PROG_TYPE_SCHED_CLS"
    assert S.parse_section("xdp").prog_type == "BPF_PROG_TYPE_XDP"
    p = S.parse_section("mytype/anything/else", custom)
    assert p.definition is custom[1] and p.target == "anything/else"
    # "type/" patterns need the slash: the bare name is unknown
    with pytest.raises(ObjectError):
        S.parse_section("mytype", custom)


@pytest.mark.parametrize("name, target", [
    ("tp/sched/sched_switch", "sched/sched_switch"), ("tp", None), ("kprobe/", ""),
    ("fentry/do_unlinkat", "do_unlinkat"), ("xdp", None), ("tc/ingress", None),
    ("usdt/lib.so:prov:name", "lib.so:prov:name"),
])
def test_target(name, target):
    assert S.parse_section(name).target == target


# Facts from libbpf's attach_*() functions: a bare name is skipped silently (no link, no error),
# uprobe-style names are split with sscanf("%m[^/]/%m[^:]:%m[^\n]") and skipped when that yields
# one field, usdt skips only exactly "usdt", tracing/lsm/iter always try, and types without an
# attach function (xdp, tc, cgroup, ...) are never auto-attached.
@pytest.mark.parametrize("name, kind", [
    ("kprobe", None), ("kretprobe", None), ("kprobe/do_nanosleep", "kprobe"),
    ("kretprobe/do_nanosleep", "kprobe"), ("ksyscall", None), ("ksyscall/execve", "ksyscall"),
    ("kprobe.multi", None), ("kprobe.multi/do_*", "kprobe_multi"), ("kretprobe.multi", None),
    ("kprobe.session", None), ("kprobe.session/vfs_*", "kprobe_session"),
    ("uprobe", None), ("uprobe.s", None), ("uprobe/", None), ("uprobe/:main", None),
    ("uprobe//bin/bash:readline", "uprobe"), ("uretprobe/libc.so.6:malloc", "uprobe"),
    ("uprobe/bin", "uprobe"),   # two sscanf fields: libbpf tries and reports the bad format
    ("uprobe.multi", None), ("uprobe.multi/bin:f*", "uprobe_multi"), ("uprobe.session", None),
    ("usdt", None), ("usdt.s", "usdt"), ("usdt/bin:p:n", "usdt"),
    ("tp", None), ("tracepoint", None), ("tp/sched/sched_switch", "tracepoint"),
    ("raw_tp", None), ("raw_tracepoint.w", None), ("raw_tp/sched_switch", "raw_tp"),
    ("fentry", "tracing"), ("fentry/do_unlinkat", "tracing"), ("fsession/f", "tracing"),
    ("freplace/f", "tracing"), ("tp_btf/sched_switch", "tracing"),
    ("lsm/file_open", "lsm"), ("lsm", "lsm"), ("iter/task", "iter"),
    ("lsm_cgroup/file_open", None), ("xdp", None), ("tcx/ingress", None), ("cgroup/sock", None),
    ("struct_ops/x", None), ("syscall", None), ("perf_event", None), ("socket", None),
])
def test_auto_attach(name, kind):
    assert S.parse_section(name).auto_attach == kind


def test_prog_flags():
    assert S.parse_section("xdp.frags").prog_flags == S.BPF_F_XDP_HAS_FRAGS
    assert S.parse_section("xdp.frags/devmap").prog_flags == S.BPF_F_XDP_HAS_FRAGS
    assert S.parse_section("xdp").prog_flags == 0
    for name in ("fentry.s/f", "lsm.s/file_open", "uprobe.s", "syscall", "iter.s/task", "usdt.s"):
        p = S.parse_section(name)
        assert p.sleepable and p.prog_flags == S.BPF_F_SLEEPABLE, name
    assert S.parse_section("usdt").definition.usdt
    assert S.parse_section("xdp").definition.expected_attach_type_optional
    assert not S.parse_section("xdp/devmap").definition.expected_attach_type_optional
    assert S.parse_section("fentry/x").definition.attach_btf


def test_table_does_not_import_pybpf_sys():
    code = ("import sys; import pybpf.object.sections; "
            "assert 'pybpf.sys' not in sys.modules and 'pybpf.sys.uapi' not in sys.modules, sorted(sys.modules)")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..", "src"))
    subprocess.run([os.environ.get("PYTHON", "python3"), "-c", code], check=True, env=env)


# --- names to numbers through pybpf.sys.uapi -------------------------------------------------

def _kernel_enums() -> dict[str, int]:
    """bpf_prog_type/bpf_attach_type members of the running kernel, from bpftool's C dump."""
    reason = tool_unavailable_reason("bpftool")
    if reason or not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip_or_fail(reason or "no /sys/kernel/btf/vmlinux")
    text = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
                          check=True, capture_output=True, text=True).stdout
    out: dict[str, int] = {}
    for enum in ("bpf_prog_type", "bpf_attach_type"):
        body = re.search(r"enum %s \{(.*?)\};" % enum, text, re.S).group(1)
        for name, value in re.findall(r"(\w+) = (\d+)", body):
            out[name] = int(value)
    return out


def test_numbers_through_uapi():
    pytest.importorskip("pybpf.sys.uapi", reason="pybpf.sys.uapi has not landed on this branch yet")
    kernel = _kernel_enums()
    assert S.attach_type_number(None) == 0
    for d in SECTION_DEFS:
        for name, resolve in ((d.prog_type, S.prog_type_number), (d.expected_attach_type, S.attach_type_number)):
            if name is None:
                continue
            if name in kernel:
                assert resolve(name) == kernel[name], name
            else:   # e.g. BPF_TRACE_FSESSION on a kernel older than the libbpf entry
                with pytest.raises(NotSupportedError, match=name):
                    resolve(name)
