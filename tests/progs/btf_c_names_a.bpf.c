/* Name clashes for the BTF-to-C dumper, part 1 of 3: linked with btf_c_names_b/c.bpf.c by
 * `bpftool gen object`, whose BTF keeps same-named but different types apart. */
struct clash { int a; };
typedef int clash_t;
enum clash_enum { CLASH_A, CLASH_B };
union u_clash { int x; };
typedef int ident_x;
struct fwdclash;
struct self_ref { struct self_ref *next; struct clash c; };

struct user_a {
	struct clash c;
	clash_t t;
	enum clash_enum e;
	union u_clash u;
	ident_x i;
	struct fwdclash *f;
	struct self_ref s;
};

struct user_a g_user_a;
