/* Target "kernel" whose enums changed: CORE_RED was removed, CORE_GREEN and CORE_BLUE got new
 * values, CORE_PURPLE was added; the 64-bit enum lost CORE_B2, and its values moved. */
struct core_inner {
	int x;
	int y;
};

enum core_color { CORE_PURPLE = 1, CORE_BLUE = 9, CORE_GREEN = 0x7fffffff };
enum core_big { CORE_B1 = 0x7ffffffffULL, CORE_B0 = 2, CORE_B3 };
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
