/* Target "old kernel": core_task still has 'state'. */
struct core_task {
	int pid;
	long state;
};

struct core_flv {
	int b;
	int a;
};

struct core____odd {
	long pad;
	int a;
};

struct core_trail {
	long pad;
	int a;
};

struct core_task *core_anchor_task;
struct core_flv *core_anchor_flv;
struct core____odd *core_anchor_odd;
struct core_trail *core_anchor_trail;
