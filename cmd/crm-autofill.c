/* crm-autofill — fill empty CRM fields from stored mail above a confidence
 * threshold, queue the rest for review, undo a run.  Options and the loop
 * only; the engine is in lib/autofill.h. */
#include "autofill.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "learn.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

enum { O_LIMIT = 1, O_BATCH, O_THRESHOLD, O_MINCONF, O_USER, O_DRYRUN, O_STDIN, O_UNDO, O_NOTE };

static const struct option longopts[] = {
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "threshold", required_argument, NULL, O_THRESHOLD },
	{ "min-confidence", required_argument, NULL, O_MINCONF },
	{ "user", required_argument, NULL, O_USER },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "stdin", no_argument, NULL, O_STDIN },
	{ "undo", required_argument, NULL, O_UNDO },
	{ "note", required_argument, NULL, O_NOTE },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

struct args {
	struct crm_af_opts o;
	const char *user;
	long long undo;
	int stdin_mode, quiet, threshold_set, minconf_set, batch_set;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;

	switch (opt) {
	case O_LIMIT: a->o.limit = crm_parse_long("--limit", arg, 1, 1000000000); return 0;
	case O_BATCH:
		a->o.batch = crm_parse_long("--batch", arg, 1, 100000);
		a->batch_set = 1;
		return 0;
	case O_THRESHOLD:
		a->o.threshold = crm_parse_double("--threshold", arg, 0, 1);
		a->threshold_set = 1;
		return 0;
	case O_MINCONF:
		a->o.min_conf = crm_parse_double("--min-confidence", arg, 0, 1);
		a->minconf_set = 1;
		return 0;
	case O_USER: a->user = arg; return 0;
	case 'n': a->o.dry_run = 1; return 0;
	case O_STDIN: a->stdin_mode = 1; return 0;
	case O_UNDO: a->undo = crm_parse_long("--undo", arg, 1, 999999999999L); return 0;
	case O_NOTE: a->o.note = arg; return 0;
	case 'q': a->quiet = 1; return 0;
	}
	return -1;
}

static int
undo(PGconn *c, long long run, int quiet)
{
	struct crm_af_undo u;

	if (crm_af_undo(c, run, &u) < 0)
		crm_die(CRM_EXIT_USAGE, "--undo: no autofill run %lld", run);
	if (!quiet)
		crm_warn("run %lld: %lu change(s) reverted, %lu not reverted (changed since), "
		    "%lu undone before", run, u.reverted, u.kept, u.earlier);
	return u.kept ? CRM_EXIT_CONFLICT : CRM_EXIT_OK;
}

static void
config(struct args *a)
{
	if (!a->threshold_set) {
		a->o.threshold = crm_config_double("autofill.threshold", CRM_AF_THRESHOLD);
		if (!(a->o.threshold >= 0 && a->o.threshold <= 1))
			crm_die(CRM_EXIT_USAGE, "configuration autofill.threshold: not between 0 and 1");
	}
	if (!a->minconf_set) {
		a->o.min_conf = crm_config_double("autofill.min_confidence", CRM_AF_MIN_CONF);
		if (!(a->o.min_conf >= 0 && a->o.min_conf <= 1))
			crm_die(CRM_EXIT_USAGE, "configuration autofill.min_confidence: not between 0 and 1");
	}
	if (!a->batch_set)
		a->o.batch = crm_config_long("autofill.batch", 5000);
	if (a->o.batch < 1)
		crm_die(CRM_EXIT_USAGE, "configuration autofill.batch: must be at least 1");
	if (!a->user)
		a->user = crm_config_get("autofill.user");
}

int
main(int argc, char **argv)
{
	struct args a = { .o = { .limit = 0 } };
	const struct crm_cli cli = {
		.usage = "crm-autofill [-nq] [--limit N] [--batch N] [--threshold T]\n"
		    "                    [--min-confidence C] [--user LOGIN] [--note TEXT]\n"
		    "                    [--stdin [FILE...]] | --undo RUN",
		.summary = "Fill empty CRM fields from stored mail (signatures, enrichment) at or above "
		    "a confidence threshold; queue the rest for review.",
		.help =
		    "      --limit N           process at most N interactions (default: all pending)\n"
		    "      --batch N           interactions per transaction (default 5000)\n"
		    "      --threshold T       apply at or above T (default 0.92, autofill.threshold)\n"
		    "      --min-confidence C  queue suggestions at or above C (default 0.5)\n"
		    "      --user LOGIN        whose learned preferences boost entities without owner\n"
		    "      --note TEXT         note stored with the run\n"
		    "  -n, --dry-run           decide, print the decisions as JSON lines, change nothing\n"
		    "      --stdin             read message records from stdin or FILEs instead\n"
		    "      --undo RUN          revert the changes of run RUN that nobody changed since\n"
		    "  -q, --quiet             no summary on stderr\n",
		.shortopts = "nq",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i = crm_cli_parse(&cli, argc, argv);
	PGconn *c;
	struct crm_af *af;

	if (i < argc && !a.stdin_mode) {
		crm_warn("files are read only with --stdin");
		crm_usage(&cli);
	}
	if (a.undo && (a.stdin_mode || a.o.dry_run || a.o.limit)) {
		crm_warn("--undo takes no other option");
		crm_usage(&cli);
	}
	config(&a);
	c = crm_db_connect();
	crm_db_ensure_schema(c, CRM_AUTOFILL_SCHEMA);
	if (a.undo) {
		int rc = undo(c, a.undo, a.quiet);
		crm_db_close(c);
		return rc;
	}
	if (a.user && !(a.o.user_id = crm_learn_user_id(c, a.user)))
		crm_die(CRM_EXIT_USAGE, "--user: no user '%s'", a.user);
	af = crm_af_new(c, &a.o);
	if (a.stdin_mode) {
		struct crm_reader *rd = crm_reader_new(argv + i, crm_common.max_line);
		struct crm_rec r;
		while (crm_reader_next(rd, &r))
			crm_af_add_record(af, &r);
		crm_reader_free(rd);
	} else
		crm_af_process_stored(af);
	crm_af_finish(af, "done");
	const struct crm_af_counts *k = crm_af_counts(af);
	if (!a.quiet)
		crm_warn("%srun %lld: %lu %s, %lu matched, %lu applied, %lu confirmed, %lu suggested, "
		    "%lu conflicts%s", a.o.dry_run ? "dry " : "", crm_af_run_id(af), k->processed,
		    a.stdin_mode ? "records" : "interactions", k->matched, k->applied, k->confirmed,
		    k->suggested, k->conflicts, a.o.dry_run ? " (nothing changed)" : "");
	crm_af_free(af);
	crm_db_close(c);
	int rc = crm_output_close();
	return rc ? rc : crm_status();
}
