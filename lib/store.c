/* store.c — loading records into PostgreSQL (see store.h, crm-store(1)).
 *
 * Why it is built this way: row-by-row INSERTs cost a round trip each, so
 * records are checked and flattened here, in C, into two COPY streams (one
 * row per message, one per external address), sent into session temporary
 * tables, and merged into the real tables by a handful of set-based
 * INSERT ... ON CONFLICT statements — one transaction per batch.  Every
 * statement takes its row locks in key order, so concurrent loaders over
 * overlapping input do not deadlock in the common case, and a deadlock or
 * serialization failure that still happens is retried with the whole
 * batch.  A batch the database refuses for a data reason is replayed one
 * record at a time so that only the guilty record is rejected.
 *
 * The cursor rule (DESIGN.md §4): a record whose "source" has "cursor" and
 * "cursor_seq" moves sync_state forward in the transaction that stores it,
 * and only forward.  A record whose source has "uniq" (crm-sync --state)
 * is recorded in sync_seen the same way.
 *
 * Everything written is derived from the record, and updates only happen
 * when a value differs (IS DISTINCT FROM), so a second run over the same
 * input changes nothing, not even updated_at. */
#include "store.h"
#include "config.h"
#include "hash.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (32UL << 20)   /* also flush when the batch holds this much */
#define MAX_RETRIES 10

struct brec {
	const char *input;       /* interned */
	long lineno;
	size_t line_off, line_len;
	size_t body_off, body_len;   /* the interactions columns, COPY text */
	size_t key_off, key_len;     /* the crm_keys columns after seq and dup */
	size_t pa0, pa1;             /* its external addresses: s->pa[pa0..pa1) */
	size_t nk_off, nk_len;       /* account US natural key, for duplicates */
	char hash[CRM_SHA256_HEX];   /* of the body */
	/* per batch attempt */
	int dup, exists, same;
	char pid[24], oid[24];
};

struct wild {
	char **v;
	size_t n;
};

#define NONE ((size_t)-1)

/* An external address of a record (offsets into crm_store.astr). */
struct paddr {
	size_t email, name, domain, company, date;
	double when;                 /* the record's date, -HUGE_VAL if none */
};

/* A batch of records, filled by the main thread and written by the
 * writer thread (two of them take turns). */
struct rej {
	size_t i;
	char *why;
};

struct batch {
	struct brec *recs;
	size_t n, cap;
	struct crm_buf bodies, keys, astr, lines, nks;
	struct paddr *pa;            /* external addresses, strings in astr */
	size_t npa, capa;
	struct rej *rej;             /* refused by the database, to report */
	size_t nrej, caprej;
};

struct crm_store {
	PGconn *c;
	struct crm_store_opts o;
	json_object *webmail, *roles, *int_dom, *int_addr;   /* sets */
	struct wild webmail_wild, role_wild;
	struct batch b[2];
	struct batch *fill;          /* being filled by the main thread */
	char **inputs;
	size_t ninputs;
	struct crm_store_stats st;   /* the writer's, read after it stopped */
	/* the writer thread: one batch at a time, while the next is read */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *job;           /* handed to the writer, NULL when idle */
	int started, quit;
};

/* ---- sets and lists ---- */

static int
in_set(json_object *set, const char *k)
{
	return json_object_object_get_ex(set, k, NULL);
}

static void
set_add(json_object *set, const char *k)
{
	if (!in_set(set, k))
		json_object_object_add(set, k, NULL);
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* One entry per line, '#' comments; "name*" (roles) or "name.*"
 * (webmail) are prefixes.  A line with inner spaces is an error. */
static void
load_list(const char *file, json_object *set, struct wild *w)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, *s;
	size_t cap = 0;
	long no = 0;

	if (!f)
		crm_die(CRM_EXIT_USAGE, "cannot open %s:", file);
	while ((s = crm_list_next(f, &line, &cap, &no))) {
		char *e = s + strlen(s);
		for (char *p = s; *p; p++)
			if (isspace((unsigned char)*p) || *p == '@')
				crm_die(CRM_EXIT_USAGE, "%s:%ld: expected one name per line, got '%s'",
				    file, no, s);
		lower(s);
		if (e[-1] == '*') {
			e[-1] = 0;
			w->v = crm_xrealloc(w->v, (w->n + 1) * sizeof *w->v);
			w->v[w->n++] = crm_xstrdup(s);
		} else
			set_add(set, s);
	}
	free(line);
	fclose(f);
}

static int
in_wild(const struct wild *w, const char *s)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strncmp(s, w->v[i], strlen(w->v[i])))
			return 1;
	return 0;
}

static void
add_words(json_object *set, const char *list)
{
	char *copy = crm_xstrdup(list), *save = NULL;

	for (char *t = strtok_r(copy, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
		lower(t);
		set_add(set, t);
	}
	free(copy);
}

static int
is_webmail(const struct crm_store *s, const char *domain)
{
	return in_set(s->webmail, domain) || in_wild(&s->webmail_wild, domain);
}

/* Our own mailboxes and staff, and their domains (webmail domains aside). */
static void
load_internal(struct crm_store *s)
{
	PGresult *r = crm_db_must(s->c,
	    "select lower(address) from mail_accounts "
	    "union select email from users where email is not null", 0, NULL);

	for (int i = 0; i < PQntuples(r); i++) {
		const char *a = PQgetvalue(r, i, 0), *at = strrchr(a, '@');
		set_add(s->int_addr, a);
		if (at && at[1] && !is_webmail(s, at + 1))
			set_add(s->int_dom, at + 1);
	}
	PQclear(r);
}

/* ---- record checks ---- */

static int
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|+HH[:MM]|-HH[:MM]], a real calendar day. */
static int
iso_date_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t n = strlen(s);

	if (n < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2))
		return 0;
	int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || y < 1)
		return 0;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 0;
	s += 10;
	if (!*s)
		return 1;
	if ((*s != 'T' && *s != ' ') || !digits(s + 1, 2) || s[3] != ':' || !digits(s + 4, 2))
		return 0;
	if (num(s + 1, 2) > 23 || num(s + 4, 2) > 59)
		return 0;
	s += 6;
	if (*s == ':') {
		if (!digits(s + 1, 2) || num(s + 1, 2) > 60)
			return 0;
		s += 3;
		if (*s == '.') {
			s++;
			if (!isdigit((unsigned char)*s))
				return 0;
			while (isdigit((unsigned char)*s))
				s++;
		}
	}
	if (!*s)
		return 1;
	if (*s == 'Z')
		return s[1] == 0;
	if (*s != '+' && *s != '-')
		return 0;
	if (!digits(s + 1, 2) || num(s + 1, 2) > 15)
		return 0;
	s += 3;
	if (*s == ':')
		s++;
	if (!*s)
		return 1;
	return digits(s, 2) && num(s, 2) < 60 && s[2] == 0;
}

/* Seconds since the epoch of a date iso_date_ok() accepted. */
static double
iso_epoch(const char *s)
{
	int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2), hh = 0, mm = 0, ss = 0;
	double frac = 0, off = 0;

	/* days from civil (H. Hinnant) */
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	double days = (double)(era * 146097 + doe - 719468);
	s += 10;
	if (*s == 'T' || *s == ' ') {
		hh = num(s + 1, 2);
		mm = num(s + 4, 2);
		s += 6;
		if (*s == ':') {
			ss = num(s + 1, 2);
			s += 3;
			if (*s == '.') {
				char *e;
				frac = strtod(s, &e);
				s = e;
			}
		}
	}
	if (*s == '+' || *s == '-') {
		off = num(s + 1, 2) * 3600.0;
		if (s[3] == ':')
			off += num(s + 4, 2) * 60.0;
		else if (isdigit((unsigned char)s[3]))
			off += num(s + 3, 2) * 60.0;
		if (*s == '-')
			off = -off;
	}
	return days * 86400 + hh * 3600 + mm * 60 + ss + frac - off;
}

/* A plausible address, lower-cased into out; 0 if not. */
static int
norm_email(const char *in, char *out, size_t size)
{
	size_t n = 0;
	const char *at = NULL;

	if (!in)
		return 0;
	while (isspace((unsigned char)*in))
		in++;
	for (; *in && n + 1 < size; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch <= ' ' || ch == '<' || ch == '>' || ch == ',' || ch == ';')
			break;
		if (ch == '@') {
			if (at)
				return 0;
			at = out + n;
		}
		out[n++] = (char)tolower(ch);
	}
	while (isspace((unsigned char)*in))
		in++;
	if (*in)
		return 0;
	out[n] = 0;
	while (n > 0 && out[n - 1] == '.')
		out[--n] = 0;
	return at && at > out && at[1] && strchr(at + 1, '.') && at[1] != '.';
}

/* A key that must be an object (or null/absent). */
static int
get_obj(json_object *rec, const char *k, json_object **out, const char **why)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(rec, k, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_object)) {
		*why = k;
		return -1;
	}
	*out = v;
	return 0;
}

static int
get_arr(json_object *rec, const char *k, json_object **out, const char **why)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(rec, k, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		*why = k;
		return -1;
	}
	*out = v;
	return 0;
}

/* A key that must be a string (or null/absent). */
static int
get_str(json_object *rec, const char *k, const char **out, size_t *len, const char **why)
{
	json_object *v = NULL;

	*out = NULL;
	if (len)
		*len = 0;
	if (!json_object_object_get_ex(rec, k, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		*why = k;
		return -1;
	}
	*out = json_object_get_string(v);
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return 0;
}

/* ---- COPY rows ---- */

static void
put(struct crm_buf *b, const char *s)
{
	crm_copy_str(b, s);
	crm_copy_sep(b);
}

static void
put_n(struct crm_buf *b, const char *s, size_t n)
{
	crm_copy_field(b, s, n);
	crm_copy_sep(b);
}

/* JSON for a jsonb column.  PostgreSQL's jsonb cannot hold \u0000: it
 * becomes \ufffd, as NUL becomes U+FFFD in text columns. */
static void
put_json(struct crm_buf *b, json_object *o)
{
	size_t n;
	const char *s;

	if (!o) {
		put(b, NULL);
		return;
	}
	s = crm_json_str(o, &n);
	if (!memmem(s, n, "\\u0000", 6)) {
		put_n(b, s, n);
		return;
	}
	struct crm_buf t = CRM_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			if (i + 5 < n && !memcmp(s + i + 1, "u0000", 5)) {
				crm_buf_adds(&t, "\\ufffd");
				i += 5;
			} else {
				crm_buf_add(&t, s + i, 2);
				i++;
			}
		} else
			crm_buf_addc(&t, s[i]);
	}
	put_n(b, t.s, t.len);
	crm_buf_free(&t);
}

static void
put_bool(struct crm_buf *b, int v)
{
	put(b, v < 0 ? NULL : v ? "t" : "f");
}

struct addr {
	char email[320];
	const char *name;
};

static int
read_addr(json_object *o, struct addr *a)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return 0;
	a->name = crm_get_str(o, "name");
	return norm_email(crm_get_str(o, "email"), a->email, sizeof a->email);
}

static const char *
domain_of(const char *email)
{
	const char *at = strrchr(email, '@');
	return at ? at + 1 : "";
}

struct ctx {
	char acct[320];          /* the account, when it is an address */
	int has_acct;
};

static int
internal(const struct crm_store *s, const struct ctx *x, const char *email)
{
	const char *d = domain_of(email);

	if (in_set(s->int_addr, email) || in_set(s->int_dom, d))
		return 1;
	if (x->has_acct && (!strcmp(email, x->acct) ||
	    (!strcmp(d, domain_of(x->acct)) && !is_webmail(s, d))))
		return 1;
	return 0;
}

static int
role_address(const struct crm_store *s, const char *email)
{
	char local[320];
	size_t n = (size_t)(domain_of(email) - 1 - email);

	if (n >= sizeof local)
		return 0;
	memcpy(local, email, n);
	local[n] = 0;
	return in_set(s->roles, local) || in_wild(&s->role_wild, local);
}

/* A display name worth keeping as a person's name. */
static const char *
person_name(const char *name)
{
	if (!name)
		return NULL;
	while (isspace((unsigned char)*name) || *name == '"' || *name == '\'')
		name++;
	if (!*name || strchr(name, '@'))
		return NULL;
	return name;
}

static size_t
astr(struct batch *B, const char *v)
{
	size_t off = B->astr.len;

	if (!v)
		return NONE;
	crm_buf_add(&B->astr, v, strlen(v) + 1);
	return off;
}

static void
addr_row(struct crm_store *s, struct batch *B, const struct addr *a,
    const char *company, const char *date, double when)
{
	const char *d = domain_of(a->email);

	if (B->npa == B->capa) {
		B->capa = B->capa ? B->capa * 2 : 1024;
		B->pa = crm_xrealloc(B->pa, B->capa * sizeof *B->pa);
	}
	struct paddr *p = &B->pa[B->npa++];
	p->email = astr(B, a->email);
	p->name = astr(B, person_name(a->name));
	p->domain = astr(B, is_webmail(s, d) ? NULL : d);
	p->company = astr(B, company);
	p->date = astr(B, date);
	p->when = when;
}

/* The row of one record, and its address rows.  On error returns -1 with
 * a static reason in *why and the buffers as they were. */
static int
stage(struct crm_store *s, struct batch *B, json_object *rec, const char **why)
{
	struct crm_buf *b;
	json_object *thread, *body, *intent, *sig, *ent, *enr, *route, *src, *refs, *to, *cc,
	    *att, *from, *v;
	const char *id, *account, *mid, *irt, *date, *subject, *text, *autov, *bad = NULL;
	size_t subject_len, text_len;
	static char msg[128];
	struct ctx x = { .has_acct = 0 };

	if (get_str(rec, "account", &account, NULL, &bad) < 0 || !account || !*account) {
		*why = "record has no \"account\"";
		return -1;
	}
	if (get_str(rec, "id", &id, NULL, &bad) < 0 || !id || !*id) {
		*why = "record has no \"id\"";
		return -1;
	}
	if (get_str(rec, "message_id", &mid, NULL, &bad) < 0 ||
	    get_str(rec, "in_reply_to", &irt, NULL, &bad) < 0 ||
	    get_str(rec, "date", &date, NULL, &bad) < 0 ||
	    get_str(rec, "subject", &subject, &subject_len, &bad) < 0 ||
	    get_str(rec, "text", &text, &text_len, &bad) < 0 ||
	    get_str(rec, "auto", &autov, NULL, &bad) < 0) {
		snprintf(msg, sizeof msg, "\"%s\" is not a string", bad);
		*why = msg;
		return -1;
	}
	if (get_obj(rec, "thread", &thread, &bad) < 0 || get_obj(rec, "body", &body, &bad) < 0 ||
	    get_obj(rec, "intent", &intent, &bad) < 0 || get_obj(rec, "signature", &sig, &bad) < 0 ||
	    get_obj(rec, "entities", &ent, &bad) < 0 || get_obj(rec, "enrichment", &enr, &bad) < 0 ||
	    get_obj(rec, "route", &route, &bad) < 0 || get_obj(rec, "source", &src, &bad) < 0 ||
	    get_obj(rec, "from", &from, &bad) < 0) {
		snprintf(msg, sizeof msg, "\"%s\" is not an object", bad);
		*why = msg;
		return -1;
	}
	if (get_arr(rec, "references", &refs, &bad) < 0 || get_arr(rec, "to", &to, &bad) < 0 ||
	    get_arr(rec, "cc", &cc, &bad) < 0 || get_arr(rec, "attachments", &att, &bad) < 0) {
		snprintf(msg, sizeof msg, "\"%s\" is not an array", bad);
		*why = msg;
		return -1;
	}
	if (date && !iso_date_ok(date)) {
		*why = "\"date\" is not an ISO-8601 date";
		return -1;
	}
	if (mid && !*mid)
		mid = NULL;

	/* the source and its cursor */
	const char *kind = crm_get_str(src, "kind"), *folder = crm_get_str(src, "folder"), *uniq = crm_get_str(src, "uniq");
	json_object *cursor = NULL, *seq_o = NULL;
	char seqbuf[64] = "";
	int has_cursor = src && json_object_object_get_ex(src, "cursor", &cursor);
	int has_seq = src && json_object_object_get_ex(src, "cursor_seq", &seq_o);
	if (has_cursor != has_seq) {
		*why = "\"source\" has a cursor without cursor_seq, or the reverse";
		return -1;
	}
	if (has_seq) {
		if (json_object_is_type(seq_o, json_type_int)) {
			snprintf(seqbuf, sizeof seqbuf, "%s", json_object_to_json_string(seq_o));
		} else if (json_object_is_type(seq_o, json_type_double) &&
		    isfinite(json_object_get_double(seq_o))) {
			snprintf(seqbuf, sizeof seqbuf, "%.17g", json_object_get_double(seq_o));
		} else if (json_object_is_type(seq_o, json_type_string) &&
		    json_object_get_string_len(seq_o) > 0 && json_object_get_string_len(seq_o) < 40 &&
		    strspn(json_object_get_string(seq_o), "0123456789") ==
		    (size_t)json_object_get_string_len(seq_o)) {
			snprintf(seqbuf, sizeof seqbuf, "%s", json_object_get_string(seq_o));
		} else {
			*why = "\"source.cursor_seq\" is not a number";
			return -1;
		}
		if (!kind) {
			*why = "\"source\" has a cursor but no \"kind\"";
			return -1;
		}
	}

	/* the stages' keys */
	const char *label = NULL;
	char confbuf[32] = "";
	if (intent) {
		label = crm_get_str(intent, "label");
		if (json_object_object_get_ex(intent, "confidence", &v) && v) {
			if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
				*why = "\"intent.confidence\" is not a number";
				return -1;
			}
			double c = json_object_get_double(v);
			if (!(c >= 0 && c <= 1)) {
				*why = "\"intent.confidence\" is not between 0 and 1";
				return -1;
			}
			snprintf(confbuf, sizeof confbuf, "%.6g", c);
		}
	}
	const char *reply = text;
	size_t reply_len = text_len;
	int forwarded = -1;
	if (body) {
		json_object *rv;
		if (json_object_object_get_ex(body, "reply", &rv) &&
		    json_object_is_type(rv, json_type_string)) {
			reply = json_object_get_string(rv);
			reply_len = (size_t)json_object_get_string_len(rv);
		}
		if (json_object_object_get_ex(body, "forwarded", &rv) &&
		    json_object_is_type(rv, json_type_boolean))
			forwarded = json_object_get_boolean(rv);
	}
	char sizebuf[24] = "";
	if (json_object_object_get_ex(rec, "size", &v) && v) {
		int64_t z = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || z < 0 || z > INT32_MAX) {
			*why = "\"size\" is not a size in bytes";
			return -1;
		}
		snprintf(sizebuf, sizeof sizebuf, "%lld", (long long)z);
	}

	double when = date ? iso_epoch(date) : -HUGE_VAL;

	/* who: our side or theirs */
	x.has_acct = norm_email(account, x.acct, sizeof x.acct);
	struct addr fa = { .email = "" };
	int from_ok = read_addr(from, &fa);
	int outbound = from_ok && internal(s, &x, fa.email);
	json_object *fields = NULL;
	if (sig)
		json_object_object_get_ex(sig, "fields", &fields);
	const char *company = fields && json_object_is_type(fields, json_type_object) ?
	    crm_get_str(fields, "company") : NULL;
	int skip_sender = autov && (!strcmp(autov, "bounce") || !strcmp(autov, "mailing_list"));
	const char *counterpart = NULL;
	struct addr cp = { .email = "" };

	if (from_ok && !outbound && !skip_sender && !role_address(s, fa.email)) {
		addr_row(s, B, &fa, company && *company ? company : NULL, date, when);
		cp = fa;
		counterpart = cp.email;
	}
	json_object *lists[2] = { to, cc };
	for (int l = 0; l < 2; l++) {
		size_t nl = lists[l] ? json_object_array_length(lists[l]) : 0;
		for (size_t i = 0; i < nl; i++) {
			struct addr a;
			if (!read_addr(json_object_array_get_idx(lists[l], i), &a))
				continue;
			if (internal(s, &x, a.email) || role_address(s, a.email))
				continue;
			if (from_ok && !strcmp(a.email, fa.email))
				continue;
			addr_row(s, B, &a, NULL, date, when);
			if (!counterpart && outbound) {
				cp = a;
				counterpart = cp.email;
			}
		}
	}

	/* the interactions columns (BODY_COLS), hashed: a stored row with the
	 * same hash needs no update */
	struct brec *r = &B->recs[B->n];
	b = &B->bodies;
	r->body_off = b->len;
	put(b, id);
	put(b, account);
	put(b, mid);
	put(b, irt && *irt ? irt : NULL);
	put_json(b, refs);
	put(b, crm_get_str(thread, "id"));
	put(b, date);
	put_n(b, subject, subject_len);
	put(b, from_ok ? crm_get_str(from, "name") : NULL);
	put(b, from_ok ? fa.email : crm_get_str(from, "email"));
	put_json(b, to);
	put_json(b, cc);
	put_bool(b, outbound);
	put_n(b, reply, reply_len);
	put_bool(b, forwarded);
	put(b, label);
	put(b, confbuf[0] ? confbuf : NULL);
	put_json(b, intent);
	put(b, autov);
	put_json(b, sig);
	put_json(b, ent);
	put_json(b, enr);
	put_json(b, route);
	put(b, crm_get_str(route, "assignee"));
	put_json(b, src);
	put_json(b, att);
	crm_copy_str(b, sizebuf[0] ? sizebuf : NULL);
	r->body_len = b->len - r->body_off;
	const void *hp[1] = { b->s + r->body_off };
	size_t hl[1] = { r->body_len };
	crm_sha256_hex(r->hash, 1, hp, hl);

	/* the crm_keys columns after seq and dup (KEY_COLS) */
	b = &B->keys;
	r->key_off = b->len;
	put(b, account);
	r->nk_off = B->nks.len;
	crm_buf_adds(&B->nks, account);
	crm_buf_addc(&B->nks, '\x1f');
	if (mid) {
		crm_buf_adds(b, "m:");
		put(b, mid);
		crm_buf_adds(&B->nks, "m:");
		crm_buf_adds(&B->nks, mid);
	} else {
		crm_buf_adds(b, "r:");
		put(b, id);
		crm_buf_adds(&B->nks, "r:");
		crm_buf_adds(&B->nks, id);
	}
	r->nk_len = B->nks.len - r->nk_off;
	put(b, counterpart);
	put(b, crm_get_str(thread, "id"));
	put(b, crm_get_str(thread, "root_message_id"));
	put(b, crm_get_str(thread, "subject"));
	put(b, kind);
	put(b, folder ? folder : "");
	if (has_cursor && !cursor)
		put(b, "null");   /* a JSON null cursor is still a cursor */
	else
		put_json(b, has_cursor ? cursor : NULL);
	put(b, seqbuf[0] ? seqbuf : NULL);
	crm_copy_str(b, kind && uniq && *uniq ? uniq : NULL);
	r->key_len = b->len - r->key_off;
	return 0;
}

/* The interactions columns a record fills, in the order of its body. */
#define BODY_COLS \
	"record_id, account, message_id, in_reply_to, refs, thread_id, date, subject, " \
	"from_name, from_email, to_addrs, cc_addrs, outbound, reply_text, forwarded, intent, " \
	"intent_confidence, intent_detail, auto, signature, entities, enrichment, route, " \
	"assignee, source, attachments, size"
#define ROW_COLS BODY_COLS ", content_hash, person_id, organisation_id"
#define KEY_COLS \
	"seq, dup, account, key, counterpart, thread_id, thread_root, thread_subject, " \
	"src_kind, src_folder, cursor, cursor_seq, seen_item"

/* crm_keys: one small row per record (keys, links, thread, cursor);
 * crm_stage_addr: the external addresses; crm_stage: whole rows, only for
 * messages already stored with other values. */
static const char SQL_TEMP[] =
    "create temp table if not exists crm_keys ("
    " seq integer not null, dup boolean not null, account text not null, key text not null,"
    " counterpart text, thread_id text, thread_root text, thread_subject text,"
    " src_kind text, src_folder text, cursor jsonb, cursor_seq numeric, seen_item text)";

static const char SQL_TEMP_ADDR[] =
    "create temp table if not exists crm_stage_addr ("
    " email text not null, name text, domain text, company text, last_date timestamptz,"
    " seq integer not null)";

static const char SQL_TEMP_STAGE[] =
    "create temp table if not exists crm_stage (seq integer not null,"
    " record_id text not null, account text not null, message_id text, in_reply_to text,"
    " refs jsonb, thread_id text, date timestamptz, subject text, from_name text,"
    " from_email text, to_addrs jsonb, cc_addrs jsonb, outbound boolean, reply_text text,"
    " forwarded boolean, intent text, intent_confidence real, intent_detail jsonb, auto text,"
    " signature jsonb, entities jsonb, enrichment jsonb, route jsonb, assignee text,"
    " source jsonb, attachments jsonb, size integer, content_hash text, person_id bigint,"
    " organisation_id bigint)";

static const char SQL_THREADS[] =
    "with t as ("
    " insert into email_threads as t (id, root_message_id, subject)"
    " select distinct on (thread_id) thread_id, thread_root, thread_subject"
    " from crm_keys where thread_id is not null order by thread_id, seq desc"
    " on conflict (id) do update set"
    "  root_message_id = coalesce(t.root_message_id, excluded.root_message_id),"
    "  subject = coalesce(t.subject, excluded.subject), updated_at = now()"
    " where (t.root_message_id is null and excluded.root_message_id is not null)"
    "  or (t.subject is null and excluded.subject is not null)"
    " returning (xmax = 0) as ins)"
    "select count(*) filter (where ins) from t";

static const char SQL_ORGS[] =
    "with o as ("
    " insert into organisations (name, domain, source)"
    " select distinct on (domain) coalesce(company, domain), domain, 'mail'"
    " from crm_stage_addr where domain is not null"
    " order by domain, (company is null), seq"
    " on conflict (domain) do nothing returning 1)"
    "select count(*) from o";

static const char SQL_PEOPLE[] =
    "with p as ("
    " insert into people as p (email, full_name, organisation_id, last_contact_at, source)"
    " select c.email, c.name, o.id, c.last_date, 'mail'"
    " from crm_stage_addr c"
    " left join lateral (select id from organisations where domain = c.domain limit 1) o on true"
    " where not exists (select 1 from people q"
    "  where q.other_emails <> '{}' and q.other_emails @> array[c.email])"
    " order by c.email"
    " on conflict (email) do update set"
    "  last_contact_at = greatest(p.last_contact_at, excluded.last_contact_at),"
    "  full_name = coalesce(p.full_name, excluded.full_name),"
    "  organisation_id = coalesce(p.organisation_id, excluded.organisation_id)"
    " where p.last_contact_at is distinct from greatest(p.last_contact_at, excluded.last_contact_at)"
    "  or (p.full_name is null and excluded.full_name is not null)"
    "  or (p.organisation_id is null and excluded.organisation_id is not null)"
    " returning (xmax = 0) as ins),"
    "a as ("
    " update people p set last_contact_at = c.last_date"
    " from crm_stage_addr c where p.other_emails <> '{}' and p.other_emails @> array[c.email]"
    "  and c.last_date > coalesce(p.last_contact_at, '-infinity')"
    " returning 1)"
    "select (select count(*) filter (where ins) from p),"
    " (select count(*) filter (where not ins) from p) + (select count(*) from a)";

/* For each record: is it stored, with which content, and who is the other
 * party (person, organisation)? */
/* Every join is a lateral lookup by key ("limit 1" keeps the planner from
 * turning it back into a hash join over the whole table), so that the
 * cost of a batch does not grow with the size of the tables. */
static const char SQL_LOOKUP[] =
    "select k.seq, coalesce(i.found, false), i.content_hash, coalesce(p.id, pa.id),"
    " coalesce(p.organisation_id, pa.organisation_id, o.id)"
    " from crm_keys k"
    " left join lateral (select true as found, content_hash from interactions"
    "  where account = k.account and natural_key = k.key limit 1) i on true"
    " left join lateral (select id, organisation_id from people"
    "  where email = k.counterpart limit 1) p on true"
    " left join lateral (select id, organisation_id from people q"
    "  where p.id is null and k.counterpart is not null"
    "  and q.other_emails <> '{}' and q.other_emails @> array[k.counterpart]"
    "  order by id limit 1) pa on true"
    " left join lateral (select id from organisations"
    "  where domain = split_part(k.counterpart, '@', 2) limit 1) o on true"
    " where not k.dup";

#define KEY(t) "coalesce('m:' || " t ".message_id, 'r:' || " t ".record_id)"

/* Messages stored before with other values: merge.  A key the record does
 * not have keeps the stored value. */
static const char SQL_UPSERT[] =
    "with old as ("
    " select distinct i.thread_id from crm_stage s join interactions i"
    "  on i.account = s.account and i.natural_key = " KEY("s")
    " where s.thread_id is not null and i.thread_id is not null and i.thread_id <> s.thread_id),"
    "up as ("
    " insert into interactions as i (" ROW_COLS ")"
    " select " ROW_COLS " from crm_stage s order by s.account, " KEY("s")
    " on conflict (account, natural_key) do update set"
    "  record_id = excluded.record_id,"
    "  in_reply_to = coalesce(excluded.in_reply_to, i.in_reply_to),"
    "  refs = coalesce(excluded.refs, i.refs),"
    "  thread_id = coalesce(excluded.thread_id, i.thread_id),"
    "  date = coalesce(excluded.date, i.date),"
    "  subject = coalesce(excluded.subject, i.subject),"
    "  from_name = coalesce(excluded.from_name, i.from_name),"
    "  from_email = coalesce(excluded.from_email, i.from_email),"
    "  to_addrs = coalesce(excluded.to_addrs, i.to_addrs),"
    "  cc_addrs = coalesce(excluded.cc_addrs, i.cc_addrs),"
    "  outbound = excluded.outbound,"
    "  reply_text = coalesce(excluded.reply_text, i.reply_text),"
    "  forwarded = coalesce(excluded.forwarded, i.forwarded),"
    "  intent = coalesce(excluded.intent, i.intent),"
    "  intent_confidence = coalesce(excluded.intent_confidence, i.intent_confidence),"
    "  intent_detail = coalesce(excluded.intent_detail, i.intent_detail),"
    "  auto = coalesce(excluded.auto, i.auto),"
    "  signature = coalesce(excluded.signature, i.signature),"
    "  entities = coalesce(excluded.entities, i.entities),"
    "  enrichment = coalesce(excluded.enrichment, i.enrichment),"
    "  route = coalesce(excluded.route, i.route),"
    "  assignee = coalesce(excluded.assignee, i.assignee),"
    "  source = coalesce(excluded.source, i.source),"
    "  attachments = coalesce(excluded.attachments, i.attachments),"
    "  size = coalesce(excluded.size, i.size),"
    "  person_id = coalesce(i.person_id, excluded.person_id),"
    "  organisation_id = coalesce(i.organisation_id, excluded.organisation_id),"
    "  content_hash = excluded.content_hash,"
    "  updated_at = now()"
    " where (i.record_id, i.in_reply_to, i.refs, i.thread_id, i.date, i.subject, i.from_name,"
    "  i.from_email, i.to_addrs, i.cc_addrs, i.outbound, i.reply_text, i.forwarded, i.intent,"
    "  i.intent_confidence, i.intent_detail, i.auto, i.signature, i.entities, i.enrichment,"
    "  i.route, i.assignee, i.source, i.attachments, i.size, i.person_id, i.organisation_id)"
    "  is distinct from (excluded.record_id, coalesce(excluded.in_reply_to, i.in_reply_to),"
    "  coalesce(excluded.refs, i.refs), coalesce(excluded.thread_id, i.thread_id),"
    "  coalesce(excluded.date, i.date), coalesce(excluded.subject, i.subject),"
    "  coalesce(excluded.from_name, i.from_name), coalesce(excluded.from_email, i.from_email),"
    "  coalesce(excluded.to_addrs, i.to_addrs), coalesce(excluded.cc_addrs, i.cc_addrs),"
    "  excluded.outbound, coalesce(excluded.reply_text, i.reply_text),"
    "  coalesce(excluded.forwarded, i.forwarded), coalesce(excluded.intent, i.intent),"
    "  coalesce(excluded.intent_confidence, i.intent_confidence),"
    "  coalesce(excluded.intent_detail, i.intent_detail), coalesce(excluded.auto, i.auto),"
    "  coalesce(excluded.signature, i.signature), coalesce(excluded.entities, i.entities),"
    "  coalesce(excluded.enrichment, i.enrichment), coalesce(excluded.route, i.route),"
    "  coalesce(excluded.assignee, i.assignee), coalesce(excluded.source, i.source),"
    "  coalesce(excluded.attachments, i.attachments), coalesce(excluded.size, i.size),"
    "  coalesce(i.person_id, excluded.person_id),"
    "  coalesce(i.organisation_id, excluded.organisation_id))"
    " returning (xmax = 0) as ins)"
    "select (select count(*) filter (where ins) from up),"
    " (select count(*) filter (where not ins) from up),"
    " (select coalesce(array_agg(thread_id), '{}') from old)";

/* Lock the batch's threads in key order, then recount them from a fresh
 * snapshot: a concurrent loader's messages are then counted too. */
static const char SQL_THREAD_LOCK[] =
    "select 1 from email_threads where id in (select thread_id from crm_keys)"
    " or id = any($1::text[]) order by id for update";

static const char SQL_THREAD_STATS[] =
    "update email_threads t set message_count = c.n, first_message_at = c.f,"
    " last_message_at = c.l, updated_at = now()"
    " from (select thread_id, count(*) as n, min(date) as f, max(date) as l"
    "  from interactions where thread_id in (select thread_id from crm_keys)"
    "  or thread_id = any($1::text[]) group by thread_id) c"
    " where t.id = c.thread_id"
    " and (t.message_count, t.first_message_at, t.last_message_at) is distinct from (c.n, c.f, c.l)";

static const char SQL_CURSOR[] =
    "with c as ("
    " insert into sync_state as st (account, kind, folder, cursor, cursor_seq)"
    " select distinct on (account, src_kind, src_folder) account, src_kind, src_folder,"
    "  cursor, cursor_seq"
    " from crm_keys where cursor_seq is not null"
    " order by account, src_kind, src_folder, cursor_seq desc"
    " on conflict (account, kind, folder) do update set cursor = excluded.cursor,"
    "  cursor_seq = excluded.cursor_seq, updated_at = now()"
    " where excluded.cursor_seq > st.cursor_seq returning 1)"
    "select count(*) from c";

static const char SQL_SEEN[] =
    "insert into sync_seen (account, kind, folder, item)"
    " select distinct account, src_kind, src_folder, seen_item from crm_keys"
    " where seen_item is not null and src_kind is not null order by 1, 2, 3, 4"
    " on conflict do nothing";

/* ---- batches ---- */

struct counts {
	unsigned long inserted, updated, people_new, people_updated, orgs_new, threads, cursors;
};

enum { B_OK, B_RETRY, B_DATA };

static unsigned long
ul(PGresult *r, int col)
{
	return strtoul(PQgetvalue(r, 0, col), NULL, 10);
}

/* Run one step; on failure classify it and keep the result in *err. */
static int
step(struct crm_store *s, const char *sql, int n, const char *const *p, PGresult **res,
    PGresult **err)
{
	PGresult *r = crm_db_exec(s->c, sql, n, p);

	if (crm_db_ok(r)) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return B_OK;
	}
	if (crm_db_lost(s->c, r))
		crm_db_die(s->c, r, "storing a batch");
	*err = r;
	return crm_db_retryable(r) ? B_RETRY : B_DATA;
}

/* COPY a buffer; a unique violation means that another loader stored one
 * of these messages since we looked: do the batch again. */
static int
copy_in(struct crm_store *s, const char *sql, const struct crm_buf *b, PGresult **err)
{
	PGresult *r;

	if (!b->len)
		return B_OK;
	if (!(r = crm_db_copy_in(s->c, sql, b->s, b->len)))
		return B_OK;
	if (crm_db_lost(s->c, r))
		crm_db_die(s->c, r, "storing a batch");
	*err = r;
	if (!strcmp(crm_db_sqlstate(r), "23505"))
		return B_RETRY;
	return crm_db_retryable(r) ? B_RETRY : B_DATA;
}

/* One message's interactions row: its body, hash and links. */
static void
row(struct crm_buf *b, const struct batch *B, const struct brec *r)
{
	crm_buf_add(b, B->bodies.s + r->body_off, r->body_len);
	crm_copy_sep(b);
	crm_buf_adds(b, r->hash);
	crm_copy_sep(b);
	crm_buf_adds(b, r->pid[0] ? r->pid : "\\N");
	crm_copy_sep(b);
	crm_buf_adds(b, r->oid[0] ? r->oid : "\\N");
	crm_copy_end(b);
}

/* The external addresses of records [from, to), one row per address: its
 * latest name, its latest date, and the company of the first message that
 * names one (for a new organisation). */
struct agg {
	const struct paddr *p;
	size_t name, date, company, seq;
	double name_when, last;
};

static void
addresses(struct batch *B, size_t from, size_t to, struct crm_buf *out)
{
	json_object *idx = json_object_new_object();
	struct agg *ag = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = from; i < to; i++)
		for (size_t j = B->recs[i].pa0; j < B->recs[i].pa1; j++) {
			const struct paddr *p = &B->pa[j];
			const char *email = B->astr.s + p->email;
			json_object *v;
			struct agg *a;
			if (json_object_object_get_ex(idx, email, &v)) {
				a = &ag[json_object_get_int(v)];
			} else {
				if (n == cap) {
					cap = cap ? cap * 2 : 256;
					ag = crm_xrealloc(ag, cap * sizeof *ag);
				}
				json_object_object_add(idx, email, json_object_new_int((int)n));
				a = &ag[n++];
				*a = (struct agg){ .p = p, .name = NONE, .date = NONE, .company = NONE,
				    .seq = i, .name_when = -HUGE_VAL, .last = -HUGE_VAL };
			}
			if (p->name != NONE && (a->name == NONE || p->when >= a->name_when)) {
				a->name = p->name;
				a->name_when = p->when;
			}
			if (p->date != NONE && (a->date == NONE || p->when > a->last)) {
				a->date = p->date;
				a->last = p->when;
			}
			if (p->company != NONE && a->company == NONE) {
				a->company = p->company;
				a->seq = i;
			}
		}
	for (size_t k = 0; k < n; k++) {
		const struct agg *a = &ag[k];
		put(out, B->astr.s + a->p->email);
		put(out, a->name == NONE ? NULL : B->astr.s + a->name);
		put(out, a->p->domain == NONE ? NULL : B->astr.s + a->p->domain);
		put(out, a->company == NONE ? NULL : B->astr.s + a->company);
		put(out, a->date == NONE ? NULL : B->astr.s + a->date);
		crm_buf_printf(out, "%zu\n", a->seq);
	}
	free(ag);
	json_object_put(idx);
}

static int
exec_batch(struct crm_store *s, struct batch *B, size_t from, size_t to, struct counts *k,
    PGresult **err)
{
	struct crm_buf kb = CRM_BUF_INIT, ab = CRM_BUF_INIT, fast = CRM_BUF_INIT,
	    slow = CRM_BUF_INIT;
	json_object *keys = json_object_new_object();
	char *old = NULL;
	PGresult *r = NULL;
	int rc;

	memset(k, 0, sizeof *k);
	/* the same message twice in the range: the last one wins */
	for (size_t i = to; i-- > from;) {
		struct brec *b = &B->recs[i];
		char *nk = crm_xstrndup(B->nks.s + b->nk_off, b->nk_len);
		b->dup = in_set(keys, nk);
		if (!b->dup)
			set_add(keys, nk);
		free(nk);
		b->exists = b->same = 0;
		b->pid[0] = b->oid[0] = 0;
	}
	for (size_t i = from; i < to; i++) {
		const struct brec *b = &B->recs[i];
		crm_buf_printf(&kb, "%zu\t%s\t", i, b->dup ? "t" : "f");
		crm_buf_add(&kb, B->keys.s + b->key_off, b->key_len);
		crm_copy_end(&kb);
	}
	addresses(B, from, to, &ab);

	if ((rc = step(s, "truncate crm_keys, crm_stage_addr, crm_stage", 0, NULL, NULL, err)) ||
	    (rc = copy_in(s, "copy crm_keys (" KEY_COLS ") from stdin", &kb, err)) ||
	    (rc = copy_in(s, "copy crm_stage_addr (email, name, domain, company, last_date, seq)"
		" from stdin", &ab, err)))
		goto out;
	if ((rc = step(s, SQL_THREADS, 0, NULL, &r, err)))
		goto out;
	k->threads = ul(r, 0);
	PQclear(r);
	if ((rc = step(s, SQL_ORGS, 0, NULL, &r, err)))
		goto out;
	k->orgs_new = ul(r, 0);
	PQclear(r);
	if ((rc = step(s, SQL_PEOPLE, 0, NULL, &r, err)))
		goto out;
	k->people_new = ul(r, 0);
	k->people_updated = ul(r, 1);
	PQclear(r);

	/* which messages are new, which changed, and their links */
	if ((rc = step(s, SQL_LOOKUP, 0, NULL, &r, err)))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		size_t seq = strtoul(PQgetvalue(r, i, 0), NULL, 10);
		if (seq < from || seq >= to)
			continue;
		struct brec *b = &B->recs[seq];
		b->exists = PQgetvalue(r, i, 1)[0] == 't';
		b->same = b->exists && !strcmp(PQgetvalue(r, i, 2), b->hash);
		snprintf(b->pid, sizeof b->pid, "%s", PQgetvalue(r, i, 3));
		snprintf(b->oid, sizeof b->oid, "%s", PQgetvalue(r, i, 4));
	}
	PQclear(r);
	for (size_t i = from; i < to; i++) {
		const struct brec *b = &B->recs[i];
		if (b->dup || b->same)
			continue;
		if (!b->exists) {
			row(&fast, B, b);
			k->inserted++;
		} else {
			crm_buf_printf(&slow, "%zu\t", i);
			row(&slow, B, b);
		}
	}
	/* new messages go straight in: this is the plain COPY */
	if ((rc = copy_in(s, "copy interactions (" ROW_COLS ") from stdin", &fast, err)))
		goto out;
	if (slow.len) {
		if ((rc = copy_in(s, "copy crm_stage (seq, " ROW_COLS ") from stdin", &slow, err)) ||
		    (rc = step(s, SQL_UPSERT, 0, NULL, &r, err)))
			goto out;
		k->inserted += ul(r, 0);
		k->updated = ul(r, 1);
		old = crm_xstrdup(PQgetvalue(r, 0, 2));
		PQclear(r);
	}
	const char *p[1] = { old ? old : "{}" };
	if ((rc = step(s, SQL_THREAD_LOCK, 1, p, NULL, err)) ||
	    (rc = step(s, SQL_THREAD_STATS, 1, p, NULL, err)))
		goto out;
	if ((rc = step(s, SQL_CURSOR, 0, NULL, &r, err)))
		goto out;
	k->cursors = ul(r, 0);
	PQclear(r);
	rc = step(s, SQL_SEEN, 0, NULL, NULL, err);
out:
	free(old);
	json_object_put(keys);
	crm_buf_free(&kb);
	crm_buf_free(&ab);
	crm_buf_free(&fast);
	crm_buf_free(&slow);
	return rc;
}

static int
begin(struct crm_store *s)
{
	PGresult *r = crm_db_exec(s->c, s->o.dry_run ? "savepoint crm_batch" : "begin", 0, NULL);
	int ok = crm_db_ok(r);
	if (!ok)
		crm_db_die(s->c, r, "starting a transaction");
	PQclear(r);
	return 0;
}

static void
undo(struct crm_store *s)
{
	if (crm_db_lost(s->c, NULL))
		crm_db_die(s->c, NULL, "storing a batch");
	PGresult *r = crm_db_exec(s->c, s->o.dry_run ? "rollback to savepoint crm_batch" : "rollback",
	    0, NULL);
	if (!crm_db_ok(r))
		crm_db_die(s->c, r, "rolling back");
	PQclear(r);
}

static int
end(struct crm_store *s, PGresult **err)
{
	if (s->o.dry_run) {
		PGresult *r = crm_db_exec(s->c, "release savepoint crm_batch", 0, NULL);
		if (crm_db_ok(r)) {
			PQclear(r);
			return B_OK;
		}
		*err = r;
		return B_DATA;
	}
	if (crm_db_commit(s->c, err) == 0)
		return B_OK;
	if (crm_db_lost(s->c, *err))
		crm_db_die(s->c, *err, "committing a batch");
	return crm_db_retryable(*err) ? B_RETRY : B_DATA;
}

/* Store records [from, to) in one transaction, retrying deadlocks.
 * Returns 0, or -1 with the database's reason in *why (static). */
static int
write_range(struct crm_store *s, struct batch *B, size_t from, size_t to, const char **why)
{
	static char msg[512];
	struct counts k;

	for (int attempt = 0;; attempt++) {
		PGresult *err = NULL;
		begin(s);
		int rc = exec_batch(s, B, from, to, &k, &err);
		if (rc == B_OK)
			rc = end(s, &err);
		else
			undo(s);
		if (rc == B_OK) {
			s->st.records += to - from;
			s->st.inserted += k.inserted;
			s->st.updated += k.updated;
			s->st.unchanged += (to - from) - k.inserted - k.updated;
			s->st.people_new += k.people_new;
			s->st.people_updated += k.people_updated;
			s->st.orgs_new += k.orgs_new;
			s->st.threads += k.threads;
			s->st.cursors += k.cursors;
			return 0;
		}
		if (rc == B_RETRY && attempt < MAX_RETRIES) {
			crm_debug("batch: %s; retrying", crm_db_errmsg(s->c, err));
			PQclear(err);
			s->st.retries++;
			crm_db_backoff(attempt, 10, 50);
			continue;
		}
		if (rc == B_RETRY)
			crm_die(CRM_EXIT_ENV, "database: %s, still after %d attempts",
			    crm_db_errmsg(s->c, err), MAX_RETRIES);
		snprintf(msg, sizeof msg, "%s", crm_db_errmsg(s->c, err));
		PQclear(err);
		*why = msg;
		return -1;
	}
}

/* Store [from, to); when the database refuses it for a data reason, split
 * it in halves until the guilty records are alone.  Those are noted in the
 * batch, and reported by the main thread. */
static void
store_range(struct crm_store *s, struct batch *B, size_t from, size_t to)
{
	const char *why;

	if (write_range(s, B, from, to, &why) == 0)
		return;
	if (to - from == 1) {
		if (B->nrej == B->caprej) {
			B->caprej = B->caprej ? B->caprej * 2 : 8;
			B->rej = crm_xrealloc(B->rej, B->caprej * sizeof *B->rej);
		}
		B->rej[B->nrej].i = from;
		B->rej[B->nrej++].why = crm_xstrdup(why);
		return;
	}
	crm_debug("records %zu..%zu refused (%s); splitting", from, to - 1, why);
	store_range(s, B, from, from + (to - from) / 2);
	store_range(s, B, from + (to - from) / 2, to);
}

/* The writer thread: it alone uses the connection while it runs.  A fatal
 * database error exits the process from here (exit 3): what was committed
 * stays, the batch being written is rolled back by PostgreSQL. */
static void *
writer(void *arg)
{
	struct crm_store *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->job && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->job)
			break;
		struct batch *B = s->job;
		pthread_mutex_unlock(&s->mu);
		store_range(s, B, 0, B->n);
		pthread_mutex_lock(&s->mu);
		s->job = NULL;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Wait until the writer is idle. */
static void
wait_writer(struct crm_store *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->job)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

/* Report what the database refused in a written batch, then empty it. */
static void
reclaim(struct batch *B)
{
	for (size_t k = 0; k < B->nrej; k++) {
		const struct brec *b = &B->recs[B->rej[k].i];
		crm_reject_raw(b->input, b->lineno, B->lines.s + b->line_off, b->line_len,
		    "the database refused the record: %s", B->rej[k].why);
		free(B->rej[k].why);
	}
	B->nrej = 0;
	B->n = 0;
	crm_buf_reset(&B->bodies);
	crm_buf_reset(&B->keys);
	crm_buf_reset(&B->nks);
	crm_buf_reset(&B->astr);
	B->npa = 0;
	crm_buf_reset(&B->lines);
}

/* Hand the batch being filled to the writer and fill the other one. */
static void
flush(struct crm_store *s)
{
	struct batch *B = s->fill;

	if (!B->n)
		return;
	if (!s->started) {
		if (pthread_create(&s->writer, NULL, writer, s))
			crm_die(CRM_EXIT_ENV, "cannot start the writer thread");
		s->started = 1;
	}
	wait_writer(s);
	struct batch *other = B == &s->b[0] ? &s->b[1] : &s->b[0];
	reclaim(other);
	pthread_mutex_lock(&s->mu);
	s->job = B;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	s->fill = other;
}

/* ---- public ---- */

struct crm_store *
crm_store_new(PGconn *c, const struct crm_store_opts *o)
{
	struct crm_store *s = crm_xcalloc(1, sizeof *s);
	const char *extra;

	s->c = c;
	s->o = *o;
	s->fill = &s->b[0];
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (s->o.batch < 1)
		s->o.batch = 1000;
	s->webmail = json_object_new_object();
	s->roles = json_object_new_object();
	s->int_dom = json_object_new_object();
	s->int_addr = json_object_new_object();
	load_list(crm_rules_path("webmail-domains.txt"), s->webmail, &s->webmail_wild);
	load_list(crm_rules_path("role-addresses.txt"), s->roles, &s->role_wild);
	if ((extra = crm_config_get("webmail_domains")))
		add_words(s->webmail, extra);
	if ((extra = crm_config_get("internal_domains")))
		add_words(s->int_dom, extra);
	for (const char *const *d = o->internal; d && *d; d++)
		add_words(s->int_dom, *d);
	load_internal(s);
	PQclear(crm_db_must(c, "set client_min_messages = warning", 0, NULL));
	/* the staging tables live in local buffers: room for a whole batch */
	PQclear(crm_db_must(c, "set temp_buffers = '64MB'", 0, NULL));
	PQclear(crm_db_must(c, SQL_TEMP, 0, NULL));
	PQclear(crm_db_must(c, SQL_TEMP_ADDR, 0, NULL));
	PQclear(crm_db_must(c, SQL_TEMP_STAGE, 0, NULL));
	if (s->o.dry_run)
		PQclear(crm_db_must(c, "begin", 0, NULL));
	srand((unsigned)getpid());
	return s;
}

static const char *
intern(struct crm_store *s, const char *input)
{
	if (s->ninputs && !strcmp(s->inputs[s->ninputs - 1], input))
		return s->inputs[s->ninputs - 1];
	s->inputs = crm_xrealloc(s->inputs, (s->ninputs + 1) * sizeof *s->inputs);
	return s->inputs[s->ninputs++] = crm_xstrdup(input);
}

static void
truncate_to(struct crm_buf *b, size_t len)
{
	b->len = len;
	if (b->s)
		b->s[len] = 0;
}

int
crm_store_add(struct crm_store *s, const struct crm_rec *r)
{
	struct batch *B = s->fill;
	size_t body0 = B->bodies.len, key0 = B->keys.len, nk0 = B->nks.len;
	size_t astr0 = B->astr.len, pa0 = B->npa;
	const char *why = NULL;

	if (B->n == B->cap) {
		B->cap = B->cap ? B->cap * 2 : 256;
		B->recs = crm_xrealloc(B->recs, B->cap * sizeof *B->recs);
	}
	if (stage(s, B, r->obj, &why) < 0) {
		truncate_to(&B->bodies, body0);
		truncate_to(&B->keys, key0);
		truncate_to(&B->nks, nk0);
		truncate_to(&B->astr, astr0);
		B->npa = pa0;
		crm_reject(r, "%s", why);
		return -1;
	}
	struct brec *b = &B->recs[B->n++];
	b->input = intern(s, r->input);
	b->lineno = r->lineno;
	b->line_off = B->lines.len;
	b->line_len = r->len;
	crm_buf_add(&B->lines, r->line, r->len);
	b->pa0 = pa0;
	b->pa1 = B->npa;
	if ((long)B->n >= s->o.batch || B->bodies.len + B->lines.len > BATCH_BYTES)
		flush(s);
	return 0;
}

void
crm_store_finish(struct crm_store *s)
{
	flush(s);
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		while (s->job)
			pthread_cond_wait(&s->cv, &s->mu);
		s->quit = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->writer, NULL);
		s->started = 0;
	}
	reclaim(&s->b[0]);
	reclaim(&s->b[1]);
	if (s->o.dry_run)
		PQclear(crm_db_must(s->c, "rollback", 0, NULL));
}


const struct crm_store_stats *
crm_store_stats(const struct crm_store *s)
{
	return &s->st;
}

void
crm_store_free(struct crm_store *s)
{
	if (!s)
		return;
	json_object_put(s->webmail);
	json_object_put(s->roles);
	json_object_put(s->int_dom);
	json_object_put(s->int_addr);
	for (size_t i = 0; i < s->webmail_wild.n; i++)
		free(s->webmail_wild.v[i]);
	for (size_t i = 0; i < s->role_wild.n; i++)
		free(s->role_wild.v[i]);
	free(s->webmail_wild.v);
	free(s->role_wild.v);
	for (size_t i = 0; i < s->ninputs; i++)
		free(s->inputs[i]);
	free(s->inputs);
	for (int k = 0; k < 2; k++) {
		struct batch *B = &s->b[k];
		for (size_t i = 0; i < B->nrej; i++)
			free(B->rej[i].why);
		free(B->rej);
		free(B->recs);
		free(B->pa);
		crm_buf_free(&B->bodies);
		crm_buf_free(&B->keys);
		crm_buf_free(&B->nks);
		crm_buf_free(&B->astr);
		crm_buf_free(&B->lines);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

json_object *
crm_seen_load(PGconn *c, const char *account, const char *kind, const char *folder)
{
	const char *p[3] = { account, kind, folder };
	PGresult *r = crm_db_must(c, "select item from sync_seen where account = $1 and kind = $2"
	    " and folder = $3", 3, p);
	json_object *set = json_object_new_object();

	for (int i = 0; i < PQntuples(r); i++)
		json_object_object_add(set, PQgetvalue(r, i, 0), NULL);
	PQclear(r);
	return set;
}

struct crm_seen {
	PGconn *c;
	char *account, *kind;
	json_object *folders;    /* folder -> set of items */
};

struct crm_seen *
crm_seen_new(PGconn *c, const char *account, const char *kind)
{
	struct crm_seen *s = crm_xcalloc(1, sizeof *s);

	s->c = c;
	s->account = crm_xstrdup(account);
	s->kind = crm_xstrdup(kind);
	s->folders = json_object_new_object();
	return s;
}

int
crm_seen_has(struct crm_seen *s, const char *folder, const char *item)
{
	json_object *set;

	if (!json_object_object_get_ex(s->folders, folder, &set)) {
		set = crm_seen_load(s->c, s->account, s->kind, folder);
		crm_debug("%s: %d messages already stored", folder, json_object_object_length(set));
		json_object_object_add(s->folders, folder, set);
	}
	return json_object_object_get_ex(set, item, NULL);
}

void
crm_seen_free(struct crm_seen *s)
{
	if (!s)
		return;
	json_object_put(s->folders);
	free(s->account);
	free(s->kind);
	free(s);
}

void
crm_maildir_item(const char *name, char *out, size_t size)
{
	const char *slash = strrchr(name, '/');
	size_t n;

	if (slash)
		name = slash + 1;
	n = strcspn(name, ":");
	if (n >= size)
		n = size - 1;
	memcpy(out, name, n);
	out[n] = 0;
}
