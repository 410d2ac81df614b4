// SPDX-License-Identifier: GPL-2.0
/* bpf_map iterators for the events tests: one prints a text table (bpf_seq_printf), the other
 * writes one binary record per map (bpf_seq_write).
 *
 * No vmlinux.h and no CO-RE: the offsets of struct bpf_map's fields come from the running
 * kernel's BTF as -D macros (MAP_ID_OFF, MAP_TYPE_OFF, KEY_SIZE_OFF, VALUE_SIZE_OFF,
 * MAX_ENTRIES_OFF), computed by the test.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;
struct bpf_map;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
};

struct map_record {
	__u32 id;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 magic;
	__u64 seq_num;
};

#define FIELD(map, off) (*(__u32 *)((char *)(map) + (off)))

SEC("iter/bpf_map")
int maps_text(struct bpf_iter__bpf_map *ctx)
{
	static const char header[] = "id type key_size value_size max_entries\n";
	static const char row[] = "%u %u %u %u %u\n";
	static const char trailer[] = "end\n";
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map *map = ctx->map;
	__u64 args[5];

	if (!map) {		/* the last call, after every map */
		bpf_seq_printf(seq, trailer, sizeof(trailer), NULL, 0);
		return 0;
	}
	if (ctx->meta->seq_num == 0)
		bpf_seq_printf(seq, header, sizeof(header), NULL, 0);
	args[0] = FIELD(map, MAP_ID_OFF);
	args[1] = FIELD(map, MAP_TYPE_OFF);
	args[2] = FIELD(map, KEY_SIZE_OFF);
	args[3] = FIELD(map, VALUE_SIZE_OFF);
	args[4] = FIELD(map, MAX_ENTRIES_OFF);
	bpf_seq_printf(seq, row, sizeof(row), args, sizeof(args));
	return 0;
}

SEC("iter/bpf_map")
int maps_binary(struct bpf_iter__bpf_map *ctx)
{
	struct bpf_map *map = ctx->map;
	struct map_record rec;

	if (!map)
		return 0;
	rec.id = FIELD(map, MAP_ID_OFF);
	rec.type = FIELD(map, MAP_TYPE_OFF);
	rec.key_size = FIELD(map, KEY_SIZE_OFF);
	rec.value_size = FIELD(map, VALUE_SIZE_OFF);
	rec.max_entries = FIELD(map, MAX_ENTRIES_OFF);
	rec.magic = 0x5eedf00d;
	rec.seq_num = ctx->meta->seq_num;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
