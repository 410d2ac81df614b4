/* Shared library target of the uprobe tests. */
__attribute__((noinline)) int lib_mul(int a, int b)
{
	asm volatile("" ::: "memory");
	return a * b;
}
