"""libbpf-tools-style tools, each with its BPF C source and the built object beside it."""
