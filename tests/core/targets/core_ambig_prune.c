/* Two flavors: both have 'a' at offset 0; only ___y has 'b', so after the relocation of 'b'
 * only ___y stays a candidate -- and 'c', which only ___x has, is then not found. */
struct core_amb___x {
	int a;
	int pad;
	int c;
};

struct core_amb___y {
	int a;
	int b;
};

struct core_amb___x *core_anchor_x;
struct core_amb___y *core_anchor_y;
