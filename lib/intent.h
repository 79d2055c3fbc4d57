/* intent.h — crm-intent's engine: what a message's sender wants (the
 * "intent" key), whether a machine wrote it ("auto", "auto_detail") and
 * what it names ("entities"), from the new reply only.  The engine owns
 * its rules and lexicons (crm_intent_free); the json objects in a result
 * belong to the caller. */
#ifndef CRM_INTENT_H
#define CRM_INTENT_H

#include "buf.h"
#include <json.h>
#include <stddef.h>

struct crm_intent_opts {
	const char *const *rules;   /* extra rules files, loaded after the defaults (NULL-terminated) */
	size_t max_text;            /* bytes of reply examined (0: 2048) */
	double threshold;           /* best score below this: "other" (0: 1.2) */
	int no_entities;            /* skip entity extraction */
};

struct crm_intent_result {
	json_object *intent, *auto_kind, *auto_detail, *entities;   /* auto_detail may be NULL */
};

struct crm_intent;

/* Load and compile the rules (errors exit 2 naming file:line). */
struct crm_intent *crm_intent_new(const struct crm_intent_opts *o);
/* Classify one record.  With explain non-NULL, one line per matched rule
 * ("label +weight id: text") and the decision are appended to it. */
void crm_intent_classify(struct crm_intent *ie, json_object *rec,
    struct crm_intent_result *out, struct crm_buf *explain);
/* The same result as the JSON text crm_json_str() writes for those
 * objects (a stage splices it into its output without building them).
 * The texts belong to the engine, valid until its next call; NULL (and
 * length 0) when the key is absent.  auto_kind is the bare name. */
struct crm_intent_text {
	const char *intent, *auto_kind, *auto_detail, *entities;
	size_t intent_len, auto_detail_len, entities_len;
};
void crm_intent_render(struct crm_intent *ie, json_object *rec, struct crm_intent_text *out,
    struct crm_buf *explain);
void crm_intent_free(struct crm_intent *ie);

/* The intent labels, in scoring order, NULL-terminated. */
extern const char *const crm_intent_labels[];

#endif
