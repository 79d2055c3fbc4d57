/* tabular.h — a plain-text table for people at a terminal (crm-review,
 * crm-suggest, crm-learn list views): columns sized to their content,
 * long cells cut with "...", numbers right-aligned.  The table owns copies
 * of every cell; crm_table_free() releases them. */
#ifndef CRM_TABULAR_H
#define CRM_TABULAR_H

#include <json.h>
#include <stdio.h>

struct crm_table;

/* Columns: "ID", "FIELD", ... ; a name starting with '>' is right-aligned
 * (the '>' is not printed).  maxw: widest cell in characters (0: 40). */
struct crm_table *crm_table_new(int ncols, const char *const *names, int maxw);
/* One row of ncols cells (NULL: empty). */
void crm_table_row(struct crm_table *t, const char *const *cells);
void crm_table_print(struct crm_table *t, FILE *f);
void crm_table_free(struct crm_table *t);

/* Text of a JSON value for a cell: strings as they are, null as "", numbers
 * and the rest as JSON (static buffer, valid until the next call). */
const char *crm_table_cell(json_object *v);

#endif
