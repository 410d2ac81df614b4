"""``Program``: a loaded BPF program, from raw instructions or opened by pin, id or descriptor.

Loading follows libbpf's verifier-log protocol: the first attempt asks for no log (fast, and
nothing to allocate); if the kernel refuses the program, the load is repeated with log level 1
and a 16 MiB buffer, doubled (or sized from the kernel's ``log_true_size``) each time the kernel
says ENOSPC, so that :class:`~pybpf.errors.VerifierError` carries the complete log.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Iterable, Sequence

from pybpf.errors import (
    BPFError,
    InvalidArgumentError,
    NoSpaceError,
    VerifierError,
    error_from_errno,
)
from pybpf.maps.map import _fd_of, _u32, check_object_name
from pybpf.programs.info import ProgramInfo, query_prog_info
from pybpf.sys import uapi
from pybpf.sys.commands import attr_size, enable_stats, get_fd_by_id, obj_get, obj_pin, struct_of
from pybpf.sys.fd import FD
from pybpf.sys.names import parse_attach_type, parse_prog_type, prog_type_name
from pybpf.record import Record
from pybpf.sys.syscall import NR_BPF, bpf_raw, bpf_syscall, command_name

__all__ = ["Program", "TestRunResult", "enable_stats", "instructions_bytes",
           "LOG_BUF_SIZE", "LOG_BUF_MAX"]

_CMD = dict(uapi.enum_members("bpf_cmd"))
_PROG_LOAD = _CMD["BPF_PROG_LOAD"]
_TEST_RUN = _CMD["BPF_PROG_TEST_RUN"]
_Load = uapi.bpf_attr_prog_load
_Test = uapi.bpf_attr_test
_TEST_SIZE = ctypes.sizeof(_Test)
#: bpf_attr.test as one struct.Struct: writing 15 fields with one call instead of 15 ctypes
#: attribute stores, reading the outputs (retval, data_size_out, duration, ctx_size_out) back.
_TEST_ATTR = struct_of(_Test, ("prog_fd", "retval", "data_size_in", "data_size_out", "data_in",
                               "data_out", "repeat", "duration", "ctx_size_in", "ctx_size_out",
                               "ctx_in", "ctx_out", "flags", "cpu", "batch_size"))
_TEST_OUT = struct_of(_Test, ("retval", "data_size_out", "duration", "ctx_size_out"))
_U32_MAX = (1 << 32) - 1
_c_char = ctypes.c_char
_addressof = ctypes.addressof
_byref = ctypes.byref
_get_errno = ctypes.get_errno
_bpf = bpf_syscall
_NR = NR_BPF

#: First verifier log buffer (libbpf's BPF_LOG_BUF_SIZE: UINT32_MAX >> 8).
LOG_BUF_SIZE = (1 << 32) - 1 >> 8
#: The kernel refuses log buffers from UINT32_MAX >> 2 on; stop growing before that.
LOG_BUF_MAX = (1 << 32) - 1 >> 2
_EAGAIN_RETRIES = 5
#: Program types whose BPF_PROG_TEST_RUN refuses an output context.
_PROG_TYPES = dict(uapi.enum_members("bpf_prog_type"))
_NO_CTX_OUT = frozenset(_PROG_TYPES[f"BPF_PROG_TYPE_{name}"] for name in (
    "RAW_TRACEPOINT", "RAW_TRACEPOINT_WRITABLE", "TRACING", "SYSCALL", "STRUCT_OPS", "LSM"))
_ENOSPC = 28
_EAGAIN = 11


def instructions_bytes(insns: Any) -> bytes:
    """Raw instruction bytes from bytes-like data or an iterable of instructions (anything
    ``bytes()`` accepts: bytes, or objects with ``__bytes__``)."""
    if isinstance(insns, (bytes, bytearray, memoryview)):
        raw = bytes(insns)
    elif isinstance(insns, Iterable) and not isinstance(insns, str):
        try:
            raw = b"".join(bytes(i) for i in insns)
        except TypeError as exc:
            raise InvalidArgumentError(f"instructions must be bytes or encodable: {exc}") from None
    else:
        raise InvalidArgumentError(
            f"instructions must be bytes or a sequence of instructions, not {type(insns).__name__}")
    if not raw:
        raise InvalidArgumentError("a program needs at least one instruction")
    if len(raw) % 8:
        raise InvalidArgumentError(
            f"instructions are {len(raw)} bytes, not a multiple of 8 (struct bpf_insn)")
    if len(raw) // 8 > (1 << 32) - 1:
        raise InvalidArgumentError("too many instructions")
    return raw


class TestRunResult(Record):
    """What ``BPF_PROG_TEST_RUN`` reports: the program's return value, the average duration
    per run in nanoseconds, and the output packet/context."""

    retval: int
    duration: int
    data_out: bytes
    ctx_out: bytes

    __slots__ = ("retval", "duration", "data_out", "ctx_out", "__weakref__")


def _result_maker() -> Any:
    """TestRunResult(retval, duration, data_out, ctx_out) for the test-run loop: filling the
    slots through their descriptors costs half of the generic constructor."""
    new = object.__new__
    set_retval, set_duration, set_data, set_ctx = (
        getattr(TestRunResult, name).__set__ for name in TestRunResult._fields)

    def make(retval: int, duration: int, data_out: bytes, ctx_out: bytes) -> TestRunResult:
        r = new(TestRunResult)
        set_retval(r, retval)
        set_duration(r, duration)
        set_data(r, data_out)
        set_ctx(r, ctx_out)
        return r

    return make


_make_result = _result_maker()


class Program:
    """A loaded BPF program owned through an :class:`~pybpf.sys.FD`."""

    def __init__(self, fd: FD, *, type: int, name: str = "", expected_attach_type: int = 0,
                 id: int | None = None, verifier_log: str = "") -> None:
        self._fd = fd
        self.type = type
        self.name = name
        self.expected_attach_type = expected_attach_type
        self._id = id
        self.pinned_path: str | None = None
        #: The verifier log when a log was requested (``log_level`` > 0) and the load worked.
        self.verifier_log = verifier_log
        self._run_pool: list[_RunScratch] = []  # see test_run
        fd.what = self._label()

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        type: int | str,
        insns: Any,
        license: str = "GPL",
        *,
        name: str = "",
        expected_attach_type: int | str | None = None,
        kern_version: int = 0,
        flags: int = 0,
        btf: Any = None,
        func_info: bytes = b"",
        func_info_rec_size: int = 8,
        line_info: bytes = b"",
        line_info_rec_size: int = 16,
        attach_btf_id: int = 0,
        attach_prog_fd: Any = None,
        attach_btf_obj_fd: Any = None,
        fd_array: Sequence[Any] | None = None,
        ifindex: int = 0,
        log_level: int = 0,
        log_size: int | None = None,
    ) -> Program:
        """``BPF_PROG_LOAD`` of raw instructions.

        ``type``/``expected_attach_type`` accept enum members, numbers or bpftool names
        (``"xdp"``, ``"cgroup_inet_ingress"``). ``btf`` (descriptor or object with
        ``fileno()``) with ``func_info``/``line_info`` (raw ``bpf_func_info``/``bpf_line_info``
        records) describes the program for the kernel. ``attach_btf_id`` with
        ``attach_prog_fd`` (freplace/fentry on a program) or ``attach_btf_obj_fd`` (a module's
        BTF) selects tracing targets. ``fd_array`` holds the maps/BTFs that instructions refer
        to by index. ``log_level`` > 0 requests the verifier log on the first try too (kept in
        :attr:`verifier_log`). Raises :class:`VerifierError` (with the whole log) when the
        verifier refuses the program.
        """
        prog_type = parse_prog_type(type)
        label = f"program '{name}' ({prog_type_name(prog_type)})" if name else \
            f"{prog_type_name(prog_type)} program"
        raw = instructions_bytes(insns)
        attach_type = parse_attach_type(expected_attach_type) if expected_attach_type is not None else 0
        if not isinstance(license, str):
            raise InvalidArgumentError(f"{label}: license must be a str")
        lic = license.encode()
        if b"\0" in lic:
            raise InvalidArgumentError(f"{label}: license contains a NUL byte")
        for what, records, rec_size in (("func_info", func_info, func_info_rec_size),
                                        ("line_info", line_info, line_info_rec_size)):
            _u32(rec_size, f"{label}: {what}_rec_size")
            if records and (not rec_size or len(records) % rec_size):
                raise InvalidArgumentError(f"{label}: {what} is {len(records)} bytes, not a whole "
                                           f"number of {rec_size}-byte records")
        if attach_prog_fd is not None and attach_btf_obj_fd is not None:
            raise InvalidArgumentError(f"{label}: give attach_prog_fd or attach_btf_obj_fd, not both")
        if not isinstance(log_level, int) or not 0 <= log_level <= 0xFFFF:
            raise InvalidArgumentError(f"{label}: bad log_level {log_level!r}")

        keep: list[Any] = []  # buffers that must outlive the syscall

        def buf(data: bytes) -> int:
            b = ctypes.create_string_buffer(data, len(data) + 1)
            keep.append(b)
            return ctypes.addressof(b)

        attr = _Load()
        attr.prog_type = prog_type
        attr.insn_cnt = len(raw) // 8
        attr.insns = buf(raw)
        attr.license = buf(lic)
        attr.kern_version = _u32(kern_version, f"{label}: kern_version")
        attr.prog_flags = _u32(flags, f"{label}: flags")
        attr.prog_name = check_object_name(name, "program")
        attr.prog_ifindex = _u32(ifindex, f"{label}: ifindex")
        attr.expected_attach_type = attach_type
        attr.prog_btf_fd = _fd_of(btf, f"{label}: btf")
        if func_info:
            attr.func_info_rec_size = func_info_rec_size
            attr.func_info = buf(bytes(func_info))
            attr.func_info_cnt = len(func_info) // func_info_rec_size
        if line_info:
            attr.line_info_rec_size = line_info_rec_size
            attr.line_info = buf(bytes(line_info))
            attr.line_info_cnt = len(line_info) // line_info_rec_size
        attr.attach_btf_id = _u32(attach_btf_id, f"{label}: attach_btf_id")
        if attach_prog_fd is not None:
            attr.attach_prog_fd = _fd_of(attach_prog_fd, f"{label}: attach_prog_fd")
        elif attach_btf_obj_fd is not None:
            attr.attach_btf_obj_fd = _fd_of(attach_btf_obj_fd, f"{label}: attach_btf_obj_fd")
        last = "attach_btf_id" if not (attach_prog_fd or attach_btf_obj_fd) else "attach_prog_fd"
        if fd_array:
            fds = (ctypes.c_int * len(fd_array))(*[_fd_of(f, f"{label}: fd_array") for f in fd_array])
            keep.append(fds)
            attr.fd_array = ctypes.addressof(fds)
            last = "fd_array"
        size = attr_size(_Load, last)

        from pybpf.sys.rlimit import ensure_memlock_rlimit

        ensure_memlock_rlimit()
        fd, log, _ = _load_with_log(attr, size, log_level, log_size, label)
        return cls(FD(fd, label), type=_as(uapi.bpf_prog_type, prog_type), name=name,
                   expected_attach_type=attach_type, verifier_log=log)

    @classmethod
    def from_fd(cls, fd: int | FD, *, dup: bool = True) -> Program:
        """Wrap an existing program descriptor (duplicated unless ``dup=False``)."""
        if isinstance(fd, FD):
            owned = fd.dup() if dup else fd
        else:
            owned = FD(os.dup(fd), "program") if dup else FD(fd, "program")
        return cls._from_owned(owned, f"descriptor {int(owned.fileno())}")

    @classmethod
    def _from_owned(cls, owned: FD, where: str) -> Program:
        if not _is_prog_fd(owned.fileno()):
            owned.close()
            raise InvalidArgumentError(f"{where} is not a BPF program")
        try:
            info = query_prog_info(owned.fileno(), where, arrays=False)
        except BPFError:
            owned.close()
            raise
        return cls(owned, type=info.type, name=info.name, id=info.id)

    @classmethod
    def from_pin(cls, path: str) -> Program:
        """Open the program pinned at ``path``."""
        p = cls._from_owned(obj_get(path, what="program"), f"pinned object {path}")
        p.pinned_path = path
        return p

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open the program with kernel id ``prog_id`` (needs CAP_SYS_ADMIN)."""
        return cls._from_owned(get_fd_by_id("prog", prog_id), f"program id {prog_id}")

    # ------------------------------------------------------------------ basics

    def _label(self) -> str:
        tname = prog_type_name(self.type)
        ident = f" id {self._id}" if self._id else ""
        return f"program '{self.name}' ({tname}{ident})" if self.name else f"{tname} program{ident}"

    @property
    def fd(self) -> FD:
        return self._fd

    def fileno(self) -> int:
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    @property
    def id(self) -> int:
        if self._id is None:
            self._id = query_prog_info(self.fileno(), self._label(), arrays=False).id
        return self._id

    @property
    def tag(self) -> str:
        """The program's tag (hex), as bpftool shows it."""
        return self.info(arrays=False).tag_hex

    def info(self, arrays: bool = True) -> ProgramInfo:
        """A fresh :class:`ProgramInfo` (with instructions, map ids... when ``arrays``)."""
        info = query_prog_info(self.fileno(), self._label(), arrays=arrays)
        self._id = info.id
        return info

    def close(self) -> None:
        self._fd.close()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<Program {self.name or '(unnamed)'} type={prog_type_name(self.type)}{state}>"

    # ------------------------------------------------------------------ pinning

    def pin(self, path: str) -> None:
        """Pin the program at ``path`` in a bpffs."""
        obj_pin(self.fileno(), path, what=self._label())
        self.pinned_path = path

    def unpin(self, path: str | None = None) -> None:
        """Remove the pin at ``path`` (default: where :meth:`pin` put it)."""
        target = path or self.pinned_path
        if target is None:
            raise InvalidArgumentError(f"{self._label()} is not pinned")
        try:
            os.unlink(target)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self._label()}: unpinning {target}",
                                   op="unlink") from None
        if target == self.pinned_path:
            self.pinned_path = None

    # ------------------------------------------------------------------ running

    def test_run(
        self,
        data_in: bytes = b"",
        ctx_in: bytes | None = None,
        *,
        repeat: int = 0,
        data_size_out: int | None = None,
        ctx_size_out: int | None = None,
        flags: int = 0,
        cpu: int = 0,
        batch_size: int = 0,
    ) -> TestRunResult:
        """``BPF_PROG_TEST_RUN``: run the program in the kernel on ``data_in`` (a packet)
        and/or ``ctx_in`` (the context struct, e.g. ``struct __sk_buff``), ``repeat`` times.

        ``repeat`` 0 runs once (as 1 does); raw_tracepoint programs accept only 0.
        ``data_size_out`` defaults to room for the input plus 256 bytes of growth; a too
        small buffer is enlarged and the run repeated. ``ctx_size_out`` defaults to the size
        of ``ctx_in``, except for program types whose test run has no output context. ``flags`` ``BPF_F_TEST_RUN_ON_CPU``
        with ``cpu`` runs it on that CPU (raw_tracepoint programs).
        """
        data = data_in if type(data_in) is bytes else bytes(data_in)
        ctx = b"" if ctx_in is None else ctx_in if type(ctx_in) is bytes else bytes(ctx_in)
        if data_size_out is None:
            out_size = len(data) + 256 if data else 0
        else:
            out_size = self._arg_u32(data_size_out, "data_size_out")
        if ctx_size_out is not None:
            ctx_out_size = self._arg_u32(ctx_size_out, "ctx_size_out")
        else:
            ctx_out_size = len(ctx) if ctx and self.type not in _NO_CTX_OUT else 0
        if repeat or flags or cpu or batch_size or type(repeat) is not int:
            repeat = self._arg_u32(repeat, "repeat")
            flags = self._arg_u32(flags, "flags")
            cpu = self._arg_u32(cpu, "cpu")
            batch_size = self._arg_u32(batch_size, "batch_size")
        fd = self._fd.fileno()
        pool = self._run_pool
        try:
            s = pool.pop()
        except IndexError:
            s = _RunScratch()
        try:
            # The kernel only reads the inputs: one copy each into pooled ctypes memory.
            din = cin = 0
            if data:
                if len(data) > s.din_size:
                    s.grow(0, len(data))
                s.din.raw = data
                din = s.din_addr
            if ctx:
                if len(ctx) > s.cin_size:
                    s.grow(2, len(ctx))
                s.cin.raw = ctx
                cin = s.cin_addr
            retries = 0
            while True:
                if out_size > s.dout_size:
                    s.grow(1, out_size)
                if ctx_out_size > s.cout_size:
                    s.grow(3, ctx_out_size)
                _TEST_ATTR.pack_into(s.attr, 0, fd, 0, len(data), out_size, din,
                                     s.dout_addr if out_size else 0, repeat, 0, len(ctx),
                                     ctx_out_size, cin, s.cout_addr if ctx_out_size else 0,
                                     flags, cpu, batch_size)
                if _bpf(_NR, _TEST_RUN, s.ptr, _TEST_SIZE) >= 0:
                    retval, got_out, duration, got_ctx = _TEST_OUT.unpack_from(s.attr)
                    return _make_result(
                        retval,
                        duration,
                        s.dout.raw[: min(got_out, out_size)] if out_size else b"",
                        s.cout.raw[: min(got_ctx, ctx_out_size)] if ctx_out_size else b"",
                    )
                err = _get_errno()
                _, got_out, _, got_ctx = _TEST_OUT.unpack_from(s.attr)
                if err == _ENOSPC and data_size_out is None and got_out > out_size:
                    out_size = got_out  # the kernel says how much it needs
                elif err == _ENOSPC and ctx_size_out is None and got_ctx > ctx_out_size:
                    ctx_out_size = got_ctx
                else:
                    raise error_from_errno(err, f"{self._label()}: test run",
                                           op=command_name(_TEST_RUN))
                retries += 1
                if retries == 4:
                    raise NoSpaceError(f"{self._label()}: test run output keeps growing",
                                       op=command_name(_TEST_RUN))
        finally:
            pool.append(s)

    def _arg_u32(self, value: Any, name: str) -> int:
        if type(value) is int and 0 <= value <= _U32_MAX:
            return value
        return _u32(value, f"{self._label()}: {name}")


class _RunScratch:
    """A test run's bpf_attr and its four buffers (data in/out, context in/out), kept by the
    program in a pool (as the map element buffers: popped and appended back, so threads
    never share one) and grown when a run needs more room."""

    __slots__ = ("attr", "ptr", "din", "din_addr", "din_size", "dout", "dout_addr", "dout_size",
                 "cin", "cin_addr", "cin_size", "cout", "cout_addr", "cout_size")
    din: Any
    dout: Any
    cin: Any
    cout: Any
    din_addr: int
    dout_addr: int
    cin_addr: int
    cout_addr: int
    din_size: int
    dout_size: int
    cin_size: int
    cout_size: int

    def __init__(self) -> None:
        self.attr = (_c_char * _TEST_SIZE)()
        self.ptr = ctypes.c_void_p(_addressof(self.attr))
        for slot in range(4):
            self.grow(slot, 0)

    _SLOTS = (("din", "din_addr", "din_size"), ("dout", "dout_addr", "dout_size"),
              ("cin", "cin_addr", "cin_size"), ("cout", "cout_addr", "cout_size"))

    def grow(self, slot: int, size: int) -> None:
        """Replace buffer ``slot`` (0 data in, 1 data out, 2 ctx in, 3 ctx out) by one of at
        least ``size`` bytes (at least 512: most packets and contexts fit the first one)."""
        size = max(size, 512)
        arr = (_c_char * size)()
        buf, addr, cap = self._SLOTS[slot]
        setattr(self, buf, arr)
        setattr(self, addr, _addressof(arr))
        setattr(self, cap, size)


def _load_with_log(attr: Any, size: int, log_level: int, log_size: int | None,
                   label: str) -> tuple[int, str, bool]:
    """The libbpf load loop; returns ``(fd, log, truncated)`` or raises."""
    level = log_level
    buf_size = 0
    if log_size is not None:
        buf_size = _u32(log_size, f"{label}: log_size")
    log_buf: ctypes.Array[ctypes.c_char] | None = None
    eagain = 0
    while True:
        if level:
            if log_buf is None or buf_size > len(log_buf):
                buf_size = max(buf_size, LOG_BUF_SIZE if log_size is None else buf_size)
                log_buf = ctypes.create_string_buffer(buf_size)
            attr.log_level = level
            attr.log_size = len(log_buf)
            attr.log_buf = ctypes.addressof(log_buf)
        else:
            attr.log_level = 0
            attr.log_size = 0
            attr.log_buf = 0
        log_size_needed = attr_size(_Load, "log_true_size")
        call_size = max(size, log_size_needed) if level else size
        fd, err = bpf_raw(_PROG_LOAD, attr, call_size)
        if fd >= 0:
            log = _log_text(log_buf) if level else ""
            return fd, log, False
        if err == _EAGAIN and eagain < _EAGAIN_RETRIES:
            eagain += 1
            continue
        if level == 0:
            level = 1
            continue
        if err == _ENOSPC and log_size is None and len(log_buf or b"") < LOG_BUF_MAX:
            true_size = int(attr.log_true_size)
            grow = len(log_buf or b"") * 2
            buf_size = min(max(grow, true_size + 1), LOG_BUF_MAX)
            if buf_size > len(log_buf or b""):
                continue
        log = _log_text(log_buf) if log_buf is not None else ""
        truncated = err == _ENOSPC
        msg = f"loading {label}"
        hint = _load_hint(err, attr)
        if hint:
            msg += f": {hint}"
        if log.strip():
            raise VerifierError(msg + " was refused by the verifier", log, errno=err,
                                op=command_name(_PROG_LOAD), truncated=truncated)
        raise error_from_errno(err, msg, op=command_name(_PROG_LOAD))


def _log_text(buf: ctypes.Array[ctypes.c_char] | None) -> str:
    if buf is None:
        return ""
    return buf.value.decode("utf-8", "replace")


def _load_hint(err: int, attr: Any) -> str | None:
    try:
        from pybpf.features import explain_prog_load_failure

        return explain_prog_load_failure(err, int(attr.prog_type), int(attr.expected_attach_type))
    except Exception:  # noqa: BLE001 - a hint must never hide the real error
        return None


def _as(enum_cls: Any, value: int) -> int:
    try:
        return enum_cls(value)
    except ValueError:
        return value


def _is_prog_fd(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:bpf-prog"
    except OSError:
        return True

