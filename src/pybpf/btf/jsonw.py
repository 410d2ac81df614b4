"""Former home of bpftool's JSON writer, now :mod:`pybpf.jsonw` (shared by every CLI command).

Kept so that ``from pybpf.btf.jsonw import dumps, Object, Raw`` keeps working.
"""

from pybpf.jsonw import Object, Raw, _quote, dumps

__all__ = ["Raw", "Object", "dumps", "_quote"]
