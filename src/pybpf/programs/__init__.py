"""Live BPF programs (``Program``), loadable from raw instructions."""
