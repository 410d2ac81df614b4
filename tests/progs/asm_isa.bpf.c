// Fixture for the instruction-layer tests: every instruction class clang emits, at every
// -mcpu. Features that need a newer ISA are guarded by the __BPF_FEATURE_* macros clang
// defines, so one source builds at v1, v2, v3 and v4.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __s64);
} totals SEC(".maps");

__u64 global_counter = 0;
__s32 global_signed = -5;
const volatile __u32 filter_pid = 0;
char message[16] = "hello";

struct sample {
	__s8 a;
	__s16 b;
	__s32 c;
	__u8 d;
	__u16 e;
	__u32 f;
	__u64 g;
};

static __noinline __u64 mix(__u64 x, __u32 y)
{
	return (x * 31 + y) ^ (x >> 7);
}

static __noinline int clamp(int v)
{
	if (v < -100)
		return -100;
	if (v > 100)
		return 100;
	return v;
}

static long sum_cb(void *map, __u32 *key, __u64 *val, void *ctx)
{
	*(__u64 *)ctx += *val;
	return 0;
}

static long loop_cb(__u64 index, void *ctx)
{
	*(__u64 *)ctx += index * 3;
	return index > 5;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int isa_alu(void *ctx)
{
	struct sample *s = ctx;
	__u64 r = bpf_ktime_get_ns();
	__u32 w = (__u32)r;
	__s64 sr = (__s64)r;
	__s32 sw = (__s32)w;

	r += s->g;
	r -= s->f;
	r *= 7;
	r /= (w | 1);
	r %= 1000;
	r <<= 3;
	r >>= 1;
	r ^= 0xdeadbeef;
	r |= 0x10;
	r &= ~0xfULL;
	w += s->e;
	w *= 3;
	w /= (s->d | 1);
	w %= 97;
	w <<= (s->d & 7);
	w >>= 2;
	w = -w;
	sr >>= 5;
	sw >>= 3;
	r = ~r;
	r = -r;
	r += (__u64)(__s64)s->a + (__u64)(__s64)s->b + (__u64)(__s64)s->c;
#ifdef __BPF_FEATURE_SDIV_SMOD
	sr /= (sw | 1);
	sr %= 13;
	sw /= -3;
	sw %= 5;
#endif
#ifdef __BPF_FEATURE_BSWAP
	r ^= __builtin_bswap64(r) + __builtin_bswap32(w) + __builtin_bswap16((__u16)w);
#endif
	r ^= __builtin_bswap64(sr) ^ __builtin_bswap32(w) ^ __builtin_bswap16((__u16)sw);
	r += mix(r, w) + (__u64)clamp(sw);
	global_counter = r + (__u64)sr + (__u64)(__s64)sw + w;
	return (int)r;
}

SEC("tracepoint/syscalls/sys_enter_close")
int isa_mem(void *ctx)
{
	__u32 key = 0;
	__u64 *v, sum = 0;
	__s64 *t;
	struct sample s = {};

	v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		__u64 one = 1;
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
		return 0;
	}
	__sync_fetch_and_add(v, 1);
	__sync_fetch_and_or(v, 2);
	__sync_fetch_and_and(v, ~4ULL);
	__sync_fetch_and_xor(v, 8);
#ifdef __BPF_FEATURE_ALU32
	sum += __sync_fetch_and_add(v, 16);
	sum += __sync_fetch_and_or(v, 32);
	sum += __sync_fetch_and_and(v, ~64ULL);
	sum += __sync_fetch_and_xor(v, 128);
	sum += __sync_lock_test_and_set(v, 5);
	sum += __sync_val_compare_and_swap(v, 5, 6);
	sum += __sync_fetch_and_add((__u32 *)&global_signed, 0) ? 0 : 1;
#endif
	t = bpf_map_lookup_elem(&totals, &key);
	if (t) {
		__sync_fetch_and_add((__s32 *)t, 3);
#ifdef __BPF_FEATURE_ALU32
		sum += (__u32)__sync_fetch_and_add((__s32 *)t, 3);
		sum += (__u32)__sync_lock_test_and_set((__s32 *)t, 9);
		sum += (__u32)__sync_val_compare_and_swap((__s32 *)t, 9, 10);
		sum += (__u32)__sync_fetch_and_or((__u32 *)t, 1);
		sum += (__u32)__sync_fetch_and_xor((__u32 *)t, 1);
		sum += (__u32)__sync_fetch_and_and((__u32 *)t, 1);
#endif
	}
	bpf_probe_read_kernel(&s, sizeof(s), ctx);
	sum += (__u64)(__s64)s.a + (__u64)(__s64)s.b + (__u64)(__s64)s.c;
	sum += s.d + s.e + s.f + s.g;
	s.a = -1;
	s.b = 2;
	s.c = 3;
	s.g = sum;
	bpf_probe_read_kernel(&sum, sizeof(sum), &s);
	bpf_for_each_map_elem(&counts, sum_cb, &sum, 0);
	bpf_loop(10, loop_cb, &sum, 0);
	global_signed += (__s32)sum;
	if (filter_pid && message[0] == 'h')
		bpf_printk("sum %llu", sum);
	return sum > 100;
}

SEC("xdp")
int isa_jumps(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u8 *p = data;
	int acc = 0;

	if (data + 64 > end)
		return XDP_PASS;
	for (int i = 0; i < 32; i++) {
		__s8 c = (__s8)p[i];
		if (c < 0)
			acc -= c;
		else if (c > 10)
			acc += c * 2;
		else if ((p[i] & 3) == 2)
			acc ^= i;
		if ((__u32)acc >= 1000)
			break;
	}
	if (acc == 7 || acc != -7)
		acc = clamp(acc);
	return acc & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
