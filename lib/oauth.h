/* oauth.h — OAuth 2.0 for mail (Google, Microsoft, or any endpoint):
 * authorization code with PKCE S256 and state on a loopback redirect,
 * code exchange, refresh, plus base64url.  Token strings in
 * crm_oauth_tokens are malloc'd; crm_oauth_tokens_free() wipes and frees
 * them.  URLs from crm_oauth_authorize_url() are the caller's to free. */
#ifndef CRM_OAUTH_H
#define CRM_OAUTH_H

#include "buf.h"
#include "http.h"

#include <stddef.h>

struct crm_oauth_conf {
	const char *provider;       /* "google", "microsoft" or "custom" */
	const char *client_id;
	const char *client_secret;  /* NULL for a public client */
	const char *auth_url;
	const char *token_url;
	const char *scope;          /* space separated */
	const char *login_hint;     /* the mailbox address, or NULL */
};

/* Fill the unset endpoints and scope of c from the provider's published
 * values for an account kind ("imap", "gmail", "graph"); tenant is
 * Microsoft's (NULL: "common").  Returns 0, or -1 for an unknown
 * provider with unset endpoints.  Strings are static or the caller's. */
int crm_oauth_defaults(struct crm_oauth_conf *c, const char *kind, const char *tenant);

struct crm_oauth_tokens {
	char *access_token;
	char *refresh_token;        /* NULL when the server sent none (keep the old one) */
	char *scope;
	long long expires_at;       /* unix time, 0 when unknown */
};
void crm_oauth_tokens_free(struct crm_oauth_tokens *t);

enum { CRM_OAUTH_OK = 0, CRM_OAUTH_FAIL = -1, CRM_OAUTH_REAUTH = -2 };

/* POST to the token endpoint: grant "authorization_code" (value = the
 * code; verifier and redirect_uri given) or "refresh_token" (value = the
 * refresh token).  Returns CRM_OAUTH_OK, CRM_OAUTH_REAUTH when the grant
 * is refused for good (invalid_grant, interaction_required...: the user
 * must authorize again), or CRM_OAUTH_FAIL (network, server, malformed
 * answer); err says why, never with a token in it. */
int crm_oauth_token(struct crm_http *h, const struct crm_oauth_conf *c, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    struct crm_oauth_tokens *t, char *err, size_t errsz);

/* PKCE (RFC 7636): a 43-character verifier and its S256 challenge; a
 * 43-character random state. */
void crm_pkce(char verifier[44], char challenge[44]);
void crm_oauth_state(char state[44]);

/* The authorization URL to open in a browser (malloc'd). */
char *crm_oauth_authorize_url(const struct crm_oauth_conf *c, const char *redirect_uri,
    const char *state, const char *challenge);

/* Listen on 127.0.0.1:*port (0: any free port, written back).  Returns
 * the socket, or -1 with err. */
int crm_oauth_listen(unsigned *port, char *err, size_t errsz);
/* Wait up to timeout seconds for the browser's redirect.  The state must
 * equal the one sent, exactly; anything else is refused.  Returns 0 with
 * a malloc'd code, or -1 with err (denied, state mismatch, timeout). */
int crm_oauth_wait(int fd, int timeout, const char *state, char **code, char *err,
    size_t errsz);

/* Judge one request line of the listener ("GET /?code=...&state=... HTTP/1.1"):
 * 1 with a malloc'd *code for the awaited redirect, 0 when it is not a
 * redirect at all (answer 404, keep waiting), -1 with err when it must be
 * refused (state mismatch, denial, no code). */
int crm_oauth_judge(const char *line, const char *state, char **code, char *err,
    size_t errsz);

/* base64url without padding; the decoder accepts either alphabet, with
 * or without padding, and ignores line breaks.  Decode returns 0 or -1. */
void crm_b64url_encode(struct crm_buf *out, const unsigned char *p, size_t n);
int crm_b64_decode(struct crm_buf *out, const char *s, size_t n);

#endif
