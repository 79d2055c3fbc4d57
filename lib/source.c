/* source.c — the authorized GET shared by the REST mail sources (see
 * source.h).  Kept apart from lib/http.c because the 401 rule (refresh
 * the token once, then give up and ask for a new authorization) belongs
 * to OAuth-protected mail APIs, not to HTTP. */
#include "source.h"
#include "http.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int
crm_api_get(struct crm_api *a, const char *url, const char *const *headers,
    struct crm_http_resp *rs)
{
	struct crm_http_req rq = { .url = url, .headers = headers, .retryable = a->retryable };
	int reauth = 0;

	for (int refreshed = 0;; refreshed++) {
		if (!a->token) {
			a->token = a->hk->token(refreshed, &reauth, a->err, a->errsz, a->hk->arg);
			if (!a->token)
				return reauth ? CRM_SRC_REAUTH : CRM_SRC_ENV;
		}
		rq.bearer = a->token;
		if (crm_http_do(a->h, &rq, rs) < 0) {
			snprintf(a->err, a->errsz, "%s: %s", a->what, rs->err);
			return CRM_SRC_ENV;
		}
		if (rs->status != 401)
			return CRM_SRC_OK;
		if (refreshed) {
			snprintf(a->err, a->errsz, "%s refuses a freshly refreshed access token (HTTP 401): "
			    "the account must be authorized again", a->what);
			return CRM_SRC_REAUTH;
		}
		crm_debug("%s: HTTP 401: refreshing the access token", a->what);
		a->token = NULL;
	}
}

time_t
crm_api_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	int off = 0;

	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
	}
	return timegm(&tm) - off;
}
