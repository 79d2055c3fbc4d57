/* gmail.h — incremental sync of a Gmail mailbox over the Gmail REST API
 * v1 (messages.list + format=raw, then history.list from the stored
 * historyId).  Messages go to the caller's hooks (lib/source.h); nothing
 * is returned that the caller must free. */
#ifndef CRM_GMAIL_H
#define CRM_GMAIL_H

#include "http.h"
#include "source.h"

struct crm_gmail_conf {
	const char *account;
	const char *api_base;     /* default https://gmail.googleapis.com */
	const char *label;        /* a label id to sync, or NULL for all mail */
	const char *query;        /* messages.list q for the first sync (e.g. "after:2024/01/01") */
	unsigned long limit;      /* messages per run, 0: no limit */
	size_t max_size;          /* larger messages are rejected (0: none) */
	int resync;               /* ignore the stored cursor: list everything again */
	int page_size;            /* ids per list/history page (default 500) */
};

/* Returns CRM_SRC_OK, CRM_SRC_ENV, CRM_SRC_REAUTH or CRM_SRC_STOP, with a
 * message in err. */
int crm_gmail_sync(struct crm_http *h, const struct crm_gmail_conf *c,
    const struct crm_src_hooks *hk, struct crm_src_stats *st, char *err, size_t errsz);

#endif
