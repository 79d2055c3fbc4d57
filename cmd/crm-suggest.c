/* crm-suggest — ranked values for one field of one entity, as a form's
 * context menu shows them.  Options and output only; the ranking is in
 * lib/suggest.h. */
#include "autofill.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "learn.h"
#include "log.h"
#include "suggest.h"
#include "tabular.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_USER = 1, O_TEAM, O_LIMIT, O_JSON, O_TABLE };

static const struct option longopts[] = {
	{ "user", required_argument, NULL, O_USER },
	{ "team", required_argument, NULL, O_TEAM },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "json", no_argument, NULL, O_JSON },
	{ "table", no_argument, NULL, O_TABLE },
	{ 0 },
};

struct args {
	const char *user, *team;
	long limit;
	int json, table;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;

	switch (opt) {
	case O_USER: a->user = arg; return 0;
	case O_TEAM: a->team = arg; return 0;
	case O_LIMIT: a->limit = crm_parse_long("--limit", arg, 1, 1000); return 0;
	case O_JSON: a->json = 1; return 0;
	case O_TABLE: a->table = 1; return 0;
	}
	return -1;
}

static void
table(json_object *l)
{
	static const char *const cols[] = { ">RANK", "VALUE", ">SCORE", ">COUNT", ">AGE", ">BOOST", "" };
	struct crm_table *t = crm_table_new(7, cols, 60);

	for (size_t i = 0; i < json_object_array_length(l); i++) {
		json_object *o = json_object_array_get_idx(l, i);
		char rank[16], score[16], count[24], age[32], boost[16];
		snprintf(rank, sizeof rank, "%s", crm_table_cell(crm_get(o, "rank")));
		snprintf(score, sizeof score, "%.2f", json_object_get_double(crm_get(o, "score")));
		snprintf(count, sizeof count, "%s", crm_table_cell(crm_get(o, "count")));
		snprintf(age, sizeof age, "%sd", crm_table_cell(crm_get(o, "age_days")));
		snprintf(boost, sizeof boost, "+%.2f", json_object_get_double(crm_get(o, "boost")));
		const char *row[7] = { rank, crm_get_str(o, "value"), score, count, age, boost,
			json_object_get_boolean(crm_get(o, "current")) ? "(current)" : "" };
		crm_table_row(t, row);
	}
	crm_table_print(t, stdout);
	crm_table_free(t);
}

int
main(int argc, char **argv)
{
	struct args a = { .limit = 0 };
	const struct crm_cli cli = {
		.usage = "crm-suggest [--user LOGIN | --team NAME] [--limit N] [--json | --table]\n"
		    "                   ENTITY FIELD",
		.summary = "Ranked values for one field of one person or organisation: 60% frequency, "
		    "40% recency, plus the learned boost.",
		.help =
		    "      --user LOGIN       whose accepted values boost the ranking (default $CRM_USER)\n"
		    "      --team NAME        a team's, when no user is given\n"
		    "      --limit N          at most N values\n"
		    "      --json | --table   output format (default: table on a terminal)\n"
		    "ENTITY is person:ID, organisation:ID, a person's e-mail address or an\n"
		    "organisation's domain; FIELD a column (title, phone, mobile, linkedin_url,\n"
		    "website, main_phone, address, email).\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i = crm_cli_parse(&cli, argc, argv), entity = -1, field;
	long long id, user = 0, team = 0;
	PGconn *c;
	json_object *l;

	if (argc - i != 2)
		crm_usage(&cli);
	c = crm_db_connect();
	crm_db_ensure_schema(c, CRM_AUTOFILL_SCHEMA);
	if (!(id = crm_suggest_entity(c, argv[i], &entity)))
		crm_die(CRM_EXIT_USAGE, "no %s '%s'", entity >= 0 ? crm_af_entity_name(entity) :
		    "person or organisation", argv[i]);
	if ((field = crm_af_field_find(entity, argv[i + 1])) < 0)
		crm_die(CRM_EXIT_USAGE, "'%s' is not a field autofill knows for %s", argv[i + 1],
		    crm_af_entity_name(entity) );
	if (!a.user && !a.team)
		a.user = crm_config_get("user");
	if (a.user && !(user = crm_learn_user_id(c, a.user)))
		crm_die(CRM_EXIT_USAGE, "--user: no user '%s'", a.user);
	if (a.team && !(team = crm_learn_team_id(c, a.team)))
		crm_die(CRM_EXIT_USAGE, "--team: no team '%s'", a.team);
	if (user && !team)
		team = crm_learn_user_team(c, user);
	l = crm_suggest(c, entity, id, field, user, team, a.limit);
	if (a.table || (!a.json && isatty(1))) {
		if (json_object_array_length(l))
			table(l);
		else
			crm_warn("no value seen for %s of %s", argv[i + 1], argv[i]);
	} else
		for (size_t k = 0; k < json_object_array_length(l); k++)
			crm_emit_json(json_object_array_get_idx(l, k));
	json_object_put(l);
	crm_db_close(c);
	return crm_output_close();
}
