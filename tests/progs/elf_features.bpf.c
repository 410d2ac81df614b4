// SPDX-License-Identifier: GPL-2.0
/* ELF reader fixture: many sections, symbol kinds and relocation types in one BPF object.
 *
 * Programs in several executable sections (one with '?'), static and global subprograms in
 * .text, a callback passed by address (LD_IMM64 of a function), BTF-defined maps, .data,
 * .rodata, .bss, a custom .data section, kconfig externs (one weak), a weak global, and
 * -g debug info (R_BPF_64_ABS32/ABS64 relocations in .debug_*, R_BPF_64_NODYLD32 in .BTF.ext).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

const volatile __u32 targ_pid = 0;
const char greeting[] = "hello, elf";
__u64 total = 0;
__u64 hits[4];
char buf[16] = "data";
__u32 custom_counter SEC(".data.custom") = 7;
__u64 weak_default __weak = 3;

extern int LINUX_KERNEL_VERSION __kconfig;
extern __u32 CONFIG_HZ __kconfig __weak;

static __noinline int helper(int x)
{
	return x * 2 + targ_pid;
}

__noinline int global_helper(int x)
{
	return x + (int)weak_default;
}

static int loop_cb(__u32 index, void *ctx)
{
	__u64 *sum = ctx;

	*sum += index;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_exec(void *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	__u64 sum = 0;

	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_loop(4, loop_cb, &sum, 0);
	total += helper(3) + sum;
	hits[1]++;
	custom_counter++;
	return greeting[0] == 'h' ? 0 : 1;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	buf[0] = 'D';
	return global_helper(ctx->ingress_ifindex) ? XDP_PASS : XDP_DROP;
}

SEC("?kprobe/do_nanosleep")
int probe_sleep(void *ctx)
{
	__u64 *slot = bpf_ringbuf_reserve(&events, 8, 0);

	if (!slot)
		return 0;
	*slot = LINUX_KERNEL_VERSION + CONFIG_HZ;
	bpf_ringbuf_submit(slot, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
