/* route.h — who should answer a message (crm-route(1)): routing rules
 * from a text file or the routing_rules table, first match by priority,
 * then the owner of the sender's organisation, then a default assignee.
 * The rule set owns its rules and patterns (crm_route_free); the route of
 * a record is a new json object the caller owns. */
#ifndef CRM_ROUTE_H
#define CRM_ROUTE_H

#include "db.h"

#include <json.h>

struct crm_routes;

/* Rules from a file (see crm-route(1) for the format).  On a malformed
 * file: NULL, with "FILE:LINE: message" in err. */
struct crm_routes *crm_route_load_file(const char *path, char *err, size_t errlen);
/* The enabled rules of routing_rules.  On a bad pattern: NULL, with
 * "routing_rules NAME: message" in err. */
struct crm_routes *crm_route_load_db(PGconn *c, char *err, size_t errlen);
size_t crm_route_count(const struct crm_routes *rs);

/* The database for organisation owners (NULL: none are known). */
void crm_route_set_db(struct crm_routes *rs, PGconn *c);
/* The default assignee; unless override, only when the rules name none. */
void crm_route_set_default(struct crm_routes *rs, const char *assignee, int override);

/* {"assignee", "rule_id", "by": "rule|owner|default"} for a record (all
 * null when nobody is found); with explain, "explain": [...] says which
 * rules were tried and why each did or did not match. */
json_object *crm_route_record(struct crm_routes *rs, json_object *rec, int explain);

void crm_route_free(struct crm_routes *rs);

#endif
