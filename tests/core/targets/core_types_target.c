/* Namesakes of the types in tests/progs/core_types.bpf.c, each changed in one way. */
struct core_m_fwd;

struct core_m_subset { long extra; long b; int a; };          /* superset: matches */
struct core_m_intsize { long a; };                            /* int size differs */
struct core_m_sign { int a; };                                /* signedness differs */
struct core_m_ptr { struct core_m_fwd *p; struct core_m_subset *q; }; /* same */
struct core_m_ptr_kind { union core_m_union *p; };            /* pointee kind differs */
union core_m_union { char b; int a; long c; };                /* union superset */
union core_m_vs_union { int a; };                             /* union, not struct */
enum core_m_enum { CME_C = 3, CME_B = 7, CME_A = 9 };         /* names kept, values changed */
enum core_m_enum_missing { CMM_A };                           /* lost an enumerator */
enum core_m_enum64 { CM64_B = 1, CM64_A = 2 };                /* now 32-bit: size differs */
enum core_m_enum_size { CMS_A = 0x100000000ULL, CMS_B };      /* now 64-bit */
typedef int (*core_m_fn)(int, long);                          /* same prototype */
typedef int (*core_m_fn_arity)(int);                          /* one argument fewer */
typedef int core_m_long;                                      /* int of another size */
typedef unsigned int core_m_uint;                             /* same */
struct core_m_arr { int a[5]; };                              /* array length differs */
struct core_m_nested { int z; struct core_m_subset s; };      /* nested match, reordered */
struct core_m_anon { int y; struct { int x; }; };             /* anonymous member moved */
struct core_m_flavor___target { int a; };                     /* flavored namesake */
struct core_m_names { int a; int c; };                        /* member renamed */
struct core_m_float { double d; float f; };                   /* floats */

struct core_m_subset *core_a1;
struct core_m_intsize *core_a2;
struct core_m_sign *core_a3;
struct core_m_ptr *core_a4;
struct core_m_ptr_kind *core_a5;
union core_m_union *core_a6;
union core_m_vs_union *core_a7;
enum core_m_enum core_a8;
enum core_m_enum_missing core_a9;
enum core_m_enum64 core_a10;
enum core_m_enum_size core_a11;
core_m_fn core_a12;
core_m_fn_arity core_a13;
core_m_long core_a14;
core_m_uint core_a15;
struct core_m_arr *core_a16;
struct core_m_nested *core_a17;
struct core_m_anon *core_a18;
struct core_m_flavor___target *core_a19;
struct core_m_names *core_a20;
struct core_m_float *core_a21;
