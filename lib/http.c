/* http.c — libcurl with the retry rules of the remote APIs (see http.h).
 *
 * Why this shape: every provider crm talks to (Gmail, Graph, the OAuth
 * token endpoints) throttles with 429 or 503 and sometimes says how long
 * to wait; none of them wants a 400, 401, 403 or 404 repeated.  One
 * easy handle is kept per client so connections are reused.  The timeout
 * is a stall timeout (no byte for N seconds) plus a connect timeout, so a
 * large body on a slow link is not cut, but a server that stops talking
 * is; a hard ceiling of 20 stalls bounds a trickling server.  Delays are
 * backoff * 2^n with up to 50% random jitter, at least Retry-After, at
 * most backoff_max; a Retry-After beyond backoff_max ends the retries
 * with a message saying so.  Nothing secret is ever printed: the trace
 * shows method, URL without its query, status, size and time. */
#include "http.h"
#include "config.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct crm_http {
	struct crm_http_opts o;
	CURL *curl;
};

void
crm_http_opts_default(struct crm_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->what = "http";
	o->timeout = crm_config_double("http_timeout", 30);
	o->retries = (int)crm_config_long("http_retries", 5);
	o->backoff = crm_config_double("http_backoff", 1);
	o->backoff_max = crm_config_double("http_backoff_max", 64);
	o->max_body = 128u << 20;
}

struct crm_http *
crm_http_new(const struct crm_http_opts *o)
{
	static int inited;
	struct crm_http *h = crm_xcalloc(1, sizeof *h);

	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	h->o = *o;
	if (h->o.timeout <= 0)
		h->o.timeout = 30;
	if (h->o.retries < 0)
		h->o.retries = 0;
	if (h->o.backoff < 0)
		h->o.backoff = 0;
	if (h->o.backoff_max <= 0)
		h->o.backoff_max = 64;
	if (!h->o.max_body)
		h->o.max_body = 128u << 20;
	if (!(h->curl = curl_easy_init()))
		crm_die(3, "libcurl: cannot initialise");
	return h;
}

void
crm_http_free(struct crm_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void
crm_http_resp_free(struct crm_http_resp *rs)
{
	crm_buf_free(&rs->body);
}

struct sink {
	struct crm_buf *b;
	size_t max;
	int over;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->b->len + len > s->max) {
		s->over = 1;
		return 0;          /* makes curl fail with CURLE_WRITE_ERROR */
	}
	crm_buf_add(s->b, p, len);
	return len;
}

static int
default_retryable(long status, const struct crm_buf *body)
{
	(void)body;
	return status == 429 || status == 408 || (status >= 500 && status != 501 && status != 505);
}

static double
jitter(void)
{
	unsigned char r[2];
	if (RAND_bytes(r, 2) != 1)
		return 0.25;
	return (r[0] << 8 | r[1]) / 65535.0 * 0.5;
}

static void
pause_for(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* One attempt.  Returns the CURLcode; the status and Retry-After (-1 when
 * absent) are filled in. */
static CURLcode
attempt(struct crm_http *h, const struct crm_http_req *rq, struct crm_http_resp *rs,
    struct curl_slist *hdrs, double *retry_after)
{
	struct sink s = { &rs->body, h->o.max_body, 0 };
	CURL *c = h->curl;
	curl_off_t ra = -1;
	CURLcode cc;
	const char *method = rq->method ? rq->method : rq->body ? "POST" : "GET";
	long stall = (long)(h->o.timeout + 0.999);

	crm_buf_reset(&rs->body);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->o.timeout * 1000));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(h->o.timeout * 20 * 1000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->o.cafile && *h->o.cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->o.cafile);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "crm/" CRM_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->bodylen);
	}
	cc = curl_easy_perform(c);
	rs->status = 0;
	*retry_after = -1;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			*retry_after = (double)ra;
	} else if (s.over) {
		snprintf(rs->err, sizeof rs->err, "response larger than %zu bytes", h->o.max_body);
	} else {
		snprintf(rs->err, sizeof rs->err, "%s", curl_easy_strerror(cc));
	}
	return cc;
}

static void
trace(struct crm_http *h, const struct crm_http_req *rq, const struct crm_http_resp *rs,
    double t0)
{
	const char *q;
	int n;

	if (!h->o.trace)
		return;
	q = strchr(rq->url, '?');
	n = q ? (int)(q - rq->url) : (int)strlen(rq->url);
	if (rs->status)
		crm_warn("%s: %s %.*s%s -> %ld (%zu bytes, %.0f ms)", h->o.what,
		    rq->method ? rq->method : rq->body ? "POST" : "GET", n, rq->url, q ? "?..." : "",
		    rs->status, rs->body.len, (now() - t0) * 1000);
	else
		crm_warn("%s: %s %.*s%s -> %s", h->o.what, rq->method ? rq->method : rq->body ? "POST" : "GET",
		    n, rq->url, q ? "?..." : "", rs->err);
}

int
crm_http_do(struct crm_http *h, const struct crm_http_req *rq, struct crm_http_resp *rs)
{
	struct curl_slist *hdrs = NULL;
	struct crm_buf auth = CRM_BUF_INIT;
	int (*retryable)(long, const struct crm_buf *) = rq->retryable ? rq->retryable : default_retryable;
	int rc = -1;

	rs->status = 0;
	rs->attempts = 0;
	rs->err[0] = 0;
	if (rq->bearer) {
		crm_buf_printf(&auth, "Authorization: Bearer %s", rq->bearer);
		hdrs = curl_slist_append(hdrs, auth.s);
	}
	if (rq->content_type) {
		char ct[256];
		snprintf(ct, sizeof ct, "Content-Type: %s", rq->content_type);
		hdrs = curl_slist_append(hdrs, ct);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	for (const char *const *p = rq->headers; p && *p; p++)
		hdrs = curl_slist_append(hdrs, *p);
	for (;;) {
		double ra, t0 = now(), wait;
		CURLcode cc = attempt(h, rq, rs, hdrs, &ra);
		rs->attempts++;
		trace(h, rq, rs, t0);
		if (cc == CURLE_OK && !retryable(rs->status, &rs->body)) {
			rc = 0;
			break;
		}
		if (cc != CURLE_OK && (cc == CURLE_WRITE_ERROR || cc == CURLE_SSL_CACERT ||
		    cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT))
			break;          /* retrying will not help */
		if (rs->attempts > h->o.retries) {
			if (cc == CURLE_OK) {
				rc = 0;  /* the last response stands; the caller reports it */
				snprintf(rs->err, sizeof rs->err, "HTTP %ld after %d attempts", rs->status,
				    rs->attempts);
			} else {
				char e[sizeof rs->err];
				snprintf(e, sizeof e, "%s", rs->err);
				snprintf(rs->err, sizeof rs->err, "%.400s (after %d attempts)", e, rs->attempts);
			}
			break;
		}
		wait = h->o.backoff * (double)(1u << (rs->attempts - 1 < 16 ? rs->attempts - 1 : 16));
		wait += wait * jitter();
		if (wait > h->o.backoff_max)
			wait = h->o.backoff_max;
		if (ra > h->o.backoff_max) {
			rc = 0;
			snprintf(rs->err, sizeof rs->err, "the server asks to wait %.0f s before retrying "
			    "(more than http_backoff_max %.0f s)", ra, h->o.backoff_max);
			break;
		}
		if (ra > wait)
			wait = ra;
		if (cc == CURLE_OK)
			crm_debug("%s: HTTP %ld; retrying in %.1f s", h->o.what, rs->status, wait);
		else
			crm_debug("%s: %s; retrying in %.1f s", h->o.what, rs->err, wait);
		pause_for(wait);
	}
	curl_slist_free_all(hdrs);
	if (auth.s) {
		memset(auth.s, 0, auth.len);
		crm_buf_free(&auth);
	}
	return rc;
}

json_object *
crm_http_json(const struct crm_http_resp *rs, char *err, size_t errsz)
{
	json_tokener *t = json_tokener_new();
	json_object *o;
	enum json_tokener_error je;

	o = json_tokener_parse_ex(t, rs->body.s ? rs->body.s : "", (int)rs->body.len);
	je = json_tokener_get_error(t);
	if (o && je == json_tokener_success && t->char_offset < (int)rs->body.len) {
		/* trailing bytes: only white space is fine */
		for (size_t i = (size_t)t->char_offset; i < rs->body.len; i++)
			if (!strchr(" \t\r\n", rs->body.s[i])) {
				json_object_put(o);
				o = NULL;
				snprintf(err, errsz, "malformed JSON in the response (trailing data)");
				break;
			}
	} else if (!o || je != json_tokener_success) {
		if (o)
			json_object_put(o);
		o = NULL;
		snprintf(err, errsz, "malformed JSON in the response (%s)",
		    je == json_tokener_continue ? "truncated" : json_tokener_error_desc(je));
	}
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
		snprintf(err, errsz, "the response is JSON but not an object");
	}
	json_tokener_free(t);
	return o;
}

const char *
crm_http_error_text(const struct crm_http_resp *rs, char *buf, size_t size)
{
	char e[64];
	json_object *o = rs->body.len ? crm_http_json(rs, e, sizeof e) : NULL, *x, *m;

	snprintf(buf, size, "HTTP %ld", rs->status);
	if (!o)
		return buf;
	if (json_object_object_get_ex(o, "error_description", &x) && json_object_is_type(x, json_type_string))
		snprintf(buf, size, "HTTP %ld: %s", rs->status, json_object_get_string(x));
	else if (json_object_object_get_ex(o, "error", &x)) {
		if (json_object_is_type(x, json_type_string))
			snprintf(buf, size, "HTTP %ld: %s", rs->status, json_object_get_string(x));
		else if (json_object_is_type(x, json_type_object) &&
		    json_object_object_get_ex(x, "message", &m) && json_object_is_type(m, json_type_string))
			snprintf(buf, size, "HTTP %ld: %s", rs->status, json_object_get_string(m));
	}
	json_object_put(o);
	return buf;
}

void
crm_url_escape(struct crm_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			crm_buf_addc(out, (char)c);
		else {
			crm_buf_addc(out, '%');
			crm_buf_addc(out, hex[c >> 4]);
			crm_buf_addc(out, hex[c & 15]);
		}
	}
}

void
crm_url_param(struct crm_buf *out, const char *k, const char *v)
{
	crm_buf_addc(out, out->s && strchr(out->s, '?') ? '&' : '?');
	crm_url_escape(out, k);
	crm_buf_addc(out, '=');
	crm_url_escape(out, v);
}

void
crm_form_param(struct crm_buf *out, const char *k, const char *v)
{
	if (out->len)
		crm_buf_addc(out, '&');
	crm_url_escape(out, k);
	crm_buf_addc(out, '=');
	crm_url_escape(out, v);
}
