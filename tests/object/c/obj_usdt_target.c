/* USDT target for tests/object: `obj_usdt_target N` fires pybpf:tick(i, total) N times. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long total = 0;

	for (int i = 0; i < n; i++) {
		total += i;
		STAP_PROBE2(pybpf, tick, i, total);
	}
	printf("%ld\n", total);
	return 0;
}
