// SPDX-License-Identifier: GPL-2.0
/* Global data as libbpf maps it: .rodata (const volatile, edited before load), .data, .bss,
 * custom .data.X and .rodata.X sections, structs with bitfields, arrays, a static and
 * a hidden global. globals_xdp copies what it sees into out_values and counts its runs. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct config {
	int mult;
	short add;
	char tag[6];
	unsigned int flag : 1, level : 3;
};

const volatile int rd_mult = 2;
const volatile struct config rd_cfg = { .mult = 3, .add = 4, .tag = "abc", .flag = 1, .level = 5 };
const volatile char rd_name[8] = "pybpf";
int data_counter = 10;
__u64 data_arr[4] = { 1, 2, 3, 4 };
__u64 bss_total;
struct config bss_cfg;
int custom_data SEC(".data.custom") = 77;
const volatile int custom_ro SEC(".rodata.custom") = 88;
static volatile int static_counter;
__hidden int hidden_global = 5;
__u64 out_values[8];

SEC("xdp")
int globals_xdp(struct xdp_md *ctx)
{
	out_values[0] = rd_mult * data_counter;
	out_values[1] = rd_cfg.mult + rd_cfg.add + rd_cfg.flag + rd_cfg.level;
	out_values[2] = rd_name[0] + rd_cfg.tag[1];
	out_values[3] = custom_data + custom_ro;
	out_values[4] = data_arr[0] + data_arr[1] + data_arr[2] + data_arr[3];
	out_values[5] = hidden_global;
	out_values[6] = bss_cfg.mult + bss_cfg.level;
	out_values[7] = static_counter;
	bss_total += 1;
	static_counter++;
	data_counter++;
	return XDP_PASS;
}
