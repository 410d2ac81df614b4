"""Run libbpf itself (the system's libbpf.so.1) on an object and report what CO-RE did.

Run as a script in a child process (a crash in libbpf must not take pytest down):

    python3 libbpf_oracle.py OBJ [TARGET_BTF]

opens OBJ with ``bpf_object_open_opts.btf_custom_path = TARGET_BTF`` (no TARGET_BTF: the running
kernel's BTF), loads it (CO-RE relocation happens inside ``bpf_object__load``, before the programs
are handed to the kernel), and prints one JSON object on stdout:

* ``log``: every line libbpf printed, as ``[level, text]`` (its debug log, captured through
  ``libbpf_set_print``; the callback gets a ``va_list`` that x86-64 passes as a pointer, which
  goes straight to libc's ``vsnprintf``),
* ``load_err``: what ``bpf_object__load`` returned (0 or -errno),
* ``insns``: program name -> hex of ``bpf_program__insns()`` after the load attempt (the
  CO-RE-patched instructions libbpf built; the verifier's verdict does not change them).

Needs root (bpf_object__load talks to the kernel). The object is closed before exiting.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

# the shared ctypes declarations live in tests/ (this runs as a script, not as a package module)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from libbpf_ctypes import LIBBPF, OpenOpts, capture_log  # noqa: E402


def run(obj_path: str, btf_path: str | None) -> dict:
    lib = ctypes.CDLL(LIBBPF)
    log: list[list] = []
    callback = capture_log(lib, log, 1 << 20)  # noqa: F841 (kept alive)

    lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(OpenOpts)]
    lib.bpf_object__open_file.restype = ctypes.c_void_p
    lib.libbpf_get_error.argtypes = [ctypes.c_void_p]
    lib.libbpf_get_error.restype = ctypes.c_long
    lib.bpf_object__load.argtypes = [ctypes.c_void_p]
    lib.bpf_object__load.restype = ctypes.c_int
    lib.bpf_object__close.argtypes = [ctypes.c_void_p]
    lib.bpf_object__next_program.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.bpf_object__next_program.restype = ctypes.c_void_p
    lib.bpf_program__name.argtypes = [ctypes.c_void_p]
    lib.bpf_program__name.restype = ctypes.c_char_p
    lib.bpf_program__insns.argtypes = [ctypes.c_void_p]
    lib.bpf_program__insns.restype = ctypes.c_void_p
    lib.bpf_program__insn_cnt.argtypes = [ctypes.c_void_p]
    lib.bpf_program__insn_cnt.restype = ctypes.c_size_t

    opts = OpenOpts()
    opts.sz = ctypes.sizeof(OpenOpts)
    if btf_path:
        opts.btf_custom_path = btf_path.encode()
    obj = lib.bpf_object__open_file(obj_path.encode(), ctypes.byref(opts))
    err = lib.libbpf_get_error(obj) if obj else -1
    if not obj or err:
        return {"open_err": err, "load_err": None, "log": log, "insns": {}}
    try:
        load_err = lib.bpf_object__load(obj)
        insns = {}
        prog = lib.bpf_object__next_program(obj, None)
        while prog:
            cnt = lib.bpf_program__insn_cnt(prog)
            ptr = lib.bpf_program__insns(prog)
            insns[lib.bpf_program__name(prog).decode()] = ctypes.string_at(ptr, cnt * 8).hex() if ptr else ""
            prog = lib.bpf_object__next_program(obj, prog)
    finally:
        lib.bpf_object__close(obj)
    return {"open_err": 0, "load_err": load_err, "log": log, "insns": insns}


if __name__ == "__main__":
    result = run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    json.dump(result, sys.stdout)
