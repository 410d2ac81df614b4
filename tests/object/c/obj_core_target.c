/* A made-up "kernel" for tests/object: its BTF (clang -g -target bpf -c) is a custom CO-RE
 * target (kernel_btf=, libbpf's btf_custom_path) in which task_struct's fields sit elsewhere
 * and one of them is missing. */
struct task_struct;

enum bpf_map_type { BPF_MAP_TYPE_UNSPEC = 0, BPF_MAP_TYPE_RINGBUF = 99 };

struct task_struct {
	char comm[16];
	long pad[3];
	int tgid;
	int pid;
	unsigned int sched_reset_on_fork : 1;
	struct task_struct *real_parent;
};

struct task_struct a_task;
enum bpf_map_type a_type;
