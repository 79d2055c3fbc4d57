/* signature.h — find the sender's signature at the end of a reply and
 * read a contact card out of it (crm-parse-signature(1)).
 * Rules (lexicons, patterns) come from lib/rules/signature/ and are loaded
 * once; every string in a struct crm_signature is malloc'd and released
 * by crm_signature_free().  Each thread that reads signatures keeps a
 * memo of lexicon results by line text (about 240 KB, kept until exit).
 *
 * Two steps, so that a caller can cache between them:
 *   crm_sig_locate()  reply text -> the signature block (closing line,
 *                     "-- " delimiter, the sender's name, line features;
 *                     legal notices and mobile footers cut away)
 *   crm_sig_extract() block -> fields with per-field confidence
 *
 * Field shapes: phone and mobile E.164 ("+33612345678"), mobile vs fixed
 * decided by libphonenumber from the number itself (the label decides only
 * when the numbering plan cannot, as in the US); website host[/path]
 * lowercased without scheme or "www."; linkedin "linkedin.com/in/x" or
 * "linkedin.com/company/x"; address {street, postal_code, city, country}
 * with country an ISO 3166 alpha-2 code, postal_code without a country
 * prefix ("L-2453" -> "2453"), city without "CEDEX nn". */
#ifndef CRM_SIGNATURE_H
#define CRM_SIGNATURE_H

#include <json.h>
#include <stddef.h>

enum crm_sig_field {
	CRM_SIG_NAME, CRM_SIG_TITLE, CRM_SIG_COMPANY, CRM_SIG_EMAIL,
	CRM_SIG_PHONE, CRM_SIG_MOBILE, CRM_SIG_WEBSITE, CRM_SIG_LINKEDIN,
	CRM_SIG_ADDRESS, CRM_SIG_NFIELDS
};

/* "name", "title", ... in the order above. */
extern const char *const crm_sig_field_names[CRM_SIG_NFIELDS];

struct crm_sig_rules;

/* Load the rules from dir (NULL: crm_rules_path("signature")).  On a
 * missing or malformed file returns NULL with "FILE:LINE: message" in err. */
struct crm_sig_rules *crm_sig_rules_load(const char *dir, char *err, size_t errlen);
void crm_sig_rules_free(struct crm_sig_rules *r);

struct crm_sig_input {
	const char *reply;         /* the reply part (crm_quote_split) */
	size_t reply_len;
	const char *from_name;     /* From display name, may be NULL */
	const char *from_email;    /* From address, may be NULL */
	const char *region;        /* default phone region, NULL: "FR" */
};

struct crm_sig_address {
	char *street, *postal_code, *city, *country;
};

struct crm_signature {
	char *text;                          /* the block, lines joined by '\n' */
	size_t text_len;
	size_t start;                        /* where the block begins in the reply */
	double block_confidence;             /* that the block is the sender's */
	char *field[CRM_SIG_NFIELDS];        /* NULL: absent (ADDRESS: see address) */
	struct crm_sig_address address;      /* when field conf[ADDRESS] > 0 */
	double conf[CRM_SIG_NFIELDS];        /* 0 when absent */
	const char *rule[CRM_SIG_NFIELDS];   /* static: which rule produced it */
	double confidence;                   /* overall */
};

/* Find the signature block in in->reply.  Returns 1 and fills out->text,
 * out->text_len, out->start and out->block_confidence, or 0 when the reply carries no
 * signature (out left empty).  Safe on any bytes. */
int crm_sig_locate(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *out);

/* Read the fields out of out->text (as filled by crm_sig_locate). */
void crm_sig_extract(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *out);

/* Drop fields whose confidence is below min and recompute the overall
 * confidence; returns the number of fields left. */
int crm_sig_threshold(struct crm_signature *s, double min);

/* {"text", "fields", "field_confidence", "confidence"} (+ "rules" when
 * explain); the caller adds "method" and owns the object. */
json_object *crm_signature_json(const struct crm_signature *s, int explain);

void crm_signature_free(struct crm_signature *s);

#endif
