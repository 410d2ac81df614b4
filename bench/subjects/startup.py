"""Start-up cost of the command line against bpftool: ``version`` (no BPF work) and
``prog show`` (list every loaded program), whole processes.

The pybpf side runs this checkout's sources (PYTHONPATH), not whatever ``pybpf`` the
console script would import. Bytecode is cached as for an installed package (a private
PYTHONPYCACHEPREFIX, filled by the warm-up run); the ``no bytecode cache`` figure compiles
every module on each start, as a run with PYTHONDONTWRITEBYTECODE from a source tree does.
"""

import os
import tempfile

from harness import Pair, pybpf_argv

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
PYCACHE = os.path.join(tempfile.gettempdir(), f"pybpf-bench-pycache-{os.getuid()}")


def _env(bytecode: bool) -> dict[str, str]:
    env = {"PYTHONPATH": SRC}
    if bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = ""  # empty is unset for Python
        env["PYTHONPYCACHEPREFIX"] = PYCACHE
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def subjects(smoke: bool):
    out = [
        Pair("cli start-up (version)", pybpf_argv("version"), ["bpftool", "version"],
             what="process start to exit, no BPF work; bytecode cached", env=_env(True),
             needs=("bpftool",)),
        Pair("cli start-up (version, no bytecode cache)", pybpf_argv("version"),
             ["bpftool", "version"], what="as above, every module compiled from source",
             env=_env(False), needs=("bpftool",)),
    ]
    if os.geteuid() == 0:
        out.append(Pair("cli: prog show", pybpf_argv("prog", "show"), ["bpftool", "prog", "show"],
                        what="list every loaded program; bytecode cached", env=_env(True),
                        needs=("bpftool",)))
    return out
