"""Running tools for the live tests: pybpf's and libbpf-tools' side by side on the same events."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from typing import Callable

from tests.conftest import pybpf_command, pybpf_env

HEADER_TIMEOUT = 90.0     # loading on a busy 2-core machine can take a while
EVENT_TIMEOUT = 20.0


class Running:
    """A tool process whose stdout lines are collected as they come."""

    def __init__(self, argv: list[str], what: str) -> None:
        self.what = what
        self.argv = argv
        env = pybpf_env() if argv[:3] == pybpf_command()[:3] else None
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines: list[bytes] = []
        self._q: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = b""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def next_line(self, timeout: float) -> bytes | None:
        try:
            line = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self.lines.append(line)
        return line

    def header(self, timeout: float = HEADER_TIMEOUT) -> bytes:
        line = self.next_line(timeout)
        if line is None:
            rc, err = self.stop()
            raise AssertionError(f"{self.what}: no header (exit {rc}): {err.decode(errors='replace')}")
        return line

    def wait_for(self, pred: Callable[[bytes], bool], timeout: float = EVENT_TIMEOUT) -> bytes:
        for line in self.lines[1:]:
            if pred(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            line = self.next_line(max(left, 0.0)) if left > 0 else None
            if line is None:
                raise AssertionError(f"{self.what}: expected line not seen; got {self.lines!r}")
            if pred(line):
                return line

    def drain(self, seconds: float) -> None:
        """Collect whatever arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.next_line(left) is None and self.proc.poll() is not None:
                break

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> tuple[int, bytes]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(10)
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.proc.stderr.close()
        return rc, self.stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def pybpf_tool(tool: str, *args: str) -> Running:
    return Running(pybpf_command("tool", tool, *args), f"pybpf tool {tool}")


def c_tool(tool: str, *args: str) -> Running:
    return Running(["stdbuf", "-oL", f"/usr/sbin/{tool}", *args], f"libbpf-tools {tool}")


def token(label: str) -> str:
    """A string no other process on the machine will print."""
    return f"pybpf-{label}-{os.getpid()}-{time.monotonic_ns()}"


def has(text: str) -> Callable[[bytes], bool]:
    needle = text.encode()
    return lambda line: needle in line


_TIME = re.compile(rb"^\d\d:\d\d:\d\d $")


def split_time(line: bytes, width: int) -> tuple[bytes, bytes]:
    """(time column, rest) of a line starting with a ``width``-wide time column."""
    return line[:width], line[width:]


def held_ids(pid: int) -> tuple[set[int], set[int]]:
    """Program and link ids a process holds descriptors to (from /proc/PID/fdinfo)."""
    progs: set[int] = set()
    links: set[int] = set()
    base = f"/proc/{pid}/fdinfo"
    for name in os.listdir(base):
        try:
            with open(os.path.join(base, name)) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                progs.add(int(line.split()[1]))
            elif line.startswith("link_id:"):
                links.add(int(line.split()[1]))
    return progs, links


def bpftool_has(kind: str, ident: int) -> bool:
    """Whether ``bpftool KIND show id ID`` finds the object."""
    proc = subprocess.run(["bpftool", kind, "show", "id", str(ident)], capture_output=True, text=True)
    return proc.returncode == 0
