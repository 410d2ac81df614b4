/*
 * Test oracle: glibc's argp, driven by an option table given on the command line, so that
 * pybpf.tools.argp can be compared with the real thing on generated tables and argument lists.
 *
 *   argp_oracle NAME DOC SPEC [ARGS...]
 *
 * SPEC holds one record per option, records separated by \x1e and fields by \x1f:
 *   long \x1f short \x1f arg \x1f flags \x1f doc     (empty field = none; flags: h=hidden,
 *                                                     o=optional argument)
 * Each option parsed prints "KEY <long-or-short> <arg or (null)>" on stdout; an operand is
 * refused (argp then reports "Too many arguments"); a successful parse prints "END".
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *argp_program_version = "oracle 1.0";

#define MAX_OPTS 64

static struct argp_option opts[MAX_OPTS + 1];
static const char *labels[MAX_OPTS];

static char *field(char **cursor, char sep)
{
	char *start = *cursor, *end = strchr(start, sep);

	if (end) {
		*end = '\0';
		*cursor = end + 1;
	} else {
		*cursor = start + strlen(start);
	}
	return start;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	for (int i = 0; i < MAX_OPTS && (opts[i].name || opts[i].key); i++) {
		if (opts[i].key == key) {
			printf("KEY %s %s\n", labels[i], arg ? arg : "(null)");
			return 0;
		}
	}
	return ARGP_ERR_UNKNOWN;
}

int main(int argc, char **argv)
{
	char *spec, *rec, *cursor;
	int n = 0;

	if (argc < 4)
		return 2;
	spec = strdup(argv[3]);
	cursor = spec;
	while (*cursor && n < MAX_OPTS) {
		char *end = strchr(cursor, '\x1e');
		char *f;

		if (end)
			*end = '\0';
		rec = cursor;
		cursor = end ? end + 1 : cursor + strlen(cursor);
		f = rec;
		char *lng = field(&f, '\x1f'), *sht = field(&f, '\x1f'), *a = field(&f, '\x1f');
		char *flags = field(&f, '\x1f'), *doc = field(&f, '\x1f');

		opts[n].name = *lng ? lng : NULL;
		opts[n].key = *sht ? *sht : 256 + n;
		opts[n].arg = *a ? a : NULL;
		opts[n].flags = (strchr(flags, 'h') ? OPTION_HIDDEN : 0) |
				(strchr(flags, 'o') ? OPTION_ARG_OPTIONAL : 0);
		opts[n].doc = *doc ? doc : NULL;
		labels[n] = *lng ? lng : sht;
		n++;
	}
	struct argp argp = { .options = opts, .parser = parse, .doc = argv[2] };
	argv[3] = argv[1];	/* the program name, for getopt's messages */
	argp_program_version = "oracle 1.0";
	int err = argp_parse(&argp, argc - 3, argv + 3, 0, NULL, NULL);
	if (!err)
		printf("END\n");
	return err ? 1 : 0;
}
