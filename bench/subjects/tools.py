"""Tools: ``pybpf tool execsnoop|opensnoop`` against Debian's libbpf-tools binaries.

* start → attached: wall time from spawning the process to reading its header line on a pipe.
  Both sides detect "attached" the same way: each writes its header line right after its
  last attach call (libbpf-tools: ``*_bpf__attach`` then the header, then the perf buffer;
  pybpf: the perf buffer, then ``attach()``, then the header — so pybpf's figure includes its
  buffer set-up and is, if anything, pessimistic). The C tool runs under ``stdbuf -oL``, or it
  would keep the header in its stdio buffer; pybpf flushes its lines itself. pybpf is timed with
  a warm kernel-BTF index cache and with an empty one (a fresh ``XDG_CACHE_HOME`` per run); the
  C tool has no cache, so its figure is the same kind of run both times. The pybpf side is the
  installed ``pybpf`` console script running this checkout's src/ (PYTHONPATH).
* RSS of a running tool: VmHWM (peak resident set) of the process after attaching and
  printing events for a burst of activity (execs for execsnoop, opens for opensnoop).

Needs root, kernel BTF, stdbuf and Debian's libbpf-tools; a missing piece is reported as a
skipped row naming it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

import budgets
from harness import Metric, Skipped, missing, pybpf_argv

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
WARM_DIR = os.path.join(tempfile.gettempdir(), f"pybpf-bench-tools-cache-{os.getuid()}")
TOOLS = ("execsnoop", "opensnoop")


def _env(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    # this checkout's code; bytecode caching on (an installed package has its .pyc files)
    env.update(PYTHONPATH=SRC, PYTHONDONTWRITEBYTECODE="", XDG_CACHE_HOME=cache)
    return env


class _Run:
    """A tool process started now; ``header()`` waits for its first line."""

    def __init__(self, argv: list[str], env: dict[str, str] | None) -> None:
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._buf = b""

    def header(self, timeout: float = 60.0) -> float:
        """Seconds from spawn to the end of the first line."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = self.start + timeout
        while b"\n" not in self._buf:
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.fail("no header line")
            chunk = os.read(fd, 65536)
            if not chunk:
                self.fail("exited before printing its header")
            self._buf += chunk
        return time.perf_counter() - self.start

    def pump(self, seconds: float) -> None:
        """Keep reading output for ``seconds`` (so the tool never blocks on a full pipe)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            if select.select([fd], [], [], left)[0] and not os.read(fd, 65536):
                break

    def hwm_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def stop(self) -> None:
        """SIGINT, then read both pipes to EOF while the tool shuts down: a tool blocked writing
        events into a full pipe (a busy machine execs a lot) would never see the signal."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        fds = [s.fileno() for s in (self.proc.stdout, self.proc.stderr) if s is not None]
        deadline = time.perf_counter() + 10
        while fds and (left := deadline - time.perf_counter()) > 0:
            for fd in select.select(fds, [], [], left)[0]:
                if not os.read(fd, 65536):
                    fds.remove(fd)
        try:
            self.proc.wait(max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def fail(self, what: str) -> None:
        self.proc.kill()
        self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        raise RuntimeError(f"{' '.join(self.proc.args)}: {what}: {err.strip()}")


def _pybpf(tool: str, cache: str) -> _Run:
    return _Run(pybpf_argv("tool", tool), _env(cache))


def _c(tool: str) -> _Run:
    return _Run(["stdbuf", "-oL", f"/usr/sbin/{tool}"], None)


def _attach_time(start) -> float:
    run = start()
    try:
        return run.header()
    finally:
        run.stop()


def _warm(tool: str):
    return lambda: _attach_time(lambda: _pybpf(tool, WARM_DIR))


def _cold(tool: str):
    def measure() -> float:
        cache = tempfile.mkdtemp(prefix="pybpf-bench-tools-cold-")
        try:
            return _attach_time(lambda: _pybpf(tool, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return measure


def _c_attach(tool: str):
    return lambda: _attach_time(lambda: _c(tool))


def _activity(tool: str, n: int) -> None:
    if tool == "execsnoop":
        for i in range(n):
            subprocess.run(["/bin/true", f"pybpf-bench-{i}"])
    else:
        for i in range(n):
            try:
                os.close(os.open(f"/nonexistent/pybpf-bench-{i}", os.O_RDONLY))
            except OSError:
                pass


def _rss(start, tool: str, n: int):
    def measure() -> float:
        run = start()
        try:
            run.header()
            _activity(tool, n)
            run.pump(0.5)
            return run.hwm_kib() / 1024.0
        finally:
            run.stop()
    return measure


def subjects(smoke: bool):
    items: list = []
    n = 5 if smoke else 200
    for tool in TOOLS:
        why = missing(("root", "/sys/kernel/btf/vmlinux", "stdbuf", f"/usr/sbin/{tool}"))
        if why:
            items.append(Skipped(f"tool {tool}: start → attached, RSS", why))
            continue
        # warm the index cache (and the .pyc files) once
        _attach_time(lambda: _pybpf(tool, WARM_DIR))
        label = f"libbpf-tools {tool}"
        items += [
            Metric(f"tool {tool}: start → attached, warm BTF cache", "s", _warm(tool), _c_attach(tool),
                   higher_is_better=False, b_label=label, budget=budgets.TOOL_ATTACH_WARM,
                   what="spawn to header line on a pipe (C under stdbuf -oL)"),
            Metric(f"tool {tool}: start → attached, cold BTF cache", "s", _cold(tool), _c_attach(tool),
                   higher_is_better=False, b_label=label, budget=budgets.TOOL_ATTACH_COLD,
                   what="the same with an empty kernel-BTF index cache (pybpf's XDG_CACHE_HOME a "
                        "fresh directory each run)"),
            Metric(f"tool {tool}: RSS while running", "MiB", _rss(lambda t=tool: _pybpf(t, WARM_DIR), tool, n),
                   _rss(lambda t=tool: _c(t), tool, n), higher_is_better=False, b_label=label,
                   budget=budgets.TOOL_RSS,
                   what=f"VmHWM after attaching and {n} traced events"),
        ]
    return items
