"""Attaching programs: one module per attach kind, each returning a ``Link``."""
