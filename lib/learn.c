/* learn.c — preferences, the learned boost, patterns and statistics (see
 * learn.h).
 *
 * Why in SQL: the preferences are rows people's decisions add one at a
 * time, read by small aggregate queries (indexes on user/team, field,
 * value); nothing here is hot except the boost, which autofill fetches
 * for a whole batch at once and computes with crm_learn_boost().  The
 * boost is computed as accepts / 10 rather than accepts * 0.1 so that
 * 0.3 is the double nearest 0.3, and thresholds compare as people expect. */
#include "learn.h"
#include "autofill.h"
#include "exitcode.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double
crm_learn_boost(long accepts)
{
	if (accepts <= 0)
		return 0;
	if (accepts * CRM_LEARN_STEP >= CRM_LEARN_CAP)
		return CRM_LEARN_CAP;
	return (double)accepts / 10.0;
}

double
crm_learn_boosted(double conf, double boost)
{
	double v = conf + boost;
	return v > 1.0 ? 1.0 : v;
}

static long long
lookup_id(PGconn *c, const char *sql, const char *key)
{
	const char *p[1] = { key };
	PGresult *r = crm_db_must(c, sql, 1, p);
	long long id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;

	PQclear(r);
	return id;
}

/* A login or name, or a number that is an existing id. */
long long
crm_learn_user_id(PGconn *c, const char *login)
{
	return lookup_id(c, "select id from users where login = $1 or "
	    "($1 ~ '^[0-9]{1,18}$' and id = $1::bigint) order by login = $1 desc limit 1", login);
}

long long
crm_learn_team_id(PGconn *c, const char *name)
{
	return lookup_id(c, "select id from teams where name = $1 or "
	    "($1 ~ '^[0-9]{1,18}$' and id = $1::bigint) order by name = $1 desc limit 1", name);
}

long long
crm_learn_user_team(PGconn *c, long long user)
{
	char u[24];

	snprintf(u, sizeof u, "%lld", user);
	return lookup_id(c, "select team_id from users where id = $1::bigint and team_id is not null", u);
}

long
crm_learn_accepts(PGconn *c, long long user, long long team, const char *entity_type,
    const char *field, const char *value, int *from_team)
{
	char u[24], t[24];
	const char *p[5] = { u, t, entity_type, field, value };
	PGresult *r;
	long n_user, n_team;

	snprintf(u, sizeof u, "%lld", user);
	snprintf(t, sizeof t, "%lld", team);
	r = crm_db_must(c,
	    "select count(*) filter (where p.user_id = $1::bigint),"
	    " count(*) filter (where $2::bigint <> 0 and coalesce(p.team_id, u.team_id) = $2::bigint)"
	    " from ai_user_preferences p left join users u on u.id = p.user_id"
	    " where p.choice = 'accept' and p.expires_at > now() and p.field = $4 and p.value = $5"
	    " and ($3::text is null or p.entity_type is null or p.entity_type = $3)"
	    " and (p.user_id = $1::bigint or coalesce(p.team_id, u.team_id) = $2::bigint)", 5, p);
	n_user = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	n_team = strtol(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	if (from_team)
		*from_team = n_user == 0 && n_team > 0;
	return n_user > 0 ? n_user : n_team;
}

int
crm_learn_choice_ok(const char *s)
{
	return s && (!strcmp(s, "accept") || !strcmp(s, "reject") || !strcmp(s, "manual") ||
	    !strcmp(s, "ignore"));
}

static const char *
id_or_null(char *buf, size_t n, long long id)
{
	if (id <= 0)
		return NULL;
	snprintf(buf, n, "%lld", id);
	return buf;
}

long long
crm_learn_track(PGconn *c, const struct crm_learn_choice *ch)
{
	char u[24], t[24], rank[24], conf[32], days[24];
	const char *p[10];
	PGresult *r;
	long long id;

	p[0] = id_or_null(u, sizeof u, ch->user);
	p[1] = id_or_null(t, sizeof t, ch->team);
	p[2] = ch->entity_type;
	p[3] = ch->field;
	p[4] = ch->value;
	p[5] = ch->choice;
	p[6] = ch->rank > 0 ? (snprintf(rank, sizeof rank, "%d", ch->rank), rank) : NULL;
	p[7] = ch->confidence >= 0 ? (snprintf(conf, sizeof conf, "%.6g", ch->confidence), conf) : NULL;
	p[8] = ch->source;
	snprintf(days, sizeof days, "%d", ch->days > 0 ? ch->days : 90);
	p[9] = days;
	r = crm_db_must(c,
	    "insert into ai_user_preferences (user_id, team_id, entity_type, field, value, choice,"
	    " rank, confidence, source, expires_at)"
	    " values ($1::bigint, coalesce($2::bigint, (select team_id from users where id = $1::bigint)),"
	    " $3, $4, $5, $6, $7::integer, $8::real, $9, now() + make_interval(days => $10::integer))"
	    " returning id", 10, p);
	id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return id;
}

/* Who: "p.user_id = $1" or "coalesce(p.team_id, u.team_id) = $2" or all. */
static const char WHO[] =
    " ($1::bigint = 0 or p.user_id = $1::bigint)"
    " and ($2::bigint = 0 or coalesce(p.team_id, u.team_id) = $2::bigint)";

json_object *
crm_learn_patterns(PGconn *c, long long user, long long team, const char *field)
{
	char u[24], t[24];
	const char *p[3] = { u, t, field };
	PGresult *r;
	json_object *a;

	snprintf(u, sizeof u, "%lld", user);
	snprintf(t, sizeof t, "%lld", team);
	r = crm_db_must(c,
	    "select p.field, p.value,"
	    " count(*) filter (where choice = 'accept')::int as accept,"
	    " count(*) filter (where choice = 'reject')::int as reject,"
	    " count(*) filter (where choice = 'manual')::int as manual,"
	    " count(*) filter (where choice = 'ignore')::int as ignore,"
	    " round(avg(rank)::numeric, 2)::float8 as mean_rank,"
	    " to_char(max(p.created_at) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as last,"
	    " least(0.5, count(*) filter (where choice = 'accept') / 10.0)::float8 as boost"
	    " from ai_user_preferences p left join users u on u.id = p.user_id"
	    " where p.expires_at > now() and ($3::text is null or p.field = $3) and"
	    " ($1::bigint = 0 or p.user_id = $1::bigint)"
	    " and ($2::bigint = 0 or coalesce(p.team_id, u.team_id) = $2::bigint)"
	    " group by p.field, p.value"
	    " order by count(*) filter (where choice = 'accept') desc, count(*) desc, max(p.created_at) desc,"
	    " p.field, p.value", 3, p);
	a = crm_af_rows_json(r);
	PQclear(r);
	return a;
}

json_object *
crm_learn_stats(PGconn *c, long long user, long long team)
{
	char u[24], t[24];
	const char *p[2] = { u, t };
	PGresult *r;
	json_object *o, *top;
	char sql[1024];

	snprintf(u, sizeof u, "%lld", user);
	snprintf(t, sizeof t, "%lld", team);
	snprintf(sql, sizeof sql,
	    "select count(*)::int as choices,"
	    " count(*) filter (where choice = 'accept')::int as accept,"
	    " count(*) filter (where choice = 'reject')::int as reject,"
	    " count(*) filter (where choice = 'manual')::int as manual,"
	    " count(*) filter (where choice = 'ignore')::int as ignore,"
	    " round((count(*) filter (where choice = 'accept'))::numeric / nullif(count(*), 0), 4)::float8"
	    "  as accept_rate"
	    " from ai_user_preferences p left join users u on u.id = p.user_id"
	    " where p.expires_at > now() and%s", WHO);
	r = crm_db_must(c, sql, 2, p);
	top = crm_af_rows_json(r);
	o = json_object_get(json_object_array_get_idx(top, 0));
	json_object_put(top);
	PQclear(r);
	snprintf(sql, sizeof sql,
	    "select p.field, count(*)::int as choices,"
	    " round((count(*) filter (where choice = 'accept'))::numeric / count(*), 4)::float8"
	    "  as accept_rate"
	    " from ai_user_preferences p left join users u on u.id = p.user_id"
	    " where p.expires_at > now() and%s"
	    " group by p.field order by count(*) desc, p.field limit 10", WHO);
	r = crm_db_must(c, sql, 2, p);
	top = crm_af_rows_json(r);
	PQclear(r);
	json_object_object_add(o, "top_fields", top);
	return o;
}

static long
affected(PGresult *r)
{
	long n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

long
crm_learn_forget(PGconn *c, long long user)
{
	char u[24];
	const char *p[1] = { u };

	snprintf(u, sizeof u, "%lld", user);
	return affected(crm_db_must(c, "delete from ai_user_preferences where user_id = $1::bigint", 1, p));
}

long
crm_learn_expire(PGconn *c)
{
	return affected(crm_db_must(c, "delete from ai_user_preferences where expires_at <= now()", 0, NULL));
}
