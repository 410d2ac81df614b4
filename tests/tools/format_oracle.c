/*
 * Test oracle: the output lines of libbpf-tools 0.26 execsnoop and opensnoop, printed with the
 * C tools' own printf formats from events read on stdin, so that pybpf's formatters can be
 * compared with C's printf on the same synthetic events.
 *
 * stdin: records of
 *   u32 kind (0 execsnoop header, 1 execsnoop event, 2 opensnoop header, 3 opensnoop event)
 *   u32 options (bit 0 time, 1 timestamp, 2 print uid, 3 quote, 4 extended fields)
 *   i32 max_args, char wallclock[9], double elapsed, u32 length, u8 event[length]
 * The event structures are declared as in the tools' .bpf.c files.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define TASK_COMM_LEN 16
#define ARGSIZE 128
#define TOTAL_MAX_ARGS 60
#define FULL_MAX_ARGS_ARR (TOTAL_MAX_ARGS * ARGSIZE)
#define NAME_MAX 255

struct exec_event {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	int retval;
	int args_count;
	unsigned int args_size;
	char comm[TASK_COMM_LEN];
	char args[FULL_MAX_ARGS_ARR];
};

struct open_event {
	uint64_t ts;
	pid_t pid;
	uid_t uid;
	int ret;
	int flags;
	uint32_t mode;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

enum { OPT_TIME = 1, OPT_TIMESTAMP = 2, OPT_UID = 4, OPT_QUOTE = 8, OPT_EXT = 16 };

static void quoted(char c)
{
	if (c == '"')
		fputs("\\\"", stdout);
	else if (c == '\t')
		fputs("\\t", stdout);
	else if (c == '\n')
		fputs("\\n", stdout);
	else
		putchar(c);
}

/* the ARGS column, as execsnoop's print_args() walks the buffer */
static void exec_args(const struct exec_event *e, int quote, int max_args)
{
	int counter = 0;

	if (quote)
		putchar('"');
	for (unsigned int i = 0; i < e->args_size && counter < e->args_count; i++) {
		char c = e->args[i];

		if (c == '\0') {
			counter++;
			if (quote) {
				putchar('"');
				putchar(' ');
				if (counter < e->args_count)
					putchar('"');
			} else {
				putchar(' ');
			}
		} else if (quote) {
			quoted(c);
		} else {
			putchar(c);
		}
	}
	if (e->args_count == max_args + 1)
		fputs(" ...", stdout);
}

int main(void)
{
	static union { struct exec_event x; struct open_event o; char raw[sizeof(struct exec_event)]; } ev;
	uint32_t kind, opts, len;
	int32_t max_args;
	char ts[9];
	double elapsed;

	while (fread(&kind, 4, 1, stdin) == 1) {
		if (fread(&opts, 4, 1, stdin) != 1 || fread(&max_args, 4, 1, stdin) != 1 ||
		    fread(ts, 9, 1, stdin) != 1 || fread(&elapsed, 8, 1, stdin) != 1 ||
		    fread(&len, 4, 1, stdin) != 1 || len > sizeof(ev))
			return 2;
		memset(&ev, 0, sizeof(ev));
		if (len && fread(ev.raw, len, 1, stdin) != 1)
			return 2;
		switch (kind) {
		case 0:
			if (opts & OPT_TIME)
				printf("%-9s", "TIME");
			if (opts & OPT_TIMESTAMP)
				printf("%-8s ", "TIME(s)");
			if (opts & OPT_UID)
				printf("%-6s ", "UID");
			printf("%-16s %-6s %-6s %3s %s\n", "PCOMM", "PID", "PPID", "RET", "ARGS");
			break;
		case 1:
			if (opts & OPT_TIME)
				printf("%-8s ", ts);
			if (opts & OPT_TIMESTAMP)
				printf("%-8.3f", elapsed);
			if (opts & OPT_UID)
				printf("%-6d", ev.x.uid);
			printf("%-16s %-6d %-6d %3d ", ev.x.comm, ev.x.pid, ev.x.ppid, ev.x.retval);
			exec_args(&ev.x, opts & OPT_QUOTE, max_args);
			putchar('\n');
			break;
		case 2:
			if (opts & OPT_TIMESTAMP)
				printf("%-8s ", "TIME");
			if (opts & OPT_UID)
				printf("%-7s ", "UID");
			printf("%-6s %-16s %3s %3s ", "PID", "COMM", "FD", "ERR");
			if (opts & OPT_EXT)
				printf("%-8s ", "FLAGS");
			printf("%s", "PATH");
			printf("\n");
			break;
		case 3: {
			int fd = ev.o.ret >= 0 ? ev.o.ret : -1;
			int err = ev.o.ret >= 0 ? 0 : -ev.o.ret;

			if (opts & OPT_TIMESTAMP)
				printf("%-8s ", ts);
			if (opts & OPT_UID)
				printf("%-7d ", ev.o.uid);
			printf("%-6d %-16s %3d %3d ", ev.o.pid, ev.o.comm, fd, err);
			if (opts & OPT_EXT)
				printf("%08o ", ev.o.flags);
			printf("%s\n", ev.o.fname);
			break;
		}
		default:
			return 2;
		}
	}
	return 0;
}
