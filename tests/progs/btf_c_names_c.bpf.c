/* Name clashes for the BTF-to-C dumper, part 3 of 3 (see btf_c_names_a.bpf.c). */
struct fwdclash { char other; };
struct clash { char c; };
typedef char clash_t;
typedef struct clash clash_s;
enum { CLASH_A = 7 } g_anon_enum_c;

struct user_c {
	struct fwdclash f;
	struct clash c;
	clash_t t;
	clash_s cs;
};

struct user_c g_user_c;
