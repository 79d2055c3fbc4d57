/* imap.h — incremental IMAP fetch over libetpan, TLS verified by lib/tls.
 * crm_imap_sync() walks the folders, fetches messages above each folder's
 * cursor in UID batches (BODY.PEEK[]: nothing is marked read) and hands
 * each one to a callback with a new "source" object (the callback owns
 * it); raw bytes are valid only during the call.  Nothing else to free. */
#ifndef CRM_IMAP_H
#define CRM_IMAP_H

#include <json.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum crm_tls_mode { CRM_TLS_IMPLICIT, CRM_TLS_STARTTLS, CRM_TLS_NONE };

struct crm_imap_conf {
	const char *account;      /* goes into source.account */
	const char *host;
	unsigned port;
	enum crm_tls_mode tls;
	const char *cafile;       /* NULL: system store */
	const char *user;
	const char *password;     /* LOGIN, or NULL for XOAUTH2 (hooks->token) */
	int timeout;              /* seconds per network operation */
	int retries;              /* reconnects after a lost connection */
	double backoff;           /* first reconnect delay (s), doubled each time */
	size_t batch;             /* messages per UID FETCH */
	size_t batch_bytes;       /* and at most this many bytes (one message at least) */
	size_t max_size;          /* larger messages are rejected unfetched (0: none) */
	unsigned long limit;      /* messages per run (0: no limit) */
	int resync;               /* accept a UIDVALIDITY change: start the folder over */
	int trace;                /* protocol trace on stderr (secrets redacted) */
};

/* What is known of a folder: the last UID handed on for a UIDVALIDITY. */
struct crm_imap_cursor {
	int known;
	uint32_t uidvalidity, uid;
	uint64_t highestmodseq;
};

struct crm_imap_hooks {
	/* Stored cursor of a folder (known = 0 when none).  0, or -1 on error. */
	int (*get_cursor)(const char *folder, struct crm_imap_cursor *c, void *arg);
	/* --resync after a UIDVALIDITY change: forget the folder's cursor. */
	int (*reset_cursor)(const char *folder, void *arg);
	/* One message: raw == NULL when it was not fetched (err says why).
	 * Returns 0 to go on, -1 to stop the whole sync (output error). */
	int (*message)(const char *raw, size_t len, json_object *source,
	    time_t internaldate, const char *err, void *arg);
	/* End of a folder: final cursor and how many messages were handed on. */
	int (*folder_done)(const char *folder, const struct crm_imap_cursor *c,
	    unsigned long handed, void *arg);
	/* XOAUTH2: an access token (refresh = 1 after the server refused the
	 * last one); NULL with err set when none can be had. */
	const char *(*token)(int refresh, char *err, size_t errsz, void *arg);
	void *arg;
};

struct crm_imap_stats {
	unsigned long folders, messages, rejected, vanished, changed, reconnects;
};

/* Returns a crm exit code: 0, 3 (network, TLS, credentials, server) or
 * 4 (UIDVALIDITY changed without resync), with a message in err. */
int crm_imap_sync(const struct crm_imap_conf *conf, const char *const *folders,
    const struct crm_imap_hooks *hooks, struct crm_imap_stats *stats,
    char *err, size_t errsz);

#endif
