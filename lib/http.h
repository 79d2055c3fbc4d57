/* http.h — HTTP(S) requests over libcurl for the remote sources and OAuth:
 * stall and connect timeouts, retries with exponential backoff and jitter
 * that honour Retry-After (429, 5xx, transport errors; never 400/401/403/
 * 404 unless the caller's predicate says so), TLS verified by default.
 * A client and its responses are owned by the caller (crm_http_free,
 * crm_http_resp_free); JSON bodies are parsed with json-c. */
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include "buf.h"

#include <json.h>
#include <stddef.h>

struct crm_http;

struct crm_http_opts {
	const char *what;         /* name in messages ("gmail", "oauth") */
	double timeout;           /* seconds: connect, and longest stall (default 30) */
	int retries;              /* further attempts after the first (default 5) */
	double backoff;           /* first delay in seconds (default 1), doubled, with jitter */
	double backoff_max;       /* longest delay, Retry-After included (default 64) */
	size_t max_body;          /* largest response body (default 128M) */
	const char *cafile;       /* extra CA bundle (NULL: system store) */
	int trace;                /* one line per request on stderr (never a secret) */
};

/* Defaults from the configuration: http_timeout, http_retries,
 * http_backoff, http_backoff_max (environment CRM_HTTP_*), else the
 * defaults above; "what" and "cafile" are set by the caller. */
void crm_http_opts_default(struct crm_http_opts *o);

struct crm_http *crm_http_new(const struct crm_http_opts *o);
void crm_http_free(struct crm_http *h);

struct crm_http_req {
	const char *method;       /* NULL: GET, or POST when body is set */
	const char *url;
	const char *bearer;       /* Authorization: Bearer (never logged) */
	const char *const *headers;   /* extra "Name: value", NULL-terminated */
	const char *body;         /* request body or NULL */
	size_t bodylen;
	const char *content_type;
	/* Decide whether a response with this status and body is worth
	 * another attempt (e.g. Gmail's 403 rateLimitExceeded); NULL: the
	 * default rule (429 and 5xx).  */
	int (*retryable)(long status, const struct crm_buf *body);
};

struct crm_http_resp {
	long status;              /* 0 when no response was had */
	struct crm_buf body;
	int attempts;
	char err[512];            /* transport error or give-up reason */
};

/* Send with retries.  Returns 0 when a response came back (any status:
 * check resp->status), -1 when none did (resp->err says why). */
int crm_http_do(struct crm_http *h, const struct crm_http_req *rq, struct crm_http_resp *rs);
void crm_http_resp_free(struct crm_http_resp *rs);

/* Parse a response body as JSON: a new object (json_object_put it), or
 * NULL with a message in err. */
json_object *crm_http_json(const struct crm_http_resp *rs, char *err, size_t errsz);
/* A short description of an API error body for messages: the
 * "error_description", "error.message", "error" string or the HTTP
 * status text, written into buf. */
const char *crm_http_error_text(const struct crm_http_resp *rs, char *buf, size_t size);

/* URL-escape s (RFC 3986 unreserved kept); appended to out. */
void crm_url_escape(struct crm_buf *out, const char *s);
/* Append "&k=v" (or "?k=v" when out has no '?') with v escaped. */
void crm_url_param(struct crm_buf *out, const char *k, const char *v);
/* Append "k=v" to an application/x-www-form-urlencoded body ('&' first
 * unless it is empty). */
void crm_form_param(struct crm_buf *out, const char *k, const char *v);

#endif
