"""Live BPF maps (``Map``), usable with or without an ELF object."""
