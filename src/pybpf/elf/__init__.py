"""ELF64 reader for BPF object files (no syscalls)."""
