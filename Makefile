# pybpf developer entry points. `make test` is the README's test command and what CI runs.
PYTHON ?= python3

.PHONY: test test-setup unit bench bench-smoke

test: test-setup
	PYBPF_REQUIRE_KERNEL=1 $(PYTHON) -m pytest

test-setup:
	PYTHON=$(PYTHON) bash scripts/setup-test-env.sh

# Benchmarks: pybpf beside bpftool, libbpf (ctypes) and libbpf-tools, all installed by the setup
# script; writes BENCHMARKS.md. BENCH_ARGS e.g. "-n 9 --only tool" or '--note "machine busy"'.
bench: test-setup
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# The harness self-check CI runs (tests/test_bench_smoke.py): tiny sizes, one run, no file written.
bench-smoke: test-setup
	$(PYTHON) bench/run.py --smoke -o -

# Tests that need no privileges and no kernel (parsers, disassembler, CO-RE engine).
unit:
	$(PYTHON) -m pytest -m "not kernel"

# The tools' BPF objects shipped inside the package (src/pybpf/tools/*.bpf.o): clang-19 against
# a vmlinux.h that pybpf itself generates from the running kernel's BTF, plus libbpf's headers
# (/usr/include/bpf). DWARF is stripped as libbpf-tools do; BTF and .BTF.ext stay for CO-RE.
BPF_CLANG ?= clang-19
BPF_STRIP ?= llvm-strip-19
BPF_BUILD := build/bpf
BPF_TOOLS_DIR := src/pybpf/tools
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -I$(BPF_BUILD) -Wall -Werror
BPF_TOOL_OBJS := $(patsubst %.bpf.c,%.bpf.o,$(wildcard $(BPF_TOOLS_DIR)/*.bpf.c))

.PHONY: bpf FORCE
bpf: $(BPF_TOOL_OBJS)

# Regenerated on every run, replaced only when the kernel's BTF changed.
$(BPF_BUILD)/vmlinux.h: FORCE
	@mkdir -p $(BPF_BUILD)
	PYTHONPATH=src $(PYTHON) -m pybpf btf dump file /sys/kernel/btf/vmlinux format c > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(BPF_TOOLS_DIR)/%.bpf.o: $(BPF_TOOLS_DIR)/%.bpf.c $(BPF_TOOLS_DIR)/tools.bpf.h $(BPF_BUILD)/vmlinux.h
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(BPF_STRIP) -g $@
