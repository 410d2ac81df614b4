"""The life of one tool run: load its object, attach, stream events to stdout, stop cleanly.

:meth:`Session.run` does what every libbpf-tools main() does, in this order:

1. install SIGINT and SIGTERM handlers that only ask the loop to stop (so a signal arriving
   while the object loads or attaches still ends in an orderly teardown);
2. open the tool's shipped object (``<tool>.bpf.o`` beside this module) and let the tool set
   its ``.rodata`` filters and autoload flags;
3. load it (CO-RE against the running kernel's BTF), let the tool fill maps;
4. open the perf buffer on the ``events`` map *before* attaching, so no event of an attached
   program is lost, then attach every program and print the header line;
5. poll the perf buffer every 100 ms, writing the lines each pass produced in one write and
   flushing (output is line-buffered even into a pipe); stop on a signal or time limit;
6. close the perf buffer, then the object: every link, program and map fd is released, so no
   program of the tool stays in the kernel.

Failures are reported as one line on stderr (``<tool>: <what failed>: <why>``) with exit
status 1; a signal ends the run with status 0, as the C tools do.
"""

from __future__ import annotations

import errno as _errno
import os
import signal
import sys
import time

from pybpf.errors import BPFError
from pybpf.tools.argp import ArgpExit

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: tools start faster without typing
if TYPE_CHECKING:
    from typing import IO, Any, Callable

__all__ = ["Session", "ToolError", "object_path", "POLL_TIMEOUT", "PERF_BUFFER_PAGES"]

#: seconds between checks for a stop request (the C tools' POLL_TIMEOUT_MS)
POLL_TIMEOUT = 0.1
#: data pages of each CPU's perf ring (the C tools' PERF_BUFFER_PAGES)
PERF_BUFFER_PAGES = 64

_TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))


def object_path(tool: str) -> str:
    """Where the tool's compiled BPF object ships (inside the package)."""
    return os.path.join(_TOOLS_DIR, f"{tool}.bpf.o")


class ToolError(Exception):
    """A failure to report as one line (no traceback)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class Session:
    """Runs one tool (see the module docstring). ``out``/``err`` default to the process's
    stdout (binary) and stderr."""

    def __init__(self, name: str, *, verbose: bool = False, out: IO[bytes] | None = None,
                 err: IO[str] | None = None) -> None:
        self.name = name
        self.verbose = verbose
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr
        self.stop_requested = False

    @staticmethod
    def argp_exit(exc: ArgpExit) -> int:
        """Print what argument parsing asked for and return its exit status."""
        if exc.stdout:
            sys.stdout.write(exc.stdout)
            sys.stdout.flush()
        if exc.stderr:
            sys.stderr.write(exc.stderr)
            sys.stderr.flush()
        return exc.status

    def log(self, message: str) -> None:
        """A ``-v`` line on stderr."""
        if self.verbose:
            self.err.write(f"{self.name}: {message}\n")
            self.err.flush()

    def fail(self, message: str) -> int:
        self.err.write(f"{self.name}: {message}\n")
        self.err.flush()
        return 1

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_requested = True

    def run(self, configure: Callable[[Any], None], *, header: bytes,
            make_handler: Callable[[float], Callable[[bytes], "bytes | None"]],
            prepare: Callable[[Any], None] | None = None, duration: float | None = None,
            page_count: int = PERF_BUFFER_PAGES) -> int:
        """Run until SIGINT/SIGTERM (or ``duration`` seconds); returns the exit status.

        ``configure(spec)`` sets ``.rodata`` values and autoload flags before load;
        ``prepare(obj)`` fills maps after load; ``make_handler(start)`` returns the function
        turning one event's bytes into an output line (or None to drop it), given the
        monotonic time taken just before attaching.
        """
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._run(configure, header, make_handler, prepare, duration, page_count)
        except ToolError as exc:
            return self.fail(str(exc))
        except BPFError as exc:
            # anything the stages above did not name (a map update in prepare, ...)
            return self.fail(_why(exc))
        except BrokenPipeError:
            # the reader went away (SIG_DFL normally ends us first); nothing more to say
            return 0
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _run(self, configure: Callable[[Any], None], header: bytes,
             make_handler: Callable[[float], Callable[[bytes], "bytes | None"]],
             prepare: Callable[[Any], None] | None, duration: float | None, page_count: int) -> int:
        from pybpf import ObjectSpec, PerfBuffer
        from pybpf.btf.kernel import defer_cache_writes

        # On a cold kernel-BTF cache, attach first: look names up in the BTF's bytes and let a
        # background process write the index cache for the next run.
        defer_cache_writes()

        path = object_path(self.name)
        try:
            spec = ObjectSpec.open(path)
        except (BPFError, OSError) as exc:
            raise ToolError(f"failed to open BPF object {path}: {_one_line(exc)}") from None
        _ensure_tracefs()
        configure(spec)
        self.log(f"loading {path}")
        try:
            obj = spec.load()
        except BPFError as exc:
            raise ToolError(f"failed to load BPF object: {_why(exc)}") from None
        with obj:
            if prepare is not None:
                prepare(obj)
            lines: list[bytes] = []
            emit = lines.append
            handler: Callable[[bytes], bytes | None] = _no_handler

            def on_sample(cpu: int, data: bytes) -> None:
                line = handler(data)
                if line is not None:
                    emit(line)

            def on_lost(cpu: int, count: int) -> None:
                self.err.write(f"Lost {count} events on CPU #{cpu}!\n")
                self.err.flush()

            try:
                pb = PerfBuffer(obj.maps["events"], on_sample, on_lost, page_count=page_count)
            except BPFError as exc:
                raise ToolError(f"failed to open perf buffer: {_why(exc)}") from None
            with pb:
                start = time.monotonic()
                handler = make_handler(start)
                if self.stop_requested:
                    return 0
                try:
                    obj.attach()
                except BPFError as exc:
                    raise ToolError(f"failed to attach BPF programs: {_why(exc)}") from None
                self.log("attached " + ", ".join(sorted(obj.programs)))
                out = self.out
                out.write(header)
                out.flush()
                deadline = start + duration if duration else None
                while not self.stop_requested:
                    try:
                        pb.poll(POLL_TIMEOUT)
                    except BPFError as exc:
                        raise ToolError(f"error polling perf buffer: {_one_line(exc)}") from None
                    if lines:
                        out.write(b"".join(lines))
                        lines.clear()
                        out.flush()
                    if deadline is not None and time.monotonic() > deadline:
                        break
        return 0


def _no_handler(data: bytes) -> None:
    return None


def _why(exc: BPFError) -> str:
    text = _one_line(exc)
    if getattr(exc, "errno", None) in (_errno.EPERM, _errno.EACCES):
        text += " (run as root, or with CAP_BPF and CAP_PERFMON)"
    return text


def _ensure_tracefs() -> None:
    """Tracepoints need tracefs; mount it where libbpf looks first when nothing is mounted."""
    from pybpf.errors import NotSupportedError
    from pybpf.sys import tracefs

    try:
        tracefs.tracefs_root()
        return
    except NotSupportedError:
        pass
    try:
        from pybpf.sys.mounts import mount_fs
    except ImportError:  # pragma: no cover - older pybpf.sys without mount helpers
        raise ToolError("tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing") from None
    try:
        mount_fs(tracefs.TRACEFS_CANDIDATES[0], "tracefs", data=None)
    except (BPFError, OSError) as exc:
        raise ToolError(f"tracefs is not mounted and mounting it failed: {_one_line(exc)}") from None
