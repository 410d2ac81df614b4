"""The ``pybpf`` command line: bpftool's grammar and JSON schema, plus pybpf's own additions."""
