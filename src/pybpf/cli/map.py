"""``pybpf map``: bpftool's map commands with the same grammar, text and JSON output.

``MAP := { id MAP_ID | pinned FILE | name MAP_NAME }``, ``DATA := { [hex] BYTES }`` (bytes are
read like C's ``strtoul(.., 0)``: ``0x10``, ``010`` (octal) and ``16`` are all accepted; after
``hex`` every byte is hex). Keys and values are raw bytes, printed as bpftool prints them.
"""

from __future__ import annotations

from typing import Any, Callable

from pybpf.cli.common import CLIError, Context, Handler, dispatch, is_prefix
from pybpf.cli.prog import _fd_kind, open_one_prog, parse_prog_handle, pinned_paths
from pybpf.errors import BPFError, KeyNotFoundError, NotFoundError
from pybpf.maps import Map
from pybpf.maps.info import MapInfo, query_map_info
from pybpf.maps.types import MAP_IN_MAP_TYPES, PERCPU_TYPES
from pybpf.sys import uapi
from pybpf.sys.commands import get_fd_by_id, iter_ids, obj_get
from pybpf.sys.fd import FD
from pybpf.sys.names import MAP_TYPE_NAMES, PROG_TYPE_NAMES, parse_map_type

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


def _map_json(info: MapInfo, pins: dict[int, list[str]] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": info.id, "type": _type_json(info.type)}
    if info.name:
        obj["name"] = info.name
    obj["flags"] = info.map_flags
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


def _map_text(info: MapInfo, pins: dict[int, list[str]] | None) -> str:
    tname = MAP_TYPE_NAMES.get(int(info.type))
    line = f"{info.id}: " + (f"{tname}  " if tname else f"type {int(info.type)}  ")
    if info.name:
        line += f"name {info.name}  "
    line += f"flags 0x{info.map_flags:x}"
    if info.ifindex:
        line += f"  offloaded_to ifindex {info.ifindex}"
    text = line + f"\n\tkey {info.key_size}B  value {info.value_size}B  max_entries {info.max_entries}"
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


def _entry_json(m: Map, key: bytes, value: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": hex_json(key)}
    if not _is_percpu(m):
        obj["value"] = hex_json(value)
    else:
        obj["values"] = [{"cpu": cpu, "value": hex_json(v)} for cpu, v in enumerate(value)]
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


def _entry_error_text(m: Map, key: bytes, reason: str) -> str:
    return f"key:\n{fprint_hex(key)}\nvalue:\n{reason}\n" if m.key_size > 16 or m.value_size > 16 \
        else f"key: {fprint_hex(key)}  value: {reason}\n"


def do_dump(ctx: Context, args: list[str]) -> int:
    handle, rest = parse_map_handle(args)
    if rest:
        raise CLIError(f"too many arguments: {' '.join(rest)}")
    found = open_maps(handle)
    try:
        results = []
        for fd, info in found:
            m = Map(fd, info)
            if m.key_size == 0:
                raise CLIError(f"can't dump map of type {MAP_TYPE_NAMES.get(int(m.type), m.type)}: "
                               f"it has no keys (use peek/pop)")
            entries: list[Any] = []
            count = 0
            text = []
            for key in m.keys():
                try:
                    value = m.lookup(key)
                except KeyNotFoundError:
                    reason = "<no entry>"
                    if ctx.json:
                        entries.append({"key": hex_json(key), "value": {"error": reason}})
                    else:
                        text.append(_entry_error_text(m, key, reason))
                    continue
                except BPFError as exc:
                    reason = exc.message.split(": ")[-1] if exc.errno is None else \
                        __import__("os").strerror(exc.errno)
                    if ctx.json:
                        entries.append({"key": hex_json(key), "value": {"error": reason}})
                    else:
                        text.append(_entry_error_text(m, key, reason))
                    continue
                count += 1
                if ctx.json:
                    entries.append(_entry_json(m, key, value))
                else:
                    text.append(_entry_text(m, key, value))
            if ctx.json:
                results.append(entries)
            else:
                ctx.out.write("".join(text))
                ctx.out.write(f"Found {count} element{'s' if count != 1 else ''}\n")
        if ctx.json:
            ctx.emit_json(results[0] if len(results) == 1 else [e for r in results for e in r])
    finally:
        for fd, _ in found:
            fd.close()
    return 0


def _parse_value(m: Map, args: list[str]) -> tuple[Any, list[str]]:
    mt = int(m.type)
    if mt == uapi.BPF_MAP_TYPE_PROG_ARRAY:
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


_UPDATE_FLAGS = {"any": uapi.BPF_ANY, "exist": uapi.BPF_EXIST, "noexist": uapi.BPF_NOEXIST}


def _with_map(args: list[str], fn: Callable[[Map, list[str]], int]) -> int:
    handle, rest = parse_map_handle(args)
    m = open_one_map(handle)
    with m:
        return fn(m, rest)


def do_update(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        key = b""
        value: Any = None
        flags = 0
        owned: list[Any] = []
        try:
            while rest:
                if is_prefix(rest[0], "key"):
                    key, rest = parse_bytes(rest[1:], m.key_size, "key")
                elif is_prefix(rest[0], "value"):
                    value, rest = _parse_value(m, rest[1:])
                    if hasattr(value, "close"):
                        owned.append(value)
                else:
                    word = next((k for k in _UPDATE_FLAGS if is_prefix(rest[0], k)), None)
                    if word is None:
                        raise CLIError(f"expected 'key', 'value' or update flags, got: '{rest[0]}'")
                    flags = _UPDATE_FLAGS[word]
                    rest = rest[1:]
            if value is None:
                raise CLIError("did not find value")
            if m.key_size and len(key) != m.key_size:
                raise CLIError("did not find key")
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


def _key_arg(m: Map, rest: list[str], required: bool) -> tuple[bytes | None, list[str]]:
    if rest and is_prefix(rest[0], "key"):
        key, rest = parse_bytes(rest[1:], m.key_size, "key")
        return key, rest
    if required:
        raise CLIError("did not find key")
    return None, rest


def do_lookup(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        key, rest = _key_arg(m, rest, m.key_size > 0)
        _no_more(rest)
        try:
            value = m.lookup(key) if m.key_size else m.peek()
        except KeyNotFoundError:
            if ctx.json:
                ctx.emit_json(None)
            else:
                ctx.out.write(f"key:\n{fprint_hex(key or b'')}\n\nNot found\n")
            return 254
        if ctx.json:
            ctx.emit_json(_entry_json(m, key or b"", value))
        else:
            ctx.out.write(_entry_text(m, key or b"", value))
        return 0

    return _with_map(args, go)


def do_getnext(ctx: Context, args: list[str]) -> int:
    def go(m: Map, rest: list[str]) -> int:
        key, rest = _key_arg(m, rest, False)
        _no_more(rest)
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
        key, rest = _key_arg(m, rest, True)
        _no_more(rest)
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
    def go(m: Map, rest: list[str]) -> int:
        if not rest or not is_prefix(rest[0], "value"):
            raise CLIError("did not find value")
        value, rest = _parse_value(m, rest[1:])
        _no_more(rest)
        m.push(value)
        if ctx.json:
            ctx.emit_json(None)
        return 0

    return _with_map(args, go)


def _pop_or_peek(ctx: Context, args: list[str], pop: bool) -> int:
    def go(m: Map, rest: list[str]) -> int:
        _no_more(rest)
        try:
            value = m.pop() if pop else m.peek()
        except KeyNotFoundError:
            raise CLIError(f"{'pop' if pop else 'peek'} failed: the map is empty") from None
        if ctx.json:
            ctx.emit_json(_entry_json(m, b"", value))
        else:
            ctx.out.write(_entry_text(m, b"", value))
        return 0

    return _with_map(args, go)


def do_pop(ctx: Context, args: list[str]) -> int:
    return _pop_or_peek(ctx, args, True)


def do_peek(ctx: Context, args: list[str]) -> int:
    return _pop_or_peek(ctx, args, False)


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
