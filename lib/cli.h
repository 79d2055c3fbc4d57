/* cli.h — command-line handling shared by every program.
 *
 * A program describes its own options (getopt_long tables and a handler);
 * crm_cli_parse() adds the common ones, which every stage accepts:
 *   -h --help  -V --version  -v --verbose  --rejects FILE
 *   --max-line BYTES  --progress
 * Usage errors print the usage line and exit 2.  Nothing to free. */
#ifndef CRM_CLI_H
#define CRM_CLI_H

#include <getopt.h>
#include <stddef.h>

struct crm_cli {
	const char *usage;               /* "crm-x [--tree] [FILE...]" (after "usage: ") */
	const char *summary;             /* one line: what the program does */
	const char *help;                /* option lines for --help */
	const char *shortopts;           /* the program's own short options */
	const struct option *longopts;   /* the program's own, {0} terminated, may be NULL */
	/* Handle one of the program's options; return 0, or -1 for a usage error. */
	int (*handle)(int opt, const char *arg, void *ctx);
	void *ctx;
};

struct crm_common {
	const char *rejects;      /* --rejects FILE (NULL: stderr) */
	size_t max_line;          /* --max-line */
	int progress;             /* --progress */
};
extern struct crm_common crm_common;

/* Parse argv; returns the index of the first operand. */
int crm_cli_parse(const struct crm_cli *c, int argc, char **argv);
_Noreturn void crm_usage(const struct crm_cli *c);

/* "64M", "1G", "512k", "1000" -> bytes; -1 on error. */
long long crm_parse_size(const char *s);
/* A non-negative integer option, or a usage error naming the option. */
long crm_parse_long(const char *opt, const char *s, long min, long max);
/* A probability-like number in [lo, hi], or a usage error. */
double crm_parse_double(const char *opt, const char *s, double lo, double hi);

#endif
