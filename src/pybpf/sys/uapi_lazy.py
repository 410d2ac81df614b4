"""The machinery behind :mod:`pybpf.sys.uapi`: enums and ctypes layouts built on first use.

The generated module holds its enums and layouts as small text tables (one member or field a
line, read only when asked for) and calls :func:`install`, which gives the module a
``__getattr__`` (PEP 562). The first access to ``uapi.bpf_attr``, ``uapi.bpf_cmd`` or
``uapi.BPF_MAP_TYPE_HASH`` builds that class (and the layouts it contains), stores it in the
module's namespace and returns it; later accesses are ordinary attribute lookups. Importing
the module therefore costs a few hundred microseconds instead of building every enum member
and ctypes class of the UAPI.

Table formats (written by :mod:`pybpf.sys.gen_uapi`):

- enums: ``name -> (base, doc, text)``, ``base`` is ``"IntEnum"`` or ``"IntFlag"``, ``text`` has
  one ``MEMBER = value`` a line (aliases included, in the kernel's order);
- layouts: ``name -> (kind, doc, anonymous, text)``, ``kind`` is ``"struct"`` or ``"union"``,
  ``anonymous`` the members promoted with ``_anonymous_``, ``text`` one ``name: type`` a line,
  where ``type`` is ``u8``..``u64``, ``s8``..``s64``, ``char``, ``bool`` or another layout's
  name, optionally followed by C array dimensions (``char[16]``, ``u64[2][4]``); a bitfield
  ends in ``:bits`` (``gpl_compatible: u32:1``).

Building is serialized by a lock, so two threads asking for the same name get the same class.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module must import fast
    from typing import Any, Callable

__all__ = ["install", "parse_enum", "parse_fields", "build_enum", "build_layout", "SCALARS"]

#: Scalar type names of the layout tables -> ctypes type names.
SCALARS: dict[str, str] = {
    "u8": "c_uint8", "u16": "c_uint16", "u32": "c_uint32", "u64": "c_uint64",
    "s8": "c_int8", "s16": "c_int16", "s32": "c_int32", "s64": "c_int64",
    "char": "c_char", "bool": "c_bool",
}

#: (base class name, docstring, member lines)
EnumDef = tuple[str, str, str]
#: (struct or union, docstring, anonymous members, field lines)
LayoutDef = tuple[str, str, tuple[str, ...], str]


def parse_enum(text: str) -> tuple[tuple[str, int], ...]:
    """``((member, value), ...)`` from an enum table's text."""
    out = []
    for line in text.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            out.append((name.strip(), int(value)))
    return tuple(out)


def parse_fields(text: str) -> list[tuple[str, str, tuple[int, ...], int]]:
    """``[(field, base type, array dimensions, bit size or 0), ...]`` from a layout's text."""
    out = []
    for line in text.splitlines():
        name, sep, spec = line.partition(": ")
        if not sep:
            continue
        spec, _, bits = spec.strip().partition(":")
        base, _, dims = spec.partition("[")
        shape = tuple(int(d) for d in dims.rstrip("]").split("][")) if dims else ()
        out.append((name.strip(), base, shape, int(bits) if bits else 0))
    return out


def build_enum(name: str, base: str, doc: str, members: tuple[tuple[str, int], ...],
               module: str) -> Any:
    """The ``enum.IntEnum``/``enum.IntFlag`` class ``name`` with these members."""
    import enum

    cls = getattr(enum, base)(name, list(members), module=module, qualname=name)
    cls.__doc__ = doc
    return cls


def build_layout(name: str, kind: str, doc: str, anonymous: tuple[str, ...], text: str,
                 resolve: Callable[[str], Any], module: str) -> Any:
    """The ctypes ``Structure``/``Union`` class ``name``; ``resolve`` gives other layouts."""
    import ctypes

    fields: list[tuple[Any, ...]] = []
    for fname, base, shape, bits in parse_fields(text):
        scalar = SCALARS.get(base)
        ctype = getattr(ctypes, scalar) if scalar else resolve(base)
        for n in reversed(shape):
            ctype = ctype * n
        fields.append((fname, ctype, bits) if bits else (fname, ctype))
    parent: Any = ctypes.Union if kind == "union" else ctypes.Structure
    namespace: dict[str, Any] = {"__doc__": doc, "__module__": module, "__qualname__": name}
    if anonymous:
        namespace["_anonymous_"] = anonymous
    namespace["_fields_"] = fields
    return type(parent)(name, (parent,), namespace)


def install(namespace: dict[str, Any], enums: dict[str, EnumDef],
            layouts: dict[str, LayoutDef]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the generated module whose globals are ``namespace``.

    Also defines ``enum_members(name)`` there: an enum's ``(member, value)`` pairs without
    building its class.
    """
    module = namespace["__name__"]
    lock = _thread.RLock()
    members_of: dict[str, tuple[tuple[str, int], ...]] = {}
    owner_of: dict[str, str] = {}  # module-level member name -> its enum (first one wins)

    def enum_members(name: str) -> tuple[tuple[str, int], ...]:
        """``((member, value), ...)`` of enum ``name`` in the kernel's order, aliases
        included, without building the enum class (raises KeyError for unknown names)."""
        got = members_of.get(name)
        if got is None:
            got = members_of[name] = parse_enum(enums[name][2])
        return got

    def owners() -> dict[str, str]:
        if not owner_of:
            index: dict[str, str] = {}
            for ename in enums:
                for member, _ in enum_members(ename):
                    index.setdefault(member, ename)
            owner_of.update(index)  # all at once: another thread never sees half an index
        return owner_of

    def make(name: str) -> Any:
        if name in enums:
            base, doc, _ = enums[name]
            return build_enum(name, base, doc, enum_members(name), module)
        if name in layouts:
            kind, doc, anonymous, text = layouts[name]
            return build_layout(name, kind, doc, anonymous, text, get, module)
        if name == "ENUM_CLASSES":
            return tuple(get(n) for n in enums)
        if name == "LAYOUTS":
            return {n: get(n) for n in layouts}
        if name == "__all__":
            return public_names()
        owner = owners().get(name)
        if owner is not None:
            return getattr(get(owner), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def get(name: str) -> Any:
        try:
            return namespace[name]
        except KeyError:
            pass
        with lock:  # built once, even when two threads ask at the same moment
            if name not in namespace:
                namespace[name] = make(name)
            return namespace[name]

    def public_names() -> list[str]:
        eager = [n for n in namespace if not n.startswith("_") and n not in ("annotations",)]
        lazy = [*enums, *owners(), *layouts, "ENUM_CLASSES", "LAYOUTS"]
        return list(dict.fromkeys([*eager, *lazy]))

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name != "__all__" and name not in layouts:
            # Dunder probes (__path__, __wrapped__, ...) are never table entries; private
            # "__MAX_*" constants are plain globals and never reach here.
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return get(name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(enums) | set(owners()) | set(layouts)
                      | {"ENUM_CLASSES", "LAYOUTS"})

    namespace["enum_members"] = enum_members
    return __getattr__, __dir__
