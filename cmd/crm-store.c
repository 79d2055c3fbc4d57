/* crm-store — message records into PostgreSQL, at the end of every pipeline.
 * Options and the loop only; the loading is in lib/store.h, the database
 * in lib/db.h. */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"
#include "stage.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

enum { O_BATCH = 1, O_DRYRUN, O_INTERNAL };

static const struct option longopts[] = {
	{ "batch", required_argument, NULL, O_BATCH },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "internal-domain", required_argument, NULL, O_INTERNAL },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

struct args {
	struct crm_store_opts o;
	const char *internal[64];
	size_t ninternal;
	int quiet;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;

	switch (opt) {
	case O_BATCH:
		a->o.batch = crm_parse_long("--batch", arg, 1, 1000000);
		return 0;
	case 'n':
		a->o.dry_run = 1;
		return 0;
	case 'q':
		a->quiet = 1;
		return 0;
	case O_INTERNAL:
		if (a->ninternal + 1 >= sizeof a->internal / sizeof a->internal[0])
			crm_die(CRM_EXIT_USAGE, "too many --internal-domain options");
		a->internal[a->ninternal++] = arg;
		return 0;
	}
	return -1;
}

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	(void)st;
	return crm_store_add(arg, r) < 0 ? CRM_REJECT : CRM_DROP;
}

static void
summary(const struct crm_store_stats *t, int dry_run)
{
	unsigned long rej = crm_rejects_count();

	crm_warn("%lu records: %lu inserted, %lu updated, %lu unchanged, %lu rejected; "
	    "people: %lu new, %lu updated; organisations: %lu new; threads: %lu new; "
	    "cursors: %lu advanced%s", t->records + rej, t->inserted, t->updated, t->unchanged,
	    rej, t->people_new, t->people_updated, t->orgs_new, t->threads, t->cursors,
	    dry_run ? " (dry run: nothing written)" : "");
}

int
main(int argc, char **argv)
{
	struct args a = { .o = { .batch = 0 } };
	const struct crm_cli cli = {
		.usage = "crm-store [-nq] [--batch N] [--internal-domain DOMAIN]... [FILE...]",
		.summary = "Store message records in PostgreSQL: interactions, threads, people, "
		    "organisations, sync cursors.",
		.help =
		    "  -n, --dry-run         do everything in one transaction and roll it back\n"
		    "      --batch N         records per transaction (default $CRM_STORE_BATCH or 1000)\n"
		    "      --internal-domain DOMAIN\n"
		    "                        our own domain: its addresses never become people\n"
		    "  -q, --quiet           no summary on stderr\n",
		.shortopts = "nq",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i = crm_cli_parse(&cli, argc, argv);

	if (!a.o.batch)
		a.o.batch = crm_config_long("store_batch", 1000);
	if (a.o.batch < 1)
		crm_die(CRM_EXIT_USAGE, "store_batch: expected a number of at least 1");
	a.o.internal = a.internal;

	PGconn *c = crm_db_connect();
	crm_db_ensure_schema(c, CRM_STORE_SCHEMA);
	struct crm_store *s = crm_store_new(c, &a.o);
	int rc = crm_stage_run(argv + i, one, s, "records");
	crm_store_finish(s);
	if (!a.quiet)
		summary(crm_store_stats(s), a.o.dry_run);
	crm_store_free(s);
	crm_db_close(c);
	return rc > crm_status() ? rc : crm_status();
}
