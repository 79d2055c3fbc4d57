/* signature.c — signature location and contact-field extraction (see
 * signature.h).
 *
 * Why it is built this way:
 * - Only the tail of the reply is looked at (the last MAXLINES non-blank
 *   lines): signatures end messages, and reading less is what makes tens
 *   of thousands of messages a second possible.
 * - Every lexicon is data (lib/rules/signature/), compiled once into one
 *   PCRE2 alternation per file (UTF + UCP, JIT), so a line is tested
 *   against a whole lexicon in one call; the expensive calls (regexes over
 *   a line, libphonenumber) run only on lines a byte-level test has
 *   already flagged (a digit run, an '@', a '.').
 * - The block is found by evidence in a fixed order: a "-- " delimiter, a
 *   closing line, the sender's own name, then a run of short feature-rich
 *   lines; legal notices and regulatory lines are cut first so that they
 *   can never become fields.
 * - Each field records the rule that produced it; its confidence is the
 *   accuracy that rule showed on the development corpus
 *   (tests/fixtures/signatures, tests/bench/score-signatures) times the
 *   confidence that the block is the sender's.  Numbers are measured, not
 *   guessed: change a rule, re-run the scorer, update the table. */
#include "signature.h"
#include "buf.h"
#include "charset.h"
#include "config.h"
#include "log.h"
#include "phone.h"
#include "quote.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#define MAXLINES 32         /* tail of the reply that is examined */
#define MAXBLOCK 16         /* longest signature block kept */
#define MAXLINE 400         /* longer lines are prose or notices */
#define MAXSEG 12           /* segments per line */

const char *const crm_sig_field_names[CRM_SIG_NFIELDS] = {
	"name", "title", "company", "email", "phone", "mobile", "website",
	"linkedin", "address",
};

/* ---------------------------------------------------------------- rules */

enum { PH_FAX, PH_MOBILE, PH_DIRECT, PH_MAIN, PH_PHONE, PH_NOTPHONE, PH_NONE };

struct kv {
	char *key;       /* folded (see fold()) */
	char *val;
	int kind;
};

struct crm_sig_rules {
	pcre2_code *closing_line, *closing_end, *title, *company, *legal,
	    *disc_cue, *disc_short, *phone_label_before, *phone_label_after,
	    *country, *street;
	pcre2_code *p_phone, *p_ext, *p_email, *p_url, *p_linkedin, *p_fr_city,
	    *p_uk_city, *p_us_city, *p_ca_city, *p_au_city, *p_sg_city, *p_ie_city;
	struct kv *phone_labels, *affixes, *countries, *tlds;
	size_t nphone_labels, naffixes, ncountries, ntlds;
	char **webmail, **social, **phone_regions;
	size_t nwebmail, nsocial, nphone_regions;
};

/* Lowercase, accents stripped (utf8proc), for comparisons; malloc'd. */
static char *
fold(const char *s, size_t n)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &out,
	    UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
	if (r < 0) {
		char *c = crm_xmalloc(n + 1);
		for (size_t i = 0; i < n; i++)
			c[i] = (char)tolower((unsigned char)s[i]);
		c[n] = 0;
		return c;
	}
	return (char *)out;
}

struct entry {
	char *col[2];
	int ncol;
	long line;
};

struct rfile {
	const char *path;
	struct entry *e;
	size_t n;
};

static void
rfile_free(struct rfile *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].col[0]);
		free(f->e[i].col[1]);
	}
	free(f->e);
	f->e = NULL;
	f->n = 0;
}

static int
fail(char *err, size_t errlen, const char *path, long line, const char *msg)
{
	if (line > 0)
		snprintf(err, errlen, "%s:%ld: %s", path, line, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
	return -1;
}

/* Read a rules file: entries of ncol TAB-separated columns. */
static int
rfile_read(struct rfile *f, const char *dir, const char *name, int ncol,
    char *err, size_t errlen)
{
	static char path[4096];
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, ne = 0;
	ssize_t got;
	long lineno = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f->path = path;
	f->e = NULL;
	f->n = 0;
	if (!(fp = fopen(path, "r")))
		return fail(err, errlen, path, 0, strerror(errno));
	while ((got = getline(&line, &cap, fp)) >= 0) {
		size_t n = (size_t)got;
		char *s = line, *tab;
		lineno++;
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		s[n] = 0;
		if (n == 0 || *s == '#')
			continue;
		if (!crm_utf8_valid(s, n)) {
			free(line);
			fclose(fp);
			rfile_free(f);
			return fail(err, errlen, path, lineno, "invalid UTF-8");
		}
		if (f->n == ne) {
			ne = ne ? ne * 2 : 64;
			f->e = crm_xrealloc(f->e, ne * sizeof *f->e);
		}
		struct entry *e = &f->e[f->n];
		memset(e, 0, sizeof *e);
		e->line = lineno;
		tab = strchr(s, '\t');
		if (ncol == 1) {
			if (tab) {
				free(line);
				fclose(fp);
				rfile_free(f);
				return fail(err, errlen, path, lineno, "unexpected TAB (one column expected)");
			}
			e->col[0] = crm_xstrdup(s);
			e->ncol = 1;
		} else {
			if (!tab) {
				free(line);
				fclose(fp);
				rfile_free(f);
				return fail(err, errlen, path, lineno, "expected two TAB-separated columns");
			}
			char *v = tab;
			while (*v == '\t')
				v++;
			*tab = 0;
			if (!*v || !*s || strchr(v, '\t')) {
				free(line);
				fclose(fp);
				rfile_free(f);
				return fail(err, errlen, path, lineno, "expected two TAB-separated columns");
			}
			e->col[0] = crm_xstrdup(s);
			e->col[1] = crm_xstrdup(v);
			e->ncol = 2;
		}
		f->n++;
	}
	free(line);
	fclose(fp);
	if (f->n == 0)
		return fail(err, errlen, path, 0, "no entries");
	return 0;
}

static pcre2_code *
compile(const char *pat, uint32_t flags, const char *path, long line, char *err, size_t errlen)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | flags, &ec, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[200];
		char m[300];
		pcre2_get_error_message(ec, msg, sizeof msg);
		snprintf(m, sizeof m, "bad pattern: %s at offset %zu", (char *)msg, (size_t)off);
		fail(err, errlen, path, line, m);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

static void
add_escaped(struct crm_buf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\^$.|?*+()[]{}", *s))
			crm_buf_addc(b, '\\');
		if (*s == ' ')
			crm_buf_adds(b, "\\s+");
		else
			crm_buf_addc(b, *s);
	}
}

static int
by_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* One alternation of the literal phrases words[0..n), longest first,
 * between before and after. */
static pcre2_code *
alternation(char **words, size_t n, const char *before, const char *after,
    uint32_t flags, const char *path, char *err, size_t errlen)
{
	struct crm_buf b = CRM_BUF_INIT;
	char **w = crm_xmalloc((n ? n : 1) * sizeof *w);
	pcre2_code *re;

	memcpy(w, words, n * sizeof *w);
	qsort(w, n, sizeof *w, by_len_desc);
	crm_buf_adds(&b, before);
	crm_buf_adds(&b, "(?:");
	for (size_t i = 0; i < n; i++) {
		if (i)
			crm_buf_addc(&b, '|');
		add_escaped(&b, w[i]);
	}
	crm_buf_adds(&b, ")");
	crm_buf_adds(&b, after);
	re = compile(b.s, flags, path, 0, err, errlen);
	crm_buf_free(&b);
	free(w);
	return re;
}

#define WB_BEFORE "(?<![\\p{L}\\p{N}])"
#define WB_AFTER "(?![\\p{L}\\p{N}])"

/* The first column of a lexicon file as one word-bounded alternation. */
static pcre2_code *
lexicon_cols(const char *dir, const char *name, int ncol, const char *before,
    const char *after, uint32_t flags, char *err, size_t errlen)
{
	struct rfile f;
	pcre2_code *re;
	char **w;

	if (rfile_read(&f, dir, name, ncol, err, errlen) < 0)
		return NULL;
	w = crm_xmalloc(f.n * sizeof *w);
	for (size_t i = 0; i < f.n; i++)
		w[i] = f.e[i].col[0];
	re = alternation(w, f.n, before, after, flags, f.path, err, errlen);
	free(w);
	rfile_free(&f);
	return re;
}

static pcre2_code *
lexicon(const char *dir, const char *name, const char *before, const char *after,
    uint32_t flags, char *err, size_t errlen)
{
	return lexicon_cols(dir, name, 1, before, after, flags, err, errlen);
}

/* A two-column KIND<TAB>PHRASE file: one alternation per kind. */
static int
kinds(const char *dir, const char *name, const char *const *kindnames, size_t nk,
    const char *const *before, const char *const *after, uint32_t flags,
    pcre2_code **out, struct kv **table, size_t *ntable, char *err, size_t errlen)
{
	struct rfile f;
	char **w;
	size_t *cnt;

	if (rfile_read(&f, dir, name, 2, err, errlen) < 0)
		return -1;
	w = crm_xmalloc(nk * f.n * sizeof *w);
	cnt = crm_xcalloc(nk, sizeof *cnt);
	if (table) {
		*table = crm_xcalloc(f.n, sizeof **table);
		*ntable = f.n;
	}
	for (size_t i = 0; i < f.n; i++) {
		size_t k;
		for (k = 0; k < nk; k++)
			if (!strcmp(f.e[i].col[0], kindnames[k]))
				break;
		if (k == nk) {
			char m[200];
			snprintf(m, sizeof m, "unknown kind '%s'", f.e[i].col[0]);
			fail(err, errlen, f.path, f.e[i].line, m);
			goto bad;
		}
		w[k * f.n + cnt[k]++] = f.e[i].col[1];
		if (table) {
			(*table)[i].key = fold(f.e[i].col[1], strlen(f.e[i].col[1]));
			(*table)[i].kind = (int)k;
		}
	}
	for (size_t k = 0; k < nk; k++) {
		if (!out || !before[k])
			continue;
		if (!cnt[k]) {
			char m[200];
			snprintf(m, sizeof m, "no '%s' entries", kindnames[k]);
			fail(err, errlen, f.path, 0, m);
			goto bad;
		}
		if (!(out[k] = alternation(w + k * f.n, cnt[k], before[k], after[k], flags,
		    f.path, err, errlen)))
			goto bad;
	}
	free(w);
	free(cnt);
	rfile_free(&f);
	return 0;
bad:
	free(w);
	free(cnt);
	rfile_free(&f);
	return -1;
}

static int
kv_table(const char *dir, const char *name, struct kv **t, size_t *n, char *err, size_t errlen)
{
	struct rfile f;

	if (rfile_read(&f, dir, name, 2, err, errlen) < 0)
		return -1;
	*t = crm_xcalloc(f.n, sizeof **t);
	*n = f.n;
	for (size_t i = 0; i < f.n; i++) {
		(*t)[i].key = fold(f.e[i].col[0], strlen(f.e[i].col[0]));
		(*t)[i].val = crm_xstrdup(f.e[i].col[1]);
	}
	rfile_free(&f);
	return 0;
}

static int
list(const char *dir, const char *name, char ***out, size_t *n, char *err, size_t errlen)
{
	struct rfile f;

	if (rfile_read(&f, dir, name, 1, err, errlen) < 0)
		return -1;
	*out = crm_xmalloc(f.n * sizeof **out);
	*n = f.n;
	for (size_t i = 0; i < f.n; i++)
		(*out)[i] = fold(f.e[i].col[0], strlen(f.e[i].col[0]));
	rfile_free(&f);
	return 0;
}

static int
patterns(struct crm_sig_rules *r, const char *dir, char *err, size_t errlen)
{
	static const struct { const char *name; size_t off; uint32_t flags; } want[] = {
		{ "phone", offsetof(struct crm_sig_rules, p_phone), 0 },
		{ "ext", offsetof(struct crm_sig_rules, p_ext), PCRE2_CASELESS },
		{ "email", offsetof(struct crm_sig_rules, p_email), PCRE2_CASELESS },
		{ "url", offsetof(struct crm_sig_rules, p_url), PCRE2_CASELESS },
		{ "linkedin", offsetof(struct crm_sig_rules, p_linkedin), PCRE2_CASELESS },
		{ "fr_city", offsetof(struct crm_sig_rules, p_fr_city), PCRE2_CASELESS },
		{ "uk_city", offsetof(struct crm_sig_rules, p_uk_city), 0 },
		{ "us_city", offsetof(struct crm_sig_rules, p_us_city), 0 },
		{ "ca_city", offsetof(struct crm_sig_rules, p_ca_city), 0 },
		{ "au_city", offsetof(struct crm_sig_rules, p_au_city), 0 },
		{ "sg_city", offsetof(struct crm_sig_rules, p_sg_city), 0 },
		{ "ie_city", offsetof(struct crm_sig_rules, p_ie_city), 0 },
	};
	struct rfile f;

	if (rfile_read(&f, dir, "patterns.txt", 2, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < f.n; i++) {
		size_t k;
		for (k = 0; k < sizeof want / sizeof want[0]; k++)
			if (!strcmp(want[k].name, f.e[i].col[0]))
				break;
		if (k == sizeof want / sizeof want[0]) {
			char m[200];
			snprintf(m, sizeof m, "unknown pattern name '%s'", f.e[i].col[0]);
			fail(err, errlen, f.path, f.e[i].line, m);
			rfile_free(&f);
			return -1;
		}
		pcre2_code **slot = (pcre2_code **)((char *)r + want[k].off);
		if (*slot) {
			fail(err, errlen, f.path, f.e[i].line, "pattern defined twice");
			rfile_free(&f);
			return -1;
		}
		if (!(*slot = compile(f.e[i].col[1], want[k].flags, f.path, f.e[i].line, err, errlen))) {
			rfile_free(&f);
			return -1;
		}
	}
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
		if (!*(pcre2_code **)((char *)r + want[k].off)) {
			char m[200];
			snprintf(m, sizeof m, "pattern '%s' missing", want[k].name);
			fail(err, errlen, f.path, 0, m);
			rfile_free(&f);
			return -1;
		}
	rfile_free(&f);
	return 0;
}

struct crm_sig_rules *
crm_sig_rules_load(const char *dir, char *err, size_t errlen)
{
	struct crm_sig_rules *r = crm_xcalloc(1, sizeof *r);
	static const char *const closing_kinds[] = { "line", "end" };
	static const char *const closing_before[] = {
		"^[\\s\\-–—*>]*", WB_BEFORE };
	/* a closing line: the phrase, punctuation, then optionally ", Name" */
	static const char *const closing_after[] = {
		"(?:[\\s,.!;:…]*$|\\s*[,.!]\\s*(\\S.{0,40})$)", "[\\s,.!;:…]*$" };
	static const char *const disc_kinds[] = { "cue", "short" };
	static const char *const disc_ba[] = { WB_BEFORE, WB_BEFORE };
	static const char *const disc_af[] = { "", "" };
	static const char *const ph_kinds[] = { "fax", "mobile", "direct", "main", "phone", "none" };
	static const char *const no[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	static const char *const af_kinds[] = { "prefix", "suffix" };
	char dirbuf[4096];
	pcre2_code *pair[2] = { NULL, NULL };

	if (!dir) {
		snprintf(dirbuf, sizeof dirbuf, "%s", crm_rules_path("signature"));
		dir = dirbuf;
	}
	if (kinds(dir, "closings.txt", closing_kinds, 2, closing_before, closing_after,
	    PCRE2_CASELESS, pair, NULL, NULL, err, errlen) < 0)
		goto bad;
	r->closing_line = pair[0];
	r->closing_end = pair[1];
	if (kinds(dir, "disclaimer.txt", disc_kinds, 2, disc_ba, disc_af,
	    PCRE2_CASELESS, pair, NULL, NULL, err, errlen) < 0)
		goto bad;
	r->disc_cue = pair[0];
	r->disc_short = pair[1];
	if (!(r->title = lexicon(dir, "titles.txt", WB_BEFORE, WB_AFTER, PCRE2_CASELESS, err, errlen))
	    || !(r->company = lexicon(dir, "company.txt", WB_BEFORE, WB_AFTER, PCRE2_CASELESS, err, errlen))
	    || !(r->legal = lexicon(dir, "legal_forms.txt", WB_BEFORE, "(?![\\p{L}\\p{N}])", 0, err, errlen))
	    || !(r->street = lexicon(dir, "street.txt", WB_BEFORE, "(?![\\p{L}\\p{N}])", PCRE2_CASELESS, err, errlen))
	    || !(r->country = lexicon_cols(dir, "countries.txt", 2, WB_BEFORE, "(?![\\p{L}\\p{N}])", PCRE2_CASELESS, err, errlen)))
		goto bad;
	if (kinds(dir, "phone_labels.txt", ph_kinds, 6, no, no, PCRE2_CASELESS, NULL,
	    &r->phone_labels, &r->nphone_labels, err, errlen) < 0)
		goto bad;
	{
		/* label just before a number / just after it */
		struct rfile f;
		char **w;
		if (rfile_read(&f, dir, "phone_labels.txt", 2, err, errlen) < 0)
			goto bad;
		w = crm_xmalloc(f.n * sizeof *w);
		for (size_t i = 0; i < f.n; i++)
			w[i] = f.e[i].col[1];
		r->phone_label_before = alternation(w, f.n, "(?:^|[\\s|•·,;(/–—\\-])(",
		    ")\\.?\\s*(?:\\(\\w+\\))?\\s*[:.]?[\\s\\x{00A0}]*$", PCRE2_CASELESS, f.path, err, errlen);
		r->phone_label_after = r->phone_label_before ? alternation(w, f.n,
		    "^[\\s\\x{00A0}]*\\(?(", ")\\)?(?![\\p{L}\\p{N}])", PCRE2_CASELESS, f.path, err, errlen) : NULL;
		free(w);
		rfile_free(&f);
		if (!r->phone_label_before || !r->phone_label_after)
			goto bad;
	}
	if (kinds(dir, "name_affixes.txt", af_kinds, 2, no, no, 0, NULL, &r->affixes,
	    &r->naffixes, err, errlen) < 0)
		goto bad;
	if (kv_table(dir, "countries.txt", &r->countries, &r->ncountries, err, errlen) < 0
	    || kv_table(dir, "tld_regions.txt", &r->tlds, &r->ntlds, err, errlen) < 0
	    || list(dir, "webmail.txt", &r->webmail, &r->nwebmail, err, errlen) < 0
	    || list(dir, "social.txt", &r->social, &r->nsocial, err, errlen) < 0
	    || list(dir, "phone_regions.txt", &r->phone_regions, &r->nphone_regions, err, errlen) < 0
	    || patterns(r, dir, err, errlen) < 0)
		goto bad;
	return r;
bad:
	crm_sig_rules_free(r);
	return NULL;
}

static void
kv_free(struct kv *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].key);
		free(t[i].val);
	}
	free(t);
}

void
crm_sig_rules_free(struct crm_sig_rules *r)
{
	pcre2_code **codes[] = { &r->closing_line, &r->closing_end, &r->title, &r->company,
		&r->legal, &r->disc_cue, &r->disc_short, &r->phone_label_before,
		&r->phone_label_after, &r->country, &r->street, &r->p_phone, &r->p_ext,
		&r->p_email, &r->p_url, &r->p_linkedin, &r->p_fr_city, &r->p_uk_city,
		&r->p_us_city, &r->p_ca_city, &r->p_au_city, &r->p_sg_city, &r->p_ie_city };

	if (!r)
		return;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		pcre2_code_free(*codes[i]);
	kv_free(r->phone_labels, r->nphone_labels);
	kv_free(r->affixes, r->naffixes);
	kv_free(r->countries, r->ncountries);
	kv_free(r->tlds, r->ntlds);
	for (size_t i = 0; i < r->nwebmail; i++)
		free(r->webmail[i]);
	for (size_t i = 0; i < r->nsocial; i++)
		free(r->social[i]);
	for (size_t i = 0; i < r->nphone_regions; i++)
		free(r->phone_regions[i]);
	free(r->phone_regions);
	free(r->webmail);
	free(r->social);
	free(r);
}

/* ------------------------------------------------------------- matching */

struct ctx {
	const struct crm_sig_rules *r;
	const struct crm_sig_input *in;
	pcre2_match_data *md;
	char *stok[8];            /* sender name tokens, folded */
	size_t nstok;
	int from_display;         /* stok came from the display name */
	char *domain;             /* sender's domain, folded */
	char *dlabel;             /* domain minus its public suffix, alnum only */
	char tld_region[3];
	int webmail;
	int from_company;         /* the display name is a firm's */
};

static int
rx(struct ctx *c, const pcre2_code *re, const char *s, size_t n, size_t start)
{
	return pcre2_match(re, (PCRE2_SPTR)s, n, start, 0, c->md, NULL);
}

static PCRE2_SIZE *
ov(struct ctx *c)
{
	return pcre2_get_ovector_pointer(c->md);
}

static int
is_blank_byte(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Trim ASCII blanks and U+00A0 from both ends. */
static void
trim(const char **s, size_t *n)
{
	const char *p = *s;
	size_t m = *n;
	for (;;) {
		if (m && is_blank_byte((unsigned char)*p)) {
			p++;
			m--;
		} else if (m >= 2 && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0) {
			p += 2;
			m -= 2;
		} else
			break;
	}
	for (;;) {
		if (m && is_blank_byte((unsigned char)p[m - 1]))
			m--;
		else if (m >= 2 && (unsigned char)p[m - 2] == 0xC2 && (unsigned char)p[m - 1] == 0xA0)
			m -= 2;
		else
			break;
	}
	*s = p;
	*n = m;
}

static int
has_affix(const struct crm_sig_rules *r, const char *folded, int kind)
{
	for (size_t i = 0; i < r->naffixes; i++)
		if (r->affixes[i].kind == kind && !strcmp(r->affixes[i].key, folded))
			return 1;
	return 0;
}

/* Split a name into folded tokens, dropping affixes. */
static size_t
name_tokens(const struct crm_sig_rules *r, const char *s, size_t n, char **tok, size_t max,
    const char *seps)
{
	size_t k = 0, i = 0;
	while (i < n && k < max) {
		while (i < n && strchr(seps, s[i]))
			i++;
		size_t j = i;
		while (j < n && !strchr(seps, s[j]))
			j++;
		if (j > i) {
			char *f = fold(s + i, j - i);
			size_t fl = strlen(f);
			while (fl && strchr(",;:()\"'", f[fl - 1]))
				f[--fl] = 0;
			if (fl && !has_affix(r, f, 0) && !has_affix(r, f, 1))
				tok[k++] = f;
			else
				free(f);
		}
		i = j;
	}
	return k;
}

static void
ctx_init(struct ctx *c, const struct crm_sig_rules *r, const struct crm_sig_input *in)
{
	const char *e = in->from_email, *at;

	memset(c, 0, sizeof *c);
	c->r = r;
	c->in = in;
	c->md = pcre2_match_data_create(16, NULL);
	if (!c->md)
		crm_die(3, "out of memory");
	if (in->from_name && *in->from_name) {
		size_t fl = strlen(in->from_name);
		/* "Cabinet Roussel", "Service Partenaires": not a person */
		if (rx(c, r->company, in->from_name, fl, 0) < 0 && rx(c, r->legal, in->from_name, fl, 0) < 0) {
			c->nstok = name_tokens(r, in->from_name, fl, c->stok, 8, " \t\"");
			c->from_display = c->nstok > 0;
		} else
			c->from_company = 1;
	}
	if (e && (at = strrchr(e, '@')) && at[1]) {
		if (!c->nstok)
			c->nstok = name_tokens(r, e, (size_t)(at - e), c->stok, 8, "._-+0123456789");
		c->domain = fold(at + 1, strlen(at + 1));
		for (size_t i = 0; i < r->nwebmail; i++)
			if (!strcmp(r->webmail[i], c->domain))
				c->webmail = 1;
		/* label: strip the public suffix (one label, or two for co.uk ...) */
		char *d = crm_xstrdup(c->domain), *dot = strrchr(d, '.');
		if (dot) {
			const char *tld = dot + 1;
			for (size_t i = 0; i < r->ntlds; i++)
				if (!strcmp(r->tlds[i].key, tld))
					snprintf(c->tld_region, sizeof c->tld_region, "%s", r->tlds[i].val);
			*dot = 0;
			char *d2 = strrchr(d, '.');
			if (d2 && (!strcmp(d2 + 1, "co") || !strcmp(d2 + 1, "com") || !strcmp(d2 + 1, "org")
			    || !strcmp(d2 + 1, "ac") || !strcmp(d2 + 1, "gov")))
				*d2 = 0;
			char *d3 = strrchr(d, '.');
			char *lab = d3 ? d3 + 1 : d;
			size_t k = 0;
			for (char *p = lab; *p; p++)
				if (isalnum((unsigned char)*p))
					lab[k++] = *p;
			lab[k] = 0;
			c->dlabel = crm_xstrdup(lab);
		}
		free(d);
	}
}

static void
ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nstok; i++)
		free(c->stok[i]);
	free(c->domain);
	free(c->dlabel);
	pcre2_match_data_free(c->md);
}

/* ------------------------------------------------------------ locating */

enum {
	L_DISC = 1 << 0, L_SEP = 1 << 1, L_PROSE = 1 << 2, L_CLOSE = 1 << 3,
	L_CLOSE_END = 1 << 4, L_DELIM = 1 << 5, L_NAME = 1 << 6, L_FEAT = 1 << 7,
	L_QUOTE = 1 << 8,
};

struct tline {
	const char *s;
	size_t n;
	unsigned f;
	size_t tail;             /* L_CLOSE with ", Name": offset of the name */
};

static size_t
count_words(const char *s, size_t n)
{
	size_t w = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		int sp = s[i] == ' ' || s[i] == '\t';
		if (!sp && !in)
			w++;
		in = !sp;
	}
	return w;
}

/* Words holding a letter ("|", "06", "+33" are not words). */
static size_t
count_letter_words(const char *s, size_t n)
{
	size_t w = 0, i = 0;
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		int letter = 0;
		while (i < n && s[i] != ' ' && s[i] != '\t') {
			unsigned char ch = (unsigned char)s[i];
			if (isalpha(ch) || ch >= 0xC3)
				letter = 1;
			i++;
		}
		w += letter;
	}
	return w;
}

/* Separators between the parts of a one-line signature. */
static size_t
count_seps(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == ' ' && (s[i + 1] == '|' || s[i + 1] == '-' || s[i + 1] == '/'
		    || !memcmp(s + i + 1, "•", 3) || !memcmp(s + i + 1, "·", 2)
		    || !memcmp(s + i + 1, "–", 3)) && (s[i + 2] == ' ' || (unsigned char)s[i + 1] >= 0xC2))
			k++;
	return k;
}

static size_t
count_digits(const char *s, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += s[i] >= '0' && s[i] <= '9';
	return d;
}

static int
is_sep_line(const char *s, size_t n)
{
	if (n < 5)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("=*-_~#+. ", s[i]))
			return 0;
	return 1;
}

/* Does the token (folded) equal a sender token? */
static int
stok_has(const struct ctx *c, const char *t)
{
	for (size_t i = 0; i < c->nstok; i++)
		if (!strcmp(c->stok[i], t))
			return 1;
	return 0;
}

/* Name evidence on a line: 3 full name (two sender tokens or more),
 * 2 initial + surname ("Y. Leroux"), 1 a lone first name or nickname,
 * 0 none.  first and last get the byte span of the matched tokens. */
static int
name_match(const struct ctx *c, const char *s, size_t n, size_t *first, size_t *last)
{
	size_t i = 0, full = 0, init = 0, words = 0, nick = 0;
	size_t f0 = (size_t)-1, l0 = 0;
	static const char seps[] = " \t,|•·/";

	if (!c->nstok || n > 120)
		return 0;
	while (i < n) {
		while (i < n && strchr(seps, s[i]))
			i++;
		size_t j = i;
		while (j < n && !strchr(seps, s[j]))
			j++;
		if (j == i)
			break;
		words++;
		char *t = fold(s + i, j - i);
		size_t tl = strlen(t);
		while (tl && strchr(",;:()\"'®", t[tl - 1]))
			t[--tl] = 0;
		int m = 0;
		if (tl >= 2 && stok_has(c, t))
			m = 2;
		else if (tl == 2 && t[1] == '.' && isalpha((unsigned char)t[0])) {
			for (size_t k = 0; k < c->nstok; k++)
				if (c->stok[k][0] == t[0])
					m = 1;
		} else if (tl >= 3 && c->nstok >= 1 && !strncmp(c->stok[0], t, tl)
		    && strlen(c->stok[0]) > tl && words == 1)
			nick = 1;
		else if (tl == 1 && isalpha((unsigned char)t[0]))
			m = 0;
		if (m == 2)
			full++;
		else if (m == 1)
			init++;
		if (m) {
			if (f0 == (size_t)-1)
				f0 = i;
			l0 = j;
			/* drop trailing punctuation from the span */
			while (l0 > f0 && strchr(",;:", s[l0 - 1]))
				l0--;
		}
		free(t);
		i = j;
	}
	*first = f0 == (size_t)-1 ? 0 : f0;
	*last = l0;
	if (full >= 2)
		return 3;
	if (full == 1 && init >= 1 && words == 2)
		return 2;
	if (full == 1 && words == 1)
		return 1;
	if (nick && words == 1) {
		*first = 0;
		*last = n;
		return 1;
	}
	return 0;
}

static int
cheap_features(const char *s, size_t n)
{
	if (count_digits(s, n) >= 8)
		return 1;
	if (memchr(s, '@', n))
		return 1;
	if (memmem(s, n, "www.", 4) || memmem(s, n, "http", 4) || memmem(s, n, ".com", 4)
	    || memmem(s, n, ".fr", 3))
		return 1;
	return 0;
}

static void
flag_line(struct ctx *c, struct tline *l)
{
	size_t w = count_letter_words(l->s, l->n);
	size_t a, b;
	char last = l->n ? l->s[l->n - 1] : 0;

	if (l->n && l->s[0] == '>') {
		l->f |= L_QUOTE;
		return;
	}
	if (l->n == 2 && l->s[0] == '-' && l->s[1] == '-') {
		l->f |= L_DELIM;
		return;
	}
	if (is_sep_line(l->s, l->n)) {
		l->f |= L_SEP;
		return;
	}
	if (l->n > MAXLINE) {
		l->f |= rx(c, c->r->disc_cue, l->s, l->n, 0) >= 0 ? L_DISC : L_PROSE;
		return;
	}
	if (rx(c, c->r->disc_short, l->s, l->n, 0) >= 0
	    || (l->n >= 70 && rx(c, c->r->disc_cue, l->s, l->n, 0) >= 0)) {
		l->f |= L_DISC;
		return;
	}
	if (l->n <= 80 && rx(c, c->r->closing_line, l->s, l->n, 0) >= 0) {
		PCRE2_SIZE *o = ov(c);
		l->f |= L_CLOSE;
		if (pcre2_get_ovector_count(c->md) > 1 && o[2] != PCRE2_UNSET) {
			size_t f, t;
			/* "Cordialement, Jean" - only when the tail is a name */
			if (name_match(c, l->s + o[2], o[3] - o[2], &f, &t))
				l->tail = o[2];
			else
				l->f &= ~(unsigned)L_CLOSE;
		}
		if (l->f & L_CLOSE)
			return;
	}
	if ((last == '.' || last == ',') && rx(c, c->r->closing_end, l->s, l->n, 0) >= 0) {
		l->f |= L_CLOSE_END;
		return;
	}
	if (count_seps(l->s, l->n) >= 2 && l->n <= 160)
		;       /* "Name | Title | Firm | phone": a one-line signature */
	else if (w >= 16 || l->n > 140 || (w >= 8 && (last == '.' || last == '?' || last == '!'
	    || last == ':')) || (w >= 5 && (last == '?' || last == '!')))
		l->f |= L_PROSE;
	if (!(l->f & L_PROSE) && name_match(c, l->s, l->n, &a, &b))
		l->f |= L_NAME;
	if (cheap_features(l->s, l->n))
		l->f |= L_FEAT;
}

/* The last MAXLINES non-blank lines of the reply, in order. */
static size_t
tail_lines(const char *s, size_t n, struct tline *out)
{
	size_t k = 0, e = n;

	while (e > 0 && k < MAXLINES) {
		size_t b = e;
		while (b > 0 && s[b - 1] != '\n')
			b--;
		const char *p = s + b;
		size_t m = e - b;
		trim(&p, &m);
		if (m) {
			out[MAXLINES - 1 - k].s = p;
			out[MAXLINES - 1 - k].n = m;
			out[MAXLINES - 1 - k].f = 0;
			out[MAXLINES - 1 - k].tail = 0;
			k++;
		}
		e = b > 0 ? b - 1 : 0;
		if (b == 0)
			break;
	}
	memmove(out, out + MAXLINES - k, k * sizeof *out);
	return k;
}

/* A line that could be the signer's name although the From header does
 * not say so: two to four capitalised words, letters only. */
static int
person_shape(struct ctx *c, const char *s, size_t n)
{
	size_t words = 0, i = 0;

	if (n < 4 || n > 50)
		return 0;
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		unsigned char ch = (unsigned char)s[i];
		if (!(isupper(ch) || ch >= 0xC3))
			return 0;
		if (ch >= 0xC3) {       /* accented capital: É, À ... */
			char *f = fold(s + i, 2);
			int up = strncmp(f, s + i, 2) != 0;
			free(f);
			if (!up)
				return 0;
		}
		while (i < n && s[i] != ' ') {
			ch = (unsigned char)s[i];
			if (isdigit(ch) || strchr("@:/|,;()&+", ch))
				return 0;
			i++;
		}
		words++;
	}
	if (words < 2 || words > 4)
		return 0;
	if (rx(c, c->r->title, s, n, 0) >= 0 || rx(c, c->r->company, s, n, 0) >= 0
	    || rx(c, c->r->legal, s, n, 0) >= 0 || rx(c, c->r->street, s, n, 0) >= 0
	    || rx(c, c->r->country, s, n, 0) >= 0)
		return 0;
	return 1;
}

int
crm_sig_locate(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *out)
{
	struct tline ln[MAXLINES];
	struct ctx c;
	size_t n, end, i, start = (size_t)-1;
	double bconf = 0;
	int found = 0;

	memset(out, 0, sizeof *out);
	if (!in->reply || !in->reply_len)
		return 0;
	ctx_init(&c, r, in);
	n = tail_lines(in->reply, in->reply_len, ln);
	for (i = 0; i < n; i++)
		flag_line(&c, &ln[i]);
	/* notices: a separator next to a notice, and long lines after one */
	for (i = 0; i < n; i++) {
		if (ln[i].f & L_DISC) {
			if (i > 0 && (ln[i - 1].f & L_SEP))
				ln[i - 1].f |= L_DISC;
			for (size_t j = i + 1; j < n && ((ln[j].f & (L_SEP | L_PROSE)) || ln[j].n >= 70); j++)
				ln[j].f |= L_DISC;
		}
	}
	end = n;
	while (end > 0 && (ln[end - 1].f & (L_DISC | L_SEP | L_QUOTE)))
		end--;
	/* 1. "-- " delimiter; 2. the last closing line */
	for (i = end; i-- > 0 && end - i <= MAXBLOCK;) {
		if (ln[i].f & L_DELIM) {
			start = i + 1;
			bconf = 0.97;
			break;
		}
	}
	if (start == (size_t)-1) {
		for (i = end; i-- > 0 && end - i <= MAXBLOCK + 1;) {
			if (ln[i].f & (L_CLOSE | L_CLOSE_END)) {
				start = i + 1;
				if (ln[i].tail) {
					ln[i].s += ln[i].tail;
					ln[i].n -= ln[i].tail;
					ln[i].f = L_NAME;
					start = i;
				}
				bconf = 0.95;
				break;
			}
			if (ln[i].f & L_PROSE)
				break;
		}
	}
	/* 3. the sender's name heading a run of non-prose lines */
	if (start == (size_t)-1) {
		for (i = end; i-- > 0;) {
			if (ln[i].f & (L_PROSE | L_QUOTE))
				break;
			if (ln[i].f & L_NAME) {
				start = i;
				bconf = 0.93;
			}
		}
	}
	/* 4. a run of short lines with contact features */
	if (start == (size_t)-1) {
		size_t feat = 0, k = end;
		for (i = end; i-- > 0 && end - i <= MAXBLOCK;) {
			if (ln[i].f & (L_PROSE | L_QUOTE) || ln[i].n > 90)
				break;
			if (ln[i].f & L_FEAT)
				feat++;
			k = i;
		}
		if (feat >= 1 && end - k >= 2) {
			start = k;
			bconf = 0.8;
		}
	}
	if (start != (size_t)-1 && start < end) {
		struct crm_buf b = CRM_BUF_INIT;
		size_t kept = 0, named = 0, feat = 0, shaped = 0;
		for (i = start; i < end && kept < MAXBLOCK; i++) {
			if (ln[i].f & (L_DISC | L_SEP | L_PROSE | L_QUOTE | L_DELIM | L_CLOSE | L_CLOSE_END))
				continue;
			if (ln[i].n <= 3 && !(ln[i].f & L_NAME))
				continue;        /* initials: "PA", "V.", "H" */
			if (b.len)
				crm_buf_addc(&b, '\n');
			crm_buf_add(&b, ln[i].s, ln[i].n);
			kept++;
			named += !!(ln[i].f & L_NAME);
			feat += !!(ln[i].f & L_FEAT);
			if (!(ln[i].f & (L_NAME | L_FEAT)) && kept <= 2 && person_shape(&c, ln[i].s, ln[i].n))
				shaped++;
		}
		if (kept && (named || feat || shaped || kept >= 2)) {
			out->text_len = b.len;
			out->text = crm_buf_steal(&b);
			out->block_confidence = bconf;
			found = 1;
		} else
			crm_buf_free(&b);
	}
	ctx_free(&c);
	return found;
}

/* ----------------------------------------------------------- extraction */

struct seg {
	const char *s;
	size_t n;
	int line;
	int sep_before;          /* the separator before it was " - " */
	unsigned kind;
};

enum { S_EMAIL = 1, S_WEB = 2, S_PHONE = 4, S_ADDR = 8, S_NAME = 16, S_TITLE = 32,
	S_COMPANY = 64, S_SKIP = 128 };

struct phone {
	char e164[CRM_PHONE_MAX];
	int type, label, line;
	int region_guessed;
};

struct ex {
	struct ctx c;
	const char *lines[MAXBLOCK + 1];
	size_t lens[MAXBLOCK + 1];
	size_t nl;
	struct seg seg[MAXBLOCK * MAXSEG];
	size_t ns;
	struct phone ph[16];
	size_t nph;
	char region[3];          /* phone region for national numbers */
	char addr_country[3];
	int name_line;
};

static void
set_field(struct crm_signature *s, int f, char *v, double conf, const char *rule)
{
	free(s->field[f]);
	s->field[f] = v;
	s->conf[f] = conf;
	s->rule[f] = rule;
}

/* Separators between the parts of a signature line. */
static size_t
sep_at(const char *s, size_t n, size_t i, int *dash)
{
	static const char *const seps[] = { " | ", " • ", " · ", " – ", " — ", " - ", " / ",
		"|", "•", "·", "  ", NULL };
	*dash = 0;
	for (int k = 0; seps[k]; k++) {
		size_t m = strlen(seps[k]);
		if (i + m <= n && !memcmp(s + i, seps[k], m)) {
			*dash = k == 5;
			return m;
		}
	}
	return 0;
}

static void
segment(struct ex *x, int line, const char *s, size_t n)
{
	size_t i = 0, b = 0;
	int dash = 0, prevdash = 0;

	while (i <= n && x->ns < sizeof x->seg / sizeof x->seg[0]) {
		size_t m = i < n ? sep_at(s, n, i, &dash) : 0;
		if (i == n || m) {
			const char *p = s + b;
			size_t len = i - b;
			trim(&p, &len);
			if (len) {
				struct seg *g = &x->seg[x->ns++];
				g->s = p;
				g->n = len;
				g->line = line;
				g->sep_before = prevdash;
				g->kind = 0;
			}
			if (i == n)
				break;
			prevdash = dash;
			i += m;
			while (i < n && s[i] == ' ')
				i++;
			b = i;
			continue;
		}
		i++;
	}
}

static int
label_kind(const struct crm_sig_rules *r, const char *lab, size_t n)
{
	char *f = fold(lab, n);
	int k = PH_NONE;
	size_t fl = strlen(f);
	while (fl && (f[fl - 1] == '.' || f[fl - 1] == ' '))
		f[--fl] = 0;
	for (size_t i = 0; i < r->nphone_labels; i++) {
		char *key = r->phone_labels[i].key;
		size_t kl = strlen(key);
		while (kl && key[kl - 1] == '.')
			kl--;
		if (kl == fl && !strncmp(key, f, kl)) {
			k = r->phone_labels[i].kind;
			break;
		}
	}
	free(f);
	return k;
}

static void
add_phone(struct ex *x, const char *num, size_t n, int label, int line)
{
	char e164[CRM_PHONE_MAX], clean[64];
	int t = CRM_PHONE_INVALID, guessed = 0;
	size_t digits = count_digits(num, n), k = 0;
	const char *def = x->c.in->region ? x->c.in->region : "FR";

	if (digits < 8 || digits > 16 || x->nph >= sizeof x->ph / sizeof x->ph[0] || n >= sizeof clean)
		return;
	/* digits, a leading '+' and parentheses; any other separator (dots,
	 * dashes, no-break and thin spaces) becomes a space */
	for (size_t i = 0; i < n && k + 1 < sizeof clean; i++) {
		char ch = num[i];
		if (isdigit((unsigned char)ch) || ch == '(' || ch == ')' || (ch == '+' && k == 0))
			clean[k++] = ch;
		else if (k && clean[k - 1] != ' ')
			clean[k++] = ' ';
	}
	clean[k] = 0;
	char *p = clean;
	while (*p == ' ' || *p == '(')
		p++;
	int intl = *p == '+' || (p[0] == '0' && p[1] == '0');
	if (intl) {
		/* "+352 (0) 26 ...": a trunk 0 some write after the country code */
		char *z;
		while ((z = strstr(clean, "(0)")))
			memmove(z, z + 3, strlen(z + 3) + 1);
		t = crm_phone_parse(clean, strlen(clean), "ZZ", e164);
	} else {
		guessed = strcmp(x->region, def) != 0;
		t = crm_phone_parse(clean, strlen(clean), x->region, e164);
		if (t == CRM_PHONE_INVALID && guessed) {
			guessed = 0;
			t = crm_phone_parse(clean, strlen(clean), def, e164);
		}
		/* no hint: a North American number (no trunk 0 or 1), or a
		 * national number with trunk 0 in the regions of
		 * phone_regions.txt, in order */
		if (t == CRM_PHONE_INVALID && digits == 10 && p[0] != '0' && p[0] != '1') {
			guessed = 1;
			t = crm_phone_parse(clean, strlen(clean), "US", e164);
		}
		for (size_t i = 0; t == CRM_PHONE_INVALID && p[0] == '0' && i < x->c.r->nphone_regions; i++) {
			guessed = 1;
			t = crm_phone_parse(clean, strlen(clean), x->c.r->phone_regions[i], e164);
		}
	}
	if (t == CRM_PHONE_INVALID)
		return;
	for (size_t i = 0; i < x->nph; i++)
		if (!strcmp(x->ph[i].e164, e164))
			return;
	struct phone *ph = &x->ph[x->nph++];
	memcpy(ph->e164, e164, sizeof e164);
	ph->type = t;
	ph->label = label;
	ph->line = line;
	ph->region_guessed = guessed;
}

/* Phone candidates of one segment, with the label before or after each. */
static int
find_phones(struct ex *x, struct seg *g)
{
	struct ctx *c = &x->c;
	size_t pos = 0, prev_end = 0;
	int found = 0;

	if (count_digits(g->s, g->n) < 8)
		return 0;
	while (pos < g->n && rx(c, c->r->p_phone, g->s, g->n, pos) >= 0) {
		PCRE2_SIZE *o = ov(c);
		size_t b = o[0], e = o[1];
		int label = PH_NONE;
		pos = e > b ? e : b + 1;
		/* a run of two numbers "01 .. - 06 .." is split at " - " */
		const char *dash = NULL;
		for (size_t k = b; k + 3 <= e; k++)
			if (g->s[k] == ' ' && g->s[k + 1] == '-' && g->s[k + 2] == ' ') {
				dash = g->s + k;
				break;
			}
		if (dash && count_digits(g->s + b, e - b) > 13) {
			e = (size_t)(dash - g->s);
			pos = e + 3;
		}
		if (b > prev_end && rx(c, c->r->phone_label_before, g->s + prev_end, b - prev_end, 0) >= 0) {
			PCRE2_SIZE *o2 = ov(c);
			label = label_kind(c->r, g->s + prev_end + o2[2], o2[3] - o2[2]);
		}
		if (label == PH_NONE) {
			size_t ae = e;
			/* "(203) 555-0109 office": a label after, extension skipped */
			if (rx(c, c->r->p_ext, g->s + ae, g->n - ae, 0) >= 0)
				ae += ov(c)[1];
			if (rx(c, c->r->phone_label_after, g->s + ae, g->n - ae, 0) >= 0) {
				PCRE2_SIZE *o2 = ov(c);
				label = label_kind(c->r, g->s + ae + o2[2], o2[3] - o2[2]);
			}
		}
		prev_end = e;
		if (label == PH_FAX || label == PH_NOTPHONE) {
			found = 1;
			continue;
		}
		size_t before = x->nph;
		add_phone(x, g->s + b, e - b, label, g->line);
		found |= x->nph > before;
	}
	return found;
}

/* "https://www.Firm.com/fr/" -> "firm.com/fr"; NULL for images, social
 * networks and mail links. */
static char *
norm_website(const struct crm_sig_rules *r, const char *u, size_t n)
{
	size_t i = 0;
	char *out, *host;

	if (n >= 7 && !strncasecmp(u, "mailto:", 7))
		return NULL;
	if (n >= 8 && !strncasecmp(u, "https://", 8))
		i = 8;
	else if (n >= 7 && !strncasecmp(u, "http://", 7))
		i = 7;
	if (i + 4 <= n && !strncasecmp(u + i, "www.", 4))
		i += 4;
	while (n > i && strchr("/.>)]", u[n - 1]))
		n--;
	if (n <= i)
		return NULL;
	out = crm_xstrndup(u + i, n - i);
	for (char *p = out; *p && *p != '/'; p++)
		*p = (char)tolower((unsigned char)*p);
	{
		char *q = strchr(out, '?');
		if (q)
			*q = 0;
	}
	size_t ol = strlen(out);
	static const char *const img[] = { ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", NULL };
	for (int k = 0; img[k]; k++) {
		size_t il = strlen(img[k]);
		if (ol >= il && !strcasecmp(out + ol - il, img[k])) {
			free(out);
			return NULL;
		}
	}
	host = crm_xstrndup(out, strcspn(out, "/"));
	for (size_t k = 0; k < r->nsocial; k++) {
		size_t sl = strlen(r->social[k]), hl = strlen(host);
		if (hl >= sl && !strcmp(host + hl - sl, r->social[k])
		    && (hl == sl || host[hl - sl - 1] == '.')) {
			free(host);
			free(out);
			return NULL;
		}
	}
	free(host);
	return out;
}

static void
find_web(struct ex *x, struct seg *g, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	size_t pos = 0;

	if (!memchr(g->s, '.', g->n))
		return;
	if (!s->field[CRM_SIG_LINKEDIN] && rx(c, c->r->p_linkedin, g->s, g->n, 0) >= 0) {
		PCRE2_SIZE *o = ov(c);
		struct crm_buf b = CRM_BUF_INIT;
		size_t sl = o[5] - o[4];
		const char *slug = g->s + o[4];
		while (sl && strchr("/.>)", slug[sl - 1]))
			sl--;
		crm_buf_adds(&b, "linkedin.com/");
		for (size_t k = o[2]; k < o[3]; k++)
			crm_buf_addc(&b, (char)tolower((unsigned char)g->s[k]));
		crm_buf_addc(&b, '/');
		crm_buf_add(&b, slug, sl);
		set_field(s, CRM_SIG_LINKEDIN, crm_buf_steal(&b), 0.97, "linkedin-url");
		g->kind |= S_WEB;
	}
	while (pos < g->n && rx(c, c->r->p_url, g->s, g->n, pos) >= 0) {
		PCRE2_SIZE *o = ov(c);
		size_t b = o[0], e = o[1];
		pos = e > b ? e : b + 1;
		if (b > 0 && g->s[b - 1] == '@')
			continue;
		char *w = norm_website(c->r, g->s + b, e - b);
		if (!w) {
			g->kind |= S_WEB;
			continue;
		}
		g->kind |= S_WEB;
		/* prefer the site of the sender's own domain */
		int own = c->domain && !strncmp(w, c->domain, strlen(c->domain));
		if (!s->field[CRM_SIG_WEBSITE] || (own && strcmp(s->rule[CRM_SIG_WEBSITE], "own-domain-url")))
			set_field(s, CRM_SIG_WEBSITE, w, own ? 0.97 : 0.9, own ? "own-domain-url" : "url");
		else
			free(w);
	}
}

static void
find_email(struct ex *x, struct seg *g, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	if (!memchr(g->s, '@', g->n) || rx(c, c->r->p_email, g->s, g->n, 0) < 0)
		return;
	PCRE2_SIZE *o = ov(c);
	char *e = fold(g->s + o[0], o[1] - o[0]);
	int own = c->in->from_email && !strcasecmp(e, c->in->from_email);
	g->kind |= S_EMAIL;
	if (!s->field[CRM_SIG_EMAIL] || (own && strcmp(s->rule[CRM_SIG_EMAIL], "sender-address")))
		set_field(s, CRM_SIG_EMAIL, e, own ? 0.98 : 0.9, own ? "sender-address" : "other-address");
	else
		free(e);
}

static const char *
country_code(struct ex *x, const char *s, size_t n)
{
	struct ctx *c = &x->c;
	if (rx(c, c->r->country, s, n, 0) < 0)
		return NULL;
	PCRE2_SIZE *o = ov(c);
	char *f = fold(s + o[0], o[1] - o[0]);
	const char *code = NULL;
	for (size_t i = 0; i < c->r->ncountries; i++) {
		/* the table is folded with single spaces; the match may have more */
		if (!strcmp(c->r->countries[i].key, f)) {
			code = c->r->countries[i].val;
			break;
		}
	}
	free(f);
	return code;
}

/* Is a segment part of a street address (a street word, or BP/CS)? */
static int
streetish(struct ex *x, const char *s, size_t n)
{
	if (rx(&x->c, x->c.r->street, s, n, 0) < 0)
		return 0;
	return count_digits(s, n) > 0 || rx(&x->c, x->c.r->street, s, n, 0) >= 0;
}

static void
add_street_part(struct crm_buf *b, const char *s, size_t n)
{
	const char *colon;
	trim(&s, &n);
	/* "Adresse : ...", "Paris : ..." labels; emoji pins */
	if ((colon = memchr(s, ':', n)) && colon - s < 24 && count_digits(s, (size_t)(colon - s)) == 0) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
		trim(&s, &n);
	}
	while (n && ((unsigned char)*s >= 0xE2 || *s == '-' || *s == ',')) {
		size_t k = crm_utf8_seqlen((const unsigned char *)s, n);
		s += k;
		n -= k;
		trim(&s, &n);
	}
	while (n && strchr(",;–- ", s[n - 1]))
		n--;
	if (!n)
		return;
	if (b->len)
		crm_buf_adds(b, ", ");
	crm_buf_add(b, s, n);
}

/* Street text before position `at` of line li: the street-like segments
 * of that line, or the street-like lines just above. */
static char *
street_before(struct ex *x, int li, size_t at)
{
	struct crm_buf b = CRM_BUF_INIT;
	const char *line = x->lines[li];
	size_t n = at;

	while (n && strchr(" ,–—-|•·", line[n - 1]))
		n--;
	/* strip a trailing "–" in utf-8 */
	if (n > 0) {
		/* split the part before the postal code into segments */
		size_t save = x->ns;
		segment(x, li, line, n);
		for (size_t k = save; k < x->ns; k++)
			if (streetish(x, x->seg[k].s, x->seg[k].n) || count_digits(x->seg[k].s, x->seg[k].n))
				add_street_part(&b, x->seg[k].s, x->seg[k].n);
		x->ns = save;
	}
	if (!b.len) {
		int top = li;
		while (top > 0 && li - top < 2 && streetish(x, x->lines[top - 1], x->lens[top - 1])
		    && count_digits(x->lines[top - 1], x->lens[top - 1]) < 8
		    && !memchr(x->lines[top - 1], '@', x->lens[top - 1]))
			top--;
		for (int k = top; k < li; k++) {
			size_t save = x->ns;
			segment(x, k, x->lines[k], x->lens[k]);
			for (size_t j = save; j < x->ns; j++)
				if (streetish(x, x->seg[j].s, x->seg[j].n) || count_digits(x->seg[j].s, x->seg[j].n))
					add_street_part(&b, x->seg[j].s, x->seg[j].n);
			x->ns = save;
		}
	}
	if (!b.len) {
		crm_buf_free(&b);
		return NULL;
	}
	return crm_buf_steal(&b);
}

static char *
clean_city(const char *s, size_t n)
{
	trim(&s, &n);
	while (n && strchr(",.-", s[n - 1]))
		n--;
	return crm_xstrndup(s, n);
}

/* Which country a 4- or 5-digit postal code belongs to. */
static const char *
postal_country(struct ex *x, const char *prefix, size_t digits)
{
	if (prefix) {
		if (!strcmp(prefix, "L")) return "LU";
		if (!strcmp(prefix, "CH")) return "CH";
		if (!strcmp(prefix, "B")) return "BE";
		if (!strcmp(prefix, "F")) return "FR";
		if (!strcmp(prefix, "D")) return "DE";
	}
	if (x->addr_country[0])
		return x->addr_country;
	if (x->region[0] && strcmp(x->region, "FR")) {
		if (digits == 5 && (!strcmp(x->region, "DE") || !strcmp(x->region, "IT")
		    || !strcmp(x->region, "ES") || !strcmp(x->region, "MC")))
			return x->region;
		if (digits == 4 && (!strcmp(x->region, "BE") || !strcmp(x->region, "CH")
		    || !strcmp(x->region, "LU") || !strcmp(x->region, "AT") || !strcmp(x->region, "NL")))
			return x->region;
	}
	if (digits == 5)
		return "FR";
	return NULL;
}

static int
find_address(struct ex *x, int li, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	const char *line = x->lines[li];
	size_t n = x->lens[li];
	char *street = NULL, *pc = NULL, *city = NULL;
	const char *country = NULL;
	const char *rule = NULL;
	double conf = 0;
	size_t at = 0;
	PCRE2_SIZE *o;

	if (count_digits(line, n) < 2)
		return 0;
	if (rx(c, c->r->p_us_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[6], o[7] - o[6]);
		country = "US";
		at = o[2];
		rule = "us-city-state-zip";
		conf = 0.85;
	} else if (rx(c, c->r->p_ca_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "CA";
		at = o[2];
		rule = "ca-city-postcode";
		conf = 0.8;
	} else if (rx(c, c->r->p_au_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[6], o[7] - o[6]);
		country = "AU";
		at = o[2];
		rule = "au-city-state-postcode";
		conf = 0.8;
	} else if (rx(c, c->r->p_sg_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "SG";
		at = o[2];
		rule = "sg-postcode";
		conf = 0.8;
	} else if (rx(c, c->r->p_ie_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "IE";
		at = o[2];
		rule = "ie-eircode";
		conf = 0.7;
	} else if (rx(c, c->r->p_uk_city, line, n, 0) >= 0) {
		o = ov(c);
		size_t cb = o[2], ce = o[3];
		city = crm_xstrndup(line + cb, ce - cb);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "GB";
		at = cb;
		rule = "uk-city-postcode";
		conf = 0.8;
		if (rx(c, c->r->street, city, strlen(city), 0) >= 0) {
			free(city);
			free(pc);
			return 0;
		}
	} else if (rx(c, c->r->p_fr_city, line, n, 0) >= 0) {
		o = ov(c);
		char prefix[4] = "";
		if (o[2] != PCRE2_UNSET && o[3] - o[2] < sizeof prefix)
			memcpy(prefix, line + o[2], o[3] - o[2]), prefix[o[3] - o[2]] = 0;
		size_t digits = o[5] - o[4];
		pc = crm_xstrndup(line + o[4], digits);
		city = clean_city(line + o[6], o[7] - o[6]);
		at = o[0];
		/* "1250 Connecticut Ave": a street, not a city */
		if (rx(c, c->r->street, city, strlen(city), 0) >= 0) {
			free(city);
			free(pc);
			return 0;
		}
		const char *cn = country_code(x, line + o[7], n - o[7]);
		if (!cn && li + 1 < (int)x->nl)
			cn = country_code(x, x->lines[li + 1], x->lens[li + 1]);
		country = cn ? cn : postal_country(x, prefix[0] ? prefix : NULL, digits);
		if (!country) {
			free(city);
			free(pc);
			return 0;
		}
		rule = digits == 5 ? "postal-code-city" : "postal-code-city-4";
		conf = digits == 5 ? 0.85 : 0.8;
	} else
		return 0;
	{
		/* an explicit country on the line ("Guernsey", "Suisse") wins */
		const char *cn = country_code(x, line + at, n - at);
		if (cn)
			country = cn;
	}
	street = street_before(x, li, at);
	if (!street)
		conf -= 0.15;
	s->address.street = street;
	s->address.postal_code = pc;
	s->address.city = city;
	s->address.country = crm_xstrdup(country);
	set_field(s, CRM_SIG_ADDRESS, NULL, conf, rule);
	return 1;
}

/* Words of a segment that start with a capital (words of 4+ bytes). */
static double
capital_ratio(const char *s, size_t n)
{
	size_t words = 0, caps = 0, i = 0;
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == ','))
			i++;
		size_t j = i;
		while (j < n && s[j] != ' ' && s[j] != ',')
			j++;
		if (j - i >= 4) {
			const char *w = s + i;
			size_t wl = j - i;
			/* d'Épargne, l'Évêque: look after the elision */
			if (wl > 2 && (w[1] == '\'' || !memcmp(w + 1, "’", wl > 4 ? 3 : 0))) {
				size_t skip = w[1] == '\'' ? 2 : 4;
				w += skip;
				wl -= skip;
			}
			words++;
			if (wl && (isupper((unsigned char)w[0]) || isdigit((unsigned char)w[0])))
				caps++;
			else if (wl >= 2 && (unsigned char)w[0] >= 0xC3) {
				char *f = fold(w, 2);
				caps += strncmp(f, w, 2) != 0;
				free(f);
			}
		}
		i = j;
	}
	return words ? (double)caps / (double)words : 1.0;
}

/* How much of the sender's domain label the segment spells (0..1):
 * "Hollis Wealth Advisors" covers "hollisadvisors" fully. */
static double
domain_cover(struct ctx *c, const char *s, size_t n)
{
	const char *d = c->dlabel;
	size_t dl, pos = 0, covered = 0, i = 0;
	char *f;

	if (!d || !*d || c->webmail)
		return 0;
	dl = strlen(d);
	f = fold(s, n);
	/* tokens of the segment, alnum only */
	char *tok[24];
	size_t nt = 0;
	for (char *p = f; *p && nt < 24;) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		if (!*p)
			break;
		char *b = p;
		while (*p && isalnum((unsigned char)*p))
			p++;
		size_t tl = (size_t)(p - b);
		tok[nt] = crm_xstrndup(b, tl);
		nt++;
	}
	while (pos < dl) {
		size_t best = 0;
		for (i = 0; i < nt; i++) {
			size_t tl = strlen(tok[i]);
			if (tl && tl <= dl - pos && !strncmp(d + pos, tok[i], tl) && tl > best)
				best = tl;
		}
		/* the firm's name starts the domain: "conseil patrimonial" does
		 * not spell morin-conseil-patrimonial */
		if (!best && pos == 0)
			break;
		/* an acronym: "am" for Asset Management, "im" ... */
		if (!best) {
			pos++;
			continue;
		}
		covered += best;
		pos += best;
	}
	for (i = 0; i < nt; i++)
		free(tok[i]);
	free(f);
	return (double)covered / (double)dl;
}

static double
company_score(struct ex *x, struct seg *g, const char **why)
{
	struct ctx *c = &x->c;
	double sc = 0, cover;
	int evid = 0;
	size_t w = count_words(g->s, g->n);

	*why = "company-lexicon";
	if (w > 8 || g->n > 70)
		return 0;
	if ((cover = domain_cover(c, g->s, g->n)) >= 0.5) {
		sc += 3;
		evid = 1;
		*why = "sender-domain-match";
	}
	if (rx(c, c->r->legal, g->s, g->n, 0) >= 0) {
		sc += 2;
		if (!evid)
			*why = "legal-form";
		evid = 1;
	}
	if (rx(c, c->r->company, g->s, g->n, 0) >= 0) {
		sc += 1;
		evid = 1;
	}
	if (!evid)
		return 0;
	double cr = capital_ratio(g->s, g->n);
	if (cr >= 0.75)
		sc += 1;
	else if (cr < 0.5)
		sc -= 1.5;
	if (count_digits(g->s, g->n))
		sc -= 1;
	return sc;
}

/* Title-case a domain label for the fallback company: "groupe-kalis" ->
 * "Groupe Kalis". */
static char *
company_from_domain(struct ctx *c)
{
	char *d, *dot, *out;
	if (!c->domain || c->webmail)
		return NULL;
	d = crm_xstrdup(c->domain);
	if ((dot = strrchr(d, '.')))
		*dot = 0;
	if ((dot = strrchr(d, '.')) && (!strcmp(dot + 1, "co") || !strcmp(dot + 1, "com")))
		*dot = 0;
	if ((dot = strrchr(d, '.')))
		memmove(d, dot + 1, strlen(dot + 1) + 1);
	out = d;
	int start = 1;
	for (char *p = out; *p; p++) {
		if (*p == '-' || *p == '_') {
			*p = ' ';
			start = 1;
		} else if (start) {
			*p = (char)toupper((unsigned char)*p);
			start = 0;
		}
	}
	return out;
}

/* The From display name as a person writes it: "FERRAND Olivier" ->
 * "Olivier FERRAND"; affixes dropped. */
static char *
display_name(struct ctx *c)
{
	const char *n = c->in->from_name;
	char *w[8];
	size_t k = 0;
	struct crm_buf b = CRM_BUF_INIT;

	if (!n || !*n)
		return NULL;
	char *copy = crm_xstrdup(n), *save = NULL;
	for (char *t = strtok_r(copy, " \t\"", &save); t && k < 8; t = strtok_r(NULL, " \t\"", &save)) {
		char *f = fold(t, strlen(t));
		int affix = has_affix(c->r, f, 0) || has_affix(c->r, f, 1);
		free(f);
		if (!affix)
			w[k++] = t;
	}
	if (k >= 2) {
		int upper0 = 1, upper1 = 1;
		for (char *p = w[0]; *p; p++)
			if (islower((unsigned char)*p))
				upper0 = 0;
		for (char *p = w[1]; *p; p++)
			if (islower((unsigned char)*p))
				upper1 = 0;
		if (upper0 && !upper1 && strlen(w[0]) > 1) {
			char *t = w[0];
			memmove(w, w + 1, (k - 1) * sizeof *w);
			w[k - 1] = t;
		}
	}
	for (size_t i = 0; i < k; i++) {
		if (i)
			crm_buf_addc(&b, ' ');
		crm_buf_adds(&b, w[i]);
	}
	free(copy);
	if (!b.len) {
		crm_buf_free(&b);
		return NULL;
	}
	return crm_buf_steal(&b);
}

static void
find_name(struct ex *x, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	int best = 0, bline = -1;
	size_t bf = 0, bl = 0;

	x->name_line = -1;
	for (size_t i = 0; i < x->ns; i++) {
		struct seg *g = &x->seg[i];
		size_t f, l;
		int m;
		if (g->kind & (S_EMAIL | S_WEB | S_PHONE | S_ADDR))
			continue;
		m = name_match(c, g->s, g->n, &f, &l);
		if (m > best) {
			best = m;
			bline = (int)i;
			bf = f;
			bl = l;
		}
		if (m == 3)
			break;
	}
	if (best == 3) {
		struct seg *g = &x->seg[bline];
		set_field(s, CRM_SIG_NAME, crm_xstrndup(g->s + bf, bl - bf), 0.97,
		    c->from_display ? "sender-name-written" : "sender-address-name");
		/* the rest of the segment after the name: ", Présidente" */
		size_t rest = bl;
		while (rest < g->n && strchr(" ,", g->s[rest]))
			rest++;
		if (rest < g->n && x->ns < sizeof x->seg / sizeof x->seg[0]) {
			struct seg *t = &x->seg[x->ns++];
			t->s = g->s + rest;
			t->n = g->n - rest;
			t->line = g->line;
			t->sep_before = 0;
			t->kind = 0;
			/* a suffix alone (CFA, DipPFS) is no title */
			char *f = fold(t->s, t->n);
			if (has_affix(c->r, f, 1))
				t->kind = S_SKIP;
			free(f);
		}
		g->kind = S_NAME;
		x->name_line = g->line;
		return;
	}
	if (best >= 1 && c->from_display) {
		char *dn = display_name(c);
		if (dn) {
			set_field(s, CRM_SIG_NAME, dn, best == 2 ? 0.93 : 0.9,
			    best == 2 ? "initial-and-surname" : "first-name-signoff");
			x->seg[bline].kind = S_NAME;
			x->name_line = x->seg[bline].line;
			return;
		}
	}
	/* nothing matches the sender: a person-shaped first line */
	for (size_t i = 0; i < x->ns && x->seg[i].line <= 1; i++) {
		struct seg *g = &x->seg[i];
		if (g->kind)
			continue;
		if (person_shape(c, g->s, g->n)) {
			set_field(s, CRM_SIG_NAME, crm_xstrndup(g->s, g->n), 0.6, "person-shaped-line");
			g->kind = S_NAME;
			x->name_line = g->line;
			return;
		}
	}
}

/* "Partner, Bayview Advisors", "CMO, Harborlight": a title, then the
 * firm after the last comma, when the firm part is clearly a firm. */
static void
split_title_firm(struct ex *x)
{
	struct ctx *c = &x->c;
	for (size_t i = 0, n0 = x->ns; i < n0 && x->ns < sizeof x->seg / sizeof x->seg[0]; i++) {
		struct seg *g = &x->seg[i], t;
		const char *comma = NULL, *why;
		if (g->kind || g->n > 80)
			continue;
		for (size_t k = g->n; k-- > 1;)
			if (g->s[k] == ' ' && g->s[k - 1] == ',') {
				comma = g->s + k - 1;
				break;
			}
		if (!comma || count_words(g->s, (size_t)(comma - g->s)) > 6)
			continue;
		t = *g;
		t.s = comma + 2;
		t.n = g->n - (size_t)(t.s - g->s);
		if (company_score(x, &t, &why) >= 3 && rx(c, c->r->title, t.s, t.n, 0) < 0
		    && rx(c, c->r->legal, t.s, t.n, 0) != 0) {
			struct seg left = *g;
			left.n = (size_t)(comma - g->s);
			/* "Hudson River Bank, N.A.": the comma is inside the name */
			if (company_score(x, &left, &why) >= 2)
				continue;
			g->n = left.n;
			t.sep_before = 0;
			x->seg[x->ns++] = t;
		}
	}
}

static void
find_title_company(struct ex *x, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	int tseg = -1, cseg = -1, name_seg = -1;
	double best = 0;
	const char *cwhy = NULL, *trule = "title-lexicon";

	split_title_firm(x);
	for (size_t i = 0; i < x->ns; i++) {
		struct seg *g = &x->seg[i];
		if (g->kind & S_NAME && name_seg < 0)
			name_seg = (int)i;
		if (g->kind || g->n > 80)
			continue;
		if (rx(c, c->r->disc_cue, g->s, g->n, 0) >= 0 || rx(c, c->r->closing_line, g->s, g->n, 0) >= 0)
			continue;
		int th = rx(c, c->r->title, g->s, g->n, 0) >= 0;
		size_t toff = th ? ov(c)[0] : 0;
		const char *why;
		double cs = company_score(x, g, &why);
		if (th && !(cs >= 3 && toff > 0)) {
			g->kind = S_TITLE;
			if (tseg < 0 && count_digits(g->s, g->n) == 0)
				tseg = (int)i;
			continue;
		}
		/* a firm needs its own evidence: the sender's domain, a legal
		 * form, or a firm word in a capitalised name */
		if (!strcmp(why, "company-lexicon") && cs < 2)
			continue;
		if (cs > best) {
			best = cs;
			cseg = (int)i;
			cwhy = why;
		}
	}
	/* no title word: the part right after the name ("Sales Structurer") */
	if (tseg < 0 && name_seg >= 0 && (size_t)name_seg + 1 < x->ns) {
		struct seg *g = &x->seg[name_seg + 1];
		if (!g->kind && (int)(name_seg + 1) != cseg && g->line <= x->seg[name_seg].line + 1
		    && count_digits(g->s, g->n) == 0 && count_words(g->s, g->n) <= 6 && g->n <= 60
		    && !memchr(g->s, '@', g->n) && rx(c, c->r->country, g->s, g->n, 0) < 0
		    && rx(c, c->r->street, g->s, g->n, 0) < 0 && rx(c, c->r->disc_cue, g->s, g->n, 0) < 0
		    && rx(c, c->r->closing_line, g->s, g->n, 0) < 0 && count_letter_words(g->s, g->n) >= 1) {
			tseg = name_seg + 1;
			trule = "after-name";
		}
	}
	if (tseg >= 0 && s->field[CRM_SIG_NAME]) {
		struct seg *g = &x->seg[tseg];
		struct crm_buf b = CRM_BUF_INIT;
		crm_buf_add(&b, g->s, g->n);
		/* "Senior Portfolio Manager - EM Debt": a short unclassified
		 * qualifier after " - " belongs to the title */
		if ((size_t)tseg + 1 < x->ns) {
			struct seg *q = &x->seg[tseg + 1];
			const char *why;
			if (q->line == g->line && q->sep_before && !q->kind && count_words(q->s, q->n) <= 3
			    && count_digits(q->s, q->n) == 0 && company_score(x, q, &why) <= 0) {
				crm_buf_adds(&b, " - ");
				crm_buf_add(&b, q->s, q->n);
			}
		}
		int near = x->name_line < 0 || (g->line >= x->name_line - 1 && g->line <= x->name_line + 3);
		if (!near && !strcmp(trule, "title-lexicon"))
			trule = "title-lexicon-far";
		set_field(s, CRM_SIG_TITLE, crm_buf_steal(&b), !strcmp(trule, "after-name") ? 0.6
		    : near ? 0.9 : 0.75, trule);
	}
	if (cseg >= 0) {
		struct seg *g = &x->seg[cseg];
		const char *p = g->s;
		size_t n = g->n;
		while (n && strchr(",;:", p[n - 1]))
			n--;
		double conf = !strcmp(cwhy, "sender-domain-match") ? 0.95
		    : !strcmp(cwhy, "legal-form") ? 0.88 : best >= 2 ? 0.85 : 0.75;
		set_field(s, CRM_SIG_COMPANY, crm_xstrndup(p, n), conf, cwhy);
		g->kind = S_COMPANY;
	}
}

static void
choose_phones(struct ex *x, struct crm_signature *s)
{
	static const int rank[] = { [PH_DIRECT] = 0, [PH_PHONE] = 1, [PH_NONE] = 1,
		[PH_MOBILE] = 2, [PH_MAIN] = 3, [PH_FAX] = 9, [PH_NOTPHONE] = 9 };
	int bp = -1, bm = -1;

	for (size_t i = 0; i < x->nph; i++) {
		struct phone *p = &x->ph[i];
		int mobile = p->type == CRM_PHONE_MOBILE
		    || (p->type == CRM_PHONE_FIXED_OR_MOBILE && p->label == PH_MOBILE);
		if (mobile) {
			if (bm < 0)
				bm = (int)i;
		} else if (bp < 0 || rank[p->label] < rank[x->ph[bp].label])
			bp = (int)i;
	}
	if (bp >= 0) {
		struct phone *p = &x->ph[bp];
		double conf = p->region_guessed ? 0.85 : p->label == PH_MAIN ? 0.85 : 0.95;
		set_field(s, CRM_SIG_PHONE, crm_xstrdup(p->e164), conf,
		    p->label == PH_DIRECT ? "direct-line" : p->label == PH_MAIN ? "main-number"
		    : p->type == CRM_PHONE_FIXED_OR_MOBILE ? "number-plan-ambiguous" : "fixed-line-number");
	}
	if (bm >= 0) {
		struct phone *p = &x->ph[bm];
		double conf = p->region_guessed ? 0.85 : p->type == CRM_PHONE_MOBILE ? 0.97 : 0.9;
		set_field(s, CRM_SIG_MOBILE, crm_xstrdup(p->e164), conf,
		    p->type == CRM_PHONE_MOBILE ? "mobile-number" : "mobile-label");
	}
}

void
crm_sig_extract(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *s)
{
	struct ex *x = crm_xcalloc(1, sizeof *x);
	const char *p;
	size_t i, nfields = 0;
	double sum = 0;

	for (i = 0; i < CRM_SIG_NFIELDS; i++) {
		free(s->field[i]);
		s->field[i] = NULL;
		s->conf[i] = 0;
		s->rule[i] = NULL;
	}
	if (!s->text)
		goto out;
	ctx_init(&x->c, r, in);
	/* lines and segments */
	p = s->text;
	while (*p && x->nl < MAXBLOCK) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		x->lines[x->nl] = p;
		x->lens[x->nl] = n;
		segment(x, (int)x->nl, p, n);
		x->nl++;
		p += n + (e != NULL);
	}
	for (i = 0; i < x->ns; i++) {
		find_email(x, &x->seg[i], s);
		find_web(x, &x->seg[i], s);
	}
	/* region for national numbers: an international number's, the
	 * domain's, else the default */
	snprintf(x->region, sizeof x->region, "%s", in->region ? in->region : "FR");
	if (x->c.tld_region[0])
		snprintf(x->region, sizeof x->region, "%s", x->c.tld_region);
	for (i = 0; i < x->ns; i++) {
		const char *plus = memchr(x->seg[i].s, '+', x->seg[i].n);
		if (plus && rx(&x->c, r->p_phone, x->seg[i].s, x->seg[i].n, (size_t)(plus - x->seg[i].s)) >= 0) {
			char e164[CRM_PHONE_MAX], reg[3];
			PCRE2_SIZE *o = ov(&x->c);
			if (crm_phone_parse(x->seg[i].s + o[0], o[1] - o[0], "ZZ", e164)
			    && crm_phone_region_of(e164, reg) == 0) {
				memcpy(x->region, reg, 3);
				break;
			}
		}
	}
	for (i = 0; i < x->nl; i++) {
		const char *cc = country_code(x, x->lines[i], x->lens[i]);
		if (cc && x->lens[i] < 30) {
			snprintf(x->addr_country, sizeof x->addr_country, "%s", cc);
			break;
		}
	}
	for (i = 0; i < x->nl; i++)
		if (find_address(x, (int)i, s)) {
			for (size_t k = 0; k < x->ns; k++)
				if (x->seg[k].line == (int)i || (s->address.street && x->seg[k].line == (int)i - 1
				    && rx(&x->c, r->street, x->seg[k].s, x->seg[k].n, 0) >= 0))
					x->seg[k].kind |= S_ADDR;
			snprintf(x->region, sizeof x->region, "%s", s->address.country);
			break;
		}
	for (i = 0; i < x->ns; i++) {
		struct seg *g = &x->seg[i];
		if (g->kind & (S_EMAIL | S_WEB))
			continue;
		if (find_phones(x, g))
			g->kind |= S_PHONE;
	}
	/* street lines above the postal line are address too */
	for (i = 0; i < x->ns; i++)
		if (!x->seg[i].kind && count_digits(x->seg[i].s, x->seg[i].n)
		    && rx(&x->c, r->street, x->seg[i].s, x->seg[i].n, 0) >= 0)
			x->seg[i].kind |= S_ADDR;
	choose_phones(x, s);
	find_name(x, s);
	find_title_company(x, s);
	if (!s->field[CRM_SIG_COMPANY] && s->field[CRM_SIG_NAME]
	    && (s->field[CRM_SIG_TITLE] || s->field[CRM_SIG_PHONE] || s->field[CRM_SIG_MOBILE]
	    || s->field[CRM_SIG_EMAIL] || s->field[CRM_SIG_WEBSITE])) {
		char *co = company_from_domain(&x->c);
		if (co)
			set_field(s, CRM_SIG_COMPANY, co, 0.6, "sender-domain");
	}
	ctx_free(&x->c);
out:
	/* field confidence includes the confidence in the block */
	for (i = 0; i < CRM_SIG_NFIELDS; i++) {
		if (!s->rule[i])
			continue;
		s->conf[i] *= s->block_confidence > 0 ? s->block_confidence : 1;
		sum += s->conf[i];
		nfields++;
	}
	s->confidence = nfields ? sum / (double)nfields : 0;
	free(x);
}

int
crm_sig_threshold(struct crm_signature *s, double min)
{
	size_t n = 0;
	double sum = 0;
	for (int i = 0; i < CRM_SIG_NFIELDS; i++) {
		if (!s->rule[i])
			continue;
		if (s->conf[i] < min) {
			free(s->field[i]);
			s->field[i] = NULL;
			s->rule[i] = NULL;
			s->conf[i] = 0;
			if (i == CRM_SIG_ADDRESS) {
				free(s->address.street);
				free(s->address.postal_code);
				free(s->address.city);
				free(s->address.country);
				memset(&s->address, 0, sizeof s->address);
			}
			continue;
		}
		sum += s->conf[i];
		n++;
	}
	s->confidence = n ? sum / (double)n : 0;
	return (int)n;
}

static json_object *
str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* A confidence with three decimals, serialised as written. */
static json_object *
conf_json(double v)
{
	char buf[16];
	double r = (double)(long)(v * 1000 + 0.5) / 1000;
	snprintf(buf, sizeof buf, "%.3f", r);
	return json_object_new_double_s(r, buf);
}

json_object *
crm_signature_json(const struct crm_signature *s, int explain)
{
	json_object *o = json_object_new_object(), *f = json_object_new_object(),
	    *fc = json_object_new_object(), *ru = explain ? json_object_new_object() : NULL;

	json_object_object_add(o, "text", json_object_new_string_len(s->text ? s->text : "",
	    (int)s->text_len));
	for (int i = 0; i < CRM_SIG_NFIELDS; i++) {
		json_object *v = NULL;
		if (i == CRM_SIG_ADDRESS) {
			if (s->rule[i]) {
				v = json_object_new_object();
				json_object_object_add(v, "street", str_or_null(s->address.street));
				json_object_object_add(v, "postal_code", str_or_null(s->address.postal_code));
				json_object_object_add(v, "city", str_or_null(s->address.city));
				json_object_object_add(v, "country", str_or_null(s->address.country));
			}
		} else
			v = str_or_null(s->field[i]);
		json_object_object_add(f, crm_sig_field_names[i], v);
		if (s->rule[i]) {
			json_object_object_add(fc, crm_sig_field_names[i], conf_json(s->conf[i]));
			if (ru)
				json_object_object_add(ru, crm_sig_field_names[i], json_object_new_string(s->rule[i]));
		}
	}
	json_object_object_add(o, "fields", f);
	json_object_object_add(o, "field_confidence", fc);
	json_object_object_add(o, "confidence", conf_json(s->confidence));
	if (ru)
		json_object_object_add(o, "rules", ru);
	return o;
}

void
crm_signature_free(struct crm_signature *s)
{
	if (!s)
		return;
	free(s->text);
	for (int i = 0; i < CRM_SIG_NFIELDS; i++)
		free(s->field[i]);
	free(s->address.street);
	free(s->address.postal_code);
	free(s->address.city);
	free(s->address.country);
	memset(s, 0, sizeof *s);
}
