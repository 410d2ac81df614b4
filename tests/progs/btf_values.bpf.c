/* Map keys/values and global variables covering bpftool's BTF value formatting (btf_dumper). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_A = 0xfffffffffULL, BIG_B = 3 };
enum __attribute__((packed)) small { S0, S1, S2 = 200 };
enum wide_u { WU = 0x80000001u };
typedef unsigned int u32_t;
typedef char label_t[6];

struct key {
	__u32 a;
	__u16 b;
	char c;
};

struct inner {
	char tag[4];
	unsigned short port;
};

struct value {
	int i;
	unsigned int u;
	long long ll;
	unsigned long long ull;
	short s;
	unsigned short us;
	char c;
	unsigned char uc;
	signed char sc;
	_Bool b;
	_Bool b2;
	unsigned int bf1 : 3;
	int bf2 : 5;
	unsigned long long bf3 : 40;
	int bf4 : 1;
	char name[16];
	char raw[8];
	label_t label;
	const char cname[4];
	enum color col;
	enum big big;
	enum small sm;
	enum wide_u wu;
	void *ptr;
	struct inner in[2];
	union {
		int ui;
		unsigned char ub[4];
	};
	struct {
		short sx;
		short sy;
	};
	__int128 wide;
	unsigned __int128 uwide;
	int matrix[2][3];
	const volatile u32_t cv;
	char empty[0];
};

struct with_float {
	int before;
	float f;
	int after;
};

struct small_val {
	__u64 x;
	char s[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct key);
	__type(value, struct value);
} values_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct with_float);
} float_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct small_val);
} pcpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, enum big);
	__type(value, enum color);
} enum_hash SEC(".maps");

int counter = 3;
char greeting[8] = "hi";
struct inner global_inner = { .tag = "ab", .port = 80 };
enum color global_color = GREEN;
long zeroed;
const volatile int limit = -7;

SEC("xdp")
int values_prog(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct key hk = {};
	enum big ek = BIG_A;
	void *a = bpf_map_lookup_elem(&values_hash, &hk);
	void *b = bpf_map_lookup_elem(&float_array, &k);
	void *c = bpf_map_lookup_elem(&pcpu_array, &k);
	void *d = bpf_map_lookup_elem(&enum_hash, &ek);

	zeroed = counter + limit + global_color + greeting[0] + global_inner.port;
	return (a || b || c || d) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
