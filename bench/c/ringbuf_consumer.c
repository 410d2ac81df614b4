// SPDX-License-Identifier: BSD-2-Clause
/* The plain C side of the ring/perf buffer benchmarks: libbpf's consumers with C callbacks
 * that copy each record out (as a C tool hands it to its formatting code). Built by
 * bench/subjects/ringbuf.py with gcc at benchmark time and called through ctypes; no Python
 * runs per record. */
#include <stddef.h>
#include <string.h>
#include <bpf/libbpf.h>

char bench_sink[1 << 16];
unsigned long long bench_bytes;
unsigned long long bench_records;

/* records handed to the C callbacks since the last call */
unsigned long long bench_take_records(void)
{
	unsigned long long n = bench_records;

	bench_records = 0;
	return n;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	memcpy(bench_sink, data, size < sizeof(bench_sink) ? size : sizeof(bench_sink));
	bench_bytes += size;
	bench_records++;
	return 0;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	memcpy(bench_sink, data, size < sizeof(bench_sink) ? size : sizeof(bench_sink));
	bench_bytes += size;
	bench_records++;
}

struct ring_buffer *bench_ring_new(int map_fd)
{
	return ring_buffer__new(map_fd, on_ring_sample, NULL, NULL);
}

int bench_ring_consume(struct ring_buffer *rb)
{
	return ring_buffer__consume(rb);
}

void bench_ring_free(struct ring_buffer *rb)
{
	ring_buffer__free(rb);
}

struct perf_buffer *bench_perf_new(int map_fd, size_t pages)
{
	return perf_buffer__new(map_fd, pages, on_perf_sample, NULL, NULL, NULL);
}

int bench_perf_consume(struct perf_buffer *pb)
{
	return perf_buffer__consume(pb);
}

void bench_perf_free(struct perf_buffer *pb)
{
	perf_buffer__free(pb);
}
