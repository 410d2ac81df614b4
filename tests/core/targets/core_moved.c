/* Target "kernel" where every field moved: new fields in front, members reordered, the
 * anonymous struct nested one level deeper, bitfields shifted and the inner struct grown. */
struct core_inner {
	long added;
	int y;
	int x;
};

enum core_color { CORE_RED, CORE_GREEN = 5, CORE_BLUE = -3 };
enum core_big { CORE_B0 = 0x100000000ULL, CORE_B1, CORE_B2 = 0xfffffffffffffff0ULL };
typedef unsigned int core_u32;

struct core_sample {
	long new_first;
	void *ptr;
	union {
		struct {
			char anon_c;
			long pad;
			long anon_l;
		};
		char raw[24];
	};
	unsigned long long ull;
	struct core_inner *next;
	core_u32 tu;
	int grid[2][3];
	unsigned int pad_bits:5, bf2:7, bf1:3, bf3:22;
	int sbf:5;
	int arr[4];
	struct core_inner in;
	unsigned char c;
	int s;
	unsigned int u;
	int a;
	union {
		short us;
		int ui;
	};
	enum core_color col;
	enum core_big big;
	char flex[];
};

struct core_sample *core_anchor_sample;
enum core_color core_anchor_color;
enum core_big core_anchor_big;
core_u32 core_anchor_u32;
