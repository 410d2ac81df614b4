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
import sys

LIBBPF = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"


class OpenOpts(ctypes.Structure):
    # struct bpf_object_open_opts of libbpf 1.1 (/usr/include/bpf/libbpf.h).
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("object_name", ctypes.c_char_p),
        ("relaxed_maps", ctypes.c_bool),
        ("pin_root_path", ctypes.c_char_p),
        ("_removed_attach_prog_fd", ctypes.c_uint32),
        ("kconfig", ctypes.c_char_p),
        ("btf_custom_path", ctypes.c_char_p),
        ("kernel_log_buf", ctypes.c_char_p),
        ("kernel_log_size", ctypes.c_size_t),
        ("kernel_log_level", ctypes.c_uint32),
    ]


PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def run(obj_path: str, btf_path: str | None) -> dict:
    lib = ctypes.CDLL(LIBBPF)
    libc = ctypes.CDLL(None)
    libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    libc.vsnprintf.restype = ctypes.c_int
    buf = ctypes.create_string_buffer(1 << 20)
    log: list[list] = []

    def on_print(level: int, fmt: bytes, ap: int) -> int:
        libc.vsnprintf(buf, len(buf), fmt, ap)
        log.append([level, buf.value.decode("utf-8", "replace")])
        return 0

    callback = PRINT_FN(on_print)
    lib.libbpf_set_print.argtypes = [PRINT_FN]
    lib.libbpf_set_print.restype = ctypes.c_void_p
    lib.libbpf_set_print(callback)

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
