/* Target "kernel" where fields changed size: unsigned ones grew or shrank (loads can be
 * resized), signed ones grew (loads cannot), the pointer became a 32-bit integer, the enum
 * and typedef'd field widened, arrays got longer or shorter. */
struct core_inner {
	long x;
	short y;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef unsigned long core_u32;

struct core_sample {
	long a;
	unsigned long u;
	long long s;
	unsigned short c;
	struct core_inner in;
	struct {
		long anon_l;
		char anon_c;
	};
	union {
		long ui;
		int us;
	};
	unsigned long bf1:3, bf2:7, bf3:30;
	int sbf:5;
	int arr[2];
	int grid[3][3];
	enum core_color col;
	enum core_big big;
	core_u32 tu;
	struct core_inner *next;
	void *ptr;
	unsigned int ull;
	long flex[];
};

struct core_sample *core_anchor_sample;
enum core_color core_anchor_color;
enum core_big core_anchor_big;
core_u32 core_anchor_u32;
