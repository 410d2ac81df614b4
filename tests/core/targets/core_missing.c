/* Target "kernel" that has none of the test types, only unrelated ones (and one with a
 * similar but different name, which must not be taken as a candidate). */
struct core_samples {
	int a;
};

struct unrelated {
	long x;
};

struct core_samples *core_anchor_samples;
struct unrelated *core_anchor_unrelated;
