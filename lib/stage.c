/* stage.c — the per-record loop (see stage.h).  At most a handful of keys
 * are set per record, so they are kept in a small fixed array. */
#include "stage.h"
#include "cli.h"
#include "exitcode.h"
#include "log.h"

#include <string.h>

#define MAXKEYS 8

struct crm_stage {
	const char *keys[MAXKEYS];
	json_object *vals[MAXKEYS];
	size_t n;
};

void
crm_stage_set(struct crm_stage *st, const char *key, json_object *val)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->keys[i], key)) {
			json_object_put(st->vals[i]);
			st->vals[i] = val;
			return;
		}
	if (st->n == MAXKEYS)
		crm_die(CRM_EXIT_ENV, "internal error: too many keys set on one record");
	st->keys[st->n] = key;
	st->vals[st->n++] = val;
}

static void
clear(struct crm_stage *st)
{
	for (size_t i = 0; i < st->n; i++)
		json_object_put(st->vals[i]);
	st->n = 0;
}

int
crm_stage_run(char **inputs, crm_stage_fn fn, void *arg, const char *what)
{
	struct crm_reader *rd = crm_reader_new(inputs, crm_common.max_line);
	struct crm_stage st = { .n = 0 };
	struct crm_rec r;
	unsigned long n = 0;

	while (crm_reader_next(rd, &r)) {
		int rc = fn(&st, &r, arg);
		if (rc == CRM_KEEP)
			crm_emit_keys(&r, st.n, st.keys, st.vals);
		clear(&st);
		crm_progress(++n, what ? what : "records");
	}
	crm_progress_end();
	crm_reader_free(rd);
	crm_output_close();
	return crm_status();
}
