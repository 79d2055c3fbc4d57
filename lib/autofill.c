/* autofill.c — the autofill engine (see autofill.h, crm-autofill(1)).
 *
 * Why it is built this way: the target is thousands of interactions a
 * second, so nothing is done row by row.  A batch of interactions is
 * claimed with one statement that deletes the oldest ids of the queue
 * autofill_todo it can lock (FOR UPDATE SKIP LOCKED: two runs never see
 * the same interaction) and logs them in autofill_done; their signatures
 * and enrichment are read here in C into proposals, the proposals go into
 * autofill_evidence in one statement, and the entities they concern are
 * locked in id order (two runs touching the same person wait for each
 * other instead of both filling the field).  Then the whole evidence of
 * those entities is read back once, scored here, and the decisions are
 * written by a handful of set-based statements.  One transaction per
 * batch; a deadlock or serialization failure rolls the batch back and
 * retries it.
 *
 * Where the time went, and what was done about it (tests/bench/70-autofill.sh,
 * sql/031): the interactions row is never written.  Marking it (the old
 * autofilled_at) was never a HOT update and wrote an entry in each of its
 * nine indexes; the queue and the log are narrow tables.  Evidence has no
 * foreign keys to check row by row (triggers do their deletes), goes in as
 * arrays rather than JSON (four times cheaper for the server to read),
 * and with a plain INSERT: the upsert, a third of the insert time, is only
 * run when a message's evidence is there already.  It comes back in
 * binary.  Here, each evidence row is parsed once and sorted by numbers,
 * and a value's comparison form is only made for a spelling not seen
 * before in its group.  What remains: the server reads back the evidence
 * of every entity a batch touches (a person with a year of mail has it
 * read by every batch that has their mail) and reads the messages; here,
 * json-c parses the signatures and libpq the evidence.
 *
 * People stay in control: a value is only ever written into an empty
 * field whose provenance is not a person's (sql/030's trigger marks
 * manual edits), an existing different value becomes a suggestion, every
 * write is audited with the provenance it replaced, and values people
 * rejected or undid are never proposed again for that field. */
#include "autofill.h"
#include "config.h"
#include "exitcode.h"
#include "fold.h"
#include "jsonl.h"
#include "learn.h"
#include "log.h"
#include "phone.h"

#include <ctype.h>
#include <endian.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RETRIES 10
#define MAX_VALUE 500              /* longest value proposed (bytes) */
#define SENDER_MISMATCH 0.80       /* a card that is not the sender's */
#define WEBSITE_ELSEWHERE 0.85     /* a website on another domain than the firm's */
#define DAY 86400.0

/* ---- fields ---- */

static const struct {
	const char *name;
	int entity;
} fields[CRM_AF_NFIELDS] = {
	{ "title", CRM_AF_PERSON },
	{ "phone", CRM_AF_PERSON },
	{ "mobile", CRM_AF_PERSON },
	{ "linkedin_url", CRM_AF_PERSON },
	{ "website", CRM_AF_ORG },
	{ "main_phone", CRM_AF_ORG },
	{ "address", CRM_AF_ORG },
	{ "email", CRM_AF_ORG },
};

const char *
crm_af_field_name(int f)
{
	return f >= 0 && f < CRM_AF_NFIELDS ? fields[f].name : "?";
}

int
crm_af_field_entity(int f)
{
	return fields[f].entity;
}

int
crm_af_field_find(int entity, const char *name)
{
	for (int f = 0; name && f < CRM_AF_NFIELDS; f++)
		if ((entity < 0 || fields[f].entity == entity) && !strcmp(fields[f].name, name))
			return f;
	return -1;
}

const char *
crm_af_entity_name(int e)
{
	return e == CRM_AF_ORG ? "organisation" : "person";
}

const char *
crm_af_entity_table(int e)
{
	return e == CRM_AF_ORG ? "organisations" : "people";
}

int
crm_af_entity_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "person") || !strcmp(s, "people"))
		return CRM_AF_PERSON;
	if (!strcmp(s, "organisation") || !strcmp(s, "organization") || !strcmp(s, "org") ||
	    !strcmp(s, "organisations"))
		return CRM_AF_ORG;
	return -1;
}

/* ---- comparison forms ---- */

static int
is_phone_field(int f)
{
	return f == CRM_AF_PHONE || f == CRM_AF_MOBILE || f == CRM_AF_MAIN_PHONE;
}

/* "https://www.Example.com/" -> "example.com" */
static void
norm_web(const char *v, struct crm_buf *out)
{
	size_t start = out->len;

	while (isspace((unsigned char)*v))
		v++;
	if (!strncasecmp(v, "https://", 8))
		v += 8;
	else if (!strncasecmp(v, "http://", 7))
		v += 7;
	if (!strncasecmp(v, "www.", 4))
		v += 4;
	for (; *v && !isspace((unsigned char)*v); v++)
		crm_buf_addc(out, (char)tolower((unsigned char)*v));
	while (out->len > start && out->s[out->len - 1] == '/')
		out->s[--out->len] = 0;
}

/* Folded text, words of letters and digits separated by one space. */
static void
norm_text(const char *v, struct crm_buf *out)
{
	struct crm_buf f = CRM_BUF_INIT;
	int space = 0;
	size_t start = out->len;

	crm_fold(&f, v, strlen(v), 0);
	for (size_t i = 0; i < f.len; i++) {
		unsigned char ch = (unsigned char)f.s[i];
		if (isalnum(ch) || ch >= 0x80) {
			if (space && out->len > start)
				crm_buf_addc(out, ' ');
			space = 0;
			crm_buf_addc(out, (char)ch);
		} else
			space = 1;
	}
	crm_buf_free(&f);
}

void
crm_af_norm(int field, const char *v, struct crm_buf *out)
{
	char e164[CRM_PHONE_MAX];

	if (!v)
		return;
	if (is_phone_field(field)) {
		if (crm_phone_parse(v, strlen(v), "FR", e164) != CRM_PHONE_INVALID) {
			crm_buf_adds(out, e164);
			return;
		}
		for (; *v; v++)
			if (isdigit((unsigned char)*v) || *v == '+')
				crm_buf_addc(out, *v);
		return;
	}
	if (field == CRM_AF_WEBSITE || field == CRM_AF_LINKEDIN) {
		norm_web(v, out);
		return;
	}
	if (field == CRM_AF_EMAIL) {
		for (; *v; v++)
			if (!isspace((unsigned char)*v))
				crm_buf_addc(out, (char)tolower((unsigned char)*v));
		return;
	}
	norm_text(v, out);
}

/* Is the longer of two address forms the shorter one with a country code
 * after it ("..., 44000 nantes" and "..., 44000 nantes fr")?  A CRM often
 * keeps the country in a column of its own, signatures give it last. */
static int
country_added(const struct crm_buf *x, const struct crm_buf *y)
{
	const struct crm_buf *s = x->len < y->len ? x : y, *l = s == x ? y : x;

	return s->len && l->len == s->len + 3 && !memcmp(l->s, s->s, s->len) &&
	    l->s[s->len] == ' ' && isalpha((unsigned char)l->s[s->len + 1]) &&
	    isalpha((unsigned char)l->s[s->len + 2]);
}

int
crm_af_same(int field, const char *a, const char *b)
{
	struct crm_buf x = CRM_BUF_INIT, y = CRM_BUF_INIT;
	int same;

	if (!a || !b)
		return a == b;
	if (!strcmp(a, b))
		return 1;
	crm_af_norm(field, a, &x);
	crm_af_norm(field, b, &y);
	same = x.len == y.len && (x.len == 0 || !memcmp(x.s, y.s, x.len));
	if (!same && field == CRM_AF_ADDRESS)
		same = country_added(&x, &y);
	crm_buf_free(&x);
	crm_buf_free(&y);
	return same;
}

double
crm_af_recency(double days)
{
	return days > 0 ? pow(0.5, days / 365.0) : 1.0;
}

int
crm_af_reaches(double conf, double threshold)
{
	return llround(conf * 1e6) >= llround(threshold * 1e6);
}

void
crm_af_declare_writer(PGconn *c)
{
	crm_db_run(c, "select set_config('crm.writer', $1, true)", 1,
	    (const char *const[]){ crm_prog ? crm_prog : "crm" });
}

/* ---- the shared-address list (rules/autofill/shared-addresses.txt) ---- */

struct wordlist {
	char **exact, **prefix;
	size_t nexact, nprefix;
};

static void
wordlist_load(struct wordlist *w, const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, *s;
	size_t cap = 0;
	long no = 0;

	if (!f)
		crm_die(CRM_EXIT_USAGE, "cannot open %s:", file);
	while ((s = crm_list_next(f, &line, &cap, &no))) {
		char *e = s + strlen(s);
		for (char *p = s; *p; p++) {
			if (isspace((unsigned char)*p) || *p == '@' || (*p == '*' && p[1]))
				crm_die(CRM_EXIT_USAGE, "%s:%ld: expected one local part per line, got '%s'",
				    file, no, s);
			*p = (char)tolower((unsigned char)*p);
		}
		if (e[-1] == '*') {
			e[-1] = 0;
			w->prefix = crm_xrealloc(w->prefix, (w->nprefix + 1) * sizeof *w->prefix);
			w->prefix[w->nprefix++] = crm_xstrdup(s);
		} else {
			w->exact = crm_xrealloc(w->exact, (w->nexact + 1) * sizeof *w->exact);
			w->exact[w->nexact++] = crm_xstrdup(s);
		}
	}
	free(line);
	fclose(f);
}

static int
wordlist_has(const struct wordlist *w, const char *s, size_t n)
{
	for (size_t i = 0; i < w->nexact; i++)
		if (strlen(w->exact[i]) == n && !strncasecmp(w->exact[i], s, n))
			return 1;
	for (size_t i = 0; i < w->nprefix; i++) {
		size_t k = strlen(w->prefix[i]);
		if (k <= n && !strncasecmp(w->prefix[i], s, k))
			return 1;
	}
	return 0;
}

static void
wordlist_free(struct wordlist *w)
{
	for (size_t i = 0; i < w->nexact; i++)
		free(w->exact[i]);
	for (size_t i = 0; i < w->nprefix; i++)
		free(w->prefix[i]);
	free(w->exact);
	free(w->prefix);
}

/* ---- one message ---- */

struct msg {
	long long iid, pid, oid;     /* interaction, person, organisation (0: none) */
	char *source;                /* "i:<id>" or "r:<record id>" */
	char *from_name, *from_email, *org_domain;
	double date;                 /* epoch seconds, NAN when unknown */
	json_object *sig, *enr;      /* owned, may be NULL */
};

static void
msg_free(struct msg *m)
{
	free(m->source);
	free(m->from_name);
	free(m->from_email);
	free(m->org_domain);
	json_object_put(m->sig);
	json_object_put(m->enr);
	memset(m, 0, sizeof *m);
}

/* One proposal (a row of autofill_evidence). */
struct ev {
	int field;
	long long ent;
	char *value;
	double conf;
	const char *method;          /* static */
	double date;
	long long person, iid;
	const char *source;          /* the message's (owned by the msg) */
};

struct crm_af {
	PGconn *c;
	struct crm_af_opts o;
	long long run, user_team;
	struct wordlist shared;
	struct crm_af_counts k;
	struct msg *msgs;
	size_t nmsgs, capmsgs;
	struct ev *evs;
	size_t nevs, capevs;
	char **inputs;               /* stdin mode: where each queued record came from */
	long *lines;
};

static double
jnum(json_object *o, const char *k, double def)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, k, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return def;
	double d = json_object_get_double(v);
	return d >= 0 && d <= 1 ? d : def;
}

/* Lower-case words (letters and digits, accents folded) of s into out,
 * each followed by a space, after a leading space: " jean marc dupont ". */
static void
words(const char *s, struct crm_buf *out)
{
	crm_buf_addc(out, ' ');
	if (!s)
		return;
	norm_text(s, out);
	crm_buf_addc(out, ' ');
}

/* Is the card's name the sender's?  1.0 when it matches the display name or
 * the address, or when there is nothing to compare; SENDER_MISMATCH when a
 * name is there and no word of three letters or more of it is. */
static double
sender_factor(const char *sig_name, const char *sig_email, const char *from_name,
    const char *from_email)
{
	struct crm_buf nw = CRM_BUF_INIT, ref = CRM_BUF_INIT, local = CRM_BUF_INIT;
	double f = 1.0;

	if (sig_email && from_email && strcasecmp(sig_email, from_email)) {
		const char *a = strrchr(sig_email, '@'), *b = strrchr(from_email, '@');
		if (a && b && strcasecmp(a, b))
			f = SENDER_MISMATCH;       /* a card from another firm's address */
	}
	if (!sig_name || !*sig_name)
		return f;
	words(sig_name, &nw);
	words(from_name, &ref);
	if (from_email) {
		const char *at = strchr(from_email, '@');
		size_t n = at ? (size_t)(at - from_email) : strlen(from_email);
		char *lp = crm_xstrndup(from_email, n);
		words(lp, &ref);
		for (size_t i = 0; i < n; i++)
			if (isalnum((unsigned char)lp[i]))
				crm_buf_addc(&local, (char)tolower((unsigned char)lp[i]));
		free(lp);
	}
	if (ref.len > 2 || local.len) {
		int found = 0, any = 0;
		char *save = NULL, *copy = crm_xstrdup(nw.s);
		for (char *t = strtok_r(copy, " ", &save); t && !found; t = strtok_r(NULL, " ", &save)) {
			char pat[256];
			if (strlen(t) < 3 || strlen(t) > 200)
				continue;
			any = 1;
			snprintf(pat, sizeof pat, " %s ", t);
			if (strstr(ref.s, pat) || (local.len && strstr(local.s, t)))
				found = 1;
		}
		free(copy);
		if (any && !found)
			f = SENDER_MISMATCH;
	}
	crm_buf_free(&nw);
	crm_buf_free(&ref);
	crm_buf_free(&local);
	return f;
}

static int
e164_ok(const char *s)
{
	size_t n = 0;

	if (!s || *s++ != '+' || *s == '0')
		return 0;
	for (; *s; s++, n++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return n >= 7 && n <= 15;
}

static int
web_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 4 || n > 200 || !strchr(s, '.') || strchr(s, '@'))
		return 0;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '"' || *s == '<' || *s == '>')
			return 0;
	return 1;
}

static int
title_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	int letters = 0;

	if (n < 2 || n > 120 || strchr(s, '@') || strstr(s, "://") || strstr(s, "www."))
		return 0;
	for (; *s; s++) {
		if (*s == '\n' || *s == '\t')
			return 0;
		letters += isalpha((unsigned char)*s) || (unsigned char)*s >= 0x80;
	}
	return letters >= 2;
}

/* The host of a web address, without "www.". */
static void
host_of(const char *web, char *out, size_t n)
{
	struct crm_buf b = CRM_BUF_INIT;

	norm_web(web, &b);
	snprintf(out, n, "%.*s", (int)strcspn(b.s ? b.s : "", "/:"), b.s ? b.s : "");
	crm_buf_free(&b);
}

/* The registrable part of a host, approximately: the last two labels, or
 * three when the second-level label is a public one like "co.uk" or
 * "com.sg" (short, under a two-letter country code). */
static const char *
registrable(const char *host)
{
	const char *p[3] = { NULL, NULL, NULL };

	for (const char *s = host; *s; s++)
		if (*s == '.') {
			p[2] = p[1];
			p[1] = p[0];
			p[0] = s;
		}
	if (!p[0] || !p[1])
		return host;
	size_t tld = strlen(p[0] + 1), sld = (size_t)(p[0] - p[1] - 1);
	if (tld == 2 && sld <= 3 && p[2])
		return p[2] + 1;
	if (tld == 2 && sld <= 3)
		return host;
	return p[1] + 1;
}

static int
same_site(const char *host, const char *domain)
{
	return host && domain && *host && *domain && !strcasecmp(registrable(host), registrable(domain));
}

static void
add_ev(struct crm_af *a, const struct msg *m, int field, long long ent, const char *value,
    double conf, const char *method)
{
	struct ev *e;

	if (!value || !*value || strlen(value) > MAX_VALUE || conf <= 0 || !ent)
		return;
	if (a->nevs == a->capevs) {
		a->capevs = a->capevs ? 2 * a->capevs : 256;
		a->evs = crm_xrealloc(a->evs, a->capevs * sizeof *a->evs);
	}
	e = &a->evs[a->nevs++];
	e->field = field;
	e->ent = ent;
	e->value = crm_xstrdup(value);
	e->conf = conf > 1 ? 1 : conf;
	e->method = method;
	e->date = m->date;
	e->person = m->pid;
	e->iid = m->iid;
	e->source = m->source;
}

/* "street, postal_code city, country" from an address object (or a
 * string, as enrichment may give). */
static int
address_text(json_object *ad, struct crm_buf *out)
{
	if (!ad)
		return 0;
	if (json_object_is_type(ad, json_type_string)) {
		const char *s = json_object_get_string(ad);
		while (isspace((unsigned char)*s))
			s++;
		crm_buf_adds(out, s);
		crm_buf_rtrim(out);
		return out->len > 5 && !strchr(out->s, '\n');
	}
	if (!json_object_is_type(ad, json_type_object))
		return 0;
	const char *street = crm_get_str(ad, "street"), *pc = crm_get_str(ad, "postal_code"),
	    *city = crm_get_str(ad, "city"), *country = crm_get_str(ad, "country");
	if (!city || !*city || (!(street && *street) && !(pc && *pc)))
		return 0;
	if (street && *street)
		crm_buf_printf(out, "%s, ", street);
	if (pc && *pc)
		crm_buf_printf(out, "%s ", pc);
	crm_buf_adds(out, city);
	if (country && *country)
		crm_buf_printf(out, ", %s", country);
	return !strchr(out->s, '\n');
}

/* A shared address of the firm's own domain ("contact@firm.fr"). */
static int
org_email_ok(const struct crm_af *a, const char *email, const char *org_domain)
{
	const char *at = email ? strchr(email, '@') : NULL;

	if (!at || at == email || strchr(at + 1, '@') || !org_domain ||
	    !wordlist_has(&a->shared, email, (size_t)(at - email)))
		return 0;
	return !strcasecmp(at + 1, org_domain);
}

static void
observe_signature(struct crm_af *a, const struct msg *m)
{
	json_object *f = NULL, *fc = NULL;
	const char *method;
	double sf;

	if (!m->sig || !json_object_object_get_ex(m->sig, "fields", &f) ||
	    !json_object_is_type(f, json_type_object))
		return;
	json_object_object_get_ex(m->sig, "field_confidence", &fc);
	method = crm_get_str(m->sig, "method") && !strcmp(crm_get_str(m->sig, "method"), "llm") ?
	    "signature-llm" : "signature";
	double overall = jnum(m->sig, "confidence", 0.5);
	sf = sender_factor(crm_get_str(f, "name"), crm_get_str(f, "email"), m->from_name, m->from_email);
#define C(k) (jnum(fc, k, overall) * sf)
	if (m->pid) {
		const char *t = crm_get_str(f, "title"), *p = crm_get_str(f, "phone"), *mo = crm_get_str(f, "mobile"),
		    *li = crm_get_str(f, "linkedin");
		if (title_ok(t))
			add_ev(a, m, CRM_AF_TITLE, m->pid, t, C("title"), method);
		if (e164_ok(p))
			add_ev(a, m, CRM_AF_PHONE, m->pid, p, C("phone"), method);
		if (e164_ok(mo))
			add_ev(a, m, CRM_AF_MOBILE, m->pid, mo, C("mobile"), method);
		if (li && web_ok(li)) {
			struct crm_buf b = CRM_BUF_INIT;
			norm_web(li, &b);
			if (!strncmp(b.s, "linkedin.com/in/", 16) && b.len > 16)
				add_ev(a, m, CRM_AF_LINKEDIN, m->pid, b.s, C("linkedin"), method);
			crm_buf_free(&b);
		}
	}
	if (m->oid) {
		const char *w = crm_get_str(f, "website"), *p = crm_get_str(f, "phone"), *em = crm_get_str(f, "email");
		json_object *ad = NULL;
		if (web_ok(w)) {
			struct crm_buf b = CRM_BUF_INIT;
			char host[256];
			const char *sd = m->from_email ? strrchr(m->from_email, '@') : NULL;
			norm_web(w, &b);
			host_of(b.s, host, sizeof host);
			double c = C("website");
			if (same_site(host, m->org_domain) || same_site(host, sd ? sd + 1 : NULL))
				c = 1 - (1 - c) / 2;       /* the address and the card agree */
			else
				c *= WEBSITE_ELSEWHERE;
			add_ev(a, m, CRM_AF_WEBSITE, m->oid, b.s, c, method);
			crm_buf_free(&b);
		}
		/* a person's line is the firm's switchboard only when several
		 * people give it (decided with the whole evidence, see score) */
		if (e164_ok(p))
			add_ev(a, m, CRM_AF_MAIN_PHONE, m->oid, p, C("phone"), method);
		if (json_object_object_get_ex(f, "address", &ad)) {
			struct crm_buf b = CRM_BUF_INIT;
			if (address_text(ad, &b))
				add_ev(a, m, CRM_AF_ADDRESS, m->oid, b.s, C("address"), method);
			crm_buf_free(&b);
		}
		if (em && org_email_ok(a, em, m->org_domain)) {
			struct crm_buf b = CRM_BUF_INIT;
			crm_af_norm(CRM_AF_EMAIL, em, &b);
			add_ev(a, m, CRM_AF_EMAIL, m->oid, b.s, C("email"), method);
			crm_buf_free(&b);
		}
	}
#undef C
}

static void
observe_enrichment(struct crm_af *a, const struct msg *m)
{
	const char *w, *p;
	char e164[CRM_PHONE_MAX];
	json_object *ad = NULL;
	double c;

	if (!m->enr || !m->oid || !json_object_is_type(m->enr, json_type_object))
		return;
	c = jnum(m->enr, "confidence", 0.7);
	if ((w = crm_get_str(m->enr, "website")) && web_ok(w)) {
		struct crm_buf b = CRM_BUF_INIT;
		norm_web(w, &b);
		add_ev(a, m, CRM_AF_WEBSITE, m->oid, b.s, c, "enrichment");
		crm_buf_free(&b);
	}
	if ((p = crm_get_str(m->enr, "phone")) &&
	    crm_phone_parse(p, strlen(p), "FR", e164) != CRM_PHONE_INVALID)
		add_ev(a, m, CRM_AF_MAIN_PHONE, m->oid, e164, c, "enrichment");
	if (json_object_object_get_ex(m->enr, "address", &ad)) {
		struct crm_buf b = CRM_BUF_INIT;
		if (address_text(ad, &b))
			add_ev(a, m, CRM_AF_ADDRESS, m->oid, b.s, c, "enrichment");
		crm_buf_free(&b);
	}
	if ((p = crm_get_str(m->enr, "email")) && org_email_ok(a, p, m->org_domain))
		add_ev(a, m, CRM_AF_EMAIL, m->oid, p, c, "enrichment");
}

/* ---- small helpers ---- */

static void
jadd_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void
jadd_id(json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, v > 0 ? json_object_new_int64(v) : NULL);
}

json_object *
crm_af_num(double v)
{
	char b[32];

	v = round(v * 1e6) / 1e6;
	snprintf(b, sizeof b, "%.6g", v == 0 ? 0 : v);
	return json_object_new_double_s(v, b);
}

json_object *
crm_af_rows_json(PGresult *r)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < PQntuples(r); i++) {
		json_object *o = json_object_new_object();
		for (int j = 0; j < PQnfields(r); j++) {
			const char *v = PQgetvalue(r, i, j);
			json_object *jv = NULL;
			if (!PQgetisnull(r, i, j)) {
				switch (PQftype(r, j)) {
				case 20: case 21: case 23:                  /* int8, int2, int4 */
					jv = json_object_new_int64(strtoll(v, NULL, 10));
					break;
				case 700: case 701: case 1700:              /* float4, float8, numeric */
					jv = crm_af_num(strtod(v, NULL));
					break;
				case 16:                                    /* bool */
					jv = json_object_new_boolean(v[0] == 't');
					break;
				case 114: case 3802:                        /* json, jsonb */
					jv = json_tokener_parse(v);
					break;
				default:
					jv = crm_json_utf8(v, strlen(v));
				}
			}
			json_object_object_add(o, PQfname(r, j), jv);
		}
		json_object_array_add(a, o);
	}
	return a;
}

static void
jadd_num(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, crm_af_num(v));
}

static const char *
jtext(json_object *o)
{
	size_t n;
	return crm_json_str(o, &n);
}

/* JSON text, as json-c writes these values (crm_af_num, jadd_id), with
 * printf only for the unusual ones. */
static void
put_int(struct crm_buf *b, unsigned long long v)
{
	char d[24];
	int i = sizeof d;

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	crm_buf_add(b, d + i, sizeof d - (size_t)i);
}

/* "%.6g" of v rounded to 1e-6: between 1e-4 and 1 the six decimals of
 * llround(v * 1e6) without their trailing zeros (the rounded double is
 * within an ulp of n / 1e6, which %.6g prints exactly). */
static void
put_num(struct crm_buf *b, double v)
{
	double r = round(v * 1e6);
	char d[8];
	int k = 6;

	v = r / 1e6;
	if (!(r >= 100 && r < 1e6)) {
		crm_buf_printf(b, "%.6g", v == 0 ? 0 : v);
		return;
	}
	long n = (long)r;
	for (int i = 5; i >= 0; i--, n /= 10)
		d[i] = (char)('0' + n % 10);
	while (d[k - 1] == '0')
		k--;
	crm_buf_add(b, "0.", 2);
	crm_buf_add(b, d, (size_t)k);
}

static void
put_id(struct crm_buf *b, long long v)
{
	if (v > 0)
		put_int(b, (unsigned long long)v);
	else
		crm_buf_add(b, "null", 4);
}

/* "%.3f" of an epoch date (whole seconds: the usual case, written here) */
static void
put_date(struct crm_buf *b, double t)
{
	if (isnan(t))
		crm_buf_add(b, "null", 4);
	else if (t >= 0 && t < 1e15 && t == floor(t)) {
		put_int(b, (unsigned long long)t);
		crm_buf_add(b, ".000", 4);
	} else
		crm_buf_printf(b, "%.3f", t);
}

/* An integer of a result (0 for NULL). */
static long long
ll(const char *s)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!s || !*s)
		return 0;
	for (; *p >= '0' && *p <= '9' && p - s < 18; p++)
		v = v * 10 + (unsigned long long)(*p - '0');
	return *p ? strtoll(s, NULL, 10) : (long long)v;
}

/* A decimal number of a result ("0.855", "1727776800.000000"), the same
 * double as strtod's: when the digits make an integer m below 2^53 and
 * there are k <= 22 of them after the point, m and 10^k are exact doubles
 * and IEEE division rounds their quotient correctly, as strtod rounds the
 * decimal.  Anything else goes to strtod. */
static double
decimal(const char *s)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	unsigned long long m = 0;
	const char *p = s;
	int digits = 0, frac = -1;

	if (*p == '-')
		p++;
	for (;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 18)
				return strtod(s, NULL);
			m = m * 10 + (unsigned long long)(*p - '0');
			if (frac >= 0)
				frac++;
		} else if (*p == '.' && frac < 0)
			frac = 0;
		else
			break;
	}
	if (*p || !digits || m > (1ULL << 53))
		return strtod(s, NULL);
	double v = frac > 0 ? (double)m / p10[frac] : (double)m;
	return *s == '-' ? -v : v;
}

static int
cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;
	return a < b ? -1 : a > b;
}

/* "{1,2,3}" of the distinct ids, sorted. */
static char *
id_array(long long *ids, size_t n)
{
	struct crm_buf b = CRM_BUF_INIT;

	qsort(ids, n, sizeof *ids, cmp_ll);
	crm_buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i && ids[i] == ids[i - 1])
			continue;
		crm_buf_printf(&b, "%s%lld", b.len > 1 ? "," : "", ids[i]);
	}
	crm_buf_addc(&b, '}');
	return crm_buf_steal(&b);
}

/* Run a statement inside a batch: 0, or -1 with the failed result kept for
 * the caller (retryable or not). */
static int
q_fmt(struct crm_af *a, const char *sql, int n, const char *const *p, int binary, PGresult **res,
    PGresult **err)
{
	PGresult *r = binary ? PQexecParams(a->c, sql, n, NULL, p, NULL, NULL, 1) :
	    crm_db_exec(a->c, sql, n, p);

	if (!r)
		r = PQmakeEmptyPGresult(a->c, PGRES_FATAL_ERROR);

	if (crm_db_ok(r)) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return 0;
	}
	if (crm_db_lost(a->c, r))
		crm_db_die(a->c, r, "autofill");
	*err = r;
	return -1;
}

static int
q(struct crm_af *a, const char *sql, int n, const char *const *p, PGresult **res, PGresult **err)
{
	return q_fmt(a, sql, n, p, 0, res, err);
}

/* ---- entity state (locked rows) ---- */

struct ent {
	long long id, owner, team;
	char *val[CRM_AF_PER_ENTITY];
	char *prov_text;             /* parsed when needed (most groups only confirm) */
	json_object *prov;
	int parsed;
};

struct ents {
	struct ent *v;
	size_t n;
};

static void
ents_free(struct ents *e)
{
	for (size_t i = 0; i < e->n; i++) {
		for (int j = 0; j < CRM_AF_PER_ENTITY; j++)
			free(e->v[i].val[j]);
		free(e->v[i].prov_text);
		json_object_put(e->v[i].prov);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

static struct ent *
ents_find(struct ents *e, long long id)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->v[mid].id == id)
			return &e->v[mid];
		if (e->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static json_object *
ent_prov(struct ent *e)
{
	if (!e->parsed) {
		e->prov = json_tokener_parse(e->prov_text);
		e->parsed = 1;
	}
	return e->prov;
}

static const char SQL_LOCK_PEOPLE[] =
    "select p.id, p.title, p.phone, p.mobile, p.linkedin_url, p.provenance, p.owner_id, u.team_id"
    " from people p left join users u on u.id = p.owner_id"
    " where p.id = any($1::bigint[]) order by p.id for update of p";
static const char SQL_LOCK_ORGS[] =
    "select o.id, o.website, o.main_phone, o.address, o.email, o.provenance, o.owner_id, u.team_id"
    " from organisations o left join users u on u.id = o.owner_id"
    " where o.id = any($1::bigint[]) order by o.id for update of o";

static int
lock_entities(struct crm_af *a, int entity, const char *ids, struct ents *out, PGresult **err)
{
	PGresult *r;
	const char *p[1] = { ids };

	if (q(a, entity == CRM_AF_ORG ? SQL_LOCK_ORGS : SQL_LOCK_PEOPLE, 1, p, &r, err) < 0)
		return -1;
	out->n = (size_t)PQntuples(r);
	out->v = crm_xcalloc(out->n + 1, sizeof *out->v);
	for (size_t i = 0; i < out->n; i++) {
		struct ent *e = &out->v[i];
		e->id = ll(PQgetvalue(r, (int)i, 0));
		for (int j = 0; j < CRM_AF_PER_ENTITY; j++)
			if (!PQgetisnull(r, (int)i, 1 + j) && *PQgetvalue(r, (int)i, 1 + j))
				e->val[j] = crm_xstrdup(PQgetvalue(r, (int)i, 1 + j));
		e->prov_text = crm_xstrdup(PQgetvalue(r, (int)i, 5));
		e->owner = ll(PQgetvalue(r, (int)i, 6));
		e->team = ll(PQgetvalue(r, (int)i, 7));
	}
	PQclear(r);
	return 0;
}

/* ---- scoring ---- */

enum { M_SIG = 1, M_LLM = 2, M_ENR = 4 };

static int
method_bit(const char *m)
{
	if (!strcmp(m, "enrichment"))
		return M_ENR;
	if (!strcmp(m, "signature-llm"))
		return M_LLM;
	return M_SIG;
}

static const char *
method_name(int bits)
{
	switch (bits) {
	case M_ENR: return "enrichment";
	case M_LLM: return "signature-llm";
	case M_SIG: case M_SIG | M_LLM: return "signature";
	default: return "signature+enrichment";
	}
}

#define MAX_PEOPLE 16

/* One row of the evidence read back (SQL_EVIDENCE_OUT), its numbers
 * parsed once; the strings point into the result. */
enum { E_TYPE, E_ID, E_FIELD, E_VALUE, E_CONF, E_METHOD, E_SEEN, E_PERSON, E_IID, E_SOURCE };

struct erow {
	const char *value, *source;
	long long id, iid, person;
	double conf, seen;           /* seen: NAN when unknown */
	int entity, field;           /* -1: a name this version does not know */
	int mbit;
};

struct cand {
	const char *value;           /* the newest spelling (in the evidence result) */
	const char *raw;             /* a spelling known to have this key */
	char *key;                   /* comparison form (owned) */
	double sum, prod, conf, base, boost;
	int n, methods, npeople;
	long long people[MAX_PEOPLE];
	double newest;
	long long iid;
	const char *source;
	long long iids[10];
	int niids;
};

static void
cand_add(struct cand *c, const struct erow *r, double s)
{
	long long who = r->person, iid = r->iid;
	double date = r->seen;
	int i;

	c->n++;
	c->sum += s;
	c->prod *= 1 - s;
	c->methods |= r->mbit;
	if (who) {
		for (i = 0; i < c->npeople && c->people[i] != who; i++)
			;
		if (i == c->npeople && c->npeople < MAX_PEOPLE)
			c->people[c->npeople++] = who;
	}
	if (iid && c->niids < 10) {
		for (i = 0; i < c->niids && c->iids[i] != iid; i++)
			;
		if (i == c->niids)
			c->iids[c->niids++] = iid;
	}
	if (!c->source || (!isnan(date) && (isnan(c->newest) || date >= c->newest))) {
		c->newest = date;
		c->iid = iid;
		c->source = r->source;
		c->value = r->value;
	}
}

/* The comparison form of a value within a group: free text folded (case,
 * accents, punctuation), so that "Directrice commerciale" and "Directrice
 * Commerciale" agree; the other fields are already canonical. */
static char *
cand_key(int field, const char *v)
{
	struct crm_buf b = CRM_BUF_INIT;

	if (field == CRM_AF_TITLE || field == CRM_AF_ADDRESS)
		crm_af_norm(field, v, &b);
	else
		crm_buf_adds(&b, v);
	if (!b.s)
		crm_buf_adds(&b, "");
	return crm_buf_steal(&b);
}

static void
cands_free(struct cand *c, size_t n)
{
	for (size_t j = 0; j < n; j++)
		free(c[j].key);
	free(c);
}

/* Candidates of one (entity, field) group, from its rows g[0..ng).  Most
 * rows repeat a spelling already seen: the comparison form is only made
 * for a new one. */
static size_t
score_group(struct erow *const *g, int ng, int field, struct cand **out)
{
	double newest = NAN, total = 0;
	size_t n = 0, cap = 4;
	struct cand *c = crm_xcalloc(cap, sizeof *c);

	for (int k = 0; k < ng; k++)
		if (!isnan(g[k]->seen) && (isnan(newest) || g[k]->seen > newest))
			newest = g[k]->seen;
	for (int k = 0; k < ng; k++) {
		const struct erow *r = g[k];
		double w = isnan(r->seen) || isnan(newest) ? 1 : crm_af_recency((newest - r->seen) / DAY);
		double s = r->conf * w;
		size_t j;
		for (j = 0; j < n && strcmp(c[j].raw, r->value); j++)
			;
		if (j == n) {
			char *key = cand_key(field, r->value);
			for (j = 0; j < n && strcmp(c[j].key, key); j++)
				;
			if (j == n) {
				if (n == cap)
					c = crm_xrealloc(c, (cap *= 2) * sizeof *c);
				memset(&c[n], 0, sizeof *c);
				c[n].key = key;
				c[n].prod = 1;
				c[n].newest = NAN;
				n++;
			} else
				free(key);
			c[j].raw = r->value;
		}
		cand_add(&c[j], r, s);
		total += s;
	}
	for (size_t j = 0; j < n; j++)
		c[j].base = total > 0 ? (1 - c[j].prod) * c[j].sum / total : 0;
	*out = c;
	return n;
}

/* ---- the batch ---- */

/* A group of evidence rows a batch decides on: one field of one entity. */
struct group {
	struct erow *const *g;
	int ng;
	struct ent *e;
	struct cand *c;
	size_t n;
};

struct batch {
	json_object *applies[CRM_AF_NFIELDS];   /* per field: [{id, value, prov}] */
	json_object *changes, *suggestions, *out;
	struct crm_buf applied, settled;        /* JSON objects, comma-separated */
	json_object *excluded, *prefs;          /* sets/maps */
	PGresult *prefs_r;
	struct ents people, orgs;
	struct erow *rows;
	struct erow **order;
	struct group *groups;        /* of the rows, in order */
	size_t ngroups, capgroups;
	struct crm_af_counts k;
};

static void
batch_free(struct batch *b)
{
	for (int f = 0; f < CRM_AF_NFIELDS; f++)
		json_object_put(b->applies[f]);
	json_object_put(b->changes);
	json_object_put(b->suggestions);
	json_object_put(b->out);
	crm_buf_free(&b->applied);
	crm_buf_free(&b->settled);
	json_object_put(b->excluded);
	json_object_put(b->prefs);
	PQclear(b->prefs_r);
	ents_free(&b->people);
	ents_free(&b->orgs);
	for (size_t i = 0; i < b->ngroups; i++)
		cands_free(b->groups[i].c, b->groups[i].n);
	free(b->groups);
	free(b->rows);
	free(b->order);
	memset(b, 0, sizeof *b);
}

static void
key4(char *k, size_t n, const char *type, long long id, const char *field, const char *value)
{
	snprintf(k, n, "%s\x1f%lld\x1f%s\x1f%s", type, id, field, value);
}

/* Values people rejected or undid, per (entity, field): never again. */
static int
load_excluded(struct crm_af *a, struct batch *b, const char *pids, const char *oids, PGresult **err)
{
	const char *p[2] = { pids, oids };
	PGresult *r;
	char k[MAX_VALUE + 128];

	if (q(a, "select entity_type, entity_id, field, value from autofill_suggestions"
	    " where status = 'rejected' and ((entity_type = 'person' and entity_id = any($1::bigint[]))"
	    "  or (entity_type = 'organisation' and entity_id = any($2::bigint[])))"
	    " union select entity_type, entity_id, field, new_value from autofill_changes"
	    " where undone_at is not null and new_value is not null"
	    "  and ((entity_type = 'person' and entity_id = any($1::bigint[]))"
	    "  or (entity_type = 'organisation' and entity_id = any($2::bigint[])))", 2, p, &r, err) < 0)
		return -1;
	b->excluded = json_object_new_object();
	for (int i = 0; i < PQntuples(r); i++) {
		int f = crm_af_field_find(crm_af_entity_parse(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 2));
		char *key = cand_key(f, PQgetvalue(r, i, 3));
		key4(k, sizeof k, PQgetvalue(r, i, 0), ll(PQgetvalue(r, i, 1)), PQgetvalue(r, i, 2), key);
		json_object_object_add(b->excluded, k, NULL);
		free(key);
	}
	PQclear(r);
	return 0;
}

/* The accepts of every value a candidate has (see learn.h). */
static int
load_prefs(struct crm_af *a, struct batch *b, PGresult **err)
{
	json_object *seen = json_object_new_object();
	struct crm_buf vals = CRM_BUF_INIT;
	const char *p[1];
	char k[MAX_VALUE + 64];

	crm_buf_addc(&vals, '[');
	for (size_t i = 0; i < b->ngroups; i++)
		for (size_t j = 0; j < b->groups[i].n; j++) {
			const char *v = b->groups[i].c[j].value;
			if (json_object_object_get_ex(seen, v, NULL))
				continue;
			json_object_object_add(seen, v, NULL);
			if (vals.len > 1)
				crm_buf_addc(&vals, ',');
			crm_json_escape(&vals, v, strlen(v));
		}
	crm_buf_addc(&vals, ']');
	p[0] = vals.s;
	int rc = q(a, "select p.field, p.value, coalesce(p.user_id, 0), coalesce(p.team_id, u.team_id, 0),"
	    " coalesce(p.entity_type, ''), count(*)"
	    " from ai_user_preferences p left join users u on u.id = p.user_id"
	    " where p.choice = 'accept' and p.expires_at > now()"
	    " and p.value in (select jsonb_array_elements_text($1::jsonb))"
	    " group by 1, 2, 3, 4, 5", 1, p, &b->prefs_r, err);
	crm_buf_free(&vals);
	json_object_put(seen);
	if (rc < 0)
		return -1;
	b->prefs = json_object_new_object();
	for (int i = 0; i < PQntuples(b->prefs_r); i++) {
		json_object *rows;
		snprintf(k, sizeof k, "%s\x1f%s", PQgetvalue(b->prefs_r, i, 0), PQgetvalue(b->prefs_r, i, 1));
		if (!json_object_object_get_ex(b->prefs, k, &rows)) {
			rows = json_object_new_array();
			json_object_object_add(b->prefs, k, rows);
		}
		json_object_array_add(rows, json_object_new_int(i));
	}
	return 0;
}

static double
boost_for(struct batch *b, const struct ent *e, int entity, const char *field, const char *value,
    long long def_user, long long def_team)
{
	char k[MAX_VALUE + 64];
	json_object *rows;
	long long user = e->owner ? e->owner : def_user, team = e->owner ? e->team : def_team;
	long n_user = 0, n_team = 0;

	if (!user && !team)
		return 0;
	snprintf(k, sizeof k, "%s\x1f%s", field, value);
	if (!json_object_object_get_ex(b->prefs, k, &rows))
		return 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		int row = json_object_get_int(json_object_array_get_idx(rows, i));
		const char *et = PQgetvalue(b->prefs_r, row, 4);
		long n = strtol(PQgetvalue(b->prefs_r, row, 5), NULL, 10);
		if (*et && strcmp(et, crm_af_entity_name(entity)))
			continue;
		if (user && ll(PQgetvalue(b->prefs_r, row, 2)) == user)
			n_user += n;
		if (team && ll(PQgetvalue(b->prefs_r, row, 3)) == team)
			n_team += n;
	}
	return crm_learn_boost(n_user > 0 ? n_user : n_team);
}

static const char *
prov_method(struct ent *e, const char *field)
{
	json_object *p, *prov = ent_prov(e);

	if (!prov || !json_object_object_get_ex(prov, field, &p))
		return NULL;
	return crm_get_str(p, "method") ? crm_get_str(p, "method") : "";
}

static json_object *
decision_json(const char *action, int entity, long long id, int field, const struct cand *c,
    const char *current, long long run)
{
	json_object *o = json_object_new_object(), *iids = json_object_new_array();

	jadd_str(o, "action", action);
	jadd_str(o, "entity_type", crm_af_entity_name(entity));
	jadd_id(o, "entity_id", id);
	jadd_str(o, "field", crm_af_field_name(field));
	jadd_str(o, "value", c->value);
	jadd_str(o, "current_value", current);
	jadd_num(o, "confidence", c->conf);
	jadd_num(o, "base_confidence", c->base);
	jadd_num(o, "boost", c->boost);
	jadd_str(o, "method", method_name(c->methods));
	json_object_object_add(o, "messages", json_object_new_int(c->n));
	json_object_object_add(o, "people", json_object_new_int(c->npeople));
	for (int i = 0; i < c->niids; i++)
		json_object_array_add(iids, json_object_new_int64(c->iids[i]));
	json_object_object_add(o, "interactions", iids);
	jadd_id(o, "interaction_id", c->iid);
	jadd_str(o, "source", c->source);
	jadd_id(o, "run_id", run);
	return o;
}

/* The evidence kept with a suggestion. */
static json_object *
evidence_json(const struct cand *c)
{
	json_object *o = json_object_new_object(), *iids = json_object_new_array();

	json_object_object_add(o, "messages", json_object_new_int(c->n));
	json_object_object_add(o, "people", json_object_new_int(c->npeople));
	jadd_num(o, "base_confidence", c->base);
	jadd_num(o, "boost", c->boost);
	for (int i = 0; i < c->niids; i++)
		json_object_array_add(iids, json_object_new_int64(c->iids[i]));
	json_object_object_add(o, "interactions", iids);
	jadd_str(o, "source", c->source);
	return o;
}

static void
record(struct crm_af *a, struct batch *b, json_object *d)
{
	if (a->o.dry_run)
		json_object_array_add(b->out, json_object_get(d));
}

/* {"entity_type", "entity_id", "field", "value"} of a value now in its
 * field, for the pending suggestions it settles. */
static void
settles(struct crm_buf *out, int entity, long long id, int field, const char *value)
{
	if (out->len)
		crm_buf_addc(out, ',');
	crm_buf_adds(out, "{\"entity_type\":\"");
	crm_buf_adds(out, crm_af_entity_name(entity));
	crm_buf_adds(out, "\",\"entity_id\":");
	put_id(out, id);
	crm_buf_adds(out, ",\"field\":\"");
	crm_buf_adds(out, crm_af_field_name(field));
	crm_buf_adds(out, "\",\"value\":");
	crm_json_escape(out, value, strlen(value));
	crm_buf_addc(out, '}');
}

static void
decide_apply(struct crm_af *a, struct batch *b, int entity, struct ent *e, int field,
    const struct cand *c)
{
	json_object *row = json_object_new_object(), *prov = json_object_new_object(), *ch, *old = NULL;
	json_object *eprov = ent_prov(e);

	jadd_str(prov, "method", "autofill");
	jadd_str(prov, "source", method_name(c->methods));
	jadd_num(prov, "confidence", c->conf);
	jadd_id(prov, "interaction_id", c->iid);
	jadd_id(prov, "run_id", a->run);
	jadd_id(row, "id", e->id);
	jadd_str(row, "value", c->value);
	json_object_object_add(row, "prov", prov);
	if (!b->applies[field])
		b->applies[field] = json_object_new_array();
	json_object_array_add(b->applies[field], row);

	ch = decision_json("apply", entity, e->id, field, c, NULL, a->run);
	if (eprov && json_object_object_get_ex(eprov, crm_af_field_name(field), &old))
		json_object_object_add(ch, "old_prov", json_object_get(old));
	record(a, b, ch);
	json_object_array_add(b->changes, ch);
	settles(&b->applied, entity, e->id, field, c->value);
	b->k.applied++;
}

static void
decide_suggest(struct crm_af *a, struct batch *b, const char *action, int entity,
    const struct ent *e, int field, const struct cand *c, const char *current)
{
	json_object *d = decision_json(action, entity, e->id, field, c, current, a->run);

	json_object_object_add(d, "evidence", evidence_json(c));
	record(a, b, d);
	json_object_array_add(b->suggestions, d);
	if (!strcmp(action, "conflict"))
		b->k.conflicts++;
	else
		b->k.suggested++;
}

/* A confirmation is only counted (and printed with --dry-run). */
static void
decide_settled(struct crm_af *a, struct batch *b, int entity, const struct ent *e, int field,
    const struct cand *c, const char *current)
{
	if (a->o.dry_run) {
		json_object *d = decision_json("confirm", entity, e->id, field, c, current, a->run);
		record(a, b, d);
		json_object_put(d);
	}
	settles(&b->settled, entity, e->id, field, c->value);
	b->k.confirmed++;
}

static int
cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->conf != b->conf)
		return a->conf > b->conf ? -1 : 1;
	if (!isnan(a->newest) && !isnan(b->newest) && a->newest != b->newest)
		return a->newest > b->newest ? -1 : 1;
	return strcmp(a->value, b->value);
}

/* Decide one (entity, field) from its scored candidates. */
static void
decide_group(struct crm_af *a, struct batch *b, struct group *gr)
{
	int entity = gr->g[0]->entity, field = gr->g[0]->field;
	long long id = gr->g[0]->id;
	struct ent *e = gr->e;
	struct cand *c = gr->c, *best = NULL;
	size_t n = gr->n, j;
	char k[MAX_VALUE + 128];

	for (j = 0; j < n; j++) {
		key4(k, sizeof k, crm_af_entity_name(entity), id, crm_af_field_name(field), c[j].key);
		if (json_object_object_get_ex(b->excluded, k, NULL) ||
		    /* a person's line is the switchboard only if several say so */
		    (field == CRM_AF_MAIN_PHONE && !(c[j].methods & M_ENR) && c[j].npeople < 2)) {
			c[j].conf = -1;
			continue;
		}
		c[j].boost = boost_for(b, e, entity, crm_af_field_name(field), c[j].value,
		    a->o.user_id, a->user_team);
		double base = c[j].base;
		if (!(c[j].methods & (M_SIG | M_ENR)))      /* model output alone */
			base = fmin(base, a->o.threshold - 0.01);
		c[j].conf = crm_learn_boosted(base, c[j].boost);
	}
	qsort(c, n, sizeof *c, cmp_cand);
	if (n && c[0].conf >= 0 && crm_af_reaches(c[0].conf, a->o.min_conf))
		best = &c[0];
	const char *cur = e->val[field % CRM_AF_PER_ENTITY];
	if (best && cur && crm_af_same(field, cur, best->value))
		decide_settled(a, b, entity, e, field, best, cur);
	else if (best && cur)
		decide_suggest(a, b, "conflict", entity, e, field, best, cur);
	else if (best) {
		const char *pm = prov_method(e, crm_af_field_name(field));
		int human = pm && (!strcmp(pm, "manual") || !strcmp(pm, "review"));
		if (!human && crm_af_reaches(best->conf, a->o.threshold)) {
			decide_apply(a, b, entity, e, field, best);
			free(e->val[field % CRM_AF_PER_ENTITY]);
			e->val[field % CRM_AF_PER_ENTITY] = crm_xstrdup(best->value);
		} else
			decide_suggest(a, b, "suggest", entity, e, field, best, NULL);
	}
}

/* The rows go as arrays (unnest): the server reads array literals about
 * four times faster than the same rows as JSON.  They come sorted by the
 * key, so that the server's sort finds them in order.  A message's
 * evidence is only there already when it is processed again (queued
 * again, or given on stdin as well): the batch first tries a plain INSERT,
 * and only when a key exists does it do the upsert, which costs two
 * thirds more (speculative insertion, a conflict check per row). */
#define EVIDENCE_ROWS \
    "insert into autofill_evidence as e (entity_type, entity_id, field, value, confidence, method," \
    " seen_at, source, interaction_id, person_id, run_id)" \
    " select distinct on (v.t, v.id, v.field, v.source, v.method)" \
    "  v.t, v.id, v.field, v.value, v.conf, v.method, to_timestamp(v.seen), v.source, v.iid," \
    "  v.person, $11::bigint" \
    " from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::real[], $6::text[]," \
    "  $7::float8[], $8::text[], $9::bigint[], $10::bigint[])" \
    "  as v(t, id, field, value, conf, method, seen, source, iid, person)" \
    " order by v.t, v.id, v.field, v.source, v.method"
static const char SQL_EVIDENCE_IN[] = EVIDENCE_ROWS;
static const char SQL_EVIDENCE_UPSERT[] = EVIDENCE_ROWS
    " on conflict (entity_type, entity_id, field, source, method) do update set"
    "  value = excluded.value, confidence = excluded.confidence, seen_at = excluded.seen_at,"
    "  person_id = excluded.person_id, run_id = excluded.run_id";

/* Read in binary (see evidence_rows): the server writes the numbers and
 * dates as they are; only the confidence goes as text, the text the
 * scores have always been computed from. */
static const char SQL_EVIDENCE_OUT[] =
    "select entity_type, entity_id, field, value, confidence::text, method, seen_at,"
    " person_id, interaction_id, source from autofill_evidence"
    " where (entity_type = 'person' and entity_id = any($1::bigint[]))"
    "  or (entity_type = 'organisation' and entity_id = any($2::bigint[]))";

/* The distinct strings of a column and their strcmp order. */
struct names {
	const char **s;
	unsigned *rank;
	size_t n, cap, last;
};

static unsigned
names_add(struct names *t, const char *s)
{
	if (t->n && !strcmp(t->s[t->last], s))
		return (unsigned)t->last;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->s[i], s))
			return (unsigned)(t->last = i);
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->s = crm_xrealloc(t->s, t->cap * sizeof *t->s);
	}
	t->s[t->n] = s;
	return (unsigned)(t->last = t->n++);
}

static int
cmp_str_p(const void *x, const void *y)
{
	return strcmp(**(const char *const *const *)x, **(const char *const *const *)y);
}

/* rank[i]: the place of s[i] in strcmp order */
static void
names_rank(struct names *t)
{
	const char ***p = crm_xcalloc(t->n + 1, sizeof *p);

	for (size_t i = 0; i < t->n; i++)
		p[i] = &t->s[i];
	qsort(p, t->n, sizeof *p, cmp_str_p);
	t->rank = crm_xcalloc(t->n + 1, sizeof *t->rank);
	for (size_t i = 0; i < t->n; i++)
		t->rank[p[i] - t->s] = (unsigned)i;
	free(p);
}

static void
names_free(struct names *t)
{
	free(t->s);
	free(t->rank);
}

/* The evidence rows in (entity type, entity id, field) order, then by
 * message (interaction id, method), so that the decisions do not depend on
 * the order the server reads them in: among messages of the same date the
 * last stored one is the source of a value.  Sorted here rather than by
 * the server, which sorts whole rows by collated text (and spills them to
 * disk once a batch's entities have a year of mail each).  Entity types
 * and field names are plain lower-case words of which none is a prefix of
 * another, so strcmp gives the order of any collation.  The names are
 * ranked once (a result has a handful of them) and the rows sorted by
 * numbers. */
struct okey {
	long long id, iid;
	unsigned t, f, m;
	int row;
};

static int
cmp_okey(const void *x, const void *y)
{
	const struct okey *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->f != b->f)
		return a->f < b->f ? -1 : 1;
	if (a->iid != b->iid)
		return a->iid < b->iid ? -1 : 1;
	if (a->m != b->m)
		return a->m < b->m ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

/* A bigint in binary (0 for NULL, whose length is 0). */
static long long
bin_int8(PGresult *r, int i, int j)
{
	uint64_t x;

	if (PQgetlength(r, i, j) != 8)
		return 0;
	memcpy(&x, PQgetvalue(r, i, j), 8);
	return (long long)be64toh(x);
}

/* A timestamptz in binary (microseconds since 2000-01-01) as the epoch
 * seconds strtod reads in extract(epoch ...): m microseconds since 1970
 * are m / 10^6 exactly, and m / 1e6 in doubles is that quotient correctly
 * rounded, as strtod rounds it, while m has 53 bits or fewer. */
static double
bin_epoch(PGresult *r, int i, int j)
{
	long long v = bin_int8(r, i, j), sec, us;
	char s[48];

	if (PQgetlength(r, i, j) != 8)
		return NAN;
	if (v == LLONG_MAX || v == LLONG_MIN)            /* 'infinity' */
		return v > 0 ? INFINITY : -INFINITY;
	sec = v / 1000000;
	us = v % 1000000;
	if (us < 0) {
		us += 1000000;
		sec--;
	}
	sec += 946684800LL;
	if (sec > -9007199254LL && sec < 9007199254LL)   /* |m| < 2^53 */
		return (double)(sec * 1000000 + us) / 1e6;
	if (sec < 0 && us)
		snprintf(s, sizeof s, "-%lld.%06lld", -(sec + 1), 1000000 - us);
	else
		snprintf(s, sizeof s, "%lld.%06lld", sec, us);
	return strtod(s, NULL);
}

static void
evidence_rows(PGresult *r, struct batch *b)
{
	int n = PQntuples(r);
	struct names types = { 0 }, fieldn = { 0 }, methods = { 0 };
	struct okey *k = crm_xcalloc((size_t)n + 1, sizeof *k);

	b->rows = crm_xcalloc((size_t)n + 1, sizeof *b->rows);
	b->order = crm_xcalloc((size_t)n + 1, sizeof *b->order);
	for (int i = 0; i < n; i++) {
		struct erow *e = &b->rows[i];
		e->value = PQgetvalue(r, i, E_VALUE);
		e->source = PQgetvalue(r, i, E_SOURCE);
		e->id = bin_int8(r, i, E_ID);
		e->iid = bin_int8(r, i, E_IID);
		e->person = bin_int8(r, i, E_PERSON);
		e->conf = decimal(PQgetvalue(r, i, E_CONF));
		e->seen = bin_epoch(r, i, E_SEEN);
		k[i] = (struct okey){ .id = e->id, .iid = e->iid, .row = i,
		    .t = names_add(&types, PQgetvalue(r, i, E_TYPE)),
		    .f = names_add(&fieldn, PQgetvalue(r, i, E_FIELD)),
		    .m = names_add(&methods, PQgetvalue(r, i, E_METHOD)) };
	}
	names_rank(&types);
	names_rank(&fieldn);
	names_rank(&methods);
	int *ent = crm_xcalloc(types.n + 1, sizeof *ent), *mbit = crm_xcalloc(methods.n + 1, sizeof *mbit),
	    *fld = crm_xcalloc(types.n * fieldn.n + 1, sizeof *fld);
	for (size_t t = 0; t < types.n; t++) {
		ent[t] = crm_af_entity_parse(types.s[t]);
		for (size_t f = 0; f < fieldn.n; f++)
			fld[t * fieldn.n + f] = ent[t] < 0 ? -1 : crm_af_field_find(ent[t], fieldn.s[f]);
	}
	for (size_t m = 0; m < methods.n; m++)
		mbit[m] = method_bit(methods.s[m]);
	for (int i = 0; i < n; i++) {
		struct erow *e = &b->rows[i];
		struct okey *o = &k[i];
		e->entity = ent[o->t];
		e->field = fld[o->t * fieldn.n + o->f];
		e->mbit = mbit[o->m];
		o->t = types.rank[o->t];
		o->f = fieldn.rank[o->f];
		o->m = methods.rank[o->m];
	}
	qsort(k, (size_t)n, sizeof *k, cmp_okey);
	for (int i = 0; i < n; i++)
		b->order[i] = &b->rows[k[i].row];
	/* groups: same type, id and field (in sorted order, adjacent) */
	for (int i = 0; i < n;) {
		int j = i + 1;
		while (j < n && k[j].t == k[i].t && k[j].id == k[i].id && k[j].f == k[i].f)
			j++;
		if (b->ngroups == b->capgroups) {
			b->capgroups = b->capgroups ? 2 * b->capgroups : 64;
			b->groups = crm_xrealloc(b->groups, b->capgroups * sizeof *b->groups);
		}
		b->groups[b->ngroups++] = (struct group){ .g = b->order + i, .ng = j - i };
		i = j;
	}
	free(ent);
	free(mbit);
	free(fld);
	names_free(&types);
	names_free(&fieldn);
	names_free(&methods);
	free(k);
}

/* (entity, id, field) of the fresh evidence: the groups a batch decides. */
struct tkey {
	long long id;
	int entity, field;
};

static int
cmp_tkey(const void *x, const void *y)
{
	const struct tkey *a = x, *b = y;

	if (a->entity != b->entity)
		return a->entity < b->entity ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (a->field > b->field) - (a->field < b->field);
}

/* An element of an array literal: quoted, '"' and '\\' escaped; NULL. */
static void
arr_next(struct crm_buf *b)
{
	crm_buf_addc(b, b->len > 1 ? ',' : '{');
}

static void
arr_str(struct crm_buf *b, const char *s)
{
	arr_next(b);
	if (!s) {
		crm_buf_add(b, "NULL", 4);
		return;
	}
	crm_buf_addc(b, '"');
	for (const char *p = s;; p++) {
		size_t n = strcspn(p, "\\\"");
		crm_buf_add(b, p, n);
		p += n;
		if (!*p)
			break;
		crm_buf_addc(b, '\\');
		crm_buf_addc(b, *p);
	}
	crm_buf_addc(b, '"');
}

static int
cmp_ev_key(const void *x, const void *y)
{
	const struct ev *a = *(const struct ev *const *)x, *b = *(const struct ev *const *)y;
	int c = strcmp(crm_af_entity_name(crm_af_field_entity(a->field)),
	    crm_af_entity_name(crm_af_field_entity(b->field)));

	if (c)
		return c;
	if (a->ent != b->ent)
		return a->ent < b->ent ? -1 : 1;
	if ((c = strcmp(crm_af_field_name(a->field), crm_af_field_name(b->field))))
		return c;
	if ((c = strcmp(a->source, b->source)))
		return c;
	return strcmp(a->method, b->method);
}

/* Insert the fresh evidence; fills the touched set (sorted) and the id
 * arrays. */
static int
store_evidence(struct crm_af *a, struct tkey **touched, size_t *ntouched, char **pids, char **oids,
    PGresult **err)
{
	enum { T, ID, FIELD, VALUE, CONF, METHOD, SEEN, SOURCE, IID, PERSON, NCOLS };
	struct crm_buf col[NCOLS];
	long long *p = crm_xcalloc(a->nevs + 1, sizeof *p), *o = crm_xcalloc(a->nevs + 1, sizeof *o);
	struct tkey *t = crm_xcalloc(a->nevs + 1, sizeof *t);
	const struct ev **sorted = crm_xcalloc(a->nevs + 1, sizeof *sorted);
	const char *params[NCOLS + 1];
	size_t np = 0, no = 0, nt = 0;
	char run[24];
	int rc;

	for (int c = 0; c < NCOLS; c++)
		col[c] = (struct crm_buf)CRM_BUF_INIT;
	for (size_t i = 0; i < a->nevs; i++)
		sorted[i] = &a->evs[i];
	qsort(sorted, a->nevs, sizeof *sorted, cmp_ev_key);
	for (size_t i = 0; i < a->nevs; i++) {
		const struct ev *e = sorted[i];
		int entity = crm_af_field_entity(e->field);
		arr_next(&col[T]);
		crm_buf_adds(&col[T], crm_af_entity_name(entity));
		arr_next(&col[ID]);
		put_id(&col[ID], e->ent);
		arr_next(&col[FIELD]);
		crm_buf_adds(&col[FIELD], crm_af_field_name(e->field));
		arr_str(&col[VALUE], e->value);
		arr_next(&col[CONF]);
		put_num(&col[CONF], e->conf);
		arr_str(&col[METHOD], e->method);
		arr_next(&col[SEEN]);
		put_date(&col[SEEN], e->date);
		arr_str(&col[SOURCE], e->source);
		arr_next(&col[IID]);
		put_id(&col[IID], e->iid);
		arr_next(&col[PERSON]);
		put_id(&col[PERSON], e->person);
		if (entity == CRM_AF_ORG)
			o[no++] = e->ent;
		else
			p[np++] = e->ent;
		t[nt++] = (struct tkey){ .id = e->ent, .entity = entity, .field = e->field };
	}
	for (int c = 0; c < NCOLS; c++) {
		if (!col[c].len)
			crm_buf_addc(&col[c], '{');
		crm_buf_addc(&col[c], '}');
		params[c] = col[c].s;
	}
	*pids = id_array(p, np);
	*oids = id_array(o, no);
	qsort(t, nt, sizeof *t, cmp_tkey);
	*touched = t;
	*ntouched = nt;
	free(p);
	free(o);
	free(sorted);
	snprintf(run, sizeof run, "%lld", a->run);
	params[NCOLS] = run;
	rc = 0;
	if (a->nevs && !(rc = q(a, "savepoint crm_af_evidence", 0, NULL, NULL, err))) {
		rc = q(a, SQL_EVIDENCE_IN, NCOLS + 1, params, NULL, err);
		if (rc < 0 && !strcmp(crm_db_sqlstate(*err), "23505")) {
			PQclear(*err);
			*err = NULL;
			rc = q(a, "rollback to savepoint crm_af_evidence", 0, NULL, NULL, err);
			if (!rc)
				rc = q(a, SQL_EVIDENCE_UPSERT, NCOLS + 1, params, NULL, err);
		}
		if (!rc)
			rc = q(a, "release savepoint crm_af_evidence", 0, NULL, NULL, err);
	}
	for (int c = 0; c < NCOLS; c++)
		crm_buf_free(&col[c]);
	return rc;
}

static int
write_applies(struct crm_af *a, struct batch *b, PGresult **err)
{
	char sql[1024], run[24];

	snprintf(run, sizeof run, "%lld", a->run);
	for (int f = 0; f < CRM_AF_NFIELDS; f++) {
		if (!b->applies[f])
			continue;
		const char *col = crm_af_field_name(f), *tab = crm_af_entity_table(crm_af_field_entity(f));
		snprintf(sql, sizeof sql,
		    "update %s t set %s = v.value,"
		    " provenance = jsonb_set(t.provenance, '{%s}', v.prov || jsonb_build_object('at', now()))"
		    " from jsonb_to_recordset($1::jsonb) as v(id bigint, value text, prov jsonb)"
		    " where t.id = v.id and t.%s is null", tab, col, col, col);
		const char *p[1] = { jtext(b->applies[f]) };
		if (q(a, sql, 1, p, NULL, err) < 0)
			return -1;
	}
	if (!json_object_array_length(b->changes))
		return 0;
	const char *p[2] = { jtext(b->changes), run };
	return q(a, "insert into autofill_changes (run_id, entity_type, entity_id, field, old_value,"
	    " new_value, confidence, method, interaction_id, old_provenance, source_ref)"
	    " select $2::bigint, v.entity_type, v.entity_id, v.field, null, v.value, v.confidence,"
	    "  v.method, v.interaction_id, v.old_prov, v.source"
	    " from jsonb_to_recordset($1::jsonb) as v(entity_type text, entity_id bigint, field text,"
	    "  value text, confidence real, method text, interaction_id bigint, old_prov jsonb,"
	    "  source text)", 2, p, NULL, err);
}

static int
write_suggestions(struct crm_af *a, struct batch *b, PGresult **err)
{
	char run[24];

	snprintf(run, sizeof run, "%lld", a->run);
	if (json_object_array_length(b->suggestions)) {
		const char *p[2] = { jtext(b->suggestions), run };
		if (q(a, "insert into autofill_suggestions as s (run_id, entity_type, entity_id, field,"
		    " value, current_value, confidence, method, evidence, interaction_id)"
		    " select $2::bigint, v.entity_type, v.entity_id, v.field, v.value, v.current_value,"
		    "  v.confidence, v.method, v.evidence, v.interaction_id"
		    " from jsonb_to_recordset($1::jsonb) as v(entity_type text, entity_id bigint,"
		    "  field text, value text, current_value text, confidence real, method text,"
		    "  evidence jsonb, interaction_id bigint)"
		    " order by v.entity_type, v.entity_id, v.field, v.value"
		    " on conflict (entity_type, entity_id, field, value) where status = 'pending'"
		    " do update set run_id = excluded.run_id, current_value = excluded.current_value,"
		    "  confidence = excluded.confidence, method = excluded.method,"
		    "  evidence = excluded.evidence, interaction_id = excluded.interaction_id", 2, p,
		    NULL, err) < 0)
			return -1;
	}
	/* pending suggestions of a value now in the field are settled */
	if (!b->applied.len && !b->settled.len)
		return 0;
	struct crm_buf done = CRM_BUF_INIT;
	crm_buf_addc(&done, '[');
	crm_buf_add(&done, b->applied.s, b->applied.len);
	if (b->applied.len && b->settled.len)
		crm_buf_addc(&done, ',');
	crm_buf_add(&done, b->settled.s, b->settled.len);
	crm_buf_addc(&done, ']');
	const char *p[1] = { done.s };
	int rc = q(a, "update autofill_suggestions s set status = 'superseded', decided_at = now()"
	    " from jsonb_to_recordset($1::jsonb) as v(entity_type text, entity_id bigint,"
	    "  field text, value text)"
	    " where s.status = 'pending' and s.entity_type = v.entity_type"
	    "  and s.entity_id = v.entity_id and s.field = v.field and lower(s.value) = lower(v.value)", 1, p,
	    NULL, err);
	crm_buf_free(&done);
	return rc;
}

static int
count_run(struct crm_af *a, const struct batch *b, unsigned long processed, PGresult **err)
{
	char v[7][24];
	const char *p[7];
	unsigned long x[7] = { (unsigned long)a->run, processed, b->k.applied, b->k.confirmed,
		b->k.suggested, b->k.conflicts, 0 };

	for (int i = 0; i < 7; i++) {
		snprintf(v[i], sizeof v[i], "%lu", x[i]);
		p[i] = v[i];
	}
	return q(a, "update autofill_runs set processed = processed + $2::int,"
	    " applied = applied + $3::int, confirmed = confirmed + $4::int,"
	    " suggested = suggested + $5::int, conflicts = conflicts + $6::int"
	    " where id = $1::bigint", 6, p, NULL, err);
}

/* Everything after the messages are known: evidence in, entities locked,
 * evidence out, candidates scored, the learned preferences of their
 * values, decisions, writes. */
static int
decide_batch(struct crm_af *a, struct batch *b, unsigned long processed, PGresult **err)
{
	struct tkey *touched = NULL;
	size_t ntouched = 0;
	char *pids = NULL, *oids = NULL;
	PGresult *ev = NULL;
	int rc = -1;

	memset(b, 0, sizeof *b);
	b->changes = json_object_new_array();
	b->suggestions = json_object_new_array();
	b->out = json_object_new_array();
	if (store_evidence(a, &touched, &ntouched, &pids, &oids, err) < 0)
		goto out;
	if (a->nevs) {
		const char *p[2] = { pids, oids };
		if (lock_entities(a, CRM_AF_PERSON, pids, &b->people, err) < 0 ||
		    lock_entities(a, CRM_AF_ORG, oids, &b->orgs, err) < 0 ||
		    q_fmt(a, SQL_EVIDENCE_OUT, 2, p, 1, &ev, err) < 0 ||
		    load_excluded(a, b, pids, oids, err) < 0)
			goto out;
		evidence_rows(ev, b);
		for (size_t i = 0; i < b->ngroups; i++) {
			struct group *gr = &b->groups[i];
			const struct erow *r = gr->g[0];
			struct tkey k = { .id = r->id, .entity = r->entity, .field = r->field };
			if (r->field < 0 || !bsearch(&k, touched, ntouched, sizeof *touched, cmp_tkey))
				continue;
			gr->e = ents_find(r->entity == CRM_AF_ORG ? &b->orgs : &b->people, r->id);
			if (gr->e)
				gr->n = score_group(gr->g, gr->ng, r->field, &gr->c);
		}
		if (load_prefs(a, b, err) < 0)
			goto out;
		for (size_t i = 0; i < b->ngroups; i++)
			if (b->groups[i].c)
				decide_group(a, b, &b->groups[i]);
		if (write_applies(a, b, err) < 0 || write_suggestions(a, b, err) < 0)
			goto out;
	}
	rc = count_run(a, b, processed, err);
out:
	PQclear(ev);
	free(pids);
	free(oids);
	free(touched);
	return rc;
}

/* ---- transactions and retries ---- */

static void
tx_begin(struct crm_af *a)
{
	crm_db_run(a->c, a->o.dry_run ? "savepoint crm_af_batch" : "begin", 0, NULL);
	crm_af_declare_writer(a->c);
}

static void
tx_abort(struct crm_af *a)
{
	PGresult *r = crm_db_exec(a->c, a->o.dry_run ? "rollback to savepoint crm_af_batch" :
	    "rollback", 0, NULL);

	if (!crm_db_ok(r))
		crm_db_die(a->c, r, "rolling back");
	PQclear(r);
}

static int
tx_commit(struct crm_af *a, PGresult **err)
{
	if (a->o.dry_run) {
		crm_db_run(a->c, "release savepoint crm_af_batch", 0, NULL);
		return 0;
	}
	return crm_db_commit(a->c, err);
}

static void
clear_msgs(struct crm_af *a)
{
	for (size_t i = 0; i < a->nmsgs; i++)
		msg_free(&a->msgs[i]);
	a->nmsgs = 0;
	for (size_t i = 0; i < a->nevs; i++)
		free(a->evs[i].value);
	a->nevs = 0;
}

static void
observe_all(struct crm_af *a)
{
	for (size_t i = 0; i < a->nevs; i++)
		free(a->evs[i].value);
	a->nevs = 0;
	for (size_t i = 0; i < a->nmsgs; i++) {
		observe_signature(a, &a->msgs[i]);
		observe_enrichment(a, &a->msgs[i]);
	}
}

static void
emit_decisions(struct batch *b)
{
	for (size_t i = 0; i < json_object_array_length(b->out); i++) {
		json_object *d = json_object_array_get_idx(b->out, i);
		json_object_object_del(d, "old_prov");
		crm_emit_json(d);
	}
}

static void
add_counts(struct crm_af *a, const struct batch *b, unsigned long processed, unsigned long matched)
{
	a->k.processed += processed;
	a->k.matched += matched;
	a->k.applied += b->k.applied;
	a->k.confirmed += b->k.confirmed;
	a->k.suggested += b->k.suggested;
	a->k.conflicts += b->k.conflicts;
}

static _Noreturn void
batch_failed(struct crm_af *a, PGresult *err)
{
	crm_warn("database: autofill batch failed: %s", crm_db_errmsg(a->c, err));
	PQclear(err);
	tx_abort(a);
	clear_msgs(a);
	crm_af_finish(a, "failed");
	exit(CRM_EXIT_ENV);
}

/* ---- stored interactions ---- */

/* The claim deletes the oldest ids of the queue it can lock (SKIP LOCKED:
 * two runs never get the same one; deleted by the row address the lock
 * found), logs them as done by this run, and
 * reads the interactions by primary key; each sender is then matched by
 * index probes, one row at a time (LATERAL ... LIMIT 1 keeps the planner
 * from hashing the whole of interactions, people or organisations for
 * every batch; the keys are unique).  Outbound mail and bounces or lists
 * are not matched at all: they are only marked as processed.  (Their
 * signature and enrichment come whole: removing the unused keys on the
 * server costs it more than the client spends reading them.) */
static const char SQL_CLAIM[] =
    "with c as ("
    " delete from autofill_todo where ctid = any (array("
    "  select ctid from autofill_todo order by interaction_id limit $1::int"
    "  for update skip locked))"
    " returning interaction_id as id),"
    "d as (insert into autofill_done (interaction_id, run_id) select id, $2::bigint from c),"
    "u as ("
    " select c.id, i.person_id, i.organisation_id, i.from_name, i.from_email, i.date,"
    "  coalesce(i.outbound, true) as outbound, i.auto, i.signature, i.enrichment,"
    "  not coalesce(i.outbound or coalesce(i.auto in ('bounce', 'mailing_list'), false), true)"
    "   as wanted"
    " from c left join lateral (select * from interactions where id = c.id limit 1) i on true)"
    "select u.id, coalesce(u.person_id, p.id), coalesce(u.organisation_id, pr.organisation_id, o.id),"
    " o2.domain, u.from_name, lower(u.from_email), extract(epoch from u.date), u.outbound, u.auto,"
    " case when u.wanted then u.signature end,"
    " case when u.wanted then u.enrichment end"
    " from u"
    " left join lateral (select id from people where u.wanted and u.person_id is null"
    "  and email = lower(u.from_email) limit 1) p on true"
    " left join lateral (select organisation_id from people where u.wanted"
    "  and u.organisation_id is null and id = coalesce(u.person_id, p.id) limit 1) pr on true"
    " left join lateral (select id from organisations where u.wanted"
    "  and u.organisation_id is null and pr.organisation_id is null"
    "  and domain = lower(split_part(u.from_email, '@', 2)) limit 1) o on true"
    " left join lateral (select domain from organisations where u.wanted"
    "  and id = coalesce(u.organisation_id, pr.organisation_id, o.id) limit 1) o2 on true"
    " order by u.id";

static int
skip_auto(const char *autov)
{
	return autov && (!strcmp(autov, "bounce") || !strcmp(autov, "mailing_list"));
}

static char *
dup_or_null(PGresult *r, int i, int j)
{
	return PQgetisnull(r, i, j) ? NULL : crm_xstrdup(PQgetvalue(r, i, j));
}

static json_object *
parse_or_null(PGresult *r, int i, int j)
{
	json_object *o;

	if (PQgetisnull(r, i, j))
		return NULL;
	o = json_tokener_parse(PQgetvalue(r, i, j));
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Turn claimed rows into messages; returns how many matched someone. */
static unsigned long
claimed_msgs(struct crm_af *a, PGresult *r)
{
	unsigned long matched = 0;
	int n = PQntuples(r);
	char src[32];

	clear_msgs(a);
	if ((size_t)n > a->capmsgs) {
		a->capmsgs = (size_t)n;
		a->msgs = crm_xrealloc(a->msgs, a->capmsgs * sizeof *a->msgs);
	}
	for (int i = 0; i < n; i++) {
		const char *autov = PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8);
		struct msg m = { .iid = ll(PQgetvalue(r, i, 0)) };
		if (PQgetvalue(r, i, 7)[0] == 't' || skip_auto(autov))
			continue;
		m.pid = ll(PQgetvalue(r, i, 1));
		m.oid = ll(PQgetvalue(r, i, 2));
		if (!m.pid && !m.oid)
			continue;
		matched++;
		snprintf(src, sizeof src, "i:%lld", m.iid);
		m.source = crm_xstrdup(src);
		m.org_domain = dup_or_null(r, i, 3);
		m.from_name = dup_or_null(r, i, 4);
		m.from_email = dup_or_null(r, i, 5);
		m.date = PQgetisnull(r, i, 6) ? NAN : strtod(PQgetvalue(r, i, 6), NULL);
		m.sig = parse_or_null(r, i, 9);
		m.enr = parse_or_null(r, i, 10);
		a->msgs[a->nmsgs++] = m;
	}
	return matched;
}

/* One batch of stored interactions; returns how many were claimed. */
static long
stored_batch(struct crm_af *a, long want)
{
	char lim[24], run[24];
	const char *p[2] = { lim, run };

	snprintf(lim, sizeof lim, "%ld", want);
	snprintf(run, sizeof run, "%lld", a->run);
	for (int attempt = 0;; attempt++) {
		PGresult *r = NULL, *err = NULL;
		struct batch b;
		long n;
		unsigned long matched;

		tx_begin(a);
		if (q(a, SQL_CLAIM, 2, p, &r, &err) < 0) {
			PQclear(r);
			r = NULL;
			memset(&b, 0, sizeof b);
			goto failed;
		}
		n = PQntuples(r);
		matched = claimed_msgs(a, r);
		PQclear(r);
		observe_all(a);
		if (decide_batch(a, &b, (unsigned long)n, &err) < 0 || tx_commit(a, &err) < 0)
			goto failed;
		emit_decisions(&b);
		add_counts(a, &b, (unsigned long)n, matched);
		batch_free(&b);
		clear_msgs(a);
		return n;
failed:
		batch_free(&b);
		if (!crm_db_retryable(err) || attempt >= MAX_RETRIES)
			batch_failed(a, err);
		PQclear(err);
		tx_abort(a);
		a->k.retries++;
		crm_db_backoff(attempt, 5, 20);
	}
}

void
crm_af_process_stored(struct crm_af *a)
{
	long done = 0;

	for (;;) {
		long want = a->o.batch;
		if (a->o.limit > 0 && a->o.limit - done < want)
			want = a->o.limit - done;
		if (want <= 0)
			break;
		long n = stored_batch(a, want);
		done += n;
		crm_progress((unsigned long)done, "interactions");
		if (n < want)
			break;
	}
	crm_progress_end();
}

/* ---- records on stdin ---- */

/* "2025-10-30T09:12:00Z" (seconds, fraction and offset optional) -> epoch. */
static int
parse_date(const char *s, double *out)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	int sec = 0;
	long off = 0;

	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (!p)
		return -1;
	if (*p == ':') {
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
			return -1;
		sec = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, h, m = 0;
		if (sscanf(p + 1, "%2d:%2d", &h, &m) < 1 && sscanf(p + 1, "%2d%2d", &h, &m) < 1)
			return -1;
		off = sign * (h * 3600L + m * 60L);
		p += strlen(p);
	}
	if (*p)
		return -1;
	tm.tm_sec = sec;
	*out = (double)(timegm(&tm) - off);
	return 0;
}

int
crm_af_add_record(struct crm_af *a, const struct crm_rec *rec)
{
	json_object *from = crm_get(rec->obj, "from"), *sig = crm_get(rec->obj, "signature"),
	    *enr = crm_get(rec->obj, "enrichment");
	const char *email = from ? crm_get_str(from, "email") : NULL, *id = crm_get_str(rec->obj, "id"),
	    *date = crm_get_str(rec->obj, "date");
	struct msg m = { .date = NAN };
	char src[600];

	if (!email || !strchr(email, '@')) {
		crm_reject(rec, "record has no \"from\" address");
		return -1;
	}
	if ((sig && !json_object_is_type(sig, json_type_object)) ||
	    (enr && !json_object_is_type(enr, json_type_object))) {
		crm_reject(rec, "\"%s\" is not an object",
		    sig && !json_object_is_type(sig, json_type_object) ? "signature" : "enrichment");
		return -1;
	}
	if (!id)
		id = crm_get_str(rec->obj, "message_id");
	if (!id || !*id || strlen(id) > 512) {
		crm_reject(rec, "record has no \"id\"");
		return -1;
	}
	if (date && parse_date(date, &m.date) < 0) {
		crm_reject(rec, "\"date\" is not an ISO-8601 date");
		return -1;
	}
	snprintf(src, sizeof src, "r:%s", id);
	m.source = crm_xstrdup(src);
	m.from_email = crm_xstrdup(email);
	for (char *s = m.from_email; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	m.from_name = crm_get_str(from, "name") ? crm_xstrdup(crm_get_str(from, "name")) : NULL;
	m.sig = sig ? json_object_get(sig) : NULL;
	m.enr = enr ? json_object_get(enr) : NULL;
	m.iid = -1;      /* matched later */
	if (skip_auto(crm_get_str(rec->obj, "auto")))
		m.iid = -2;
	if (a->nmsgs == a->capmsgs) {
		a->capmsgs = a->capmsgs ? 2 * a->capmsgs : 256;
		a->msgs = crm_xrealloc(a->msgs, a->capmsgs * sizeof *a->msgs);
	}
	a->msgs[a->nmsgs++] = m;
	if ((long)a->nmsgs >= a->o.batch)
		crm_af_finish(a, NULL);
	return 0;
}

static const char SQL_MATCH[] =
    "select v.n, coalesce(i.person_id, p.id), coalesce(i.organisation_id, p.organisation_id, o.id),"
    " o2.domain, i.id,"
    " exists (select 1 from users u where u.email = v.email)"
    "  or exists (select 1 from mail_accounts m where lower(m.address) = v.email)"
    " from jsonb_to_recordset($1::jsonb) as v(n int, email text, rid text)"
    " left join lateral (select id, person_id, organisation_id from interactions"
    "  where record_id = v.rid order by id limit 1 for key share) i on true"
    " left join lateral (select id, organisation_id from people"
    "  where email = v.email or (other_emails <> '{}' and other_emails @> array[v.email])"
    "  order by email = v.email desc, id limit 1) p on true"
    " left join organisations o on o.domain = split_part(v.email, '@', 2)"
    " left join organisations o2 on o2.id = coalesce(i.organisation_id, p.organisation_id, o.id)"
    " order by v.n";

/* Match the queued records to people and organisations. */
static int
match_records(struct crm_af *a, unsigned long *matched, PGresult **err)
{
	json_object *arr = json_object_new_array();
	PGresult *r;
	char src[32];

	for (size_t i = 0; i < a->nmsgs; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "n", json_object_new_int((int)i));
		jadd_str(o, "email", a->msgs[i].from_email);
		jadd_str(o, "rid", a->msgs[i].source + 2);
		json_object_array_add(arr, o);
	}
	const char *p[1] = { jtext(arr) };
	int rc = q(a, SQL_MATCH, 1, p, &r, err);
	json_object_put(arr);
	if (rc < 0)
		return -1;
	*matched = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		struct msg *m = &a->msgs[atoi(PQgetvalue(r, i, 0))];
		int skip = m->iid == -2 || PQgetvalue(r, i, 5)[0] == 't';
		m->iid = ll(PQgetvalue(r, i, 4));
		m->pid = skip ? 0 : ll(PQgetvalue(r, i, 1));
		m->oid = skip ? 0 : ll(PQgetvalue(r, i, 2));
		free(m->org_domain);
		m->org_domain = dup_or_null(r, i, 3);
		if (m->iid) {
			/* the stored message: its evidence is the same as when it is
			 * processed from the database */
			snprintf(src, sizeof src, "i:%lld", m->iid);
			free(m->source);
			m->source = crm_xstrdup(src);
		}
		*matched += m->pid || m->oid;
	}
	PQclear(r);
	return 0;
}

static void
records_batch(struct crm_af *a)
{
	unsigned long n = a->nmsgs;

	for (int attempt = 0;; attempt++) {
		PGresult *err = NULL;
		struct batch b;
		unsigned long matched = 0;

		memset(&b, 0, sizeof b);
		tx_begin(a);
		if (match_records(a, &matched, &err) < 0)
			goto failed;
		observe_all(a);
		if (decide_batch(a, &b, n, &err) < 0 || tx_commit(a, &err) < 0)
			goto failed;
		emit_decisions(&b);
		add_counts(a, &b, n, matched);
		batch_free(&b);
		clear_msgs(a);
		crm_progress(a->k.processed, "records");
		return;
failed:
		batch_free(&b);
		if (!crm_db_retryable(err) || attempt >= MAX_RETRIES)
			batch_failed(a, err);
		PQclear(err);
		tx_abort(a);
		a->k.retries++;
		crm_db_backoff(attempt, 5, 20);
	}
}

/* ---- the run ---- */

struct crm_af *
crm_af_new(PGconn *c, const struct crm_af_opts *o)
{
	struct crm_af *a = crm_xcalloc(1, sizeof *a);
	char host[256] = "", pid[24], thr[32], lim[24];
	const char *p[6];
	PGresult *r;

	a->c = c;
	a->o = *o;
	if (a->o.batch <= 0)
		a->o.batch = 1000;
	wordlist_load(&a->shared, crm_rules_path("autofill/shared-addresses.txt"));
	if (a->o.user_id)
		a->user_team = crm_learn_user_team(c, a->o.user_id);
	gethostname(host, sizeof host - 1);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	snprintf(thr, sizeof thr, "%.6g", a->o.threshold);
	snprintf(lim, sizeof lim, "%ld", a->o.limit);
	p[0] = host;
	p[1] = pid;
	p[2] = a->o.dry_run ? "t" : "f";
	p[3] = thr;
	p[4] = a->o.limit > 0 ? lim : NULL;
	p[5] = a->o.note;
	if (a->o.dry_run)
		crm_db_run(c, "begin", 0, NULL);
	r = crm_db_must(c, "insert into autofill_runs (host, pid, dry_run, threshold,"
	    " max_interactions, note) values ($1, $2::int, $3::boolean, $4::real, $5::int, $6)"
	    " returning id", 6, p);
	a->run = ll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return a;
}

long long
crm_af_run_id(const struct crm_af *a)
{
	return a->run;
}

const struct crm_af_counts *
crm_af_counts(const struct crm_af *a)
{
	return &a->k;
}

void
crm_af_finish(struct crm_af *a, const char *status)
{
	char run[24];
	const char *p[2] = { run, status };

	if (a->nmsgs)
		records_batch(a);
	if (!status)
		return;
	snprintf(run, sizeof run, "%lld", a->run);
	if (a->o.dry_run) {
		crm_db_run(a->c, "rollback", 0, NULL);
		return;
	}
	if (crm_db_lost(a->c, NULL))
		return;
	PGresult *r = crm_db_exec(a->c, "update autofill_runs set status = $2, finished_at = now()"
	    " where id = $1::bigint", 2, p);
	if (!crm_db_ok(r) && strcmp(status, "failed"))
		crm_db_die(a->c, r, "ending the run");
	PQclear(r);
}

void
crm_af_free(struct crm_af *a)
{
	if (!a)
		return;
	clear_msgs(a);
	free(a->msgs);
	free(a->evs);
	wordlist_free(&a->shared);
	free(a);
}

/* ---- undo ---- */

/* Revert one change when its field still holds the new value with the
 * run's provenance (checked in the UPDATE itself, so a concurrent edit
 * either happens before and is seen, or waits).  1: reverted. */
static int
undo_change(PGconn *c, int e, int f, const char *cid, const char *run)
{
	char sql[1024];
	const char *col = crm_af_field_name(f), *p[2] = { cid, run };
	PGresult *r;
	int n;

	snprintf(sql, sizeof sql,
	    "update %s t set %s = ch.old_value,"
	    " provenance = case when ch.old_provenance is null then t.provenance - '%s'"
	    "  else jsonb_set(t.provenance, '{%s}', ch.old_provenance) end"
	    " from autofill_changes ch where ch.id = $1::bigint and t.id = ch.entity_id"
	    " and t.%s = ch.new_value and t.provenance -> '%s' ->> 'run_id' = $2"
	    " and t.provenance -> '%s' ->> 'method' = 'autofill'",
	    crm_af_entity_table(e), col, col, col, col, col, col);
	r = crm_db_must(c, sql, 2, p);
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n > 0;
}

static void
undo_kept(PGconn *c, long long run, int e, int f, const char *cid, const char *eid)
{
	char sql[512];
	const char *p[1] = { eid };
	PGresult *r;

	snprintf(sql, sizeof sql, "select %s from %s where id = $1::bigint", crm_af_field_name(f),
	    crm_af_entity_table(e));
	r = crm_db_must(c, sql, 1, p);
	const char *why = PQntuples(r) ? "changed since" : "deleted since";
	const char *cur = PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
	crm_warn("run %lld: %s %s %s: not reverted, %s (now %s%s%s)", run, crm_af_entity_name(e),
	    eid, crm_af_field_name(f), why, cur ? "'" : "", cur ? cur : "empty", cur ? "'" : "");
	const char *pn[2] = { cid, why };
	crm_db_run(c, "update autofill_changes set undo_note = $2 where id = $1::bigint", 2, pn);
	PQclear(r);
}

int
crm_af_undo(PGconn *c, long long run, struct crm_af_undo *u)
{
	char id[24], kept[24];
	const char *p[1] = { id };
	PGresult *r, *err = NULL;

	memset(u, 0, sizeof *u);
	snprintf(id, sizeof id, "%lld", run);
	crm_db_run(c, "begin", 0, NULL);
	crm_af_declare_writer(c);
	r = crm_db_must(c, "select status from autofill_runs where id = $1::bigint for update", 1, p);
	if (PQntuples(r) == 0) {
		PQclear(r);
		crm_db_rollback(c);
		return -1;
	}
	PQclear(r);
	r = crm_db_must(c, "select id, entity_type, entity_id, field, undone_at is not null"
	    " from autofill_changes where run_id = $1::bigint"
	    " order by entity_type, entity_id, id for update", 1, p);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *cid = PQgetvalue(r, i, 0), *eid = PQgetvalue(r, i, 2);
		int e = crm_af_entity_parse(PQgetvalue(r, i, 1));
		int f = crm_af_field_find(e, PQgetvalue(r, i, 3));
		if (PQgetvalue(r, i, 4)[0] == 't') {
			u->earlier++;
			continue;
		}
		if (e < 0 || f < 0)
			continue;
		if (undo_change(c, e, f, cid, id)) {
			const char *pc[1] = { cid };
			crm_db_run(c, "update autofill_changes set undone_at = now(), undo_note = 'reverted'"
			    " where id = $1::bigint", 1, pc);
			u->reverted++;
		} else {
			undo_kept(c, run, e, f, cid, eid);
			u->kept++;
		}
	}
	PQclear(r);
	snprintf(kept, sizeof kept, "%lu", u->kept);
	crm_db_run(c, "update autofill_runs set status = 'undone', undone_at = coalesce(undone_at, now()),"
	    " note = case when $2::int > 0 then concat_ws('; ', note, $2 || ' change(s) not reverted')"
	    "  else note end where id = $1::bigint", 2, (const char *const[]){ id, kept });
	if (crm_db_commit(c, &err) < 0)
		crm_db_die(c, err, "undo");
	return 0;
}
