"""``Record`` (see :mod:`pybpf.record`), where the live-object layer first imported it from."""

from pybpf.record import Record, field_spec

__all__ = ["Record", "field_spec"]
