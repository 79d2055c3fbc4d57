/* crm-route — add "route" {"assignee", "rule_id"} to each message record:
 * the first routing rule that holds, else the owner of the sender's
 * organisation, else a default assignee.  Options and the loop only; the
 * rules are in lib/route.h. */
#include "autofill.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"
#include "route.h"
#include "stage.h"

#include <stdlib.h>
#include <string.h>

enum { O_RULES = 1, O_DEFAULT, O_NODB, O_EXPLAIN, O_CHECK };

static const struct option longopts[] = {
	{ "rules", required_argument, NULL, O_RULES },
	{ "default", required_argument, NULL, O_DEFAULT },
	{ "no-db", no_argument, NULL, O_NODB },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "check", no_argument, NULL, O_CHECK },
	{ 0 },
};

struct args {
	const char *rules, *def;
	int nodb, explain, check;
	struct crm_routes *rs;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;

	switch (opt) {
	case O_RULES: a->rules = arg; return 0;
	case O_DEFAULT: a->def = arg; return 0;
	case O_NODB: a->nodb = 1; return 0;
	case O_EXPLAIN: a->explain = 1; return 0;
	case O_CHECK: a->check = 1; return 0;
	}
	return -1;
}

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	struct args *a = arg;

	crm_stage_set(st, "route", crm_route_record(a->rs, r->obj, a->explain));
	return CRM_KEEP;
}

int
main(int argc, char **argv)
{
	struct args a = { .rules = NULL };
	const struct crm_cli cli = {
		.usage = "crm-route [--rules FILE [--check]] [--default LOGIN] [--no-db] [--explain]\n"
		    "                 [FILE...]",
		.summary = "Add \"route\" to each message record: who should answer it, by routing rules, "
		    "the organisation's owner, or a default.",
		.help =
		    "      --rules FILE      rules from FILE instead of the routing_rules table\n"
		    "      --check           only check the rules file and exit\n"
		    "      --default LOGIN   assignee when no rule and no owner decides (route.default)\n"
		    "      --no-db           no database: owners are unknown (needs --rules)\n"
		    "      --explain         add route.explain: the rules tried and why\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i = crm_cli_parse(&cli, argc, argv), rc;
	char err[1024];
	PGconn *c = NULL;

	if (!a.rules)
		a.rules = crm_config_get("route.rules");
	if ((a.nodb || a.check) && !a.rules) {
		crm_warn("%s needs --rules FILE", a.check ? "--check" : "--no-db");
		crm_usage(&cli);
	}
	if (a.rules) {
		if (!(a.rs = crm_route_load_file(a.rules, err, sizeof err)))
			crm_die(CRM_EXIT_USAGE, "%s", err);
		if (a.check) {
			crm_warn("%s: %zu rule(s), syntax ok", a.rules, crm_route_count(a.rs));
			crm_route_free(a.rs);
			return 0;
		}
	}
	if (!a.nodb) {
		c = crm_db_connect();
		if (!a.rules) {
			crm_db_ensure_schema(c, CRM_AUTOFILL_SCHEMA);
			if (!(a.rs = crm_route_load_db(c, err, sizeof err)))
				crm_die(CRM_EXIT_USAGE, "%s", err);
		}
		crm_route_set_db(a.rs, c);
	}
	if (a.def)
		crm_route_set_default(a.rs, a.def, 1);
	else if (crm_config_get("route.default"))
		crm_route_set_default(a.rs, crm_config_get("route.default"), 0);
	rc = crm_stage_run(argv + i, one, &a, "records");
	crm_route_free(a.rs);
	crm_db_close(c);
	return rc;
}
