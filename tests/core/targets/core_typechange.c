/* Target "kernel" where fields kept their names but changed kind: the inner struct became a
 * pointer, an int became a struct, the enum an int, an array a scalar, and the typedef
 * names a struct; the flexible array is no longer last. */
struct core_inner {
	int x;
	int y;
};

struct core_a {
	int v;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef struct core_inner core_u32;

struct core_sample {
	struct core_a a;
	unsigned int u;
	int s;
	unsigned char c;
	struct core_inner *in;
	struct {
		long anon_l;
		char anon_c;
	};
	union {
		int ui;
		short us;
	};
	unsigned int bf1:3, bf2:7, bf3:22;
	int sbf:5;
	int arr;
	int grid[2][3];
	int col;
	enum core_big big;
	core_u32 tu;
	struct core_inner next;
	void *ptr;
	unsigned long long ull;
	char flex[0];
	int after_flex;
};

struct core_sample *core_anchor_sample;
enum core_color core_anchor_color;
enum core_big core_anchor_big;
core_u32 core_anchor_u32;
