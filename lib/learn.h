/* learn.h — what people's decisions teach (crm-learn(1)): choices on
 * suggested values kept in ai_user_preferences for 90 days, the learned
 * boost autofill and suggest add, patterns and statistics for display.
 * Functions print nothing on stdout; returned json objects belong to the
 * caller (json_object_put); strings passed in are copied or bound as
 * parameters only.
 *
 * The boost: +0.10 per unexpired past accept of the same value for the
 * same field by that user; when the user has none, the accepts of the
 * user's team count instead; at most +0.50, and a confidence plus its
 * boost never exceeds 1.0. */
#ifndef CRM_LEARN_H
#define CRM_LEARN_H

#include "db.h"

#include <json.h>

#define CRM_LEARN_STEP 0.10
#define CRM_LEARN_CAP 0.50

/* min(CAP, STEP * accepts) */
double crm_learn_boost(long accepts);
/* min(1.0, conf + boost) */
double crm_learn_boosted(double conf, double boost);

/* Users and teams by login/name or number: the id, or 0 when unknown.
 * crm_learn_user_team gives a user's team (0: none). */
long long crm_learn_user_id(PGconn *c, const char *login);
long long crm_learn_team_id(PGconn *c, const char *name);
long long crm_learn_user_team(PGconn *c, long long user);

/* The accepts that count for a boost (user's own, else the team's) and
 * whether they came from the team. */
long crm_learn_accepts(PGconn *c, long long user, long long team, const char *entity_type,
    const char *field, const char *value, int *from_team);

struct crm_learn_choice {
	long long user, team;      /* one of them at least */
	const char *entity_type;   /* NULL: any */
	const char *field, *value, *choice;   /* accept|reject|manual|ignore */
	int rank;                  /* 0: none */
	double confidence;         /* < 0: none */
	const char *source;        /* NULL: none */
	int days;                  /* time to live (90) */
};

/* 1 when s is accept, reject, manual or ignore. */
int crm_learn_choice_ok(const char *s);
/* Insert one choice; returns its id (exits 3 on database trouble). */
long long crm_learn_track(PGconn *c, const struct crm_learn_choice *ch);

/* Per value of a field, for a user or a team (the one not 0): counts of
 * each choice, last time, boost.  One object per value, best first. */
json_object *crm_learn_patterns(PGconn *c, long long user, long long team, const char *field);
/* {"choices", "accept", "reject", "manual", "ignore", "accept_rate",
 *  "top_fields": [{"field", "choices", "accept_rate"}]} for a user, a team
 * or everybody (both 0). */
json_object *crm_learn_stats(PGconn *c, long long user, long long team);
/* Delete a user's preferences; returns how many. */
long crm_learn_forget(PGconn *c, long long user);
/* Delete preferences past expires_at; returns how many. */
long crm_learn_expire(PGconn *c);

#endif
