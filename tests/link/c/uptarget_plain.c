/* The USDT probe of uptarget without a semaphore (sdt.h decides per translation unit). */
#include <sys/sdt.h>

__attribute__((noinline)) void fire_plain(int i, long total)
{
	STAP_PROBE3(pybpf, plain, i, -i, total);
}
