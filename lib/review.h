/* review.h — the human side of autofill (crm-review(1)): the queue of
 * suggestions with filters, one suggestion with the message it came from,
 * and decisions (approve applies the value, audited; both record feedback,
 * accuracy metrics and the reviewer's preference).
 * Returned json objects belong to the caller (json_object_put). */
#ifndef CRM_REVIEW_H
#define CRM_REVIEW_H

#include "db.h"

#include <json.h>

struct crm_review_filter {
	const char *status;        /* "pending" (default), "approved", ..., or "all" */
	int entity;                /* CRM_AF_PERSON, CRM_AF_ORG, or -1 */
	long long entity_id;       /* 0: any */
	const char *field;         /* NULL: any (checked by the caller) */
	const char *method;        /* NULL: any */
	double min_conf, max_conf; /* < 0: no bound */
	double older, newer;       /* age bounds in seconds (0: none) */
	long long run;             /* 0: any */
	long limit;                /* 0: no limit */
};

void crm_review_filter_init(struct crm_review_filter *f);
/* "90" (days), "12h", "30m", "2w", "7d" -> seconds; -1 on error. */
double crm_review_parse_age(const char *s);

/* Suggestions matching f, oldest first: [{"id", "entity_type", "entity_id",
 * "entity", "field", "value", "current_value", "confidence", "method",
 * "status", "created_at", "age_days", "run_id", "interaction_id"}]. */
json_object *crm_review_list(PGconn *c, const struct crm_review_filter *f);
/* The ids matching f (a json array of numbers). */
json_object *crm_review_ids(PGconn *c, const struct crm_review_filter *f);
/* One suggestion with its evidence and "message": {"id", "date", "from",
 * "subject", "excerpt", "signature"}; NULL when there is no such id. */
json_object *crm_review_show(PGconn *c, long long id);
/* Which of ids do not exist (a json array, empty when all do). */
json_object *crm_review_missing(PGconn *c, json_object *ids);

enum {
	CRM_REVIEW_OK = 0,
	CRM_REVIEW_UNKNOWN,        /* no such suggestion */
	CRM_REVIEW_DECIDED,        /* not pending any more */
	CRM_REVIEW_GONE,           /* its person or organisation was deleted */
};

/* Approve (apply the value, audited with the reviewer) or reject one
 * suggestion, in one transaction with its feedback, metrics and
 * preference.  user: the reviewer's users.id, 0 when unknown. */
int crm_review_decide(PGconn *c, long long id, int approve, long long user);

#endif
