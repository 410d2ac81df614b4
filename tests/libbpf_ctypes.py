"""libbpf 1.1 (the system's libbpf.so.1) through ctypes, for the oracle scripts that run it in
a child process (tests/object/libbpf_oracle.py, tests/core/libbpf_oracle.py): the library's
path, ``struct bpf_object_open_opts`` and the capture of its log through ``libbpf_set_print``."""

from __future__ import annotations

import ctypes
from typing import Any

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


def capture_log(lib: ctypes.CDLL, log: list[list[Any]], line_max: int) -> Any:
    """Make libbpf append every line it prints to ``log`` as ``[level, text]`` (lines cut at
    ``line_max`` bytes). The callback gets a ``va_list``, which x86-64 passes as a pointer that
    goes straight to libc's ``vsnprintf``. Returns the callback: keep it alive while libbpf runs."""
    libc = ctypes.CDLL(None)
    libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    libc.vsnprintf.restype = ctypes.c_int
    buf = ctypes.create_string_buffer(line_max)

    def on_print(level: int, fmt: bytes, ap: int) -> int:
        libc.vsnprintf(buf, len(buf), fmt, ap)
        log.append([level, buf.value.decode("utf-8", "replace")])
        return 0

    callback = PRINT_FN(on_print)
    lib.libbpf_set_print.argtypes = [PRINT_FN]
    lib.libbpf_set_print.restype = ctypes.c_void_p
    lib.libbpf_set_print(callback)
    return callback
