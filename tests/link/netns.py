"""Network namespaces for the attach tests: two namespaces joined by a veth pair
(10.99.<n>.1 in A, 10.99.<n>.2 in B), entered per thread with setns(2), deleted afterwards."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import uuid
from typing import Iterator

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block (this thread) inside network namespace ``name``."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(back)
    finally:
        os.close(target)
        os.close(back)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class VethPair:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns_a, self.ns_b = f"pybpf-{tag}-a", f"pybpf-{tag}-b"
        self.dev_a, self.dev_b = f"pba{tag}", f"pbb{tag}"
        n = int(tag[:2], 16) % 200 + 20
        self.ip_a, self.ip_b = f"10.99.{n}.1", f"10.99.{n}.2"

    def create(self) -> None:
        _ip("netns", "add", self.ns_a)
        _ip("netns", "add", self.ns_b)
        _ip("link", "add", self.dev_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.dev_b,
            "netns", self.ns_b)
        for ns, dev, addr in ((self.ns_a, self.dev_a, self.ip_a), (self.ns_b, self.dev_b, self.ip_b)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def delete(self) -> None:
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def ifindex_b(self) -> int:
        with in_netns(self.ns_b):
            return socket.if_nametoindex(self.dev_b)

    def receiver(self, port: int) -> socket.socket:
        """A UDP socket bound in namespace B."""
        with in_netns(self.ns_b):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.ip_b, port))
        s.settimeout(0.3)
        return s

    def send(self, port: int, count: int = 5) -> None:
        """``count`` UDP datagrams from A to B:port."""
        with in_netns(self.ns_a):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            for i in range(count):
                s.sendto(b"pybpf %d" % i, (self.ip_b, port))


def drain(sock: socket.socket) -> int:
    """Datagrams waiting on ``sock`` (stops at the first 0.3 s of silence)."""
    n = 0
    while True:
        try:
            sock.recv(2048)
        except (socket.timeout, BlockingIOError):
            return n
        n += 1


def warm_up(pair: VethPair) -> None:
    """Resolve ARP once so that later datagrams are not queued behind it."""
    import time

    pair.send(9, 1)
    time.sleep(0.2)
