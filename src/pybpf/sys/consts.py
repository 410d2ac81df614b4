"""UAPI constants that are ``#define``s in C and so are not in the kernel's BTF.

Everything that is an enum in the UAPI headers is generated into :mod:`pybpf.sys.uapi` from
BTF instead; this table holds the rest (program-load flags, attach flags, test-run flags,
pseudo source registers, name lengths, perf_event ioctls and flags). The values are stable ABI;
tests compare them with the installed C headers.
"""

from __future__ import annotations

import os

__all__ = [
    # sizes
    "BPF_OBJ_NAME_LEN", "BPF_TAG_SIZE", "BPF_BUILD_ID_SIZE", "XDP_PACKET_HEADROOM",
    # BPF_PROG_ATTACH / LINK_CREATE flags
    "BPF_F_ALLOW_OVERRIDE", "BPF_F_ALLOW_MULTI", "BPF_F_REPLACE", "BPF_F_BEFORE",
    "BPF_F_AFTER", "BPF_F_ID",
    # BPF_PROG_LOAD prog_flags
    "BPF_F_STRICT_ALIGNMENT", "BPF_F_ANY_ALIGNMENT", "BPF_F_TEST_RND_HI32",
    "BPF_F_TEST_STATE_FREQ", "BPF_F_SLEEPABLE", "BPF_F_XDP_HAS_FRAGS",
    "BPF_F_XDP_DEV_BOUND_ONLY", "BPF_F_TEST_REG_INVARIANTS", "PROG_LOAD_FLAGS",
    # query / test_run / netfilter
    "BPF_F_QUERY_EFFECTIVE", "BPF_F_TEST_RUN_ON_CPU", "BPF_F_TEST_XDP_LIVE_FRAMES",
    "BPF_F_TEST_SKB_CHECKSUM_COMPLETE", "BPF_F_NETFILTER_IP_DEFRAG",
    # pseudo source registers
    "BPF_PSEUDO_MAP_FD", "BPF_PSEUDO_MAP_IDX", "BPF_PSEUDO_MAP_VALUE",
    "BPF_PSEUDO_MAP_IDX_VALUE", "BPF_PSEUDO_BTF_ID", "BPF_PSEUDO_FUNC", "BPF_PSEUDO_CALL",
    "BPF_PSEUDO_KFUNC_CALL",
    # log levels
    "BPF_LOG_LEVEL1", "BPF_LOG_LEVEL2", "BPF_LOG_STATS",
    # perf_event
    "PERF_FLAG_FD_NO_GROUP", "PERF_FLAG_FD_OUTPUT", "PERF_FLAG_PID_CGROUP",
    "PERF_FLAG_FD_CLOEXEC", "ioc", "PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_DISABLE",
    "PERF_EVENT_IOC_REFRESH", "PERF_EVENT_IOC_RESET", "PERF_EVENT_IOC_PERIOD",
    "PERF_EVENT_IOC_SET_OUTPUT", "PERF_EVENT_IOC_SET_FILTER", "PERF_EVENT_IOC_ID",
    "PERF_EVENT_IOC_SET_BPF", "PERF_EVENT_IOC_PAUSE_OUTPUT", "PERF_EVENT_IOC_QUERY_BPF",
    "PERF_EVENT_IOC_MODIFY_ATTRIBUTES",
]

BPF_OBJ_NAME_LEN = 16
BPF_TAG_SIZE = 8
BPF_BUILD_ID_SIZE = 20
XDP_PACKET_HEADROOM = 256

BPF_F_ALLOW_OVERRIDE = 1 << 0
BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2
BPF_F_BEFORE = 1 << 3
BPF_F_AFTER = 1 << 4
BPF_F_ID = 1 << 5

BPF_F_STRICT_ALIGNMENT = 1 << 0
BPF_F_ANY_ALIGNMENT = 1 << 1
BPF_F_TEST_RND_HI32 = 1 << 2
BPF_F_TEST_STATE_FREQ = 1 << 3
BPF_F_SLEEPABLE = 1 << 4
BPF_F_XDP_HAS_FRAGS = 1 << 5
BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6
BPF_F_TEST_REG_INVARIANTS = 1 << 7

#: name -> bit of every program-load flag above (for messages and ``Program.load(flags=...)``).
PROG_LOAD_FLAGS: dict[str, int] = {
    "BPF_F_STRICT_ALIGNMENT": BPF_F_STRICT_ALIGNMENT,
    "BPF_F_ANY_ALIGNMENT": BPF_F_ANY_ALIGNMENT,
    "BPF_F_TEST_RND_HI32": BPF_F_TEST_RND_HI32,
    "BPF_F_TEST_STATE_FREQ": BPF_F_TEST_STATE_FREQ,
    "BPF_F_SLEEPABLE": BPF_F_SLEEPABLE,
    "BPF_F_XDP_HAS_FRAGS": BPF_F_XDP_HAS_FRAGS,
    "BPF_F_XDP_DEV_BOUND_ONLY": BPF_F_XDP_DEV_BOUND_ONLY,
    "BPF_F_TEST_REG_INVARIANTS": BPF_F_TEST_REG_INVARIANTS,
}

BPF_F_QUERY_EFFECTIVE = 1 << 0
BPF_F_TEST_RUN_ON_CPU = 1 << 0
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2
BPF_F_NETFILTER_IP_DEFRAG = 1 << 0

BPF_PSEUDO_MAP_FD = 1
BPF_PSEUDO_MAP_IDX = 5
BPF_PSEUDO_MAP_VALUE = 2
BPF_PSEUDO_MAP_IDX_VALUE = 6
BPF_PSEUDO_BTF_ID = 3
BPF_PSEUDO_FUNC = 4
BPF_PSEUDO_CALL = 1
BPF_PSEUDO_KFUNC_CALL = 2

# log_level bits of BPF_PROG_LOAD / BTF_LOAD (include/linux/bpf_verifier.h).
BPF_LOG_LEVEL1 = 1
BPF_LOG_LEVEL2 = 2
BPF_LOG_STATS = 4

PERF_FLAG_FD_NO_GROUP = 1 << 0
PERF_FLAG_FD_OUTPUT = 1 << 1
PERF_FLAG_PID_CGROUP = 1 << 2
PERF_FLAG_FD_CLOEXEC = 1 << 3

# ioctl number encoding: (direction bits, size bits) differ on powerpc and mips.
_IOC_NONE, _IOC_WRITE, _IOC_READ, _IOC_SIZEBITS = (
    (1, 4, 2, 13) if os.uname().machine.startswith(("ppc", "powerpc", "mips")) else (0, 1, 2, 14))


def ioc(direction: str, type_char: str, nr: int, size: int) -> int:
    """Linux's ``_IOC``: ``direction`` is "", "w", "r" or "rw" (``_IO``/``_IOW``/``_IOR``/``_IOWR``)."""
    d = {"": _IOC_NONE, "w": _IOC_WRITE, "r": _IOC_READ, "rw": _IOC_READ | _IOC_WRITE}[direction]
    return (d << (8 + 8 + _IOC_SIZEBITS)) | (size << 16) | (ord(type_char) << 8) | nr


PERF_EVENT_IOC_ENABLE = ioc("", "$", 0, 0)
PERF_EVENT_IOC_DISABLE = ioc("", "$", 1, 0)
PERF_EVENT_IOC_REFRESH = ioc("", "$", 2, 0)
PERF_EVENT_IOC_RESET = ioc("", "$", 3, 0)
PERF_EVENT_IOC_PERIOD = ioc("w", "$", 4, 8)
PERF_EVENT_IOC_SET_OUTPUT = ioc("", "$", 5, 0)
PERF_EVENT_IOC_SET_FILTER = ioc("w", "$", 6, 8)
PERF_EVENT_IOC_ID = ioc("r", "$", 7, 8)
PERF_EVENT_IOC_SET_BPF = ioc("w", "$", 8, 4)
PERF_EVENT_IOC_PAUSE_OUTPUT = ioc("w", "$", 9, 4)
PERF_EVENT_IOC_QUERY_BPF = ioc("rw", "$", 10, 8)
PERF_EVENT_IOC_MODIFY_ATTRIBUTES = ioc("w", "$", 11, 8)
