/* uprobe/USDT target for tests/link: `uptarget N [wait]` calls target_add() N times (and
 * lib_mul() from libuptarget.so when built with -DWITH_LIB), fires two USDT probes per
 * iteration (one guarded by a semaphore), then prints the total and whether the semaphore was
 * ever seen non-zero. With "wait" it first reads a line from stdin, so that a test can attach
 * with this process's pid. */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

unsigned short pybpf_sem_probe_semaphore __attribute__((unused)) __attribute__((section(".probes")));

#ifdef WITH_LIB
extern int lib_mul(int a, int b);
#endif
extern void fire_plain(int i, long total);   /* uptarget_plain.c: a probe without semaphore */

__attribute__((noinline)) int target_add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}

__attribute__((noinline)) int target_other(int a)
{
	asm volatile("" ::: "memory");
	return a * 3;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long total = 0;
	int sem_seen = 0;
	char line[16];

	if (argc > 2 && !fgets(line, sizeof(line), stdin))
		return 1;
	for (int i = 0; i < n; i++) {
		total += target_add(i, 1);
		total += target_other(i);
#ifdef WITH_LIB
		total += lib_mul(i, 2);
#endif
		fire_plain(i, total);
		if (pybpf_sem_probe_semaphore) {
			sem_seen = 1;
			STAP_PROBE2(pybpf, sem_probe, (short)i, 7);
		}
	}
	printf("%ld %d\n", total, sem_seen);
	return 0;
}
