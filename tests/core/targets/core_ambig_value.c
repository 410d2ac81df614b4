/* Two flavors that agree on where 'a' and 'b' are but not on the size of 'b'. */
struct core_amb___x {
	int a;
	short b;
};

struct core_amb___y {
	int a;
	int b;
};

struct core_amb___x *core_anchor_x;
struct core_amb___y *core_anchor_y;
