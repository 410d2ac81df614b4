/* Two flavors that put 'a' at different offsets: the relocation is ambiguous. */
struct core_amb___x {
	int a;
};

struct core_amb___y {
	int pad;
	int a;
};

struct core_amb___x *core_anchor_x;
struct core_amb___y *core_anchor_y;
