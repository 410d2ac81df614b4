// SPDX-License-Identifier: GPL-2.0
/* A small BPF TCP congestion control (struct tcp_congestion_ops) for the struct_ops tests:
 * Reno through the kernel's tcp_reno_* kfuncs, every callback counting its calls in a global.
 *
 * Built as is, its map is in SEC(".struct_ops") (registered by writing the map's value, what
 * libbpf 1.1 / bpftool 7.1 know); with -DSTRUCT_OPS_LINK in SEC(".struct_ops.link")
 * (BPF_F_LINK: registered through a bpf_link), plus a second map pybpf_cc_b sharing the
 * callbacks but for init, to replace the first one with StructOpsLink.update_map.
 * -DST_OPS_SEC='"?.struct_ops.link"' picks any section name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#ifndef ST_OPS_SEC
#ifdef STRUCT_OPS_LINK
#define ST_OPS_SEC ".struct_ops.link"
#else
#define ST_OPS_SEC ".struct_ops"
#endif
#endif

char LICENSE[] SEC("license") = "GPL";

__u64 init_calls;
__u64 init_b_calls;
__u64 release_calls;
__u64 ssthresh_calls;
__u64 cong_avoid_calls;
__u64 undo_calls;

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

SEC("struct_ops/pybpf_init")
void BPF_PROG(pybpf_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/pybpf_release")
void BPF_PROG(pybpf_release, struct sock *sk)
{
	__sync_fetch_and_add(&release_calls, 1);
}

SEC("struct_ops/pybpf_ssthresh")
__u32 BPF_PROG(pybpf_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&ssthresh_calls, 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/pybpf_cong_avoid")
void BPF_PROG(pybpf_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/pybpf_undo_cwnd")
__u32 BPF_PROG(pybpf_undo_cwnd, struct sock *sk)
{
	__sync_fetch_and_add(&undo_calls, 1);
	return tcp_reno_undo_cwnd(sk);
}

SEC(ST_OPS_SEC)
struct tcp_congestion_ops pybpf_cc = {
	.init = (void *)pybpf_init,
	.release = (void *)pybpf_release,
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_cc",
};

#ifdef STRUCT_OPS_LINK
SEC("struct_ops/pybpf_init_b")
void BPF_PROG(pybpf_init_b, struct sock *sk)
{
	__sync_fetch_and_add(&init_b_calls, 1);
}

SEC(ST_OPS_SEC)
struct tcp_congestion_ops pybpf_cc_b = {
	.init = (void *)pybpf_init_b,
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_cc_b",
};
#endif
