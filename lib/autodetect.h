/* autodetect.h — is a message written by a machine?  Out-of-office
 * replies, bounces (RFC 3464 reports and the common non-standard ones),
 * other automatic replies, mailing-list traffic, from the record's
 * headers, sender, delivery_status and the phrase scores of the auto.*
 * rules.  Returned json objects belong to the caller. */
#ifndef CRM_AUTODETECT_H
#define CRM_AUTODETECT_H

#include "entities.h"
#include <json.h>
#include <stddef.h>
#include <time.h>

enum crm_auto { CRM_AUTO_NONE, CRM_AUTO_OOO, CRM_AUTO_BOUNCE, CRM_AUTO_REPLY, CRM_AUTO_LIST };

/* Phrase scores, from the rules labelled auto.out_of_office, auto.bounce,
 * auto.auto_reply, auto.mailing_list (same order as the enum, from 1). */
struct crm_auto_phrases {
	double ooo, bounce, reply, list;
};

/* What the headers alone settle: CRM_AUTO_BOUNCE (a delivery report,
 * X-Failed-Recipients), CRM_AUTO_LIST (list headers, no automatic-reply
 * mark, no daemon sender), else -1: read the text and call crm_autodetect(). */
int crm_autodetect_headers(json_object *rec, const char **why);
/* The kind of the record; *why (static) says which evidence decided. */
int crm_autodetect(json_object *rec, const struct crm_auto_phrases *ph, const char **why);
const char *crm_auto_name(int kind);

/* What the machine said: for a bounce {"recipients", "status", "action",
 * "diagnostic", "permanent"}; for an out-of-office or automatic reply
 * {"return_date", "contact": {"name", "email", "phone"}} (keys present
 * when found).  NULL when there is nothing to say. */
json_object *crm_auto_detail(struct crm_entities *e, int kind, json_object *rec,
    const char *reply, size_t n, const char *folded, size_t fn, time_t ref);

#endif
