"""Output lines of the tools' formatters against C's printf with the C tools' format strings.

Oracle: tests/tools/format_oracle.c (built with clang-19 for the host) prints headers and event
lines with libbpf-tools 0.26's printf formats and print_args() walk; both sides get the same
synthetic events, laid out by ctypes (C's layout rules, independent of the struct formats the
tools decode with).
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.tools import execsnoop, opensnoop

HERE = os.path.dirname(os.path.abspath(__file__))


class ExecEvent(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_int), ("ppid", ctypes.c_int), ("uid", ctypes.c_uint),
                ("retval", ctypes.c_int), ("args_count", ctypes.c_int), ("args_size", ctypes.c_uint),
                ("comm", ctypes.c_char * 16), ("args", ctypes.c_char * (60 * 128))]


class OpenEvent(ctypes.Structure):
    _fields_ = [("ts", ctypes.c_uint64), ("pid", ctypes.c_int), ("uid", ctypes.c_uint),
                ("ret", ctypes.c_int), ("flags", ctypes.c_int), ("mode", ctypes.c_uint),
                ("comm", ctypes.c_char * 16), ("fname", ctypes.c_char * 255)]


OPT_TIME, OPT_TIMESTAMP, OPT_UID, OPT_QUOTE, OPT_EXT = 1, 2, 4, 8, 16


@pytest.fixture(scope="session")
def format_oracle(tmp_path_factory):
    from tests.conftest import skip_or_fail, tool_unavailable_reason

    reason = tool_unavailable_reason("clang-19")
    if reason:
        skip_or_fail(reason)
    exe = tmp_path_factory.mktemp("fmt") / "format_oracle"
    proc = subprocess.run(["clang-19", "-O1", "-Wall", "-Werror", "-o", str(exe),
                           os.path.join(HERE, "format_oracle.c")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(exe)


def oracle(exe: str, records: list[tuple[int, int, int, str, float, bytes]]) -> bytes:
    data = b"".join(struct.pack("=IIi9sdI", kind, opts, max_args, ts.encode(), elapsed, len(ev)) + ev
                    for kind, opts, max_args, ts, elapsed, ev in records)
    proc = subprocess.run([exe], input=data, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _raw(ev: ctypes.Structure, length: int | None = None) -> bytes:
    data = bytes(ev)
    return data if length is None else data[:length]


# --------------------------------------------------------------------------- strategies
_ints = st.integers(-(1 << 31), (1 << 31) - 1)
_comm = st.binary(max_size=15).map(lambda b: b.replace(b"\0", b"x"))
_arg = st.one_of(st.binary(max_size=20), st.sampled_from([b"", b'a"b', b"t\tab", b"n\nl", b"x y"]))


@st.composite
def exec_events(draw):
    args = draw(st.lists(_arg.map(lambda a: a.replace(b"\0", b"_")), max_size=25))
    blob = b"".join(a + b"\0" for a in args)
    if draw(st.booleans()):
        blob += draw(st.binary(min_size=1, max_size=10)).replace(b"\0", b"-")   # cut short
    blob = blob[:60 * 128]
    ev = ExecEvent(pid=draw(_ints), ppid=draw(_ints), uid=draw(st.integers(0, (1 << 32) - 1)),
                   retval=draw(_ints), comm=draw(_comm))
    ev.args_count = draw(st.one_of(st.just(len(args)), st.integers(0, 62)))
    ev.args_size = len(blob)
    ctypes.memmove(ctypes.addressof(ev) + ExecEvent.args.offset, blob, len(blob))
    return ev


@st.composite
def open_events(draw):
    ev = OpenEvent(ts=draw(st.integers(0, (1 << 64) - 1)), pid=draw(_ints),
                   uid=draw(st.integers(0, (1 << 32) - 1)),
                   ret=draw(st.one_of(_ints, st.integers(-200, 200))), flags=draw(_ints),
                   mode=draw(st.integers(0, (1 << 32) - 1)), comm=draw(_comm),
                   fname=draw(st.binary(max_size=254).map(lambda b: b.replace(b"\0", b"/"))))
    return ev


_times = st.tuples(st.sampled_from(["00:00:00", "23:59:59", "12:34:56"]),
                   st.floats(0, 1e7, allow_nan=False))
_settings = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow,
                                                             HealthCheck.data_too_large])


@_settings
@given(events=st.lists(st.tuples(exec_events(), _times), min_size=1, max_size=20),
       opts=st.integers(0, 15), max_args=st.integers(1, 60))
def test_execsnoop_lines_match_printf(format_oracle, events, opts, max_args):
    cfg = execsnoop.Config(time=bool(opts & OPT_TIME), timestamp=bool(opts & OPT_TIMESTAMP),
                           print_uid=bool(opts & OPT_UID), quote=bool(opts & OPT_QUOTE), max_args=max_args)
    records = [(0, opts, max_args, "", 0.0, b"")]
    ours = [execsnoop.header(cfg)]
    for ev, (ts, elapsed) in events:
        # the event as the BPF program sends it: the header and the used part of args
        raw = _raw(ev, ExecEvent.args.offset + ev.args_size)
        records.append((1, opts, max_args, ts, elapsed, raw))
        fmt = execsnoop.Formatter(cfg, start=0.0, clock=lambda e=elapsed: e, wallclock=lambda t=ts: t)
        line = fmt(raw)
        assert line is not None
        ours.append(line)
    assert b"".join(ours) == oracle(format_oracle, records)


@_settings
@given(events=st.lists(st.tuples(open_events(), _times), min_size=1, max_size=20),
       opts=st.sampled_from([0, OPT_TIMESTAMP, OPT_UID, OPT_EXT, OPT_TIMESTAMP | OPT_UID | OPT_EXT]))
def test_opensnoop_lines_match_printf(format_oracle, events, opts):
    cfg = opensnoop.Config(timestamp=bool(opts & OPT_TIMESTAMP), print_uid=bool(opts & OPT_UID),
                           extended=bool(opts & OPT_EXT))
    records = [(2, opts, 0, "", 0.0, b"")]
    ours = [opensnoop.header(cfg)]
    for ev, (ts, _) in events:
        raw = _raw(ev)
        records.append((3, opts, 0, ts, 0.0, raw))
        line = opensnoop.Formatter(cfg, wallclock=lambda t=ts: t)(raw)
        assert line is not None
        ours.append(line)
    assert b"".join(ours) == oracle(format_oracle, records)


def test_event_sizes_match_c_layout():
    assert execsnoop.ARGS_OFFSET == ExecEvent.args.offset
    assert opensnoop.EVENT.size <= ctypes.sizeof(OpenEvent)
    assert opensnoop.EVENT.size == OpenEvent.fname.offset + 255


# --------------------------------------------------------------------------- filters
def _exec_event(comm: bytes, args: list[bytes]) -> bytes:
    blob = b"".join(a + b"\0" for a in args)
    ev = ExecEvent(pid=1, ppid=2, uid=0, retval=0, comm=comm, args_count=len(args), args_size=len(blob))
    ctypes.memmove(ctypes.addressof(ev) + ExecEvent.args.offset, blob, len(blob))
    return _raw(ev, ExecEvent.args.offset + len(blob))


def test_execsnoop_name_filter_is_a_substring_of_comm():
    raw = _exec_event(b"bash", [b"/bin/bash", b"-c", b"true"])
    assert execsnoop.Formatter(execsnoop.Config(name=b"as"))(raw) is not None
    assert execsnoop.Formatter(execsnoop.Config(name=b"true"))(raw) is None


def test_execsnoop_line_filter_matches_the_arguments():
    raw = _exec_event(b"bash", [b"/bin/bash", b"-c", b"tpkg --x"])
    assert execsnoop.Formatter(execsnoop.Config(line=b"tpkg"))(raw) is not None
    assert execsnoop.Formatter(execsnoop.Config(line=b"-c tpkg"))(raw) is not None
    assert execsnoop.Formatter(execsnoop.Config(line=b"zzz"))(raw) is None


def test_opensnoop_name_filter_is_a_substring_of_comm():
    raw = _raw(OpenEvent(pid=1, comm=b"python3", fname=b"/etc/passwd"))
    assert opensnoop.Formatter(opensnoop.Config(name=b"yth"))(raw) is not None
    assert opensnoop.Formatter(opensnoop.Config(name=b"passwd"))(raw) is None
