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

import re
from typing import Any

__all__ = ["Raw", "Object", "Writer", "dumps"]


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


class Writer:
    """bpftool's ``json_writer`` as a stream: the same calls, the same bytes.

    Commands that print as they go (``map dump``: entries, interleaved with plain-text error
    lines the way bpftool's ``printf`` output lands between its JSON tokens) use this;
    :func:`dumps` is the one-shot form. :meth:`text` appends raw text without touching the
    writer's state (bpftool's stdout ``printf`` while a writer is open).
    """

    __slots__ = ("out", "depth", "sep", "pretty")

    def __init__(self, pretty: bool = False) -> None:
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

    def start_object(self) -> None:
        """``jsonw_start_object``."""
        self.begin("{")

    def end_object(self) -> None:
        """``jsonw_end_object``."""
        self.end("}")

    def start_array(self) -> None:
        """``jsonw_start_array``."""
        self.begin("[")

    def end_array(self) -> None:
        """``jsonw_end_array``."""
        self.end("]")

    def name(self, key: str) -> None:
        """``jsonw_name``: the key of the next member."""
        self.eor()
        self.eol()
        self.sep = ""
        self.out.append(_quote(key) + (": " if self.pretty else ":"))

    def text(self, raw: str) -> None:
        """Raw text on the same stream (a ``printf`` between JSON tokens); state unchanged."""
        self.out.append(raw)

    def getvalue(self) -> str:
        """Everything written so far, plus the final newline ``jsonw_destroy`` prints."""
        return "".join(self.out) + "\n"

    def value(self, v: Any) -> None:
        """One value (a whole tree for containers)."""
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
        import json  # here: most commands never print JSON, and json costs ms to import

        return json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"
    w = Writer(pretty)
    w.value(value)
    return w.getvalue()
