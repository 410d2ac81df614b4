"""BTF to C: ``btf dump file /sys/kernel/btf/vmlinux format c``, pybpf vs bpftool.

Three rows, each a whole process against bpftool's:

* the dumper itself: the smallest program that does the job (parse the file, ``dump_c``, write
  stdout), so the figure is the dumper's and not the command line's start-up;
* the ``pybpf btf dump`` command with its C output cache bypassed (``PYBPF_NO_CACHE=1``): what
  every run costs without the cache, i.e. a cold cache;
* the same command with the output cache warm (a private cache directory, filled before the
  first timed run): what the second and later runs on the same kernel cost.

The pybpf side runs with bytecode caching on (this sandbox sets PYTHONDONTWRITEBYTECODE=1, which
would make every run recompile pybpf's modules; an installed package always has its .pyc files).
"""

import os
import subprocess
import tempfile

import budgets
from harness import Pair, Skipped, missing, python_argv

VMLINUX = "/sys/kernel/btf/vmlinux"
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
#: the warm row's private cache directory (XDG_CACHE_HOME)
WARM_HOME = os.path.join(tempfile.gettempdir(), f"pybpf-bench-dumpc-{os.getuid()}")

#: what the pybpf process runs: argv[1] is the BTF file
DUMP_SCRIPT = (
    "import sys\n"
    "from pybpf.btf import BTF\n"
    "from pybpf.btf.dump_c import dump_c\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    text = dump_c(BTF.parse(f.read()))\n"
    "sys.stdout.write(text)\n"
)

_ENV = {"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": ""}


def dump_pair(path: str = VMLINUX) -> Pair:
    return Pair(f"btf dump {os.path.basename(path)} format c",
                python_argv("-c", DUMP_SCRIPT, path),
                ["bpftool", "btf", "dump", "file", path, "format", "c"],
                what=f"{path} as a C header (vmlinux.h), whole process, stdout discarded; "
                     "dump_c itself (no output cache)",
                env=dict(_ENV), needs=("bpftool", path), budget=budgets.DUMP_C)


def _cli(path: str) -> list[str]:
    return python_argv("-m", "pybpf", "btf", "dump", "file", path, "format", "c")


def _ensure_warm(path: str) -> None:
    """Fill the warm row's cache once (a no-op when an entry is there)."""
    cache = os.path.join(WARM_HOME, "pybpf")
    if os.path.isdir(cache) and any(n.startswith("dumpc-") for n in os.listdir(cache)):
        return
    env = dict(os.environ, XDG_CACHE_HOME=WARM_HOME, **_ENV)
    env.pop("PYBPF_NO_CACHE", None)
    subprocess.run(_cli(path), env=env, stdout=subprocess.DEVNULL, check=True)


def cli_pairs(path: str = VMLINUX) -> list[Pair]:
    base = os.path.basename(path)
    return [
        Pair(f"btf dump {base} format c, CLI, output cache bypassed (cold)", _cli(path),
             ["bpftool", "btf", "dump", "file", path, "format", "c"],
             what="pybpf btf dump file ... format c with PYBPF_NO_CACHE=1: parse and dump every time",
             env=dict(_ENV, PYBPF_NO_CACHE="1"), needs=("bpftool", path), budget=budgets.DUMP_C),
        Pair(f"btf dump {base} format c, CLI, output cache warm", _cli(path),
             ["bpftool", "btf", "dump", "file", path, "format", "c"],
             what="the same command once the C output cache holds this BTF's header (read the BTF, "
                  "hash it, copy the cached text out); the first run on a kernel costs the cold row",
             env=dict(_ENV, XDG_CACHE_HOME=WARM_HOME, PYBPF_NO_CACHE=""), needs=("bpftool", path),
             before_each=lambda: _ensure_warm(path), budget=budgets.DUMP_C),
    ]


def subjects(smoke: bool):
    why = missing((VMLINUX,))
    return [Skipped("btf dump vmlinux format c", why)] if why else [dump_pair(), *cli_pairs()]
