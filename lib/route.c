/* route.c — routing rules (see route.h, crm-route(1)).
 *
 * Why this shape: a rule is a conjunction of conditions, each a small set
 * of alternatives (intents, auto types, domains, owners) or one PCRE2
 * pattern, so a rule reads like the sentence an operator would say ("quote
 * requests from alforis.com go to bob").  Rules are sorted once by
 * priority (then file order or id) and tried in order; the first that
 * holds wins.  Patterns are compiled once, caseless and UTF-8, with JIT
 * when available.  Organisation owners come from the database and are
 * cached per sender address, so a mailbox of thousands of messages from
 * a few hundred senders costs a few hundred look-ups. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "route.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L_INTENT, L_AUTO, L_DOMAIN, L_OWNER, NLISTS };
enum { P_SUBJECT, P_TEXT, NPATS };

static const char *const list_names[NLISTS] = { "intent", "auto", "domain", "owner" };
static const char *const pat_names[NPATS] = { "subject", "text" };

static const char *const intents[] = { "meeting_request", "quote_request", "information_request",
	"interested", "not_interested", "referral", "follow_up", "complaint", "unsubscribe",
	"out_of_office", "other", NULL };
static const char *const autos[] = { "none", "out_of_office", "bounce", "auto_reply",
	"mailing_list", NULL };

struct rule {
	char *name, *assign;          /* assign NULL or "owner": the organisation's owner */
	long priority, order;
	char **list[NLISTS];
	size_t nlist[NLISTS];
	int has[NLISTS];
	pcre2_code *re[NPATS];
};

struct crm_routes {
	struct rule *v;
	size_t n;
	PGconn *c;
	char *def;
	json_object *owners;          /* sender address -> owner login (or null) */
	pcre2_match_data *md;
};

static void
rule_free(struct rule *r)
{
	free(r->name);
	free(r->assign);
	for (int l = 0; l < NLISTS; l++) {
		for (size_t i = 0; i < r->nlist[l]; i++)
			free(r->list[l][i]);
		free(r->list[l]);
	}
	for (int p = 0; p < NPATS; p++)
		pcre2_code_free(r->re[p]);
}

void
crm_route_free(struct crm_routes *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->v[i]);
	free(rs->v);
	free(rs->def);
	json_object_put(rs->owners);
	pcre2_match_data_free(rs->md);
	free(rs);
}

size_t
crm_route_count(const struct crm_routes *rs)
{
	return rs->n;
}

static struct crm_routes *
routes_new(void)
{
	struct crm_routes *rs = crm_xcalloc(1, sizeof *rs);

	rs->owners = json_object_new_object();
	rs->md = pcre2_match_data_create(1, NULL);
	return rs;
}

static struct rule *
rule_add(struct crm_routes *rs, const char *name, long order)
{
	struct rule *r;

	rs->v = crm_xrealloc(rs->v, (rs->n + 1) * sizeof *rs->v);
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof *r);
	r->name = crm_xstrdup(name);
	r->priority = 100;
	r->order = order;
	return r;
}

static int
cmp_rule(const void *x, const void *y)
{
	const struct rule *a = x, *b = y;

	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int
known(const char *const *set, const char *v)
{
	for (; *set; set++)
		if (!strcmp(*set, v))
			return 1;
	return 0;
}

/* Add the words of s (separated by spaces or commas) to list l; checks
 * intents and auto types against their vocabularies. */
static int
add_words(struct rule *r, int l, const char *s, char *err, size_t errlen)
{
	char *copy = crm_xstrdup(s), *save = NULL;
	int rc = 0;

	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		if (l != L_OWNER)
			for (char *p = w; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		if ((l == L_INTENT && !known(intents, w)) || (l == L_AUTO && !known(autos, w))) {
			snprintf(err, errlen, "unknown %s '%s'", list_names[l], w);
			rc = -1;
			break;
		}
		if (l == L_DOMAIN && *w == '@')
			memmove(w, w + 1, strlen(w));
		r->list[l] = crm_xrealloc(r->list[l], (r->nlist[l] + 1) * sizeof *r->list[l]);
		r->list[l][r->nlist[l]++] = crm_xstrdup(w);
	}
	free(copy);
	if (!rc && !r->nlist[l]) {
		snprintf(err, errlen, "%s needs at least one value", list_names[l]);
		rc = -1;
	}
	r->has[l] = 1;
	return rc;
}

static int
compile(struct rule *r, int p, const char *pat, char *err, size_t errlen)
{
	int code;
	PCRE2_SIZE off;

	if (!*pat) {
		snprintf(err, errlen, "%s needs a pattern", pat_names[p]);
		return -1;
	}
	r->re[p] = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
	if (!r->re[p]) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		snprintf(err, errlen, "%s: bad pattern at offset %zu: %s", pat_names[p], (size_t)off,
		    (char *)msg);
		return -1;
	}
	pcre2_jit_compile(r->re[p], PCRE2_JIT_COMPLETE);
	return 0;
}

static int
name_ok(const char *s)
{
	if (!*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

static int
parse_long_word(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	return errno || end == s || *end ? -1 : 0;
}

/* One line of a rules file; cur is the rule being read (or NULL). */
static int
parse_line(struct crm_routes *rs, struct rule **cur, char *line, long no, char *err, size_t errlen)
{
	char *kw = line, *rest;
	int l, p;

	while (isspace((unsigned char)*kw))
		kw++;
	if (!*kw || *kw == '#')
		return 0;
	rest = kw + strcspn(kw, " \t");
	if (*rest)
		*rest++ = 0;
	while (isspace((unsigned char)*rest))
		rest++;
	for (char *e = rest + strlen(rest); e > rest && isspace((unsigned char)e[-1]);)
		*--e = 0;
	if (!strcmp(kw, "rule")) {
		char *name = rest, *tail = rest + strcspn(rest, " \t");
		long prio;
		if (*tail)
			*tail++ = 0;
		while (isspace((unsigned char)*tail))
			tail++;
		if (!name_ok(name)) {
			snprintf(err, errlen, "rule needs a name of letters, digits, '_', '.' or '-'");
			return -1;
		}
		for (size_t i = 0; i < rs->n; i++)
			if (!strcmp(rs->v[i].name, name)) {
				snprintf(err, errlen, "rule '%s' is defined twice", name);
				return -1;
			}
		*cur = rule_add(rs, name, no);
		if (*tail) {
			if (strncmp(tail, "priority", 8) || !isspace((unsigned char)tail[8]) ||
			    parse_long_word(tail + 9, &prio) < 0) {
				snprintf(err, errlen, "expected 'rule NAME [priority N]'");
				return -1;
			}
			(*cur)->priority = prio;
		}
		return 0;
	}
	if (!strcmp(kw, "default")) {
		if (!name_ok(rest)) {
			snprintf(err, errlen, "default needs one assignee login");
			return -1;
		}
		free(rs->def);
		rs->def = crm_xstrdup(rest);
		return 0;
	}
	if (!*cur) {
		snprintf(err, errlen, "'%s' outside a rule (start one with 'rule NAME')", kw);
		return -1;
	}
	if (!strcmp(kw, "priority")) {
		if (parse_long_word(rest, &(*cur)->priority) < 0) {
			snprintf(err, errlen, "priority needs a number");
			return -1;
		}
		return 0;
	}
	if (!strcmp(kw, "assign")) {
		if (!name_ok(rest) || (*cur)->assign) {
			snprintf(err, errlen, (*cur)->assign ? "assign given twice" :
			    "assign needs one login, or 'owner'");
			return -1;
		}
		(*cur)->assign = crm_xstrdup(rest);
		return 0;
	}
	for (l = 0; l < NLISTS; l++)
		if (!strcmp(kw, list_names[l])) {
			if ((*cur)->has[l]) {
				snprintf(err, errlen, "%s given twice in rule '%s'", kw, (*cur)->name);
				return -1;
			}
			return add_words(*cur, l, rest, err, errlen);
		}
	for (p = 0; p < NPATS; p++)
		if (!strcmp(kw, pat_names[p])) {
			if ((*cur)->re[p]) {
				snprintf(err, errlen, "%s given twice in rule '%s'", kw, (*cur)->name);
				return -1;
			}
			return compile(*cur, p, rest, err, errlen);
		}
	snprintf(err, errlen, "unknown keyword '%s' (rule, priority, intent, auto, domain, owner, "
	    "subject, text, assign, default)", kw);
	return -1;
}

struct crm_routes *
crm_route_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct crm_routes *rs;
	struct rule *cur = NULL;
	char *line = NULL, msg[512];
	size_t cap = 0;
	ssize_t len;
	long no = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	rs = routes_new();
	while ((len = getline(&line, &cap, f)) >= 0) {
		no++;
		if ((size_t)len != strlen(line)) {
			snprintf(err, errlen, "%s:%ld: NUL byte in the line", path, no);
			goto bad;
		}
		line[strcspn(line, "\r\n")] = 0;
		if (parse_line(rs, &cur, line, no, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s:%ld: %s", path, no, msg);
			goto bad;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	free(line);
	fclose(f);
	if (rs->n)
		qsort(rs->v, rs->n, sizeof *rs->v, cmp_rule);
	return rs;
bad:
	free(line);
	fclose(f);
	crm_route_free(rs);
	return NULL;
}

struct crm_routes *
crm_route_load_db(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = crm_db_must(c, "select id, name, priority, match_intent, match_auto, match_domain,"
	    " match_owner, match_subject, match_text, assignee from routing_rules where enabled"
	    " order by priority, id", 0, NULL);
	struct crm_routes *rs = routes_new();
	char msg[512];

	for (int i = 0; i < PQntuples(r); i++) {
		struct rule *ru = rule_add(rs, PQgetvalue(r, i, 1), strtol(PQgetvalue(r, i, 0), NULL, 10));
		ru->priority = strtol(PQgetvalue(r, i, 2), NULL, 10);
		for (int l = 0; l < NLISTS; l++)
			if (!PQgetisnull(r, i, 3 + l) && add_words(ru, l, PQgetvalue(r, i, 3 + l), msg,
			    sizeof msg) < 0)
				goto bad;
		for (int p = 0; p < NPATS; p++)
			if (!PQgetisnull(r, i, 7 + p) && compile(ru, p, PQgetvalue(r, i, 7 + p), msg,
			    sizeof msg) < 0)
				goto bad;
		if (!PQgetisnull(r, i, 9) && *PQgetvalue(r, i, 9))
			ru->assign = crm_xstrdup(PQgetvalue(r, i, 9));
		continue;
bad:
		snprintf(err, errlen, "routing_rules '%s' (id %s): %s", PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 0), msg);
		PQclear(r);
		crm_route_free(rs);
		return NULL;
	}
	PQclear(r);
	if (rs->n)
		qsort(rs->v, rs->n, sizeof *rs->v, cmp_rule);
	return rs;
}

void
crm_route_set_db(struct crm_routes *rs, PGconn *c)
{
	rs->c = c;
}

void
crm_route_set_default(struct crm_routes *rs, const char *assignee, int override)
{
	if (rs->def && !override)
		return;
	free(rs->def);
	rs->def = assignee ? crm_xstrdup(assignee) : NULL;
}

/* ---- matching ---- */

struct facts {
	const char *intent, *autov, *email, *domain, *subject, *text;
	size_t subject_len, text_len;
	const char *owner;
	int owner_known;
};

static const char *
owner_of(struct crm_routes *rs, struct facts *f)
{
	json_object *v;
	PGresult *r;

	if (f->owner_known)
		return f->owner;
	f->owner_known = 1;
	if (!rs->c || !f->email)
		return f->owner = NULL;
	if (json_object_object_get_ex(rs->owners, f->email, &v))
		return f->owner = v ? json_object_get_string(v) : NULL;
	const char *p[2] = { f->email, f->domain ? f->domain : "" };
	r = crm_db_must(rs->c,
	    "select u.login from organisations o join users u on u.id = o.owner_id"
	    " where o.id = coalesce((select organisation_id from people where email = $1 limit 1),"
	    "  (select id from organisations where domain = $2))", 2, p);
	v = PQntuples(r) ? json_object_new_string(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	json_object_object_add(rs->owners, f->email, v);
	return f->owner = v ? json_object_get_string(v) : NULL;
}

static int
domain_in(const struct rule *r, const char *d)
{
	size_t n = d ? strlen(d) : 0;

	for (size_t i = 0; n && i < r->nlist[L_DOMAIN]; i++) {
		const char *w = r->list[L_DOMAIN][i];
		size_t k = strlen(w);
		if (!strcmp(d, w) || (n > k && d[n - k - 1] == '.' && !strcmp(d + n - k, w)))
			return 1;
	}
	return 0;
}

static int
word_in(const struct rule *r, int l, const char *v)
{
	for (size_t i = 0; v && i < r->nlist[l]; i++)
		if (!strcmp(r->list[l][i], v))
			return 1;
	return 0;
}

static int
pat_match(struct crm_routes *rs, pcre2_code *re, const char *s, size_t n)
{
	return s && pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, rs->md, NULL) >= 0;
}

/* NULL when rule r holds, else the name of the first condition that fails. */
static const char *
failing(struct crm_routes *rs, const struct rule *r, struct facts *f)
{
	if (r->has[L_INTENT] && !word_in(r, L_INTENT, f->intent))
		return "intent";
	if (r->has[L_AUTO] && !word_in(r, L_AUTO, f->autov))
		return "auto";
	if (r->has[L_DOMAIN] && !domain_in(r, f->domain))
		return "domain";
	if (r->re[P_SUBJECT] && !pat_match(rs, r->re[P_SUBJECT], f->subject, f->subject_len))
		return "subject";
	if (r->re[P_TEXT] && !pat_match(rs, r->re[P_TEXT], f->text, f->text_len))
		return "text";
	if (r->has[L_OWNER] && !word_in(r, L_OWNER, owner_of(rs, f)))
		return "owner";
	return NULL;
}

static void
facts_of(json_object *rec, struct facts *f, char *domain, size_t dn)
{
	json_object *v, *from = crm_get(rec, "from"), *body = crm_get(rec, "body");

	memset(f, 0, sizeof *f);
	v = crm_get(rec, "intent");
	f->intent = v && json_object_is_type(v, json_type_object) ? crm_get_str(v, "label") : NULL;
	f->autov = crm_get_str(rec, "auto") ? crm_get_str(rec, "auto") : "none";
	f->email = from && json_object_is_type(from, json_type_object) ? crm_get_str(from, "email") : NULL;
	if (f->email && strchr(f->email, '@')) {
		snprintf(domain, dn, "%s", strrchr(f->email, '@') + 1);
		for (char *p = domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		f->domain = domain;
	}
	if ((v = crm_get(rec, "subject")) && json_object_is_type(v, json_type_string)) {
		f->subject = json_object_get_string(v);
		f->subject_len = (size_t)json_object_get_string_len(v);
	}
	v = body && json_object_is_type(body, json_type_object) ? crm_get(body, "reply") : NULL;
	if (!v || !json_object_is_type(v, json_type_string))
		v = crm_get(rec, "text");
	if (v && json_object_is_type(v, json_type_string)) {
		f->text = json_object_get_string(v);
		f->text_len = (size_t)json_object_get_string_len(v);
	}
}

static void
explain_add(json_object *ex, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!ex)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_object_array_add(ex, json_object_new_string(buf));
}

json_object *
crm_route_record(struct crm_routes *rs, json_object *rec, int explain)
{
	struct facts f;
	char domain[256];
	json_object *o = json_object_new_object(), *ex = explain ? json_object_new_array() : NULL;
	const struct rule *hit = NULL;
	const char *assignee = NULL, *by = NULL;

	facts_of(rec, &f, domain, sizeof domain);
	for (size_t i = 0; i < rs->n && !hit; i++) {
		const char *why = failing(rs, &rs->v[i], &f);
		if (!why)
			hit = &rs->v[i];
		explain_add(ex, "rule %s (priority %ld): %s%s", rs->v[i].name, rs->v[i].priority,
		    why ? "no, " : "matched", why ? why : "");
	}
	if (hit && hit->assign && strcmp(hit->assign, "owner")) {
		assignee = hit->assign;
		by = "rule";
	} else {
		if (!hit)
			explain_add(ex, "no rule matched");
		if ((assignee = owner_of(rs, &f))) {
			by = "owner";
			explain_add(ex, "owner of the sender's organisation: %s", assignee);
		} else {
			explain_add(ex, rs->c ? "the sender's organisation has no owner" :
			    "organisation owners unknown (no database)");
			if ((assignee = rs->def)) {
				by = "default";
				explain_add(ex, "default assignee: %s", assignee);
			} else
				explain_add(ex, "no default assignee: nobody");
		}
	}
	json_object_object_add(o, "assignee", assignee ? json_object_new_string(assignee) : NULL);
	json_object_object_add(o, "rule_id", hit ? json_object_new_string(hit->name) : NULL);
	json_object_object_add(o, "by", by ? json_object_new_string(by) : NULL);
	if (ex)
		json_object_object_add(o, "explain", ex);
	return o;
}
