"""BTF to C: ``btf dump file /sys/kernel/btf/vmlinux format c``, pybpf's dump_c vs bpftool.

The pybpf side is the smallest program that does the job (parse the file, dump_c, write
stdout), so the figure is the dumper's and not the command line's start-up. It runs with
bytecode caching on (this sandbox sets PYTHONDONTWRITEBYTECODE=1, which would make every run
recompile pybpf's modules; an installed package always has its .pyc files).
"""

import os

from harness import Pair, python_argv

VMLINUX = "/sys/kernel/btf/vmlinux"
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")

#: what the pybpf process runs: argv[1] is the BTF file
DUMP_SCRIPT = (
    "import sys\n"
    "from pybpf.btf import BTF\n"
    "from pybpf.btf.dump_c import dump_c\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    text = dump_c(BTF.parse(f.read()))\n"
    "sys.stdout.write(text)\n"
)


def dump_pair(path: str = VMLINUX) -> Pair:
    return Pair(f"btf dump {os.path.basename(path)} format c",
                python_argv("-c", DUMP_SCRIPT, path),
                ["bpftool", "btf", "dump", "file", path, "format", "c"],
                what=f"{path} as a C header (vmlinux.h), whole process, stdout discarded",
                env={"PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": ""}, needs=("bpftool", path))


def subjects(smoke: bool):
    return [dump_pair()] if os.path.exists(VMLINUX) else []
