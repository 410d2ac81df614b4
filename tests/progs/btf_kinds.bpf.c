/* Every BTF kind clang emits, for parser tests (no kernel headers needed). */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

enum small_enum { SE_A = -1, SE_B = 7 };
enum big_enum { BE_A = 0xffffffffffULL, BE_B = 1 };
enum __attribute__((packed)) packed_enum { PE_A, PE_B };

struct bits {
	unsigned int a : 3;
	int b : 5;
	unsigned long long c : 33;
	char d;
	_Bool e : 1;
} __tag("struct_tag");

union anon_holder {
	struct {
		int x;
		union {
			short y;
			char z[2];
		};
	};
	long whole;
};

typedef struct bits bits_t;
typedef bits_t *bits_ptr_t;
struct fwd_only;
typedef int (*callback_t)(void *ctx, const volatile int *restrict p, ...);

struct holder {
	bits_t b;
	union anon_holder u;
	struct fwd_only *fwd;
	enum small_enum se;
	enum big_enum be;
	enum packed_enum pe;
	int matrix[2][3];
	float f;
	double d;
	int __ttag("user") *tagged;
	callback_t cb;
	char flex[];
} __attribute__((packed));

struct holder global_holder __tag("var_tag");
int counter = 3;
const volatile int ro_value = 5;

__noinline int sub(int x __tag("param_tag"))
{
	return x + counter;
}

SEC("tc")
int prog(struct holder *h)
{
	return sub(h->b.a) + ro_value + global_holder.matrix[1][2];
}

char LICENSE[] SEC("license") = "GPL";
