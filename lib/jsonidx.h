/* jsonidx.h — read JSON-lines inputs twice, for stages that need every
 * record before they can answer (crm-thread): pass 1 parses the records in
 * parallel threads and keeps only their positions plus the few bytes a
 * callback picks from each; pass 2 hands the lines back in input order.
 * Regular files are re-read in place; pipes are first copied to an
 * unlinked temporary file.  Lines that are not JSON objects, that are
 * too long, or that pick() refuses are rejected (crm_reject_raw()) with
 * their input and line, as the crm_reader does.  The index owns every
 * pointer it hands out; crm_jidx_free() releases it all. */
#ifndef CRM_JSONIDX_H
#define CRM_JSONIDX_H

#include "buf.h"

#include <json.h>
#include <stddef.h>

struct crm_jidx_opts {
	size_t max_line;        /* 0: CRM_MAX_LINE_DEFAULT */
	int jobs;               /* parser threads (at most 64); 0: one per CPU, at most 8 */
	/* In a parser thread, for each record: append what the caller needs
	 * to out and return flags (0..255) kept with the record, or -1 with
	 * *why (a static string) set to reject the record. */
	int (*pick)(json_object *rec, const char *line, size_t len,
	    struct crm_buf *out, const char **why, void *arg);
	/* In the calling thread, in input order, for each kept record. */
	void (*take)(size_t recno, const char *p, size_t n, void *arg);
	void *arg;
};

struct crm_jidx_rec {
	const char *line;       /* the raw bytes, no newline; valid until the next call */
	size_t len;
	const char *input;      /* "<stdin>" or the file name */
	long lineno;
	size_t recno;           /* 0, 1, ... in input order */
	int flags;              /* what pick() returned */
};

struct crm_jidx;

/* Pass 1 over paths (NULL or empty: stdin; "-" is stdin). */
struct crm_jidx *crm_jidx_scan(char **paths, const struct crm_jidx_opts *o);
size_t crm_jidx_count(const struct crm_jidx *x);
/* Pass 2: 1 with the next record in *r, 0 at the end.  An input that
 * changed in between is an environment error (exit 3). */
int crm_jidx_next(struct crm_jidx *x, struct crm_jidx_rec *r);
/* Parse r's line again (the caller owns the result). */
json_object *crm_jidx_parse(struct crm_jidx *x, const struct crm_jidx_rec *r);
void crm_jidx_free(struct crm_jidx *x);

#endif
