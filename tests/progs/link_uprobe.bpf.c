// uprobe/uretprobe/uprobe.multi/USDT programs of tests/link. The USDT program reads its
// arguments through libbpf's own usdt.bpf.h (the test build patches its __kconfig extern and
// __weak subprograms into inline code, which the interim test loader can handle).
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "usdt_inline.bpf.h"

__u64 up_hits = 0, up_arg_sum = 0;
__u64 uret_hits = 0, uret_sum = 0;
__u64 multi_hits = 0, multi_cookie_sum = 0;
__u64 usdt_hits = 0, usdt_cookie = 0;
__s64 usdt_arg_cnt = 0, usdt_arg0_sum = 0, usdt_last_args[3] = {};

SEC("uprobe")
int on_entry(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&up_hits, 1);
	__sync_fetch_and_add(&up_arg_sum, PT_REGS_PARM1(ctx));
	return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&uret_hits, 1);
	__sync_fetch_and_add(&uret_sum, PT_REGS_RC(ctx));
	return 0;
}

SEC("uprobe.multi")
int on_multi(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&multi_hits, 1);
	__sync_fetch_and_add(&multi_cookie_sum, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("usdt")
int on_usdt(struct pt_regs *ctx)
{
	long a0 = 0, a1 = 0, a2 = 0;

	__sync_fetch_and_add(&usdt_hits, 1);
	usdt_cookie = bpf_usdt_cookie(ctx);
	usdt_arg_cnt = bpf_usdt_arg_cnt(ctx);
	bpf_usdt_arg(ctx, 0, &a0);
	bpf_usdt_arg(ctx, 1, &a1);
	bpf_usdt_arg(ctx, 2, &a2);
	__sync_fetch_and_add(&usdt_arg0_sum, a0);
	usdt_last_args[0] = a0;
	usdt_last_args[1] = a1;
	usdt_last_args[2] = a2;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
