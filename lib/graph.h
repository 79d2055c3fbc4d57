/* graph.h — incremental sync of Microsoft 365 / Outlook mail folders over
 * Microsoft Graph v1.0: a delta query per folder (the deltaLink is the
 * stored cursor), the MIME bytes of each message from /$value.  Messages
 * go to the caller's hooks (lib/source.h); nothing for the caller to free. */
#ifndef CRM_GRAPH_H
#define CRM_GRAPH_H

#include "http.h"
#include "source.h"

struct crm_graph_conf {
	const char *account;
	const char *api_base;     /* default https://graph.microsoft.com/v1.0 */
	const char *user;         /* "me" (default) or a user principal name */
	unsigned long limit;      /* messages per run, 0: no limit */
	size_t max_size;          /* larger messages are rejected (0: none) */
	int resync;               /* ignore the stored deltaLinks */
	const char *since;        /* YYYY-MM-DD: first sync only, receivedDateTime ge */
	int page_size;            /* Prefer: odata.maxpagesize (default 50) */
};

/* Sync each folder (well-known names such as "inbox", "sentitems", or
 * folder ids; NULL: inbox).  Returns CRM_SRC_OK, CRM_SRC_ENV,
 * CRM_SRC_REAUTH or CRM_SRC_STOP, with a message in err. */
int crm_graph_sync(struct crm_http *h, const struct crm_graph_conf *c,
    const char *const *folders, const struct crm_src_hooks *hk,
    struct crm_src_stats *st, char *err, size_t errsz);

#endif
