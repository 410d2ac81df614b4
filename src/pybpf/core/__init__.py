"""CO-RE: the relocation engine (single place of truth, like libbpf's relo_core.c)."""
