/* review.c — the review queue and decisions (see review.h).
 *
 * Why one transaction per decision: an approval writes the CRM field, its
 * provenance, the audit row, the suggestion's status, the feedback, the
 * day's metrics and the reviewer's preference; either all of it happens
 * or none, so the metrics never count a decision that did not happen.
 * The suggestion row is locked first (FOR UPDATE), so two reviewers
 * deciding the same suggestion at once cannot both apply it: the second
 * finds it decided.  Filters are one parameterised query whose unused
 * conditions are switched off by their parameter. */
#include "review.h"
#include "autofill.h"
#include "exitcode.h"
#include "learn.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
crm_review_filter_init(struct crm_review_filter *f)
{
	memset(f, 0, sizeof *f);
	f->status = "pending";
	f->entity = -1;
	f->min_conf = f->max_conf = -1;
}

double
crm_review_parse_age(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v >= 0))
		return -1;
	switch (*end) {
	case 0: case 'd': v *= 86400; break;
	case 'w': v *= 7 * 86400; break;
	case 'h': v *= 3600; break;
	case 'm': v *= 60; break;
	case 's': break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return v;
}

static const char SELECT[] =
    "select s.id, s.entity_type, s.entity_id,"
    " case s.entity_type when 'person' then coalesce(p.full_name, p.email) else o.name end as entity,"
    " s.field, s.value, s.current_value, s.confidence, s.method, s.status,"
    " to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as created_at,"
    " round((extract(epoch from now() - s.created_at) / 86400)::numeric, 1)::float8 as age_days,"
    " s.run_id, s.interaction_id";

static const char FROM_WHERE[] =
    " from autofill_suggestions s"
    " left join people p on s.entity_type = 'person' and p.id = s.entity_id"
    " left join organisations o on s.entity_type = 'organisation' and o.id = s.entity_id"
    " where ($1::text = 'all' or s.status = $1)"
    " and ($2::text is null or s.entity_type = $2)"
    " and ($3::bigint = 0 or s.entity_id = $3::bigint)"
    " and ($4::text is null or s.field = $4)"
    " and ($5::text is null or s.method = $5)"
    " and ($6::real < 0 or s.confidence >= $6::real)"
    " and ($7::real < 0 or s.confidence <= $7::real)"
    " and ($8::float8 = 0 or s.created_at <= now() - make_interval(secs => $8::float8))"
    " and ($9::float8 = 0 or s.created_at >= now() - make_interval(secs => $9::float8))"
    " and ($10::bigint = 0 or s.run_id = $10::bigint)"
    " order by s.created_at, s.id limit $11::bigint";

static PGresult *
query(PGconn *c, const char *select, const struct crm_review_filter *f)
{
	char b[8][32], sql[4096];
	const char *p[11];

	snprintf(b[0], 32, "%lld", f->entity_id);
	snprintf(b[1], 32, "%.6g", f->min_conf);
	snprintf(b[2], 32, "%.6g", f->max_conf);
	snprintf(b[3], 32, "%.3f", f->older);
	snprintf(b[4], 32, "%.3f", f->newer);
	snprintf(b[5], 32, "%lld", f->run);
	snprintf(b[6], 32, "%ld", f->limit);
	p[0] = f->status ? f->status : "pending";
	p[1] = f->entity >= 0 ? crm_af_entity_name(f->entity) : NULL;
	p[2] = b[0];
	p[3] = f->field;
	p[4] = f->method;
	p[5] = b[1];
	p[6] = b[2];
	p[7] = b[3];
	p[8] = b[4];
	p[9] = b[5];
	p[10] = f->limit > 0 ? b[6] : NULL;
	snprintf(sql, sizeof sql, "%s%s", select, FROM_WHERE);
	return crm_db_must(c, sql, 11, p);
}

json_object *
crm_review_list(PGconn *c, const struct crm_review_filter *f)
{
	PGresult *r = query(c, SELECT, f);
	json_object *a = crm_af_rows_json(r);

	PQclear(r);
	return a;
}

json_object *
crm_review_ids(PGconn *c, const struct crm_review_filter *f)
{
	PGresult *r = query(c, "select s.id", f);
	json_object *a = json_object_new_array();

	for (int i = 0; i < PQntuples(r); i++)
		json_object_array_add(a, json_object_new_int64(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
	PQclear(r);
	return a;
}

json_object *
crm_review_missing(PGconn *c, json_object *ids)
{
	size_t n;
	const char *p[1] = { crm_json_str(ids, &n) };
	PGresult *r = crm_db_must(c, "select v::bigint from jsonb_array_elements_text($1::jsonb) v"
	    " where not exists (select 1 from autofill_suggestions s where s.id = v::bigint)"
	    " order by 1", 1, p);
	json_object *a = json_object_new_array();

	for (int i = 0; i < PQntuples(r); i++)
		json_object_array_add(a, json_object_new_int64(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
	PQclear(r);
	return a;
}

json_object *
crm_review_show(PGconn *c, long long id)
{
	char sid[24], sql[2048];
	const char *p[1] = { sid };
	PGresult *r;
	json_object *a, *o, *m;

	snprintf(sid, sizeof sid, "%lld", id);
	snprintf(sql, sizeof sql, "%s, s.evidence,"
	    " to_char(s.decided_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as decided_at,"
	    " u.login as decided_by,"
	    " to_char(i.date at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as m_date,"
	    " i.from_name as m_from_name, i.from_email as m_from_email, i.subject as m_subject,"
	    " left(i.reply_text, 600) as m_excerpt, i.signature ->> 'text' as m_signature,"
	    " i.message_id as m_message_id"
	    " from autofill_suggestions s"
	    " left join people p on s.entity_type = 'person' and p.id = s.entity_id"
	    " left join organisations o on s.entity_type = 'organisation' and o.id = s.entity_id"
	    " left join interactions i on i.id = s.interaction_id"
	    " left join users u on u.id = s.decided_by"
	    " where s.id = $1::bigint", SELECT);
	r = crm_db_must(c, sql, 1, p);
	a = crm_af_rows_json(r);
	PQclear(r);
	o = json_object_get(json_object_array_get_idx(a, 0));
	json_object_put(a);
	if (!o)
		return NULL;
	/* the message the value came from, as one object */
	static const char *const mk[] = { "m_date", "m_from_name", "m_from_email", "m_subject",
		"m_excerpt", "m_signature", "m_message_id" };
	m = json_object_new_object();
	for (size_t i = 0; i < sizeof mk / sizeof mk[0]; i++) {
		json_object *v = NULL;
		json_object_object_get_ex(o, mk[i], &v);
		json_object_object_add(m, mk[i] + 2, json_object_get(v));
		json_object_object_del(o, mk[i]);
	}
	json_object *ev = NULL;
	if (json_object_object_get_ex(o, "evidence", &ev) && json_object_is_type(ev, json_type_string)) {
		json_object *parsed = json_tokener_parse(json_object_get_string(ev));
		json_object_object_add(o, "evidence", parsed);
	}
	json_object_object_add(o, "message", m);
	return o;
}

/* ---- decisions ---- */

static int
step_ok(PGconn *c, PGresult *r)
{
	if (!crm_db_ok(r))
		crm_db_die(c, r, "review");
	PQclear(r);
	return 0;
}

static int
apply_value(PGconn *c, PGresult *s, const char *sid, const char *uid)
{
	int e = crm_af_entity_parse(PQgetvalue(s, 0, 0));
	int f = crm_af_field_find(e, PQgetvalue(s, 0, 2));
	const char *eid = PQgetvalue(s, 0, 1), *col;
	char sql[1024];
	PGresult *r;

	if (e < 0 || f < 0)
		crm_die(CRM_EXIT_ENV, "suggestion %s: unknown field %s of %s", sid, PQgetvalue(s, 0, 2),
		    PQgetvalue(s, 0, 0));
	col = crm_af_field_name(f);
	snprintf(sql, sizeof sql, "select %s, provenance -> '%s' from %s where id = $1::bigint for update",
	    col, col, crm_af_entity_table(e));
	r = crm_db_must(c, sql, 1, (const char *const[]){ eid });
	if (PQntuples(r) == 0) {
		PQclear(r);
		return CRM_REVIEW_GONE;
	}
	const char *oldv = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);
	const char *oldp = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
	const char *pc[9] = { sid, uid, oldv, oldp };
	snprintf(sql, sizeof sql,
	    "with s as (select * from autofill_suggestions where id = $1::bigint),"
	    " t as (update %s t set %s = s.value, provenance = jsonb_set(t.provenance, '{%s}',"
	    "  jsonb_build_object('method', 'review', 'source', s.method, 'confidence', s.confidence,"
	    "  'suggestion_id', s.id, 'interaction_id', s.interaction_id, 'user_id', $2::bigint,"
	    "  'at', now())) from s where t.id = s.entity_id returning 1)"
	    " insert into autofill_changes (suggestion_id, entity_type, entity_id, field, old_value,"
	    "  new_value, confidence, method, interaction_id, applied_by, old_provenance)"
	    " select s.id, s.entity_type, s.entity_id, s.field, $3::text, s.value, s.confidence, s.method,"
	    "  s.interaction_id, $2::bigint, $4::jsonb from s where exists (select 1 from t)",
	    crm_af_entity_table(e), col, col);
	step_ok(c, crm_db_exec(c, sql, 4, pc));
	PQclear(r);
	step_ok(c, crm_db_exec(c, "update autofill_suggestions set status = 'superseded', decided_at = now(),"
	    " decided_by = $2::bigint"
	    " where status = 'pending' and id <> $1::bigint and (entity_type, entity_id, field) ="
	    " (select entity_type, entity_id, field from autofill_suggestions where id = $1::bigint)",
	    2, (const char *const[]){ sid, uid }));
	return CRM_REVIEW_OK;
}

int
crm_review_decide(PGconn *c, long long id, int approve, long long user)
{
	char sid[24], uid[24];
	const char *u = NULL;
	PGresult *s, *err = NULL;
	int rc = CRM_REVIEW_OK;

	snprintf(sid, sizeof sid, "%lld", id);
	if (user > 0) {
		snprintf(uid, sizeof uid, "%lld", user);
		u = uid;
	}
	crm_db_run(c, "begin", 0, NULL);
	crm_af_declare_writer(c);
	s = crm_db_must(c, "select entity_type, entity_id, field, value, status, confidence, method"
	    " from autofill_suggestions where id = $1::bigint for update", 1,
	    (const char *const[]){ sid });
	if (PQntuples(s) == 0)
		rc = CRM_REVIEW_UNKNOWN;
	else if (strcmp(PQgetvalue(s, 0, 4), "pending"))
		rc = CRM_REVIEW_DECIDED;
	else if (approve)
		rc = apply_value(c, s, sid, u);
	if (rc != CRM_REVIEW_OK) {
		PQclear(s);
		crm_db_rollback(c);
		return rc;
	}
	const char *decision = approve ? "accept" : "reject";
	const char *p[3] = { sid, u, decision };
	step_ok(c, crm_db_exec(c, "update autofill_suggestions set status = $3::text, decided_at = now(),"
	    " decided_by = $2::bigint where id = $1::bigint", 3,
	    (const char *const[]){ sid, u, approve ? "approved" : "rejected" }));
	step_ok(c, crm_db_exec(c, "insert into ai_feedback (suggestion_id, user_id, entity_type, entity_id,"
	    " field, value, decision, method, confidence)"
	    " select id, $2::bigint, entity_type, entity_id, field, value, $3::text, method, confidence"
	    " from autofill_suggestions where id = $1::bigint", 3, p));
	step_ok(c, crm_db_exec(c, "insert into ai_accuracy_metrics as m (day, field, method, decisions,"
	    " accepted, rejected)"
	    " select current_date, field, coalesce(method, ''), 1, ($2::text = 'accept')::int,"
	    "  ($2::text = 'reject')::int from autofill_suggestions where id = $1::bigint"
	    " on conflict (day, field, method) do update set decisions = m.decisions + 1,"
	    "  accepted = m.accepted + excluded.accepted, rejected = m.rejected + excluded.rejected,"
	    "  updated_at = now()", 2, (const char *const[]){ sid, decision }));
	if (u) {
		struct crm_learn_choice ch = {
			.user = user, .entity_type = PQgetvalue(s, 0, 0), .field = PQgetvalue(s, 0, 2),
			.value = PQgetvalue(s, 0, 3), .choice = decision,
			.confidence = strtod(PQgetvalue(s, 0, 5), NULL), .source = "review", .days = 90,
		};
		crm_learn_track(c, &ch);
	}
	PQclear(s);
	if (crm_db_commit(c, &err) < 0)
		crm_db_die(c, err, "review");
	return CRM_REVIEW_OK;
}
