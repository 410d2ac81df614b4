"""Attaching programs: one module per attach kind, each returning a :class:`Link`.

==================  ===================================================================
module              functions
==================  ===================================================================
tracepoint          :func:`attach_tracepoint`
raw_tracepoint      :func:`attach_raw_tracepoint`
tracing             :func:`attach_trace` (tp_btf, fentry, fexit, fmod_ret), :func:`attach_lsm`,
                    :func:`attach_freplace`
iter                :func:`attach_iter` (:class:`IterLink`)
kprobe              :func:`attach_kprobe`, :func:`attach_ksyscall`
kprobe_multi        :func:`attach_kprobe_multi`
uprobe              :func:`attach_uprobe`
uprobe_multi        :func:`attach_uprobe_multi`
usdt                :func:`attach_usdt`
perf_event          :func:`attach_perf_event`, :func:`attach_sampling`
xdp                 :func:`attach_xdp`
tc                  :func:`attach_tcx`, :func:`attach_tc`
cgroup              :func:`attach_cgroup`
socket_filter       :func:`attach_socket_filter`
sockmap             :func:`attach_sockmap`
netns               :func:`attach_netns`, :func:`attach_flow_dissector`, :func:`attach_sk_lookup`
netfilter           :func:`attach_netfilter`
struct_ops          :func:`attach_struct_ops`
auto                :func:`auto_attach` (libbpf's auto-attach from SEC() names)
==================  ===================================================================

Every name below is imported on first use (PEP 562), so that ``import pybpf.link`` stays cheap
for tools that attach one kind only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.lazy import lazy_exports

if TYPE_CHECKING:
    from pybpf.link.auto import auto_attach, auto_attach_skip_reason
    from pybpf.link.base import Link
    from pybpf.link.cgroup import attach_cgroup
    from pybpf.link.info import LinkInfo
    from pybpf.link.iter import IterLink, attach_iter
    from pybpf.link.kprobe import attach_kprobe, attach_ksyscall
    from pybpf.link.kprobe_multi import attach_kprobe_multi
    from pybpf.link.netfilter import attach_netfilter
    from pybpf.link.netns import attach_flow_dissector, attach_netns, attach_sk_lookup
    from pybpf.link.perf_event import PerfEventLinks, attach_perf_event, attach_sampling
    from pybpf.link.raw_tracepoint import attach_raw_tracepoint
    from pybpf.link.socket_filter import attach_socket_filter
    from pybpf.link.sockmap import attach_sockmap
    from pybpf.link.struct_ops import StructOpsLink, attach_struct_ops
    from pybpf.link.tc import attach_tc, attach_tcx
    from pybpf.link.tracepoint import attach_tracepoint
    from pybpf.link.tracing import attach_freplace, attach_lsm, attach_trace
    from pybpf.link.uprobe import attach_uprobe
    from pybpf.link.uprobe_multi import attach_uprobe_multi
    from pybpf.link.usdt import UsdtLink, attach_usdt
    from pybpf.link.xdp import attach_xdp

_LAZY: dict[str, str] = {
    "auto_attach": "pybpf.link.auto",
    "auto_attach_skip_reason": "pybpf.link.auto",
    "Link": "pybpf.link.base",
    "attach_cgroup": "pybpf.link.cgroup",
    "LinkInfo": "pybpf.link.info",
    "IterLink": "pybpf.link.iter",
    "attach_iter": "pybpf.link.iter",
    "attach_kprobe": "pybpf.link.kprobe",
    "attach_ksyscall": "pybpf.link.kprobe",
    "attach_kprobe_multi": "pybpf.link.kprobe_multi",
    "attach_netfilter": "pybpf.link.netfilter",
    "attach_flow_dissector": "pybpf.link.netns",
    "attach_netns": "pybpf.link.netns",
    "attach_sk_lookup": "pybpf.link.netns",
    "PerfEventLinks": "pybpf.link.perf_event",
    "attach_perf_event": "pybpf.link.perf_event",
    "attach_sampling": "pybpf.link.perf_event",
    "attach_raw_tracepoint": "pybpf.link.raw_tracepoint",
    "attach_socket_filter": "pybpf.link.socket_filter",
    "attach_sockmap": "pybpf.link.sockmap",
    "StructOpsLink": "pybpf.link.struct_ops",
    "attach_struct_ops": "pybpf.link.struct_ops",
    "attach_tc": "pybpf.link.tc",
    "attach_tcx": "pybpf.link.tc",
    "attach_tracepoint": "pybpf.link.tracepoint",
    "attach_freplace": "pybpf.link.tracing",
    "attach_lsm": "pybpf.link.tracing",
    "attach_trace": "pybpf.link.tracing",
    "attach_uprobe": "pybpf.link.uprobe",
    "attach_uprobe_multi": "pybpf.link.uprobe_multi",
    "UsdtLink": "pybpf.link.usdt",
    "attach_usdt": "pybpf.link.usdt",
    "attach_xdp": "pybpf.link.xdp",
}


__getattr__ = lazy_exports(globals(), _LAZY)[0]


__all__ = sorted(_LAZY)
