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
 * pattern's literal expansions are read off its source: "\\b(?:je|nous)
 * (?:reviens|reviendrai)\\b" can only match "je reviens", "je
 * reviendrai", "nous reviens" or "nous reviendrai" (up to 512 strings a
 * rule; a class, \\w, a repeat ends an expansion there, which then is a
 * prefix only).  All expansions go into one trie, and the text is walked
 * word start by word start: the trie gives the rules one of whose
 * expansions is there, and only those are tried, in file order.  A rule
 * made of literal text alone (and \\b at the ends of its alternatives,
 * the common case) is decided without PCRE2: its first expansion in
 * PCRE2's own trying order whose boundaries hold is the match.  The
 * others are run anchored at the word, compiled when first needed and
 * JIT-compiled once they have run a few times (most rules never need
 * PCRE2, and compiling them all costs more than a thousand messages).  Patterns that do not begin with literals (a
 * class, an optional group, ^) are kept in one JIT alternation, each
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS (PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS)

#define XMAX 512    /* expansions of a rule decided without PCRE2 */
#define XPRE 24     /* bytes of a prefix (a rule PCRE2 confirms) */
#define XLEN 64     /* bytes of one expansion */
#define JIT_AFTER 32   /* runs of a rule's pattern before it is JIT-compiled */

/* One expansion while it is built: a path through the pattern. */
struct path {
	unsigned char len;
	unsigned char open;           /* the pattern may go on after it */
	unsigned char full;           /* what matched so far is only this text */
	unsigned char lb, tb;         /* \b before / after (top-level alternative) */
	unsigned char ws;             /* ends with \w* (1) or \w+ (2), greedy */
	char s[XLEN];
};

struct plist {
	struct path *p;
	size_t n, cap;
	int overflow;
};

struct rule {
	struct crm_wrule pub;
	char *id, *pattern, *file;
	pcre2_code *re;               /* anchored, for a rule with expansions;
	                                 compiled at load, or on first use when full */
	int jit;                      /* runs so far, up to JIT_AFTER: then JIT-compiled */
	int full;                     /* literal only: decided from its expansions */
	int trig;                     /* has expansions (else: in the alternation) */
	char one[8];                  /* in the alternation and one ASCII symbol ("\?", "[!?]"):
	                                 the symbols, NUL-terminated; else "" */
	struct plist x;               /* its expansions, until compiled */
};

/* One literal expansion of a rule, an output of the trie. */
struct xout {
	int rule;
	unsigned short order;         /* rank in PCRE2's trying order */
	unsigned char flags;          /* X_ below */
	unsigned char scope;          /* the rule's (kept here: the walk reads no rule) */
	unsigned short len;           /* its length: past TDEPTH, the rest is */
	unsigned tail;                /* at xtail[tail] (compared to the text) */
};
enum { X_FULL = 1, X_LEADB = 2, X_TRAILB = 4, X_WSTAR = 8, X_WPLUS = 16 };

/* A trie node, 16 bytes: its children are numbered first, first + 1...
 * (nodes are numbered breadth first), their bytes kept in the node when
 * they are few, else in a table of 256 (index + 1, by byte). */
#define TINLINE 5
#define TDEPTH 12   /* the trie holds this much of an expansion, xtail the rest */
struct tnode {
	unsigned first;               /* the first child */
	unsigned out;                 /* outputs: xo[out..out+nout) */
	unsigned short nout;
	unsigned char nedge;          /* children; TWIDE: more than TINLINE */
	unsigned char eb[TINLINE];    /* their bytes; for TWIDE, the table's number */
};
_Static_assert(sizeof(struct tnode) == 16 && offsetof(struct tnode, nout) == 8 &&
    offsetof(struct tnode, eb) == 11, "the walk reads nout..eb as one word");
#define TWIDE 255

/* A candidate at one word: an expansion found there. */
struct cand {
	int rule;
	unsigned short order;
	unsigned char flags;
	size_t len;
};

struct crm_wrules {
	const char *const *labels;
	struct rule *r;
	size_t n, cap;
	struct tnode *node;           /* node 0 is the root */
	size_t nnode;
	unsigned short *wide;         /* tables of the nodes with many children */
	struct xout *xo;
	size_t nxo;
	char *xtail;                  /* the ends of long expansions */
	size_t ntail;
	struct cand *cand;            /* scratch of crm_wrules_scan() */
	size_t ccap;
	unsigned char scope_any[3];   /* some rule of the scope has expansions */
	int verify;                   /* $CRM_WRULES_CHECK: PCRE2 confirms every decision */
	pcre2_code *re[3];            /* rules without triggers, by scope bit: 1 body, 2 subject */
	short *bytes[3];              /* or, when they are all one-symbol rules, the rule
	                                 (+ 1) of each byte: no PCRE2 then */
	char byte1[3];                /* the byte, when there is one only */
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

/* Where the alternative of s (n bytes) that starts at a ends: at the next
 * '|' outside groups and classes, else at n; n + 1 when an escape runs
 * past the end (the pattern is cut: no last alternative). */
static size_t
alt_end(const char *s, size_t n, size_t a)
{
	int paren = 0, cls = 0;
	size_t i;

	for (i = a; i < n; i++) {
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
			paren++;
		else if (s[i] == ')')
			paren--;
		else if (s[i] == '|' && paren == 0)
			return i;
	}
	return i > n ? n + 1 : n;
}

static int
alternatives(const char *s, size_t n, struct crm_buf *out, int depth)
{
	int k = 0;

	if (depth > 8)
		return -1;
	for (size_t a = 0, e; a <= n && (e = alt_end(s, n, a)) <= n; a = e + 1) {
		if (alternative(s + a, e - a, out, depth) < 0)
			return -1;
		k++;
	}
	return k;
}

/* ---- literal expansions of a pattern ----
 *
 * The prefixes above decide which rules run at word starts (and are
 * kept as they were: which rules are in the alternation is part of the
 * semantics).  The expansions below are longer: every string a match
 * anchored at a word can begin with, read through groups, alternations,
 * small classes, \d and optional parts; a path that meets something
 * else (a class with ranges, a repeat, a look-around) stops there and is
 * a prefix only.  They are listed in the order PCRE2 tries them
 * (alternatives left to right, greedy '?' with the part first), so when
 * every path is the whole alternative (a trailing greedy \w* or \w+ is
 * allowed: it cannot give back what it took) the first one whose
 * boundaries hold is PCRE2's match. */

static void
plist_add(struct plist *l, const struct path *p)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->p = crm_xrealloc(l->p, l->cap * sizeof *l->p);
	}
	l->p[l->n++] = *p;
}

static void
close_all(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		l->p[i].open = 0;
		l->p[i].full = 0;
	}
}

static int
any_open(const struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].open)
			return 1;
	return 0;
}

/* paths x el (each open path followed by each element, in order); with
 * opt, the empty element last (greedy '?').  When the product would
 * pass max, the paths are closed as they are. */
static void
cross(struct plist *paths, const struct plist *el, int opt, size_t max, struct plist *tmp)
{
	struct plist out = *tmp;
	size_t total = 0, ne = el->n + (opt != 0);

	out.n = 0;
	out.overflow = 0;
	for (size_t i = 0; i < paths->n; i++)
		total += paths->p[i].open ? ne : 1;
	if (total > max || el->overflow) {
		close_all(paths);
		return;
	}
	for (size_t i = 0; i < paths->n; i++) {
		const struct path *a = &paths->p[i];
		if (!a->open) {
			struct path p = *a;
			p.full = 0;   /* something follows a \w* */
			plist_add(&out, &p);
			continue;
		}
		for (size_t k = 0; k < ne; k++) {
			struct path p = *a;
			if (k < el->n) {
				const struct path *e = &el->p[k];
				if ((size_t)p.len + e->len > XLEN) {
					p.open = p.full = 0;
					plist_add(&out, &p);
					continue;
				}
				memcpy(p.s + p.len, e->s, e->len);
				p.len = (unsigned char)(p.len + e->len);
				p.open = e->open;
				p.ws = e->ws;
				p.full = p.full && e->full;
			}
			plist_add(&out, &p);
		}
	}
	*tmp = *paths;   /* the old list's memory serves the next product */
	*paths = out;
}

/* A class of literal characters ("[- ]", "[h:]") as alternatives; 0 when
 * it holds anything else (ranges, negation, escapes, non-ASCII). */
static int
xclass(const char *s, size_t n, size_t *i, struct plist *el)
{
	size_t j = *i + 1;
	struct path one = { .len = 1, .open = 1, .full = 1 };

	if (j >= n || s[j] == '^' || s[j] == ']')
		return 0;
	for (; j < n && s[j] != ']'; j++) {
		unsigned char c = (unsigned char)s[j];
		if (c >= 0x80 || c == '\\' || c == '[' ||
		    (c == '-' && j > *i + 1 && j + 1 < n && s[j + 1] != ']'))
			return 0;
		one.s[0] = (char)tolower(c);
		plist_add(el, &one);
	}
	if (j >= n)
		return 0;
	*i = j + 1;
	return 1;
}

static void xalts(const char *s, size_t n, struct plist *out, int top, int depth, size_t max);

/* One alternative: a sequence of literal characters, small classes and
 * groups, each optionally followed by '?'.  At the top level a leading
 * and a trailing \b are kept as flags (checked when the rule is decided
 * without PCRE2). */
static void
xseq(const char *s, size_t n, struct plist *out, int top, int depth, size_t max)
{
	struct path start = { .open = 1, .full = 1 };
	struct plist el = { 0 }, tmp = { 0 };
	size_t i = 0;

	out->n = 0;
	out->overflow = 0;
	if (top && n >= 2 && s[0] == '\\' && s[1] == 'b') {
		start.lb = 1;
		i = 2;
	}
	plist_add(out, &start);
	while (i < n) {
		struct path one = { .len = 1, .open = 1, .full = 1 };

		el.n = 0;
		el.overflow = 0;
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 1 < n && s[i + 1] == 'b') {
			/* zero width: the prefixes stay prefixes */
			for (size_t k = 0; k < out->n; k++) {
				if (top && i + 2 == n)
					out->p[k].tb = 1;
				else
					out->p[k].full = 0;
			}
			i += 2;
			continue;
		}
		if (!any_open(out)) {
			close_all(out);   /* more after a \w*: prefixes only */
			break;
		}
		if (c == '\\' && i + 2 < n && s[i + 1] == 'w' && (s[i + 2] == '*' || s[i + 2] == '+') &&
		    !(i + 3 < n && (s[i + 3] == '?' || s[i + 3] == '+'))) {
			/* greedy \w* or \w+: the path ends here, the match at the
			 * end of the word */
			for (size_t k = 0; k < out->n; k++)
				if (out->p[k].open) {
					out->p[k].open = 0;
					out->p[k].ws = s[i + 2] == '*' ? 1 : 2;
				}
			i += 3;
			continue;
		}
		if (c == '\\' && i + 1 < n && s[i + 1] == 'd') {
			/* a digit: ASCII, or the first byte of a Unicode one (a
			 * prefix then; the lead bytes of every Nd block) */
			static const unsigned char nd_lead[] = { 0xD9, 0xDB, 0xDF, 0xE0, 0xE1, 0xE2, 0xE3,
				0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
				0xF1, 0xF2, 0xF3, 0xF4 };
			for (char d = '0'; d <= '9'; d++) {
				one.s[0] = d;
				plist_add(&el, &one);
			}
			one.open = one.full = 0;
			for (size_t k = 0; k < sizeof nd_lead; k++) {
				one.s[0] = (char)nd_lead[k];
				plist_add(&el, &one);
			}
			i += 2;
		} else if (c == '\\' && i + 1 < n && (unsigned char)s[i + 1] < 0x80 &&
		    ispunct((unsigned char)s[i + 1])) {
			one.s[0] = s[i + 1];
			plist_add(&el, &one);
			i += 2;
		} else if (c == '[') {
			if (!xclass(s, n, &i, &el)) {
				close_all(out);
				break;
			}
		} else if (c == '(') {
			size_t in = i + 1, j = i + group_end(s + i, n - i);
			if (in + 1 < n && s[in] == '?' && s[in + 1] == ':')
				in += 2;
			else if (in < n && (s[in] == '?' || s[in] == '*'))
				j = n;   /* look-around, named group, option, verb... */
			if (j >= n || depth > 8) {
				close_all(out);
				break;
			}
			xalts(s + in, j - in, &el, 0, depth + 1, max);
			i = j + 1;
		} else if (c >= 0x80) {
			/* a whole UTF-8 character; left to PCRE2 (case rules) */
			size_t k = 1;
			while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80 && k < 4)
				k++;
			memcpy(one.s, s + i, k);
			one.len = (unsigned char)k;
			one.full = 0;
			plist_add(&el, &one);
			i += k;
		} else if (c == '\\' || strchr("^$.|)?*+{", c)) {
			close_all(out);
			break;
		} else {
			one.s[0] = (char)tolower(c);
			plist_add(&el, &one);
			i++;
		}
		/* a quantifier after the element */
		char q = i < n ? s[i] : 0, q2 = i + 1 < n ? s[i + 1] : 0;
		if (q == '?' && q2 != '?' && q2 != '+') {
			cross(out, &el, 1, max, &tmp);
			i++;
		} else if (q == '{' && i + 1 < n && s[i + 1] >= '1' && s[i + 1] <= '9') {
			cross(out, &el, 0, max, &tmp);   /* {m,...}, m >= 1: once at least */
			close_all(out);
		} else if (q == '?' || q == '*' || q == '{') {
			close_all(out);
		} else if (q == '+') {
			cross(out, &el, 0, max, &tmp);
			close_all(out);
		} else
			cross(out, &el, 0, max, &tmp);
	}
	free(el.p);
	free(tmp.p);
}

/* Alternatives separated by '|' at this level, concatenated in order. */
static void
xalts(const char *s, size_t n, struct plist *out, int top, int depth, size_t max)
{
	struct plist one = { 0 };

	out->n = 0;
	out->overflow = 0;
	for (size_t a = 0, e; a <= n && (e = alt_end(s, n, a)) <= n; a = e + 1) {
		xseq(s + a, e - a, &one, top, depth, max);
		for (size_t k = 0; k < one.n; k++)
			plist_add(out, &one.p[k]);
		if (one.overflow || out->n > max)
			out->overflow = 1;
	}
	free(one.p);
}

/* The expansions of a pattern into x; 1 when it is literal text only
 * (every path whole and non-empty): such a pattern is valid PCRE2 with a
 * non-zero minimum length, and is decided from its expansions. */
static int
expand(const char *pat, struct plist *x)
{
	size_t n = strlen(pat);
	int full = 1;

	xalts(pat, n, x, 1, 0, XMAX);
	for (size_t k = 0; k < x->n && full; k++)
		full = x->p[k].full && (x->p[k].open || x->p[k].ws) && x->p[k].len;
	if (x->overflow || !x->n)
		full = 0;
	if (!full) {
		/* prefixes only: a few words tell enough, and keep the trie small */
		size_t m = 0;
		for (size_t k = 0; k < x->n; k++) {
			struct path *p = &x->p[k];
			size_t j;
			if (p->len > XPRE)
				p->len = XPRE;
			for (j = 0; j < m && !(x->p[j].len == p->len && !memcmp(x->p[j].s, p->s, p->len)); j++)
				;
			if (j == m)
				x->p[m++] = *p;
		}
		x->n = m;
	}
	return full;
}

/* Compile one pattern alone, anchored (as it runs at a word): errors
 * name the line, before it is merged.  Anchoring changes neither the
 * errors nor the facts checked. */
static pcre2_code *
check_pattern(const char *path, long line, const char *pat)
{
	int err;
	PCRE2_SIZE off;
	uint32_t backref = 0, minlen = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, OPTS | PCRE2_ANCHORED,
	    &err, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		crm_die(CRM_EXIT_USAGE, "%s:%ld: bad pattern at offset %zu: %s", path, line,
		    (size_t)off, (char *)msg);
	}
	pcre2_pattern_info(re, PCRE2_INFO_BACKREFMAX, &backref);
	pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &minlen);
	if (backref)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: numbered back-references are not supported", path, line);
	if (minlen == 0)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: pattern can match the empty string", path, line);
	return re;
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
	struct plist x = { 0 };
	int full;

	if (l < CRM_WR_NEUTRAL)
		crm_die(CRM_EXIT_USAGE, "%s:%ld: unknown label '%s'", path, line, label);
	/* literal text needs no check (nor code, unless a boundary is
	 * non-ASCII: compiled then) */
	full = expand(pat, &x);
	pcre2_code *re = full ? NULL : check_pattern(path, line, pat);
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
		free(r->x.p);
		pcre2_code_free(r->re);
	}
	r->re = re;
	r->jit = 0;
	r->full = full;
	r->x = x;
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

/* Is the rule one ASCII symbol, as "\?" is (from its expansions, before
 * they are freed)?  Sets r->one.  An alternation of such rules is a
 * byte table. */
static void
one_byte(struct rule *r)
{
	r->one[0] = 0;
	if (!r->x.n || r->x.n >= sizeof r->one || r->x.overflow || !r->full)
		return;
	for (size_t k = 0; k < r->x.n; k++) {
		const struct path *p = &r->x.p[k];
		if (p->len != 1 || !p->full || !p->open || p->lb || p->tb || p->ws ||
		    (unsigned char)p->s[0] >= 0x80 || isalnum((unsigned char)p->s[0]) ||
		    (unsigned char)p->s[0] < 0x20)
			return;
	}
	for (size_t k = 0; k < r->x.n; k++)
		r->one[k] = r->x.p[k].s[0];
	r->one[r->x.n] = 0;
}

static pcre2_code *
combine(struct crm_wrules *w, unsigned scope)
{
	struct crm_buf b = CRM_BUF_INIT;
	pcre2_code *re;
	int err;
	PCRE2_SIZE off;

	int bytes = 1;

	for (size_t i = 0; i < w->n; i++) {
		if (!(w->r[i].pub.scope & scope) || w->r[i].pub.weight == 0 || w->r[i].trig)
			continue;
		crm_buf_printf(&b, "%s(*MARK:%zu)(?:%s)", b.len ? "|" : "", i, w->r[i].pattern);
		bytes &= w->r[i].one[0] != 0;
	}
	if (b.len && bytes) {
		/* the first rule in file order that is a byte matches it, as
		 * the alternation would */
		w->bytes[scope] = crm_xcalloc(256, sizeof *w->bytes[scope]);
		for (size_t i = w->n; i-- > 0;) {
			struct rule *r = &w->r[i];
			if ((r->pub.scope & scope) && r->pub.weight != 0 && !r->trig)
				for (const char *c = r->one; *c; c++)
					w->bytes[scope][(unsigned char)*c] = (short)(i + 1);
		}
		for (unsigned c = 1; c < 128; c++)
			if (w->bytes[scope][c])
				w->byte1[scope] = w->byte1[scope] ? -1 : (char)c;
		if (w->byte1[scope] == -1)
			w->byte1[scope] = 0;
		crm_buf_free(&b);
		return NULL;
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

/* ---- the trie of expansions ----
 * Built with its edges in a hash table, then laid out flat: a node's
 * children in a short list, or a 256-entry table when it has many (the
 * first letters). */

struct builder {
	struct bedge {
		unsigned key;             /* parent << 8 | byte, + 1; 0: free slot */
		unsigned child;
	} *h;
	size_t hcap, nedge, nnode;
	struct bout {
		unsigned node;
		struct xout o;
	} *out;
	size_t nout, ocap;
};

static size_t
bslot(const struct builder *b, unsigned key)
{
	size_t i = (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ULL) >> 40) & (b->hcap - 1);
	while (b->h[i].key && b->h[i].key != key)
		i = (i + 1) & (b->hcap - 1);
	return i;
}

static void
bgrow(struct builder *b)
{
	struct bedge *old = b->h;
	size_t oc = b->hcap;

	b->hcap = oc ? oc * 2 : 4096;
	b->h = crm_xcalloc(b->hcap, sizeof *b->h);
	for (size_t i = 0; i < oc; i++)
		if (old[i].key)
			b->h[bslot(b, old[i].key)] = old[i];
	free(old);
}

static void
insert(struct crm_wrules *w, struct builder *b, const char *s, size_t len, struct xout o)
{
	unsigned cur = 0;

	if (len > 255)
		len = 255;   /* (a prefix: shorter is still one) */
	o.len = (unsigned short)len;
	if (len > TDEPTH) {
		w->xtail = crm_xrealloc(w->xtail, w->ntail + len - TDEPTH);
		memcpy(w->xtail + w->ntail, s + TDEPTH, len - TDEPTH);
		o.tail = (unsigned)w->ntail;
		w->ntail += len - TDEPTH;
		len = TDEPTH;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned key = (cur << 8 | (unsigned char)s[i]) + 1;
		if ((b->nedge + 1) * 2 > b->hcap)
			bgrow(b);
		size_t k = bslot(b, key);
		if (!b->h[k].key) {
			b->h[k].key = key;
			b->h[k].child = (unsigned)++b->nnode;
			b->nedge++;
		}
		cur = b->h[k].child;
	}
	if (b->nout == b->ocap) {
		b->ocap = b->ocap ? b->ocap * 2 : 256;
		b->out = crm_xrealloc(b->out, b->ocap * sizeof *b->out);
	}
	b->out[b->nout].node = cur;
	b->out[b->nout++].o = o;
}

static int
cmp_out(const void *a, const void *b)
{
	const struct bout *p = a, *q = b;
	if (p->node != q->node)
		return p->node < q->node ? -1 : 1;
	if (p->o.rule != q->o.rule)
		return p->o.rule < q->o.rule ? -1 : 1;
	return (p->o.order > q->o.order) - (p->o.order < q->o.order);
}

static void
finish(struct crm_wrules *w, struct builder *b)
{
	size_t nn = b->nnode + 1, nw = 0, q = 0, next = 1;
	unsigned *start = crm_xcalloc(nn + 1, sizeof *start), *renum = crm_xcalloc(nn, sizeof *renum);
	unsigned *order = crm_xcalloc(nn, sizeof *order), *fill = crm_xcalloc(nn, sizeof *fill);
	struct bedge *e = crm_xcalloc(b->nedge + 1, sizeof *e);

	/* the edges by parent (counted), then by byte within each parent */
	for (size_t i = 0; i < b->hcap; i++)
		if (b->h[i].key)
			start[((b->h[i].key - 1) >> 8) + 1]++;
	for (size_t i = 0; i < nn; i++)
		start[i + 1] += start[i];
	for (size_t i = 0; i < b->hcap; i++)
		if (b->h[i].key)
			e[fill[(b->h[i].key - 1) >> 8]++ + start[(b->h[i].key - 1) >> 8]] = b->h[i];
	for (size_t u = 0; u < nn; u++)
		for (unsigned i = start[u] + 1; i < start[u + 1]; i++) {
			struct bedge x = e[i];
			unsigned j = i;
			for (; j > start[u] && e[j - 1].key > x.key; j--)
				e[j] = e[j - 1];
			e[j] = x;
		}
	free(fill);
	for (size_t u = 0; u < nn; u++)
		nw += start[u + 1] - start[u] > TINLINE;
	w->wide = crm_xcalloc(nw * 256 + 1, sizeof *w->wide);
	nw = 0;
	/* breadth first: a node's children get consecutive numbers */
	w->nnode = nn;
	w->node = crm_xcalloc(nn, sizeof *w->node);
	order[q++] = 0;
	for (size_t h = 0; h < q; h++) {
		unsigned u = order[h], ne = start[u + 1] - start[u];
		struct tnode *t = &w->node[renum[u]];
		t->first = (unsigned)next;
		t->nedge = ne > TINLINE ? TWIDE : (unsigned char)ne;
		if (ne > TINLINE) {
			unsigned ti = (unsigned)nw++;
			memcpy(t->eb, &ti, sizeof ti);
		}
		for (unsigned k = 0; k < ne; k++) {
			const struct bedge *x = &e[start[u] + k];
			unsigned char c = (unsigned char)((x->key - 1) & 0xFF);
			renum[x->child] = (unsigned)next++;
			order[q++] = x->child;
			if (ne > TINLINE) {
				unsigned ti;
				memcpy(&ti, t->eb, sizeof ti);
				w->wide[(size_t)ti * 256 + c] = (unsigned short)(k + 1);
			} else
				t->eb[k] = c;
		}
	}
	for (size_t i = 0; i < b->nout; i++)
		b->out[i].node = renum[b->out[i].node];
	free(start);
	free(renum);
	free(order);
	free(e);
	qsort(b->out, b->nout, sizeof *b->out, cmp_out);
	w->xo = crm_xcalloc(b->nout + 1, sizeof *w->xo);
	w->nxo = b->nout;
	for (size_t i = 0; i < b->nout; i++) {
		struct tnode *t = &w->node[b->out[i].node];
		if (!t->nout)
			t->out = (unsigned)i;
		t->nout++;
		w->xo[i] = b->out[i].o;
	}
	free(b->h);
	free(b->out);
}

/* The rule's expansions into the trie; 0 when it has no literal prefix
 * (it goes into the alternation). */
static int
triggers(struct crm_wrules *w, struct builder *b, size_t i)
{
	struct crm_buf old = CRM_BUF_INIT;
	struct rule *r = &w->r[i];
	int n = r->pub.weight == 0 ? 0 : alternatives(r->pattern, strlen(r->pattern), &old, 0);
	int prefixes = 0;

	if (n <= 0) {
		if (r->pub.weight != 0)
			crm_debug("%s:%ld: rule %s has no literal prefix: it is run over the whole text",
			    r->file, r->pub.line, r->id);
		crm_buf_free(&old);
		return 0;
	}
	for (size_t k = 0; k < r->x.n; k++)
		if (!r->x.p[k].len)
			prefixes = 1;
	if (r->x.overflow || !r->x.n || prefixes) {
		/* too many expansions: the prefixes found above then */
		for (size_t p = 0; p < old.len; p += strlen(old.s + p) + 1)
			insert(w, b, old.s + p, strlen(old.s + p),
			    (struct xout){ (int)i, 0, 0, (unsigned char)r->pub.scope, 0, 0 });
		r->full = 0;
	} else
		for (size_t k = 0; k < r->x.n; k++) {
			const struct path *p = &r->x.p[k];
			unsigned char f = (p->lb ? X_LEADB : 0) | (p->tb ? X_TRAILB : 0) |
			    (p->ws == 1 ? X_WSTAR : p->ws == 2 ? X_WPLUS : 0) | (r->full ? X_FULL : 0);
			insert(w, b, p->s, p->len,
			    (struct xout){ (int)i, (unsigned short)k, f, (unsigned char)r->pub.scope, 0, 0 });
		}
	w->scope_any[CRM_WR_BODY] |= (r->pub.scope & CRM_WR_BODY) != 0;
	w->scope_any[CRM_WR_SUBJECT] |= (r->pub.scope & CRM_WR_SUBJECT) != 0;
	crm_buf_free(&old);
	return 1;
}

void
crm_wrules_compile(struct crm_wrules *w)
{
	struct builder b = { 0 };

	for (size_t i = 0; i < w->n; i++) {
		struct rule *r = &w->r[i];
		r->pub.id = r->id;
		r->pub.pattern = r->pattern;
		r->pub.file = r->file;
		r->trig = triggers(w, &b, i);
		if (!r->trig) {
			pcre2_code_free(r->re);
			r->re = NULL;
			if (r->pub.weight != 0)
				one_byte(r);
			r->full = 0;
		} else if (!r->full && !r->re)
			r->re = check_pattern(r->file, r->pub.line, r->pattern);
		free(r->x.p);
		memset(&r->x, 0, sizeof r->x);
	}
	finish(w, &b);
	w->verify = getenv("CRM_WRULES_CHECK") != NULL;
	/* with the check on, name the body rules the trie cannot find: each
	 * one costs a scan of the whole text, and one such rule among the
	 * one-symbol rules ("\\?") turns their byte table into a PCRE2 scan
	 * (a fifth of crm-intent's time); tests/40-crm-intent.bats wants none
	 * in the shipped rules.  Subject rules read a line: "^" is fine. */
	for (size_t i = 0; w->verify && i < w->n; i++)
		if (!w->r[i].trig && !w->r[i].one[0] && w->r[i].pub.weight != 0
		    && (w->r[i].pub.scope & CRM_WR_BODY))
			crm_warn("%s:%ld: rule %s opens on no literal: scanned over the whole text",
			    w->r[i].file, w->r[i].pub.line, w->r[i].id);
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

/* Word bytes as the walk sees them: ASCII letters and digits, and every
 * byte of a non-ASCII character; 1 where a word may start (not a UTF-8
 * continuation byte, 3). */
static const unsigned char wordb[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	[0x80] = 3, [0x81] = 3, [0x82] = 3, [0x83] = 3, [0x84] = 3, [0x85] = 3, [0x86] = 3,
	[0x87] = 3, [0x88] = 3, [0x89] = 3, [0x8a] = 3, [0x8b] = 3, [0x8c] = 3, [0x8d] = 3,
	[0x8e] = 3, [0x8f] = 3, [0x90] = 3, [0x91] = 3, [0x92] = 3, [0x93] = 3, [0x94] = 3,
	[0x95] = 3, [0x96] = 3, [0x97] = 3, [0x98] = 3, [0x99] = 3, [0x9a] = 3, [0x9b] = 3,
	[0x9c] = 3, [0x9d] = 3, [0x9e] = 3, [0x9f] = 3, [0xa0] = 3, [0xa1] = 3, [0xa2] = 3,
	[0xa3] = 3, [0xa4] = 3, [0xa5] = 3, [0xa6] = 3, [0xa7] = 3, [0xa8] = 3, [0xa9] = 3,
	[0xaa] = 3, [0xab] = 3, [0xac] = 3, [0xad] = 3, [0xae] = 3, [0xaf] = 3, [0xb0] = 3,
	[0xb1] = 3, [0xb2] = 3, [0xb3] = 3, [0xb4] = 3, [0xb5] = 3, [0xb6] = 3, [0xb7] = 3,
	[0xb8] = 3, [0xb9] = 3, [0xba] = 3, [0xbb] = 3, [0xbc] = 3, [0xbd] = 3, [0xbe] = 3,
	[0xbf] = 3, [0xc0] = 1, [0xc1] = 1, [0xc2] = 1, [0xc3] = 1, [0xc4] = 1, [0xc5] = 1,
	[0xc6] = 1, [0xc7] = 1, [0xc8] = 1, [0xc9] = 1, [0xca] = 1, [0xcb] = 1, [0xcc] = 1,
	[0xcd] = 1, [0xce] = 1, [0xcf] = 1, [0xd0] = 1, [0xd1] = 1, [0xd2] = 1, [0xd3] = 1,
	[0xd4] = 1, [0xd5] = 1, [0xd6] = 1, [0xd7] = 1, [0xd8] = 1, [0xd9] = 1, [0xda] = 1,
	[0xdb] = 1, [0xdc] = 1, [0xdd] = 1, [0xde] = 1, [0xdf] = 1, [0xe0] = 1, [0xe1] = 1,
	[0xe2] = 1, [0xe3] = 1, [0xe4] = 1, [0xe5] = 1, [0xe6] = 1, [0xe7] = 1, [0xe8] = 1,
	[0xe9] = 1, [0xea] = 1, [0xeb] = 1, [0xec] = 1, [0xed] = 1, [0xee] = 1, [0xef] = 1,
	[0xf0] = 1, [0xf1] = 1, [0xf2] = 1, [0xf3] = 1, [0xf4] = 1, [0xf5] = 1, [0xf6] = 1,
	[0xf7] = 1, [0xf8] = 1, [0xf9] = 1, [0xfa] = 1, [0xfb] = 1, [0xfc] = 1, [0xfd] = 1,
	[0xfe] = 1, [0xff] = 1,
};

/* \w of PCRE2 for an ASCII byte. */
static int
pcre_word(unsigned char c)
{
	return c == '_' || (c < 0x80 && wordb[c]);
}

/* The match of a literal-only rule at p from its expansions found there
 * (c[a..b), by rank): 1 and *end, 0 when none holds, -1 when the answer
 * depends on a non-ASCII character (PCRE2 decides then). */
static int
decide(const struct cand *c, size_t a, size_t b, const char *text, size_t n, size_t p,
    size_t *end)
{
	for (size_t k = a; k < b; k++) {
		if ((c[k].flags & X_LEADB) && p > 0 && text[p - 1] == '_')
			continue;   /* the walk starts words after any other ASCII */
		size_t e = p + c[k].len;
		if (c[k].flags & (X_WSTAR | X_WPLUS)) {
			size_t e0 = e;
			for (; e < n && pcre_word((unsigned char)text[e]); e++)
				;
			if (e < n && (unsigned char)text[e] >= 0x80)
				return -1;
			if ((c[k].flags & X_WPLUS) && e == e0)
				continue;
		}
		if (c[k].flags & X_TRAILB) {
			int wl = pcre_word((unsigned char)text[e - 1]), wn = 0;
			if (e < n) {
				if ((unsigned char)text[e] >= 0x80 || (unsigned char)text[e - 1] >= 0x80)
					return -1;
				wn = pcre_word((unsigned char)text[e]);
			}
			if (wl == wn)
				continue;
		}
		*end = e;
		return 1;
	}
	return 0;
}

/* Run rule i anchored at p; 1 and its range when it matches. */
static int run(const struct crm_wrules *w, int i, const char *text, size_t n, size_t p,
    size_t *s, size_t *e);

/* With $CRM_WRULES_CHECK set (the fuzz target and the tests), every
 * decision taken without PCRE2 is taken again by PCRE2: a difference
 * aborts. */
static void
check_decision(const struct crm_wrules *w, int rule, const char *text, size_t n, size_t p,
    int got, size_t e)
{
	size_t vs = 0, ve = 0;
	int vg = run(w, rule, text, n, p, &vs, &ve);

	if (vg != got || (got && (vs != p || ve != e))) {
		crm_warn("rule %s at %zu: decided %d (to %zu), PCRE2 says %d (%zu..%zu): \"%.*s\"",
		    w->r[rule].id, p, got, e, vg, vs, ve, (int)(n - p > 60 ? 60 : n - p), text + p);
		abort();
	}
}

static int
run(const struct crm_wrules *w, int i, const char *text, size_t n, size_t p, size_t *s,
    size_t *e)
{
	struct rule *r = &w->r[i];

	if (!r->re)
		r->re = check_pattern(r->file, r->pub.line, r->pattern);
	/* JIT-compiling a pattern costs as much as a few hundred runs of the
	 * interpreter: only the rules that keep being tried are compiled */
	if (r->jit < JIT_AFTER && ++r->jit == JIT_AFTER)
		pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter */
	if (pcre2_match(r->re, (PCRE2_SPTR)text, n, p, PCRE2_NO_UTF_CHECK, w->md, w->mc) < 0)
		return 0;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
	*s = ov[0];
	*e = ov[1];
	return 1;
}

/* The next word start at or after p (n when none): a word byte that may
 * start one (wordb 1) after a byte that is not in a word.  Eight bytes at
 * a time: masks of the word bytes and of the starting ones. */
static size_t
next_start(const char *text, size_t n, size_t p)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	int prev = p > 0 && wordb[(unsigned char)text[p - 1]];

	for (; p + 8 <= n; p += 8) {
		uint64_t v, l, an, w, s, st;
		memcpy(&v, text + p, 8);
		l = v & ~high;
#define GE(c) (l + ones * (0x80 - (c)))
		an = ((GE('0') & ~GE('9' + 1)) | (GE('A') & ~GE('Z' + 1)) | (GE('a') & ~GE('z' + 1))) &
		    ~v & high;   /* ASCII letters and digits */
#undef GE
		w = an | (v & high);                /* word bytes */
		s = an | (v & (v << 1) & high);     /* and those that may start a word */
		st = s & ~((w << 8) | (prev ? 0x80 : 0));
		if (st)
			return p + (size_t)__builtin_ctzll(st) / 8;
		prev = (w >> 63) != 0;
	}
	for (; p < n; p++) {
		unsigned char c = wordb[(unsigned char)text[p]];
		if (c == 1 && !prev)
			return p;
		prev = c != 0;
	}
	return n;
}

/* By number of children, the high bits of the bytes eb[0..n) hold in
 * the word read from nout on (nout 2 bytes, nedge 1, then eb). */
static const uint64_t edge_lanes[TINLINE + 1] = {
	0, 0x80ULL << 24, 0x8080ULL << 24, 0x808080ULL << 24, 0x80808080ULL << 24,
	0x8080808080ULL << 24,
};

/* The expansions found at word start p, into w->cand sorted by rule
 * then rank; returns how many. */
static size_t
walk(const struct crm_wrules *w, unsigned scope, const char *text, size_t n, size_t p)
{
	struct crm_wrules *mw = (struct crm_wrules *)w;   /* its scratch array only */
	unsigned cur = 0;
	size_t nc = 0;

	for (size_t q = p; q < n; q++) {
		const struct tnode *t = &w->node[cur];
		unsigned char c = (unsigned char)text[q];
		unsigned next = 0;
		if (t->nedge == TWIDE) {
			unsigned ti;
			memcpy(&ti, t->eb, sizeof ti);
			unsigned k = w->wide[(size_t)ti * 256 + c];
			if (k)
				next = t->first + k - 1;
		} else {
			/* the child's byte among eb[0..nedge): eight bytes from nout
			 * on, compared at once */
			uint64_t v, x, hit;
			memcpy(&v, (const char *)t + offsetof(struct tnode, nout), 8);
			x = v ^ (0x0101010101010101ULL * c);
			hit = ~(((x & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | x |
			    0x7F7F7F7F7F7F7F7FULL) & edge_lanes[t->nedge];
			if (hit)
				next = t->first + (unsigned)(__builtin_ctzll(hit) / 8) - 3;
		}
		if (!next)
			break;
		cur = next;
		t = &w->node[cur];
		for (unsigned k = t->out; k < t->out + t->nout; k++) {
			const struct xout *o = &w->xo[k];
			size_t d = q + 1 - p;
			if (!(o->scope & scope))
				continue;
			if (o->len > d && (o->len - d > n - q - 1 ||
			    memcmp(text + q + 1, w->xtail + o->tail, o->len - d)))
				continue;   /* a long expansion whose end is not there */
			if (nc == w->ccap) {
				mw->ccap = w->ccap ? w->ccap * 2 : 64;
				mw->cand = crm_xrealloc(w->cand, w->ccap * sizeof *w->cand);
			}
			size_t j = nc++;
			while (j > 0 && (w->cand[j - 1].rule > o->rule ||
			    (w->cand[j - 1].rule == o->rule && w->cand[j - 1].order > o->order))) {
				w->cand[j] = w->cand[j - 1];
				j--;
			}
			w->cand[j] = (struct cand){ o->rule, o->order, o->flags, o->len };
		}
	}
	return nc;
}

size_t
crm_wrules_scan(const struct crm_wrules *w, unsigned scope, const char *text,
    size_t n, struct crm_wmatch *m, size_t max)
{
	pcre2_code *re = w->re[scope];
	size_t off = 0, k = 0, floor = 0, p = 0, k1;

	/* rules with expansions, word start by word start */
	while (w->scope_any[scope] && k < max) {
		p = next_start(text, n, p);
		if (p >= n)
			break;
		size_t nc = walk(w, scope, text, n, p), end = 0;
		for (size_t a = 0, b; a < nc; a = b) {
			int rule = w->cand[a].rule, got;
			size_t s = p, e = 0;
			for (b = a + 1; b < nc && w->cand[b].rule == rule; b++)
				;
			got = (w->cand[a].flags & X_FULL) ? decide(w->cand, a, b, text, n, p, &e) : -1;
			if (got >= 0 && w->verify)
				check_decision(w, rule, text, n, p, got, e);
			if (got < 0)
				got = run(w, rule, text, n, p, &s, &e);
			if (!got)
				continue;
			m[k].rule = rule;
			m[k].start = s;
			m[k].end = e;
			m[k].negated = negated(text, floor, s);
			k++;
			end = e;
			break;
		}
		if (end > p) {
			floor = end;
			p = end;
		} else
			p++;
	}
	k1 = k;
	/* the others, one alternation over the whole text, or a table */
	floor = 0;
	for (size_t i = 0; w->bytes[scope] && k < max; i++) {
		const short *tb = w->bytes[scope];
		const char *hit;
		if (w->byte1[scope]) {   /* one symbol: memchr */
			hit = i < n ? memchr(text + i, w->byte1[scope], n - i) : NULL;
			if (!hit)
				break;
			i = (size_t)(hit - text);
		} else {
			while (i < n && !tb[(unsigned char)text[i]])
				i++;
			if (i >= n)
				break;
		}
		short r = tb[(unsigned char)text[i]];
		m[k].rule = r - 1;
		m[k].start = i;
		m[k].end = i + 1;
		m[k].negated = negated(text, floor, i);
		k++;
		floor = i + 1;
	}
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
	/* in text order, stable as the qsort it replaces: both runs are
	 * nearly sorted already */
	if (k1 && k > k1)
		for (size_t i = 1; i < k; i++) {
			struct crm_wmatch x = m[i];
			size_t j = i;
			while (j > 0 && m[j - 1].start > x.start) {
				m[j] = m[j - 1];
				j--;
			}
			m[j] = x;
		}
	return k;
}

void
crm_wrules_free(struct crm_wrules *w)
{
	if (!w)
		return;
	free(w->node);
	free(w->wide);
	free(w->xo);
	free(w->xtail);
	free(w->cand);
	for (size_t i = 0; i < w->n; i++) {
		pcre2_code_free(w->r[i].re);
		free(w->r[i].x.p);
		free(w->r[i].id);
		free(w->r[i].pattern);
		free(w->r[i].file);
	}
	free(w->r);
	pcre2_code_free(w->re[1]);
	pcre2_code_free(w->re[2]);
	free(w->bytes[1]);
	free(w->bytes[2]);
	pcre2_match_data_free(w->md);
	pcre2_match_context_free(w->mc);
	pcre2_jit_stack_free(w->stack);
	free(w);
}
