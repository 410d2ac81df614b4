/* Target "kernel" where fields were renamed (so the old names are missing): a, in.y, anon_c,
 * bf3, us, flex and the pointer next are gone under their old names. */
struct core_inner {
	int x;
	int y_renamed;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef unsigned int core_u32;

struct core_sample {
	int a_renamed;
	unsigned int u;
	int s;
	unsigned char c;
	struct core_inner in;
	struct {
		long anon_l;
		char anon_c_renamed;
	};
	union {
		int ui;
		short us_renamed;
	};
	unsigned int bf1:3, bf2:7, bf3_renamed:22;
	int sbf:5;
	int arr[4];
	int grid[2][3];
	enum core_color col;
	enum core_big big;
	core_u32 tu;
	struct core_inner *next_renamed;
	void *ptr;
	unsigned long long ull;
	char flex_renamed[];
};

struct core_sample *core_anchor_sample;
enum core_color core_anchor_color;
enum core_big core_anchor_big;
core_u32 core_anchor_u32;
