/* Name clashes for the BTF-to-C dumper, part 2 of 3 (see btf_c_names_a.bpf.c). */
struct clash { long b; };
typedef long clash_t;
enum clash_enum { CLASH_A = 5, CLASH_C };
union u_clash { long y; };
enum ident_enum { ident_x = 3, CLASH_B = 9 };	/* enumerators clash with a typedef and an enumerator */
struct fwdclash { int z; };
struct self_ref { struct self_ref *prev; clash_t t; };
typedef struct clash clash_s;

struct user_b {
	struct clash c;
	clash_t t;
	enum clash_enum e;
	union u_clash u;
	enum ident_enum ie;
	struct fwdclash f;
	struct self_ref s;
	clash_s cs;
};

struct user_b g_user_b;
