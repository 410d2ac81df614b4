/* Shared library with two versions of one symbol, for versioned uprobe lookups. */
int pybpf_ver_v1(int x) { return x; }
int pybpf_ver_v2(int x) { return x * 2; }
__asm__(".symver pybpf_ver_v1,pybpf_ver@V1");
__asm__(".symver pybpf_ver_v2,pybpf_ver@@V2");

int pybpf_plain(int x) { return x + 1; }
__attribute__((weak)) int pybpf_weak_lib(int x) { return x + 2; }
