"""Global options of the ``pybpf`` command line, against bpftool where it has them.

``-n/--nomount``: bpftool never mounts tracefs (or bpffs) with it; ``prog tracelog`` with no
tracefs mounted then fails instead of mounting one. Checked in a private mount namespace where
the test unmounts tracefs, side by side with bpftool.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from pybpf.cli.common import Context
from pybpf.cli.main import _parse_options
from tests.conftest import pybpf_command, pybpf_env, skip_or_fail

#: in a private mount namespace: unmount every tracefs, run the command, then print its exit
#: status and how many tracefs mounts the namespace has
NO_TRACEFS = ("for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do "
              "while umount -l $m 2>/dev/null; do :; done; done; "
              "grep -q tracefs /proc/self/mounts && exit 3; "
              "timeout 10 \"$@\" </dev/null >/dev/null 2>/tmp/.pybpf-nomount-err.$$; "
              "echo \"status=$? tracefs=$(grep -c ' tracefs ' /proc/self/mounts)\"; "
              "cat /tmp/.pybpf-nomount-err.$$ >&2; rm -f /tmp/.pybpf-nomount-err.$$")


def _without_tracefs(argv: list[str]) -> tuple[str, str]:
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NO_TRACEFS, "sh",
                           *argv], capture_output=True, text=True, env=pybpf_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip(), proc.stderr


@pytest.mark.kernel
@pytest.mark.parametrize("flag", ["-n", "--nomount"])
def test_nomount_leaves_tracefs_unmounted_like_bpftool(require_tools, flag):
    require_tools("bpftool")
    if shutil.which("unshare") is None:
        skip_or_fail("unshare (util-linux) is not installed")
    theirs, _ = _without_tracefs(["bpftool", flag, "prog", "tracelog"])
    ours, err = _without_tracefs(pybpf_command(flag, "prog", "tracelog"))
    assert theirs == ours == "status=255 tracefs=0"
    assert "not mounting" in err
    # the option given after the command words works the same (getopt's permutation)
    after, _ = _without_tracefs(pybpf_command("prog", "tracelog", flag))
    assert after == ours
    # and without it pybpf mounts tracefs there (as bpftool does): the option is what changed
    mounting, _ = _without_tracefs(["sh", "-c", 'exec "$@" & sleep 2; kill -INT $!; wait $!', "sh",
                                    *pybpf_command("prog", "tracelog")])
    assert mounting.endswith("tracefs=1")


@pytest.mark.kernel
def _wait_reading_trace_pipe(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until ``proc`` holds trace_pipe open (a SIGINT before that would hit start-up, not the read)."""
    deadline = time.monotonic() + timeout
    fd_dir = f"/proc/{proc.pid}/fd"
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            names = os.listdir(fd_dir)
        except OSError:
            names = []
        for name in names:
            try:
                if os.readlink(os.path.join(fd_dir, name)).endswith("/trace_pipe"):
                    time.sleep(0.1)  # from open() to the blocking read
                    return
            except OSError:
                continue
        time.sleep(0.02)
    raise AssertionError(f"{proc.args!r} never opened trace_pipe (exit status {proc.poll()})")


def test_nomount_with_tracefs_present_reads_like_bpftool(require_tools):
    """With tracefs mounted, -n changes nothing: the pipe is read until SIGINT, status 0."""
    require_tools("bpftool")
    results = []
    for argv, env in ((["bpftool", "-n", "prog", "tracelog"], None),
                      (pybpf_command("-n", "prog", "tracelog"), pybpf_env())):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _wait_reading_trace_pipe(proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        results.append((proc.returncode, err))
    assert results[0] == results[1] == (0, b"")


def test_options_are_parsed_anywhere_and_tools_keep_theirs():
    ctx = Context()
    assert _parse_options(["-n", "prog", "tracelog", "-p"], ctx) == ["prog", "tracelog"]
    assert ctx.extra["nomount"] is True and ctx.json and ctx.pretty
    ctx = Context()
    assert _parse_options(["prog", "show"], ctx) == ["prog", "show"] and "nomount" not in ctx.extra
    # after "tool NAME", options such as opensnoop's "-n NAME" and "-p PID" are the tool's
    ctx = Context()
    assert _parse_options(["-j", "tool", "opensnoop", "-n", "bash", "-p", "1"], ctx) == \
        ["tool", "opensnoop", "-n", "bash", "-p", "1"]
    assert ctx.json and not ctx.pretty and "nomount" not in ctx.extra
