/* Target "kernel" with exactly the layout the CO-RE test programs were written against. */
struct core_inner {
	int x;
	int y;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef unsigned int core_u32;

struct core_sample {
	int a;
	unsigned int u;
	int s;
	unsigned char c;
	struct core_inner in;
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
	int arr[4];
	int grid[2][3];
	enum core_color col;
	enum core_big big;
	core_u32 tu;
	struct core_inner *next;
	void *ptr;
	unsigned long long ull;
	char flex[];
};

struct core_sample *core_anchor_sample;
enum core_color core_anchor_color;
enum core_big core_anchor_big;
core_u32 core_anchor_u32;
