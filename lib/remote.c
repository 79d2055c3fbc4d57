/* remote.c — crm-sync over IMAP, Gmail and Graph accounts (see remote.h).
 *
 * Why it is built this way: the sources (lib/imap.c, lib/gmail.c,
 * lib/graph.c) know their protocol and hand on raw messages with a
 * "source" carrying the cursor; this file binds them to the account in
 * the database and to the record stream.  The cursor rule of DESIGN.md
 * §4: crm-sync does not advance a cursor for messages it printed —
 * crm-store does, in the transaction that stores them.  crm-sync writes
 * a cursor itself only for a folder where it printed nothing in this run
 * (nothing new, or only rejected messages), which loses nothing: there is
 * no record in flight for it.  Accounts are leased ("host:pid" until an
 * expiry, renewed while the sync runs) so that several hosts running
 * "crm-sync --all" from cron never sync one account twice; one account's
 * failure is reported, recorded in job_runs and mail_accounts, and the
 * next account is tried. */
#include "remote.h"
#include "account.h"
#include "config.h"
#include "db.h"
#include "exitcode.h"
#include "gmail.h"
#include "graph.h"
#include "imap.h"
#include "jsonl.h"
#include "log.h"
#include "mime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctx {
	PGconn *db;
	struct crm_account *a;
	const struct crm_remote_opts *o;
	struct crm_msgopts mo;
	struct crm_account_tokens tok;
	int lease;                        /* seconds */
	time_t renewed;
	unsigned long emitted, rejected, emitted_folder;
};

static struct crm_secret_key key;
static int key_loaded;

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void
renew(struct ctx *x)
{
	time_t t = time(NULL);
	if (t - x->renewed < x->lease / 3)
		return;
	x->renewed = t;
	if (crm_account_renew(x->db, x->a->address, x->lease) < 0)
		crm_warn("%s: could not renew the lease", x->a->address);
}

static void
reject(struct ctx *x, json_object *src, const char *why)
{
	json_object *r = json_object_new_object();
	const char *folder = crm_get_str(src, "folder");
	json_object *uid = crm_get(src, "uid");
	char where[1024];
	size_t n;

	snprintf(where, sizeof where, "%s%s%s", x->a->address, folder && *folder ? "/" : "",
	    folder ? folder : "");
	json_object_object_add(r, "error", json_object_new_string(why));
	json_object_object_add(r, "source", json_object_get(src));
	const char *line = crm_json_str(r, &n);
	if (uid)
		crm_reject_raw(where, (long)json_object_get_int64(uid), line, n, "%s", why);
	else if (crm_get_str(src, "id"))
		crm_reject_raw(where, 0, line, n, "message %s: %s", crm_get_str(src, "id"), why);
	else
		crm_reject_raw(where, 0, line, n, "%s", why);
	json_object_put(r);
	x->rejected++;
}

static int
on_message(const char *raw, size_t len, json_object *src, time_t date, const char *err, void *arg)
{
	struct ctx *x = arg;
	const char *why = err;
	json_object *rec;

	renew(x);
	if (!raw) {
		reject(x, src, why ? why : "not fetched");
		json_object_put(src);
		return 0;
	}
	x->mo.fallback_date = date;
	rec = crm_message_record(raw, len, &x->mo, json_object_get(src), &why);
	if (!rec) {
		reject(x, src, why);
		json_object_put(src);
		return 0;
	}
	json_object_put(src);
	crm_emit_json(rec);
	json_object_put(rec);
	x->emitted++;
	x->emitted_folder++;
	crm_progress(x->emitted, "messages");
	if (ferror(stdout)) {
		crm_warn("error writing standard output:");
		return -1;
	}
	return 0;
}

static struct crm_http *http_for(struct ctx *x, const char *what);

/* ---- IMAP ---- */

static int
imap_get_cursor(const char *folder, struct crm_imap_cursor *c, void *arg)
{
	struct ctx *x = arg;
	long long seq;
	json_object *o = crm_cursor_get(x->db, x->a->address, "imap", folder, &seq), *v;

	memset(c, 0, sizeof *c);
	if (!o)
		return 0;
	if (json_object_object_get_ex(o, "uidvalidity", &v) && json_object_get_int64(v) > 0) {
		c->known = 1;
		c->uidvalidity = (uint32_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "uid", &v))
			c->uid = (uint32_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "highestmodseq", &v))
			c->highestmodseq = (uint64_t)json_object_get_int64(v);
	}
	json_object_put(o);
	return 0;
}

static int
imap_reset(const char *folder, void *arg)
{
	struct ctx *x = arg;
	return crm_cursor_reset(x->db, x->a->address, "imap", folder);
}

static int
imap_done(const char *folder, const struct crm_imap_cursor *c, unsigned long handed, void *arg)
{
	struct ctx *x = arg;
	int rc = 0;

	(void)handed;
	if (x->emitted_folder == 0) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "uidvalidity", json_object_new_int64(c->uidvalidity));
		json_object_object_add(o, "uid", json_object_new_int64(c->uid));
		if (c->highestmodseq)
			json_object_object_add(o, "highestmodseq",
			    json_object_new_int64((int64_t)c->highestmodseq));
		rc = crm_cursor_set(x->db, x->a->address, "imap", folder, o, c->uid);
		json_object_put(o);
	}
	x->emitted_folder = 0;
	return rc;
}

static const char *
imap_token(int refresh, char *err, size_t errsz, void *arg)
{
	struct ctx *x = arg;
	int reauth;
	return crm_account_token(&x->tok, refresh, &reauth, err, errsz);
}

static int
run_imap(struct ctx *x, char *err, size_t errsz, json_object *counts)
{
	struct crm_imap_conf c = { 0 };
	struct crm_imap_stats st = { 0 };
	struct crm_imap_hooks h = { imap_get_cursor, imap_reset, on_message, imap_done,
		imap_token, x };
	const char *tls = crm_account_str(x->a, "tls"), *auth = crm_account_str(x->a, "auth");
	const char **folders = crm_account_list(x->a, "folders");
	json_object *creds = x->tok.creds, *v;
	int rc;

	c.account = x->a->address;
	c.host = crm_account_str(x->a, "host");
	c.user = crm_account_str(x->a, "user");
	if (!c.user)
		c.user = x->a->address;
	if (!tls || !strcmp(tls, "implicit"))
		c.tls = CRM_TLS_IMPLICIT;
	else if (!strcmp(tls, "starttls"))
		c.tls = CRM_TLS_STARTTLS;
	else if (!strcmp(tls, "none")) {
		json_object *ins;
		if (!json_object_object_get_ex(x->a->settings, "insecure", &ins) ||
		    !json_object_get_boolean(ins)) {
			free(folders);
			snprintf(err, errsz, "account %s: plain IMAP without TLS needs an account made "
			    "with --insecure", x->a->address);
			return CRM_EXIT_USAGE;
		}
		c.tls = CRM_TLS_NONE;
	} else {
		free(folders);
		snprintf(err, errsz, "account %s: unknown tls setting '%s'", x->a->address, tls);
		return CRM_EXIT_USAGE;
	}
	if (!c.host) {
		free(folders);
		snprintf(err, errsz, "account %s has no IMAP host", x->a->address);
		return CRM_EXIT_USAGE;
	}
	c.port = (unsigned)crm_account_long(x->a, "port", c.tls == CRM_TLS_IMPLICIT ? 993 : 143);
	c.cafile = x->o->cafile ? x->o->cafile : crm_account_str(x->a, "cafile");
	if (!auth || !strcmp(auth, "password")) {
		if (!creds || !json_object_object_get_ex(creds, "password", &v)) {
			free(folders);
			snprintf(err, errsz, "account %s has no stored password", x->a->address);
			return CRM_EXIT_ENV;
		}
		c.password = json_object_get_string(v);
	} else
		x->tok.http = http_for(x, "oauth");
	c.timeout = (int)crm_config_long("imap_timeout", 60);
	c.retries = (int)crm_config_long("imap_retries", 5);
	c.backoff = crm_config_double("imap_backoff", 1);
	c.batch = (size_t)crm_config_long("imap_batch", 100);
	c.batch_bytes = (size_t)crm_config_long("imap_batch_bytes", 8L << 20);
	c.max_size = x->mo.max_size;
	c.limit = x->o->limit;
	c.resync = x->o->resync;
	c.trace = crm_verbose >= 2;
	rc = crm_imap_sync(&c, folders, &h, &st, err, errsz);
	free(folders);
	json_object_object_add(counts, "folders", json_object_new_int64((int64_t)st.folders));
	json_object_object_add(counts, "vanished", json_object_new_int64((int64_t)st.vanished));
	json_object_object_add(counts, "changed", json_object_new_int64((int64_t)st.changed));
	json_object_object_add(counts, "reconnects", json_object_new_int64((int64_t)st.reconnects));
	return rc;
}

/* ---- Gmail and Graph ---- */

static json_object *
src_get_cursor(const char *folder, long long *seq, void *arg)
{
	struct ctx *x = arg;
	return crm_cursor_get(x->db, x->a->address, x->a->kind, folder, seq);
}

static int
src_reset(const char *folder, void *arg)
{
	struct ctx *x = arg;
	return crm_cursor_reset(x->db, x->a->address, x->a->kind, folder);
}

static int
src_done(const char *folder, json_object *cursor, long long seq, unsigned long handed, void *arg)
{
	struct ctx *x = arg;
	int rc = 0;

	(void)handed;
	if (x->emitted_folder == 0)
		rc = crm_cursor_set(x->db, x->a->address, x->a->kind, folder, cursor, seq);
	x->emitted_folder = 0;
	return rc;
}

static const char *
src_token(int refresh, int *reauth, char *err, size_t errsz, void *arg)
{
	struct ctx *x = arg;
	return crm_account_token(&x->tok, refresh, reauth, err, errsz);
}

static struct crm_http *
http_for(struct ctx *x, const char *what)
{
	struct crm_http_opts ho;
	crm_http_opts_default(&ho);
	ho.what = what;
	ho.cafile = x->o->cafile ? x->o->cafile : crm_account_str(x->a, "cafile");
	ho.trace = crm_verbose >= 2;
	return crm_http_new(&ho);
}

static int
src_status(int rc, struct ctx *x, const char *err)
{
	switch (rc) {
	case CRM_SRC_OK:
		return CRM_EXIT_OK;
	case CRM_SRC_REAUTH:
		crm_account_note(x->db, x->a->address, err, 1);
		return CRM_EXIT_ENV;
	default:
		return CRM_EXIT_ENV;
	}
}

static void
add_src_counts(json_object *counts, const struct crm_src_stats *st)
{
	json_object_object_add(counts, "folders", json_object_new_int64((int64_t)st->folders));
	json_object_object_add(counts, "gone", json_object_new_int64((int64_t)st->gone));
	json_object_object_add(counts, "removed", json_object_new_int64((int64_t)st->removed));
	json_object_object_add(counts, "resyncs", json_object_new_int64((int64_t)st->resyncs));
	json_object_object_add(counts, "pages", json_object_new_int64((int64_t)st->pages));
}

static int
run_gmail(struct ctx *x, char *err, size_t errsz, json_object *counts)
{
	struct crm_gmail_conf c = { 0 };
	struct crm_src_stats st = { 0 };
	struct crm_src_hooks h = { src_get_cursor, src_reset, on_message, src_done, src_token, x };
	char q[512];
	int rc;

	c.account = x->a->address;
	c.api_base = crm_account_str(x->a, "api_base");
	c.label = crm_account_str(x->a, "label");
	c.query = crm_account_str(x->a, "query");
	if (x->o->since) {
		/* Gmail search wants YYYY/MM/DD */
		char d[16];
		snprintf(d, sizeof d, "%s", x->o->since);
		for (char *p = d; *p; p++)
			if (*p == '-')
				*p = '/';
		snprintf(q, sizeof q, "%s%safter:%s", c.query ? c.query : "-in:chats -in:drafts",
		    " ", d);
		c.query = q;
	}
	c.limit = x->o->limit;
	c.max_size = x->mo.max_size;
	c.resync = x->o->resync;
	c.page_size = (int)crm_config_long("gmail_page_size", 500);
	x->tok.http = http_for(x, "gmail");
	rc = crm_gmail_sync(x->tok.http, &c, &h, &st, err, errsz);
	add_src_counts(counts, &st);
	return src_status(rc, x, err);
}

static int
run_graph(struct ctx *x, char *err, size_t errsz, json_object *counts)
{
	struct crm_graph_conf c = { 0 };
	struct crm_src_stats st = { 0 };
	struct crm_src_hooks h = { src_get_cursor, src_reset, on_message, src_done, src_token, x };
	const char **folders = crm_account_list(x->a, "folders");
	int rc;

	c.account = x->a->address;
	c.api_base = crm_account_str(x->a, "api_base");
	c.user = crm_account_str(x->a, "user");
	c.limit = x->o->limit;
	c.max_size = x->mo.max_size;
	c.resync = x->o->resync;
	c.since = x->o->since;
	c.page_size = (int)crm_config_long("graph_page_size", 50);
	x->tok.http = http_for(x, "graph");
	rc = crm_graph_sync(x->tok.http, &c, folders, &h, &st, err, errsz);
	free(folders);
	add_src_counts(counts, &st);
	return src_status(rc, x, err);
}

/* ---- one account ---- */

static int
need_key(char *err, size_t errsz)
{
	if (key_loaded)
		return 0;
	if (crm_secret_load_key(NULL, &key, err, errsz) < 0)
		return -1;
	key_loaded = 1;
	return 0;
}

static int
sync_account(PGconn *db, const struct crm_remote_opts *o, const char *address, const char *kind,
    int leased)
{
	struct crm_account a;
	struct ctx x = { .db = db, .a = &a, .o = o };
	char err[2048] = "", *busy = NULL;
	json_object *counts;
	long long job;
	double t0 = now();
	int rc, got;

	got = crm_account_get(db, address, &a);
	if (got < 0)
		return CRM_EXIT_ENV;
	if (!got) {
		crm_warn("no account %s (see crm-account list)", address);
		return CRM_EXIT_USAGE;
	}
	if (kind && strcmp(kind, a.kind)) {
		crm_warn("account %s is a %s account: use --%s", address, a.kind, a.kind);
		crm_account_clear(&a);
		return CRM_EXIT_USAGE;
	}
	if (!a.active) {
		crm_warn("account %s is disabled (crm-account enable %s)", address, address);
		crm_account_clear(&a);
		return CRM_EXIT_ENV;
	}
	x.lease = (int)crm_config_long("sync_lease", 1800);
	if (!leased) {
		int l = crm_account_lease(db, address, x.lease, &busy);
		if (l <= 0) {
			if (l == 0)
				crm_warn("account %s is being synced by %s", address, busy);
			free(busy);
			crm_account_clear(&a);
			return CRM_EXIT_ENV;
		}
	}
	x.renewed = time(NULL);
	x.mo.account = a.address;
	x.mo.html = o->html;
	x.mo.max_size = o->max_size ? o->max_size : 64UL << 20;
	x.tok.db = db;
	x.tok.a = &a;
	x.tok.key = &key;
	job = crm_job_start(db, "sync", address);
	counts = json_object_new_object();
	if (a.sealed && need_key(err, sizeof err) < 0)
		rc = CRM_EXIT_ENV;
	else if (a.sealed && !(x.tok.creds = crm_account_creds(&a, &key, err, sizeof err)))
		rc = CRM_EXIT_ENV;
	else if (!strcmp(a.kind, "imap"))
		rc = run_imap(&x, err, sizeof err, counts);
	else if (!strcmp(a.kind, "gmail"))
		rc = run_gmail(&x, err, sizeof err, counts);
	else if (!strcmp(a.kind, "graph"))
		rc = run_graph(&x, err, sizeof err, counts);
	else {
		snprintf(err, sizeof err, "account %s is of kind %s, which has no remote sync",
		    address, a.kind);
		rc = CRM_EXIT_USAGE;
	}
	crm_progress_end();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (!err[0])
			snprintf(err, sizeof err, "error writing standard output");
		rc = CRM_EXIT_ENV;
	}
	json_object_object_add(counts, "messages", json_object_new_int64((int64_t)x.emitted));
	json_object_object_add(counts, "rejected", json_object_new_int64((int64_t)x.rejected));
	if (rc == CRM_EXIT_OK) {
		char rej[64] = "";
		if (x.rejected)
			snprintf(rej, sizeof rej, ", %lu rejected", x.rejected);
		crm_warn("%s (%s): %lu message%s%s in %.1f s", address, a.kind, x.emitted,
		    x.emitted == 1 ? "" : "s", rej, now() - t0);
		crm_account_note(db, address, NULL, -1);
	} else {
		crm_warn("%s (%s): %s", address, a.kind, err[0] ? err : "failed");
		if (x.emitted)
			crm_warn("%s (%s): %lu message%s printed before the failure", address, a.kind,
			    x.emitted, x.emitted == 1 ? "" : "s");
		crm_account_note(db, address, err[0] ? err : "failed", -1);
	}
	crm_job_finish(db, job, rc == CRM_EXIT_OK, counts, rc == CRM_EXIT_OK ? NULL : err);
	json_object_put(counts);
	crm_account_release(db, address, rc == CRM_EXIT_OK);
	crm_account_creds_free(x.tok.creds);
	crm_account_tokens_free(&x.tok);
	crm_http_free(x.tok.http);
	crm_account_clear(&a);
	return rc;
}

static void
note_reauth(PGconn *db)
{
	PGresult *r = crm_db_exec(db, "select address from mail_accounts where active and "
	    "needs_reauth and kind in ('imap', 'gmail', 'graph') order by address", 0, NULL);
	for (int i = 0; crm_db_ok(r) && i < PQntuples(r); i++)
		crm_warn("%s: skipped: must be authorized again (crm-oauth authorize %s)",
		    PQgetvalue(r, i, 0), PQgetvalue(r, i, 0));
	PQclear(r);
}

int
crm_remote_run(const struct crm_remote_opts *o)
{
	PGconn *db;
	int lease = (int)crm_config_long("sync_lease", 1800), rc;

	/* a reader that goes away is an output error to report, with the
	 * lease released and the job run closed, not a silent death */
	signal(SIGPIPE, SIG_IGN);
	db = crm_db_connect();

	crm_db_ensure_schema(db, CRM_ACCOUNT_SCHEMA);
	if (o->all) {
		PGresult *t = crm_db_must(db, "select now()::text", 0, NULL);
		char *start = crm_xstrdup(PQgetvalue(t, 0, 0)), *addr;
		unsigned n = 0;
		PQclear(t);
		note_reauth(db);
		while ((addr = crm_account_claim_next(db, lease, start))) {
			rc = sync_account(db, o, addr, NULL, 1);
			if (rc)
				crm_status_fail(rc);
			free(addr);
			n++;
			if (ferror(stdout))
				break;
		}
		if (!n)
			crm_debug("no account to sync (none active and due, or all leased)");
		free(start);
	} else {
		const char *addr = o->imap ? o->imap : o->gmail ? o->gmail : o->graph;
		const char *kind = o->imap ? "imap" : o->gmail ? "gmail" : "graph";
		rc = sync_account(db, o, addr, kind, 0);
		if (rc)
			crm_status_fail(rc);
	}
	crm_db_close(db);
	if (key_loaded)
		crm_secret_key_wipe(&key);
	crm_output_close();
	return crm_status();
}
