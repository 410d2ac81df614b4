# pybpf developer entry points. `make test` is the README's test command and what CI runs.
PYTHON ?= python3

.PHONY: test test-setup unit

test: test-setup
	PYBPF_REQUIRE_KERNEL=1 $(PYTHON) -m pytest

test-setup:
	PYTHON=$(PYTHON) bash scripts/setup-test-env.sh

# Tests that need no privileges and no kernel (parsers, disassembler, CO-RE engine).
unit:
	$(PYTHON) -m pytest -m "not kernel"
