/* store.h — message records into PostgreSQL (crm-store(1)): interactions,
 * threads, people and organisations, sync cursors, in batched transactions.
 * The store owns everything it allocates (crm_store_free); records are
 * copied, so the reader's buffers may be reused after crm_store_add().
 *
 * Also the read side of incremental local sync (crm-sync --state): the set
 * of items already stored for an (account, kind, folder). */
#ifndef CRM_STORE_H
#define CRM_STORE_H

#include "db.h"
#include "jsonl.h"

/* The schema version crm-store needs (sql/006_*). */
#define CRM_STORE_SCHEMA 6

struct crm_store_opts {
	long batch;                       /* records per transaction */
	int dry_run;                      /* everything in one transaction, rolled back */
	const char *const *internal;      /* extra internal domains, NULL-terminated */
};

struct crm_store_stats {
	unsigned long records;            /* valid records handed to the database */
	unsigned long inserted, updated, unchanged;
	unsigned long people_new, people_updated, orgs_new, threads, cursors;
	unsigned long retries;
};

struct crm_store;

/* Loads the webmail and role-address lists and the internal addresses;
 * exits 2 on a bad list file, 3 on a database error. */
struct crm_store *crm_store_new(PGconn *c, const struct crm_store_opts *o);
/* Check and queue one record (0), or reject it (-1, after crm_reject()).
 * A full batch is written at once; database trouble exits 3, and nothing
 * of an unfinished batch is committed. */
int crm_store_add(struct crm_store *s, const struct crm_rec *r);
/* Write what is queued; with dry_run, roll everything back. */
void crm_store_finish(struct crm_store *s);
const struct crm_store_stats *crm_store_stats(const struct crm_store *s);
void crm_store_free(struct crm_store *s);

/* Items already stored for (account, kind, folder), as the keys of a json
 * object (the caller json_object_put()s it). */
json_object *crm_seen_load(PGconn *c, const char *account, const char *kind,
    const char *folder);

/* Incremental Maildir sync: which messages are already stored, per folder,
 * loaded once per folder on first use.  The item of a Maildir file is its
 * unique name, the file name without the ":2,FLAGS" info (stable when the
 * mail moves from new/ to cur/ or changes flags).  crm_seen_free() frees
 * everything. */
struct crm_seen;
struct crm_seen *crm_seen_new(PGconn *c, const char *account, const char *kind);
int crm_seen_has(struct crm_seen *s, const char *folder, const char *item);
void crm_seen_free(struct crm_seen *s);
/* The item of a Maildir file name, into out (truncated to size). */
void crm_maildir_item(const char *name, char *out, size_t size);

#endif
