/* crm-review — the review queue of autofill suggestions: list, show,
 * approve, reject (one by one or by filter).  Options and output only; the
 * queries and decisions are in lib/review.h. */
#include "autofill.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "learn.h"
#include "log.h"
#include "review.h"
#include "tabular.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_FIELD = 1, O_ENTITY, O_MINCONF, O_MAXCONF, O_OLDER, O_NEWER, O_STATUS, O_METHOD,
	O_RUN, O_LIMIT, O_JSON, O_TABLE, O_USER };

static const struct option longopts[] = {
	{ "field", required_argument, NULL, O_FIELD },
	{ "entity", required_argument, NULL, O_ENTITY },
	{ "min-confidence", required_argument, NULL, O_MINCONF },
	{ "max-confidence", required_argument, NULL, O_MAXCONF },
	{ "older-than", required_argument, NULL, O_OLDER },
	{ "newer-than", required_argument, NULL, O_NEWER },
	{ "status", required_argument, NULL, O_STATUS },
	{ "method", required_argument, NULL, O_METHOD },
	{ "run", required_argument, NULL, O_RUN },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "json", no_argument, NULL, O_JSON },
	{ "table", no_argument, NULL, O_TABLE },
	{ "user", required_argument, NULL, O_USER },
	{ "yes", no_argument, NULL, 'y' },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

struct args {
	struct crm_review_filter f;
	int filtered, json, table, yes, quiet;
	const char *user;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;
	char *colon;

	a->filtered |= opt != O_JSON && opt != O_TABLE && opt != O_USER && opt != 'y' && opt != 'q';
	switch (opt) {
	case O_FIELD:
		if (crm_af_field_find(-1, arg) < 0)
			crm_die(CRM_EXIT_USAGE, "--field: unknown field '%s' (title, phone, mobile, "
			    "linkedin_url, website, main_phone, address, email)", arg);
		a->f.field = arg;
		return 0;
	case O_ENTITY: {
		char type[32];
		snprintf(type, sizeof type, "%.*s", (int)strcspn(arg, ":"), arg);
		if ((a->f.entity = crm_af_entity_parse(type)) < 0)
			crm_die(CRM_EXIT_USAGE, "--entity: expected person[:ID] or organisation[:ID], got '%s'", arg);
		if ((colon = strchr(arg, ':')))
			a->f.entity_id = crm_parse_long("--entity", colon + 1, 1, 999999999999L);
		return 0;
	}
	case O_MINCONF: a->f.min_conf = crm_parse_double("--min-confidence", arg, 0, 1); return 0;
	case O_MAXCONF: a->f.max_conf = crm_parse_double("--max-confidence", arg, 0, 1); return 0;
	case O_OLDER:
	case O_NEWER: {
		double s = crm_review_parse_age(arg);
		if (s < 0)
			crm_die(CRM_EXIT_USAGE, "%s: expected an age like 7d, 12h, 30m or 2w, got '%s'",
			    opt == O_OLDER ? "--older-than" : "--newer-than", arg);
		*(opt == O_OLDER ? &a->f.older : &a->f.newer) = s;
		return 0;
	}
	case O_STATUS:
		if (strcmp(arg, "pending") && strcmp(arg, "approved") && strcmp(arg, "rejected") &&
		    strcmp(arg, "superseded") && strcmp(arg, "all"))
			crm_die(CRM_EXIT_USAGE, "--status: expected pending, approved, rejected, "
			    "superseded or all, got '%s'", arg);
		a->f.status = arg;
		return 0;
	case O_METHOD: a->f.method = arg; return 0;
	case O_RUN: a->f.run = crm_parse_long("--run", arg, 1, 999999999999L); return 0;
	case O_LIMIT: a->f.limit = crm_parse_long("--limit", arg, 1, 1000000000); return 0;
	case O_JSON: a->json = 1; return 0;
	case O_TABLE: a->table = 1; return 0;
	case O_USER: a->user = arg; return 0;
	case 'y': a->yes = 1; return 0;
	case 'q': a->quiet = 1; return 0;
	}
	return -1;
}

static int
as_table(const struct args *a)
{
	return a->table || (!a->json && isatty(1));
}

static void
list(PGconn *c, const struct args *a)
{
	json_object *l = crm_review_list(c, &a->f);
	size_t n = json_object_array_length(l);

	if (!as_table(a)) {
		for (size_t i = 0; i < n; i++)
			crm_emit_json(json_object_array_get_idx(l, i));
	} else if (n) {
		static const char *const cols[] = { ">ID", ">AGE", "ENTITY", "NAME", "FIELD", "VALUE",
			"CURRENT", ">CONF", "METHOD" };
		struct crm_table *t = crm_table_new(9, cols, 36);
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(l, i);
			char id[24], age[24], ent[64], conf[16];
			snprintf(id, sizeof id, "%s", crm_table_cell(crm_get(o, "id")));
			snprintf(age, sizeof age, "%sd", crm_table_cell(crm_get(o, "age_days")));
			snprintf(ent, sizeof ent, "%s:%s", crm_get_str(o, "entity_type"),
			    crm_table_cell(crm_get(o, "entity_id")));
			snprintf(conf, sizeof conf, "%.2f", json_object_get_double(crm_get(o, "confidence")));
			const char *row[9] = { id, age, ent, crm_get_str(o, "entity"), crm_get_str(o, "field"),
				crm_get_str(o, "value"), crm_get_str(o, "current_value"), conf,
				crm_get_str(o, "method") };
			crm_table_row(t, row);
		}
		crm_table_print(t, stdout);
		crm_table_free(t);
	} else if (!a->quiet)
		crm_warn("no %s suggestion matches", a->f.status);
	json_object_put(l);
}

static void
show_text(json_object *o)
{
	json_object *m = crm_get(o, "message");
	static const char *const keys[] = { "id", "status", "entity_type", "entity_id", "entity",
		"field", "value", "current_value", "confidence", "method", "created_at", "run_id",
		"decided_at", "decided_by" };

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		printf("%-14s %s\n", keys[i], crm_table_cell(crm_get(o, keys[i])));
	printf("%-14s %s\n", "evidence", crm_table_cell(crm_get(o, "evidence")));
	if (m && crm_get(m, "date")) {
		printf("\nmessage %s\n", crm_table_cell(crm_get(m, "message_id")));
		printf("  date     %s\n  from     %s <%s>\n  subject  %s\n",
		    crm_table_cell(crm_get(m, "date")), crm_table_cell(crm_get(m, "from_name")),
		    crm_table_cell(crm_get(m, "from_email")), crm_table_cell(crm_get(m, "subject")));
		if (crm_get_str(m, "signature"))
			printf("\nsignature:\n%s\n", crm_get_str(m, "signature"));
		if (crm_get_str(m, "excerpt"))
			printf("\nexcerpt:\n%s\n", crm_get_str(m, "excerpt"));
	}
}

static int
show(PGconn *c, const struct args *a, int argc, char **argv)
{
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		long long id = crm_parse_long("show", argv[i], 1, 999999999999L);
		json_object *o = crm_review_show(c, id);
		if (!o)
			crm_die(CRM_EXIT_USAGE, "show: no suggestion %lld", id);
		if (as_table(a)) {
			if (i)
				putchar('\n');
			show_text(o);
		} else
			crm_emit_json(o);
		json_object_put(o);
	}
	return rc;
}

/* The reviewer: --user, else CRM_USER / "user" in the config, else the
 * login name when it is a CRM user. */
static long long
reviewer(PGconn *c, const char *user)
{
	long long id;

	if (!user)
		user = crm_config_get("user");
	if (user) {
		if (!(id = crm_learn_user_id(c, user)))
			crm_die(CRM_EXIT_USAGE, "--user: no user '%s'", user);
		return id;
	}
	user = getenv("USER") ? getenv("USER") : getenv("LOGNAME");
	return user && *user ? crm_learn_user_id(c, user) : 0;
}

static int
confirm(const char *verb, size_t n)
{
	char line[64];

	fprintf(stderr, "%s %zu suggestion(s)? [y/N] ", verb, n);
	fflush(stderr);
	if (!fgets(line, sizeof line, stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int
decide(PGconn *c, const struct args *a, int approve, int argc, char **argv)
{
	const char *verb = approve ? "approve" : "reject";
	json_object *ids;
	unsigned long done = 0, skipped = 0;
	long long user;

	if (argc && a->filtered) {
		crm_warn("%s: give suggestion ids or filters, not both", verb);
		return CRM_EXIT_USAGE;
	}
	if (!argc && !a->filtered) {
		crm_warn("%s: give suggestion ids, or filters (--field, --entity, ...) and --yes", verb);
		return CRM_EXIT_USAGE;
	}
	user = reviewer(c, a->user);
	if (argc) {
		for (int i = 0; i < argc; i++)      /* all well-formed, before anything is held */
			crm_parse_long(verb, argv[i], 1, 999999999999L);
		ids = json_object_new_array();
		for (int i = 0; i < argc; i++)
			json_object_array_add(ids, json_object_new_int64(
			    crm_parse_long(verb, argv[i], 1, 999999999999L)));
		json_object *missing = crm_review_missing(c, ids);
		if (json_object_array_length(missing)) {
			crm_warn("%s: no suggestion %s (nothing done)", verb, crm_table_cell(missing));
			json_object_put(missing);
			json_object_put(ids);
			return CRM_EXIT_USAGE;
		}
		json_object_put(missing);
	} else {
		struct crm_review_filter f = a->f;
		f.status = "pending";
		ids = crm_review_ids(c, &f);
		if (!json_object_array_length(ids)) {
			if (!a->quiet)
				crm_warn("no pending suggestion matches: nothing to %s", verb);
			json_object_put(ids);
			return CRM_EXIT_OK;
		}
		if (!a->yes && !isatty(0)) {
			crm_warn("%zu suggestion(s) match: give --yes to %s them without a terminal",
			    json_object_array_length(ids), verb);
			json_object_put(ids);
			return CRM_EXIT_USAGE;
		}
		if (!a->yes && !confirm(verb, json_object_array_length(ids))) {
			crm_warn("nothing done");
			json_object_put(ids);
			return CRM_EXIT_OK;
		}
	}
	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		long long id = json_object_get_int64(json_object_array_get_idx(ids, i));
		switch (crm_review_decide(c, id, approve, user)) {
		case CRM_REVIEW_OK: done++; break;
		case CRM_REVIEW_DECIDED:
			crm_warn("suggestion %lld: already decided, left as it is", id);
			skipped++;
			break;
		case CRM_REVIEW_GONE:
			crm_warn("suggestion %lld: its %s was deleted", id, "person or organisation");
			skipped++;
			break;
		default:
			crm_warn("suggestion %lld: no such suggestion", id);
			skipped++;
		}
	}
	json_object_put(ids);
	if (!a->quiet)
		crm_warn("%s %lu suggestion(s)%s", approve ? "approved" : "rejected", done,
		    skipped ? ", others skipped (see above)" : "");
	return skipped ? CRM_EXIT_REJECTS : CRM_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct args a = { .json = 0 };
	const struct crm_cli cli = {
		.usage = "crm-review [options] list | show ID... | approve [ID...] | reject [ID...]",
		.summary = "Look at, approve or reject the values autofill queued for review.",
		.help =
		    "      --field F            only this field (title, phone, ..., main_phone, address)\n"
		    "      --entity T[:ID]      only people or organisations (and one of them)\n"
		    "      --min-confidence C   only suggestions at or above C\n"
		    "      --max-confidence C   only suggestions at or below C\n"
		    "      --older-than AGE     only suggestions older than AGE (7d, 12h, 2w)\n"
		    "      --newer-than AGE     only suggestions newer than AGE\n"
		    "      --status S           pending (default), approved, rejected, superseded, all\n"
		    "      --method M           only values found by M (signature, enrichment, ...)\n"
		    "      --run RUN            only suggestions of autofill run RUN\n"
		    "      --limit N            at most N suggestions\n"
		    "      --json | --table     output format (default: table on a terminal)\n"
		    "      --user LOGIN         the reviewer (default $CRM_USER, then $USER)\n"
		    "  -y, --yes                decide by filter without asking\n"
		    "  -q, --quiet              no summary on stderr\n",
		.shortopts = "yq",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i, rc = 0;
	PGconn *c;
	const char *cmd;

	crm_review_filter_init(&a.f);
	i = crm_cli_parse(&cli, argc, argv);
	if (i >= argc)
		crm_usage(&cli);
	cmd = argv[i++];
	if (strcmp(cmd, "list") && strcmp(cmd, "show") && strcmp(cmd, "approve") && strcmp(cmd, "reject")) {
		crm_warn("unknown command '%s'", cmd);
		crm_usage(&cli);
	}
	if ((!strcmp(cmd, "list") && i < argc) || (!strcmp(cmd, "show") && i >= argc))
		crm_usage(&cli);
	c = crm_db_connect();
	crm_db_ensure_schema(c, CRM_AUTOFILL_SCHEMA);
	if (!strcmp(cmd, "list"))
		list(c, &a);
	else if (!strcmp(cmd, "show"))
		rc = show(c, &a, argc - i, argv + i);
	else
		rc = decide(c, &a, !strcmp(cmd, "approve"), argc - i, argv + i);
	crm_db_close(c);
	int orc = crm_output_close();
	return orc ? orc : rc;
}
