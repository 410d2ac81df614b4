/* Programs in several sections with subprograms and every CO-RE relocation kind, for .BTF.ext. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task {
	int pid;
	int tgid;
	struct {
		char comm[16];
	} info;
	unsigned int flags : 3, more : 5;
} __attribute__((preserve_access_index));

enum state { ST_A = 1, ST_B = 2 };
typedef struct task task_t;

static __noinline int helper(struct task *t)
{
	return BPF_CORE_READ(t, tgid);
}

__noinline int global_helper(int x)
{
	return x * 2;
}

SEC("tp/syscalls/sys_enter_openat")
int handle_open(struct task *t)
{
	int x = BPF_CORE_READ(t, pid) + helper(t);

	x += bpf_core_field_exists(t->flags);
	x += bpf_core_field_size(t->info.comm);
	x += BPF_CORE_READ_BITFIELD_PROBED(t, more);
	x += bpf_core_type_exists(task_t);
	x += bpf_core_type_size(struct task);
	x += bpf_core_type_id_local(struct task);
	x += bpf_core_type_id_kernel(struct task);
	x += bpf_core_enum_value_exists(enum state, ST_B);
	x += bpf_core_enum_value(enum state, ST_A);
	x += bpf_core_type_matches(struct task);
	return global_helper(x);
}

SEC("xdp")
int handle_xdp(struct xdp_md *ctx)
{
	return helper((struct task *)(long)ctx->data) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
