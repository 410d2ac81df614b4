"""Names a package exports but imports on first use (PEP 562), so that ``import pybpf`` and
the layers a tool needs stay cheap. This module imports nothing at import time, so any layer
may use it.

In a package's ``__init__``::

    _LAZY = {"Map": "pybpf.maps.map", ...}          # exported name -> module that defines it
    __getattr__, __dir__ = lazy_exports(globals(), _LAZY)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable


def lazy_exports(namespace: dict[str, object], table: dict[str, str], prefix: str = "",
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` for a package whose ``namespace`` (its
    ``globals()``) exports the names in ``table``, each from module ``prefix + table[name]``.
    A name is imported when first asked for and then kept in the namespace; any other name
    raises AttributeError like a plain module (submodules not imported yet are still found by
    the import system, which does not go through ``__getattr__``)."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(prefix + module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
