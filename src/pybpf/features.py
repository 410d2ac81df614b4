"""Feature probes: what this kernel supports, found by trying (as libbpf and bpftool do).

* :func:`probe_prog_type`, :func:`probe_map_type`, :func:`probe_helper` (per program type),
  :func:`probe_btf_kind`, :func:`probe_link_type`, :func:`probe_misc` and
  :func:`probe_capability` (ring buffer, mmapable arrays, batch ops, global data, bpf cookies,
  program names, memcg accounting, ...). Every answer is cached for the life of the process.
* :data:`REQUIREMENTS` says which Linux release and kernel configuration each feature needs;
  :func:`explain_map_create_failure` and :func:`explain_prog_load_failure` turn a failure into
  "map type ringbuf is not supported by this kernel (needs Linux 5.8+)".

Probes make small system calls (a 1-element map, a 2-instruction program) and close what
they create at once. They need the same privileges as the real operation.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
from types import SimpleNamespace

from pybpf.errors import BPFError, NotSupportedError
from pybpf.record import Record
from pybpf.sys import uapi
from pybpf.sys.commands import attr_size
from pybpf.sys.names import (
    link_type_name,
    map_type_name,
    parse_link_type,
    parse_map_type,
    parse_prog_type,
    prog_type_name,
)
from pybpf.sys.rlimit import kernel_uses_memcg
from pybpf.sys.syscall import bpf_raw

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the object loader imports this module
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = [
    "Requirement",
    "REQUIREMENTS",
    "probe_prog_type",
    "probe_map_type",
    "probe_helper",
    "probe_btf_kind",
    "probe_link_type",
    "probe_misc",
    "probe_capability",
    "supported_helpers",
    "CAPABILITIES",
    "BTF_KINDS",
    "MISC_PROBES",
    "requirement",
    "explain_map_create_failure",
    "explain_prog_load_failure",
    "system_config",
    "kernel_config",
    "clear_cache",
]

# Enum members as plain ints, from the tables (building the enum classes costs milliseconds at
# import; the object loader imports this module for its BTF probes).
M: Any = SimpleNamespace(**dict(uapi.enum_members("bpf_map_type")))
P: Any = SimpleNamespace(**dict(uapi.enum_members("bpf_prog_type")))
A: Any = SimpleNamespace(**dict(uapi.enum_members("bpf_attach_type")))
L: Any = SimpleNamespace(**dict(uapi.enum_members("bpf_link_type")))
# bpf_func_id (211 members) is built only by the probes that need a helper's number.


# ---------------------------------------------------------------------------------------------
# Requirements table


class Requirement(Record):
    """What a feature needs: the first Linux release with it and the kernel options."""

    linux: str
    config: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"needs Linux {self.linux}+"
        if self.config:
            text += " with " + ", ".join(self.config)
        return text


def _r(linux: str, *config: str) -> Requirement:
    return Requirement(linux, tuple(config))


#: ("map", type) / ("prog", type) / ("link", type) / ("btf", kind) / ("cap", name) -> needs.
REQUIREMENTS: dict[tuple[str, Any], Requirement] = {
    ("map", M.BPF_MAP_TYPE_HASH): _r("3.19"),
    ("map", M.BPF_MAP_TYPE_ARRAY): _r("3.19"),
    ("map", M.BPF_MAP_TYPE_PROG_ARRAY): _r("4.2"),
    ("map", M.BPF_MAP_TYPE_PERF_EVENT_ARRAY): _r("4.3", "CONFIG_PERF_EVENTS"),
    ("map", M.BPF_MAP_TYPE_PERCPU_HASH): _r("4.6"),
    ("map", M.BPF_MAP_TYPE_PERCPU_ARRAY): _r("4.6"),
    ("map", M.BPF_MAP_TYPE_STACK_TRACE): _r("4.6", "CONFIG_PERF_EVENTS"),
    ("map", M.BPF_MAP_TYPE_CGROUP_ARRAY): _r("4.8", "CONFIG_CGROUPS"),
    ("map", M.BPF_MAP_TYPE_LRU_HASH): _r("4.10"),
    ("map", M.BPF_MAP_TYPE_LRU_PERCPU_HASH): _r("4.10"),
    ("map", M.BPF_MAP_TYPE_LPM_TRIE): _r("4.11"),
    ("map", M.BPF_MAP_TYPE_ARRAY_OF_MAPS): _r("4.12"),
    ("map", M.BPF_MAP_TYPE_HASH_OF_MAPS): _r("4.12"),
    ("map", M.BPF_MAP_TYPE_DEVMAP): _r("4.14", "CONFIG_NET"),
    ("map", M.BPF_MAP_TYPE_SOCKMAP): _r("4.14", "CONFIG_NET", "CONFIG_BPF_STREAM_PARSER"),
    ("map", M.BPF_MAP_TYPE_CPUMAP): _r("4.15", "CONFIG_NET"),
    ("map", M.BPF_MAP_TYPE_XSKMAP): _r("4.18", "CONFIG_XDP_SOCKETS"),
    ("map", M.BPF_MAP_TYPE_SOCKHASH): _r("4.18", "CONFIG_NET", "CONFIG_BPF_STREAM_PARSER"),
    ("map", M.BPF_MAP_TYPE_CGROUP_STORAGE): _r("4.19", "CONFIG_CGROUP_BPF"),
    ("map", M.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY): _r("4.19", "CONFIG_NET"),
    ("map", M.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE): _r("4.20", "CONFIG_CGROUP_BPF"),
    ("map", M.BPF_MAP_TYPE_QUEUE): _r("4.20"),
    ("map", M.BPF_MAP_TYPE_STACK): _r("4.20"),
    ("map", M.BPF_MAP_TYPE_SK_STORAGE): _r("5.2", "CONFIG_NET"),
    ("map", M.BPF_MAP_TYPE_DEVMAP_HASH): _r("5.4", "CONFIG_NET"),
    ("map", M.BPF_MAP_TYPE_STRUCT_OPS): _r("5.6", "CONFIG_DEBUG_INFO_BTF"),
    ("map", M.BPF_MAP_TYPE_RINGBUF): _r("5.8"),
    ("map", M.BPF_MAP_TYPE_INODE_STORAGE): _r("5.10", "CONFIG_BPF_LSM"),
    ("map", M.BPF_MAP_TYPE_TASK_STORAGE): _r("5.11"),
    ("map", M.BPF_MAP_TYPE_BLOOM_FILTER): _r("5.16"),
    ("map", M.BPF_MAP_TYPE_USER_RINGBUF): _r("6.1"),
    ("map", M.BPF_MAP_TYPE_CGRP_STORAGE): _r("6.2", "CONFIG_CGROUPS"),
    ("map", M.BPF_MAP_TYPE_ARENA): _r("6.9", "CONFIG_MMU"),
    ("prog", P.BPF_PROG_TYPE_SOCKET_FILTER): _r("3.19"),
    ("prog", P.BPF_PROG_TYPE_KPROBE): _r("4.1", "CONFIG_KPROBE_EVENTS"),
    ("prog", P.BPF_PROG_TYPE_SCHED_CLS): _r("4.1", "CONFIG_NET_CLS_BPF"),
    ("prog", P.BPF_PROG_TYPE_SCHED_ACT): _r("4.1", "CONFIG_NET_ACT_BPF"),
    ("prog", P.BPF_PROG_TYPE_TRACEPOINT): _r("4.7", "CONFIG_BPF_EVENTS"),
    ("prog", P.BPF_PROG_TYPE_XDP): _r("4.8", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_PERF_EVENT): _r("4.9", "CONFIG_BPF_EVENTS"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_SKB): _r("4.10", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_SOCK): _r("4.10", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_LWT_IN): _r("4.10", "CONFIG_LWTUNNEL_BPF"),
    ("prog", P.BPF_PROG_TYPE_LWT_OUT): _r("4.10", "CONFIG_LWTUNNEL_BPF"),
    ("prog", P.BPF_PROG_TYPE_LWT_XMIT): _r("4.10", "CONFIG_LWTUNNEL_BPF"),
    ("prog", P.BPF_PROG_TYPE_SOCK_OPS): _r("4.13", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_SK_SKB): _r("4.14", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_DEVICE): _r("4.15", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_SK_MSG): _r("4.17", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_RAW_TRACEPOINT): _r("4.17", "CONFIG_BPF_EVENTS"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR): _r("4.17", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_LWT_SEG6LOCAL): _r("4.18", "CONFIG_IPV6_SEG6_BPF"),
    ("prog", P.BPF_PROG_TYPE_LIRC_MODE2): _r("4.18", "CONFIG_BPF_LIRC_MODE2"),
    ("prog", P.BPF_PROG_TYPE_SK_REUSEPORT): _r("4.19", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_FLOW_DISSECTOR): _r("4.20", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_SYSCTL): _r("5.2", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE): _r("5.2", "CONFIG_BPF_EVENTS"),
    ("prog", P.BPF_PROG_TYPE_CGROUP_SOCKOPT): _r("5.3", "CONFIG_CGROUP_BPF"),
    ("prog", P.BPF_PROG_TYPE_TRACING): _r("5.5", "CONFIG_DEBUG_INFO_BTF",
                                         "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"),
    ("prog", P.BPF_PROG_TYPE_STRUCT_OPS): _r("5.6", "CONFIG_DEBUG_INFO_BTF"),
    ("prog", P.BPF_PROG_TYPE_EXT): _r("5.6", "CONFIG_DEBUG_INFO_BTF"),
    ("prog", P.BPF_PROG_TYPE_LSM): _r("5.7", "CONFIG_BPF_LSM"),
    ("prog", P.BPF_PROG_TYPE_SK_LOOKUP): _r("5.9", "CONFIG_NET"),
    ("prog", P.BPF_PROG_TYPE_SYSCALL): _r("5.14"),
    ("prog", P.BPF_PROG_TYPE_NETFILTER): _r("6.4", "CONFIG_NETFILTER_BPF_LINK"),
    ("link", L.BPF_LINK_TYPE_RAW_TRACEPOINT): _r("5.8"),
    ("link", L.BPF_LINK_TYPE_TRACING): _r("5.8", "CONFIG_DEBUG_INFO_BTF"),
    ("link", L.BPF_LINK_TYPE_CGROUP): _r("5.7", "CONFIG_CGROUP_BPF"),
    ("link", L.BPF_LINK_TYPE_ITER): _r("5.8"),
    ("link", L.BPF_LINK_TYPE_NETNS): _r("5.8", "CONFIG_NET"),
    ("link", L.BPF_LINK_TYPE_XDP): _r("5.9", "CONFIG_NET"),
    ("link", L.BPF_LINK_TYPE_PERF_EVENT): _r("5.15", "CONFIG_PERF_EVENTS"),
    ("link", L.BPF_LINK_TYPE_KPROBE_MULTI): _r("5.18", "CONFIG_FPROBE"),
    ("link", L.BPF_LINK_TYPE_STRUCT_OPS): _r("6.4"),
    ("link", L.BPF_LINK_TYPE_NETFILTER): _r("6.4", "CONFIG_NETFILTER_BPF_LINK"),
    ("link", L.BPF_LINK_TYPE_TCX): _r("6.6", "CONFIG_NET_XGRESS"),
    ("link", L.BPF_LINK_TYPE_UPROBE_MULTI): _r("6.6", "CONFIG_UPROBES"),
    ("link", L.BPF_LINK_TYPE_NETKIT): _r("6.7", "CONFIG_NETKIT"),
    ("link", L.BPF_LINK_TYPE_SOCKMAP): _r("6.10", "CONFIG_BPF_STREAM_PARSER"),
    ("btf", "int"): _r("4.18", "CONFIG_DEBUG_INFO_BTF"),
    ("btf", "func"): _r("5.0"),
    ("btf", "func_proto"): _r("5.0"),
    ("btf", "global_func"): _r("5.6"),
    ("btf", "var"): _r("5.2"),
    ("btf", "datasec"): _r("5.2"),
    ("btf", "float"): _r("5.13"),
    ("btf", "decl_tag"): _r("5.16"),
    ("btf", "type_tag"): _r("5.17"),
    ("btf", "enum64"): _r("6.0"),
    ("cap", "prog_name"): _r("4.15"),
    ("cap", "global_data"): _r("5.2"),
    ("cap", "mmapable_array"): _r("5.5"),
    ("cap", "batch_ops"): _r("5.6"),
    ("cap", "ringbuf"): _r("5.8"),
    ("cap", "enable_stats"): _r("5.8"),
    ("cap", "prog_bind_map"): _r("5.10"),
    ("cap", "memcg_account"): _r("5.11", "CONFIG_MEMCG"),
    ("cap", "bpf_cookie"): _r("5.15"),
    ("cap", "perf_link"): _r("5.15"),
    ("cap", "fd_array"): _r("5.14"),
    ("cap", "bloom_filter"): _r("5.16"),
    ("cap", "lookup_and_delete_hash"): _r("5.14"),
    ("cap", "log_true_size"): _r("6.4"),
    ("misc", "large_insn_limit"): _r("5.2"),
    ("misc", "bounded_loops"): _r("5.3"),
    ("misc", "v2_isa_extension"): _r("4.14"),
    ("misc", "v3_isa_extension"): _r("5.1"),
    ("misc", "v4_isa_extension"): _r("6.6"),
}


def requirement(kind: str, what: Any) -> Requirement | None:
    """The :class:`Requirement` of ``("map", type)``, ``("prog", type)``, ``("cap", name)``..."""
    for key in ((kind, what), (kind, _maybe_int(what))):
        if key in REQUIREMENTS:
            return REQUIREMENTS[key]
    return None


def _maybe_int(what: Any) -> Any:
    try:
        return int(what)
    except (TypeError, ValueError):
        return what


# ---------------------------------------------------------------------------------------------
# Low-level helpers: raw loads and map creation that never recurse into Map/Program.

_INSN = struct.Struct("<BBhi")


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return _INSN.pack(code, dst | (src << 4), off, imm)


def _mov64_imm(dst: int, imm: int) -> bytes:
    return _insn(0xB7, dst, 0, 0, imm)


def _call(helper: int) -> bytes:
    return _insn(0x85, 0, 0, 0, helper)


_EXIT = _insn(0x95)
_RET0 = _mov64_imm(0, 0) + _EXIT


class _LoadResult(Record, frozen=False):
    fd: int
    errno: int
    log: str


def _load(prog_type: int, insns: bytes, *, expected_attach_type: int = 0, attach_btf_id: int = 0,
          flags: int = 0, kern_version: int = 0, name: bytes = b"", log: bool = False,
          license: bytes = b"GPL", fd_array: list[int] | None = None) -> _LoadResult:
    ibuf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license)
    attr = uapi.bpf_attr_prog_load()
    attr.prog_type = prog_type
    attr.insn_cnt = len(insns) // 8
    attr.insns = ctypes.addressof(ibuf)
    attr.license = ctypes.addressof(lic)
    attr.expected_attach_type = expected_attach_type
    attr.attach_btf_id = attach_btf_id
    attr.prog_flags = flags
    attr.kern_version = kern_version
    attr.prog_name = name
    logbuf = ctypes.create_string_buffer(4096) if log else None
    if logbuf is not None:
        attr.log_level = 1
        attr.log_size = len(logbuf)
        attr.log_buf = ctypes.addressof(logbuf)
    fds = None
    last = "attach_btf_id"
    if fd_array:
        fds = (ctypes.c_int * len(fd_array))(*fd_array)
        attr.fd_array = ctypes.addressof(fds)
        last = "fd_array"
    fd, err = bpf_raw(uapi.BPF_PROG_LOAD, attr, attr_size(uapi.bpf_attr_prog_load, last))
    text = logbuf.value.decode("utf-8", "replace") if logbuf is not None else ""
    return _LoadResult(fd, err, text)


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def _create_map(map_type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0,
                inner_map_fd: int = 0, btf_fd: int = 0, btf_key: int = 0, btf_value: int = 0,
                map_extra: int = 0, btf_vmlinux_value: int = 0) -> tuple[int, int]:
    attr = uapi.bpf_attr_map_create()
    attr.map_type = map_type
    attr.key_size = key_size
    attr.value_size = value_size
    attr.max_entries = max_entries
    attr.map_flags = flags
    attr.inner_map_fd = inner_map_fd
    attr.btf_fd = btf_fd
    attr.btf_key_type_id = btf_key
    attr.btf_value_type_id = btf_value
    attr.map_extra = map_extra
    attr.btf_vmlinux_value_type_id = btf_vmlinux_value
    return bpf_raw(uapi.BPF_MAP_CREATE, attr, attr_size(uapi.bpf_attr_map_create, "map_extra"))


def _kernel_version_code() -> int:
    release = os.uname().release
    parts = []
    for piece in release.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit()) or "0"
        parts.append(int(digits))
        if not piece.isdigit():
            break
    while len(parts) < 3:
        parts.append(0)
    a, b, c = parts
    return (a << 16) + (b << 8) + min(c, 255)


# ---------------------------------------------------------------------------------------------
# BTF blobs for the BTF-kind probes (hand-encoded, as libbpf does).

_BTF_MAGIC = 0xEB9F
_KIND = {"int": 1, "ptr": 2, "array": 3, "struct": 4, "union": 5, "enum": 6, "fwd": 7,
         "typedef": 8, "volatile": 9, "const": 10, "restrict": 11, "func": 12,
         "func_proto": 13, "var": 14, "datasec": 15, "float": 16, "decl_tag": 17,
         "type_tag": 18, "enum64": 19}


def _t(name_off: int, kind: str, vlen: int = 0, size_or_type: int = 0, kflag: int = 0) -> bytes:
    info = (kflag << 31) | (_KIND[kind] << 24) | vlen
    return struct.pack("<III", name_off, info, size_or_type)


def _int_t(name_off: int = 1, size: int = 4, bits: int = 32, signed: bool = True) -> bytes:
    return _t(name_off, "int", 0, size) + struct.pack("<I", ((1 if signed else 0) << 24) | bits)


def btf_blob(types: bytes, strings: bytes) -> bytes:
    """A raw BTF blob (header + type section + string section)."""
    hdr = struct.pack("<HBBIIIII", _BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


# kind -> (types, strings). Type 1 is always "int" named at string offset 1.
_S = b"\0int\0x\0.data\0tag\0e\0s\0"
_STR = {"int": 1, "x": 5, ".data": 7, "tag": 13, "e": 17, "s": 19}
BTF_KIND_BLOBS: dict[str, bytes] = {
    "int": btf_blob(_int_t(), _S),
    "ptr": btf_blob(_int_t() + _t(0, "ptr", 0, 1), _S),
    "array": btf_blob(_int_t() + _t(0, "array") + struct.pack("<III", 1, 1, 4), _S),
    "struct": btf_blob(_int_t() + _t(_STR["s"], "struct", 1, 4) + struct.pack("<III", _STR["x"], 1, 0), _S),
    "union": btf_blob(_int_t() + _t(_STR["s"], "union", 1, 4) + struct.pack("<III", _STR["x"], 1, 0), _S),
    "enum": btf_blob(_int_t() + _t(_STR["e"], "enum", 1, 4) + struct.pack("<Ii", _STR["x"], 1), _S),
    "fwd": btf_blob(_int_t() + _t(_STR["s"], "fwd"), _S),
    "typedef": btf_blob(_int_t() + _t(_STR["x"], "typedef", 0, 1), _S),
    "volatile": btf_blob(_int_t() + _t(0, "volatile", 0, 1), _S),
    "const": btf_blob(_int_t() + _t(0, "const", 0, 1), _S),
    "restrict": btf_blob(_int_t() + _t(0, "ptr", 0, 1) + _t(0, "restrict", 0, 2), _S),
    "func_proto": btf_blob(_int_t() + _t(0, "func_proto", 1, 1) + struct.pack("<II", _STR["x"], 1), _S),
    "func": btf_blob(_int_t() + _t(0, "func_proto", 1, 1) + struct.pack("<II", _STR["x"], 1)
                     + _t(_STR["x"], "func", 0, 2), _S),
    "global_func": btf_blob(_int_t() + _t(0, "func_proto", 1, 1) + struct.pack("<II", _STR["x"], 1)
                            + _t(_STR["x"], "func", 1, 2), _S),
    "var": btf_blob(_int_t() + _t(_STR["x"], "var", 0, 1) + struct.pack("<I", 1), _S),
    "datasec": btf_blob(_int_t() + _t(_STR["x"], "var", 0, 1) + struct.pack("<I", 1)
                        + _t(_STR[".data"], "datasec", 1, 4) + struct.pack("<III", 2, 0, 4), _S),
    "float": btf_blob(_t(_STR["int"], "float", 0, 4), _S),
    "decl_tag": btf_blob(_int_t() + _t(_STR["x"], "var", 0, 1) + struct.pack("<I", 1)
                         + _t(_STR["tag"], "decl_tag", 0, 2) + struct.pack("<i", -1), _S),
    "type_tag": btf_blob(_int_t() + _t(_STR["tag"], "type_tag", 0, 1) + _t(0, "ptr", 0, 2), _S),
    "enum64": btf_blob(_t(_STR["e"], "enum64", 1, 8) + struct.pack("<III", _STR["x"], 0, 1), _S),
}
BTF_KINDS: tuple[str, ...] = tuple(BTF_KIND_BLOBS)

# libbpf's local-storage BTF: struct val { int cnt; struct bpf_spin_lock l; }.
_LOCAL_STORAGE_BTF = btf_blob(
    _int_t(0)                                                        # [1] int
    + _t(1, "struct", 1, 4) + struct.pack("<III", 15, 1, 0)          # [2] bpf_spin_lock
    + _t(15, "struct", 2, 8) + struct.pack("<III", 19, 1, 0)         # [3] struct val
    + struct.pack("<III", 23, 2, 32),
    b"\0bpf_spin_lock\0val\0cnt\0l\0",
)


def _btf_load(data: bytes) -> tuple[int, int]:
    buf = ctypes.create_string_buffer(data, len(data))
    attr = uapi.bpf_attr_btf_load()
    attr.btf = ctypes.addressof(buf)
    attr.btf_size = len(data)
    return bpf_raw(uapi.BPF_BTF_LOAD, attr, attr_size(uapi.bpf_attr_btf_load, "btf_log_level"))


# ---------------------------------------------------------------------------------------------
# Program and map type probes

#: prog type -> load options libbpf uses to probe it.
_PROG_SETUP: dict[int, dict[str, Any]] = {
    P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR: {"expected_attach_type": A.BPF_CGROUP_INET4_CONNECT},
    P.BPF_PROG_TYPE_CGROUP_SOCKOPT: {"expected_attach_type": A.BPF_CGROUP_GETSOCKOPT},
    P.BPF_PROG_TYPE_SK_LOOKUP: {"expected_attach_type": A.BPF_SK_LOOKUP},
    P.BPF_PROG_TYPE_LIRC_MODE2: {"expected_attach_type": A.BPF_LIRC_MODE2},
    P.BPF_PROG_TYPE_NETFILTER: {"expected_attach_type": A.BPF_NETFILTER},
    P.BPF_PROG_TYPE_SYSCALL: {"flags": 1 << 4},  # BPF_F_SLEEPABLE
}

#: BTF-typed program types cannot load without a target; the verifier's complaint about the
#: (bogus) attach_btf_id 1 proves the type exists. prog type -> (setup, expected message).
_PROG_BTF_MSG: dict[int, tuple[dict[str, Any], str]] = {
    P.BPF_PROG_TYPE_TRACING: ({"attach_btf_id": 1}, "attach_btf_id 1 is not a function"),
    P.BPF_PROG_TYPE_LSM: ({"attach_btf_id": 1, "expected_attach_type": A.BPF_LSM_MAC},
                          "attach_btf_id 1 is not a function"),
    P.BPF_PROG_TYPE_EXT: ({"attach_btf_id": 1}, "Cannot replace kernel functions"),
    P.BPF_PROG_TYPE_STRUCT_OPS: ({"attach_btf_id": 1}, "attach_btf_id 1 is not a supported struct"),
}


def _prog_setup(prog_type: int) -> dict[str, Any]:
    if prog_type in _PROG_BTF_MSG:
        return dict(_PROG_BTF_MSG[prog_type][0])
    setup = dict(_PROG_SETUP.get(prog_type, {}))
    if prog_type == P.BPF_PROG_TYPE_KPROBE:
        setup["kern_version"] = _kernel_version_code()
    return setup


_cache: dict[tuple[Any, ...], Any] = {}


def _cached(key: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
    if key not in _cache:
        _cache[key] = fn()
    return _cache[key]


def clear_cache() -> None:
    """Forget every probe result (tests only: the kernel does not change under a process)."""
    _cache.clear()


def _vmlinux_id(name: str, kind: str) -> int | None:
    """The id of a named type in the running kernel's BTF (:func:`pybpf.btf.kernel.kernel_btf`,
    only when needed)."""
    def load() -> Any:
        from pybpf.btf.kernel import kernel_btf

        try:
            return kernel_btf()
        except (OSError, BPFError):
            return None

    btf = _cached(("vmlinux",), load)
    if btf is None:
        return None
    from pybpf.btf import Kind

    ids = btf.find(name, Kind[kind])
    return ids[0] if ids else None


def _load_tracing(attach_type: int, target: str, kind: str) -> bool:
    """Load a BTF-typed tracing program against a real kernel target."""
    tid = _vmlinux_id(target, kind)
    if tid is None:
        return False
    return _loads(P.BPF_PROG_TYPE_TRACING, _RET0, expected_attach_type=attach_type,
                  attach_btf_id=tid)


def probe_prog_type(prog_type: int | str) -> bool:
    """Can programs of this type be loaded? (bpftool ``feature probe``'s method.)

    Tracing programs get a second chance where libbpf's probe (a bogus attach_btf_id) is
    inconclusive: a ``tp_btf`` program against ``sched_switch`` from the kernel's BTF. On
    kernels without ftrace trampolines fentry cannot load but tp_btf and iterators can, and
    this says yes where bpftool says no.
    """
    pt = parse_prog_type(prog_type)

    def run() -> bool:
        setup = _prog_setup(pt)
        want = _PROG_BTF_MSG.get(pt)
        res = _load(pt, _RET0, log=want is not None, **setup)
        if res.fd >= 0:
            _close(res.fd)
            return True
        if want is not None and want[1] in res.log:
            return True
        if pt == P.BPF_PROG_TYPE_TRACING:
            return _load_tracing(A.BPF_TRACE_RAW_TP, "btf_trace_sched_switch", "TYPEDEF")
        return False

    return bool(_cached(("prog", pt), run))


def _map_probe_args(mt: int) -> dict[str, Any] | None:
    page = os.sysconf("SC_PAGE_SIZE")
    args: dict[str, Any] = {"key_size": 4, "value_size": 4, "max_entries": 1}
    if mt == M.BPF_MAP_TYPE_LPM_TRIE:
        args.update(key_size=8, value_size=8, flags=uapi.BPF_F_NO_PREALLOC)
    elif mt == M.BPF_MAP_TYPE_STACK_TRACE:
        args.update(value_size=8)
    elif mt in (M.BPF_MAP_TYPE_SK_STORAGE, M.BPF_MAP_TYPE_INODE_STORAGE,
                M.BPF_MAP_TYPE_TASK_STORAGE, M.BPF_MAP_TYPE_CGRP_STORAGE):
        args.update(value_size=8, max_entries=0, flags=uapi.BPF_F_NO_PREALLOC, btf_key=1,
                    btf_value=3, btf=_LOCAL_STORAGE_BTF)
    elif mt in (M.BPF_MAP_TYPE_QUEUE, M.BPF_MAP_TYPE_STACK, M.BPF_MAP_TYPE_BLOOM_FILTER):
        args.update(key_size=0)
    elif mt in (M.BPF_MAP_TYPE_CGROUP_STORAGE, M.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE):
        args.update(key_size=16, value_size=8, max_entries=0)  # struct bpf_cgroup_storage_key
    elif mt in (M.BPF_MAP_TYPE_RINGBUF, M.BPF_MAP_TYPE_USER_RINGBUF):
        args.update(key_size=0, value_size=0, max_entries=page)
    elif mt == M.BPF_MAP_TYPE_ARENA:
        args.update(key_size=0, value_size=0, max_entries=1, flags=uapi.BPF_F_MMAPABLE)
    elif mt in (M.BPF_MAP_TYPE_ARRAY_OF_MAPS, M.BPF_MAP_TYPE_HASH_OF_MAPS):
        args.update(inner=True)
    elif mt == M.BPF_MAP_TYPE_STRUCT_OPS:
        args.update(btf_vmlinux_value=1)  # a bogus struct: ENOTSUPP proves the map type
    return args


def probe_map_type(map_type: int | str) -> bool:
    """Can maps of this type be created? (libbpf's ``libbpf_probe_bpf_map_type`` method.)"""
    mt = parse_map_type(map_type)

    def run() -> bool:
        args = _map_probe_args(mt)
        assert args is not None
        inner_fd = btf_fd = -1
        try:
            if args.pop("inner", False):
                inner_fd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 4, 1)
                if inner_fd < 0:
                    return False
            blob = args.pop("btf", None)
            if blob is not None:
                btf_fd, _ = _btf_load(blob)
                if btf_fd < 0:
                    return False
            fd, err = _create_map(mt, args["key_size"], args["value_size"], args["max_entries"],
                                  args.get("flags", 0), inner_map_fd=max(inner_fd, 0),
                                  btf_fd=max(btf_fd, 0), btf_key=args.get("btf_key", 0),
                                  btf_value=args.get("btf_value", 0),
                                  btf_vmlinux_value=args.get("btf_vmlinux_value", 0))
            if fd >= 0:
                _close(fd)
                return True
            # struct_ops maps need a kernel struct type: ENOTSUPP for a bogus one means the
            # type itself exists.
            return mt == M.BPF_MAP_TYPE_STRUCT_OPS and err == 524
        finally:
            _close(inner_fd)
            _close(btf_fd)

    return bool(_cached(("map", mt), run))


_UNSUPPORTED_HELPER_MSGS = ("invalid func ", "unknown func ", "program of this type cannot use helper ")


def probe_helper(prog_type: int | str, helper: int | str) -> bool:
    """Can programs of ``prog_type`` call helper ``helper`` (id or ``"bpf_map_lookup_elem"``)?

    libbpf's method: load ``call helper; exit`` and read the verifier's complaint; only
    "unknown/invalid func" and "cannot use helper" mean no.
    """
    pt = parse_prog_type(prog_type)
    hid = _helper_id(helper)
    if pt in _PROG_BTF_MSG:
        raise NotSupportedError(
            f"helpers of {prog_type_name(pt)} programs cannot be probed: such programs only "
            f"load against a BTF target (libbpf refuses the same probe)")

    def run() -> bool:
        if not probe_prog_type(pt):
            return False
        res = _load(pt, _call(hid) + _EXIT, log=True, **_prog_setup(pt))
        if res.fd >= 0:
            _close(res.fd)
            return True
        return not any(msg in res.log for msg in _UNSUPPORTED_HELPER_MSGS)

    return bool(_cached(("helper", pt, hid), run))


def _helper_id(helper: int | str) -> int:
    if isinstance(helper, str):
        name = helper if helper.startswith("BPF_FUNC_") else "BPF_FUNC_" + helper.removeprefix("bpf_")
        member = uapi.bpf_func_id.__members__.get(name)
        if member is None:
            from pybpf.errors import InvalidArgumentError

            raise InvalidArgumentError(f"unknown helper {helper!r}")
        return int(member)
    return int(helper)


def supported_helpers(prog_type: int | str, *, full: bool = False) -> list[str]:
    """Names (``bpf_map_lookup_elem``...) of the helpers ``prog_type`` may call. Without
    ``full``, skips the helpers whose probe writes to the kernel log (as bpftool does)."""
    pt = parse_prog_type(prog_type)
    if pt in _PROG_BTF_MSG:
        return []
    F = uapi.bpf_func_id
    noisy = {F.BPF_FUNC_trace_printk, F.BPF_FUNC_trace_vprintk, F.BPF_FUNC_probe_write_user}
    out = []
    for member in uapi.bpf_func_id:
        if member == 0 or (member in noisy and not full):
            continue
        if probe_helper(pt, int(member)):
            out.append("bpf_" + member.name.removeprefix("BPF_FUNC_"))
    return out


def probe_btf_kind(kind: str) -> bool:
    """Does the kernel accept BTF with this kind (``"int"``, ``"func"``, ``"enum64"``...)?"""
    if kind not in BTF_KIND_BLOBS:
        from pybpf.errors import InvalidArgumentError

        raise InvalidArgumentError(f"unknown BTF kind {kind!r} (known: {', '.join(BTF_KINDS)})")

    def run() -> bool:
        fd, _ = _btf_load(BTF_KIND_BLOBS[kind])
        _close(fd)
        return fd >= 0

    return bool(_cached(("btf", kind), run))


# ---------------------------------------------------------------------------------------------
# Link types: LINK_CREATE with a bad target; a "bad target" errno (not EINVAL for an unknown
# attach/link kind) means the kernel has the link type.

_EBADF, _ENODEV, _EINVAL, _ENOENT = 9, 19, 22, 2

#: link type -> (prog type, attach type, target fd/ifindex, errnos proving support)
_LINK_PROBES: dict[int, tuple[int, int, int, frozenset[int]]] = {
    L.BPF_LINK_TYPE_CGROUP: (P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, -1,
                             frozenset({_EBADF})),
    L.BPF_LINK_TYPE_NETNS: (P.BPF_PROG_TYPE_FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR, -1,
                            frozenset({_EBADF})),
    L.BPF_LINK_TYPE_PERF_EVENT: (P.BPF_PROG_TYPE_TRACEPOINT, A.BPF_PERF_EVENT, -1,
                                 frozenset({_EBADF})),
    L.BPF_LINK_TYPE_TCX: (P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_INGRESS, 0, frozenset({_ENODEV})),
    L.BPF_LINK_TYPE_NETKIT: (P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_NETKIT_PRIMARY, 0,
                             frozenset({_ENODEV})),
    L.BPF_LINK_TYPE_SOCKMAP: (P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT, -1,
                              frozenset({_EBADF})),
}


def probe_link_type(link_type: int | str) -> bool:
    """Does the kernel support ``bpf_link``\\ s of this type?

    cgroup, netns, perf_event, tcx, netkit and sockmap links are probed with ``LINK_CREATE``
    on a bad target (the errno tells "unknown kind" from "bad target"); raw_tracepoint links
    with ``RAW_TRACEPOINT_OPEN`` of a missing tracepoint; iter and tracing links by loading an
    iterator / tp_btf program against a real target from the kernel's BTF; the others (their
    probes would attach something real) by the kernel's own ``enum bpf_link_type`` in its
    BTF-generated :mod:`pybpf.sys.uapi` together with the program type they need.
    """
    lt = parse_link_type(link_type)

    def run() -> bool:
        if lt in _LINK_PROBES:
            pt, at, target, ok = _LINK_PROBES[lt]
            res = _load(pt, _RET0, expected_attach_type=at)
            if res.fd < 0:
                return False
            try:
                attr = uapi.bpf_attr_link_create()
                attr.prog_fd = res.fd
                attr.target_fd = target & 0xFFFFFFFF
                attr.attach_type = at
                fd, err = bpf_raw(uapi.BPF_LINK_CREATE, attr, ctypes.sizeof(attr))
                if fd >= 0:  # pragma: no cover - a bad target should never attach
                    _close(fd)
                    return True
                return err in ok
            finally:
                _close(res.fd)
        if lt == L.BPF_LINK_TYPE_RAW_TRACEPOINT:
            res = _load(P.BPF_PROG_TYPE_RAW_TRACEPOINT, _RET0)
            if res.fd < 0:
                return False
            try:
                name = ctypes.create_string_buffer(b"pybpf_no_such_tracepoint")
                rattr = uapi.bpf_attr_raw_tracepoint()
                rattr.name = ctypes.addressof(name)
                rattr.prog_fd = res.fd
                fd, err = bpf_raw(uapi.BPF_RAW_TRACEPOINT_OPEN, rattr, 12)
                _close(fd)
                return fd >= 0 or err == _ENOENT
            finally:
                _close(res.fd)
        if lt == L.BPF_LINK_TYPE_UNSPEC or lt not in set(int(x) for x in uapi.bpf_link_type):
            return False
        if lt == L.BPF_LINK_TYPE_ITER:
            return _load_tracing(A.BPF_TRACE_ITER, "bpf_iter_bpf_map", "FUNC")
        if lt == L.BPF_LINK_TYPE_TRACING:
            return _load_tracing(A.BPF_TRACE_RAW_TP, "btf_trace_sched_switch", "TYPEDEF")
        needs_prog: int | None = {
            L.BPF_LINK_TYPE_TRACING: P.BPF_PROG_TYPE_TRACING,
            L.BPF_LINK_TYPE_ITER: P.BPF_PROG_TYPE_TRACING,
            L.BPF_LINK_TYPE_XDP: P.BPF_PROG_TYPE_XDP,
            L.BPF_LINK_TYPE_KPROBE_MULTI: P.BPF_PROG_TYPE_KPROBE,
            L.BPF_LINK_TYPE_UPROBE_MULTI: P.BPF_PROG_TYPE_KPROBE,
            L.BPF_LINK_TYPE_STRUCT_OPS: P.BPF_PROG_TYPE_STRUCT_OPS,
            L.BPF_LINK_TYPE_NETFILTER: P.BPF_PROG_TYPE_NETFILTER,
        }.get(lt)
        return needs_prog is None or probe_prog_type(needs_prog)

    return bool(_cached(("link", lt), run))


# ---------------------------------------------------------------------------------------------
# Miscellaneous (bpftool's "misc" section) and capabilities

_BPF_MAXINSNS = 4096


def _misc_large_insn_limit() -> bool:
    insns = _mov64_imm(0, 1) * _BPF_MAXINSNS + _EXIT
    res = _load(P.BPF_PROG_TYPE_SCHED_CLS, insns)
    _close(res.fd)
    return res.fd >= 0


def _loads(prog_type: int, insns: bytes, **kw: Any) -> bool:
    res = _load(prog_type, insns, **kw)
    _close(res.fd)
    return res.fd >= 0


MISC_PROBES: dict[str, Callable[[], bool]] = {
    "large_insn_limit": _misc_large_insn_limit,
    # r0 = 10; r0 -= 1; if r0 != 0 goto -2; exit
    "bounded_loops": lambda: _loads(P.BPF_PROG_TYPE_SOCKET_FILTER,
                                    _mov64_imm(0, 10) + _insn(0x17, 0, 0, 0, 1)
                                    + _insn(0x55, 0, 0, -2, 0) + _EXIT),
    # r0 = 0; if r0 < 1 goto +1; r0 = 1; exit   (JLT: ISA v2)
    "v2_isa_extension": lambda: _loads(P.BPF_PROG_TYPE_SOCKET_FILTER,
                                       _mov64_imm(0, 0) + _insn(0xA5, 0, 0, 1, 1)
                                       + _mov64_imm(0, 1) + _EXIT),
    # r0 = 0; if w0 < 1 goto +1; r0 = 1; exit   (JMP32: ISA v3)
    "v3_isa_extension": lambda: _loads(P.BPF_PROG_TYPE_SOCKET_FILTER,
                                       _mov64_imm(0, 0) + _insn(0xA6, 0, 0, 1, 1)
                                       + _mov64_imm(0, 1) + _EXIT),
    # r0 = 0; if w0 == 1 goto +1; gotol +1; r0 = 1; exit   (JMP32|JA: ISA v4)
    "v4_isa_extension": lambda: _loads(P.BPF_PROG_TYPE_SOCKET_FILTER,
                                       _mov64_imm(0, 0) + _insn(0x16, 0, 0, 1, 1)
                                       + _insn(0x06, 0, 0, 0, 1) + _mov64_imm(0, 1) + _EXIT),
}


def probe_misc(name: str) -> bool:
    """bpftool's misc probes: ``large_insn_limit``, ``bounded_loops``, ``v2/v3/v4_isa_extension``."""
    if name not in MISC_PROBES:
        from pybpf.errors import InvalidArgumentError

        raise InvalidArgumentError(f"unknown misc probe {name!r} (known: {', '.join(MISC_PROBES)})")
    return bool(_cached(("misc", name), MISC_PROBES[name]))


def _cap_global_data() -> bool:
    fd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 32, 1)
    if fd < 0:
        return False
    try:
        # r1 = map_value(fd) + 16; *(u64 *)(r1 + 0) = 42; r0 = 0; exit
        insns = (_insn(0x18, 1, 2, 0, fd) + _insn(0, 0, 0, 0, 16)
                 + _insn(0x7A, 1, 0, 0, 42) + _RET0)
        return _loads(P.BPF_PROG_TYPE_SOCKET_FILTER, insns)
    finally:
        _close(fd)


def _cap_batch_ops() -> bool:
    fd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 4, 1)
    if fd < 0:
        return False
    try:
        keys = ctypes.create_string_buffer(4)
        values = ctypes.create_string_buffer(4)
        out = ctypes.create_string_buffer(8)
        attr = uapi.bpf_attr_batch()
        attr.map_fd = fd
        attr.keys = ctypes.addressof(keys)
        attr.values = ctypes.addressof(values)
        attr.out_batch = ctypes.addressof(out)
        attr.count = 1
        ret, err = bpf_raw(uapi.BPF_MAP_LOOKUP_BATCH, attr, ctypes.sizeof(attr))
        return ret >= 0 or err == _ENOENT
    finally:
        _close(fd)


def _cap_mmapable_array() -> bool:
    fd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 4, 1, uapi.BPF_F_MMAPABLE)
    _close(fd)
    return fd >= 0


def _cap_enable_stats() -> bool:
    attr = uapi.bpf_attr_enable_stats()
    attr.type = uapi.BPF_STATS_RUN_TIME
    fd, _ = bpf_raw(uapi.BPF_ENABLE_STATS, attr, ctypes.sizeof(attr))
    _close(fd)
    return fd >= 0


def _cap_prog_bind_map() -> bool:
    mfd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 4, 1)
    res = _load(P.BPF_PROG_TYPE_SOCKET_FILTER, _RET0)
    try:
        if mfd < 0 or res.fd < 0:
            return False
        attr = uapi.bpf_attr_prog_bind_map()
        attr.prog_fd = res.fd
        attr.map_fd = mfd
        ret, _ = bpf_raw(uapi.BPF_PROG_BIND_MAP, attr, ctypes.sizeof(attr))
        return ret >= 0
    finally:
        _close(mfd)
        _close(res.fd)


def _cap_fd_array() -> bool:
    mfd, _ = _create_map(M.BPF_MAP_TYPE_ARRAY, 4, 4, 1)
    if mfd < 0:
        return False
    try:
        # r1 = map by index 0 (BPF_PSEUDO_MAP_IDX); r0 = 0; exit
        insns = _insn(0x18, 1, 5, 0, 0) + _insn(0) + _RET0
        return _loads(P.BPF_PROG_TYPE_SOCKET_FILTER, insns, fd_array=[mfd])
    finally:
        _close(mfd)


def _cap_lookup_and_delete_hash() -> bool:
    fd, _ = _create_map(M.BPF_MAP_TYPE_HASH, 4, 4, 1)
    if fd < 0:
        return False
    try:
        key = ctypes.create_string_buffer(4)
        value = ctypes.create_string_buffer(4)
        attr = uapi.bpf_attr_map_elem()
        attr.map_fd = fd
        attr.key = ctypes.addressof(key)
        attr.value = ctypes.addressof(value)
        ret, err = bpf_raw(uapi.BPF_MAP_LOOKUP_AND_DELETE_ELEM, attr, ctypes.sizeof(attr))
        return ret >= 0 or err == _ENOENT
    finally:
        _close(fd)


def _cap_log_true_size() -> bool:
    ibuf = ctypes.create_string_buffer(_EXIT, 8)
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(64)
    attr = uapi.bpf_attr_prog_load()
    attr.prog_type = P.BPF_PROG_TYPE_SOCKET_FILTER
    attr.insn_cnt = 1
    attr.insns = ctypes.addressof(ibuf)
    attr.license = ctypes.addressof(lic)
    attr.log_level = 1
    attr.log_size = len(log)
    attr.log_buf = ctypes.addressof(log)
    fd, _ = bpf_raw(uapi.BPF_PROG_LOAD, attr, attr_size(uapi.bpf_attr_prog_load, "log_true_size"))
    _close(fd)
    return attr.log_true_size > 0


#: capability name -> probe.
CAPABILITIES: dict[str, Callable[[], bool]] = {
    "prog_name": lambda: _loads(P.BPF_PROG_TYPE_SOCKET_FILTER, _RET0, name=b"pybpf_probe"),
    "global_data": _cap_global_data,
    "mmapable_array": _cap_mmapable_array,
    "batch_ops": _cap_batch_ops,
    "ringbuf": lambda: probe_map_type(M.BPF_MAP_TYPE_RINGBUF),
    "bloom_filter": lambda: probe_map_type(M.BPF_MAP_TYPE_BLOOM_FILTER),
    "enable_stats": _cap_enable_stats,
    "prog_bind_map": _cap_prog_bind_map,
    "memcg_account": kernel_uses_memcg,
    "bpf_cookie": lambda: _loads(P.BPF_PROG_TYPE_TRACEPOINT,
                                 _call(uapi.bpf_func_id.BPF_FUNC_get_attach_cookie) + _EXIT),
    "perf_link": lambda: probe_link_type(L.BPF_LINK_TYPE_PERF_EVENT),
    "fd_array": _cap_fd_array,
    "lookup_and_delete_hash": _cap_lookup_and_delete_hash,
    "log_true_size": _cap_log_true_size,
}
for _kind in BTF_KINDS:
    CAPABILITIES[f"btf_{_kind}"] = functools.partial(probe_btf_kind, _kind)
for _value in dict.fromkeys(v for _, v in uapi.enum_members("bpf_link_type")):  # no aliases, as the enum
    if _value != L.BPF_LINK_TYPE_UNSPEC:
        CAPABILITIES[f"link_{link_type_name(_value)}"] = functools.partial(probe_link_type, _value)


def probe_capability(name: str) -> bool:
    """One of :data:`CAPABILITIES`: ``ringbuf``, ``mmapable_array``, ``btf_<kind>``,
    ``link_<type>``, ``batch_ops``, ``global_data``, ``bpf_cookie``, ``memcg_account``..."""
    if name not in CAPABILITIES:
        from pybpf.errors import InvalidArgumentError

        raise InvalidArgumentError(f"unknown capability {name!r} (known: {', '.join(CAPABILITIES)})")
    return bool(_cached(("cap", name), CAPABILITIES[name]))


def _requirement_for_cap(name: str) -> Requirement | None:
    if name.startswith("btf_"):
        return requirement("btf", name[4:])
    if name.startswith("link_"):
        try:
            return requirement("link", parse_link_type(name[5:]))
        except BPFError:
            return None
    return requirement("cap", name)


# ---------------------------------------------------------------------------------------------
# Turning failures into explanations


def explain_map_create_failure(err: int, map_type: int) -> str | None:
    """A hint for a failed ``BPF_MAP_CREATE`` when the map type itself is the problem."""
    if err not in (_EINVAL, 95, 524):
        return None
    try:
        if probe_map_type(map_type):
            return None
    except BPFError:
        return None
    req = requirement("map", map_type)
    name = map_type_name(map_type)
    if map_type not in set(int(x) for x in uapi.bpf_map_type):
        return f"map type {map_type} is unknown to pybpf and this kernel"
    return f"map type {name} is not supported by this kernel" + (f" ({req})" if req else "")


def explain_prog_load_failure(err: int, prog_type: int, attach_type: int = 0) -> str | None:
    """A hint for a failed ``BPF_PROG_LOAD`` when the program type itself is the problem, or
    when the kernel cannot attach BTF-typed tracing programs."""
    if prog_type not in set(int(x) for x in uapi.bpf_prog_type):
        return f"program type {prog_type} is unknown to pybpf and this kernel"
    if err == _EINVAL and not probe_prog_type(prog_type):
        req = requirement("prog", prog_type)
        return (f"program type {prog_type_name(prog_type)} is not supported by this kernel"
                + (f" ({req})" if req else ""))
    if err in (1, 524) and prog_type in (P.BPF_PROG_TYPE_TRACING, P.BPF_PROG_TYPE_LSM,
                                         P.BPF_PROG_TYPE_EXT):
        return ("this kernel cannot attach trampolines (fentry/fexit/lsm/freplace need "
                "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS and ftrace-patchable functions)")
    return None


# ---------------------------------------------------------------------------------------------
# System configuration (bpftool feature probe's first section)

#: The kernel options bpftool reports, in its order.
CONFIG_OPTIONS: tuple[str, ...] = (
    "CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_HAVE_EBPF_JIT", "CONFIG_BPF_JIT",
    "CONFIG_BPF_JIT_ALWAYS_ON", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEBUG_INFO_BTF_MODULES",
    "CONFIG_CGROUPS", "CONFIG_CGROUP_BPF", "CONFIG_CGROUP_NET_CLASSID",
    "CONFIG_SOCK_CGROUP_DATA", "CONFIG_BPF_EVENTS", "CONFIG_KPROBE_EVENTS",
    "CONFIG_UPROBE_EVENTS", "CONFIG_TRACING", "CONFIG_FTRACE_SYSCALLS",
    "CONFIG_FUNCTION_ERROR_INJECTION", "CONFIG_BPF_KPROBE_OVERRIDE", "CONFIG_NET",
    "CONFIG_XDP_SOCKETS", "CONFIG_LWTUNNEL_BPF", "CONFIG_NET_ACT_BPF", "CONFIG_NET_CLS_BPF",
    "CONFIG_NET_CLS_ACT", "CONFIG_NET_SCH_INGRESS", "CONFIG_XFRM", "CONFIG_IP_ROUTE_CLASSID",
    "CONFIG_IPV6_SEG6_BPF", "CONFIG_BPF_LIRC_MODE2", "CONFIG_BPF_STREAM_PARSER",
    "CONFIG_NETFILTER_XT_MATCH_BPF", "CONFIG_BPFILTER", "CONFIG_BPFILTER_UMH", "CONFIG_TEST_BPF",
    "CONFIG_HZ",
)


def kernel_config() -> dict[str, str] | None:
    """The running kernel's configuration from /proc/config.gz or /boot/config-$(uname -r)
    (None when neither is readable)."""
    paths = ["/proc/config.gz", f"/boot/config-{os.uname().release}"]
    for path in paths:
        try:
            if path.endswith(".gz"):
                import gzip

                opener: Any = gzip.open
            else:
                opener = open
            with opener(path, "rt") as f:
                text = f.read()
        except OSError:
            continue
        out: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                k, _, v = line.partition("=")
                out[k] = v.strip('"')
        return out
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


#: sysctl -> /proc path, in bpftool's order.
SYSCTLS: dict[str, str] = {
    "unprivileged_bpf_disabled": "/proc/sys/kernel/unprivileged_bpf_disabled",
    "bpf_jit_enable": "/proc/sys/net/core/bpf_jit_enable",
    "bpf_jit_harden": "/proc/sys/net/core/bpf_jit_harden",
    "bpf_jit_kallsyms": "/proc/sys/net/core/bpf_jit_kallsyms",
    "bpf_jit_limit": "/proc/sys/net/core/bpf_jit_limit",
}


def system_config() -> dict[str, Any]:
    """The BPF sysctls and kernel options bpftool's ``feature probe`` reports (values are
    ints for sysctls, the option's value or None when unset)."""
    out: dict[str, Any] = {name: _read_int(path) for name, path in SYSCTLS.items()}
    cfg = kernel_config()
    for opt in CONFIG_OPTIONS:
        out[opt] = cfg.get(opt) if cfg is not None else None
    return out
