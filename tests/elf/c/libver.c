/* Shared library with two versions of one symbol, for versioned uprobe lookups. */
int pybpf_ver_v1(int x) { return x; }
int pybpf_ver_v2(int x) { return x * 2; }
__asm__(".symver pybpf_ver_v1,pybpf_ver@V1");
__asm__(".symver pybpf_ver_v2,pybpf_ver@@V2");

int pybpf_plain(int x) { return x + 1; }
__attribute__((weak)) int pybpf_weak_lib(int x) { return x + 2; }

/* One name, a weak old version and a global default one: libbpf prefers the non-weak. */
__attribute__((weak)) int pybpf_dup_v1(int x) { return x + 10; }
int pybpf_dup_v2(int x) { return x + 20; }
__asm__(".symver pybpf_dup_v1,pybpf_dup@V1");
__asm__(".symver pybpf_dup_v2,pybpf_dup@@V2");
