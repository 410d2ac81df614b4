/* USDT probe guarded by a semaphore (a second translation unit: sdt.h's semaphore mode is per file). */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short pybpf_withsem_semaphore __attribute__((unused)) __attribute__((section(".probes")));

int with_semaphore(int a)
{
	if (pybpf_withsem_semaphore)
		STAP_PROBE1(pybpf, withsem, a);
	return a;
}
