"""libbpf's ``SEC()`` name table, as data: what program a section name makes, and how it attaches.

:data:`SECTION_DEFS` reproduces libbpf 1.x's ``section_defs[]`` in libbpf's order (order matters:
the first matching entry wins, so ``"xdp.frags/devmap"`` comes before ``"xdp.frags"``). Each
:class:`SectionDef` keeps libbpf's pattern (``"kprobe+"``), the program type and expected
attach type as the kernel's enum member names (``"BPF_PROG_TYPE_KPROBE"``,
``"BPF_TRACE_KPROBE_MULTI"``; ``None`` where libbpf passes 0), libbpf's flags (:class:`SecFlag`),
the attach kind libbpf auto-attaches with (``auto_attach``; ``None`` when libbpf has no attach
function for it, e.g. XDP, tc, cgroup) and the :mod:`pybpf.link` module that attaches it given a
target (``attach``).

Matching rules, exactly as libbpf's ``sec_def_matches()``:

* ``"type+"``: the name is exactly ``type``, or ``type/`` followed by anything;
* ``"type/"`` (only used by custom definitions): the name starts with ``type/``;
* otherwise the name must equal the pattern.

A leading ``?`` (``SEC("?xdp")``) means "do not load by default" (autoload off); it is
stripped before matching, as libbpf does, and reported as :attr:`ProgramSection.autoload`.
Names matching no entry are unknown: :func:`parse_section` raises
:class:`~pybpf.errors.ObjectError` (libbpf leaves such programs without a type and fails at load).
Custom definitions (libbpf's ``libbpf_register_prog_handler()``) can be passed as ``custom=``
and are tried first, like libbpf's.

Program/attach type names are resolved to numbers only on request, through
:mod:`pybpf.sys.uapi` (imported lazily, so this table has no import-time dependency on it).
"""

from __future__ import annotations

import enum
from pybpf.record import Record
from typing import Iterable, Sequence

from pybpf.errors import NotSupportedError, ObjectError

__all__ = [
    "SecFlag", "SectionDef", "ProgramSection", "SECTION_DEFS", "BPF_F_SLEEPABLE",
    "BPF_F_XDP_HAS_FRAGS", "find_section_def", "parse_section", "prog_type_by_name",
    "attach_type_by_name", "prog_type_number", "attach_type_number",
]

#: ``prog_flags`` bits the kernel gets for sleepable / XDP-frags programs (uapi ``BPF_F_*``).
BPF_F_SLEEPABLE = 1 << 4
BPF_F_XDP_HAS_FRAGS = 1 << 5


class SecFlag(enum.IntFlag):
    """libbpf's ``enum sec_def_flags`` (stored as the section definition's cookie)."""

    NONE = 0
    #: expected_attach_type is dropped when the kernel does not support passing one
    EXP_ATTACH_OPT = 1
    #: legacy marker: the type can be attached with BPF_PROG_ATTACH (what
    #: ``libbpf_attach_type_by_name()`` accepts)
    ATTACHABLE = 2
    ATTACHABLE_OPT = ATTACHABLE | EXP_ATTACH_OPT
    #: the attach target is a BTF id (kernel function, tracepoint, LSM hook or BPF program)
    ATTACH_BTF = 4
    #: loaded with BPF_F_SLEEPABLE
    SLEEPABLE = 8
    #: XDP program that handles multi-buffer packets (BPF_F_XDP_HAS_FRAGS)
    XDP_FRAGS = 16
    #: USDT: expected attach type becomes BPF_TRACE_UPROBE_MULTI when the kernel has uprobe_multi links
    USDT = 32


F = SecFlag


class SectionDef(Record):
    """One entry of libbpf's section table.

    ``sec``: libbpf's pattern (``"tp+"``, ``"xdp"``, ``"sk_skb/stream_parser"``);
    ``prog_type``: ``"BPF_PROG_TYPE_*"``; ``expected_attach_type``: ``"BPF_*"`` or ``None``
    (libbpf passes 0); ``flags``: :class:`SecFlag`; ``auto_attach``: the attach kind libbpf's
    ``bpf_program__attach()`` uses for it, ``None`` if libbpf cannot auto-attach it;
    ``attach``: the :mod:`pybpf.link` module that attaches such programs to an explicit
    target (``None`` if nothing attaches them, e.g. ``syscall`` programs, which are run);
    ``since``: libbpf release that first has the entry ("1.1" means 1.1 or earlier).
    """

    sec: str
    prog_type: str
    expected_attach_type: str | None
    flags: SecFlag
    auto_attach: str | None
    attach: str | None
    since: str = "1.1"

    @property
    def prefix(self) -> str:
        """The pattern without libbpf's trailing ``+``."""
        return self.sec[:-1] if self.sec.endswith("+") else self.sec

    def matches(self, sec_name: str) -> bool:
        """libbpf's ``sec_def_matches()`` for ``sec_name`` (``?`` already stripped)."""
        pattern = self.sec
        if pattern.endswith("/"):
            return sec_name.startswith(pattern)
        if pattern.endswith("+"):
            base = pattern[:-1]
            if not sec_name.startswith(base):
                return False
            return len(sec_name) == len(base) or sec_name[len(base)] == "/"
        return sec_name == pattern

    @property
    def sleepable(self) -> bool:
        return bool(self.flags & F.SLEEPABLE)

    @property
    def xdp_frags(self) -> bool:
        return bool(self.flags & F.XDP_FRAGS)

    @property
    def attach_btf(self) -> bool:
        return bool(self.flags & F.ATTACH_BTF)

    @property
    def attachable(self) -> bool:
        return bool(self.flags & F.ATTACHABLE)

    @property
    def usdt(self) -> bool:
        return bool(self.flags & F.USDT)

    @property
    def expected_attach_type_optional(self) -> bool:
        return bool(self.flags & F.EXP_ATTACH_OPT)

    @property
    def prog_flags(self) -> int:
        """``BPF_F_SLEEPABLE``/``BPF_F_XDP_HAS_FRAGS`` as libbpf adds them at load."""
        flags = BPF_F_SLEEPABLE if self.flags & F.SLEEPABLE else 0
        if self.flags & F.XDP_FRAGS and self.prog_type == "BPF_PROG_TYPE_XDP":
            flags |= BPF_F_XDP_HAS_FRAGS
        return flags


def _d(sec: str, ptype: str, atype: str | None, flags: SecFlag, auto: str | None,
       attach: str | None, since: str = "1.1") -> SectionDef:
    return SectionDef(sec, "BPF_PROG_TYPE_" + ptype, atype, flags, auto, attach, since)


# libbpf 1.x section_defs[], in libbpf's order (libbpf/src/libbpf.c). Entries newer than the
# installed libbpf 1.1 carry the release that added them.
SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", "SOCKET_FILTER", None, F.NONE, None, "socket"),
    _d("sk_reuseport/migrate", "SK_REUSEPORT", "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE", F.ATTACHABLE, None, "sk_reuseport"),
    _d("sk_reuseport", "SK_REUSEPORT", "BPF_SK_REUSEPORT_SELECT", F.ATTACHABLE, None, "sk_reuseport"),
    _d("kprobe+", "KPROBE", None, F.NONE, "kprobe", "kprobe"),
    _d("uprobe+", "KPROBE", None, F.NONE, "uprobe", "uprobe"),
    _d("uprobe.s+", "KPROBE", None, F.SLEEPABLE, "uprobe", "uprobe"),
    _d("kretprobe+", "KPROBE", None, F.NONE, "kprobe", "kprobe"),
    _d("uretprobe+", "KPROBE", None, F.NONE, "uprobe", "uprobe"),
    _d("uretprobe.s+", "KPROBE", None, F.SLEEPABLE, "uprobe", "uprobe"),
    _d("kprobe.multi+", "KPROBE", "BPF_TRACE_KPROBE_MULTI", F.NONE, "kprobe_multi", "kprobe_multi"),
    _d("kretprobe.multi+", "KPROBE", "BPF_TRACE_KPROBE_MULTI", F.NONE, "kprobe_multi", "kprobe_multi"),
    _d("kprobe.session+", "KPROBE", "BPF_TRACE_KPROBE_SESSION", F.NONE, "kprobe_session", "kprobe_multi", "1.5"),
    _d("uprobe.multi+", "KPROBE", "BPF_TRACE_UPROBE_MULTI", F.NONE, "uprobe_multi", "uprobe_multi", "1.3"),
    _d("uretprobe.multi+", "KPROBE", "BPF_TRACE_UPROBE_MULTI", F.NONE, "uprobe_multi", "uprobe_multi", "1.3"),
    _d("uprobe.session+", "KPROBE", "BPF_TRACE_UPROBE_SESSION", F.NONE, "uprobe_multi", "uprobe_multi", "1.6"),
    _d("uprobe.multi.s+", "KPROBE", "BPF_TRACE_UPROBE_MULTI", F.SLEEPABLE, "uprobe_multi", "uprobe_multi", "1.3"),
    _d("uretprobe.multi.s+", "KPROBE", "BPF_TRACE_UPROBE_MULTI", F.SLEEPABLE, "uprobe_multi", "uprobe_multi", "1.3"),
    _d("uprobe.session.s+", "KPROBE", "BPF_TRACE_UPROBE_SESSION", F.SLEEPABLE, "uprobe_multi", "uprobe_multi", "1.6"),
    _d("ksyscall+", "KPROBE", None, F.NONE, "ksyscall", "ksyscall"),
    _d("kretsyscall+", "KPROBE", None, F.NONE, "ksyscall", "ksyscall"),
    _d("usdt+", "KPROBE", None, F.USDT, "usdt", "usdt"),
    _d("usdt.s+", "KPROBE", None, F.USDT | F.SLEEPABLE, "usdt", "usdt", "1.3"),
    _d("tc/ingress", "SCHED_CLS", "BPF_TCX_INGRESS", F.NONE, None, "tcx", "1.3"),   # alias for tcx
    _d("tc/egress", "SCHED_CLS", "BPF_TCX_EGRESS", F.NONE, None, "tcx", "1.3"),     # alias for tcx
    _d("tcx/ingress", "SCHED_CLS", "BPF_TCX_INGRESS", F.NONE, None, "tcx", "1.3"),
    _d("tcx/egress", "SCHED_CLS", "BPF_TCX_EGRESS", F.NONE, None, "tcx", "1.3"),
    _d("tc", "SCHED_CLS", None, F.NONE, None, "tc"),             # legacy: netlink cls_bpf
    _d("classifier", "SCHED_CLS", None, F.NONE, None, "tc"),     # legacy
    _d("action", "SCHED_ACT", None, F.NONE, None, "tc"),         # legacy: netlink act_bpf
    _d("netkit/primary", "SCHED_CLS", "BPF_NETKIT_PRIMARY", F.NONE, None, "netkit", "1.3"),
    _d("netkit/peer", "SCHED_CLS", "BPF_NETKIT_PEER", F.NONE, None, "netkit", "1.3"),
    _d("tracepoint+", "TRACEPOINT", None, F.NONE, "tracepoint", "tracepoint"),
    _d("tp+", "TRACEPOINT", None, F.NONE, "tracepoint", "tracepoint"),
    _d("raw_tracepoint+", "RAW_TRACEPOINT", None, F.NONE, "raw_tp", "raw_tp"),
    _d("raw_tp+", "RAW_TRACEPOINT", None, F.NONE, "raw_tp", "raw_tp"),
    _d("raw_tracepoint.w+", "RAW_TRACEPOINT_WRITABLE", None, F.NONE, "raw_tp", "raw_tp"),
    _d("raw_tp.w+", "RAW_TRACEPOINT_WRITABLE", None, F.NONE, "raw_tp", "raw_tp"),
    _d("tp_btf+", "TRACING", "BPF_TRACE_RAW_TP", F.ATTACH_BTF, "tracing", "tracing"),
    _d("fentry+", "TRACING", "BPF_TRACE_FENTRY", F.ATTACH_BTF, "tracing", "tracing"),
    _d("fmod_ret+", "TRACING", "BPF_MODIFY_RETURN", F.ATTACH_BTF, "tracing", "tracing"),
    _d("fexit+", "TRACING", "BPF_TRACE_FEXIT", F.ATTACH_BTF, "tracing", "tracing"),
    _d("fentry.s+", "TRACING", "BPF_TRACE_FENTRY", F.ATTACH_BTF | F.SLEEPABLE, "tracing", "tracing"),
    _d("fmod_ret.s+", "TRACING", "BPF_MODIFY_RETURN", F.ATTACH_BTF | F.SLEEPABLE, "tracing", "tracing"),
    _d("fexit.s+", "TRACING", "BPF_TRACE_FEXIT", F.ATTACH_BTF | F.SLEEPABLE, "tracing", "tracing"),
    _d("fsession+", "TRACING", "BPF_TRACE_FSESSION", F.ATTACH_BTF, "tracing", "tracing", "1.7"),
    _d("fsession.s+", "TRACING", "BPF_TRACE_FSESSION", F.ATTACH_BTF | F.SLEEPABLE, "tracing", "tracing", "1.7"),
    _d("freplace+", "EXT", None, F.ATTACH_BTF, "tracing", "freplace"),
    _d("lsm+", "LSM", "BPF_LSM_MAC", F.ATTACH_BTF, "lsm", "lsm"),
    _d("lsm.s+", "LSM", "BPF_LSM_MAC", F.ATTACH_BTF | F.SLEEPABLE, "lsm", "lsm"),
    _d("lsm_cgroup+", "LSM", "BPF_LSM_CGROUP", F.ATTACH_BTF, None, "cgroup"),
    _d("iter+", "TRACING", "BPF_TRACE_ITER", F.ATTACH_BTF, "iter", "iter"),
    _d("iter.s+", "TRACING", "BPF_TRACE_ITER", F.ATTACH_BTF | F.SLEEPABLE, "iter", "iter"),
    _d("syscall", "SYSCALL", None, F.SLEEPABLE, None, None),
    _d("xdp.frags/devmap", "XDP", "BPF_XDP_DEVMAP", F.XDP_FRAGS, None, None),
    _d("xdp/devmap", "XDP", "BPF_XDP_DEVMAP", F.ATTACHABLE, None, None),
    _d("xdp.frags/cpumap", "XDP", "BPF_XDP_CPUMAP", F.XDP_FRAGS, None, None),
    _d("xdp/cpumap", "XDP", "BPF_XDP_CPUMAP", F.ATTACHABLE, None, None),
    _d("xdp.frags", "XDP", "BPF_XDP", F.XDP_FRAGS, None, "xdp"),
    _d("xdp", "XDP", "BPF_XDP", F.ATTACHABLE_OPT, None, "xdp"),
    _d("perf_event", "PERF_EVENT", None, F.NONE, None, "perf_event"),
    _d("lwt_in", "LWT_IN", None, F.NONE, None, None),
    _d("lwt_out", "LWT_OUT", None, F.NONE, None, None),
    _d("lwt_xmit", "LWT_XMIT", None, F.NONE, None, None),
    _d("lwt_seg6local", "LWT_SEG6LOCAL", None, F.NONE, None, None),
    _d("sockops", "SOCK_OPS", "BPF_CGROUP_SOCK_OPS", F.ATTACHABLE_OPT, None, "cgroup"),
    _d("sk_skb/stream_parser", "SK_SKB", "BPF_SK_SKB_STREAM_PARSER", F.ATTACHABLE_OPT, None, "sockmap"),
    _d("sk_skb/stream_verdict", "SK_SKB", "BPF_SK_SKB_STREAM_VERDICT", F.ATTACHABLE_OPT, None, "sockmap"),
    _d("sk_skb/verdict", "SK_SKB", "BPF_SK_SKB_VERDICT", F.ATTACHABLE_OPT, None, "sockmap", "1.5"),
    _d("sk_skb", "SK_SKB", None, F.NONE, None, "sockmap"),
    _d("sk_msg", "SK_MSG", "BPF_SK_MSG_VERDICT", F.ATTACHABLE_OPT, None, "sockmap"),
    _d("lirc_mode2", "LIRC_MODE2", "BPF_LIRC_MODE2", F.ATTACHABLE_OPT, None, None),
    _d("flow_dissector", "FLOW_DISSECTOR", "BPF_FLOW_DISSECTOR", F.ATTACHABLE_OPT, None, "netns"),
    _d("cgroup_skb/ingress", "CGROUP_SKB", "BPF_CGROUP_INET_INGRESS", F.ATTACHABLE_OPT, None, "cgroup"),
    _d("cgroup_skb/egress", "CGROUP_SKB", "BPF_CGROUP_INET_EGRESS", F.ATTACHABLE_OPT, None, "cgroup"),
    _d("cgroup/skb", "CGROUP_SKB", None, F.NONE, None, "cgroup"),
    _d("cgroup/sock_create", "CGROUP_SOCK", "BPF_CGROUP_INET_SOCK_CREATE", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/sock_release", "CGROUP_SOCK", "BPF_CGROUP_INET_SOCK_RELEASE", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/sock", "CGROUP_SOCK", "BPF_CGROUP_INET_SOCK_CREATE", F.ATTACHABLE_OPT, None, "cgroup"),
    _d("cgroup/post_bind4", "CGROUP_SOCK", "BPF_CGROUP_INET4_POST_BIND", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/post_bind6", "CGROUP_SOCK", "BPF_CGROUP_INET6_POST_BIND", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/bind4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET4_BIND", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/bind6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET6_BIND", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/connect4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET4_CONNECT", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/connect6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET6_CONNECT", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/connect_unix", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UNIX_CONNECT", F.ATTACHABLE, None, "cgroup", "1.3"),
    _d("cgroup/sendmsg4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UDP4_SENDMSG", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/sendmsg6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UDP6_SENDMSG", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/sendmsg_unix", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UNIX_SENDMSG", F.ATTACHABLE, None, "cgroup", "1.3"),
    _d("cgroup/recvmsg4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UDP4_RECVMSG", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/recvmsg6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UDP6_RECVMSG", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/recvmsg_unix", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UNIX_RECVMSG", F.ATTACHABLE, None, "cgroup", "1.3"),
    _d("cgroup/getpeername4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET4_GETPEERNAME", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/getpeername6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET6_GETPEERNAME", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/getpeername_unix", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UNIX_GETPEERNAME", F.ATTACHABLE, None, "cgroup", "1.3"),
    _d("cgroup/getsockname4", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET4_GETSOCKNAME", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/getsockname6", "CGROUP_SOCK_ADDR", "BPF_CGROUP_INET6_GETSOCKNAME", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/getsockname_unix", "CGROUP_SOCK_ADDR", "BPF_CGROUP_UNIX_GETSOCKNAME", F.ATTACHABLE, None, "cgroup", "1.3"),
    _d("cgroup/sysctl", "CGROUP_SYSCTL", "BPF_CGROUP_SYSCTL", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/getsockopt", "CGROUP_SOCKOPT", "BPF_CGROUP_GETSOCKOPT", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/setsockopt", "CGROUP_SOCKOPT", "BPF_CGROUP_SETSOCKOPT", F.ATTACHABLE, None, "cgroup"),
    _d("cgroup/dev", "CGROUP_DEVICE", "BPF_CGROUP_DEVICE", F.ATTACHABLE_OPT, None, "cgroup"),
    _d("struct_ops+", "STRUCT_OPS", None, F.NONE, None, "struct_ops"),
    _d("struct_ops.s+", "STRUCT_OPS", None, F.SLEEPABLE, None, "struct_ops", "1.2"),
    _d("sk_lookup", "SK_LOOKUP", "BPF_SK_LOOKUP", F.ATTACHABLE, None, "netns"),
    _d("netfilter", "NETFILTER", "BPF_NETFILTER", F.NONE, None, "netfilter", "1.2"),
)

# Attach kinds whose libbpf attach function silently skips a bare SEC("kind") (no target),
# mapped to how a name counts as bare.
_BARE_IS_EXACT = {"kprobe", "ksyscall", "kprobe_multi", "kprobe_session", "tracepoint", "raw_tp"}


class ProgramSection(Record):
    """A program's section name parsed against the table.

    ``name`` is the section name as written (``"?tp/sched/sched_switch"``), ``sec_name`` the
    name libbpf keeps and matches (``?`` stripped), ``autoload`` is false for ``?`` names,
    ``definition`` the matching :class:`SectionDef`.
    """

    name: str
    sec_name: str
    autoload: bool
    definition: SectionDef

    @property
    def prog_type(self) -> str:
        return self.definition.prog_type

    @property
    def expected_attach_type(self) -> str | None:
        return self.definition.expected_attach_type

    @property
    def flags(self) -> SecFlag:
        return self.definition.flags

    @property
    def sleepable(self) -> bool:
        return self.definition.sleepable

    @property
    def xdp_frags(self) -> bool:
        return self.definition.xdp_frags

    @property
    def prog_flags(self) -> int:
        return self.definition.prog_flags

    @property
    def target(self) -> str | None:
        """What follows ``prefix/`` in the name (``"sched/sched_switch"`` for
        ``tp/sched/sched_switch``), or ``None`` when the name is just the prefix or the
        entry takes no target. For ``ATTACH_BTF`` entries this is the BTF attach target."""
        d = self.definition
        if d.sec.endswith("/"):
            return self.sec_name[len(d.sec):]
        if not d.sec.endswith("+"):
            return None
        prefix = d.prefix
        if len(self.sec_name) == len(prefix):
            return None
        return self.sec_name[len(prefix) + 1:]

    @property
    def auto_attach(self) -> str | None:
        """The attach kind libbpf would auto-attach this program with, or ``None`` when libbpf
        does not auto-attach it: no attach function for the type (XDP, tc, cgroup, ...) or a
        bare name without target that libbpf silently skips (``SEC("kprobe")``,
        ``SEC("uprobe")``, ``SEC("tp")``, ``SEC("usdt")``, ...)."""
        kind = self.definition.auto_attach
        if kind is None:
            return None
        name = self.sec_name
        if kind in _BARE_IS_EXACT:
            return None if self.target is None else kind
        if kind in ("uprobe", "uprobe_multi"):
            # libbpf: sscanf("%m[^/]/%m[^:]:%m[^\n]") == 1 -> format valid, no auto-attach
            slash = name.find("/")
            if slash < 0 or slash + 1 == len(name) or name[slash + 1] == ":":
                return None
            return kind
        if kind == "usdt":
            return None if name == "usdt" else kind
        return kind   # tracing, lsm, iter: always attempted


def find_section_def(sec_name: str, custom: Sequence[SectionDef] = ()) -> SectionDef | None:
    """The first definition matching ``sec_name`` (custom ones first), or ``None``.

    ``sec_name`` is matched as given; strip a leading ``?`` first (or use :func:`parse_section`).
    """
    for d in custom:
        if d.matches(sec_name):
            return d
    for d in SECTION_DEFS:
        if d.matches(sec_name):
            return d
    return None


def _suggestions(sec_name: str) -> str:
    head = sec_name.split("/", 1)[0]
    names = sorted({d.prefix for d in SECTION_DEFS})
    import difflib  # only for the error message

    close = difflib.get_close_matches(head, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(x) for x in close)}?)" if close else ""


def parse_section(name: str, custom: Sequence[SectionDef] = (), *, program: str | None = None) -> ProgramSection:
    """Parse a program's section name: strip ``?`` (autoload off), match the table.

    :class:`~pybpf.errors.ObjectError` for names no definition matches, naming the program
    when ``program`` is given.
    """
    autoload = not name.startswith("?")
    sec_name = name if autoload else name[1:]
    d = find_section_def(sec_name, custom)
    if d is None:
        who = f"program '{program}': " if program else ""
        raise ObjectError(f"{who}unknown section name '{name}': no libbpf SEC() definition matches it"
                          f"{_suggestions(sec_name)}; the program type cannot be guessed (set it explicitly)")
    return ProgramSection(name, sec_name, autoload, d)


def prog_type_by_name(name: str, custom: Sequence[SectionDef] = ()) -> tuple[str, str | None]:
    """``(prog_type, expected_attach_type)`` for section ``name``, as libbpf's
    ``libbpf_prog_type_by_name()`` (no ``?`` handling); :class:`ObjectError` if unknown."""
    d = find_section_def(name, custom)
    if d is None:
        raise ObjectError(f"failed to guess program type from ELF section '{name}'{_suggestions(name)}")
    return d.prog_type, d.expected_attach_type


def attach_type_by_name(name: str, custom: Sequence[SectionDef] = ()) -> str | None:
    """The attach type for section ``name``, as libbpf's ``libbpf_attach_type_by_name()``:
    only definitions flagged ``ATTACHABLE`` qualify; :class:`ObjectError` otherwise."""
    d = find_section_def(name, custom)
    if d is None:
        raise ObjectError(f"failed to guess attach type based on ELF section name '{name}'{_suggestions(name)}")
    if not d.attachable:
        raise ObjectError(f"section '{name}' ({d.sec}) is not attachable with BPF_PROG_ATTACH")
    return d.expected_attach_type


def _enum_value(name: str, enum_name: str) -> int:
    from pybpf.sys import uapi  # deferred: the table must not depend on pybpf.sys at import

    cls = getattr(uapi, enum_name)
    try:
        return int(cls[name])
    except KeyError:
        raise NotSupportedError(
            f"{name} is not a member of enum {enum_name} in this kernel's UAPI "
            f"(Linux {getattr(uapi, 'KERNEL_RELEASE', '?')}); the kernel is too old for it"
        ) from None


def prog_type_number(name: str) -> int:
    """The kernel's number for program type ``name`` (``"BPF_PROG_TYPE_XDP"`` -> 6).

    Resolved through :mod:`pybpf.sys.uapi` (the running kernel's enums);
    :class:`~pybpf.errors.NotSupportedError` for a name that kernel does not have.
    """
    return _enum_value(name, "bpf_prog_type")


def attach_type_number(name: str | None) -> int:
    """The kernel's number for attach type ``name``; ``None`` (no expected attach type) is 0."""
    if name is None:
        return 0
    return _enum_value(name, "bpf_attach_type")


def section_names(defs: Iterable[SectionDef] = SECTION_DEFS) -> list[str]:
    """libbpf-style list of the known patterns (for help texts)."""
    return [d.sec for d in defs]
