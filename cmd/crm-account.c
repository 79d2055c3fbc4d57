/* crm-account — mail accounts for crm-sync: keygen, add, list, show,
 * enable, disable, remove.  Options and dispatch only; the database and
 * the sealing are lib/account.h and lib/secret.h.  Secrets are read from
 * a file descriptor, a file or a terminal prompt, never from argv, and
 * never printed. */
#include "account.h"
#include "cli.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	O_KIND = 1, O_HOST, O_PORT, O_TLS, O_INSECURE, O_USER, O_FOLDERS, O_AUTH, O_PWFD,
	O_PWFILE, O_PROVIDER, O_CLIENT_ID, O_CSFD, O_CSFILE, O_RTFD, O_RTFILE, O_AUTH_URL,
	O_TOKEN_URL, O_SCOPE, O_TENANT, O_API_BASE, O_LABEL, O_QUERY, O_CAFILE, O_UPDATE, O_JSON,
};

static const struct option longopts[] = {
	{ "kind", required_argument, NULL, O_KIND },
	{ "host", required_argument, NULL, O_HOST },
	{ "port", required_argument, NULL, O_PORT },
	{ "tls", required_argument, NULL, O_TLS },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "user", required_argument, NULL, O_USER },
	{ "folders", required_argument, NULL, O_FOLDERS },
	{ "auth", required_argument, NULL, O_AUTH },
	{ "password-fd", required_argument, NULL, O_PWFD },
	{ "password-file", required_argument, NULL, O_PWFILE },
	{ "provider", required_argument, NULL, O_PROVIDER },
	{ "client-id", required_argument, NULL, O_CLIENT_ID },
	{ "client-secret-fd", required_argument, NULL, O_CSFD },
	{ "client-secret-file", required_argument, NULL, O_CSFILE },
	{ "refresh-token-fd", required_argument, NULL, O_RTFD },
	{ "refresh-token-file", required_argument, NULL, O_RTFILE },
	{ "auth-url", required_argument, NULL, O_AUTH_URL },
	{ "token-url", required_argument, NULL, O_TOKEN_URL },
	{ "scope", required_argument, NULL, O_SCOPE },
	{ "tenant", required_argument, NULL, O_TENANT },
	{ "api-base", required_argument, NULL, O_API_BASE },
	{ "label", required_argument, NULL, O_LABEL },
	{ "query", required_argument, NULL, O_QUERY },
	{ "cafile", required_argument, NULL, O_CAFILE },
	{ "update", no_argument, NULL, O_UPDATE },
	{ "json", no_argument, NULL, O_JSON },
	{ 0 },
};

struct opts {
	const char *kind, *host, *tls, *user, *folders, *auth, *pwfile, *provider, *client_id;
	const char *csfile, *rtfile, *auth_url, *token_url, *scope, *tenant, *api_base, *label;
	const char *query, *cafile;
	long port;
	int pwfd, csfd, rtfd, insecure, update, json;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case O_KIND: o->kind = arg; return 0;
	case O_HOST: o->host = arg; return 0;
	case O_PORT: o->port = crm_parse_long("--port", arg, 1, 65535); return 0;
	case O_TLS: o->tls = arg; return 0;
	case O_INSECURE: o->insecure = 1; return 0;
	case O_USER: o->user = arg; return 0;
	case O_FOLDERS: o->folders = arg; return 0;
	case O_AUTH: o->auth = arg; return 0;
	case O_PWFD: o->pwfd = (int)crm_parse_long("--password-fd", arg, 0, 1 << 20); return 0;
	case O_PWFILE: o->pwfile = arg; return 0;
	case O_PROVIDER: o->provider = arg; return 0;
	case O_CLIENT_ID: o->client_id = arg; return 0;
	case O_CSFD: o->csfd = (int)crm_parse_long("--client-secret-fd", arg, 0, 1 << 20); return 0;
	case O_CSFILE: o->csfile = arg; return 0;
	case O_RTFD: o->rtfd = (int)crm_parse_long("--refresh-token-fd", arg, 0, 1 << 20); return 0;
	case O_RTFILE: o->rtfile = arg; return 0;
	case O_AUTH_URL: o->auth_url = arg; return 0;
	case O_TOKEN_URL: o->token_url = arg; return 0;
	case O_SCOPE: o->scope = arg; return 0;
	case O_TENANT: o->tenant = arg; return 0;
	case O_API_BASE: o->api_base = arg; return 0;
	case O_LABEL: o->label = arg; return 0;
	case O_QUERY: o->query = arg; return 0;
	case O_CAFILE: o->cafile = arg; return 0;
	case O_UPDATE: o->update = 1; return 0;
	case O_JSON: o->json = 1; return 0;
	}
	return -1;
}

static void
set(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *
folders(const char *list)
{
	json_object *a = json_object_new_array();
	char *s = crm_xstrdup(list), *save = NULL;

	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			json_object_array_add(a, json_object_new_string(t));
	free(s);
	return a;
}

/* Settings from the options, over the old ones when updating. */
static json_object *
settings(const struct opts *o, const char *kind, json_object *old)
{
	json_object *s = old ? json_object_get(old) : json_object_new_object(), *oa;

	set(s, "host", o->host);
	if (o->port)
		json_object_object_add(s, "port", json_object_new_int((int)o->port));
	set(s, "tls", o->tls);
	if (o->insecure)
		json_object_object_add(s, "insecure", json_object_new_boolean(1));
	set(s, "user", o->user);
	if (o->folders)
		json_object_object_add(s, "folders", folders(o->folders));
	set(s, "auth", o->auth);
	if (!old && !o->auth)
		set(s, "auth", strcmp(kind, "imap") ? "oauth2" : "password");
	set(s, "cafile", o->cafile);
	set(s, "api_base", o->api_base);
	set(s, "label", o->label);
	set(s, "query", o->query);
	if (!json_object_object_get_ex(s, "oauth", &oa)) {
		oa = json_object_new_object();
		json_object_object_add(s, "oauth", oa);
	}
	set(oa, "provider", o->provider);
	if (!old && !o->provider && strcmp(kind, "imap"))
		set(oa, "provider", !strcmp(kind, "gmail") ? "google" : "microsoft");
	set(oa, "client_id", o->client_id);
	set(oa, "auth_url", o->auth_url);
	set(oa, "token_url", o->token_url);
	set(oa, "scope", o->scope);
	set(oa, "tenant", o->tenant);
	if (json_object_object_length(oa) == 0)
		json_object_object_del(s, "oauth");
	return s;
}

static int
check(json_object *s, const char *kind)
{
	json_object *v;
	const char *tls = NULL, *auth = NULL;

	if (json_object_object_get_ex(s, "tls", &v))
		tls = json_object_get_string(v);
	if (json_object_object_get_ex(s, "auth", &v))
		auth = json_object_get_string(v);
	if (!strcmp(kind, "imap") && !json_object_object_get_ex(s, "host", NULL))
		crm_die(CRM_EXIT_USAGE, "an IMAP account needs --host");
	if (tls && strcmp(tls, "implicit") && strcmp(tls, "starttls") && strcmp(tls, "none"))
		crm_die(CRM_EXIT_USAGE, "--tls: implicit, starttls or none, not '%s'", tls);
	if (tls && !strcmp(tls, "none") && !(json_object_object_get_ex(s, "insecure", &v) &&
	    json_object_get_boolean(v)))
		crm_die(CRM_EXIT_USAGE, "--tls none sends the password in clear: it needs --insecure "
		    "(meant for tests against a local server)");
	if (auth && strcmp(auth, "password") && strcmp(auth, "oauth2"))
		crm_die(CRM_EXIT_USAGE, "--auth: password or oauth2, not '%s'", auth);
	if (auth && !strcmp(auth, "password") && strcmp(kind, "imap"))
		crm_die(CRM_EXIT_USAGE, "a %s account authenticates with OAuth2 (--auth oauth2)", kind);
	if (auth && !strcmp(auth, "oauth2")) {
		json_object *oa, *cid;
		if (!json_object_object_get_ex(s, "oauth", &oa) ||
		    !json_object_object_get_ex(oa, "client_id", &cid))
			crm_die(CRM_EXIT_USAGE, "OAuth2 needs --client-id (from the application "
			    "registered with the provider)");
	}
	return 0;
}

/* Read a secret named by fd/file into creds[k]; prompt when asked to. */
static void
secret_into(json_object *creds, const char *k, int fd, const char *file, const char *prompt)
{
	char err[1024];
	char *s;

	if (fd < 0 && !file && !prompt)
		return;
	if (!(s = crm_secret_read(fd, file, prompt, err, sizeof err)))
		crm_die(CRM_EXIT_USAGE, "%s", err);
	json_object_object_add(creds, k, json_object_new_string(s));
	crm_secret_free(s, 0);
}

static int
cmd_keygen(char **args, int n)
{
	const char *path = n > 0 ? args[0] : crm_secret_key_path();
	char err[1024];

	if (n > 1)
		return -1;
	if (crm_secret_keygen(path, err, sizeof err) < 0)
		crm_die(CRM_EXIT_ENV, "%s", err);
	crm_warn("created %s (mode 0600); keep a copy: credentials sealed under it cannot be "
	    "opened without it", path);
	return 0;
}

static int
cmd_add(PGconn *db, const char *address, struct opts *o)
{
	struct crm_account a;
	struct crm_secret_key key;
	char err[1024];
	json_object *s, *creds = NULL;
	int got = crm_account_get(db, address, &a), rc;
	const char *kind;

	if (got < 0)
		return CRM_EXIT_ENV;
	if (got && !o->update)
		crm_die(CRM_EXIT_USAGE, "account %s exists (use --update to change it)", address);
	if (!got && o->update)
		crm_die(CRM_EXIT_USAGE, "no account %s to update", address);
	kind = got ? a.kind : o->kind;
	if (!kind)
		crm_die(CRM_EXIT_USAGE, "give --kind imap, gmail or graph");
	if (strcmp(kind, "imap") && strcmp(kind, "gmail") && strcmp(kind, "graph"))
		crm_die(CRM_EXIT_USAGE, "--kind: imap, gmail or graph, not '%s'", kind);
	if (got && o->kind && strcmp(o->kind, a.kind))
		crm_die(CRM_EXIT_USAGE, "account %s is a %s account; its kind cannot change",
		    address, a.kind);
	s = settings(o, kind, got ? a.settings : NULL);
	check(s, kind);

	const char *auth = json_object_get_string(json_object_object_get(s, "auth"));
	int want_pw = !strcmp(auth, "password") && (!got || o->pwfd >= 0 || o->pwfile);
	int secrets = want_pw || o->csfd >= 0 || o->csfile || o->rtfd >= 0 || o->rtfile;
	if (secrets) {
		if (crm_secret_load_key(NULL, &key, err, sizeof err) < 0)
			crm_die(CRM_EXIT_ENV, "%s", err);
		if (got && a.sealed) {
			if (!(creds = crm_account_creds(&a, &key, err, sizeof err)))
				crm_die(CRM_EXIT_ENV, "%s", err);
		} else
			creds = json_object_new_object();
		char prompt[512];
		snprintf(prompt, sizeof prompt, "Password for %s: ", address);
		if (want_pw)
			secret_into(creds, "password", o->pwfd, o->pwfile, prompt);
		secret_into(creds, "client_secret", o->csfd, o->csfile, NULL);
		secret_into(creds, "refresh_token", o->rtfd, o->rtfile, NULL);
	}
	if (crm_db_begin(db) < 0)
		crm_die(CRM_EXIT_ENV, "database: cannot begin a transaction");
	if (got)
		rc = crm_account_set_settings(db, address, s, err, sizeof err);
	else if ((rc = crm_account_insert(db, address, kind, s, err, sizeof err)) == 1)
		crm_die(CRM_EXIT_USAGE, "account %s exists (use --update to change it)", address);
	if (rc == 0 && creds) {
		if (!got && crm_account_get(db, address, &a) != 1)
			crm_die(CRM_EXIT_ENV, "database: the new account vanished");
		got = 1;
		rc = crm_account_store_creds(db, &a, &key, creds, err, sizeof err);
	}
	if (rc < 0) {
		crm_db_rollback(db);
		crm_die(CRM_EXIT_ENV, "%s", err);
	}
	PGresult *r;
	if (crm_db_commit(db, &r) < 0)
		crm_db_die(db, r, "saving the account");
	if (creds) {
		crm_account_creds_free(creds);
		crm_secret_key_wipe(&key);
	}
	json_object_put(s);
	if (got)
		crm_account_clear(&a);
	crm_warn("%s %s", o->update ? "updated" : "added", address);
	return 0;
}

static const char *
v(PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static json_object *
row_json(PGresult *r, int i)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "address", json_object_new_string(v(r, i, 0)));
	json_object_object_add(o, "kind", json_object_new_string(v(r, i, 1)));
	json_object_object_add(o, "active", json_object_new_boolean(v(r, i, 2)[0] == 't'));
	json_object_object_add(o, "needs_reauth", json_object_new_boolean(v(r, i, 3)[0] == 't'));
	json_object_object_add(o, "last_sync_at", v(r, i, 4) ? json_object_new_string(v(r, i, 4)) : NULL);
	json_object_object_add(o, "last_error", v(r, i, 5) ? json_object_new_string(v(r, i, 5)) : NULL);
	json_object_object_add(o, "lease_owner", v(r, i, 6) ? json_object_new_string(v(r, i, 6)) : NULL);
	json_object_object_add(o, "credentials", json_object_new_boolean(v(r, i, 7)[0] == 't'));
	json_object_object_add(o, "settings", json_tokener_parse(v(r, i, 8)));
	return o;
}

static int
cmd_list(PGconn *db, const char *only, int json)
{
	PGresult *r = crm_account_rows(db);
	int found = 0;

	if (!json && !only)
		printf("%-32s %-6s %-9s %-20s %s\n", "ADDRESS", "KIND", "STATE", "LAST SYNC", "LAST ERROR");
	for (int i = 0; i < PQntuples(r); i++) {
		if (only && strcmp(only, v(r, i, 0)))
			continue;
		found = 1;
		if (json) {
			json_object *o = row_json(r, i);
			crm_emit_json(o);
			json_object_put(o);
		} else if (!only) {
			const char *state = v(r, i, 2)[0] != 't' ? "disabled" :
			    v(r, i, 3)[0] == 't' ? "reauth" : v(r, i, 6) ? "syncing" : "active";
			printf("%-32s %-6s %-9s %-20s %s\n", v(r, i, 0), v(r, i, 1), state,
			    v(r, i, 4) ? v(r, i, 4) : "never", v(r, i, 5) ? v(r, i, 5) : "");
		} else {
			json_object *o = row_json(r, i);
			printf("address:      %s\nkind:         %s\nactive:       %s\n"
			    "needs reauth: %s\nlast sync:    %s\nlast error:   %s\nsyncing:      %s\n"
			    "credentials:  %s\nsettings:     %s\n",
			    v(r, i, 0), v(r, i, 1), v(r, i, 2)[0] == 't' ? "yes" : "no",
			    v(r, i, 3)[0] == 't' ? "yes" : "no", v(r, i, 4) ? v(r, i, 4) : "never",
			    v(r, i, 5) ? v(r, i, 5) : "-", v(r, i, 6) ? v(r, i, 6) : "no",
			    v(r, i, 7)[0] == 't' ? "sealed (AES-256-GCM)" : "none",
			    json_object_to_json_string_ext(json_object_object_get(o, "settings"),
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		}
	}
	PQclear(r);
	if (only && !found)
		crm_die(CRM_EXIT_USAGE, "no account %s", only);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .pwfd = -1, .csfd = -1, .rtfd = -1 };
	const struct crm_cli cli = {
		.usage = "crm-account keygen [FILE]\n"
		    "       crm-account add ADDRESS --kind imap|gmail|graph [--update] [settings]\n"
		    "       crm-account list [--json] | show ADDRESS [--json]\n"
		    "       crm-account enable ADDRESS | disable ADDRESS | remove ADDRESS",
		.summary = "Manage the mail accounts crm-sync reads, with their credentials sealed "
		    "under the key of CRM_SECRET_KEY_FILE.",
		.help =
		    "      --kind KIND            imap, gmail or graph\n"
		    "      --update               change an existing account\n"
		    "      --host HOST --port N   IMAP server (port default 993, 143 for starttls/none)\n"
		    "      --tls MODE             implicit (default), starttls, or none with --insecure\n"
		    "      --insecure             allow --tls none (tests against a local server only)\n"
		    "      --user NAME            login name (default: the address)\n"
		    "      --folders LIST         comma-separated folders (IMAP: '*' for all; Graph: inbox,...)\n"
		    "      --cafile FILE          CA certificates to trust for this account\n"
		    "      --auth password|oauth2 how to log in (IMAP default password)\n"
		    "      --password-fd N        read the password from file descriptor N\n"
		    "      --password-file FILE   read the password from FILE (else a prompt)\n"
		    "      --provider NAME        google, microsoft or custom (OAuth2)\n"
		    "      --client-id ID         OAuth2 client id\n"
		    "      --client-secret-fd N, --client-secret-file FILE   OAuth2 client secret\n"
		    "      --refresh-token-fd N, --refresh-token-file FILE   import a refresh token\n"
		    "      --auth-url URL --token-url URL --scope SCOPES --tenant TENANT   OAuth2 endpoints\n"
		    "      --api-base URL         Gmail or Graph API base URL\n"
		    "      --label LABEL          Gmail: sync this label only\n"
		    "      --query Q              Gmail: search for the first sync\n"
		    "      --json                 list/show as JSON lines\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &o,
	};
	int i = crm_cli_parse(&cli, argc, argv), n;
	const char *cmd;
	PGconn *db;

	if (i >= argc)
		crm_usage(&cli);
	cmd = argv[i++];
	n = argc - i;
	if (!strcmp(cmd, "keygen")) {
		if (cmd_keygen(argv + i, n) < 0)
			crm_usage(&cli);
		return 0;
	}
	if (strcmp(cmd, "add") && strcmp(cmd, "list") && strcmp(cmd, "show") &&
	    strcmp(cmd, "enable") && strcmp(cmd, "disable") && strcmp(cmd, "remove")) {
		crm_warn("unknown command '%s'", cmd);
		crm_usage(&cli);
	}
	if (n != (strcmp(cmd, "list") ? 1 : 0))
		crm_usage(&cli);
	db = crm_db_connect();
	crm_db_ensure_schema(db, CRM_ACCOUNT_SCHEMA);
	int rc = 0;
	if (!strcmp(cmd, "add"))
		rc = cmd_add(db, argv[i], &o);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(db, NULL, o.json);
	else if (!strcmp(cmd, "show"))
		rc = cmd_list(db, argv[i], o.json);
	else if (!strcmp(cmd, "remove")) {
		int r = crm_account_remove(db, argv[i]);
		if (r < 0)
			rc = CRM_EXIT_ENV;
		else if (r == 0) {
			crm_warn("no account %s", argv[i]);
			rc = CRM_EXIT_USAGE;
		} else
			crm_warn("removed %s and its sync cursors (stored messages stay)", argv[i]);
	} else {
		int r = crm_account_set_active(db, argv[i], !strcmp(cmd, "enable"));
		if (r < 0)
			rc = CRM_EXIT_ENV;
		else if (r == 0) {
			crm_warn("no account %s", argv[i]);
			rc = CRM_EXIT_USAGE;
		}
	}
	crm_db_close(db);
	if (crm_output_close())
		return CRM_EXIT_ENV;
	return rc;
}
