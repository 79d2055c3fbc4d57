/* cli.c — getopt_long with the common options merged in (see cli.h).
 * Common long options use codes above 0x1000 so they never collide with a
 * program's short options. */
#include "cli.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crm_common crm_common;

enum { OPT_REJECTS = 0x1001, OPT_MAXLINE, OPT_PROGRESS };

static const struct option common_long[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "rejects", required_argument, NULL, OPT_REJECTS },
	{ "max-line", required_argument, NULL, OPT_MAXLINE },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
};

static const char common_help[] =
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "  -v, --verbose         more diagnostics on stderr\n"
    "      --rejects FILE    append rejected input lines to FILE (default: stderr)\n"
    "      --max-line BYTES  longest input line accepted (default 64M)\n"
    "      --progress        report progress on stderr even when it is not a terminal\n";

void
crm_usage(const struct crm_cli *c)
{
	fprintf(stderr, "usage: %s\n", c->usage);
	fprintf(stderr, "Try '%s --help' for more information.\n", crm_prog);
	exit(CRM_EXIT_USAGE);
}

static _Noreturn void
help(const struct crm_cli *c)
{
	printf("usage: %s\n", c->usage);
	if (c->summary)
		printf("%s\n", c->summary);
	printf("\nOptions:\n");
	if (c->help)
		fputs(c->help, stdout);
	fputs(common_help, stdout);
	printf("\nExit status: 0 ok, 1 records rejected, 2 usage, 3 environment, 4 conflict.\n"
	    "See %s(1).\n", crm_prog);
	exit(fflush(stdout) || ferror(stdout) ? CRM_EXIT_ENV : 0);
}

long long
crm_parse_size(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	return *end ? -1 : v;
}

long
crm_parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		crm_die(CRM_EXIT_USAGE, "%s: invalid number '%s' (expected %ld..%ld)",
		    opt, s, min, max);
	return v;
}

double
crm_parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		crm_die(CRM_EXIT_USAGE, "%s: invalid number '%s' (expected %g..%g)",
		    opt, s, lo, hi);
	return v;
}

int
crm_cli_parse(const struct crm_cli *c, int argc, char **argv)
{
	size_t nown = 0, ncommon = sizeof common_long / sizeof common_long[0];
	char shortopts[128];
	struct option *all;
	int ch;

	crm_log_init(argv[0]);
	while (c->longopts && c->longopts[nown].name)
		nown++;
	all = crm_xcalloc(nown + ncommon + 1, sizeof *all);
	memcpy(all, c->longopts, nown * sizeof *all);
	memcpy(all + nown, common_long, sizeof common_long);
	snprintf(shortopts, sizeof shortopts, "hVv%s", c->shortopts ? c->shortopts : "");
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help(c);
		case 'V':
			printf("%s %s\n", crm_prog, CRM_VERSION);
			exit(0);
		case 'v':
			crm_verbose++;
			break;
		case OPT_REJECTS:
			crm_common.rejects = optarg;
			break;
		case OPT_MAXLINE: {
			long long v = crm_parse_size(optarg);
			if (v <= 0)
				crm_die(CRM_EXIT_USAGE, "--max-line: invalid size '%s'", optarg);
			crm_common.max_line = (size_t)v;
			break;
		}
		case OPT_PROGRESS:
			crm_common.progress = 1;
			break;
		case '?':
			if (optopt)
				crm_warn("unknown or incomplete option '-%c'", optopt);
			else
				crm_warn("unknown option '%s'", argv[optind - 1]);
			free(all);
			crm_usage(c);
		case ':':
			crm_warn("option '%s' needs an argument", argv[optind - 1]);
			free(all);
			crm_usage(c);
		default:
			if (!c->handle || c->handle(ch, optarg, c->ctx) < 0) {
				free(all);
				crm_usage(c);
			}
		}
	}
	free(all);
	crm_rejects_open(crm_common.rejects);
	crm_progress_enable(crm_common.progress);
	return optind;
}
