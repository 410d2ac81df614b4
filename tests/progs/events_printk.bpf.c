// SPDX-License-Identifier: GPL-2.0
/* bpf_printk() of a token the test chooses (token[0]), for the trace pipe tests. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} token SEC(".maps");

SEC("xdp")
int printk_token(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&token, &zero);

	if (t)
		bpf_printk("pybpf-tracelog-test %llu 'quoted' \"double\" end", *t);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
