"""Benchmark subjects, one module per topic; each has ``subjects(smoke) -> list[Pair | Metric]``."""
