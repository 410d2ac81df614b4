/* Host test program for uprobe offsets and USDT notes (built as PIE and non-PIE). */
#include <stdio.h>
#include <sys/sdt.h>

int with_semaphore(int a);

__attribute__((noinline)) int pybpf_add(int a, int b)
{
	STAP_PROBE2(pybpf, plain, a, b);
	return a + b;
}

__attribute__((noinline, weak)) int pybpf_weak(int a)
{
	return a * 3;
}

static __attribute__((noinline)) int pybpf_static(int a)
{
	return a - 1;
}

int main(int argc, char **argv)
{
	int r = pybpf_add(argc, 2) + pybpf_weak(argc) + pybpf_static(argc) + with_semaphore(argc);

	printf("%d\n", r);
	return 0;
}
