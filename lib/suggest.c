/* suggest.c — ranked suggestions for one field of one entity (see
 * suggest.h).
 *
 * Why from autofill_evidence: every message that proposed a value for the
 * field is a row there, so "how often" and "how lately" are one GROUP BY
 * away, with no second store of history to keep in step.  Frequency is
 * the value's share of the messages; recency is the half-life weight
 * autofill uses (crm_af_recency) of the time since the value was last
 * seen; values a reviewer rejected for this entity and field are left
 * out, as autofill leaves them out. */
#include "suggest.h"
#include "autofill.h"
#include "learn.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double
crm_suggest_score(double frequency, double recency, double boost)
{
	return crm_learn_boosted(CRM_SUGGEST_FREQ * frequency + CRM_SUGGEST_RECENCY * recency, boost);
}

long long
crm_suggest_entity(PGconn *c, const char *spec, int *entity)
{
	const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
	char type[32];
	PGresult *r;
	long long id = 0;

	if (colon && !at) {
		snprintf(type, sizeof type, "%.*s", (int)(colon - spec), spec);
		if ((*entity = crm_af_entity_parse(type)) < 0)
			return 0;
		char sql[128];
		snprintf(sql, sizeof sql, "select id from %s where $1 ~ '^[0-9]{1,18}$' and id = $1::bigint",
		    crm_af_entity_table(*entity));
		r = crm_db_must(c, sql, 1, (const char *const[]){ colon + 1 });
	} else if (at) {
		*entity = CRM_AF_PERSON;
		r = crm_db_must(c, "select id from people where email = lower($1)"
		    " or (other_emails <> '{}' and other_emails @> array[lower($1)])"
		    " order by email = lower($1) desc, id limit 1", 1, (const char *const[]){ spec });
	} else {
		*entity = CRM_AF_ORG;
		r = crm_db_must(c, "select id from organisations where domain = lower($1)", 1,
		    (const char *const[]){ spec });
	}
	if (PQntuples(r))
		id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return id;
}

struct sc {
	json_object *o;
	double score;
	long count;
	double age;
};

static int
cmp_sc(const void *x, const void *y)
{
	const struct sc *a = x, *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->age < b->age ? -1 : a->age > b->age;
}

json_object *
crm_suggest(PGconn *c, int entity, long long id, int field, long long user, long long team,
    long limit)
{
	char sid[24], sql[512];
	const char *et = crm_af_entity_name(entity), *col = crm_af_field_name(field);
	const char *p[3] = { et, sid, col };
	PGresult *r, *cur;
	json_object *out = json_object_new_array();
	long total = 0;

	snprintf(sid, sizeof sid, "%lld", id);
	r = crm_db_must(c,
	    "select e.value, count(*),"
	    " to_char(max(coalesce(e.seen_at, e.created_at)) at time zone 'UTC',"
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " greatest(0, extract(epoch from now() - max(coalesce(e.seen_at, e.created_at))) / 86400),"
	    " string_agg(distinct e.method, ',' order by e.method)"
	    " from autofill_evidence e"
	    " where e.entity_type = $1 and e.entity_id = $2::bigint and e.field = $3"
	    " and not exists (select 1 from autofill_suggestions s where s.status = 'rejected'"
	    "  and s.entity_type = $1 and s.entity_id = $2::bigint and s.field = $3"
	    "  and s.value = e.value)"
	    " group by e.value", 3, p);
	snprintf(sql, sizeof sql, "select %s from %s where id = $1::bigint", col,
	    crm_af_entity_table(entity));
	cur = crm_db_must(c, sql, 1, (const char *const[]){ sid });
	const char *current = PQntuples(cur) && !PQgetisnull(cur, 0, 0) ? PQgetvalue(cur, 0, 0) : NULL;
	int n = PQntuples(r);
	struct sc *v = crm_xcalloc((size_t)n + 1, sizeof *v);

	for (int i = 0; i < n; i++)
		total += strtol(PQgetvalue(r, i, 1), NULL, 10);
	for (int i = 0; i < n; i++) {
		const char *val = PQgetvalue(r, i, 0);
		long cnt = strtol(PQgetvalue(r, i, 1), NULL, 10);
		double age = strtod(PQgetvalue(r, i, 3), NULL);
		double freq = total ? (double)cnt / (double)total : 0, rec = crm_af_recency(age);
		double b = (user || team) ? crm_learn_boost(crm_learn_accepts(c, user, team, et, col, val,
		    NULL)) : 0;
		json_object *o = json_object_new_object();
		v[i].score = crm_suggest_score(freq, rec, b);
		v[i].count = cnt;
		v[i].age = age;
		json_object_object_add(o, "value", json_object_new_string(val));
		json_object_object_add(o, "score", crm_af_num(v[i].score));
		json_object_object_add(o, "frequency", crm_af_num(freq));
		json_object_object_add(o, "recency", crm_af_num(rec));
		json_object_object_add(o, "boost", crm_af_num(b));
		json_object_object_add(o, "count", json_object_new_int64(cnt));
		json_object_object_add(o, "last_seen", json_object_new_string(PQgetvalue(r, i, 2)));
		json_object_object_add(o, "age_days", crm_af_num(round(age * 10) / 10));
		json_object_object_add(o, "current",
		    json_object_new_boolean(current && crm_af_same(field, current, val)));
		json_object_object_add(o, "methods", json_object_new_string(PQgetvalue(r, i, 4)));
		v[i].o = o;
	}
	qsort(v, (size_t)n, sizeof *v, cmp_sc);
	for (int i = 0; i < n; i++) {
		if (limit > 0 && i >= limit) {
			json_object_put(v[i].o);
			continue;
		}
		json_object_object_add(v[i].o, "rank", json_object_new_int(i + 1));
		json_object_array_add(out, v[i].o);
	}
	free(v);
	PQclear(r);
	PQclear(cur);
	return out;
}
