/* Declarator and ordering cases for the BTF-to-C dumper: function pointers and prototypes,
 * enums of every size and signedness, typedef chains, type and decl tags, forward-declared
 * cycles. Every type is reached from a global so clang emits it into .BTF. */

#pragma clang diagnostic ignored "-Wvisibility"

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

/* Enums: signed, unsigned, 64-bit, packed (1 and 2 bytes), anonymous top-level constants. */
enum signed_enum { SG_MIN = -2147483647 - 1, SG_NEG = -1, SG_ZERO, SG_MAX = 2147483647 };
enum unsigned_enum { UN_ZERO, UN_BIG = 4294967295u };
enum enum64_unsigned { E64U_A = 0xffffffffffffffffULL, E64U_B = 1 };
enum enum64_signed { E64S_A = -0x7fffffffffffffffLL - 1, E64S_B = 0x100000000LL };
enum __attribute__((packed)) packed_u8 { P8_A, P8_B = 200 };
enum __attribute__((packed)) packed_s8 { P8S_A = -3, P8S_B = 3 };
enum __attribute__((packed)) packed_u16 { P16_A = 300 };
enum __attribute__((packed)) packed_64 { P64_A = 0x1ffffffffULL };
enum { ANON_CONST_A = 10, ANON_CONST_B = 20 };
enum { ANON_USED_A, ANON_USED_B } anon_enum_var;
enum empty_fwd_enum;

/* Typedef chains. */
typedef int int_t;
typedef int_t int2_t;
typedef const int2_t cint2_t;
typedef cint2_t *pcint2_t;
typedef volatile pcint2_t vpcint2_t;
typedef vpcint2_t arr_of_vp_t[4];
typedef arr_of_vp_t *ptr_arr_t;
typedef struct chained chained_t;
typedef chained_t chained2_t;
typedef union { int a; char b; } anon_union_t;
typedef struct { int x, y; } anon_struct_t;
typedef enum { AE_X, AE_Y } anon_enum_t;
typedef anon_struct_t anon_struct_alias_t;
struct chained {
	chained2_t *self;
	int2_t v;
	arr_of_vp_t arr;
	anon_union_t u;
	anon_struct_alias_t s;
	anon_enum_t e;
};

/* Function pointers and prototypes. */
typedef void (*void_fn_t)(void);
typedef int (*binop_t)(int, int);
typedef int (*vararg_fn_t)(const char *fmt, ...);
typedef int (*named_args_t)(int count, const char **names, void *ctx);
typedef void (*(*fn_returning_fn_t)(int))(long);
typedef int (*(*fn_returning_arr_ptr_t)(void))[3];
typedef binop_t (*fn_returning_binop_t)(binop_t a, binop_t b);
typedef void fn_type_t(int);
typedef fn_type_t *fn_type_ptr_t;
typedef char *(*const const_fn_ptr_t)(char *restrict dst, const char *restrict src);

struct fn_ptrs {
	void_fn_t v;
	binop_t ops[4];
	int (*inline_ops[2][2])(int);
	void (*(*nested)(int))(long);
	vararg_fn_t printer;
	named_args_t named;
	fn_returning_fn_t rf;
	fn_returning_arr_ptr_t ra;
	fn_returning_binop_t rb;
	fn_type_ptr_t ftp;
	const_fn_ptr_t cfp;
	struct chained *(*make)(struct chained *from, struct { int anon_arg; } *opts);
	void (*take_enum)(enum { TE_A, TE_B } e);
	int (**pp_fn)(void);
	int (*const cfn)(void);
};

/* Forward-declared cycles through pointers, and a struct only ever seen through one. */
struct cyc_b;
struct cyc_a {
	struct cyc_b *b;
	struct cyc_a *self;
	int a;
};
struct cyc_b {
	struct cyc_a a;
	struct cyc_c *c;
};
struct cyc_c {
	struct cyc_b *b;
	struct cyc_a a_arr[2];
};
struct only_fwd;
union only_fwd_union;
struct fwd_users {
	struct only_fwd *of;
	union only_fwd_union *ofu;
	struct only_fwd *ofs[3];
};
typedef struct tdcyc tdcyc_t;
struct tdcyc {
	tdcyc_t *next;
	struct {
		tdcyc_t *inner_next;
		struct tdcyc *inner_self;
	} anon;
};

/* Type tags and decl tags. */
struct tagged {
	int __ttag("user") *user_ptr;
	int __ttag("percpu") __ttag("rcu") *multi;
	const int __ttag("user") *const_user;
	int member __tag("member_tag");
	void __ttag("user") *vptr;
} __tag("struct_tag");
typedef int tagged_int_t __tag("typedef_tag");
union tagged_union {
	int a __tag("umember");
	long b;
} __tag("union_tag");

__attribute__((noinline)) int tagged_func(int x __tag("param_tag"), struct tagged *t) __tag("func_tag");
__attribute__((noinline)) int tagged_func(int x, struct tagged *t)
{
	return x + t->member;
}

int_t g_int_t;
ptr_arr_t g_ptr_arr;
struct chained g_chained;
struct fn_ptrs g_fn_ptrs;
struct cyc_c g_cyc_c;
struct fwd_users g_fwd_users;
struct tdcyc g_tdcyc;
struct tagged g_tagged;
tagged_int_t g_tagged_int __tag("var_tag");
union tagged_union g_tagged_union;
enum signed_enum g_signed_enum;
enum unsigned_enum g_unsigned_enum;
enum enum64_unsigned g_e64u;
enum enum64_signed g_e64s;
enum packed_u8 g_p8;
enum packed_s8 g_p8s;
enum packed_u16 g_p16;
enum packed_64 g_p64;
enum empty_fwd_enum *g_empty_fwd_enum;
int g_anon_consts = ANON_CONST_A + ANON_CONST_B;
void_fn_t g_void_fn;
fn_type_ptr_t g_fn_type_ptr;

__attribute__((section("tc"), used)) int prog(void *ctx)
{
	return tagged_func(1, &g_tagged);
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
