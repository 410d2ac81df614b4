// Networking programs of tests/link: each counts what it saw in a global and drops when the
// test sets `drop`, so tests check both that the program ran and that its verdict applied.
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u16 target_port = 0;          /* host order */
__u32 drop = 0;
__u64 xdp_hits = 0, tc_hits = 0, tcx_hits = 0, tcx2_hits = 0, sock_hits = 0, cg_hits = 0;
__u64 lookup_hits = 0, dissect_hits = 0, nf_hits = 0, msg_hits = 0, skb_verdict_hits = 0;
__u32 order[4] = {};
__u32 order_n = 0;

static __always_inline int is_target(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);

	if ((void *)(udp + 1) > data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	return udp->dest == bpf_htons(target_port);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	if (!is_target((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_PASS;
	__sync_fetch_and_add(&xdp_hits, 1);
	return drop ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	if (!is_target((void *)(long)skb->data, (void *)(long)skb->data_end))
		return 0;                       /* TC_ACT_OK */
	__sync_fetch_and_add(&tc_hits, 1);
	return drop ? 2 : 0;                    /* TC_ACT_SHOT : TC_ACT_OK */
}

static __always_inline void note_order(__u32 who)
{
	__u32 n = order_n;

	if (n < 4)
		order[n] = who;
	order_n = n + 1;
}

SEC("tcx/ingress")
int tcx_count(struct __sk_buff *skb)
{
	if (!is_target((void *)(long)skb->data, (void *)(long)skb->data_end))
		return -1;                      /* TCX_NEXT */
	__sync_fetch_and_add(&tcx_hits, 1);
	note_order(1);
	return drop ? 2 : -1;                   /* TCX_DROP : TCX_NEXT */
}

SEC("tcx/egress")
int tcx_second(struct __sk_buff *skb)
{
	if (!is_target((void *)(long)skb->data, (void *)(long)skb->data_end))
		return -1;
	__sync_fetch_and_add(&tcx2_hits, 1);
	note_order(2);
	return -1;
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&sock_hits, 1);
	return drop ? 0 : skb->len;
}

SEC("cgroup/sock_create")
int cg_sock(struct bpf_sock *sk)
{
	if (sk->type != 2 /* SOCK_DGRAM */)
		return 1;
	__sync_fetch_and_add(&cg_hits, 1);
	return drop ? 0 : 1;
}

SEC("sk_lookup")
int lookup_count(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol != IPPROTO_UDP || ctx->local_port != target_port)
		return SK_PASS;
	__sync_fetch_and_add(&lookup_hits, 1);
	return drop ? SK_DROP : SK_PASS;
}

SEC("flow_dissector")
int dissect_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&dissect_hits, 1);
	return BPF_FLOW_DISSECTOR_CONTINUE;
}

struct bpf_nf_ctx___local {
	void *state;
	void *skb;
};

SEC("netfilter")
int nf_count(struct bpf_nf_ctx___local *ctx)
{
	__sync_fetch_and_add(&nf_hits, 1);
	return drop ? 0 : 1;                    /* NF_DROP : NF_ACCEPT */
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

SEC("sk_msg")
int msg_count(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&msg_hits, 1);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skb_verdict_hits, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
