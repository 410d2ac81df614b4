"""perf_event attachment: programs on perf events (sampling, tracepoints, kprobes, uprobes).

:func:`attach_perf_event` is libbpf's ``bpf_program__attach_perf_event_opts()``: when the
kernel has perf_event bpf_links (Linux 5.15+) it creates one with ``BPF_LINK_CREATE`` (which
also carries a BPF cookie), otherwise it uses ``PERF_EVENT_IOC_SET_BPF``; either way it then
enables the event. Tracepoint, kprobe and uprobe links are built on it.

:func:`attach_sampling` opens sampling events (``PERF_TYPE_SOFTWARE``/``HARDWARE``... by period
or frequency, on every CPU or one, optionally for one process) for a ``perf_event`` program.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Sequence

from pybpf.errors import BPFError, InvalidArgumentError, NotSupportedError, error_from_errno
from pybpf.link.base import Link, fd_of
from pybpf.sys import consts, uapi
from pybpf.sys.commands import link_create
from pybpf.sys.cpus import online_cpus
from pybpf.sys.fd import FD
from pybpf.sys.perf import perf_event_ioctl, perf_event_open

__all__ = ["attach_perf_event", "attach_sampling", "open_sampling_event", "perf_link_supported",
           "PerfEventLinks"]

_EINVAL = 22
_EOPNOTSUPP = 95
_EPROTO = 71
_EBADF = 9

# None: not probed yet; True/False once a BPF_LINK_CREATE on a perf event succeeded/was refused.
_perf_link_state: list[bool] = []


def perf_link_supported() -> bool | None:
    """Whether this process saw the kernel accept perf_event bpf_links (``None``: not tried)."""
    return _perf_link_state[0] if _perf_link_state else None


def attach_perf_event(program: Any, perf_fd: FD, *, cookie: int = 0, force_ioctl: bool = False,
                      kind: str = "perf_event", target: str = "",
                      on_released: Callable[[], None] | None = None) -> Link:
    """Attach ``program`` to the open perf event ``perf_fd`` and enable the event.

    The returned :class:`Link` owns ``perf_fd`` (closed on detach, even when attaching fails).
    ``cookie`` (read with ``bpf_get_attach_cookie()``) needs perf_event bpf_links (Linux
    5.15+). ``force_ioctl`` skips the bpf_link and uses ``PERF_EVENT_IOC_SET_BPF``.
    ``on_released`` runs after the perf event is closed (legacy probes remove their tracefs
    entry there).
    """
    try:
        prog_fd = fd_of(program, f"{kind} attach: program")
        pfd = perf_fd.fileno()
        what = f"attaching {_label(program)} to {kind} {target}".rstrip()
        link_fd: FD | None = None
        if not force_ioctl and _perf_link_state != [False]:
            def fill(attr: Any) -> None:
                attr.perf_event.bpf_cookie = cookie

            try:
                link_fd = link_create(prog_fd, pfd, uapi.BPF_PERF_EVENT, fill=fill, what=what)
                if not _perf_link_state:
                    _perf_link_state.append(True)
            except BPFError as exc:
                # EINVAL from kernels without perf links; anything else is a real refusal.
                if exc.errno != _EINVAL or _perf_link_state == [True]:
                    raise _explain(exc, program, kind, target) from None
                if not _perf_link_state:
                    _perf_link_state.append(False)
        if link_fd is None:
            if cookie:
                raise NotSupportedError(f"{what}: a BPF cookie needs perf_event bpf_links (Linux 5.15+)")
            try:
                perf_event_ioctl(pfd, consts.PERF_EVENT_IOC_SET_BPF, prog_fd, what=what)
            except BPFError as exc:
                raise _explain(exc, program, kind, target) from None
        try:
            perf_event_ioctl(pfd, consts.PERF_EVENT_IOC_ENABLE, 0, what=f"enabling {kind} {target}")
        except BaseException:
            if link_fd is not None:
                link_fd.close()
            raise
    except BaseException:
        perf_fd.close()
        if on_released is not None:
            on_released()
        raise

    def disable() -> None:
        if not perf_fd.closed:
            try:
                perf_event_ioctl(perf_fd.fileno(), consts.PERF_EVENT_IOC_DISABLE, 0)
            except BPFError:
                pass

    return Link(kind, fd=link_fd, program=program, target=target, perf_fd=perf_fd,
                on_detach=disable, on_released=on_released, legacy=link_fd is None)


def _label(program: Any) -> str:
    label = getattr(program, "_label", None)
    return str(label()) if callable(label) else "program"


def _explain(exc: BPFError, program: Any, kind: str, target: str) -> BPFError:
    msg = f"attaching {_label(program)} to {kind} {target}".rstrip()
    if exc.errno == _EPROTO:
        msg += ": the kernel refuses this program type on this kind of perf event"
    elif exc.errno == _EINVAL:
        msg += (": the program type does not match the perf event (tracepoint programs need "
                "tracepoint events, kprobe programs kprobe/uprobe events, perf_event programs "
                "sampling events)")
    return error_from_errno(exc.errno or 0, msg, op=exc.op)


class PerfEventLinks(list):  # type: ignore[type-arg]
    """The per-CPU links of :func:`attach_sampling`; detaches/closes all of them together."""

    def detach(self) -> None:
        errors = []
        for link in self:
            try:
                link.detach()
            except BPFError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def close(self) -> None:
        for link in self:
            link.close()

    def __enter__(self) -> PerfEventLinks:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_sampling_event(type: int = uapi.PERF_TYPE_SOFTWARE, config: int = 0, *,
                        sample_period: int | None = None, sample_freq: int | None = None,
                        cpu: int = -1, pid: int = -1, inherit: bool = False,
                        exclude_kernel: bool = False, exclude_user: bool = False) -> FD:
    """``perf_event_open`` of a (disabled) sampling event; :func:`attach_perf_event` enables it.

    Give either ``sample_period`` (every N events) or ``sample_freq`` (N samples per second).
    ``pid=-1, cpu=N``: every task on CPU N; ``pid=P, cpu=-1``: task P on any CPU.
    """
    if (sample_period is None) == (sample_freq is None):
        raise InvalidArgumentError("give exactly one of sample_period and sample_freq")
    if pid == -1 and cpu == -1:
        raise InvalidArgumentError("a perf event needs a CPU or a process (pid=-1 with cpu=-1)")
    attr = uapi.perf_event_attr()
    attr.size = ctypes.sizeof(attr)
    attr.type = type
    attr.config = config
    if sample_freq is not None:
        attr.freq = 1
        attr.sample_freq = sample_freq
    else:
        attr.sample_period = int(sample_period or 0)
    attr.disabled = 1
    attr.inherit = int(inherit)
    attr.exclude_kernel = int(exclude_kernel)
    attr.exclude_user = int(exclude_user)
    return perf_event_open(attr, pid=pid, cpu=cpu, what=f"perf event type {type} config {config}")


def attach_sampling(program: Any, type: int = uapi.PERF_TYPE_SOFTWARE,
                    config: int = uapi.PERF_COUNT_SW_CPU_CLOCK, *,
                    sample_period: int | None = None, sample_freq: int | None = None,
                    cpus: Sequence[int] | None = None, pid: int = -1, cookie: int = 0,
                    inherit: bool = False) -> PerfEventLinks:
    """Attach a ``perf_event`` program to sampling events, one per CPU (``cpus``, default every
    online CPU), or one event following process ``pid`` on all CPUs when ``cpus`` is empty and
    ``pid`` is given. Returns the links as a :class:`PerfEventLinks` list.

    Example: ``attach_sampling(prog, sample_freq=99)`` samples every CPU 99 times a second with
    the software CPU clock (works in VMs without a hardware PMU).
    """
    if cpus is None:
        cpu_list: list[int] = online_cpus() if pid == -1 else [-1]
    else:
        cpu_list = list(cpus) or [-1]
    links = PerfEventLinks()
    try:
        for cpu in cpu_list:
            pfd = open_sampling_event(type, config, sample_period=sample_period,
                                      sample_freq=sample_freq, cpu=cpu, pid=pid, inherit=inherit)
            where = f"cpu {cpu}" if cpu >= 0 else f"pid {pid}"
            links.append(attach_perf_event(program, pfd, cookie=cookie, kind="perf_event",
                                           target=f"type {type} config {config} {where}"))
    except BaseException:
        links.close()
        raise
    return links
