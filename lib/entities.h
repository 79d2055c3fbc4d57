/* entities.h — named things in a message's reply: persons, organisations,
 * locations (gazetteers and capitalisation), dates (FR/EN, absolute and
 * relative, to ISO-8601 against the message date), phones (E.164 through
 * phone.h), e-mail addresses and top keywords.  The extractor owns its
 * lexicons and patterns (crm_entities_free); returned json objects belong
 * to the caller. */
#ifndef CRM_ENTITIES_H
#define CRM_ENTITIES_H

#include "buf.h"
#include "phone.h"
#include <json.h>
#include <stddef.h>
#include <time.h>

struct crm_entities;

/* The entities of a text as C data: the arrays of the "entities" object,
 * in its order.  Strings point into the texts scanned or into the set
 * itself; they stay valid while both do. */
struct crm_ent_str {
	const char *s;
	size_t n;
};

struct crm_ent_set {
	struct crm_ent_str persons[16], orgs[16], locs[16], dates[32], phones[16], emails[32],
	    keywords[5];
	size_t npersons, norgs, nlocs, ndates, nphones, nemails, nkeywords;
	char date_value[32][24];          /* dates[i]'s ISO value */
	char phone_buf[16][CRM_PHONE_MAX], email_buf[32][256];
};

/* Load the gazetteers under <rules>/entities/ (fatal, exit 2, if absent). */
struct crm_entities *crm_entities_new(void);
void crm_entities_free(struct crm_entities *e);

/* The "entities" object for text (original) and folded (its fold.h form);
 * ref is the message date (0: unknown, relative dates are then left out). */
json_object *crm_entities_extract(struct crm_entities *e, const char *text, size_t n,
    const char *folded, size_t fn, time_t ref);

/* The same into set (no json-c objects), and set as the object or as
 * the bytes json-c would write for it (crm_json_str's flags). */
void crm_entities_scan(struct crm_entities *e, const char *text, size_t n,
    const char *folded, size_t fn, time_t ref, struct crm_ent_set *set);
json_object *crm_entities_json(const struct crm_ent_set *set);
void crm_entities_render(const struct crm_ent_set *set, struct crm_buf *out);

/* A date expression starting exactly at folded[at] (after blanks): 1 and
 * the ISO date (YYYY-MM-DD) in iso when one is there, *end past it. */
int crm_entities_date_at(struct crm_entities *e, const char *folded, size_t fn,
    size_t at, time_t ref, char iso[11], size_t *end);

/* Persons and organisations of a short text, appended to the arrays
 * (either may be NULL). */
void crm_entities_names(struct crm_entities *e, const char *text, size_t n,
    json_object *persons, json_object *orgs);
/* E-mail addresses (lower-cased) and E.164 phones of text, appended. */
void crm_entities_contacts(struct crm_entities *e, const char *text, size_t n,
    json_object *emails, json_object *phones);

/* Sentiment of folded text in -1..1 (lexicon, negation-aware). */
double crm_entities_sentiment(struct crm_entities *e, const char *folded, size_t fn);

/* Parse "2025-10-30T09:12:00Z" (or a date alone); 0 when unparseable. */
time_t crm_parse_iso8601(const char *s);

#endif
