// kprobe-family and trampoline programs of tests/link (this kernel cannot attach them; the
// tests check the errors and the attributes pybpf would send).
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

__u64 kprobe_hits = 0;

SEC("kprobe/__x64_sys_getpid")
int on_kprobe(void *ctx)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kprobe.multi/__x64_sys_getp*")
int on_kprobe_multi(void *ctx)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("fentry/bpf_fentry_test1")
int on_fentry(__u64 *ctx)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("fmod_ret/bpf_modify_return_test")
int on_fmod_ret(__u64 *ctx)
{
	return 0;
}

SEC("fexit/bpf_fentry_test1")
int on_fexit(__u64 *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int on_lsm(__u64 *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
