// SPDX-License-Identifier: GPL-2.0
/* A large object: 64 programs of several types sharing subprograms, maps and globals (the
 * benchmark's "many programs" subject; also checked against bpftool). */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} seen SEC(".maps");

const volatile __u64 weight = 1;
__u64 total;

static __noinline int bump(__u32 slot, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (!v)
		return 0;
	*v += by * weight;
	return 1;
}

static __noinline int remember(__u64 key)
{
	__u64 one = 1;

	return bpf_map_update_elem(&seen, &key, &one, BPF_ANY);
}

#define XDP_PROG(n) \
SEC("xdp") int xdp_##n(struct xdp_md *ctx) \
{ \
	bump(n, ctx->data_end - ctx->data); \
	total += n; \
	return XDP_PASS; \
}

#define TC_PROG(n) \
SEC("tc") int tc_##n(struct __sk_buff *skb) \
{ \
	bump(n, skb->len); \
	remember(skb->mark + n); \
	return 0; \
}

#define TP_PROG(n) \
SEC("raw_tp/sys_enter") int raw_##n(void *ctx) \
{ \
	remember(bpf_get_current_pid_tgid() + n); \
	bump(n, 1); \
	return 0; \
}

#define FOUR(M, a) M(a##0) M(a##1) M(a##2) M(a##3)
#define SIXTEEN(M, a) FOUR(M, a##0) FOUR(M, a##1) FOUR(M, a##2) FOUR(M, a##3)

SIXTEEN(XDP_PROG, 1)
SIXTEEN(XDP_PROG, 2)
SIXTEEN(TC_PROG, 3)
SIXTEEN(TP_PROG, 1)
