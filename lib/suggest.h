/* suggest.h — ranked values for one field of one entity, what a form's
 * context menu offers (crm-suggest(1)): candidates from the evidence mail
 * gave, scored 60% frequency + 40% recency, plus the learned boost.
 * The returned json array belongs to the caller (json_object_put). */
#ifndef CRM_SUGGEST_H
#define CRM_SUGGEST_H

#include "db.h"

#include <json.h>

#define CRM_SUGGEST_FREQ 0.6
#define CRM_SUGGEST_RECENCY 0.4

/* The entity named by spec: "person:12", "organisation:3", an e-mail
 * address (a person, main or other address) or a domain (an
 * organisation).  Returns its id and sets *entity, or 0 when none. */
long long crm_suggest_entity(PGconn *c, const char *spec, int *entity);

/* Candidates best first: [{"rank", "value", "score", "frequency",
 * "recency", "boost", "count", "last_seen", "age_days", "current",
 * "methods"}].  user/team: whose boost (0: none); limit 0: all. */
json_object *crm_suggest(PGconn *c, int entity, long long id, int field, long long user,
    long long team, long limit);

/* 0.6 * frequency + 0.4 * recency + boost, at most 1.0. */
double crm_suggest_score(double frequency, double recency, double boost);

#endif
