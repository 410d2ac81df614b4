"""The object loader's oracle: libbpf itself (the system's libbpf.so.1) on the same object.

Run in a child process (a crash in libbpf must not take pytest down)::

    python3 libbpf_oracle.py OBJ [load] [btf PATH] [kconfig TEXT]

It opens OBJ with ``bpf_object__open_file`` and prints one JSON object: the object name, every
program (name, section, type, expected attach type, autoload, flags), every map (name, type,
key/value sizes, max_entries, flags, numa_node, map_extra, BTF key/value type ids, internal,
initial value), and with ``load``: ``bpf_object__load``'s result, each program's instructions
after it (``bpf_program__insns``: the relocated, linked code libbpf built) and the maps'
initial values after it (``.kconfig`` is filled in by then). Pins libbpf made are removed and
the object is closed before exiting; what it created is gone with it.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

# the shared ctypes declarations live in tests/ (this runs as a script, not as a package module)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from libbpf_ctypes import LIBBPF, OpenOpts, capture_log  # noqa: E402
_P = ctypes.c_void_p


def _bind(lib: ctypes.CDLL) -> None:
    sig = {
        "bpf_object__open_file": (_P, [ctypes.c_char_p, ctypes.POINTER(OpenOpts)]),
        "libbpf_get_error": (ctypes.c_long, [_P]),
        "bpf_object__load": (ctypes.c_int, [_P]),
        "bpf_object__close": (None, [_P]),
        "bpf_object__name": (ctypes.c_char_p, [_P]),
        "bpf_object__next_program": (_P, [_P, _P]),
        "bpf_object__next_map": (_P, [_P, _P]),
        "bpf_program__name": (ctypes.c_char_p, [_P]),
        "bpf_program__section_name": (ctypes.c_char_p, [_P]),
        "bpf_program__type": (ctypes.c_int, [_P]),
        "bpf_program__expected_attach_type": (ctypes.c_int, [_P]),
        "bpf_program__autoload": (ctypes.c_bool, [_P]),
        "bpf_program__flags": (ctypes.c_uint32, [_P]),
        "bpf_program__insns": (_P, [_P]),
        "bpf_program__insn_cnt": (ctypes.c_size_t, [_P]),
        "bpf_map__name": (ctypes.c_char_p, [_P]),
        "bpf_map__type": (ctypes.c_int, [_P]),
        "bpf_map__key_size": (ctypes.c_uint32, [_P]),
        "bpf_map__value_size": (ctypes.c_uint32, [_P]),
        "bpf_map__max_entries": (ctypes.c_uint32, [_P]),
        "bpf_map__map_flags": (ctypes.c_uint32, [_P]),
        "bpf_map__numa_node": (ctypes.c_uint32, [_P]),
        "bpf_map__map_extra": (ctypes.c_uint64, [_P]),
        "bpf_map__btf_key_type_id": (ctypes.c_uint32, [_P]),
        "bpf_map__btf_value_type_id": (ctypes.c_uint32, [_P]),
        "bpf_map__is_internal": (ctypes.c_bool, [_P]),
        "bpf_map__initial_value": (_P, [_P, ctypes.POINTER(ctypes.c_size_t)]),
        "bpf_map__inner_map": (_P, [_P]),
        "bpf_map__pin_path": (ctypes.c_char_p, [_P]),
        "bpf_map__is_pinned": (ctypes.c_bool, [_P]),
        "bpf_map__unpin": (ctypes.c_int, [_P, ctypes.c_char_p]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def _map(lib: ctypes.CDLL, m: int) -> dict:
    size = ctypes.c_size_t(0)
    ptr = lib.bpf_map__initial_value(m, ctypes.byref(size))
    out = {
        "name": lib.bpf_map__name(m).decode(), "type": lib.bpf_map__type(m),
        "key_size": lib.bpf_map__key_size(m), "value_size": lib.bpf_map__value_size(m),
        "max_entries": lib.bpf_map__max_entries(m), "flags": lib.bpf_map__map_flags(m),
        "numa_node": lib.bpf_map__numa_node(m), "map_extra": lib.bpf_map__map_extra(m),
        "btf_key_type_id": lib.bpf_map__btf_key_type_id(m),
        "btf_value_type_id": lib.bpf_map__btf_value_type_id(m),
        "internal": lib.bpf_map__is_internal(m),
        "initial_value": ctypes.string_at(ptr, size.value).hex() if ptr else None,
    }
    inner = lib.bpf_map__inner_map(m)
    if inner:
        out["inner"] = {"name": lib.bpf_map__name(inner).decode(), "type": lib.bpf_map__type(inner),
                        "key_size": lib.bpf_map__key_size(inner),
                        "value_size": lib.bpf_map__value_size(inner),
                        "max_entries": lib.bpf_map__max_entries(inner)}
    return out


def run(obj_path: str, load: bool, btf_path: str | None, kconfig: str | None) -> dict:
    lib = ctypes.CDLL(LIBBPF)
    _bind(lib)
    log: list[list] = []
    callback = capture_log(lib, log, 1 << 16)  # noqa: F841 (kept alive)
    opts = OpenOpts()
    opts.sz = ctypes.sizeof(OpenOpts)
    if btf_path:
        opts.btf_custom_path = btf_path.encode()
    if kconfig:
        opts.kconfig = kconfig.encode()
    obj = lib.bpf_object__open_file(obj_path.encode(), ctypes.byref(opts))
    err = lib.libbpf_get_error(obj) if obj else -1
    if not obj or err:
        return {"open_err": err, "log": log}
    try:
        out: dict = {"open_err": 0, "name": lib.bpf_object__name(obj).decode(), "programs": [], "maps": []}
        progs = []
        p = lib.bpf_object__next_program(obj, None)
        while p:
            progs.append(p)
            out["programs"].append({
                "name": lib.bpf_program__name(p).decode(),
                "section": lib.bpf_program__section_name(p).decode(),
                "type": lib.bpf_program__type(p),
                "expected_attach_type": lib.bpf_program__expected_attach_type(p),
                "autoload": lib.bpf_program__autoload(p),
                "flags": lib.bpf_program__flags(p),
            })
            p = lib.bpf_object__next_program(obj, p)
        m = lib.bpf_object__next_map(obj, None)
        while m:
            out["maps"].append(_map(lib, m))
            m = lib.bpf_object__next_map(obj, m)
        if load:
            import os

            def pin_paths() -> list:
                paths, m = [], lib.bpf_object__next_map(obj, None)
                while m:
                    path = lib.bpf_map__pin_path(m)
                    paths.append((m, path.decode() if path else None))
                    m = lib.bpf_object__next_map(obj, m)
                return paths

            existed = {path for _, path in pin_paths() if path and os.path.exists(path)}
            out["load_err"] = lib.bpf_object__load(obj)
            for m, path in pin_paths():   # leave no pins behind (LIBBPF_PIN_BY_NAME maps)
                if path and path not in existed and lib.bpf_map__is_pinned(m):
                    lib.bpf_map__unpin(m, None)
            out["insns"] = {}
            for p in progs:
                cnt = lib.bpf_program__insn_cnt(p)
                ptr = lib.bpf_program__insns(p)
                out["insns"][lib.bpf_program__name(p).decode()] = ctypes.string_at(ptr, cnt * 8).hex() \
                    if ptr else ""
            out["maps_after_load"] = []
            m = lib.bpf_object__next_map(obj, None)
            while m:
                out["maps_after_load"].append(_map(lib, m))
                m = lib.bpf_object__next_map(obj, m)
        out["log"] = log
        return out
    finally:
        lib.bpf_object__close(obj)


if __name__ == "__main__":
    args = sys.argv[1:]
    path = args.pop(0)
    load = btf = kcfg = None
    while args:
        word = args.pop(0)
        if word == "load":
            load = True
        elif word == "btf":
            btf = args.pop(0)
        elif word == "kconfig":
            kcfg = args.pop(0)
    json.dump(run(path, bool(load), btf, kcfg), sys.stdout)
