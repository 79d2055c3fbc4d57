/* crm-oauth — OAuth2 for mail accounts: authorize (PKCE S256 and state on
 * a loopback redirect), refresh, status.  Options and dispatch only; the
 * protocol is lib/oauth.h, the account and its sealed tokens
 * lib/account.h.  No token is ever printed. */
#include "account.h"
#include "cli.h"
#include "db.h"
#include "exitcode.h"
#include "log.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_PORT = 1, O_TIMEOUT, O_CAFILE };

static const struct option longopts[] = {
	{ "port", required_argument, NULL, O_PORT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "cafile", required_argument, NULL, O_CAFILE },
	{ 0 },
};

struct opts {
	unsigned port;
	int timeout;
	const char *cafile;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case O_PORT: o->port = (unsigned)crm_parse_long("--port", arg, 0, 65535); return 0;
	case O_TIMEOUT: o->timeout = (int)crm_parse_long("--timeout", arg, 1, 86400); return 0;
	case O_CAFILE: o->cafile = arg; return 0;
	}
	return -1;
}

static struct crm_http *
http(const struct opts *o, const struct crm_account *a)
{
	struct crm_http_opts ho;
	crm_http_opts_default(&ho);
	ho.what = "oauth";
	ho.cafile = o->cafile ? o->cafile : crm_account_str(a, "cafile");
	ho.trace = crm_verbose >= 2;
	return crm_http_new(&ho);
}

static int
uses_oauth(const struct crm_account *a)
{
	const char *auth = crm_account_str(a, "auth");
	return strcmp(a->kind, "imap") || (auth && !strcmp(auth, "oauth2"));
}

static void
load(PGconn *db, const char *address, struct crm_account *a, struct crm_secret_key *key,
    json_object **creds)
{
	char err[1024];
	int got = crm_account_get(db, address, a);

	if (got < 0)
		exit(CRM_EXIT_ENV);
	if (!got)
		crm_die(CRM_EXIT_USAGE, "no account %s (see crm-account list)", address);
	if (!uses_oauth(a))
		crm_die(CRM_EXIT_USAGE, "account %s logs in with a password, not OAuth2", address);
	if (crm_secret_load_key(NULL, key, err, sizeof err) < 0)
		crm_die(CRM_EXIT_ENV, "%s", err);
	if (!a->sealed)
		*creds = json_object_new_object();
	else if (!(*creds = crm_account_creds(a, key, err, sizeof err)))
		crm_die(CRM_EXIT_ENV, "%s", err);
}

static int
cmd_authorize(PGconn *db, const char *address, const struct opts *o)
{
	struct crm_account a;
	struct crm_secret_key key;
	struct crm_oauth_conf oc;
	struct crm_oauth_tokens tok;
	json_object *creds;
	char err[1024], verifier[44], challenge[44], state[44], redirect[64], *url, *code = NULL;
	unsigned port = o->port;
	struct crm_http *h;
	int fd, rc;

	load(db, address, &a, &key, &creds);
	if (crm_account_oauth(&a, creds, &oc, err, sizeof err) < 0)
		crm_die(CRM_EXIT_USAGE, "%s", err);
	if ((fd = crm_oauth_listen(&port, err, sizeof err)) < 0)
		crm_die(CRM_EXIT_ENV, "%s", err);
	snprintf(redirect, sizeof redirect, "http://127.0.0.1:%u/", port);
	crm_pkce(verifier, challenge);
	crm_oauth_state(state);
	url = crm_oauth_authorize_url(&oc, redirect, state, challenge);
	crm_warn("open this address in a browser and sign in as %s; waiting for the answer "
	    "on %s (%d s)", address, redirect, o->timeout);
	printf("%s\n", url);
	fflush(stdout);
	free(url);
	rc = crm_oauth_wait(fd, o->timeout, state, &code, err, sizeof err);
	close(fd);
	if (rc < 0)
		crm_die(CRM_EXIT_ENV, "%s: %s", address, err);
	h = http(o, &a);
	rc = crm_oauth_token(h, &oc, "authorization_code", code, verifier, redirect, &tok, err,
	    sizeof err);
	crm_secret_free(code, 0);
	crm_http_free(h);
	if (rc != CRM_OAUTH_OK)
		crm_die(CRM_EXIT_ENV, "%s: %s", address, err);
	if (!tok.refresh_token) {
		crm_oauth_tokens_free(&tok);
		crm_die(CRM_EXIT_ENV, "%s: the provider sent no refresh token (Microsoft: add the "
		    "offline_access scope; Google: access_type=offline is sent, revoke the old grant "
		    "and try again)", address);
	}
	json_object_object_add(creds, "refresh_token", json_object_new_string(tok.refresh_token));
	json_object_object_add(creds, "access_token", json_object_new_string(tok.access_token));
	json_object_object_add(creds, "expires_at", json_object_new_int64(tok.expires_at));
	crm_oauth_tokens_free(&tok);
	if (crm_account_store_creds(db, &a, &key, creds, err, sizeof err) < 0)
		crm_die(CRM_EXIT_ENV, "%s", err);
	crm_account_note(db, address, NULL, 0);
	crm_warn("%s is authorized; the refresh token is sealed in the database", address);
	crm_account_creds_free(creds);
	crm_secret_key_wipe(&key);
	crm_account_clear(&a);
	return 0;
}

static int
cmd_refresh(PGconn *db, const char *address, const struct opts *o)
{
	struct crm_account a;
	struct crm_secret_key key;
	struct crm_account_tokens t = { .db = db, .a = &a, .key = &key };
	char err[1024], when[32];
	json_object *v;
	int reauth = 0, rc = 0;

	load(db, address, &a, &key, &t.creds);
	t.http = http(o, &a);
	if (!crm_account_token(&t, 1, &reauth, err, sizeof err)) {
		crm_warn("%s: %s", address, err);
		rc = CRM_EXIT_ENV;
	} else {
		json_object_object_get_ex(t.creds, "expires_at", &v);
		crm_iso8601(when, sizeof when, (time_t)json_object_get_int64(v));
		crm_warn("%s: new access token, valid until %s", address, when);
		crm_account_note(db, address, NULL, 0);
	}
	crm_account_tokens_free(&t);
	crm_http_free(t.http);
	crm_account_creds_free(t.creds);
	crm_secret_key_wipe(&key);
	crm_account_clear(&a);
	return rc;
}

static int
cmd_status(PGconn *db, const char *only)
{
	PGresult *r = crm_account_rows(db);
	struct crm_secret_key key;
	char err[1024];
	int have_key = crm_secret_load_key(NULL, &key, err, sizeof err) == 0, shown = 0;

	printf("%-32s %-6s %-9s %-8s %-22s %s\n", "ADDRESS", "KIND", "PROVIDER", "REFRESH",
	    "ACCESS TOKEN", "STATE");
	for (int i = 0; i < PQntuples(r); i++) {
		struct crm_account a;
		const char *address = PQgetvalue(r, i, 0), *refresh = "?", *prov;
		char access[40] = "?";
		json_object *creds = NULL, *v;

		if (only && strcmp(only, address))
			continue;
		if (crm_account_get(db, address, &a) != 1)
			continue;
		if (!uses_oauth(&a)) {
			crm_account_clear(&a);
			continue;
		}
		if (!a.sealed)
			refresh = "none";
		else if (have_key && (creds = crm_account_creds(&a, &key, err, sizeof err))) {
			refresh = json_object_object_get_ex(creds, "refresh_token", NULL) ? "yes" : "none";
			if (json_object_object_get_ex(creds, "expires_at", &v)) {
				time_t t = (time_t)json_object_get_int64(v);
				if (t > time(NULL))
					crm_iso8601(access, sizeof access, t);
				else
					snprintf(access, sizeof access, "expired");
			} else
				snprintf(access, sizeof access, "none");
		}
		json_object *oa = json_object_object_get(a.settings, "oauth");
		prov = oa && json_object_object_get(oa, "provider") ?
		    json_object_get_string(json_object_object_get(oa, "provider")) : "custom";
		printf("%-32s %-6s %-9s %-8s %-22s %s%s%s\n", address, a.kind, prov, refresh, access,
		    !a.active ? "disabled" : a.needs_reauth ? "needs authorize" : "ok",
		    a.last_error ? ": " : "", a.last_error ? a.last_error : "");
		shown++;
		crm_account_creds_free(creds);
		crm_account_clear(&a);
	}
	PQclear(r);
	if (have_key)
		crm_secret_key_wipe(&key);
	else
		crm_warn("token details unknown: %s", err);
	if (only && !shown)
		crm_die(CRM_EXIT_USAGE, "no OAuth2 account %s", only);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .timeout = 300 };
	const struct crm_cli cli = {
		.usage = "crm-oauth authorize ACCOUNT [--port N] [--timeout SECONDS] [--cafile FILE]\n"
		    "       crm-oauth refresh ACCOUNT [--cafile FILE]\n"
		    "       crm-oauth status [ACCOUNT]",
		.summary = "Authorize crm to read a mail account with OAuth2 (Google, Microsoft), "
		    "refresh its token, or show where each account stands.",
		.help =
		    "      --port N          loopback port for the redirect (default: any free port)\n"
		    "      --timeout SECONDS how long to wait for the browser (default 300)\n"
		    "      --cafile FILE     CA certificates to trust for the token endpoint\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &o,
	};
	int i = crm_cli_parse(&cli, argc, argv), rc;
	const char *cmd;
	PGconn *db;

	if (i >= argc)
		crm_usage(&cli);
	cmd = argv[i++];
	if ((!strcmp(cmd, "authorize") || !strcmp(cmd, "refresh")) ? argc - i != 1 :
	    !strcmp(cmd, "status") ? argc - i > 1 : 1) {
		if (strcmp(cmd, "authorize") && strcmp(cmd, "refresh") && strcmp(cmd, "status"))
			crm_warn("unknown command '%s'", cmd);
		crm_usage(&cli);
	}
	db = crm_db_connect();
	crm_db_ensure_schema(db, CRM_ACCOUNT_SCHEMA);
	if (!strcmp(cmd, "authorize"))
		rc = cmd_authorize(db, argv[i], &o);
	else if (!strcmp(cmd, "refresh"))
		rc = cmd_refresh(db, argv[i], &o);
	else
		rc = cmd_status(db, i < argc ? argv[i] : NULL);
	crm_db_close(db);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		crm_warn("error writing standard output:");
		return CRM_EXIT_ENV;
	}
	return rc;
}
