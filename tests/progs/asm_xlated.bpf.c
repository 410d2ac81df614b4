// Fixture for the xlated-dump tests: a program the verifier accepts on Linux 6.1+, with
// maps (hash lookups become calls, array lookups are inlined), global data (map values),
// a bpf-to-bpf call, a callback (ld_imm64 of a function) and helpers, so that the kernel's
// translated code contains every form bpftool's dumper prints specially.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xl_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} xl_array SEC(".maps");

__u64 xl_total = 0;
__u32 xl_seen = 7;

static __noinline __u64 xl_mix(__u64 a, __u64 b)
{
	if (a > b)
		return a - b;
	return (a ^ b) + 3;
}

static long xl_step(__u64 index, void *ctx)
{
	*(__u64 *)ctx += index;
	return 0;
}

SEC("xdp")
int xl_prog(struct xdp_md *xdp)
{
	__u32 key = xdp->ingress_ifindex & 3;
	__u64 *v, sum = 0;

	v = bpf_map_lookup_elem(&xl_hash, &key);
	if (v)
		sum += *v;
	v = bpf_map_lookup_elem(&xl_array, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		sum += *v;
	}
	bpf_loop(4, xl_step, &sum, 0);
	sum = xl_mix(sum, bpf_ktime_get_ns() & 0xff);
	xl_total += sum;
	xl_seen++;
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
