/* wrules.c — weighted rules (see wrules.h).
 *
 * File format, one rule a line ('#' comments):
 *     ID  LABEL  WEIGHT  FLAGS  PATTERN...
 *     weight ID WEIGHT
 * FLAGS is '-' or a comma list of: subject (match the subject only), both
 * (subject and body), neg=LABEL (a match preceded by a negation in the
 * same clause counts for LABEL instead), neg=- (a negated match counts
 * for nothing), each=N (the rule counts up to N times in a message, 1..9:
 * word fields whose every distinct hit is evidence).  PATTERN is the rest of the line, a PCRE2 pattern applied
 * caseless, UTF-8 and Unicode-aware to folded text (no accents, lower
 * case, straight quotes), so "interess" also matches "Intéressé".
 *
 * Why triggers: a message must cost microseconds.  Running a hundred
 * patterns over the text, or one alternation of them (which PCRE2 tries
 * branch by branch at every position), costs milliseconds.  So each
 * pattern's literal prefixes are read off its source ("\\b(?:rendez-vous|
 * rdv)" begins with "rendez-vous" or "rdv"), and the text is walked word
 * start by word start: only a rule one of whose prefixes is there is run,
 * anchored at that word (JIT).  Patterns that do not begin with literals
 * (a class, an optional group, ^) are kept in one JIT alternation, each
 * branch tagged with (*MARK:n), scanned over the whole text; keep them
 * few.  Semantics, documented in crm-intent(1): matches of the prefixed
 * rules do not overlap, and at one word the first rule in file order
 * that matches wins (put negations and specific phrases first).
 * Numbered back-references would shift in the alternation and are
 * refused. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "wrules.h"
#include "buf.h"
#include "exitcode.h"
#include "fold.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS (PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS)

struct rule {
	struct crm_wrule pub;
	char *id, *pattern, *file;
	pcre2_code *re;               /* anchored, when the rule has triggers */
};

struct trigger {
	char *lit;
	size_t len;
	int rule;
};

struct crm_wrules {
	const char *const *labels;
	struct rule *r;
	size_t n, cap;
	struct trigger *trig;         /* sorted by their first two bytes, then rule */
	size_t ntrig;
	struct bucket {
		unsigned key;             /* first two bytes (second 0 for 1-byte prefixes), +1 */
		unsigned start, end;      /* range in trig */
	} map[4096];
	pcre2_code *re[3];            /* rules without triggers, by scope bit: 1 body, 2 subject */
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *stack;
};

struct crm_wrules *
crm_wrules_new(const char *const *labels)
{
	struct crm_wrules *w = crm_xcalloc(1, sizeof *w);
	w->labels = labels;
	return w;
}

static int
label_index(const struct crm_wrules *w, const char *name)
{
	if (!strcmp(name, "none"))
		return CRM_WR_NEUTRAL;
	for (int i = 0; w->labels[i]; i++)
		if (!strcmp(w->labels[i], name))
			return i;
	return -3;
}

static struct rule *
by_id(struct crm_wrules *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->r[i].id, id))
			return &w->r[i];
	return NULL;
}

static char *
field(char **s)
{
	char *p = *s, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	start = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	*s = p;
	return start;
}

static double
weight(const char *path, long line, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < -100 || v > 100)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: weight must be a number in -100..100: '%s'",
		    path, line, s);
	return v;
}

/* Compile one pattern alone: errors name the line, before it is merged. */
static void
check_pattern(const char *path, long line, const char *pat)
{
	int err;
	PCRE2_SIZE off;
	uint32_t backref = 0, minlen = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, OPTS, &err, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		crm_die(CRM_EXIT_USAGE, "%s:%ld: bad pattern at offset %zu: %s", path, line,
		    (size_t)off, (char *)msg);
	}
	pcre2_pattern_info(re, PCRE2_INFO_BACKREFMAX, &backref);
	pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &minlen);
	pcre2_code_free(re);
	if (backref)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: numbered back-references are not supported", path, line);
	if (minlen == 0)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: pattern can match the empty string", path, line);
}

static void
parse_flags(struct crm_wrules *w, const char *path, long line, char *flags, struct rule *r)
{
	r->pub.scope = CRM_WR_BODY;
	r->pub.neg = r->pub.label;
	r->pub.each = 1;
	if (!strcmp(flags, "-"))
		return;
	for (char *f = strtok(flags, ","); f; f = strtok(NULL, ",")) {
		if (!strcmp(f, "subject"))
			r->pub.scope = CRM_WR_SUBJECT;
		else if (!strcmp(f, "both"))
			r->pub.scope = CRM_WR_BODY | CRM_WR_SUBJECT;
		else if (!strncmp(f, "each=", 5) && f[5] >= '1' && f[5] <= '9' && !f[6])
			r->pub.each = f[5] - '0';
		else if (!strcmp(f, "neg=-"))
			r->pub.neg = CRM_WR_DROP;
		else if (!strncmp(f, "neg=", 4)) {
			int l = label_index(w, f + 4);
			if (l < CRM_WR_NEUTRAL)
				crm_die(CRM_EXIT_USAGE, "%s:%ld: unknown label '%s' in flags", path, line, f + 4);
			r->pub.neg = l;
		} else
			crm_die(CRM_EXIT_USAGE, "%s:%ld: unknown flag '%s' (subject, both, neg=LABEL, neg=-, each=N)",
			    path, line, f);
	}
}

static void
set_rule(struct crm_wrules *w, const char *path, long line, char *id, char *label,
    char *wt, char *flags, char *pat)
{
	struct rule *r = by_id(w, id);
	int l = label_index(w, label);

	if (l < CRM_WR_NEUTRAL)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: unknown label '%s'", path, line, label);
	check_pattern(path, line, pat);
	if (!r) {
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			w->r = crm_xrealloc(w->r, w->cap * sizeof *w->r);
		}
		r = &w->r[w->n++];
		memset(r, 0, sizeof *r);
		r->id = crm_xstrdup(id);
	} else {
		free(r->pattern);
		free(r->file);
	}
	r->pattern = crm_xstrdup(pat);
	r->file = crm_xstrdup(path);
	r->pub.label = l;
	r->pub.weight = weight(path, line, wt);
	r->pub.line = line;
	parse_flags(w, path, line, flags, r);
}

void
crm_wrules_load(struct crm_wrules *w, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	ssize_t len;

	if (!f)
		crm_die(CRM_EXIT_USAGE, "rules file %s:", path);
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (memchr(line, 0, (size_t)len))
			crm_die(CRM_EXIT_USAGE, "%s:%ld: NUL byte in rules file", path, lineno);
		char *s = line, *id = field(&s);
		if (!id || *id == '#')
			continue;
		if (!strcmp(id, "weight")) {
			char *rid = field(&s), *wt = field(&s);
			struct rule *r = rid ? by_id(w, rid) : NULL;
			if (!rid || !wt || field(&s))
				crm_die(CRM_EXIT_USAGE, "%s:%ld: expected 'weight ID WEIGHT'", path, lineno);
			if (!r)
				crm_die(CRM_EXIT_USAGE, "%s:%ld: no rule '%s' to reweight", path, lineno, rid);
			r->pub.weight = weight(path, lineno, wt);
			continue;
		}
		char *label = field(&s), *wt = field(&s), *flags = field(&s);
		while (*s == ' ' || *s == '\t')
			s++;
		if (!label || !wt || !flags || !*s)
			crm_die(CRM_EXIT_USAGE, "%s:%ld: expected 'ID LABEL WEIGHT FLAGS PATTERN'",
			    path, lineno);
		set_rule(w, path, lineno, id, label, wt, flags, s);
	}
	free(line);
	if (ferror(f))
		crm_die(CRM_EXIT_USAGE, "rules file %s: read error", path);
	fclose(f);
}

static pcre2_code *
combine(struct crm_wrules *w, unsigned scope)
{
	struct crm_buf b = CRM_BUF_INIT;
	pcre2_code *re;
	int err;
	PCRE2_SIZE off;

	for (size_t i = 0; i < w->n; i++) {
		if (!(w->r[i].pub.scope & scope) || w->r[i].pub.weight == 0 || w->r[i].re)
			continue;
		crm_buf_printf(&b, "%s(*MARK:%zu)(?:%s)", b.len ? "|" : "", i, w->r[i].pattern);
	}
	if (!b.len)
		return NULL;
	re = pcre2_compile((PCRE2_SPTR)b.s, b.len, OPTS, &err, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		crm_die(CRM_EXIT_USAGE, "rules: combined pattern does not compile: %s", (char *)msg);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter */
	crm_buf_free(&b);
	return re;
}

/* ---- literal prefixes of a pattern ---- */

static int alternatives(const char *s, size_t n, struct crm_buf *out, int depth);

/* End of the group opened at s[0] == '(' (index of its ')'), or n. */
static size_t
group_end(const char *s, size_t n)
{
	int depth = 0, cls = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (cls) {
			cls = s[i] != ']';
			continue;
		}
		if (s[i] == '[')
			cls = 1;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i;
	}
	return n;
}

/* The prefixes one alternative can begin with, appended to out as
 * NUL-terminated strings; -1 when it can begin with anything. */
static int
alternative(const char *s, size_t n, struct crm_buf *out, int depth)
{
	size_t i = 0, start = out->len;

	while (i + 1 < n && s[i] == '\\' && s[i + 1] == 'b')
		i += 2;
	if (i + 2 < n && s[i] == '(' && s[i + 1] == '?' && s[i + 2] == ':') {
		size_t j = i + group_end(s + i, n - i);
		if (j >= n || (j + 1 < n && strchr("?*{", s[j + 1])))
			return -1;
		return alternatives(s + i + 3, j - i - 3, out, depth + 1);
	}
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == ' ' || c == '\'' || c == '-' || c == ',' || c == '"' || c >= 0x80) {
			crm_buf_addc(out, (char)tolower(c));
			i++;
		} else if (c == '\\' && i + 1 < n && strchr(".-'/ #&@", s[i + 1])) {
			crm_buf_addc(out, s[i + 1]);
			i += 2;
		} else
			break;
	}
	if (i < n && strchr("?*{", s[i]) && out->len > start)
		out->len--;   /* the last character is optional */
	if (out->len == start)
		return -1;
	crm_buf_addc(out, 0);
	return 1;
}

static int
alternatives(const char *s, size_t n, struct crm_buf *out, int depth)
{
	size_t i = 0, a = 0;
	int paren = 0, cls = 0, k = 0;

	if (depth > 8)
		return -1;
	for (; i <= n; i++) {
		if (i < n && s[i] == '\\') {
			i++;
			continue;
		}
		if (i < n && cls) {
			cls = s[i] != ']';
			continue;
		}
		if (i < n && s[i] == '[')
			cls = 1;
		else if (i < n && s[i] == '(')
			paren++;
		else if (i < n && s[i] == ')')
			paren--;
		else if (i == n || (s[i] == '|' && paren == 0)) {
			if (alternative(s + a, i - a, out, depth) < 0)
				return -1;
			k++;
			a = i + 1;
		}
	}
	return k;
}

static unsigned
key2(const char *s, size_t n)
{
	return ((unsigned)(unsigned char)s[0] << 8) | (n > 1 ? (unsigned char)s[1] : 0);
}

static int
cmp_trigger(const void *a, const void *b)
{
	const struct trigger *x = a, *y = b;
	unsigned kx = key2(x->lit, x->len), ky = key2(y->lit, y->len);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return x->rule - y->rule;
}

static const struct bucket *
bucket(const struct crm_wrules *w, unsigned key)
{
	unsigned i = (key * 2654435761u >> 20) & 4095;

	while (w->map[i].key) {
		if (w->map[i].key == key + 1)
			return &w->map[i];
		i = (i + 1) & 4095;
	}
	return NULL;
}

static void
build_map(struct crm_wrules *w)
{
	for (size_t t = 0; t < w->ntrig;) {
		unsigned key = key2(w->trig[t].lit, w->trig[t].len);
		size_t e = t;
		while (e < w->ntrig && key2(w->trig[e].lit, w->trig[e].len) == key)
			e++;
		unsigned i = (key * 2654435761u >> 20) & 4095;
		while (w->map[i].key)
			i = (i + 1) & 4095;
		w->map[i] = (struct bucket){ key + 1, (unsigned)t, (unsigned)e };
		t = e;
	}
}

static void
triggers(struct crm_wrules *w, size_t i)
{
	struct crm_buf b = CRM_BUF_INIT;
	struct rule *r = &w->r[i];
	int err;
	PCRE2_SIZE off;

	if (r->pub.weight == 0 || alternatives(r->pattern, strlen(r->pattern), &b, 0) <= 0) {
		if (r->pub.weight != 0)
			crm_debug("%s:%ld: rule %s has no literal prefix: it is run over the whole text",
			    r->file, r->pub.line, r->id);
		crm_buf_free(&b);
		return;
	}
	r->re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, OPTS | PCRE2_ANCHORED,
	    &err, &off, NULL);
	if (!r->re)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: pattern does not compile anchored", r->file, r->pub.line);
	pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	for (size_t p = 0; p < b.len; p += strlen(b.s + p) + 1) {
		w->trig = crm_xrealloc(w->trig, (w->ntrig + 1) * sizeof *w->trig);
		w->trig[w->ntrig].lit = crm_xstrdup(b.s + p);
		w->trig[w->ntrig].len = strlen(b.s + p);
		w->trig[w->ntrig].rule = (int)i;
		w->ntrig++;
	}
	crm_buf_free(&b);
}

void
crm_wrules_compile(struct crm_wrules *w)
{
	for (size_t i = 0; i < w->n; i++) {
		w->r[i].pub.id = w->r[i].id;
		w->r[i].pub.pattern = w->r[i].pattern;
		w->r[i].pub.file = w->r[i].file;
		triggers(w, i);
	}
	if (w->ntrig > 3000)
		crm_die(CRM_EXIT_USAGE, "rules: too many literal prefixes (%zu, at most 3000)", w->ntrig);
	qsort(w->trig, w->ntrig, sizeof *w->trig, cmp_trigger);
	build_map(w);
	w->re[CRM_WR_BODY] = combine(w, CRM_WR_BODY);
	w->re[CRM_WR_SUBJECT] = combine(w, CRM_WR_SUBJECT);
	w->md = pcre2_match_data_create(4, NULL);
	w->mc = pcre2_match_context_create(NULL);
	w->stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	pcre2_jit_stack_assign(w->mc, NULL, w->stack);
}

size_t
crm_wrules_count(const struct crm_wrules *w)
{
	return w->n;
}

const struct crm_wrule *
crm_wrules_rule(const struct crm_wrules *w, int i)
{
	return &w->r[i].pub;
}

static int
clause_break(const char *s, size_t n)
{
	return (n == 4 && !memcmp(s, "mais", 4)) || (n == 3 && !memcmp(s, "but", 3)) ||
	    (n == 7 && !memcmp(s, "however", 7)) || (n == 9 && !memcmp(s, "cependant", 9)) ||
	    (n == 8 && !memcmp(s, "pourtant", 8)) || (n == 6 && !memcmp(s, "though", 6));
}

/* Is a negation cue among the words between floor and start, in the same
 * clause and at most 48 bytes back? */
static int
negated(const char *t, size_t floor, size_t start)
{
	size_t lo = start > 48 ? start - 48 : 0, i = start;
	int found = 0;

	if (lo < floor)
		lo = floor;
	while (i > lo) {
		char c = t[i - 1];
		if (c == '.' || c == '!' || c == '?' || c == ';' || c == '\n' || c == ':')
			break;
		if (!isalnum((unsigned char)c) && c != '\'' && !((unsigned char)c & 0x80)) {
			i--;
			continue;
		}
		size_t e = i;
		while (i > lo && (isalnum((unsigned char)t[i - 1]) || (unsigned char)t[i - 1] & 0x80 ||
		    (t[i - 1] == '\'' && i - 1 > lo && isalnum((unsigned char)t[i - 2]) && e - i > 1)))
			i--;
		size_t n = e - i;
		if (n == 0) {
			i--;
			continue;
		}
		/* "n'" and "l'": strip a trailing apostrophe */
		if (n > 1 && t[i + n - 1] == '\'')
			n--;
		if (clause_break(t + i, n))
			break;
		if (crm_negation_word(t + i, n))
			found = 1;
		if (n > 2 && t[e - 1] == 't' && t[e - 2] == '\'' && t[e - 3] == 'n')
			found = 1;
	}
	return found;
}

static int
word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

static int
cmp_match(const void *a, const void *b)
{
	const struct crm_wmatch *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

size_t
crm_wrules_scan(const struct crm_wrules *w, unsigned scope, const char *text,
    size_t n, struct crm_wmatch *m, size_t max)
{
	pcre2_code *re = w->re[scope];
	size_t off = 0, k = 0, floor = 0, p = 0;

	/* rules with triggers, word start by word start */
	while (p < n && k < max) {
		unsigned char c = (unsigned char)text[p];
		if (!word_byte(c) || (p > 0 && word_byte((unsigned char)text[p - 1])) ||
		    (c >= 0x80 && c < 0xC0)) {
			p++;
			continue;
		}
		/* candidates: rules with a prefix here, tried in file order */
		int cand[64], nc = 0;
		unsigned char c1 = p + 1 < n ? (unsigned char)text[p + 1] : 0;
		const struct bucket *bk[2] = { bucket(w, ((unsigned)c << 8) | c1),
			c1 ? bucket(w, (unsigned)c << 8) : NULL };
		for (int b = 0; b < 2; b++)
			for (unsigned t = bk[b] ? bk[b]->start : 0; bk[b] && t < bk[b]->end; t++) {
				const struct trigger *tr = &w->trig[t];
				size_t q = 2;
				if (tr->len > n - p)
					continue;
				while (q < tr->len && text[p + q] == tr->lit[q])
					q++;
				if (q < tr->len || !(w->r[tr->rule].pub.scope & scope))
					continue;
				int j = nc < 64 ? nc++ : 63;
				while (j > 0 && cand[j - 1] > tr->rule) {
					cand[j] = cand[j - 1];
					j--;
				}
				cand[j] = tr->rule;
			}
		size_t end = 0;
		for (int j = 0; j < nc; j++) {
			const struct rule *r = &w->r[cand[j]];
			if (j > 0 && cand[j] == cand[j - 1])
				continue;
			if (pcre2_match(r->re, (PCRE2_SPTR)text, n, p, PCRE2_NO_UTF_CHECK, w->md, w->mc) < 0)
				continue;
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
			m[k].rule = cand[j];
			m[k].start = ov[0];
			m[k].end = ov[1];
			m[k].negated = negated(text, floor, ov[0]);
			k++;
			end = ov[1];
			break;
		}
		if (end > p) {
			floor = end;
			p = end;
		} else
			p++;
	}
	/* the others, one alternation over the whole text */
	floor = 0;
	while (re && off <= n && k < max) {
		int rc = pcre2_match(re, (PCRE2_SPTR)text, n, off, PCRE2_NO_UTF_CHECK, w->md, w->mc);
		if (rc < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
		PCRE2_SPTR mark = pcre2_get_mark(w->md);
		if (!mark)
			break;
		m[k].rule = atoi((const char *)mark);
		m[k].start = ov[0];
		m[k].end = ov[1];
		m[k].negated = negated(text, floor, ov[0]);
		k++;
		floor = ov[1];
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		while (off < n && ((unsigned char)text[off] & 0xC0) == 0x80)
			off++;
	}
	qsort(m, k, sizeof *m, cmp_match);
	return k;
}

void
crm_wrules_free(struct crm_wrules *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ntrig; i++)
		free(w->trig[i].lit);
	free(w->trig);
	for (size_t i = 0; i < w->n; i++) {
		pcre2_code_free(w->r[i].re);
		free(w->r[i].id);
		free(w->r[i].pattern);
		free(w->r[i].file);
	}
	free(w->r);
	pcre2_code_free(w->re[1]);
	pcre2_code_free(w->re[2]);
	pcre2_match_data_free(w->md);
	pcre2_match_context_free(w->mc);
	pcre2_jit_stack_free(w->stack);
	free(w);
}
