"""``pybpf map``: bpftool's map commands with the same grammar, text and JSON output.

``MAP := { id MAP_ID | pinned FILE | name MAP_NAME }``, ``DATA := { [hex] BYTES }`` (bytes are
read like C's ``strtoul(.., 0)``: ``0x10``, ``010`` (octal) and ``16`` are all accepted; after
``hex`` every byte is hex). Keys and values are given as raw bytes. Entries print as bpftool
prints them: hex bytes, and for maps created with BTF (key/value types) bpftool's BTF-formatted
form as well (``dump``/``lookup``/``pop`` text output, ``"formatted"`` in JSON), through
:func:`pybpf.btf.values.format_map_entry`.
"""

from __future__ import annotations

import ctypes
import errno
import os
from typing import TYPE_CHECKING, Any, Callable

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.cli.prog import _fd_kind, open_one_prog, parse_prog_handle, pinned_paths
from pybpf.errors import BPFError, KeyNotFoundError, NotFoundError
from pybpf.jsonw import Object, Writer, dumps
from pybpf.maps import Map
from pybpf.maps.info import MapInfo, query_map_info
from pybpf.maps.types import MAP_IN_MAP_TYPES, PERCPU_TYPES
from pybpf.sys import bpf_raw, uapi
from pybpf.sys.commands import get_fd_by_id, iter_ids, obj_get
from pybpf.sys.fd import FD
from pybpf.sys.names import MAP_TYPE_NAMES, PROG_TYPE_NAMES, parse_map_type

if TYPE_CHECKING:
    from pybpf.btf.spec import BTF

__all__ = ["run", "fprint_hex", "hex_json", "parse_bytes", "parse_map_handle", "open_maps"]

USAGE = """Usage: pybpf map { show | list }   [MAP]
       pybpf map create     FILE type TYPE key KEY_SIZE value VALUE_SIZE \\
                                  entries MAX_ENTRIES name NAME [flags FLAGS] \\
                                  [inner_map MAP] [numa_node N] [map_extra N]
       pybpf map dump       MAP
       pybpf map update     MAP [key DATA] [value VALUE] [UPDATE_FLAGS]
       pybpf map lookup     MAP [key DATA]
       pybpf map getnext    MAP [key DATA]
       pybpf map delete     MAP  key DATA
       pybpf map pin        MAP  FILE
       pybpf map peek       MAP
       pybpf map push       MAP value VALUE
       pybpf map pop        MAP
       pybpf map enqueue    MAP value VALUE
       pybpf map dequeue    MAP
       pybpf map freeze     MAP
       pybpf map help

       MAP := { id MAP_ID | pinned FILE | name MAP_NAME }
       DATA := { [hex] BYTES }
       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
       VALUE := { DATA | MAP | PROG }
       UPDATE_FLAGS := { any | exist | noexist }
       TYPE := { """ + " | ".join(n for k, n in sorted(MAP_TYPE_NAMES.items()) if k) + """ }
       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-f|--bpffs} }
"""


# ------------------------------------------------------------------------------ bytes


def fprint_hex(data: bytes) -> str:
    """bpftool's ``fprint_hex``: bytes as ``%02x`` separated by a space, two spaces after
    every 8th byte and a new line after every 16th."""
    parts = []
    for i, b in enumerate(data):
        if i:
            parts.append("\n" if i % 16 == 0 else "  " if i % 8 == 0 else " ")
        parts.append(f"{b:02x}")
    return "".join(parts)


def hex_json(data: bytes) -> list[str]:
    """bpftool's JSON byte arrays: ``["0x01", "0x00", ...]``."""
    return [f"0x{b:02x}" for b in data]


def _strtoul(text: str, base: int) -> int | None:
    t = text.strip()
    try:
        if base == 16:
            return int(t, 16)
        if t.lower().startswith("0x"):
            return int(t, 16)
        if len(t) > 1 and t.startswith("0"):
            return int(t, 8)
        return int(t, 10)
    except ValueError:
        return None


def parse_bytes(args: list[str], size: int, what: str) -> tuple[bytes, list[str]]:
    """bpftool's ``parse_bytes``: ``[hex] BYTE...`` of exactly ``size`` bytes."""
    base = 0
    if args and is_prefix(args[0], "hex"):
        base = 16
        args = args[1:]
    out = bytearray()
    i = 0
    while i < len(args) and len(out) < size:
        value = _strtoul(args[i], base)
        if value is None or value > 0xFF:
            raise CLIError(f"error parsing byte: {args[i]}")
        out.append(value)
        i += 1
    if len(out) != size:
        raise CLIError(f"{what} expected {size} bytes got {len(out)}")
    return bytes(out), args[i:]


# ------------------------------------------------------------------------------ handles


def parse_map_handle(args: list[str]) -> tuple[tuple[str, str], list[str]]:
    """Split ``MAP`` off the front of ``args``."""
    if len(args) < 2:
        raise CLIError("expected MAP: { id MAP_ID | pinned FILE | name MAP_NAME }")
    word, value, rest = args[0], args[1], args[2:]
    for key in ("id", "pinned", "name"):
        if is_prefix(word, key):
            return (key, value), rest
    raise CLIError(f"expected 'id', 'pinned' or 'name', got: '{word}'?")


def _all_maps() -> list[tuple[FD, MapInfo]]:
    out = []
    for map_id in iter_ids("map"):
        try:
            fd = get_fd_by_id("map", map_id)
        except NotFoundError:
            continue
        try:
            out.append((fd, query_map_info(fd.fileno(), f"map id {map_id}")))
        except BPFError:
            fd.close()
    return out


def open_maps(handle: tuple[str, str]) -> list[tuple[FD, MapInfo]]:
    """Every map ``handle`` selects (at least one, else an error naming the handle)."""
    key, value = handle
    if key == "id":
        try:
            map_id = int(value, 0)
        except ValueError:
            raise CLIError(f"can't parse map id '{value}'") from None
        fd = get_fd_by_id("map", map_id)
        return [(fd, query_map_info(fd.fileno(), f"map id {map_id}"))]
    if key == "pinned":
        fd = obj_get(value, what="map")
        kind = _fd_kind(fd.fileno())
        if kind != "map":
            fd.close()
            raise CLIError(f"incorrect object type: {kind} ({value} is not a pinned map)")
        return [(fd, query_map_info(fd.fileno(), f"pinned map {value}"))]
    if len(value) > 15:
        raise CLIError(f"can't parse name '{value}': map names are at most 15 characters")
    found = []
    for fd, info in _all_maps():
        if info.name == value:
            found.append((fd, info))
        else:
            fd.close()
    if not found:
        raise CLIError(f"no map with name {value} found")
    return found


def open_one_map(handle: tuple[str, str]) -> Map:
    found = open_maps(handle)
    if len(found) > 1:
        for fd, _ in found:
            fd.close()
        raise CLIError(f"several maps match this handle ({handle[0]} {handle[1]}): "
                       f"ids {', '.join(str(i.id) for _, i in found)}")
    fd, info = found[0]
    return Map(fd, info)


# ------------------------------------------------------------------------------ show


def _type_json(value: int) -> Any:
    return MAP_TYPE_NAMES.get(int(value), int(value))


def _map_header_json(info: MapInfo) -> dict[str, Any]:
    """bpftool's show_map_header_json: id, type, name, flags (also ``dump``'s per-map header)."""
    obj: dict[str, Any] = {"id": info.id, "type": _type_json(info.type)}
    if info.name:
        obj["name"] = info.name
    obj["flags"] = info.map_flags
    return obj


def _map_json(info: MapInfo, pins: dict[int, list[str]] | None) -> dict[str, Any]:
    obj = _map_header_json(info)
    if info.ifindex:
        obj["dev"] = {"ifindex": info.ifindex, "ns_dev": info.netns_dev, "ns_inode": info.netns_ino}
    obj["bytes_key"] = info.key_size
    obj["bytes_value"] = info.value_size
    obj["max_entries"] = info.max_entries
    if info.memlock is not None:
        obj["bytes_memlock"] = info.memlock
    if int(info.type) == uapi.BPF_MAP_TYPE_PROG_ARRAY:
        if info.owner_prog_type is not None:
            obj["owner_prog_type"] = PROG_TYPE_NAMES.get(info.owner_prog_type, info.owner_prog_type)
        if info.owner_jited is not None:
            obj["owner_jited"] = info.owner_jited
    if info.frozen is not None:
        obj["frozen"] = int(info.frozen)
    if info.btf_id:
        obj["btf_id"] = info.btf_id
    if pins is not None and pins.get(info.id):
        obj["pinned"] = pins[info.id]
    return obj


def _map_header_text(info: MapInfo) -> str:
    """bpftool's show_map_header_plain: the first line of ``show`` (also ``dump``'s header)."""
    tname = MAP_TYPE_NAMES.get(int(info.type))
    line = f"{info.id}: " + (f"{tname}  " if tname else f"type {int(info.type)}  ")
    if info.name:
        line += f"name {info.name}  "
    line += f"flags 0x{info.map_flags:x}"
    if info.ifindex:
        line += f"  offloaded_to ifindex {info.ifindex}"
    return line + "\n"


def _map_text(info: MapInfo, pins: dict[int, list[str]] | None) -> str:
    text = _map_header_text(info) + f"\tkey {info.key_size}B  value {info.value_size}B  max_entries {info.max_entries}"
    if info.memlock is not None:
        text += f"  memlock {info.memlock}B"
    if int(info.type) == uapi.BPF_MAP_TYPE_PROG_ARRAY and (
            info.owner_prog_type is not None or info.owner_jited is not None):
        text += "\n\t"
        if info.owner_prog_type is not None:
            pt = PROG_TYPE_NAMES.get(info.owner_prog_type)
            text += f"owner_prog_type {pt}  " if pt else f"owner_prog_type {info.owner_prog_type}  "
        if info.owner_jited is not None:
            text += "owner jited" if info.owner_jited else "owner not jited"
    if pins is not None:
        for path in pins.get(info.id, []):
            text += f"\n\tpinned {path}"
    frozen = bool(info.frozen)
    if info.btf_id or frozen:
        text += "\n\t"
    if info.btf_id:
        text += f"btf_id {info.btf_id}"
    if frozen:
        text += ("  " if info.btf_id else "") + "frozen"
    return text + "\n"


def do_show(ctx: Context, args: list[str]) -> int:
    pins = pinned_paths("map") if ctx.bpffs else None
    if args:
        handle, rest = parse_map_handle(args)
        if rest:
            raise CLIError(f"too many arguments: {' '.join(rest)}")
        found = open_maps(handle)
    else:
        found = _all_maps()
    try:
        if ctx.json:
            objs = [_map_json(info, pins) for _, info in found]
            ctx.emit_json(objs[0] if args and len(objs) == 1 else objs)
        else:
            for _, info in found:
                ctx.out.write(_map_text(info, pins))
    finally:
        for fd, _ in found:
            fd.close()
    return 0


# ------------------------------------------------------------------------------ elements


def _is_percpu(m: Map) -> bool:
    return int(m.type) in PERCPU_TYPES


def _kv_btf(info: MapInfo) -> BTF | None:
    """The BTF bpftool formats ``info``'s entries with (vmlinux for kernel value types, the
    map's own BTF when it has a value type, else None); CLIError when it cannot be read."""
    from pybpf.btf.loaded import map_kv_btf as _load

    try:
        return _load(info)
    except BPFError:
        what = "kernel btf" if info.btf_vmlinux_value_type_id else "btf"
        raise CLIError(f"failed to get {what}") from None


def _formatted(m: Map, info: MapInfo, btf: BTF, key: bytes, value: Any, plain: bool) -> Object:
    """bpftool's do_dump_btf of one entry: ``{"key": …, "value": …}`` (``"values"`` per CPU)."""
    from pybpf.btf.values import format_map_entry

    value_id = info.btf_vmlinux_value_type_id or info.btf_value_type_id
    if not _is_percpu(m):
        tree, _ = format_map_entry(btf, info.btf_key_type_id, value_id, key, value, plain=plain)
        return tree
    step = (m.value_size + 7) & ~7
    blob = b"".join(bytes(v).ljust(step, b"\0") for v in value)
    tree, _ = format_map_entry(btf, info.btf_key_type_id, value_id, key, blob, percpu=len(value),
                               value_size=m.value_size, plain=plain)
    return tree


def _entry_json(m: Map, key: bytes, value: Any, btf: BTF | None = None,
                info: MapInfo | None = None) -> Object:
    """bpftool's print_entry_json: hex key/value(s), and ``"formatted"`` when the map has BTF."""
    obj = Object([("key", hex_json(key))])
    if not _is_percpu(m):
        obj.append(("value", hex_json(value)))
    else:
        obj.append(("values", [Object([("cpu", cpu), ("value", hex_json(v))])
                               for cpu, v in enumerate(value)]))
    if btf is not None and info is not None:
        obj.append(("formatted", _formatted(m, info, btf, key, value, plain=False)))
    return obj


def _entry_text(m: Map, key: bytes, value: Any) -> str:
    ks, vs = m.key_size, m.value_size
    if not _is_percpu(m):
        break_names = ks > 16 or vs > 16
        single_line = ks + vs <= 24 and not break_names
        text = ""
        if ks:
            text += "key:" + ("\n" if break_names else " ") + fprint_hex(key)
            text += "  " if single_line else "\n"
        if vs:  # (bpftool 7.1 prints map-in-map values, the inner map ids, as raw bytes too)
            text += "value:" + ("\n" if break_names else " ") + fprint_hex(value)
        return text + "\n"
    text = ""
    if ks:
        text += "key:\n" + fprint_hex(key) + "\n"
    if vs:
        for cpu, v in enumerate(value):
            text += f"value (CPU {cpu:02d}):" + ("\n" if vs > 16 else " ") + fprint_hex(v) + "\n"
    return text


def _entry_error_text(key_size: int, key: bytes, msg: str) -> str:
    """bpftool's print_entry_error_msg (its line breaking counts the message, not the value)."""
    break_names = key_size > 16 or len(msg) > 16
    single_line = key_size + len(msg) <= 24 and not break_names
    sep = "\n" if break_names else " "
    return f"key:{sep}{fprint_hex(key)}{'  ' if single_line else chr(10)}value:{sep}{msg}\n"


def _lookup_errno(exc: BPFError) -> int:
    return exc.errno if exc.errno else errno.EINVAL


def _entry_error(ctx: Context, w: Writer | None, chunks: list[str], m: Map, key: bytes,
                 err: int) -> None:
    """bpftool's print_entry_error: a lookup that failed while dumping."""
    mt = int(m.type)
    if (mt in MAP_IN_MAP_TYPES or mt == uapi.BPF_MAP_TYPE_PROG_ARRAY) and err == errno.ENOENT:
        return  # an empty slot, not an error
    if ctx.json:
        assert w is not None
        w.value(Object([("key", hex_json(key)), ("value", Object([("error", os.strerror(err))]))]))
        return
    if err == errno.ENOENT:
        msg = "<no entry>"
    elif err == errno.ENOSPC and mt == uapi.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
        msg = "<cannot read>"
    else:
        msg = os.strerror(err)
    text = _entry_error_text(m.key_size, key, msg)
    if w is not None:
        w.text(text)  # bpftool printf()s it between the tokens of its open BTF writer
    else:
        chunks.append(text)


def _keyless_next_key_errno(m: Map) -> int:
    """errno of ``BPF_MAP_GET_NEXT_KEY`` on a map without keys (what bpftool's dump loop gets)."""
    attr = uapi.bpf_attr()
    scratch = ctypes.create_string_buffer(8)
    attr.map_elem.map_fd = m.fileno()
    attr.map_elem.next_key = ctypes.addressof(scratch)
    ret, err = bpf_raw(uapi.BPF_MAP_GET_NEXT_KEY, attr)
    return err if ret < 0 else 0


def _dump_one(ctx: Context, w: Writer | None, chunks: list[str], m: Map, info: MapInfo,
              show_header: bool) -> int:
    """bpftool's map_dump of one map; returns its status (0, or a negative errno)."""
    btf = _kv_btf(info) if w is not None else None
    if w is not None:
        if show_header:
            w.start_object()
            for k, v in _map_header_json(info).items():
                w.name(k)
                w.value(v)
            w.name("elements")
        w.start_array()
    elif show_header:
        chunks.append(_map_header_text(info))
    count = 0
    status = 0
    key: bytes | None = None
    while True:
        if m.key_size == 0:
            err = _keyless_next_key_errno(m)
            if err and err != errno.ENOENT:
                status = -err
            break
        try:
            nxt = m.get_next_key(key)
        except BPFError as exc:
            status = -_lookup_errno(exc)
            break
        if nxt is None:
            break
        key = nxt
        try:
            value = m.lookup(key)
        except BPFError as exc:
            _entry_error(ctx, w, chunks, m, key, _lookup_errno(exc))
            continue
        count += 1
        if ctx.json:
            assert w is not None
            w.value(_entry_json(m, key, value, btf, info))
        elif btf is not None:
            assert w is not None
            w.value(_formatted(m, info, btf, key, value, plain=True))
        elif w is not None:
            w.text(_entry_text(m, key, value))
        else:
            chunks.append(_entry_text(m, key, value))
    if w is not None:
        w.end_array()
        if show_header:
            w.end_object()
    else:
        chunks.append(f"Found {count} element{'s' if count != 1 else ''}\n")
    return status


def do_dump(ctx: Context, args: list[str]) -> int:
    """``map dump MAP``: every entry; maps with BTF print bpftool's formatted form (text mode:
    its pretty JSON-like listing when every selected map has BTF; ``-j``: a ``"formatted"``
    member next to the bytes). Several maps (``name`` selector) get a header each."""
    handle, rest = parse_map_handle(args)
    if rest:
        raise CLIError(f"too many arguments: {' '.join(rest)}")
    found = open_maps(handle)
    try:
        several = len(found) > 1
        w: Writer | None = None
        if ctx.json:
            w = Writer(ctx.pretty)
        elif all(info.btf_id for _, info in found):
            w = Writer(pretty=True)  # bpftool's separate "btf_wtr", always pretty
        chunks: list[str] = []
        status = 0
        if w is not None and several:
            w.start_array()
        for i, (fd, info) in enumerate(found):
            status = _dump_one(ctx, w, chunks, Map(fd, info), info, several)
            if w is None and i != len(found) - 1:
                chunks.append("\n")
            if status:
                break
        if w is not None and several:
            w.end_array()
        ctx.out.write("".join(chunks) if w is None else w.getvalue())
    finally:
        for fd, _ in found:
            fd.close()
    return status & 0xFF


def _print_key_value(ctx: Context, m: Map, info: MapInfo, key: bytes, value: Any) -> None:
    """bpftool's print_key_value (lookup, peek, pop): BTF-formatted when the map has BTF."""
    btf = _kv_btf(info)
    if ctx.json:
        ctx.emit_json(_entry_json(m, key, value, btf, info))
    elif btf is not None:
        ctx.out.write(dumps(_formatted(m, info, btf, key, value, plain=True), pretty=True))
    else:
        ctx.out.write(_entry_text(m, key, value))


def _parse_value(ctx: Context, m: Map, args: list[str]) -> tuple[Any, list[str]]:
    """``VALUE``: bytes, or a map (map-in-map) / program (prog array) selector."""
    mt = int(m.type)
    if mt in MAP_IN_MAP_TYPES or mt == uapi.BPF_MAP_TYPE_PROG_ARRAY:
        what = "map in map" if mt in MAP_IN_MAP_TYPES else "map of progs"
        if m.value_size != 4:
            raise CLIError(f"value smaller than 4B for {what}?")
        if len(args) < 2:
            raise CLIError(f"not enough value arguments for {what}")
    if mt == uapi.BPF_MAP_TYPE_PROG_ARRAY:
        if is_prefix(args[0], "id") and not ctx.json:
            ctx.err.write("Warning: updating program array via MAP_ID, make sure this map is kept open\n"
                          "         by some process or pinned otherwise update will be lost\n")
        handle, rest = parse_prog_handle(args)
        fd, _ = open_one_prog(handle)
        return fd, rest
    if mt in MAP_IN_MAP_TYPES:
        handle, rest = parse_map_handle(args)
        inner = open_one_map(handle)
        return inner.fd, rest
    raw, rest = parse_bytes(args, m.value_size, "value")
    if _is_percpu(m):
        return [raw] * m.ncpus, rest  # bpftool writes the same value for every CPU
    return raw, rest


_UPDATE_FLAGS = {"any": uapi.BPF_ANY, "noexist": uapi.BPF_NOEXIST, "exist": uapi.BPF_EXIST}


def _parse_elem(ctx: Context, m: Map, rest: list[str], *, want_key: bool, want_value: bool,
                want_flags: bool, owned: list[Any]) -> tuple[bytes | None, Any, int]:
    """bpftool's parse_elem: ``key DATA``, ``value VALUE`` and one UPDATE_FLAGS word in any
    order, each at most once; what is wanted must be there. Returns (key, value, flags);
    descriptors opened for values go to ``owned``."""
    key_pending = want_key and m.key_size > 0
    value_pending = want_value and m.value_size > 0
    flags_pending = want_flags
    key: bytes | None = None
    value: Any = None
    flags = uapi.BPF_ANY
    while True:
        if not rest:
            if key_pending or value_pending:
                raise CLIError(f"did not find {'key' if key_pending else 'value'}")
            return key, value, flags
        word = rest[0]
        if is_prefix(word, "key"):
            if not key_pending:
                raise CLIError("duplicate key" if m.key_size else "unnecessary key")
            key, rest = parse_bytes(rest[1:], m.key_size, "key")
            key_pending = False
        elif is_prefix(word, "value"):
            if not value_pending:
                raise CLIError("duplicate value" if m.value_size and want_value else "unnecessary value")
            value, rest = _parse_value(ctx, m, rest[1:])
            if hasattr(value, "close"):
                owned.append(value)
            value_pending = False
        elif any(is_prefix(word, f) for f in _UPDATE_FLAGS):
            if not flags_pending:
                raise CLIError(f"flags specified multiple times: {word}")
            flags = _UPDATE_FLAGS[next(f for f in _UPDATE_FLAGS if is_prefix(word, f))]
            flags_pending = False
            rest = rest[1:]
        else:
            raise CLIError(f"expected key or value, got: {word}")


def _with_map(args: list[str], fn: Callable[[Map, list[str]], int]) -> int:
    handle, rest = parse_map_handle(args)
    m = open_one_map(handle)
    with m:
        return fn(m, rest)


def do_update(ctx: Context, args: list[str]) -> int:
    """``map update MAP [key DATA] [value VALUE] [UPDATE_FLAGS]`` (also ``push``/``enqueue``)."""
    def go(m: Map, rest: list[str]) -> int:
        owned: list[Any] = []
        try:
            key, value, flags = _parse_elem(ctx, m, rest, want_key=True, want_value=True,
                                            want_flags=True, owned=owned)
            if m.key_size:
                m.update(key, value, flags)
            else:
                m.push(value, flags)
        finally:
            for o in owned:
                o.close()
        if ctx.json:
            ctx.emit_json(None)
        return 0

    return _with_map(args, go)


def do_lookup(ctx: Context, args: list[str]) -> int:
    """``map lookup MAP [key DATA]`` (also ``peek`` for maps without keys)."""
    def go(m: Map, rest: list[str]) -> int:
        key, _, _ = _parse_elem(ctx, m, rest, want_key=True, want_value=False, want_flags=False,
                                owned=[])
        try:
            value = m.lookup(key) if m.key_size else m.peek()
        except KeyNotFoundError:
            if ctx.json:
                ctx.emit_json(None)
            else:
                ctx.out.write(f"key:\n{fprint_hex(key or b'')}\n\nNot found\n")
            return 254
        _print_key_value(ctx, m, m.info(), key or b"", value)
        return 0

    return _with_map(args, go)


def do_getnext(ctx: Context, args: list[str]) -> int:
    """``map getnext MAP [key DATA]``: raw bytes, as bpftool (no BTF formatting here)."""
    def go(m: Map, rest: list[str]) -> int:
        key = None
        if rest:
            key, _, _ = _parse_elem(ctx, m, rest, want_key=True, want_value=False, want_flags=False,
                                    owned=[])
        nxt = m.get_next_key(key)
        if nxt is None:  # bpftool exits with -ENOENT (254) here
            return _fail(ctx, "can't get next key: No such file or directory", 254)
        if ctx.json:
            ctx.emit_json({"key": hex_json(key) if key is not None else None,
                           "next_key": hex_json(nxt)})
        else:
            head = f"key:\n{fprint_hex(key)}\n" if key is not None else "key: None\n"
            ctx.out.write(f"{head}next key:\n{fprint_hex(nxt)}\n")
        return 0

    return _with_map(args, go)


def do_delete(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        key, _, _ = _parse_elem(ctx, m, rest, want_key=True, want_value=False, want_flags=False,
                                owned=[])
        m.delete(key)
        if ctx.json:
            ctx.emit_json(None)
        return 0

    return _with_map(args, go)


def do_pin(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        if len(rest) != 1:
            raise CLIError("expected FILE (a path in a bpffs)")
        m.pin(rest[0])
        if ctx.json:
            ctx.emit_json(None)
        return 0

    return _with_map(args, go)


def do_freeze(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        _no_more(rest)
        m.freeze()
        if ctx.json:
            ctx.emit_json(None)
        return 0

    return _with_map(args, go)


def do_push(ctx: Context, args: list[str]) -> int:
    """``map push|enqueue MAP value VALUE``: bpftool's update on a map without keys."""
    return do_update(ctx, args)


def do_peek(ctx: Context, args: list[str]) -> int:
    """``map peek MAP``: bpftool's lookup on a map without keys."""
    return do_lookup(ctx, args)


def do_pop(ctx: Context, args: list[str]) -> int:
    """``map pop|dequeue MAP``: take the next value of a queue or stack and print it."""
    def go(m: Map, rest: list[str]) -> int:
        _no_more(rest)
        try:
            value = m.pop()
        except KeyNotFoundError:
            if ctx.json:
                ctx.emit_json(None)
            else:
                ctx.out.write("Error: empty map\n")  # (bpftool prints this one on stdout)
            return 254
        _print_key_value(ctx, m, m.info(), b"", value)
        return 0

    return _with_map(args, go)


def _fail(ctx: Context, message: str, status: int) -> int:
    """Report an error the way the dispatcher does, but with bpftool's exit status."""
    if ctx.json:
        ctx.emit_json({"error": message})
    else:
        ctx.err.write(f"Error: {message}\n")
    return status


def _no_more(rest: list[str]) -> None:
    if rest:
        raise CLIError(f"too many arguments: {' '.join(rest)}")


def _int_arg(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise CLIError(f"can't parse {what} '{text}'") from None


def do_create(ctx: Context, args: list[str]) -> int:
    if not args:
        raise CLIError("expected FILE (where to pin the new map)")
    path, rest = args[0], args[1:]
    opts: dict[str, Any] = {"flags": 0, "name": ""}
    inner: Map | None = None
    try:
        while rest:
            word = rest[0]
            if len(rest) < 2:
                raise CLIError(f"'{word}' needs a value")
            arg = rest[1]
            if is_prefix(word, "type"):
                opts["type"] = parse_map_type(arg)
            elif is_prefix(word, "key"):
                opts["key_size"] = _int_arg(arg, "key size")
            elif is_prefix(word, "value"):
                opts["value_size"] = _int_arg(arg, "value size")
            elif is_prefix(word, "entries"):
                opts["max_entries"] = _int_arg(arg, "max entries")
            elif is_prefix(word, "name"):
                opts["name"] = arg
            elif is_prefix(word, "flags"):
                opts["flags"] = _int_arg(arg, "flags")
            elif is_prefix(word, "numa_node"):
                opts["numa_node"] = _int_arg(arg, "numa node")
            elif is_prefix(word, "map_extra"):
                opts["map_extra"] = _int_arg(arg, "map_extra")
            elif is_prefix(word, "inner_map"):
                handle, rest2 = parse_map_handle(rest[1:])
                inner = open_one_map(handle)
                opts["inner_map"] = inner
                rest = rest2
                continue
            else:
                raise CLIError(f"unknown arg {word}")
            rest = rest[2:]
        for need in ("type", "key_size", "value_size", "max_entries"):
            if need not in opts:
                raise CLIError(f"map {need.replace('_size', '').replace('max_', '')} not specified")
        if not opts["name"]:
            raise CLIError("map name not specified")
        with Map.create(**opts) as m:
            m.pin(path)
    finally:
        if inner is not None:
            inner.close()
    if ctx.json:
        ctx.emit_json(None)
    return 0


def do_help(ctx: Context, args: list[str]) -> int:
    ctx.out.write(USAGE)
    return 0


COMMANDS: dict[str, Handler] = {
    "show": do_show, "list": do_show, "help": do_help, "dump": do_dump, "update": do_update,
    "lookup": do_lookup, "getnext": do_getnext, "delete": do_delete, "pin": do_pin,
    "peek": do_peek, "push": do_push, "enqueue": do_push, "pop": do_pop, "dequeue": do_pop,
    "freeze": do_freeze, "create": do_create,
}


def run(ctx: Context, args: list[str]) -> int:
    """``pybpf map ...``."""
    if not args:
        args = ["show"]
    return dispatch(ctx, args, COMMANDS, "map")
