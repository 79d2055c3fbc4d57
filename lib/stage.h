/* stage.h — the loop every JSON-lines stage runs:
 *   read a record, call the stage's function, emit or reject it.
 * The function returns CRM_KEEP (emit with the keys it set through
 * crm_stage_set()), CRM_DROP (consumed, nothing written) or CRM_REJECT
 * (after calling crm_reject()).  Values passed to crm_stage_set() are
 * owned by the loop from then on. */
#ifndef CRM_STAGE_H
#define CRM_STAGE_H

#include "jsonl.h"

enum { CRM_KEEP = 0, CRM_DROP = 1, CRM_REJECT = -1 };

struct crm_stage;
typedef int (*crm_stage_fn)(struct crm_stage *st, const struct crm_rec *r, void *arg);

/* Set (add or replace) one of the stage's own keys on the current record. */
void crm_stage_set(struct crm_stage *st, const char *key, json_object *val);

/* Run fn over every record of the inputs (NULL: stdin); returns the exit
 * status (0, 1 if anything was rejected, 3 on an output error). */
int crm_stage_run(char **inputs, crm_stage_fn fn, void *arg, const char *what);

#endif
