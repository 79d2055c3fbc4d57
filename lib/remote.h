/* remote.h — crm-sync's remote sources: one IMAP, Gmail or Graph account
 * from mail_accounts, or every active account (--all) each claimed with a
 * lease.  Records go to stdout (crm-record(5)) with the source cursor that
 * crm-store commits; per-account summaries go to stderr and job_runs.
 * Nothing to free. */
#ifndef CRM_REMOTE_H
#define CRM_REMOTE_H

#include <stddef.h>

struct crm_remote_opts {
	const char *imap, *gmail, *graph;   /* one named account of that kind */
	int all;                            /* every active account */
	unsigned long limit;                /* messages per account per run (0: none) */
	int resync;                         /* UIDVALIDITY change accepted / history ignored */
	const char *since;                  /* YYYY-MM-DD: first Gmail/Graph sync only */
	const char *cafile;                 /* CA bundle overriding the account's */
	int html;                           /* records carry "html" */
	size_t max_size;                    /* largest message (0: 64M) */
};

/* Returns the exit status: 0, 1 (rejects), 2 (usage: no such account,
 * wrong kind), 3 (environment), 4 (UIDVALIDITY changed); with --all the
 * worst of the accounts, every account being tried. */
int crm_remote_run(const struct crm_remote_opts *o);

#endif
