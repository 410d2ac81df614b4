"""Bare start-up cost of the command line: ``pybpf version`` against ``bpftool version``."""

from harness import Pair, pybpf_argv


def subjects(smoke: bool):
    return [Pair("cli start-up (version)", pybpf_argv("version"), ["bpftool", "version"],
                 what="process start to exit, no BPF work", needs=("bpftool",))]
