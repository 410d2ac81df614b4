"""``ProgramInfo``: what the kernel reports about a loaded program."""

from __future__ import annotations

import ctypes
import time
from typing import Any

from pybpf.sys import uapi
from pybpf.sys.commands import get_info
from pybpf.sys.fdinfo import read_fdinfo
from pybpf.sys.names import prog_type_name
from pybpf.record import Record, field_spec

__all__ = ["ProgramInfo", "query_prog_info", "query_prog_map_ids", "boot_to_wallclock"]


class ProgramInfo(Record):
    """A snapshot of ``struct bpf_prog_info`` (field names as in C), with the arrays the kernel
    can return already fetched: ``xlated_insns`` and ``jited_insns`` as raw bytes,
    ``map_ids``, ``jited_ksyms``, ``jited_func_lens``, ``func_info``/``line_info`` records as
    raw bytes. ``memlock`` comes from fdinfo. ``run_time_ns``/``run_cnt`` count only while
    statistics are enabled (:func:`pybpf.programs.enable_stats`)."""

    type: int
    id: int
    tag: bytes
    name: str
    jited_prog_len: int = 0
    xlated_prog_len: int = 0
    load_time: int = 0
    created_by_uid: int = 0
    map_ids: tuple[int, ...] = ()
    ifindex: int = 0
    gpl_compatible: bool = False
    netns_dev: int = 0
    netns_ino: int = 0
    btf_id: int = 0
    func_info_rec_size: int = 0
    func_info: bytes = b""
    line_info_rec_size: int = 0
    line_info: bytes = b""
    jited_line_info: tuple[int, ...] = ()
    jited_ksyms: tuple[int, ...] = ()
    jited_func_lens: tuple[int, ...] = ()
    prog_tags: tuple[bytes, ...] = ()
    run_time_ns: int = 0
    run_cnt: int = 0
    recursion_misses: int = 0
    verified_insns: int = 0
    attach_btf_obj_id: int = 0
    attach_btf_id: int = 0
    xlated_insns: bytes = b""
    jited_insns: bytes = b""
    memlock: int | None = None
    extra: dict[str, str] = field_spec(default_factory=dict, compare=False, repr=False)

    @property
    def type_name(self) -> str:
        """bpftool's name of the type (``"xdp"``, ``"socket_filter"``...)."""
        return prog_type_name(self.type)

    @property
    def tag_hex(self) -> str:
        """The tag as bpftool prints it (16 hex digits)."""
        return self.tag.hex()

    @property
    def jited(self) -> bool:
        return self.jited_prog_len > 0

    @property
    def loaded_at(self) -> float:
        """Load time as a Unix timestamp (the kernel records it since boot)."""
        return boot_to_wallclock(self.load_time)


def boot_to_wallclock(boot_ns: int) -> float:
    """Seconds since the epoch for a CLOCK_BOOTTIME timestamp in nanoseconds (as bpftool)."""
    real = time.clock_gettime_ns(time.CLOCK_REALTIME)
    boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return (real - boot + boot_ns) / 1e9


def _array(ctype: Any, n: int) -> Any:
    return (ctype * max(n, 1))()


def query_prog_info(fd: int, what: str = "program", arrays: bool = True) -> ProgramInfo:
    """Ask the kernel about the program behind ``fd``; with ``arrays`` also fetch the
    instructions, map ids, symbols and BTF line/func records (a second call)."""
    first = get_info(fd, uapi.bpf_prog_info(), what)
    raw = first
    bufs: dict[str, ctypes.Array] = {}  # type: ignore[type-arg]
    if arrays:
        second = uapi.bpf_prog_info()
        plan = [
            ("map_ids", "nr_map_ids", ctypes.c_uint32, first.nr_map_ids),
            ("xlated_prog_insns", "xlated_prog_len", ctypes.c_char, first.xlated_prog_len),
            ("jited_prog_insns", "jited_prog_len", ctypes.c_char, first.jited_prog_len),
            ("jited_ksyms", "nr_jited_ksyms", ctypes.c_uint64, first.nr_jited_ksyms),
            ("jited_func_lens", "nr_jited_func_lens", ctypes.c_uint32, first.nr_jited_func_lens),
            ("func_info", "nr_func_info", ctypes.c_char,
             first.nr_func_info * first.func_info_rec_size),
            ("line_info", "nr_line_info", ctypes.c_char,
             first.nr_line_info * first.line_info_rec_size),
            ("jited_line_info", "nr_jited_line_info", ctypes.c_uint64, first.nr_jited_line_info),
            ("prog_tags", "nr_prog_tags", ctypes.c_char, first.nr_prog_tags * 8),
        ]
        for ptr_field, count_field, ctype, nbytes_or_count in plan:
            if not nbytes_or_count:
                continue
            buf = _array(ctype, nbytes_or_count)
            bufs[ptr_field] = buf
            setattr(second, ptr_field, ctypes.addressof(buf))
            setattr(second, count_field, getattr(first, count_field))
        second.func_info_rec_size = first.func_info_rec_size
        second.line_info_rec_size = first.line_info_rec_size
        second.jited_line_info_rec_size = first.jited_line_info_rec_size
        if bufs:
            raw = get_info(fd, second, what)

    def ints(name: str, count_field: str) -> tuple[int, ...]:
        buf = bufs.get(name)
        return tuple(buf[: getattr(raw, count_field)]) if buf is not None else ()

    def blob(name: str, nbytes: int) -> bytes:
        buf = bufs.get(name)
        return bytes(buf)[:nbytes] if buf is not None else b""

    tags_raw = blob("prog_tags", raw.nr_prog_tags * 8)
    fdinfo = read_fdinfo(fd)
    memlock = fdinfo.get("memlock")
    try:
        prog_type = uapi.bpf_prog_type(raw.type)
    except ValueError:
        prog_type = raw.type
    return ProgramInfo(
        type=prog_type,
        id=raw.id,
        tag=bytes(raw.tag),
        name=raw.name.decode("utf-8", "replace"),
        jited_prog_len=first.jited_prog_len,
        xlated_prog_len=first.xlated_prog_len,
        load_time=raw.load_time,
        created_by_uid=raw.created_by_uid,
        map_ids=ints("map_ids", "nr_map_ids"),
        ifindex=raw.ifindex,
        gpl_compatible=bool(raw.gpl_compatible),
        netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino,
        btf_id=raw.btf_id,
        func_info_rec_size=raw.func_info_rec_size,
        func_info=blob("func_info", raw.nr_func_info * raw.func_info_rec_size),
        line_info_rec_size=raw.line_info_rec_size,
        line_info=blob("line_info", raw.nr_line_info * raw.line_info_rec_size),
        jited_line_info=ints("jited_line_info", "nr_jited_line_info"),
        jited_ksyms=ints("jited_ksyms", "nr_jited_ksyms"),
        jited_func_lens=ints("jited_func_lens", "nr_jited_func_lens"),
        prog_tags=tuple(tags_raw[i:i + 8] for i in range(0, len(tags_raw), 8)),
        run_time_ns=raw.run_time_ns,
        run_cnt=raw.run_cnt,
        recursion_misses=raw.recursion_misses,
        verified_insns=raw.verified_insns,
        attach_btf_obj_id=raw.attach_btf_obj_id,
        attach_btf_id=raw.attach_btf_id,
        xlated_insns=blob("xlated_prog_insns", first.xlated_prog_len),
        jited_insns=blob("jited_prog_insns", first.jited_prog_len),
        memlock=int(memlock) if memlock and memlock.isdigit() else None,
        extra=fdinfo,
    )


def query_prog_map_ids(fd: int, what: str = "program") -> tuple[int, ...]:
    """Only the ids of the maps the program uses (cheaper than a full :func:`query_prog_info`)."""
    first = get_info(fd, uapi.bpf_prog_info(), what)
    n = first.nr_map_ids
    if not n:
        return ()
    ids = (ctypes.c_uint32 * n)()
    second = uapi.bpf_prog_info()
    second.nr_map_ids = n
    second.map_ids = ctypes.addressof(ids)
    get_info(fd, second, what)
    return tuple(ids[: min(n, second.nr_map_ids)])
