/* crm-learn — track people's choices on suggested values and show what
 * they taught: patterns, statistics, the learned boost; forget a user,
 * expire old preferences.  Options and output only; the rules are in
 * lib/learn.h. */
#include "autofill.h"
#include "cli.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "learn.h"
#include "log.h"
#include "tabular.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_USER = 1, O_TEAM, O_FIELD, O_VALUE, O_CHOICE, O_RANK, O_CONF, O_SOURCE, O_ENTITY,
	O_DAYS, O_JSON, O_TABLE };

static const struct option longopts[] = {
	{ "user", required_argument, NULL, O_USER },
	{ "team", required_argument, NULL, O_TEAM },
	{ "field", required_argument, NULL, O_FIELD },
	{ "value", required_argument, NULL, O_VALUE },
	{ "choice", required_argument, NULL, O_CHOICE },
	{ "rank", required_argument, NULL, O_RANK },
	{ "confidence", required_argument, NULL, O_CONF },
	{ "source", required_argument, NULL, O_SOURCE },
	{ "entity", required_argument, NULL, O_ENTITY },
	{ "days", required_argument, NULL, O_DAYS },
	{ "json", no_argument, NULL, O_JSON },
	{ "table", no_argument, NULL, O_TABLE },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

struct args {
	const char *user, *team, *field, *value, *choice, *source, *entity;
	int rank, days, json, table, quiet;
	double conf;
};

static int
field_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && *s != '_' && !isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int
handle(int opt, const char *arg, void *ctx)
{
	struct args *a = ctx;

	switch (opt) {
	case O_USER: a->user = arg; return 0;
	case O_TEAM: a->team = arg; return 0;
	case O_FIELD:
		if (!field_ok(arg))
			crm_die(CRM_EXIT_USAGE, "--field: expected a column name like title or main_phone, got '%s'", arg);
		a->field = arg;
		return 0;
	case O_VALUE: a->value = arg; return 0;
	case O_CHOICE:
		if (!crm_learn_choice_ok(arg))
			crm_die(CRM_EXIT_USAGE, "--choice: expected accept, reject, manual or ignore, got '%s'", arg);
		a->choice = arg;
		return 0;
	case O_RANK: a->rank = (int)crm_parse_long("--rank", arg, 1, 1000); return 0;
	case O_CONF: a->conf = crm_parse_double("--confidence", arg, 0, 1); return 0;
	case O_SOURCE: a->source = arg; return 0;
	case O_ENTITY:
		if (crm_af_entity_parse(arg) < 0)
			crm_die(CRM_EXIT_USAGE, "--entity: expected person or organisation, got '%s'", arg);
		a->entity = crm_af_entity_name(crm_af_entity_parse(arg));
		return 0;
	case O_DAYS: a->days = (int)crm_parse_long("--days", arg, 1, 36500); return 0;
	case O_JSON: a->json = 1; return 0;
	case O_TABLE: a->table = 1; return 0;
	case 'q': a->quiet = 1; return 0;
	}
	return -1;
}

struct who {
	long long user, team;
};

static struct who
who(PGconn *c, const struct args *a)
{
	struct who w = { 0, 0 };

	if (a->user && !(w.user = crm_learn_user_id(c, a->user)))
		crm_die(CRM_EXIT_USAGE, "--user: no user '%s'", a->user);
	if (a->team && !(w.team = crm_learn_team_id(c, a->team)))
		crm_die(CRM_EXIT_USAGE, "--team: no team '%s'", a->team);
	return w;
}

static _Noreturn void
need(const char *cmd, const char *what)
{
	crm_die(CRM_EXIT_USAGE, "%s needs %s", cmd, what);
}

static int
as_table(const struct args *a)
{
	return a->table || (!a->json && isatty(1));
}

static int
track(PGconn *c, const struct args *a)
{
	struct who w = who(c, a);
	struct crm_learn_choice ch = {
		.user = w.user, .team = w.team, .entity_type = a->entity, .field = a->field,
		.value = a->value, .choice = a->choice, .rank = a->rank, .confidence = a->conf,
		.source = a->source, .days = a->days ? a->days : 90,
	};

	if (!w.user && !w.team)
		need("track", "--user or --team");
	if (!a->field || !a->value || !a->choice)
		need("track", "--field, --value and --choice");
	long long id = crm_learn_track(c, &ch);
	if (!a->quiet)
		crm_warn("tracked %s of '%s' for %s (preference %lld)", a->choice, a->value, a->field, id);
	return 0;
}

static void
patterns(PGconn *c, const struct args *a)
{
	struct who w = who(c, a);
	json_object *l = crm_learn_patterns(c, w.user, w.team, a->field);
	size_t n = json_object_array_length(l);

	if (!as_table(a)) {
		for (size_t i = 0; i < n; i++)
			crm_emit_json(json_object_array_get_idx(l, i));
	} else if (n) {
		static const char *const cols[] = { "FIELD", "VALUE", ">ACCEPT", ">REJECT", ">MANUAL",
			">IGNORE", ">BOOST", "LAST" };
		static const char *const keys[] = { "field", "value", "accept", "reject", "manual",
			"ignore", "boost", "last" };
		struct crm_table *t = crm_table_new(8, cols, 40);
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(l, i);
			char cell[8][64];
			const char *row[8];
			for (int j = 0; j < 8; j++) {
				snprintf(cell[j], sizeof cell[j], "%s", crm_table_cell(crm_get(o, keys[j])));
				row[j] = cell[j];
			}
			row[1] = crm_get_str(o, "value");
			crm_table_row(t, row);
		}
		crm_table_print(t, stdout);
		crm_table_free(t);
	}
	json_object_put(l);
}

static void
stats(PGconn *c, const struct args *a)
{
	struct who w = who(c, a);
	json_object *o = crm_learn_stats(c, w.user, w.team), *top = crm_get(o, "top_fields");

	if (!as_table(a)) {
		crm_emit_json(o);
	} else {
		printf("choices      %s\n", crm_table_cell(crm_get(o, "choices")));
		printf("accept       %s\n", crm_table_cell(crm_get(o, "accept")));
		printf("reject       %s\n", crm_table_cell(crm_get(o, "reject")));
		printf("manual       %s\n", crm_table_cell(crm_get(o, "manual")));
		printf("ignore       %s\n", crm_table_cell(crm_get(o, "ignore")));
		printf("accept rate  %s\n", crm_table_cell(crm_get(o, "accept_rate")));
		for (size_t i = 0; top && i < json_object_array_length(top); i++) {
			json_object *f = json_object_array_get_idx(top, i);
			printf("%s%-12s %s choices, ", i ? "             " : "top fields   ",
			    crm_get_str(f, "field"), crm_table_cell(crm_get(f, "choices")));
			printf("accept rate %s\n", crm_table_cell(crm_get(f, "accept_rate")));
		}
	}
	json_object_put(o);
}

static void
boost(PGconn *c, const struct args *a)
{
	struct who w = who(c, a);
	int from_team = 0;
	long n;
	json_object *o;

	if (!w.user && !w.team)
		need("boost", "--user or --team");
	if (!a->field || !a->value)
		need("boost", "--field and --value");
	if (w.user && !w.team)
		w.team = crm_learn_user_team(c, w.user);
	n = crm_learn_accepts(c, w.user, w.team, a->entity, a->field, a->value, &from_team);
	o = json_object_new_object();
	json_object_object_add(o, "field", json_object_new_string(a->field));
	json_object_object_add(o, "value", json_object_new_string(a->value));
	json_object_object_add(o, "accepts", json_object_new_int64(n));
	json_object_object_add(o, "from_team", json_object_new_boolean(from_team));
	json_object_object_add(o, "boost", crm_af_num(crm_learn_boost(n)));
	crm_emit_json(o);
	json_object_put(o);
}

int
main(int argc, char **argv)
{
	struct args a = { .conf = -1 };
	const struct crm_cli cli = {
		.usage = "crm-learn [options] track | patterns | stats | boost | forget | expire",
		.summary = "Track choices on suggested values; show what they taught; forget a user; "
		    "expire old preferences.",
		.help =
		    "      --user LOGIN       the user (track, patterns, stats, boost, forget)\n"
		    "      --team NAME        the team (track, patterns, stats, boost)\n"
		    "      --field F          the field (title, phone, ...)\n"
		    "      --value V          the value (track, boost)\n"
		    "      --choice C         accept, reject, manual or ignore (track)\n"
		    "      --rank N           rank of the value in the list shown (track)\n"
		    "      --confidence C     confidence shown with it (track)\n"
		    "      --source S         where the value came from (track)\n"
		    "      --entity T         person or organisation (track, boost)\n"
		    "      --days N           keep the choice N days (track, default 90)\n"
		    "      --json | --table   output format (default: table on a terminal)\n"
		    "  -q, --quiet            no message on stderr\n",
		.shortopts = "q",
		.longopts = longopts,
		.handle = handle,
		.ctx = &a,
	};
	int i = crm_cli_parse(&cli, argc, argv), rc = 0;
	const char *cmd;
	PGconn *c;

	if (i != argc - 1)
		crm_usage(&cli);
	cmd = argv[i];
	if (strcmp(cmd, "track") && strcmp(cmd, "patterns") && strcmp(cmd, "stats") &&
	    strcmp(cmd, "boost") && strcmp(cmd, "forget") && strcmp(cmd, "expire")) {
		crm_warn("unknown command '%s'", cmd);
		crm_usage(&cli);
	}
	if (!strcmp(cmd, "forget") && (!a.user || a.team))
		need("forget", "--user (and only that)");
	c = crm_db_connect();
	crm_db_ensure_schema(c, CRM_AUTOFILL_SCHEMA);
	if (!strcmp(cmd, "track"))
		rc = track(c, &a);
	else if (!strcmp(cmd, "patterns"))
		patterns(c, &a);
	else if (!strcmp(cmd, "stats"))
		stats(c, &a);
	else if (!strcmp(cmd, "boost"))
		boost(c, &a);
	else if (!strcmp(cmd, "forget")) {
		struct who w = who(c, &a);
		long n = crm_learn_forget(c, w.user);
		if (!a.quiet)
			crm_warn("forgot %ld preference(s) of %s", n, a.user);
	} else {
		long n = crm_learn_expire(c);
		if (!a.quiet)
			crm_warn("expired %ld preference(s)", n);
	}
	crm_db_close(c);
	int orc = crm_output_close();
	return orc ? orc : rc;
}
