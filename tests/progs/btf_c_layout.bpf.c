/* Layout cases for the BTF-to-C dumper: bitfields, padding, packed/aligned records,
 * anonymous nesting, flexible and multidimensional arrays, qualified arrays and pointers.
 * Every type is reached from a global so clang emits it into .BTF. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef long long s64;

/* Bitfields of every width of a 64-bit storage unit, so some straddle 8/16/32-bit units. */
#define BF(n) u64 b##n : n;
struct bits_all_widths {
	BF(1) BF(2) BF(3) BF(4) BF(5) BF(6) BF(7) BF(8) BF(9) BF(10) BF(11) BF(12) BF(13)
	BF(14) BF(15) BF(16) BF(17) BF(18) BF(19) BF(20) BF(21) BF(22) BF(23) BF(24) BF(25)
	BF(26) BF(27) BF(28) BF(29) BF(30) BF(31) BF(32) BF(33) BF(34) BF(35) BF(36) BF(37)
	BF(38) BF(39) BF(40) BF(41) BF(42) BF(43) BF(44) BF(45) BF(46) BF(47) BF(48) BF(49)
	BF(50) BF(51) BF(52) BF(53) BF(54) BF(55) BF(56) BF(57) BF(58) BF(59) BF(60) BF(61)
	BF(62) BF(63) BF(64)
};

struct bits_mixed_units {
	u8 a : 3;
	u16 b : 10;		/* straddles the first byte */
	u32 c : 20;		/* straddles a 16-bit unit */
	u64 d : 40;		/* straddles a 32-bit unit */
	int e : 1;
	signed char f : 7;
	long g : 33;
	_Bool h : 1;
	char tail;
};

struct bits_then_gap {
	int a : 3;
	int : 0;		/* force the next field to a new unit */
	int b : 4;
	long : 0;
	char c;
	int d : 5;
	u64 : 13;
	u64 e : 2;
};

struct bits_signed {
	int neg : 5;
	unsigned int pos : 5;
	enum { BS_A = -2, BS_B = 1 } en : 3;
	long long big : 63;
};

/* Padding: gaps only a padding field can reproduce. */
struct gaps {
	char a;
	long b __attribute__((aligned(32)));
	char c;
	int d __attribute__((aligned(16)));
	short e;
} __attribute__((aligned(64)));

struct __attribute__((packed)) packed_basic {
	char a;
	int b;
	short c;
	long d;
};

struct __attribute__((packed)) packed_naturally_aligned {
	int a;
	int b;
};

struct packed_member_holder {
	char x;
	struct packed_basic pb;
	char y;
	struct packed_naturally_aligned pna;
};

struct __attribute__((packed, aligned(4))) packed_aligned {
	char a;
	int b;
	char c;
};

struct __attribute__((aligned(16))) overaligned {
	int a;
};

struct overaligned_holder {
	char c;
	struct overaligned o;
	char d;
};

struct tail_padding {
	long a;
	char b;
};

struct packed_tail_bitfield {
	u32 a : 4;
	u8 b;
} __attribute__((packed));

/* Anonymous nesting, several levels deep, with anonymous enums inside. */
struct nested_anon {
	int kind;
	union {
		struct {
			int x;
			union {
				short y;
				char z[2];
				struct {
					u8 lo : 4;
					u8 hi : 4;
				};
			};
			enum { NA_ONE = 1, NA_TWO = 2 } which;
		} s;
		struct {
			long p;
			struct {
				struct {
					struct {
						int deepest;
					} l4;
				} l3;
			} l2;
		};
		u64 raw[2];
	};
	struct {
		int inner_a;
	} named_member_of_anon_type;
	union {
		int ua;
		float uf;
	} *ptr_to_anon;
};

/* Flexible, zero-length, multidimensional and qualified arrays. */
struct flex {
	int len;
	char data[];
};

struct zero_len {
	long a;
	int empty[0];
};

struct arrays {
	int m2[2][3];
	char m3[2][3][4];
	const int carr[4];
	volatile u8 varr[3];
	const volatile long cvarr[2][2];
	int *parr[5];
	int (*arrp)[5];
	int (*arrp2)[2][3];
	const char *const cpc[2];
	char *volatile pv;
	const int *const volatile *restrict cvr;
	struct flex *flexp;
	struct zero_len zl;
};

struct empty {};
struct empty_holder {
	struct empty e;
	int after;
	struct empty e2[3];
};
union empty_union {};

union sizes {
	char c;
	short s;
	int i;
	long l;
	float f;
	double d;
	long double ld;
	__int128 big;
	unsigned __int128 ubig;
};

struct bits_all_widths g_bits_all_widths;
struct bits_mixed_units g_bits_mixed_units;
struct bits_then_gap g_bits_then_gap;
struct bits_signed g_bits_signed;
struct gaps g_gaps;
struct packed_member_holder g_packed_member_holder;
struct packed_aligned g_packed_aligned;
struct overaligned_holder g_overaligned_holder;
struct tail_padding g_tail_padding;
struct packed_tail_bitfield g_packed_tail_bitfield;
struct nested_anon g_nested_anon;
struct arrays g_arrays;
struct flex g_flex;
struct empty_holder g_empty_holder;
union empty_union g_empty_union;
union sizes g_sizes;
s8 g_s8;
s64 g_s64;
