/* oauth.c — OAuth 2.0 authorization code + PKCE and refresh (see oauth.h).
 *
 * Why this shape: mail providers want installed applications to use the
 * authorization code flow with a loopback redirect (RFC 8252) and PKCE
 * S256 (RFC 7636); the out-of-band redirect is gone.  The listener binds
 * 127.0.0.1 only and accepts a redirect only when its state equals the
 * one we sent (compared in constant time); a mismatch is refused and ends
 * the attempt, since it is what a forged redirect looks like.  Endpoints
 * have the providers' published values as defaults but are settings, so
 * tests point them at a local server.  Token endpoint errors are split in
 * two: those that need the user again (invalid_grant and Microsoft's
 * interaction_required/consent_required) and the rest (retryable or
 * environmental).  Tokens never appear in messages. */
#include "oauth.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int
crm_oauth_defaults(struct crm_oauth_conf *c, const char *kind, const char *tenant)
{
	static char ms_auth[256], ms_token[256];
	const char *p = c->provider ? c->provider : "custom";

	if (!strcmp(p, "google")) {
		if (!c->auth_url)
			c->auth_url = "https://accounts.google.com/o/oauth2/v2/auth";
		if (!c->token_url)
			c->token_url = "https://oauth2.googleapis.com/token";
		if (!c->scope)
			c->scope = kind && !strcmp(kind, "gmail") ?
			    "https://www.googleapis.com/auth/gmail.readonly" : "https://mail.google.com/";
	} else if (!strcmp(p, "microsoft")) {
		const char *t = tenant && *tenant ? tenant : "common";
		snprintf(ms_auth, sizeof ms_auth,
		    "https://login.microsoftonline.com/%s/oauth2/v2.0/authorize", t);
		snprintf(ms_token, sizeof ms_token,
		    "https://login.microsoftonline.com/%s/oauth2/v2.0/token", t);
		if (!c->auth_url)
			c->auth_url = ms_auth;
		if (!c->token_url)
			c->token_url = ms_token;
		if (!c->scope)
			c->scope = kind && !strcmp(kind, "graph") ?
			    "offline_access https://graph.microsoft.com/Mail.Read" :
			    "offline_access https://outlook.office.com/IMAP.AccessAsUser.All";
	}
	return c->auth_url && c->token_url ? 0 : -1;
}

void
crm_oauth_tokens_free(struct crm_oauth_tokens *t)
{
	if (t->access_token) {
		OPENSSL_cleanse(t->access_token, strlen(t->access_token));
		free(t->access_token);
	}
	if (t->refresh_token) {
		OPENSSL_cleanse(t->refresh_token, strlen(t->refresh_token));
		free(t->refresh_token);
	}
	free(t->scope);
	memset(t, 0, sizeof *t);
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
crm_oauth_token(struct crm_http *h, const struct crm_oauth_conf *c, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    struct crm_oauth_tokens *t, char *err, size_t errsz)
{
	struct crm_buf form = CRM_BUF_INIT;
	struct crm_http_resp rs = { 0 };
	struct crm_http_req rq = { 0 };
	json_object *o = NULL, *v;
	const char *e, *desc;
	char why[256];
	int rc = CRM_OAUTH_FAIL, refresh = !strcmp(grant, "refresh_token");

	memset(t, 0, sizeof *t);
	if (!c->token_url || !c->client_id) {
		snprintf(err, errsz, "OAuth2 settings lack a %s", c->token_url ? "client_id" : "token URL");
		return CRM_OAUTH_FAIL;
	}
	crm_form_param(&form, "grant_type", grant);
	crm_form_param(&form, refresh ? "refresh_token" : "code", value);
	crm_form_param(&form, "client_id", c->client_id);
	if (c->client_secret && *c->client_secret)
		crm_form_param(&form, "client_secret", c->client_secret);
	if (!refresh) {
		if (redirect_uri)
			crm_form_param(&form, "redirect_uri", redirect_uri);
		if (verifier)
			crm_form_param(&form, "code_verifier", verifier);
	}
	if (c->scope && c->provider && !strcmp(c->provider, "microsoft"))
		crm_form_param(&form, "scope", c->scope);   /* Microsoft wants it on every grant */
	rq.url = c->token_url;
	rq.body = form.s;
	rq.bodylen = form.len;
	rq.content_type = "application/x-www-form-urlencoded";
	if (crm_http_do(h, &rq, &rs) < 0) {
		snprintf(err, errsz, "token endpoint %s: %s", c->token_url, rs.err);
		goto out;
	}
	o = rs.body.len ? crm_http_json(&rs, why, sizeof why) : NULL;
	if (rs.status != 200) {
		e = o ? jstr(o, "error") : NULL;
		desc = o ? jstr(o, "error_description") : NULL;
		if (e && (!strcmp(e, "invalid_grant") || !strcmp(e, "interaction_required") ||
		    !strcmp(e, "consent_required") || !strcmp(e, "login_required")))
			rc = CRM_OAUTH_REAUTH;
		snprintf(err, errsz, "token endpoint refused the %s: HTTP %ld%s%s%s%s",
		    refresh ? "refresh" : "code", rs.status, e ? ": " : "", e ? e : "",
		    desc ? " — " : "", desc ? desc : "");
		goto out;
	}
	if (!o) {
		snprintf(err, errsz, "token endpoint: %s", why);
		goto out;
	}
	if (!jstr(o, "access_token") || !*jstr(o, "access_token")) {
		snprintf(err, errsz, "token endpoint: the answer has no access_token");
		goto out;
	}
	if ((e = jstr(o, "token_type")) && strcasecmp(e, "bearer")) {
		snprintf(err, errsz, "token endpoint: unexpected token_type '%.40s'", e);
		goto out;
	}
	t->access_token = crm_xstrdup(jstr(o, "access_token"));
	if (jstr(o, "refresh_token") && *jstr(o, "refresh_token"))
		t->refresh_token = crm_xstrdup(jstr(o, "refresh_token"));
	if (jstr(o, "scope"))
		t->scope = crm_xstrdup(jstr(o, "scope"));
	if (json_object_object_get_ex(o, "expires_in", &v)) {
		long long s = json_object_get_int64(v);   /* a number, or a numeric string */
		if (s > 0)
			t->expires_at = (long long)time(NULL) + s;
	}
	rc = CRM_OAUTH_OK;
out:
	if (o)
		json_object_put(o);
	OPENSSL_cleanse(form.s, form.len);
	crm_buf_free(&form);
	if (rs.body.s)
		OPENSSL_cleanse(rs.body.s, rs.body.len);
	crm_http_resp_free(&rs);
	return rc;
}

void
crm_b64url_encode(struct crm_buf *out, const unsigned char *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		crm_buf_addc(out, a[v >> 18 & 63]);
		crm_buf_addc(out, a[v >> 12 & 63]);
		crm_buf_addc(out, a[v >> 6 & 63]);
		crm_buf_addc(out, a[v & 63]);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		crm_buf_addc(out, a[v >> 18 & 63]);
		crm_buf_addc(out, a[v >> 12 & 63]);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		crm_buf_addc(out, a[v >> 18 & 63]);
		crm_buf_addc(out, a[v >> 12 & 63]);
		crm_buf_addc(out, a[v >> 6 & 63]);
	}
}

int
crm_b64_decode(struct crm_buf *out, const char *s, size_t n)
{
	unsigned v = 0;
	int bits = 0, pad = 0;

	crm_buf_grow(out, n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int d;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '-' || c == '+')
			d = 62;
		else if (c == '_' || c == '/')
			d = 63;
		else if (c == '=') {
			pad++;
			continue;
		} else if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		else
			return -1;
		if (pad)
			return -1;       /* data after padding */
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			crm_buf_addc(out, (char)(v >> bits & 255));
		}
	}
	if (bits >= 6 || (v & ((1u << bits) - 1)))
		return -1;               /* a dangling sextet or non-zero spare bits */
	return 0;
}

static void
random_b64(char out[44], size_t nbytes)
{
	unsigned char r[32];
	struct crm_buf b = CRM_BUF_INIT;

	if (RAND_bytes(r, (int)nbytes) != 1)
		crm_die(3, "OpenSSL: no random bytes");
	crm_b64url_encode(&b, r, nbytes);
	snprintf(out, 44, "%s", b.s);
	crm_buf_free(&b);
	OPENSSL_cleanse(r, sizeof r);
}

void
crm_pkce(char verifier[44], char challenge[44])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct crm_buf b = CRM_BUF_INIT;

	random_b64(verifier, 32);
	EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL);
	crm_b64url_encode(&b, md, n);
	snprintf(challenge, 44, "%s", b.s);
	crm_buf_free(&b);
}

void
crm_oauth_state(char state[44])
{
	random_b64(state, 32);
}

char *
crm_oauth_authorize_url(const struct crm_oauth_conf *c, const char *redirect_uri,
    const char *state, const char *challenge)
{
	struct crm_buf u = CRM_BUF_INIT;

	crm_buf_adds(&u, c->auth_url);
	crm_url_param(&u, "client_id", c->client_id ? c->client_id : "");
	crm_url_param(&u, "redirect_uri", redirect_uri);
	crm_url_param(&u, "response_type", "code");
	if (c->scope)
		crm_url_param(&u, "scope", c->scope);
	crm_url_param(&u, "state", state);
	crm_url_param(&u, "code_challenge", challenge);
	crm_url_param(&u, "code_challenge_method", "S256");
	if (c->login_hint)
		crm_url_param(&u, "login_hint", c->login_hint);
	if (c->provider && !strcmp(c->provider, "google")) {
		crm_url_param(&u, "access_type", "offline");   /* a refresh token */
		crm_url_param(&u, "prompt", "consent");        /* a new one every time */
	} else if (c->provider && !strcmp(c->provider, "microsoft")) {
		crm_url_param(&u, "response_mode", "query");
	}
	return crm_buf_steal(&u);
}

int
crm_oauth_listen(unsigned *port, char *err, size_t errsz)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		snprintf(err, errsz, "cannot listen on 127.0.0.1:%u: %s", *port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* The decoded value of key in a query string, malloc'd, or NULL. */
static char *
qparam(const char *q, const char *key)
{
	size_t kl = strlen(key);

	while (q && *q) {
		const char *end = q + strcspn(q, "&");
		if ((size_t)(end - q) > kl && !strncmp(q, key, kl) && q[kl] == '=') {
			struct crm_buf b = CRM_BUF_INIT;
			for (const char *p = q + kl + 1; p < end; p++) {
				if (*p == '+')
					crm_buf_addc(&b, ' ');
				else if (*p == '%' && p + 2 < end && crm_hexval(p[1]) >= 0 && crm_hexval(p[2]) >= 0) {
					crm_buf_addc(&b, (char)(crm_hexval(p[1]) << 4 | crm_hexval(p[2])));
					p += 2;
				} else
					crm_buf_addc(&b, *p);
			}
			if (!b.s)
				crm_buf_adds(&b, "");
			return crm_buf_steal(&b);
		}
		q = *end ? end + 1 : end;
	}
	return NULL;
}

static void
answer(int fd, int status, const char *text)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n%s", status, status == 200 ? "OK" : status == 404 ?
	    "Not Found" : "Bad Request", strlen(text), text);
	if (n > 0 && write(fd, buf, (size_t)n) < 0) {
		/* the browser went away; nothing to do */
	}
}

/* Read the request line of one connection (bounded, with a deadline). */
static int
request_line(int c, char *line, size_t size, time_t deadline)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { c, POLLIN, 0 };
		int left = (int)(deadline - time(NULL));
		if (left <= 0 || poll(&p, 1, left * 1000) <= 0)
			return -1;
		ssize_t r = read(c, line + n, size - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		line[n] = 0;
		if (strstr(line, "\r\n") || strchr(line, '\n'))
			break;
	}
	line[strcspn(line, "\r\n")] = 0;
	return 0;
}

static int
same(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

int
crm_oauth_judge(const char *line, const char *state, char **code, char *err, size_t errsz)
{
	char *copy, *target, *sp, *q, *st, *cd, *e, *ed;
	int rc = -1;

	*code = NULL;
	if (strncmp(line, "GET ", 4)) {
		snprintf(err, errsz, "not an HTTP GET");
		return 0;
	}
	copy = crm_xstrdup(line + 4);
	target = copy;
	if ((sp = strchr(target, ' ')))
		*sp = 0;
	if (!(q = strchr(target, '?'))) {
		free(copy);
		snprintf(err, errsz, "no query");
		return 0;                    /* /favicon.ico and the like */
	}
	q++;
	st = qparam(q, "state");
	cd = qparam(q, "code");
	e = qparam(q, "error");
	ed = qparam(q, "error_description");
	if (!st || !same(st, state))
		snprintf(err, errsz, "redirect refused: its state does not match the one sent "
		    "(a forged or stale redirect); nothing was stored");
	else if (e)
		snprintf(err, errsz, "authorization denied: %.100s%s%.200s", e, ed ? ": " : "",
		    ed ? ed : "");
	else if (!cd || !*cd)
		snprintf(err, errsz, "the redirect carries no authorization code");
	else {
		*code = cd;
		cd = NULL;
		rc = 1;
	}
	free(copy);
	free(st);
	free(e);
	free(ed);
	if (cd) {
		OPENSSL_cleanse(cd, strlen(cd));
		free(cd);
	}
	return rc;
}

int
crm_oauth_wait(int fd, int timeout, const char *state, char **code, char *err, size_t errsz)
{
	time_t deadline = time(NULL) + timeout;
	char line[8192];

	*code = NULL;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(deadline - time(NULL)), c, rc;
		if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
			snprintf(err, errsz, "no answer from the browser within %d s", timeout);
			return -1;
		}
		if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (request_line(c, line, sizeof line, time(NULL) + 10) < 0) {
			answer(c, 400, "<p>Bad request.</p>");
			close(c);
			continue;
		}
		rc = crm_oauth_judge(line, state, code, err, errsz);
		if (rc == 0)
			answer(c, 404, "<p>Not found.</p>");
		else if (rc == 1)
			answer(c, 200, "<p>crm is authorized. You can close this window.</p>");
		else if (strstr(err, "denied"))
			answer(c, 200, "<p>Authorization was not granted. You can close this window.</p>");
		else if (strstr(err, "state"))
			answer(c, 400, "<p>Refused: the state does not match this authorization request.</p>");
		else
			answer(c, 400, "<p>The redirect carries no code.</p>");
		close(c);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
	}
}
