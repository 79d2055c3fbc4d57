/* account.c — mail accounts, their secrets, leases and cursors in
 * PostgreSQL (see account.h).
 *
 * Why it is built this way: the database is the one shared truth of
 * every host that runs crm (DESIGN.md §4), so an account's settings, its
 * sealed credentials, the lease that says who syncs it now, and the
 * cursor of each folder all live there.  Every query is parameterised.
 * Credentials are sealed with the account address as authenticated
 * context, so a blob copied onto another account does not open.  A lease
 * names its owner "host:pid"; a lease whose owner is a dead process of
 * this very host is taken over at once (the kill -9 case) instead of
 * waiting for its expiry.  The cursor upsert only moves forward
 * (cursor_seq never decreases), so a late writer cannot undo progress. */
#include "account.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *
dupv(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : crm_xstrdup(PQgetvalue(r, row, col));
}

int
crm_account_get(PGconn *db, const char *address, struct crm_account *a)
{
	const char *p[1] = { address };
	PGresult *r;

	memset(a, 0, sizeof *a);
	r = crm_db_exec(db, "select id, address, kind, settings::text, credentials, active, "
	    "needs_reauth, last_error, last_sync_at, lease_owner, lease_expires_at, created_at "
	    "from mail_accounts where address = $1", 1, p);
	if (!crm_db_ok(r)) {
		crm_warn("database: %s", crm_db_errmsg(db, r));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	a->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	a->address = dupv(r, 0, 1);
	a->kind = dupv(r, 0, 2);
	a->settings = json_tokener_parse(PQgetvalue(r, 0, 3));
	if (!a->settings || !json_object_is_type(a->settings, json_type_object)) {
		json_object_put(a->settings);
		a->settings = json_object_new_object();
	}
	if (!PQgetisnull(r, 0, 4)) {
		size_t n = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 4), &n);
		if (b && n) {
			a->sealed = crm_xmalloc(n);
			memcpy(a->sealed, b, n);
			a->sealed_len = n;
		}
		PQfreemem(b);
	}
	a->active = PQgetvalue(r, 0, 5)[0] == 't';
	a->needs_reauth = PQgetvalue(r, 0, 6)[0] == 't';
	a->last_error = dupv(r, 0, 7);
	a->last_sync_at = dupv(r, 0, 8);
	a->lease_owner = dupv(r, 0, 9);
	a->lease_expires_at = dupv(r, 0, 10);
	a->created_at = dupv(r, 0, 11);
	PQclear(r);
	return 1;
}

int
crm_account_insert(PGconn *db, const char *address, const char *kind, json_object *settings,
    char *err, size_t errsz)
{
	const char *p[3] = { address, kind,
		json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PLAIN) };
	PGresult *r = crm_db_exec(db, "insert into mail_accounts (address, kind, settings) "
	    "values ($1, $2, $3::jsonb) on conflict (address) do nothing returning id", 3, p);
	int rc = -1;

	if (!crm_db_ok(r))
		snprintf(err, errsz, "database: %s", crm_db_errmsg(db, r));
	else
		rc = PQntuples(r) == 1 ? 0 : 1;
	PQclear(r);
	return rc;
}

int
crm_account_set_settings(PGconn *db, const char *address, json_object *settings, char *err,
    size_t errsz)
{
	const char *p[2] = { address, json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PLAIN) };
	PGresult *r = crm_db_exec(db, "update mail_accounts set settings = $2::jsonb "
	    "where address = $1", 2, p);
	int rc = crm_db_ok(r) ? 0 : -1;

	if (rc < 0)
		snprintf(err, errsz, "database: %s", crm_db_errmsg(db, r));
	PQclear(r);
	return rc;
}

int
crm_account_set_active(PGconn *db, const char *address, int active)
{
	const char *p[2] = { address, active ? "t" : "f" };
	PGresult *r = crm_db_exec(db, "update mail_accounts set active = $2::boolean "
	    "where address = $1", 2, p);
	int rc = crm_db_ok(r) ? PQcmdTuples(r)[0] != '0' : -1;

	if (rc < 0)
		crm_warn("database: %s", crm_db_errmsg(db, r));
	PQclear(r);
	return rc;
}

int
crm_account_remove(PGconn *db, const char *address)
{
	const char *p[1] = { address };
	PGresult *r;
	int rc;

	if (crm_db_begin(db) < 0)
		return -1;
	r = crm_db_exec(db, "delete from sync_state where account = $1", 1, p);
	if (!crm_db_ok(r))
		goto fail;
	PQclear(r);
	r = crm_db_exec(db, "delete from mail_accounts where address = $1", 1, p);
	if (!crm_db_ok(r))
		goto fail;
	rc = PQcmdTuples(r)[0] != '0';
	PQclear(r);
	if (crm_db_commit(db, &r) < 0)
		goto fail;
	return rc;
fail:
	crm_warn("database: %s", crm_db_errmsg(db, r));
	PQclear(r);
	crm_db_rollback(db);
	return -1;
}

PGresult *
crm_account_rows(PGconn *db)
{
	PGresult *r = crm_db_exec(db, "select address, kind, active, needs_reauth, "
	    "to_char(last_sync_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "last_error, lease_owner, credentials is not null, settings::text "
	    "from mail_accounts order by address", 0, NULL);
	if (!crm_db_ok(r))
		crm_db_die(db, r, "listing the accounts");
	return r;
}

void
crm_account_clear(struct crm_account *a)
{
	free(a->address);
	free(a->kind);
	json_object_put(a->settings);
	if (a->sealed)
		OPENSSL_cleanse(a->sealed, a->sealed_len);
	free(a->sealed);
	free(a->last_error);
	free(a->last_sync_at);
	free(a->lease_owner);
	free(a->lease_expires_at);
	free(a->created_at);
	memset(a, 0, sizeof *a);
}

const char *
crm_account_str(const struct crm_account *a, const char *key)
{
	json_object *v;
	if (!a->settings || !json_object_object_get_ex(a->settings, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long
crm_account_long(const struct crm_account *a, const char *key, long def)
{
	json_object *v;
	if (!a->settings || !json_object_object_get_ex(a->settings, key, &v))
		return def;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string))
		return (long)json_object_get_int64(v);
	return def;
}

const char **
crm_account_list(const struct crm_account *a, const char *key)
{
	json_object *v;
	const char **out;
	size_t n, k = 0;

	if (!a->settings || !json_object_object_get_ex(a->settings, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string)) {
		out = crm_xcalloc(2, sizeof *out);
		out[0] = json_object_get_string(v);
		return out;
	}
	if (!json_object_is_type(v, json_type_array))
		return NULL;
	n = json_object_array_length(v);
	out = crm_xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (json_object_is_type(e, json_type_string))
			out[k++] = json_object_get_string(e);
	}
	return out;
}

json_object *
crm_account_creds(const struct crm_account *a, const struct crm_secret_key *key, char *err,
    size_t errsz)
{
	const char *why = NULL;
	char *pt = NULL;
	size_t n = 0;
	json_object *o;

	if (!a->sealed) {
		snprintf(err, errsz, "account %s has no stored credentials", a->address);
		return NULL;
	}
	if (crm_secret_open(key, a->address, a->sealed, a->sealed_len, &pt, &n, &why) < 0) {
		snprintf(err, errsz, "account %s: %s", a->address, why);
		return NULL;
	}
	o = json_tokener_parse(pt);
	crm_secret_free(pt, n);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errsz, "account %s: the opened credentials are not a JSON object",
		    a->address);
		return NULL;
	}
	return o;
}

void
crm_account_creds_free(json_object *creds)
{
	if (!creds)
		return;
	json_object_object_foreach(creds, k, v) {
		(void)k;
		if (json_object_is_type(v, json_type_string))
			OPENSSL_cleanse((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	}
	json_object_put(creds);
}

int
crm_account_store_creds(PGconn *db, struct crm_account *a, const struct crm_secret_key *key,
    json_object *creds, char *err, size_t errsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *blob = NULL;
	size_t bl = 0, n;
	const char *pt = json_object_to_json_string_length(creds, JSON_C_TO_STRING_PLAIN, &n);
	struct crm_buf h = CRM_BUF_INIT;
	PGresult *r;
	int rc = -1;

	if (crm_secret_seal(key, a->address, pt, n, &blob, &bl) < 0) {
		snprintf(err, errsz, "cannot seal the credentials (OpenSSL)");
		return -1;
	}
	OPENSSL_cleanse((char *)pt, n);     /* json-c's serialisation buffer */
	crm_buf_adds(&h, "\\x");
	for (size_t i = 0; i < bl; i++) {
		crm_buf_addc(&h, hex[blob[i] >> 4]);
		crm_buf_addc(&h, hex[blob[i] & 15]);
	}
	const char *p[2] = { a->address, h.s };
	r = crm_db_exec(db, "update mail_accounts set credentials = $2::bytea, "
	    "credentials_updated_at = now() where address = $1", 2, p);
	if (!crm_db_ok(r))
		snprintf(err, errsz, "database: %s", crm_db_errmsg(db, r));
	else {
		rc = 0;
		if (a->sealed)
			OPENSSL_cleanse(a->sealed, a->sealed_len);
		free(a->sealed);
		a->sealed = blob;
		a->sealed_len = bl;
		blob = NULL;
	}
	PQclear(r);
	free(blob);
	crm_buf_free(&h);
	return rc;
}

void
crm_account_note(PGconn *db, const char *address, const char *error, int needs_reauth)
{
	const char *p[3] = { address, error, needs_reauth < 0 ? NULL : needs_reauth ? "t" : "f" };
	PGresult *r = crm_db_exec(db, "update mail_accounts set last_error = $2, "
	    "last_error_at = case when $2::text is null then last_error_at else now() end, "
	    "needs_reauth = coalesce($3::boolean, needs_reauth) where address = $1", 3, p);
	if (!crm_db_ok(r))
		crm_warn("database: cannot record the state of %s: %s", address, crm_db_errmsg(db, r));
	PQclear(r);
}

static const char *
ostr(json_object *o, const char *k)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
crm_account_oauth(const struct crm_account *a, json_object *creds, struct crm_oauth_conf *oc,
    char *err, size_t errsz)
{
	json_object *o = NULL;

	memset(oc, 0, sizeof *oc);
	if (a->settings)
		json_object_object_get_ex(a->settings, "oauth", &o);
	oc->provider = ostr(o, "provider");
	oc->client_id = ostr(o, "client_id");
	oc->auth_url = ostr(o, "auth_url");
	oc->token_url = ostr(o, "token_url");
	oc->scope = ostr(o, "scope");
	oc->client_secret = ostr(creds, "client_secret");
	oc->login_hint = a->address;
	if (!oc->client_id) {
		snprintf(err, errsz, "account %s has no OAuth2 client_id (crm-account add --client-id)",
		    a->address);
		return -1;
	}
	if (crm_oauth_defaults(oc, a->kind, ostr(o, "tenant")) < 0) {
		snprintf(err, errsz, "account %s: OAuth2 provider '%s' needs --auth-url and --token-url",
		    a->address, oc->provider ? oc->provider : "custom");
		return -1;
	}
	return 0;
}

static void
set_str(json_object *o, const char *k, const char *v)
{
	json_object *old;
	if (json_object_object_get_ex(o, k, &old) && json_object_is_type(old, json_type_string))
		OPENSSL_cleanse((char *)json_object_get_string(old), (size_t)json_object_get_string_len(old));
	json_object_object_add(o, k, json_object_new_string(v));
}

const char *
crm_account_token(struct crm_account_tokens *t, int refresh, int *reauth, char *err, size_t errsz)
{
	struct crm_oauth_conf oc;
	struct crm_oauth_tokens tok;
	const char *rt, *at;
	json_object *v;
	long long exp = 0;
	int rc;

	*reauth = 0;
	at = ostr(t->creds, "access_token");
	if (json_object_object_get_ex(t->creds, "expires_at", &v))
		exp = json_object_get_int64(v);
	if (!refresh && at && *at && exp > (long long)time(NULL) + 60)
		goto have;
	rt = ostr(t->creds, "refresh_token");
	if (!rt || !*rt) {
		snprintf(err, errsz, "account %s has no refresh token: run 'crm-oauth authorize %s'",
		    t->a->address, t->a->address);
		*reauth = 1;
		crm_account_note(t->db, t->a->address, err, 1);
		return NULL;
	}
	if (crm_account_oauth(t->a, t->creds, &oc, err, errsz) < 0)
		return NULL;
	rc = crm_oauth_token(t->http, &oc, "refresh_token", rt, NULL, NULL, &tok, err, errsz);
	if (rc == CRM_OAUTH_REAUTH) {
		char msg[1024];
		snprintf(msg, sizeof msg, "account %s must be authorized again (%s): run "
		    "'crm-oauth authorize %s'", t->a->address, err, t->a->address);
		snprintf(err, errsz, "%s", msg);
		*reauth = 1;
		crm_account_note(t->db, t->a->address, err, 1);
		return NULL;
	}
	if (rc != CRM_OAUTH_OK)
		return NULL;
	set_str(t->creds, "access_token", tok.access_token);
	json_object_object_add(t->creds, "expires_at", json_object_new_int64(tok.expires_at ?
	    tok.expires_at : (long long)time(NULL) + 3000));
	if (tok.refresh_token)
		set_str(t->creds, "refresh_token", tok.refresh_token);   /* rotated */
	crm_oauth_tokens_free(&tok);
	if (crm_account_store_creds(t->db, t->a, t->key, t->creds, err, errsz) < 0)
		return NULL;
	at = ostr(t->creds, "access_token");
have:
	if (t->access) {
		OPENSSL_cleanse(t->access, strlen(t->access));
		free(t->access);
	}
	t->access = crm_xstrdup(at);
	return t->access;
}

void
crm_account_tokens_free(struct crm_account_tokens *t)
{
	if (t->access) {
		OPENSSL_cleanse(t->access, strlen(t->access));
		free(t->access);
		t->access = NULL;
	}
}

/* ---- leases ---- */

const char *
crm_lease_owner(void)
{
	static char owner[HOST_NAME_MAX + 32];
	char host[HOST_NAME_MAX + 1] = "localhost";

	if (!owner[0]) {
		gethostname(host, sizeof host - 1);
		host[sizeof host - 1] = 0;
		snprintf(owner, sizeof owner, "%s:%ld", host, (long)getpid());
	}
	return owner;
}

/* 1 when owner is "<this host>:<pid>" and that process is gone. */
static int
stale_local(const char *owner)
{
	char host[HOST_NAME_MAX + 1] = "";
	const char *colon = owner ? strrchr(owner, ':') : NULL;
	char *end;
	long pid;

	if (!colon)
		return 0;
	gethostname(host, sizeof host - 1);
	if ((size_t)(colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)))
		return 0;
	errno = 0;
	pid = strtol(colon + 1, &end, 10);
	if (*end || pid <= 0 || errno)
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Take the lease over from a given (dead) owner. */
static int
steal(PGconn *db, const char *address, const char *old, int seconds)
{
	char secs[32];
	snprintf(secs, sizeof secs, "%d", seconds);
	const char *p[4] = { address, crm_lease_owner(), secs, old };
	PGresult *r = crm_db_exec(db, "update mail_accounts set lease_owner = $2, "
	    "lease_expires_at = now() + make_interval(secs => $3::int) "
	    "where address = $1 and lease_owner = $4 returning id", 4, p);
	int ok = crm_db_ok(r) && PQntuples(r) == 1;
	PQclear(r);
	if (!ok)
		return 0;
	crm_warn("%s: taking over the lease of %s, a process of this host that is gone",
	    address, old);
	/* its job run will never finish by itself */
	const char *colon = strrchr(old, ':');
	char host[HOST_NAME_MAX + 1];
	snprintf(host, sizeof host, "%.*s", (int)(colon - old), old);
	const char *q[3] = { address, host, colon + 1 };
	r = crm_db_exec(db, "update job_runs set status = 'failed', finished_at = now(), "
	    "error = 'the process died (lease taken over)' where account = $1 and host = $2 "
	    "and pid = $3::int and status = 'running'", 3, q);
	PQclear(r);
	return 1;
}

int
crm_account_lease(PGconn *db, const char *address, int seconds, char **busy_by)
{
	char secs[32];
	PGresult *r;
	int got;

	*busy_by = NULL;
	snprintf(secs, sizeof secs, "%d", seconds);
	const char *p[3] = { address, crm_lease_owner(), secs };
	r = crm_db_exec(db, "update mail_accounts set lease_owner = $2, "
	    "lease_expires_at = now() + make_interval(secs => $3::int) where address = $1 and "
	    "(lease_owner is null or lease_expires_at is null or lease_expires_at < now() or "
	    "lease_owner = $2) returning id", 3, p);
	if (!crm_db_ok(r)) {
		crm_warn("database: %s", crm_db_errmsg(db, r));
		PQclear(r);
		return -1;
	}
	got = PQntuples(r) == 1;
	PQclear(r);
	if (got)
		return 1;
	r = crm_db_exec(db, "select lease_owner, lease_expires_at from mail_accounts "
	    "where address = $1", 1, p);
	if (crm_db_ok(r) && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		char *owner = crm_xstrdup(PQgetvalue(r, 0, 0));
		char *until = crm_xstrdup(PQgetvalue(r, 0, 1));
		PQclear(r);
		if (stale_local(owner) && steal(db, address, owner, seconds)) {
			free(owner);
			free(until);
			return 1;
		}
		size_t n = strlen(owner) + strlen(until) + 16;
		*busy_by = crm_xmalloc(n);
		snprintf(*busy_by, n, "%s until %s", owner, until);
		free(owner);
		free(until);
		return 0;
	}
	PQclear(r);
	return 0;
}

char *
crm_account_claim_next(PGconn *db, int seconds, const char *not_since)
{
	static struct crm_buf done = CRM_BUF_INIT;     /* "{1,2,3}": claimed in this run */
	char secs[32], *addr = NULL;
	PGresult *r;

	if (!done.len)
		crm_buf_adds(&done, "{}");
	snprintf(secs, sizeof secs, "%d", seconds);
	const char *p[4] = { crm_lease_owner(), secs, done.s, not_since };
	r = crm_db_exec(db, "with c as (select id from mail_accounts "
	    "where active and not needs_reauth and kind in ('imap', 'gmail', 'graph') "
	    "and not (id = any($3::bigint[])) "
	    "and (last_sync_at is null or last_sync_at < $4::timestamptz) "
	    "and (lease_owner is null or lease_expires_at is null or lease_expires_at < now()) "
	    "order by last_sync_at nulls first, id for update skip locked limit 1) "
	    "update mail_accounts m set lease_owner = $1, "
	    "lease_expires_at = now() + make_interval(secs => $2::int) "
	    "from c where m.id = c.id returning m.id, m.address", 4, p);
	if (!crm_db_ok(r)) {
		crm_warn("database: %s", crm_db_errmsg(db, r));
		PQclear(r);
		return NULL;
	}
	if (PQntuples(r) == 0) {
		/* leases held by dead processes of this host */
		PQclear(r);
		r = crm_db_exec(db, "select id, address, lease_owner from mail_accounts "
		    "where active and not needs_reauth and kind in ('imap', 'gmail', 'graph') "
		    "and not (id = any($3::bigint[])) and lease_owner is not null "
		    "and (last_sync_at is null or last_sync_at < $4::timestamptz) "
		    "and lease_owner <> $1 and $2::int > 0 order by id", 4, p);
		for (int i = 0; crm_db_ok(r) && i < PQntuples(r) && !addr; i++)
			if (stale_local(PQgetvalue(r, i, 2)) &&
			    steal(db, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), seconds)) {
				addr = crm_xstrdup(PQgetvalue(r, i, 1));
				done.len--;
				crm_buf_printf(&done, "%s%s}", done.len > 1 ? "," : "", PQgetvalue(r, i, 0));
			}
		PQclear(r);
		return addr;
	}
	addr = crm_xstrdup(PQgetvalue(r, 0, 1));
	done.len--;                  /* drop '}' and append the id */
	crm_buf_printf(&done, "%s%s}", done.len > 1 ? "," : "", PQgetvalue(r, 0, 0));
	PQclear(r);
	return addr;
}

int
crm_account_renew(PGconn *db, const char *address, int seconds)
{
	char secs[32];
	snprintf(secs, sizeof secs, "%d", seconds);
	const char *p[3] = { address, crm_lease_owner(), secs };
	PGresult *r = crm_db_exec(db, "update mail_accounts set "
	    "lease_expires_at = now() + make_interval(secs => $3::int) "
	    "where address = $1 and lease_owner = $2", 3, p);
	int ok = crm_db_ok(r) && PQcmdTuples(r)[0] == '1';
	PQclear(r);
	return ok ? 0 : -1;
}

void
crm_account_release(PGconn *db, const char *address, int synced)
{
	const char *p[3] = { address, crm_lease_owner(), synced ? "t" : "f" };
	PGresult *r = crm_db_exec(db, "update mail_accounts set lease_owner = null, "
	    "lease_expires_at = null, last_sync_at = case when $3::boolean then now() "
	    "else last_sync_at end where address = $1 and lease_owner = $2", 3, p);
	if (!crm_db_ok(r))
		crm_warn("database: cannot release the lease of %s: %s", address, crm_db_errmsg(db, r));
	PQclear(r);
}

/* ---- cursors ---- */

json_object *
crm_cursor_get(PGconn *db, const char *account, const char *kind, const char *folder,
    long long *seq)
{
	const char *p[3] = { account, kind, folder };
	PGresult *r = crm_db_exec(db, "select cursor::text, cursor_seq::text from sync_state "
	    "where account = $1 and kind = $2 and folder = $3", 3, p);
	json_object *o = NULL;

	*seq = 0;
	if (!crm_db_ok(r))
		crm_db_die(db, r, "reading a sync cursor");
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		o = json_tokener_parse(PQgetvalue(r, 0, 0));
		*seq = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		if (o && !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	}
	PQclear(r);
	return o;
}

int
crm_cursor_set(PGconn *db, const char *account, const char *kind, const char *folder,
    json_object *cursor, long long seq)
{
	char s[32];
	snprintf(s, sizeof s, "%lld", seq);
	const char *p[5] = { account, kind, folder,
		json_object_to_json_string_ext(cursor, JSON_C_TO_STRING_PLAIN), s };
	PGresult *r = crm_db_exec(db, "insert into sync_state (account, kind, folder, cursor, "
	    "cursor_seq, updated_at) values ($1, $2, $3, $4::jsonb, $5::numeric, now()) "
	    "on conflict (account, kind, folder) do update set cursor = excluded.cursor, "
	    "cursor_seq = excluded.cursor_seq, updated_at = now() "
	    "where sync_state.cursor_seq <= excluded.cursor_seq", 5, p);
	int ok = crm_db_ok(r);
	if (!ok)
		crm_warn("database: cannot record the cursor of %s %s: %s", account, folder,
		    crm_db_errmsg(db, r));
	PQclear(r);
	return ok ? 0 : -1;
}

int
crm_cursor_reset(PGconn *db, const char *account, const char *kind, const char *folder)
{
	const char *p[3] = { account, kind, folder };
	PGresult *r = crm_db_exec(db, "update sync_state set cursor = null, cursor_seq = 0, "
	    "updated_at = now() where account = $1 and kind = $2 and folder = $3", 3, p);
	int ok = crm_db_ok(r);
	if (!ok)
		crm_warn("database: cannot reset the cursor of %s %s: %s", account, folder,
		    crm_db_errmsg(db, r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* ---- job runs ---- */

long long
crm_job_start(PGconn *db, const char *job, const char *account)
{
	char host[HOST_NAME_MAX + 1] = "", pid[32];
	long long id = 0;

	gethostname(host, sizeof host - 1);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	const char *p[4] = { job, account, host, pid };
	PGresult *r = crm_db_exec(db, "insert into job_runs (job, account, host, pid) "
	    "values ($1, $2, $3, $4::int) returning id", 4, p);
	if (crm_db_ok(r) && PQntuples(r) == 1)
		id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		crm_warn("database: cannot record the job run: %s", crm_db_errmsg(db, r));
	PQclear(r);
	return id;
}

void
crm_job_finish(PGconn *db, long long id, int ok, json_object *counts, const char *error)
{
	char sid[32];

	if (!id)
		return;
	snprintf(sid, sizeof sid, "%lld", id);
	const char *p[4] = { sid, ok ? "ok" : "failed",
		counts ? json_object_to_json_string_ext(counts, JSON_C_TO_STRING_PLAIN) : "{}", error };
	PGresult *r = crm_db_exec(db, "update job_runs set finished_at = now(), status = $2, "
	    "counts = $3::jsonb, error = $4 where id = $1::bigint", 4, p);
	if (!crm_db_ok(r))
		crm_warn("database: cannot record the end of the job run: %s", crm_db_errmsg(db, r));
	PQclear(r);
}
