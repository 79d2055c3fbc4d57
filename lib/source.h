/* source.h — what the REST mail sources (lib/gmail.h, lib/graph.h) need
 * from their caller: the stored cursor of a folder, a place for each
 * message, and OAuth2 access tokens.  The caller owns the json objects
 * it returns; objects passed to message() and folder_done() are lent
 * (message() owns its "source"). */
#ifndef CRM_SOURCE_H
#define CRM_SOURCE_H

#include "buf.h"

#include <json.h>
#include <stddef.h>
#include <time.h>

struct crm_src_hooks {
	/* The stored cursor object of a folder and its cursor_seq, or NULL
	 * when the folder was never synced (a new reference). */
	json_object *(*get_cursor)(const char *folder, long long *seq, void *arg);
	/* Forget a folder's cursor (its history expired: full resync). */
	int (*reset_cursor)(const char *folder, void *arg);
	/* One message (raw == NULL: not fetched, err says why); owns source.
	 * Returns 0 to go on, -1 to stop (output error). */
	int (*message)(const char *raw, size_t len, json_object *source, time_t date,
	    const char *err, void *arg);
	/* End of a folder: the cursor reached, its seq, messages handed on. */
	int (*folder_done)(const char *folder, json_object *cursor, long long seq,
	    unsigned long handed, void *arg);
	/* An OAuth2 access token; refresh = 1 after the API answered 401.
	 * NULL with err set when none can be had (*reauth = 1 when the user
	 * must authorize again). */
	const char *(*token)(int refresh, int *reauth, char *err, size_t errsz, void *arg);
	void *arg;
};

struct crm_src_stats {
	unsigned long folders, messages, rejected, gone, removed, resyncs, pages;
};

/* Outcome codes of the REST sources, mapped to exit codes by the caller. */
enum { CRM_SRC_OK = 0, CRM_SRC_ENV = 3, CRM_SRC_STOP = 5, CRM_SRC_REAUTH = 6 };

/* An authorized API client: GET with the current access token; a 401
 * gets one token refresh and one more try, a second 401 means the user
 * must authorize again. */
struct crm_http;
struct crm_http_resp;
struct crm_api {
	struct crm_http *h;
	const struct crm_src_hooks *hk;
	const char *what;             /* "Gmail", "Graph" */
	const char *token;            /* current access token (the hooks' memory) */
	int (*retryable)(long status, const struct crm_buf *body);
	char *err;
	size_t errsz;
};
/* Returns CRM_SRC_OK with *rs filled (any status but 401), CRM_SRC_ENV
 * (no response: rs->err copied to err) or CRM_SRC_REAUTH. */
int crm_api_get(struct crm_api *a, const char *url, const char *const *headers,
    struct crm_http_resp *rs);
/* ISO-8601 "2024-01-02T03:04:05Z" (fraction and offset allowed) to time_t, 0 if bad. */
time_t crm_api_time(const char *s);

#endif
