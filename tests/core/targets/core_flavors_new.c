/* Target "new kernel": 'state' became '__state' and moved; two flavors of core_task exist (as
 * after imperfect deduplication) that agree on every field the program uses; the other
 * types only exist under flavored or oddly underscored names. */
struct core_task {
	unsigned int __state;
	long pad;
	int pid;
};

struct core_task___2 {
	unsigned int __state;
	long pad;
	int pid;
	int extra;
};

struct core_flv___target {
	long pad;
	int a;
	int b;
};

struct core___odd {
	int a;
};

struct core_trail___ {
	long pad;
	long pad2;
	int a;
};

struct core_task *core_anchor_task;
struct core_task___2 *core_anchor_task2;
struct core_flv___target *core_anchor_flv;
struct core___odd *core_anchor_odd;
struct core_trail___ *core_anchor_trail;
