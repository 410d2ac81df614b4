"""JSON text exactly as bpftool's ``json_writer`` prints it (every ``-j``/``-p`` output of the CLI).

bpftool's writer differs from :func:`json.dumps` in ways that show up byte for byte: with ``-p``
it indents by 4 but keeps ``[{`` / ``},{`` together and puts scalar array elements on one line
(``[151\\n        ]``), and it escapes only ``\\t \\n \\r \\f \\b \\\\ \\"`` in strings (other bytes
go out raw). Values are Python objects: ``dict`` (insertion order kept), ``list``/``tuple``,
``str``, ``int``, ``bool``, ``None`` and :class:`Raw` (text printed as is, for bpftool's
``jsonw_printf`` tokens such as ``"0x1"`` or ``(unknown)``).

Compact output of safe values goes through :func:`json.dumps` (same bytes, C speed).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["Raw", "Object", "dumps"]


class Raw(str):
    """Text emitted verbatim where a JSON value goes (bpftool's ``jsonw_printf``)."""

    __slots__ = ()


class Object(list):
    """A JSON object as an ordered list of ``(key, value)`` pairs (keys may repeat, as in
    bpftool's output for several anonymous members)."""

    __slots__ = ()

    def to_dict(self) -> dict:
        """A ``dict`` (later duplicate keys win), nested Objects converted too."""
        return {k: _plainify(v) for k, v in self}


def _plainify(v: Any) -> Any:
    if isinstance(v, Object):
        return v.to_dict()
    if isinstance(v, list):
        return [_plainify(x) for x in v]
    return v


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f", "\b": "\\b", "\\": "\\\\", '"': '\\"'}
_NEEDS_ESCAPE = re.compile(r'[\t\n\r\f\b\\"]')
# Characters json.dumps would escape differently from bpftool (other control chars).
_UNSAFE_FOR_JSON_MODULE = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f\u2028\u2029]")


def _quote(s: str) -> str:
    if _NEEDS_ESCAPE.search(s):
        s = _NEEDS_ESCAPE.sub(lambda mo: _ESCAPES[mo.group()], s)
    return f'"{s}"'


class _Writer:
    __slots__ = ("out", "depth", "sep", "pretty")

    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.depth = 0
        self.sep = ""
        self.pretty = pretty

    def eor(self) -> None:
        if self.sep:
            self.out.append(self.sep)
        self.sep = ","

    def eol(self) -> None:
        if self.pretty:
            self.out.append("\n" + "    " * self.depth)

    def begin(self, c: str) -> None:
        self.eor()
        self.out.append(c)
        self.depth += 1
        self.sep = ""

    def end(self, c: str) -> None:
        self.depth -= 1
        if self.sep:
            self.eol()
        self.out.append(c)
        self.sep = ","

    def name(self, key: str) -> None:
        self.eor()
        self.eol()
        self.sep = ""
        self.out.append(_quote(key) + (": " if self.pretty else ":"))

    def value(self, v: Any) -> None:
        if isinstance(v, Object):
            self.begin("{")
            for k, x in v:
                self.name(k)
                self.value(x)
            self.end("}")
        elif isinstance(v, dict):
            self.begin("{")
            for k, x in v.items():
                self.name(k)
                self.value(x)
            self.end("}")
        elif isinstance(v, (list, tuple)):
            self.begin("[")
            for x in v:
                self.value(x)
            self.end("]")
        else:
            self.eor()
            if isinstance(v, Raw):
                self.out.append(str(v))
            elif isinstance(v, str):
                self.out.append(_quote(v))
            elif v is True:
                self.out.append("true")
            elif v is False:
                self.out.append("false")
            elif v is None:
                self.out.append("null")
            elif isinstance(v, int):
                self.out.append(str(int(v)))
            else:
                self.out.append(repr(v))


def _plain(v: Any) -> bool:
    """Whether json.dumps prints ``v`` exactly as bpftool would (compact mode)."""
    if isinstance(v, dict):
        return all(_plain(k) and _plain(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_plain(x) for x in v)
    if isinstance(v, (Raw, Object, tuple, float)):
        return False
    if isinstance(v, str):
        return not _UNSAFE_FOR_JSON_MODULE.search(v)
    return True


def dumps(value: Any, pretty: bool = False, *, trusted: bool = False) -> str:
    """``value`` as bpftool prints it with ``-j`` (``pretty=False``) or ``-p``, plus its final newline.

    ``trusted=True`` skips the scan for values :func:`json.dumps` would print differently
    (use it when all strings are known to be plain, e.g. BTF names).
    """
    if not pretty and (trusted or _plain(value)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"
    w = _Writer(pretty)
    w.value(value)
    return "".join(w.out) + "\n"
