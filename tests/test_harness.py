"""The test harness itself: fixtures compile with the real toolchain."""

import subprocess


def test_compile_bpf_builds_a_bpf_object(compile_bpf, require_tools):
    require_tools("llvm-readelf-19")
    obj = compile_bpf(source='''
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
''', name="harness")
    hdr = subprocess.run(["llvm-readelf-19", "-h", obj], capture_output=True, text=True, check=True)
    assert "EM_BPF" in hdr.stdout
    assert compile_bpf(source='''
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
''', name="harness") == obj
