"""bpf()/perf_event_open through ctypes, errno -> exceptions, FD ownership, CPUs, memlock."""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import subprocess

import pytest

from pybpf.errors import (
    BPFError,
    ClosedError,
    InvalidArgumentError,
    NotFoundError,
    NotSupportedError,
)
from pybpf.sys import (
    FD,
    bpf,
    bpf_raw,
    command_name,
    ensure_memlock_rlimit,
    kernel_uses_memcg,
    num_possible_cpus,
    parse_cpu_list,
    perf_event_ioctl,
    perf_event_open,
    possible_cpus,
    probe_bpf_syscall,
    syscall_numbers,
    uapi,
)
from pybpf.sys import consts
from pybpf.sys.commands import get_fd_by_id, get_next_id, iter_ids

kernel = pytest.mark.kernel


def test_syscall_numbers_per_architecture():
    assert syscall_numbers("x86_64") == (321, 298)
    assert syscall_numbers("aarch64") == (280, 241)


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(NotSupportedError, match="architecture 'vax'"):
        syscall_numbers("vax")


def test_syscall_number_matches_the_c_library(tmp_path, require_tools):
    """The C library's __NR_bpf/__NR_perf_event_open for this machine are the oracle."""
    require_tools("gcc")
    src = tmp_path / "nr.c"
    src.write_text('#include <stdio.h>\n#include <sys/syscall.h>\n'
                   'int main(void){printf("%d %d\\n", __NR_bpf, __NR_perf_event_open);return 0;}\n')
    exe = tmp_path / "nr"
    subprocess.run(["gcc", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert syscall_numbers() == (int(out[0]), int(out[1]))


def test_command_names():
    assert command_name(0) == "BPF_MAP_CREATE"
    assert command_name(5) == "BPF_PROG_LOAD"
    assert command_name(9999) == "BPF_CMD_9999"


@kernel
def test_probe_bpf_syscall_says_it_works():
    assert probe_bpf_syscall() is None


@kernel
def test_unknown_command_raises_with_its_name():
    attr = uapi.bpf_attr()
    with pytest.raises(InvalidArgumentError) as info:
        bpf(200, attr, what="testing an unknown command")
    err = info.value
    assert err.errno == 22 and err.op == "BPF_CMD_200"
    assert "testing an unknown command" in str(err) and "EINVAL" in str(err)
    ret, errno = bpf_raw(200, attr)
    assert ret < 0 and errno == 22


@kernel
def test_missing_id_is_not_found():
    with pytest.raises(NotFoundError) as info:
        get_fd_by_id("map", 0xFFFFFFFE)
    assert info.value.op == "BPF_MAP_GET_FD_BY_ID" and "map id 4294967294" in str(info.value)
    with pytest.raises(NotFoundError):
        get_fd_by_id("prog", 0)
    with pytest.raises(InvalidArgumentError, match="unknown object kind"):
        get_next_id("cake")


@kernel
def test_id_iteration_agrees_with_bpftool(require_tools):
    require_tools("bpftool")
    import json

    ids = iter_ids("prog")
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    assert ids == [p["id"] for p in json.loads(out)]


# ------------------------------------------------------------------------------- FD


def test_fd_close_twice_is_safe_and_use_after_close_raises():
    fd = FD(os.open("/dev/null", os.O_RDONLY), "null device")
    n = fd.fileno()
    fd.close()
    fd.close()
    assert fd.closed
    with pytest.raises(ClosedError, match="null device is closed"):
        fd.fileno()
    with pytest.raises(OSError):
        os.fstat(n)


def test_fd_context_manager_dup_and_gc():
    with FD(os.open("/dev/null", os.O_RDONLY)) as fd:
        dup = fd.dup()
        assert dup.fileno() != fd.fileno()
        assert os.path.samestat(os.fstat(dup.fileno()), os.fstat(fd.fileno()))
        assert not os.get_inheritable(dup.fileno())
    assert fd.closed and not dup.closed
    n = dup.fileno()
    del dup
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(n)


def test_fd_detach_gives_up_ownership():
    fd = FD(os.open("/dev/null", os.O_RDONLY))
    n = fd.detach()
    assert fd.closed
    os.fstat(n)
    os.close(n)


def test_fd_below_three_is_moved_up():
    saved = os.dup(0)
    try:
        os.close(0)
        fd = FD(os.open("/dev/null", os.O_RDONLY), "low")  # the kernel hands out 0
        assert fd.fileno() >= 3
        with pytest.raises(OSError):
            os.fstat(0)
        fd.close()
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_fd_rejects_negative():
    with pytest.raises(ValueError):
        FD(-1)


# ------------------------------------------------------------------------------- CPUs


@pytest.mark.parametrize("text,cpus", [("0", [0]), ("0-3", [0, 1, 2, 3]), ("0,2-3,7\n", [0, 2, 3, 7]),
                                       ("1-1", [1])])
def test_parse_cpu_list(text, cpus):
    assert parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text", ["a", "3-1", "1-b", "-1"])
def test_parse_cpu_list_rejects_garbage(text):
    with pytest.raises(BPFError, match="malformed CPU list"):
        parse_cpu_list(text)


@kernel
def test_possible_cpus_size_per_cpu_values_like_the_kernel(require_tools):
    """bpftool prints one value per possible CPU for a per-CPU map: the same count."""
    require_tools("bpftool")
    import json

    from pybpf import Map

    with Map.create("percpu_array", 4, 4, 1) as m:
        out = subprocess.run(["bpftool", "map", "dump", "id", str(m.id), "-j"],
                             capture_output=True, text=True, check=True).stdout
    values = json.loads(out)[0]["values"]
    assert num_possible_cpus() == len(values) == len(possible_cpus())
    assert [v["cpu"] for v in values] == list(possible_cpus())


# ------------------------------------------------------------------------------- memlock


@kernel
def test_memlock_left_alone_where_memcg_accounts():
    before = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    ensure_memlock_rlimit()
    if kernel_uses_memcg():
        assert resource.getrlimit(resource.RLIMIT_MEMLOCK) == before
    else:
        assert resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] == resource.RLIM_INFINITY


@kernel
def test_memcg_probe_agrees_with_kernel_version():
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    assert kernel_uses_memcg() == ((major, minor) >= (5, 11))


# ------------------------------------------------------------------------------- perf_event_open


@kernel
def test_perf_event_open_counts_software_events():
    attr = uapi.perf_event_attr()
    attr.type = uapi.PERF_TYPE_SOFTWARE
    attr.config = uapi.PERF_COUNT_SW_TASK_CLOCK
    attr.disabled = 1
    with perf_event_open(attr, pid=0, cpu=-1, what="task clock") as fd:
        assert attr.size == ctypes.sizeof(attr)
        perf_event_ioctl(fd.fileno(), consts.PERF_EVENT_IOC_ENABLE)
        sum(range(100000))
        perf_event_ioctl(fd.fileno(), consts.PERF_EVENT_IOC_DISABLE)
        value = int.from_bytes(os.read(fd.fileno(), 8), "little")
    assert value > 0


@kernel
def test_perf_event_open_error_names_the_event():
    attr = uapi.perf_event_attr()
    attr.type = 0xFFFF
    with pytest.raises(BPFError) as info:
        perf_event_open(attr, pid=0, cpu=-1, what="bogus pmu")
    assert info.value.op == "perf_event_open" and "bogus pmu" in str(info.value)


# ------------------------------------------------------------------------------- #define constants


def test_define_constants_match_installed_headers(tmp_path, require_tools):
    """Every constant in pybpf.sys.consts that the installed UAPI headers define has the
    header's value (constants newer than the headers are skipped)."""
    require_tools("gcc")
    names = [n for n in consts.__all__ if n.isupper() and n.startswith(("BPF_", "PERF_", "XDP_"))]
    lines = ["#include <stdio.h>", "#include <linux/bpf.h>", "#include <linux/perf_event.h>",
             "int main(void) {"]
    for n in names:
        lines.append(f'#ifdef {n}\n printf("{n} %llu\\n", (unsigned long long)({n}));\n#endif')
    lines.append("return 0; }")
    src = tmp_path / "defs.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "defs"
    subprocess.run(["gcc", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    seen = dict(line.split() for line in out.splitlines())
    assert len(seen) >= 30
    for name, value in seen.items():
        assert getattr(consts, name) == int(value), name
