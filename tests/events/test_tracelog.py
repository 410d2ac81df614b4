"""``pybpf prog tracelog`` against ``bpftool prog tracelog``: both read the kernel's trace pipe
while a program prints a token with bpf_printk(); run one after the other (reading the pipe
consumes it), their output must have the same shape, plain and JSON.

Also: with no tracefs mounted (in a private mount namespace where the test unmounts it),
pybpf mounts tracefs itself, as bpftool does.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import pybpf_command, pybpf_env, skip_or_fail
from tests.events.conftest import XDP_IN, key

pytestmark = pytest.mark.kernel

SRC = "events_printk.bpf.c"
LINE = re.compile(r"^ *\S.*-\d+ +\[\d+\] \S+ +\d+\.\d+: bpf_trace_printk: "
                  r"pybpf-tracelog-test (\d+) 'quoted' \"double\" end\n$")


class Reader:
    """A running tracelog command whose stdout is collected by a thread."""

    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.out = b""
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            self.out += chunk

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(30)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return self.proc.returncode, self.out.decode(), err.decode()


def capture(obj, argv, token, env=None, count=2):
    """Run argv, print the token until ``count`` of its lines were read, stop; returns
    (status, stdout, stderr)."""
    obj.maps["token"].update(key(0), token.to_bytes(8, "little"))
    reader = Reader(argv, env)
    try:
        deadline = time.monotonic() + 60
        while reader.out.decode(errors="replace").count(f"test {token} ") < count:
            if time.monotonic() > deadline or reader.proc.poll() is not None:
                break
            obj.progs["printk_token"].test_run(XDP_IN)
            time.sleep(0.2)
    finally:
        result = reader.stop()
    return result


def mine(lines, token):
    return [ln for ln in lines if f"test {token} " in ln]


@pytest.mark.parametrize("opts", [[], ["-j"], ["-p"]])
def test_tracelog_like_bpftool(load_events, require_tools, opts):
    require_tools("bpftool")
    obj = load_events(SRC)
    t1, t2 = random.sample(range(10**9, 10**10), 2)
    code_b, out_b, err_b = capture(obj, ["bpftool", *opts, "prog", "tracelog"], t1)
    code_p, out_p, err_p = capture(obj, pybpf_command(*opts, "prog", "tracelog"), t2, pybpf_env())
    assert (code_b, err_b) == (0, "")
    assert (code_p, err_p) == (0, "")
    if not opts:
        lines_b = mine(out_b.splitlines(keepends=True), t1)
        lines_p = mine(out_p.splitlines(keepends=True), t2)
    else:
        lines_b = mine(json.loads(out_b), t1)
        lines_p = mine(json.loads(out_p), t2)
        # same layout: compact array, or bpftool's pretty form (elements on one line, the
        # closing bracket on its own line), then a newline
        assert out_b.startswith('["') and out_p.startswith('["')
        assert out_b.endswith('"\n]\n' if opts == ["-p"] else '"]\n')
        assert out_p.endswith('"\n]\n' if opts == ["-p"] else '"]\n')
        assert out_b.count("\n") == out_p.count("\n")
    assert len(lines_b) >= 2 and len(lines_p) >= 2
    for line, token in [(ln, t1) for ln in lines_b] + [(ln, t2) for ln in lines_p]:
        m = LINE.match(line)
        assert m, line
        assert int(m.group(1)) == token


def test_tracelog_mounts_tracefs_when_missing(load_events):
    """In a private mount namespace without tracefs, pybpf mounts it and reads the pipe."""
    if shutil.which("unshare") is None:
        skip_or_fail("unshare (util-linux) is not installed")
    obj = load_events(SRC)
    token = random.randrange(10**9, 10**10)
    script = ("for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do "
              "while umount -l $m 2>/dev/null; do :; done; done; "
              "grep -q tracefs /proc/self/mounts && exit 3; exec \"$@\"")
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            *pybpf_command("prog", "tracelog")]
    code, out, err = capture(obj, argv, token, pybpf_env(), count=1)
    assert code == 0, err
    assert "could not find tracefs, attempting to mount it now" in err
    assert mine(out.splitlines(keepends=True), token)
    # the host's mounts are untouched
    with open("/proc/self/mounts") as f:
        assert " /sys/kernel/tracing tracefs " in f.read()
    assert os.path.exists("/sys/kernel/tracing/trace_pipe")
