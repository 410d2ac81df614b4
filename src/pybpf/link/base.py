"""``Link``: one attachment of a program, whatever mechanism made it.

The kernel has several ways to attach a program, and a :class:`Link` hides which one was used:

* a **bpf_link** (``BPF_LINK_CREATE`` / ``BPF_RAW_TRACEPOINT_OPEN``): the link owns a link
  descriptor; it can be pinned, updated with a new program and queried (:meth:`Link.info`);
* a **perf event** (tracepoints, kprobes, uprobes, perf_event programs): the link owns the perf
  event descriptor and, where the kernel supports it, a perf_event bpf_link on top of it;
  legacy probes also own a tracefs ``kprobe_events``/``uprobe_events`` entry, removed on detach;
* an **old-style attachment** (``BPF_PROG_ATTACH``, ``SO_ATTACH_BPF``, netlink XDP/tc, a
  struct_ops map element): the link remembers what to undo.

Every link is detached exactly once: by :meth:`Link.detach`, by leaving a ``with`` block, by
:meth:`Link.close` or when it is garbage-collected. A pinned bpf_link stays attached after its
descriptor is closed (that is what pinning is for); :meth:`Link.detach` forces it off its hook.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from pybpf.errors import BPFError, ClosedError, InvalidArgumentError, NotSupportedError, error_from_errno
from pybpf.link.info import LinkInfo, query_link_info
from pybpf.sys import consts
from pybpf.sys.commands import get_fd_by_id, link_detach, link_update, obj_get, obj_pin
from pybpf.sys.fd import FD
from pybpf.sys.names import link_type_name

__all__ = ["Link", "fd_of"]

_EOPNOTSUPP = 95
_EINVAL = 22


def fd_of(obj: Any, what: str) -> int:
    """The descriptor number of ``obj`` (an int, an :class:`FD`, or anything with ``fileno()``)."""
    if isinstance(obj, bool):
        raise InvalidArgumentError(f"{what}: expected a file descriptor, not {obj!r}")
    if isinstance(obj, int):
        if obj < 0:
            raise InvalidArgumentError(f"{what}: bad file descriptor {obj}")
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise InvalidArgumentError(f"{what}: expected a file descriptor, not {type(obj).__name__}")
    return int(fileno())


def _prog_label(prog: Any) -> str:
    label = getattr(prog, "_label", None)
    if callable(label):
        try:
            return str(label())
        except Exception:  # noqa: BLE001 - a label must never fail
            pass
    name = getattr(prog, "name", "")
    return f"program '{name}'" if name else "program"


class Link:
    """An attached program. Created by the ``attach_*`` functions of :mod:`pybpf.link`.

    ``kind`` names the attach kind (``"tracepoint"``, ``"xdp"``...), ``target`` what it is
    attached to (``"syscalls/sys_enter_getpid"``, ``"ifindex 3"``), ``program`` the
    :class:`pybpf.Program` (when known). ``fd`` is the bpf_link descriptor, ``None`` for
    attachments that have none (legacy perf events, ``BPF_PROG_ATTACH``, netlink...).
    """

    def __init__(self, kind: str, *, fd: FD | None = None, program: Any = None, target: str = "",
                 perf_fd: FD | None = None, on_detach: Callable[[], None] | None = None,
                 on_released: Callable[[], None] | None = None,
                 owned: tuple[Any, ...] = (), legacy: bool = False) -> None:
        self.kind = kind
        self.program = program
        self.target = target
        self._fd = fd
        self._perf_fd = perf_fd
        self._on_detach = on_detach
        self._on_released = on_released
        self._owned = list(owned)
        self._closed = False
        #: True when the attachment uses an old mechanism (no bpf_link), e.g. netlink XDP.
        self.legacy = legacy
        self.pinned_path: str | None = None
        if fd is not None:
            fd.what = self._describe()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_fd(cls, fd: int | FD, *, dup: bool = True) -> Link:
        """Wrap an existing bpf_link descriptor (duplicated unless ``dup=False``)."""
        if isinstance(fd, FD):
            owned = fd.dup() if dup else fd
        else:
            owned = FD(os.dup(fd), "link") if dup else FD(fd, "link")
        return cls._from_owned(owned, f"descriptor {owned.fileno()}")

    @classmethod
    def _from_owned(cls, owned: FD, where: str) -> Link:
        if not _is_link_fd(owned.fileno()):
            owned.close()
            raise InvalidArgumentError(f"{where} is not a BPF link")
        try:
            info = query_link_info(owned.fileno(), where)
        except BPFError:
            owned.close()
            raise
        link = cls(link_type_name(info.type), fd=owned, target=where)
        return link

    @classmethod
    def from_pin(cls, path: str) -> Link:
        """Open the bpf_link pinned at ``path``. Closing the returned object does not unpin it."""
        link = cls._from_owned(obj_get(path, what="link"), f"pinned link {path}")
        link.pinned_path = path
        return link

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        """Open the bpf_link with kernel id ``link_id`` (needs CAP_SYS_ADMIN)."""
        return cls._from_owned(get_fd_by_id("link", link_id), f"link id {link_id}")

    # ------------------------------------------------------------------ basics

    def _describe(self) -> str:
        tgt = f" {self.target}" if self.target else ""
        prog = f" of {_prog_label(self.program)}" if self.program is not None else ""
        return f"{self.kind} link{tgt}{prog}"

    @property
    def fd(self) -> FD | None:
        """The bpf_link descriptor, ``None`` for attachments without one."""
        return self._fd

    @property
    def perf_fd(self) -> FD | None:
        """The perf event descriptor behind tracepoint/kprobe/uprobe/perf_event links."""
        return self._perf_fd

    def fileno(self) -> int:
        """The bpf_link descriptor number; :class:`NotSupportedError` if there is none."""
        self._check_open()
        if self._fd is None:
            raise NotSupportedError(f"{self._describe()} is not a bpf_link (attached with an "
                                    "older mechanism), so it has no link descriptor")
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def is_bpf_link(self) -> bool:
        """True when this attachment is a kernel bpf_link (pinnable, has an id)."""
        return self._fd is not None

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"{self._describe()} is detached")

    @property
    def id(self) -> int:
        """The kernel's link id."""
        return self.info().id

    def info(self) -> LinkInfo:
        """``BPF_OBJ_GET_INFO_BY_FD`` of the link, decoded (:class:`LinkInfo`)."""
        return query_link_info(self.fileno(), self._describe())

    # ------------------------------------------------------------------ pinning

    def pin(self, path: str) -> None:
        """Pin the link at ``path`` in a bpffs; it then outlives this process. bpf_links only."""
        obj_pin(self.fileno(), path, what=self._describe())
        self.pinned_path = path

    def unpin(self, path: str | None = None) -> None:
        """Remove the pin at ``path`` (default: where :meth:`pin` put it)."""
        target = path or self.pinned_path
        if target is None:
            raise InvalidArgumentError(f"{self._describe()} is not pinned")
        try:
            os.unlink(target)
        except OSError as exc:
            raise error_from_errno(exc.errno or 0, f"{self._describe()}: unpinning {target}",
                                   op="unlink") from None
        if target == self.pinned_path:
            self.pinned_path = None

    # ------------------------------------------------------------------ update

    def update(self, new_program: Any, *, old_program: Any = None) -> None:
        """Replace the link's program atomically (``BPF_LINK_UPDATE``).

        With ``old_program`` the kernel replaces only if that is still the attached program
        (``BPF_F_REPLACE``). Supported by the kernel for cgroup, iterator (never), netns,
        XDP, tcx, netkit, sockmap and struct_ops links; others raise
        :class:`NotSupportedError`.
        """
        fd = self.fileno()
        old = fd_of(old_program, "old program") if old_program is not None else 0
        flags = consts.BPF_F_REPLACE if old_program is not None else 0
        try:
            link_update(fd, fd_of(new_program, "new program"), old, flags)
        except BPFError as exc:
            if exc.errno in (_EOPNOTSUPP, _EINVAL) and exc.errno is not None:
                raise error_from_errno(exc.errno, f"{self._describe()}: the kernel cannot replace "
                                       "the program of this link type", op=exc.op) from None
            raise
        self.program = new_program

    # ------------------------------------------------------------------ teardown

    def detach(self) -> None:
        """Detach the program from its hook and release everything this link owns.

        For a bpf_link this is ``BPF_LINK_DETACH`` (which also detaches a pinned link; link
        types without detach support are released by closing the descriptor), for the older
        mechanisms the matching undo (``PERF_EVENT_IOC_DISABLE``, ``BPF_PROG_DETACH``,
        ``SO_DETACH_BPF``, netlink delete, tracefs event removal). Safe to call twice.
        """
        if self._closed:
            return
        if self._fd is not None and not self._fd.closed:
            try:
                link_detach(self._fd.fileno())
            except BPFError as exc:
                if exc.errno not in (_EOPNOTSUPP, _EINVAL):
                    self._release()
                    raise
        self._release()

    def close(self) -> None:
        """Release this process's hold on the link. An unpinned bpf_link detaches; a pinned one
        stays attached. Old-style attachments are undone. Safe to call twice."""
        if not self._closed:
            self._release()

    def _release(self) -> None:
        self._closed = True
        errors: list[BaseException] = []
        if self._fd is not None:
            self._fd.close()
        callback, self._on_detach = self._on_detach, None
        if callback is not None:
            try:
                callback()
            except BaseException as exc:  # noqa: BLE001 - finish the teardown first
                errors.append(exc)
        if self._perf_fd is not None:
            self._perf_fd.close()
        callback, self._on_released = self._on_released, None
        if callback is not None:
            try:
                callback()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        owned, self._owned = self._owned, []
        for obj in reversed(owned):
            try:
                obj.close()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        try:
            self._release()
        except BaseException:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __repr__(self) -> str:
        state = " detached" if self._closed else ""
        return f"<Link {self._describe()}{state}>"


def _is_link_fd(fd: int) -> bool:
    try:
        # "bpf_link" from LINK_CREATE, "bpf-link" from BPF_OBJ_GET / GET_FD_BY_ID
        return os.readlink(f"/proc/self/fd/{fd}") in ("anon_inode:bpf_link", "anon_inode:bpf-link")
    except OSError:
        return True
