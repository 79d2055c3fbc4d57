/* db.c — connecting, migrating, querying (see db.h).
 *
 * Connections are made with PQconnectdbParams and keyword arrays, never by
 * pasting strings into a conninfo, so no value needs quoting and nothing
 * the user typed is echoed back: messages describe the target with
 * PQhost/PQdb/PQuser, which never include a password.  The embedded
 * cluster is found through the file crm-db writes in $CRM_HOME
 * ("socket-dir"); when it is absent or the server does not answer,
 * "crm-db start" (which also initialises) is run once and the connection
 * retried.  Migrations run one file per transaction under a session
 * advisory lock, so concurrent programs do not apply a file twice and a
 * failed file leaves nothing half-done. */
#include "db.h"
#include "config.h"
#include "exitcode.h"
#include "log.h"
#include "mailsrc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* pg_advisory_lock key of the migration runner (also in scripts/crm-db):
 * "crm-mig" in ASCII. */
#define MIGRATION_LOCK "28549237716021607"

static char errbuf[1024];

/* Collapse libpq's multi-line messages into one line. */
static const char *
oneline(const char *s)
{
	size_t j = 0;
	int space = 0;

	for (; s && *s && j + 1 < sizeof errbuf; s++) {
		if (isspace((unsigned char)*s)) {
			space = j > 0;
			continue;
		}
		if (space && j + 2 < sizeof errbuf)
			errbuf[j++] = ' ';
		space = 0;
		errbuf[j++] = *s;
	}
	errbuf[j] = 0;
	return errbuf;
}

const char *
crm_db_home(void)
{
	static char home[PATH_MAX];
	const char *e = getenv("CRM_HOME"), *x = getenv("XDG_DATA_HOME");
	const char *h = getenv("HOME");

	if (home[0])
		return home;
	if (e && *e)
		snprintf(home, sizeof home, "%s", e);
	else if (x && *x)
		snprintf(home, sizeof home, "%s/crm", x);
	else
		snprintf(home, sizeof home, "%s/.local/share/crm", h && *h ? h : ".");
	return home;
}

const char *
crm_db_describe(PGconn *c)
{
	static char d[PATH_MAX + 256];
	const char *h = c ? PQhost(c) : NULL, *db = c ? PQdb(c) : NULL;
	const char *u = c ? PQuser(c) : NULL, *p = c ? PQport(c) : NULL;

	if (h && h[0] == '/')
		snprintf(d, sizeof d, "socket %s, database %s, user %s", h,
		    db ? db : "?", u ? u : "?");
	else
		snprintf(d, sizeof d, "host %s port %s, database %s, user %s",
		    h && *h ? h : "localhost", p && *p ? p : "5432", db ? db : "?", u ? u : "?");
	return d;
}

/* The socket directory of the embedded cluster, from $CRM_HOME/socket-dir. */
static int
embedded_socket(char *out, size_t n)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof path, "%s/socket-dir", crm_db_home());
	if (!(f = fopen(path, "r")))
		return -1;
	if (!fgets(out, (int)n, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\n")] = 0;
	return out[0] ? 0 : -1;
}

/* Run "crm-db start" (beside this program, else on PATH), its output on
 * stderr: stdout belongs to the records. */
static int
start_embedded(void)
{
	char self[PATH_MAX], tool[PATH_MAX + 16] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	int st;
	pid_t pid;

	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(tool, sizeof tool, "%s/crm-db", self);
			if (access(tool, X_OK))
				tool[0] = 0;
		}
	}
	crm_debug("starting the embedded database under %s", crm_db_home());
	fflush(stderr);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(2, 1);
		if (tool[0])
			execl(tool, "crm-db", "start", (char *)NULL);
		else
			execlp("crm-db", "crm-db", "start", (char *)NULL);
		fprintf(stderr, "%s: cannot run crm-db: %s\n", crm_prog, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int
configured(void)
{
	static const char *const vars[] = { "PGHOST", "PGHOSTADDR", "PGPORT",
		"PGDATABASE", "PGSERVICE", NULL };

	for (int i = 0; vars[i]; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return 1;
	}
	return 0;
}

static PGconn *
open_conn(const char *url, const char *socket)
{
	const char *kw[8], *val[8];
	int i = 0;

	if (url) {
		kw[i] = "dbname", val[i++] = url;
	} else if (socket) {
		kw[i] = "host", val[i++] = socket;
		kw[i] = "dbname", val[i++] = "crm";
		kw[i] = "user", val[i++] = "crm";
		kw[i] = "port", val[i++] = "5432";
	}
	kw[i] = "fallback_application_name", val[i++] = crm_prog ? crm_prog : "crm";
	kw[i] = "client_encoding", val[i++] = "UTF8";
	kw[i] = NULL, val[i] = NULL;
	return PQconnectdbParams(kw, val, url != NULL);
}

/* Server notices (warnings) in the one diagnostic shape. */
static void
notice(void *arg, const char *msg)
{
	(void)arg;
	crm_warn("database: %s", oneline(msg));
}

static void
conn_failed(PGconn *c, const char *where)
{
	crm_warn("cannot connect to the database (%s): %s", where,
	    oneline(c ? PQerrorMessage(c) : "out of memory"));
}

PGconn *
crm_db_try_connect(void)
{
	const char *url = crm_config_get("database_url");
	char sock[PATH_MAX];
	PGconn *c;

	if (url && *url) {
		char *err = NULL;
		PQconninfoOption *o = PQconninfoParse(url, &err);
		if (!o) {
			/* libpq's message may quote the URL: do not show it */
			PQfreemem(err);
			crm_warn("CRM_DATABASE_URL (or database_url) is not a valid "
			    "PostgreSQL connection string or URI");
			return NULL;
		}
		PQconninfoFree(o);
		c = open_conn(url, NULL);
	} else if (configured()) {
		c = open_conn(NULL, NULL);
	} else {
		if (embedded_socket(sock, sizeof sock) == 0) {
			c = open_conn(NULL, sock);
			if (PQstatus(c) == CONNECTION_OK)
				goto ok;
			PQfinish(c);
		}
		int rc = start_embedded();
		if (rc != 0) {
			crm_warn("cannot start the embedded database under %s "
			    "(crm-db start exited %d); see crm-db(1)", crm_db_home(), rc);
			return NULL;
		}
		if (embedded_socket(sock, sizeof sock) < 0) {
			crm_warn("cannot connect to the database: %s/socket-dir is missing "
			    "after crm-db start", crm_db_home());
			return NULL;
		}
		c = open_conn(NULL, sock);
	}
	if (!c || PQstatus(c) != CONNECTION_OK) {
		conn_failed(c, crm_db_describe(c));
		PQfinish(c);
		return NULL;
	}
ok:
	PQsetNoticeProcessor(c, notice, NULL);
	crm_debug("connected to %s", crm_db_describe(c));
	return c;
}

PGconn *
crm_db_connect(void)
{
	PGconn *c = crm_db_try_connect();

	if (!c)
		exit(CRM_EXIT_ENV);
	return c;
}

void
crm_db_close(PGconn *c)
{
	if (c)
		PQfinish(c);
}

/* ---- queries ---- */

int
crm_db_ok(const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	return r && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY);
}

const char *
crm_db_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

int
crm_db_retryable(const PGresult *r)
{
	const char *s = crm_db_sqlstate(r);
	return !strcmp(s, "40001") || !strcmp(s, "40P01");
}

int
crm_db_lost(PGconn *c, const PGresult *r)
{
	const char *st = crm_db_sqlstate(r);

	if (!c || PQstatus(c) != CONNECTION_OK)
		return 1;
	/* connection exceptions, shutdowns; or a failure libpq made up
	 * itself (no SQLSTATE: the server closed the connection) */
	return !strncmp(st, "08", 2) || !strncmp(st, "57P", 3) ||
	    (r && PQresultStatus(r) == PGRES_FATAL_ERROR && !*st);
}

const char *
crm_db_errmsg(PGconn *c, const PGresult *r)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (m && *m)
		return oneline(m);
	return oneline(c ? PQerrorMessage(c) : "no connection");
}

void
crm_db_die(PGconn *c, const PGresult *r, const char *what)
{
	if (crm_db_lost(c, r))
		crm_die(CRM_EXIT_ENV, "lost the connection to the database (%s)%s%s: %s",
		    crm_db_describe(c), what ? " during " : "", what ? what : "",
		    crm_db_errmsg(c, r));
	crm_die(CRM_EXIT_ENV, "database%s%s: %s", what ? ": " : "", what ? what : "",
	    crm_db_errmsg(c, r));
}

PGresult *
crm_db_exec(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (!r)
		r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return r;
}

PGresult *
crm_db_must(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = crm_db_exec(c, sql, n, params);
	if (!crm_db_ok(r))
		crm_db_die(c, r, NULL);
	return r;
}

void
crm_db_run(PGconn *c, const char *sql, int n, const char *const *params)
{
	PQclear(crm_db_must(c, sql, n, params));
}

int
crm_db_begin(PGconn *c)
{
	PGresult *r = crm_db_exec(c, "begin", 0, NULL);
	int ok = crm_db_ok(r);
	PQclear(r);
	return ok ? 0 : -1;
}

int
crm_db_commit(PGconn *c, PGresult **err)
{
	PGresult *r = crm_db_exec(c, "commit", 0, NULL);
	/* a COMMIT of a failed transaction "succeeds" as ROLLBACK */
	const char *tag = PQcmdStatus(r);
	if (crm_db_ok(r) && tag && !strcmp(tag, "COMMIT")) {
		PQclear(r);
		return 0;
	}
	if (err)
		*err = r;
	else
		PQclear(r);
	return -1;
}

void
crm_db_rollback(PGconn *c)
{
	if (!crm_db_lost(c, NULL))
		PQclear(crm_db_exec(c, "rollback", 0, NULL));
}

PGresult *
crm_db_copy_in(PGconn *c, const char *copy_sql, const char *data, size_t len)
{
	PGresult *r = PQexec(c, copy_sql), *x;
	int ok = 1;

	if (!r)
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return r;
	PQclear(r);
	while (len && ok) {
		size_t k = len > (1u << 20) ? (1u << 20) : len;
		ok = PQputCopyData(c, data, (int)k) == 1;
		data += k;
		len -= k;
	}
	PQputCopyEnd(c, ok ? NULL : "client could not send the data");
	r = PQgetResult(c);
	while ((x = PQgetResult(c)))
		PQclear(x);
	if (!r)
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	return r;
}

void
crm_copy_field(struct crm_buf *b, const char *s, size_t n)
{
	size_t i, start = 0;

	if (!s) {
		crm_buf_add(b, "\\N", 2);
		return;
	}
	crm_buf_grow(b, n + 16);
	for (i = 0; i < n; i++) {
		const char *esc;
		switch (s[i]) {
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\0': esc = "\xef\xbf\xbd"; break;   /* U+FFFD: text cannot hold NUL */
		default: continue;
		}
		crm_buf_add(b, s + start, i - start);
		crm_buf_adds(b, esc);
		start = i + 1;
	}
	crm_buf_add(b, s + start, n - start);
}

void
crm_copy_str(struct crm_buf *b, const char *s)
{
	crm_copy_field(b, s, s ? strlen(s) : 0);
}

/* ---- migrations ---- */

const char *
crm_db_sql_dir(void)
{
	static char dir[PATH_MAX];
	const char *e = getenv("CRM_SQL_DIR");
	struct stat st;

	if (e && *e) {
		snprintf(dir, sizeof dir, "%s", e);
		return dir;
	}
	snprintf(dir, sizeof dir, "%s/sql", crm_datadir());
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	snprintf(dir, sizeof dir, "%s/../sql", crm_datadir());
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	snprintf(dir, sizeof dir, "%s/sql", crm_datadir());
	return dir;
}

/* NNN_name.sql */
static int
is_migration(const struct dirent *de)
{
	const char *s = de->d_name;
	size_t n = strlen(s);

	return n > 8 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && s[3] == '_' && !strcmp(s + n - 4, ".sql");
}

int
crm_db_schema_version(PGconn *c)
{
	PGresult *r = crm_db_must(c, "select to_regclass('schema_migrations') is not null", 0, NULL);
	int v = 0;

	if (PQgetvalue(r, 0, 0)[0] == 't') {
		PQclear(r);
		r = crm_db_must(c, "select coalesce(max(version), 0) from schema_migrations", 0, NULL);
		v = atoi(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}

static int
apply_one(PGconn *c, const char *dir, const char *name)
{
	char path[PATH_MAX + 256], ver[8];
	struct crm_buf sql = CRM_BUF_INIT;
	PGresult *r = NULL;
	int fd, rc = -1;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(ver, sizeof ver, "%d", atoi(name));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || crm_read_fd(fd, &sql, 0) < 0) {
		crm_warn("migration %s:", path);
		goto out;
	}
	if (crm_db_begin(c) < 0)
		goto fail;
	r = PQexec(c, sql.s);
	if (!crm_db_ok(r))
		goto fail;
	PQclear(r);
	const char *p[2] = { ver, name };
	r = crm_db_exec(c, "insert into schema_migrations (version, name) values ($1, $2) "
	    "on conflict (version) do nothing", 2, p);
	if (!crm_db_ok(r))
		goto fail;
	PQclear(r);
	r = NULL;
	if (crm_db_commit(c, &r) < 0)
		goto fail;
	crm_debug("applied migration %s", name);
	rc = 0;
	goto out;
fail:
	crm_warn("migration %s failed (nothing of it was applied): %s", name, crm_db_errmsg(c, r));
	crm_db_rollback(c);
out:
	if (fd >= 0)
		close(fd);
	PQclear(r);
	crm_buf_free(&sql);
	return rc;
}

int
crm_db_migrate(PGconn *c)
{
	const char *dir = crm_db_sql_dir();
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_migration, alphasort), applied = 0;
	PGresult *r;

	if (n < 0) {
		crm_warn("cannot read the SQL migrations in %s:", dir);
		return -1;
	}
	r = crm_db_exec(c, "select pg_advisory_lock(" MIGRATION_LOCK ")", 0, NULL);
	if (!crm_db_ok(r)) {
		crm_warn("cannot lock the schema for migration: %s", crm_db_errmsg(c, r));
		PQclear(r);
		applied = -1;
		goto out;
	}
	PQclear(r);
	PQclear(PQexec(c, "set client_min_messages = warning"));
	r = crm_db_exec(c, "create table if not exists schema_migrations (version integer primary key, "
	    "name text not null, applied_at timestamptz not null default now())", 0, NULL);
	if (!crm_db_ok(r)) {
		crm_warn("cannot create schema_migrations: %s", crm_db_errmsg(c, r));
		PQclear(r);
		applied = -1;
		goto unlock;
	}
	PQclear(r);
	for (int i = 0; i < n; i++) {
		char ver[8];
		snprintf(ver, sizeof ver, "%d", atoi(list[i]->d_name));
		const char *p[1] = { ver };
		r = crm_db_exec(c, "select 1 from schema_migrations where version = $1", 1, p);
		int done = crm_db_ok(r) && PQntuples(r) > 0;
		PQclear(r);
		if (done)
			continue;
		if (apply_one(c, dir, list[i]->d_name) < 0) {
			applied = -1;
			break;
		}
		applied++;
	}
	PQclear(PQexec(c, "reset client_min_messages"));
unlock:
	PQclear(PQexec(c, "select pg_advisory_unlock(" MIGRATION_LOCK ")"));
out:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return applied;
}

void
crm_db_ensure_schema(PGconn *c, int min_version)
{
	int v = crm_db_schema_version(c);

	if (v >= min_version)
		return;
	if (crm_db_migrate(c) < 0)
		crm_die(CRM_EXIT_ENV, "the database schema is at version %d, %s needs %d, "
		    "and migrating failed (see above)", v, crm_prog, min_version);
	v = crm_db_schema_version(c);
	if (v < min_version)
		crm_die(CRM_EXIT_ENV, "the database schema is at version %d but %s needs %d, "
		    "and the migrations in %s go no further: install the matching sql/ files "
		    "or set CRM_SQL_DIR", v, crm_prog, min_version, crm_db_sql_dir());
}

void
crm_db_backoff(int attempt, long base_ms, long jitter_ms)
{
	struct timespec ts;
	long ms = (base_ms << (attempt < 6 ? attempt : 6)) + (jitter_ms > 0 ? rand() % jitter_ms : 0);

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}
