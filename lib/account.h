/* account.h — mail accounts in PostgreSQL (table mail_accounts): settings,
 * sealed credentials (lib/secret.h), OAuth2 access tokens kept fresh,
 * leases, sync cursors (sync_state) and job_runs rows.
 * A crm_account is filled by crm_account_get() and emptied by
 * crm_account_clear(); opened credentials are json objects the caller
 * releases with crm_account_creds_free() (string values wiped first). */
#ifndef CRM_ACCOUNT_H
#define CRM_ACCOUNT_H

#include "http.h"
#include "oauth.h"
#include "secret.h"

#include <json.h>
#include <postgresql/libpq-fe.h>
#include <stddef.h>

/* The schema version this module needs (mail_accounts, sync_state, job_runs). */
#define CRM_ACCOUNT_SCHEMA 4

struct crm_account {
	long long id;
	char *address, *kind;
	json_object *settings;
	unsigned char *sealed;        /* credentials blob, NULL when none */
	size_t sealed_len;
	int active, needs_reauth;
	char *last_error, *last_sync_at, *lease_owner, *lease_expires_at, *created_at;
};

/* 1 and *a filled, 0 when there is no such account, -1 on a database
 * error (message printed). */
int crm_account_get(PGconn *db, const char *address, struct crm_account *a);
void crm_account_clear(struct crm_account *a);

/* Create an account (settings: a JSON object, borrowed).  Returns 0, 1
 * when the address exists already, -1 with err. */
int crm_account_insert(PGconn *db, const char *address, const char *kind,
    json_object *settings, char *err, size_t errsz);
int crm_account_set_settings(PGconn *db, const char *address, json_object *settings,
    char *err, size_t errsz);
/* Enable or disable; remove deletes the account and its cursors (the
 * stored messages stay).  1 done, 0 no such account, -1 error. */
int crm_account_set_active(PGconn *db, const char *address, int active);
int crm_account_remove(PGconn *db, const char *address);
/* Every account, ordered by address: address, kind, active, needs_reauth,
 * last_sync_at, last_error, lease_owner, has credentials ("t"/"f"),
 * settings::text.  The caller PQclear()s. */
PGresult *crm_account_rows(PGconn *db);

/* Settings helpers: a string, an integer, or a string list (folders). */
const char *crm_account_str(const struct crm_account *a, const char *key);
long crm_account_long(const struct crm_account *a, const char *key, long def);
/* NULL-terminated array of the strings of a list setting (the strings
 * belong to the account; free() the array), NULL when absent. */
const char **crm_account_list(const struct crm_account *a, const char *key);

/* Open the sealed credentials: a JSON object, or NULL with err. */
json_object *crm_account_creds(const struct crm_account *a, const struct crm_secret_key *key,
    char *err, size_t errsz);
void crm_account_creds_free(json_object *creds);
/* Seal creds and store them on the account (a->sealed is updated too).
 * Returns 0, or -1 with err. */
int crm_account_store_creds(PGconn *db, struct crm_account *a,
    const struct crm_secret_key *key, json_object *creds, char *err, size_t errsz);

/* Record the outcome of a run on the account: error NULL clears
 * last_error; needs_reauth -1 leaves the flag as it is. */
void crm_account_note(PGconn *db, const char *address, const char *error, int needs_reauth);

/* OAuth2 settings of an account (settings.oauth, the client secret from
 * creds), with the provider's defaults filled in.  Strings point into
 * the account and creds.  Returns 0 or -1 with err. */
int crm_account_oauth(const struct crm_account *a, json_object *creds,
    struct crm_oauth_conf *oc, char *err, size_t errsz);

/* Access tokens for a sync: the stored one while it has more than a
 * minute to live, else (or when refresh is set) a refresh grant whose
 * answer is sealed back at once (Microsoft rotates refresh tokens).  A
 * refused grant marks the account needs_reauth and sets *reauth. */
struct crm_account_tokens {
	PGconn *db;
	struct crm_account *a;
	const struct crm_secret_key *key;
	json_object *creds;
	struct crm_http *http;
	char *access;                 /* the current token (wiped on free) */
};
const char *crm_account_token(struct crm_account_tokens *t, int refresh, int *reauth,
    char *err, size_t errsz);
void crm_account_tokens_free(struct crm_account_tokens *t);

/* Leases (DESIGN.md §4): "host:pid" owns an account until expiry.
 * crm_account_lease() claims one named account: 1 claimed, 0 busy (owner
 * in *busy_by, caller frees), -1 on error.  A lease held by a dead
 * process of this host is taken over.  crm_account_claim_next() claims
 * the next active account due for a sync with FOR UPDATE SKIP LOCKED —
 * one not synced since not_since (the run's start: another host that
 * finished it meanwhile has done this run's work) — a malloc'd address,
 * or NULL when none is left. */
const char *crm_lease_owner(void);
int crm_account_lease(PGconn *db, const char *address, int seconds, char **busy_by);
char *crm_account_claim_next(PGconn *db, int seconds, const char *not_since);
int crm_account_renew(PGconn *db, const char *address, int seconds);
void crm_account_release(PGconn *db, const char *address, int synced);

/* Sync cursors (sync_state): the stored cursor object and seq (NULL when
 * none); set advances only when seq >= the stored one; reset forgets. */
json_object *crm_cursor_get(PGconn *db, const char *account, const char *kind,
    const char *folder, long long *seq);
int crm_cursor_set(PGconn *db, const char *account, const char *kind, const char *folder,
    json_object *cursor, long long seq);
int crm_cursor_reset(PGconn *db, const char *account, const char *kind, const char *folder);

/* job_runs: start returns the row id (0 on failure); finish sets status
 * "ok" or "failed", the counts object (borrowed) and the error. */
long long crm_job_start(PGconn *db, const char *job, const char *account);
void crm_job_finish(PGconn *db, long long id, int ok, json_object *counts, const char *error);

#endif
