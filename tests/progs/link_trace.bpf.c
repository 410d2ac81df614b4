// Programs for the tracing attach kinds of tests/link: each counts its runs in a global the
// test reads back (only runs by the test's own process count, through target_pid).
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

__u32 target_pid = 0;
__u64 tp_hits = 0;
__u64 raw_tp_hits = 0;
__u64 tp_btf_hits = 0;
__u64 perf_hits = 0;
__u64 cookie_seen = 0;

static __always_inline int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("tp/syscalls/sys_enter_getpid")
int on_tp(void *ctx)
{
	if (mine()) {
		__sync_fetch_and_add(&tp_hits, 1);
		cookie_seen = bpf_get_attach_cookie(ctx);
	}
	return 0;
}

SEC("raw_tp/sys_enter")
int on_raw_tp(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int on_tp_btf(__u64 *ctx)
{
	if (mine())
		__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	__sync_fetch_and_add(&perf_hits, 1);
	return 0;
}

struct bpf_iter_meta {
	void *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	void *map;
	void *key;
	void *value;
};

SEC("iter/bpf_map_elem")
int dump_elems(struct bpf_iter__bpf_map_elem *ctx)
{
	void *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u64 *value = ctx->value;

	if (!key || !value)
		return 0;
	bpf_seq_write(seq, key, sizeof(*key));
	bpf_seq_write(seq, value, sizeof(*value));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
