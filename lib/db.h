/* db.h — PostgreSQL for every program (DESIGN.md §4): finding the database,
 * bringing its schema up to date, parameterised queries, transactions, COPY.
 * Connections and results belong to the caller (crm_db_close, PQclear);
 * returned strings are static or owned by libpq, as each comment says.
 *
 * Which database: CRM_DATABASE_URL (or "database_url" in the config file);
 * else libpq's own rules when any of PGHOST, PGHOSTADDR, PGPORT, PGDATABASE
 * or PGSERVICE is set; else the embedded cluster under $CRM_HOME (default
 * ~/.local/share/crm), started on demand by running "crm-db start".
 * Diagnostics never show a password or a connection URL. */
#ifndef CRM_DB_H
#define CRM_DB_H

#include "buf.h"

#include <postgresql/libpq-fe.h>   /* Debian: no -I needed */
#include <stddef.h>

/* Connect, or exit 3 with "cannot connect to the database (...): why". */
PGconn *crm_db_connect(void);
/* Like crm_db_connect() but returns NULL (after the message) instead of
 * exiting. */
PGconn *crm_db_try_connect(void);
void crm_db_close(PGconn *c);
/* "socket /tmp/x, database crm, user crm" for messages (static buffer). */
const char *crm_db_describe(PGconn *c);
/* $CRM_HOME, else $XDG_DATA_HOME/crm, else ~/.local/share/crm (static). */
const char *crm_db_home(void);

/* Schema: the highest applied migration (0 on an empty database). */
int crm_db_schema_version(PGconn *c);
/* Apply every pending sql/NNN_*.sql in order, each in its own transaction,
 * recorded in schema_migrations, under an advisory lock (safe when several
 * programs start at once).  Returns the number applied, or -1 (message
 * printed) on failure. */
int crm_db_migrate(PGconn *c);
/* Make sure the schema is at least min_version: migrate when it is older;
 * exit 3 with a clear message when that is impossible. */
void crm_db_ensure_schema(PGconn *c, int min_version);
/* Directory of the migrations: $CRM_SQL_DIR, <datadir>/sql or, in the build
 * tree, <top>/sql (static). */
const char *crm_db_sql_dir(void);

/* Parameterised statement (text parameters, NULL for SQL NULL).  Returns
 * the result whatever happened: check it with crm_db_ok(). */
PGresult *crm_db_exec(PGconn *c, const char *sql, int n, const char *const *params);
/* The same, but any error exits 3 with "database: message".  Returns a
 * successful result. */
PGresult *crm_db_must(PGconn *c, const char *sql, int n, const char *const *params);
/* Run a statement whose result is not needed; exits 3 on error. */
void crm_db_run(PGconn *c, const char *sql, int n, const char *const *params);
int crm_db_ok(const PGresult *r);
/* SQLSTATE of a failed result ("" when none). */
const char *crm_db_sqlstate(const PGresult *r);
/* The primary message of a failed result, or of the connection (libpq's). */
const char *crm_db_errmsg(PGconn *c, const PGresult *r);
/* A serialization failure or deadlock: the transaction may be retried. */
int crm_db_retryable(const PGresult *r);
/* Sleep before retry number attempt (from 0) of such a transaction:
 * base_ms * 2^attempt (doubling six times at most) plus up to jitter_ms
 * at random, so that two colliding writers do not collide again. */
void crm_db_backoff(int attempt, long base_ms, long jitter_ms);
/* The connection is gone (server stopped, network), judging from the
 * connection and, when given, the failed result. */
int crm_db_lost(PGconn *c, const PGresult *r);
_Noreturn void crm_db_die(PGconn *c, const PGresult *r, const char *what);

/* Transactions: 0 or -1; on -1 *err (if given) holds the failed result. */
int crm_db_begin(PGconn *c);
int crm_db_commit(PGconn *c, PGresult **err);
void crm_db_rollback(PGconn *c);

/* COPY ... FROM STDIN with the given data (text format).  Returns NULL on
 * success, or the failed result (caller PQclear()s it). */
PGresult *crm_db_copy_in(PGconn *c, const char *copy_sql, const char *data, size_t len);
/* Append one field in COPY text format (backslash escapes); s == NULL is
 * SQL NULL.  crm_copy_sep() appends a tab, crm_copy_end() a newline. */
void crm_copy_field(struct crm_buf *b, const char *s, size_t n);
void crm_copy_str(struct crm_buf *b, const char *s);
static inline void
crm_copy_sep(struct crm_buf *b)
{
	crm_buf_addc(b, '\t');
}
static inline void
crm_copy_end(struct crm_buf *b)
{
	crm_buf_addc(b, '\n');
}

#endif
