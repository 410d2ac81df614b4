"""``pybpf btf dump file …``: the command line against bpftool on the same files."""

from __future__ import annotations

import pytest

from .helpers import VMLINUX, bpftool, dump_section, run


@pytest.fixture
def objects(compile_bpf, require_tools, tmp_path):
    require_tools("bpftool", "llvm-objcopy-19")
    el = compile_bpf("btf_kinds.bpf.c")
    eb = compile_bpf("btf_kinds.bpf.c", endian="bpfeb")
    raw = tmp_path / "kinds.btf"
    raw.write_bytes(dump_section(el, ".BTF", tmp_path))
    return {"elf": el, "elf_be": eb, "raw": str(raw)}


@pytest.mark.parametrize("which", ["elf", "elf_be", "raw"])
@pytest.mark.parametrize("argv", [
    ["btf", "dump", "file", "{}"],
    ["-j", "btf", "dump", "file", "{}"],
    ["btf", "dump", "file", "{}", "-p"],
    ["btf", "dump", "file", "{}", "format", "raw"],
    ["b", "d", "f", "{}", "form", "raw"],
    ["btf", "dump", "file", "{}", "format", "c"],
])
def test_dump_file_like_bpftool(objects, run_pybpf, which, argv):
    args = [a.replace("{}", objects[which]) for a in argv]
    ours = run_pybpf(*args)
    theirs = run("bpftool", *(["btf"] + args[1:] if args[0] == "b" else args))
    assert ours.stdout == theirs.stdout
    assert ours.returncode == 0


def test_vmlinux_through_the_cli(run_pybpf, require_tools):
    require_tools("bpftool")
    assert run_pybpf("btf", "dump", "file", VMLINUX).stdout == bpftool("btf", "dump", "file", VMLINUX)


@pytest.mark.parametrize("argv", [
    ["btf", "dump", "file", "/nonexistent/file"],
    ["btf", "dump", "file", "{elf}", "format", "x"],
    ["btf", "dump", "file", "{elf}", "format"],
    ["btf", "dump", "file", "{elf}", "bogus"],
    ["btf", "dump", "foo", "bar"],
    ["-j", "btf", "dump", "file", "{elf}", "format", "c"],
    ["-j", "btf", "dump", "file", "/nonexistent/file"],
    ["btf", "show", "foo", "1"],
    ["btf", "show", "id"],
])
def test_errors_like_bpftool(objects, run_pybpf, argv):
    args = [a.replace("{elf}", objects["elf"]) for a in argv]
    ours = run_pybpf(*args, check=False)
    theirs = run("bpftool", *args, check=False)
    assert ours.returncode != 0 and theirs.returncode != 0
    assert ours.stdout == theirs.stdout
    assert ours.stderr == theirs.stderr


def test_dump_needs_arguments(run_pybpf):
    ours = run_pybpf("btf", "dump", check=False)
    theirs = run("bpftool", "btf", "dump", check=False)
    assert ours.returncode != 0
    assert ours.stderr.replace("pybpf", "bpftool") == theirs.stderr


def test_help(run_pybpf):
    ours = run_pybpf("btf", "help").stdout
    assert ours.replace("pybpf", "bpftool") == run("bpftool", "btf", "help", check=False).stderr + \
        run("bpftool", "btf", "help", check=False).stdout


def test_not_btf_at_all(run_pybpf, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello")
    proc = run_pybpf("btf", "dump", "file", str(junk), check=False)
    assert proc.returncode != 0
    assert proc.stderr == f"Error: failed to load BTF from {junk}: neither raw BTF nor an ELF file\n"
