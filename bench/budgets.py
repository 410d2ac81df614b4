"""The performance budgets rows are judged against, in one place (DESIGN.md and the issues).

Subjects attach them to their rows (``budget=budgets.DUMP_C``). Rows of subjects that do not
declare one get theirs from :data:`BY_NAME` (matched on the row name), so a budget from the
DESIGN is never left out of the report because a subject forgot it.
"""

from __future__ import annotations

from harness import Budget

#: DESIGN.md / issue 3: `btf dump … format c` of vmlinux ≤ 2× bpftool
DUMP_C = Budget("ratio", "<=", 2.0, "DESIGN.md, issue 3")
#: issue 3: kernel BTF name lookup ready within 50 ms (warm index cache) and 1 s (cold)
BTF_LOOKUP_WARM = Budget("pybpf", "<=", 0.050, "issue 3")
BTF_LOOKUP_COLD = Budget("pybpf", "<=", 1.0, "issue 3")
#: issue 5: open + load of a tool-sized object within 2× libbpf's wall time (warm BTF cache)
LOAD_TOOL_SIZED = Budget("ratio", "<=", 2.0, "issue 5")
#: DESIGN.md: tool start → attached ≤ 2× libbpf-tools (warm BTF cache), ≤ 0.5 s cold
TOOL_ATTACH_WARM = Budget("ratio", "<=", 2.0, "DESIGN.md")
TOOL_ATTACH_COLD = Budget("pybpf", "<=", 0.5, "DESIGN.md")
#: DESIGN.md: RSS of a running tool ≤ 40 MB (rows in MiB: 40e6 bytes)
TOOL_RSS = Budget("pybpf", "<=", 40e6 / 2**20, "DESIGN.md", "pybpf <= 40 MB (38.1 MiB)")
#: DESIGN.md: ring buffer ≥ 2× libbpf's C ring buffer with a Python callback; ≥ 5 M events/s
#: through a batch API
RING_CALLBACK = Budget("ratio", ">=", 2.0, "DESIGN.md")
RING_BATCH = Budget("pybpf", ">=", 5e6, "DESIGN.md")

#: (substring of the row name, budget) for rows that declare none; first match wins
BY_NAME: list[tuple[str, Budget]] = [
    ("ringbuf: callback API vs libbpf + Python callback", RING_CALLBACK),
    ("ringbuf mixed sizes: callback API vs libbpf + Python callback", RING_CALLBACK),
    ("ringbuf: batch API (read_batch) vs libbpf + Python callback", RING_BATCH),
]


def for_row(name: str, declared: Budget | None) -> Budget | None:
    if declared is not None:
        return declared
    return next((b for pattern, b in BY_NAME if pattern in name), None)
