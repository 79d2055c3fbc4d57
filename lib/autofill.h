/* autofill.h — the CRM fills itself from mail (crm-autofill(1)): values
 * proposed by signatures and enrichment, combined across messages, applied
 * above a threshold (audited, undoable) or queued for review below it.
 * The engine owns what it allocates (crm_af_free); field names are static.
 *
 * Confidence of a value v for one field of one entity (see crm-autofill(1)):
 *   each message i proposing v gives s_i = c_i * w_i, where c_i is the
 *   extraction confidence after the sender checks and w_i = 0.5^(d_i/365)
 *   with d_i the days between message i and the newest message proposing
 *   any value for that field (values superseded by newer mail fade);
 *   support(v) = 1 - prod(1 - s_i)           (agreement raises it)
 *   conf(v)    = support(v) * sum_v(s) / sum_all(s)   (disagreement lowers it)
 *   then + the learned boost (crm_learn_boost), never above 1.0. */
#ifndef CRM_AUTOFILL_H
#define CRM_AUTOFILL_H

#include "buf.h"
#include "db.h"
#include "jsonl.h"

/* The schema version the autofill programs need (sql/030_*). */
#define CRM_AUTOFILL_SCHEMA 30
#define CRM_AF_THRESHOLD 0.92
#define CRM_AF_MIN_CONF 0.50

enum crm_af_entity { CRM_AF_PERSON = 0, CRM_AF_ORG = 1 };

enum crm_af_field {
	CRM_AF_TITLE, CRM_AF_PHONE, CRM_AF_MOBILE, CRM_AF_LINKEDIN,        /* people */
	CRM_AF_WEBSITE, CRM_AF_MAIN_PHONE, CRM_AF_ADDRESS, CRM_AF_EMAIL,   /* organisations */
	CRM_AF_NFIELDS
};
#define CRM_AF_PER_ENTITY 4

/* Column name of a field ("title", "main_phone", ...) and its entity. */
const char *crm_af_field_name(int field);
int crm_af_field_entity(int field);
/* Field index by column name, within an entity (-1: any); -1 if unknown. */
int crm_af_field_find(int entity, const char *name);
/* "person" / "organisation"; and back ("person", "people", "organisation",
 * "org", "organization"), -1 if unknown. */
const char *crm_af_entity_name(int entity);
int crm_af_entity_parse(const char *s);
/* The table of an entity ("people", "organisations"). */
const char *crm_af_entity_table(int entity);

/* The comparison form of a value (phones E.164, web addresses without
 * scheme, "www." or trailing '/', text folded), appended to out. */
void crm_af_norm(int field, const char *v, struct crm_buf *out);
/* Same comparison form; for addresses, also when one only adds a
 * two-letter country code at the end ("..., 44000 Nantes, FR"). */
int crm_af_same(int field, const char *a, const char *b);

/* The recency weight of evidence d days older than the newest. */
double crm_af_recency(double days);
/* Confidences are compared with the threshold after rounding to 1e-6, so
 * that a message at exactly the threshold is applied. */
int crm_af_reaches(double conf, double threshold);

struct crm_af_opts {
	double threshold;          /* apply at or above */
	double min_conf;           /* suggest at or above, drop below */
	long limit;                /* interactions to process (0: all pending) */
	long batch;                /* interactions per transaction */
	int dry_run;               /* decide, print, roll back */
	long long user_id;         /* whose preferences boost ownerless entities (0: none) */
	const char *note;          /* stored in autofill_runs.note */
};

struct crm_af_counts {
	unsigned long processed;   /* messages read (interactions or records) */
	unsigned long matched;     /* of which matched a person or organisation */
	unsigned long applied, confirmed, suggested, conflicts;
	unsigned long retries;
};

struct crm_af;

/* A run against the database (a row of autofill_runs is created at once,
 * committed unless dry_run).  Exits 3 on database trouble, 2 on a bad
 * rules file. */
struct crm_af *crm_af_new(PGconn *c, const struct crm_af_opts *o);
long long crm_af_run_id(const struct crm_af *a);
/* Claim and process stored interactions not yet processed, batch by batch
 * (FOR UPDATE SKIP LOCKED), up to the limit. */
void crm_af_process_stored(struct crm_af *a);
/* Queue one record read on stdin (processed by batches); rejects it
 * (crm_reject, -1) when it cannot be used. */
int crm_af_add_record(struct crm_af *a, const struct crm_rec *r);
/* Process what is queued, record the counts, end the run (rolled back
 * with dry_run).  status: "done" or "failed". */
void crm_af_finish(struct crm_af *a, const char *status);
const struct crm_af_counts *crm_af_counts(const struct crm_af *a);
void crm_af_free(struct crm_af *a);

/* Undo a run: restore the old value of every change of the run whose
 * field still holds the new value with the run's provenance; report the
 * others (crm_warn).  Returns -1 when the run does not exist. */
struct crm_af_undo {
	unsigned long reverted, kept, earlier;   /* earlier: already undone */
};
int crm_af_undo(PGconn *c, long long run, struct crm_af_undo *u);

/* A JSON number rounded to 1e-6 and written short ("0.855", not
 * "0.85499999999999998"). */
json_object *crm_af_num(double v);

/* Rows of a result as a json array of objects keyed by column name:
 * integers, numbers (crm_af_num), booleans, json parsed, text as strings,
 * NULL as null. */
json_object *crm_af_rows_json(PGresult *r);

/* Mark the transaction as written by a crm program, so that the manual-edit
 * trigger (sql/030) leaves provenance to the writer. */
void crm_af_declare_writer(PGconn *c);

#endif
