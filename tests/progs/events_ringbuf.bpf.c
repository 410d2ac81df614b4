// SPDX-License-Identifier: GPL-2.0
/* Ring buffer producers for the events tests, driven by BPF_PROG_TEST_RUN with repeat.
 *
 * Every record carries a sequence number taken from one counter (stats[SEQ]), so the test can
 * tell which records arrived, in which order, and check the payload bytes, which are a function
 * of the sequence number. Failed reserves are counted (stats[DROPPED]), discarded records too.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_PAYLOAD 256

enum { SEQ, SUBMITTED, DROPPED, DISCARDED, NSTATS };

struct fixed_event {
	__u64 seq;
	__u32 cpu;
	__u32 magic;
	__u64 square;		/* seq * seq */
	__u64 inverse;		/* ~seq */
};

struct var_event {
	__u64 seq;
	__u32 size;		/* payload bytes */
	__u32 magic;
	__u8 payload[MAX_PAYLOAD];
};

struct config {
	__u32 discard_every;	/* discard record n when n % discard_every == discard_every - 1 */
	__u32 rings;		/* 1: rb only; 2: alternate rb / rb2 by sequence number */
	__u64 wakeup_flags;	/* BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} rb2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

/* Never used by the programs: it puts struct fixed_event into the object's BTF (clang emits
 * types of globals and maps, not of local variables) for the BTF-typed decoding tests. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fixed_event);
} fixed_event_type SEC(".maps");

/* bpf_ringbuf_query() results: the kernel's own view of the ring (rb_query) */
enum { Q_AVAIL, Q_SIZE, Q_CONS, Q_PROD, NQUERY };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NQUERY);
	__type(key, __u32);
	__type(value, __u64);
} query SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct var_event);
} scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u64 next_seq(void)
{
	__u32 idx = SEQ;
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	return v ? __sync_fetch_and_add(v, 1) : 0;
}

static __always_inline struct config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

/* One fixed-size record per run, through reserve/submit (or discard). */
SEC("xdp")
int rb_fixed(struct xdp_md *ctx)
{
	struct config *cfg = get_config();
	struct fixed_event *e;
	void *ring = &rb;
	__u64 seq;

	if (!cfg)
		return XDP_ABORTED;
	seq = next_seq();
	if (cfg->rings == 2 && (seq & 1))
		ring = &rb2;
	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		count(DROPPED);
		return XDP_PASS;
	}
	e->seq = seq;
	e->cpu = bpf_get_smp_processor_id();
	e->magic = 0xfeedbeef;
	e->square = seq * seq;
	e->inverse = ~seq;
	if (cfg->discard_every && seq % cfg->discard_every == cfg->discard_every - 1) {
		bpf_ringbuf_discard(e, cfg->wakeup_flags);
		count(DISCARDED);
		return XDP_PASS;
	}
	bpf_ringbuf_submit(e, cfg->wakeup_flags);
	count(SUBMITTED);
	return XDP_PASS;
}

/* One record of varying size per run (bpf_ringbuf_output): 16 header bytes plus
 * (seq * 37) % 241 payload bytes, payload[i] = (seq + i) & 0xff. Sizes not a multiple of 8
 * exercise the 8-byte rounding, and records straddle the end of the ring. */
SEC("xdp")
int rb_variable(struct xdp_md *ctx)
{
	struct config *cfg = get_config();
	struct var_event *e;
	__u32 zero = 0, size, i;
	__u64 seq;
	long err;

	if (!cfg)
		return XDP_ABORTED;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return XDP_ABORTED;
	seq = next_seq();
	size = (seq * 37) % 241;
	e->seq = seq;
	e->size = size;
	e->magic = 0xfeedbeef;
	for (i = 0; i < MAX_PAYLOAD; i++)
		e->payload[i] = (seq + i) & 0xff;
	/* bound the size where the verifier checks it (clang would hoist a C-level mask) */
	asm volatile("%0 &= 0xff" : "+r"(size));
	err = bpf_ringbuf_output(cfg->rings == 2 && (seq & 1) ? (void *)&rb2 : (void *)&rb,
				 e, 16 + size, cfg->wakeup_flags);
	if (err) {
		count(DROPPED);
		return XDP_PASS;
	}
	count(SUBMITTED);
	return XDP_PASS;
}

static __always_inline void store(__u32 idx, __u64 value)
{
	__u64 *v = bpf_map_lookup_elem(&query, &idx);

	if (v)
		*v = value;
}

/* The kernel's positions of ring "rb", for checking what the consumer published. */
SEC("xdp")
int rb_query(struct xdp_md *ctx)
{
	store(Q_AVAIL, bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA));
	store(Q_SIZE, bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE));
	store(Q_CONS, bpf_ringbuf_query(&rb, BPF_RB_CONS_POS));
	store(Q_PROD, bpf_ringbuf_query(&rb, BPF_RB_PROD_POS));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
