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
 *   already flagged (a digit run, an '@', a '.').  The closing patterns
 *   are guarded by tables built from closings.txt (which two letters can
 *   open a phrase, which letter can end one); like quote.c's guards they
 *   are exact and leave any doubtful byte to the pattern.
 * - Word lexicons (titles, firms, notices ...) are one hash table of
 *   folded token sequences, hashed as the tokens are read; the result for
 *   a line is memoised by its text, since signatures, notices and list
 *   footers recur from message to message.
 * - The block is found by evidence in a fixed order: a "-- " delimiter, a
 *   closing line, the sender's own name, then a run of short feature-rich
 *   lines; legal notices, regulatory lines and a post-scriptum are cut
 *   first so that they can never become fields.
 * - Names are put in first-last order only on evidence of which word is
 *   the first name (the From name, the address, the entities module's
 *   first-names gazetteer, read from beside our rules directory rather
 *   than copied): the shape alone ("EIN News", "AJ McKee") misleads.
 * - An address written in segments ("street | city | code") is rewritten
 *   into the order the postal patterns read and matched again, only when
 *   they found nothing on the line as written: no second set of patterns
 *   per country, and no cost on the lines that already match.
 * - Each field records the rule that produced it; its confidence is the
 *   accuracy that rule showed on the development corpus
 *   (tests/fixtures/signatures, tests/bench/score-signatures) times the
 *   confidence that the block is the sender's.  Numbers are measured, not
 *   guessed: change a rule, re-run the scorer, update the table. */
#include "signature.h"
#include "buf.h"
#include "charset.h"
#include "config.h"
#include "hash.h"
#include "html.h"
#include "log.h"
#include "phone.h"
#include "quote.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#define MAXLINES 32         /* tail of the reply that is examined */
#define MAXBLOCK 16         /* longest signature block kept */
#define MAXLINE 400         /* longer lines are prose or notices */
#define MAXSEG 12           /* segments per line */

/* The program runs in the C locale (no setlocale()), where <ctype.h>
 * classifies ASCII only: these are the same tests without the call
 * through __ctype_b_loc() per byte. */
static inline int
a_lower(int c)
{
	return (unsigned)c - 'A' < 26u ? c + 32 : c;
}

static inline int
a_upper(int c)
{
	return (unsigned)c - 'a' < 26u ? c - 32 : c;
}

static inline int
a_isupper(int c)
{
	return (unsigned)c - 'A' < 26u;
}

static inline int
a_islower(int c)
{
	return (unsigned)c - 'a' < 26u;
}

static inline int
a_isalpha(int c)
{
	return (unsigned)(c | 32) - 'a' < 26u;
}

static inline int
a_isdigit(int c)
{
	return (unsigned)c - '0' < 10u;
}

static inline int
a_isalnum(int c)
{
	return a_isalpha(c) || a_isdigit(c);
}

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

/* Lexicons: folded token sequences in one hash table, each key with the
 * lexicons it belongs to; keys that begin a longer entry are marked so
 * that a scan extends only while a longer match is possible. */
enum {
	LX_TITLE = 1, LX_COMPANY = 2, LX_LEGAL = 4, LX_STREET = 8, LX_COUNTRY = 16,
	LX_DISC_CUE = 32, LX_DISC_SHORT = 64, LX_PREFIX = 128, LX_REGION = 256,
	LX_FIRST = 512, LX_DEPT = 1024,
};

struct lexent {
	char *key;               /* folded tokens joined by ' ' */
	size_t keylen;
	uint64_t hash;           /* crm_fnv1a(key) */
	unsigned flags;
	char *legal;             /* legal forms match case-sensitively: the form */
	char *country;           /* LX_COUNTRY: ISO code */
};

/* Guards for the closing patterns (see may_close()): which ASCII pairs
 * can open a "line" phrase, which ASCII bytes can end an "end" phrase. */
struct close_guard {
	unsigned char open[128][16];        /* bit set: first char, second char */
	unsigned char last[128];
	int open_off, last_off;             /* a phrase no guard can speak for */
};

struct crm_sig_rules {
	unsigned long id;        /* unique per load (see lex_scan()) */
	pcre2_code *closing_line, *closing_end, *phone_label_before, *phone_label_after;
	struct close_guard cg;
	struct lexent *lex;
	size_t lexcap, lexn;
	uint64_t lexbits[1024];  /* a bit per key hash: most words of a line are
	                            in no lexicon, and this 8 KB answers for them
	                            without touching the table */
	int lexmax;              /* longest entry, in tokens */
	pcre2_code *p_phone, *p_ext, *p_email, *p_list_email, *p_url, *p_linkedin, *p_fr_city,
	    *p_uk_city, *p_us_city, *p_ca_city, *p_au_city, *p_sg_city, *p_ie_city, *p_email_obf,
	    *p_nopc_city, *p_pc_after_city;
	struct kv *phone_labels, *affixes, *tlds, *cities;
	unsigned char affix_first[256];     /* bit kind: an affix starts so */
	struct affix {                      /* the affixes by hash of their key */
		uint64_t h;
		const char *key;
		unsigned char kinds;        /* bit kind */
	} affix_tab[256];
	size_t nphone_labels, naffixes, ntlds, ncities;
	char **webmail, **social, **phone_regions, **images;
	size_t nwebmail, nsocial, nphone_regions, nimages;
	struct fiction {                    /* fiction_phones.txt */
		char cc[4];                 /* country code digits */
		char prefix[16];            /* national number, fixed digits */
		size_t len;                 /* national number, all digits */
		int type;                   /* CRM_PHONE_MOBILE or _FIXED */
	} *fiction;
	size_t nfiction;
};

/* Lowercase, accents stripped, into out (cap bytes, NUL-terminated);
 * returns the length.  ASCII goes byte by byte; other characters through
 * utf8proc's decomposition, one at a time, without allocating. */
static size_t
fold_buf(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < n && o + 16 < cap) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x80) {
			out[o++] = (char)a_lower(ch);
			i++;
			continue;
		}
		utf8proc_int32_t cp, dec[8];
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		i += (size_t)k;
		int last = 0;
		utf8proc_ssize_t m = utf8proc_decompose_char(cp, dec, 8,
		    UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD, &last);
		for (utf8proc_ssize_t j = 0; j < m && j < 8 && o + 8 < cap; j++)
			o += (size_t)utf8proc_encode_char(dec[j], (utf8proc_uint8_t *)out + o);
	}
	out[o] = 0;
	return o;
}

/* The same, malloc'd. */
static char *
fold(const char *s, size_t n)
{
	size_t cap = n * 3 + 32;
	char *out = crm_xmalloc(cap);
	fold_buf(s, n, out, cap);
	return out;
}

/* Copy a two-letter region code. */
static void
set_region(char dst[3], const char *src)
{
	dst[0] = src[0];
	dst[1] = src[0] ? src[1] : 0;
	dst[2] = 0;
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


/* ------------------------------------------------------------- lexicon */

struct tok {
	size_t b, e;             /* bytes of the token in the scanned text */
	char f[64];              /* folded */
	size_t fl;
	uint64_t h;              /* crm_fnv1a(f) */
};

#define FNV_BASIS 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

/* crm_fnv1a() continued over more bytes: the hash of "a b" is the hash
 * of "a" continued over " b", so keys are hashed as they are built. */
static inline uint64_t
fnv_more(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
	return h;
}


#define MAXTOK 48

/* Separators between words: blanks, punctuation, bullets, dashes, quotes,
 * symbols and emoji.  '-', '.', '\'', '&' and '+' stay inside words
 * ("Expert-comptable", "S.A.", "d'affaires", "A+"). */
static unsigned char sep_ascii[256];
static unsigned char word_ascii[256];   /* ASCII and no separator */

static void
sep_init(void)
{
	for (const char *p = " \t\r\n,;:|()/\"[]!?<>*=_"; *p; p++)
		sep_ascii[(unsigned char)*p] = 1;
	for (int c = 0; c < 0x80; c++)
		word_ascii[c] = !sep_ascii[c];
}

static inline size_t
sep_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return sep_ascii[p[0]];
	if (p[0] == 0xC2 && n >= 2 && (p[1] == 0xA0 || p[1] == 0xB7 || p[1] == 0xAB || p[1] == 0xBB
	    || p[1] == 0xAE || p[1] == 0xA9))
		return 2;
	if (p[0] == 0xE2 && n >= 3 && !(p[1] == 0x80 && (p[2] == 0x99 || p[2] == 0x98)))
		return 3;       /* bullets, dashes, ellipsis, ™, arrows; not ’ ‘ */
	if (p[0] == 0xEF && n >= 3)
		return 3;       /* fullwidth forms, variation selectors */
	if (p[0] >= 0xF0 && n >= 4)
		return 4;       /* emoji */
	return 0;
}

static size_t
tokenize(const char *s, size_t n, struct tok *t, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;

	while (k < max) {
		/* separators */
		for (;;) {
			if (i >= n)
				return k;
			if (u[i] < 0x80) {
				if (!sep_ascii[u[i]])
					break;
				i++;
				continue;
			}
			size_t m = sep_len(u + i, n - i);
			if (!m)
				break;
			i += m;
		}
		struct tok *x = &t[k];
		char *f = x->f;
		size_t b = i, fl = 0;
		uint64_t h = FNV_BASIS;
		int ascii = 1;
		/* an ASCII word is lowercased and hashed as it is read (its
		 * first 63 bytes) */
		while (i < n && word_ascii[u[i]]) {
			if (fl < sizeof x->f - 1) {
				unsigned char ch = (unsigned char)a_lower(u[i]);
				f[fl++] = (char)ch;
				h = (h ^ ch) * FNV_PRIME;
			}
			i++;
		}
		/* a letter beyond ASCII in the word: read on */
		while (i < n && u[i] >= 0x80 && !sep_len(u + i, n - i)) {
			ascii = 0;
			i += crm_utf8_seqlen(u + i, n - i);
			while (i < n && word_ascii[u[i]])
				i++;
		}
		x->b = b;
		x->e = i;
		if (ascii)
			f[fl] = 0;
		else {
			fl = fold_buf(s + b, i - b, x->f, sizeof x->f);
			/* ’ -> ' */
			for (char *q; (q = strstr(x->f, "\xE2\x80\x99"));) {
				*q = '\'';
				memmove(q + 1, q + 3, strlen(q + 3) + 1);
				fl -= 2;
			}
		}
		/* a final '.' goes unless the token is an abbreviation (S.A.) */
		size_t whole = fl;
		if (fl > 1 && x->f[fl - 1] == '.' && !memchr(x->f, '.', fl - 1))
			x->f[--fl] = 0;
		while (fl > 1 && (x->f[fl - 1] == '-' || x->f[fl - 1] == '\''))
			x->f[--fl] = 0;
		x->fl = fl;
		x->h = ascii && fl == whole ? h : fnv_more(FNV_BASIS, x->f, fl);
		k++;
	}
	return k;
}

/* key (kl bytes) whose crm_fnv1a() is hash. */
static inline struct lexent *
lex_find(const struct crm_sig_rules *r, const char *key, size_t kl, uint64_t hash)
{
	if (!r->lexcap || !((r->lexbits[(hash >> 38) & 1023] >> ((hash >> 32) & 63)) & 1))
		return NULL;
	size_t h = (size_t)hash & (r->lexcap - 1);
	for (;;) {
		struct lexent *e = &r->lex[h];
		if (!e->key)
			return NULL;
		if (e->hash == hash && e->keylen == kl && !memcmp(e->key, key, kl))
			return e;
		h = (h + 1) & (r->lexcap - 1);
	}
}

static struct lexent *
lex_insert(struct crm_sig_rules *r, const char *key)
{
	if ((r->lexn + 1) * 2 > r->lexcap) {
		size_t cap = r->lexcap ? r->lexcap * 2 : 1024;
		struct lexent *old = r->lex;
		size_t oldcap = r->lexcap;
		r->lex = crm_xcalloc(cap, sizeof *r->lex);
		r->lexcap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].key) {
				size_t h = (size_t)old[i].hash & (cap - 1);
				while (r->lex[h].key)
					h = (h + 1) & (cap - 1);
				r->lex[h] = old[i];
			}
		free(old);
	}
	size_t kl = strlen(key);
	uint64_t hash = crm_fnv1a(key, kl);
	struct lexent *e = lex_find(r, key, kl, hash);
	if (e)
		return e;
	size_t h = (size_t)hash & (r->lexcap - 1);
	while (r->lex[h].key)
		h = (h + 1) & (r->lexcap - 1);
	r->lex[h].key = crm_xstrdup(key);
	r->lex[h].keylen = kl;
	r->lex[h].hash = hash;
	r->lexbits[(hash >> 38) & 1023] |= 1ULL << ((hash >> 32) & 63);
	r->lexn++;
	return &r->lex[h];
}

/* Add one entry (and its prefixes) to the lexicon. */
static int
lex_add(struct crm_sig_rules *r, const char *entry, unsigned flag, const char *country)
{
	struct tok t[16];
	size_t nt = tokenize(entry, strlen(entry), t, 16);
	struct crm_buf k = CRM_BUF_INIT;

	if (!nt)
		return -1;
	for (size_t i = 0; i < nt; i++) {
		if (i)
			crm_buf_addc(&k, ' ');
		crm_buf_add(&k, t[i].f, t[i].fl);
		struct lexent *e = lex_insert(r, k.s);
		if (i + 1 < nt) {
			e->flags |= LX_PREFIX;
			continue;
		}
		e->flags |= flag;
		if (flag == LX_LEGAL) {
			/* the form as written, without a final '.' (single dot
			 * words); forms that fold alike ("Inc", "inc." of Québec)
			 * are kept side by side, separated by '\n' */
			size_t el = strlen(entry);
			if (el > 1 && entry[el - 1] == '.' && !memchr(entry, '.', el - 1))
				el--;
			if (!e->legal)
				e->legal = crm_xstrndup(entry, el);
			else {
				size_t ol = strlen(e->legal);
				e->legal = crm_xrealloc(e->legal, ol + el + 2);
				e->legal[ol] = '\n';
				memcpy(e->legal + ol + 1, entry, el);
				e->legal[ol + 1 + el] = 0;
			}
		}
		if (country && !e->country)
			e->country = crm_xstrdup(country);
	}
	if ((int)nt > r->lexmax)
		r->lexmax = (int)nt;
	crm_buf_free(&k);
	return 0;
}

static int
lex_file(struct crm_sig_rules *r, const char *dir, const char *name, int ncol,
    const char *kind, unsigned flag, char *err, size_t errlen)
{
	struct rfile f;
	if (rfile_read(&f, dir, name, ncol, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < f.n; i++) {
		const char *entry = f.e[i].col[0], *val = NULL;
		if (ncol == 2 && kind) {
			if (strcmp(f.e[i].col[0], kind))
				continue;
			entry = f.e[i].col[1];
		} else if (ncol == 2)
			val = f.e[i].col[1];
		if (lex_add(r, entry, flag, val) < 0) {
			fail(err, errlen, f.path, f.e[i].line, "entry has no word");
			rfile_free(&f);
			return -1;
		}
	}
	rfile_free(&f);
	return 0;
}

struct lexhit {
	unsigned flags;
	int title_tok;           /* token index of the first title hit, -1 */
	const char *country;     /* first country named */
	size_t country_b;        /* its byte offset */
	size_t ntok;
};

/* Is the text (n bytes) one of the forms ('\n'-separated) as written? */
static int
legal_form_is(const char *forms, const char *s, size_t n)
{
	for (const char *p = forms;;) {
		size_t l = strcspn(p, "\n");
		if (l == n && !memcmp(p, s, n))
			return 1;
		if (!p[l])
			return 0;
		p += l + 1;
	}
}

/* Which lexicons the text touches: every token sequence is looked up. */
static unsigned
lex_scan_text(const struct crm_sig_rules *r, const char *s, size_t n, struct lexhit *h)
{
	struct tok t[MAXTOK];
	size_t nt = tokenize(s, n, t, MAXTOK);
	char key[256];

	h->flags = 0;
	h->title_tok = -1;
	h->country = NULL;
	h->country_b = 0;
	h->ntok = nt;
	for (size_t i = 0; i < nt; i++) {
		size_t kl = t[i].fl;
		uint64_t hash = t[i].h;
		const char *k = t[i].f;
		for (size_t j = i; j < nt && (int)(j - i) < r->lexmax; j++) {
			if (j > i) {
				if (kl + t[j].fl + 2 >= sizeof key)
					break;
				if (k != key) {
					memcpy(key, k, kl);
					k = key;
				}
				key[kl++] = ' ';
				memcpy(key + kl, t[j].f, t[j].fl);
				kl += t[j].fl;
				hash = fnv_more((hash ^ ' ') * FNV_PRIME, t[j].f, t[j].fl);
			}
			struct lexent *e = lex_find(r, k, kl, hash);
			if (!e)
				break;
			unsigned f = e->flags & ~(unsigned)LX_PREFIX;
			if (f & LX_LEGAL) {
				/* "SA", not "sa"; "Ltd." as "Ltd" */
				size_t ob = t[i].b, oe = t[j].e;
				if (oe - ob > 1 && s[oe - 1] == '.' && !memchr(s + ob, '.', oe - ob - 1))
					oe--;
				if (!legal_form_is(e->legal, s + ob, oe - ob))
					f &= ~(unsigned)LX_LEGAL;
			}
			if ((f & LX_TITLE) && h->title_tok < 0)
				h->title_tok = (int)i;
			if ((f & LX_COUNTRY) && !h->country) {
				h->country = e->country;
				h->country_b = t[i].b;
			}
			h->flags |= f;
			if (!(e->flags & LX_PREFIX))
				break;
		}
	}
	return h->flags;
}

/* lex_scan() results by text.  The lines it reads recur from message to
 * message (a sender's signature, a firm's notice, a list's footer: half
 * of the lines of the benchmark corpus), so the latest results are kept
 * per thread in a direct-mapped table keyed by the whole text; rules
 * loaded later carry a new id and never see older entries.  Two
 * tables: lines up to 120 bytes (most), and longer ones up to a notice's
 * 400 (fewer, but a firm's disclaimer recurs in every message). */
#define LEXMEMO_SHORT 1024
#define LEXMEMO_SHORT_TEXT 120
#define LEXMEMO_LONG 128
#define LEXMEMO_LONG_TEXT 400

struct lexmemo {
	unsigned long rules_id;
	size_t n;
	char *text;              /* LEXMEMO_*_TEXT bytes in the thread's arena */
	struct lexhit hit;
};

static __thread struct lexmemo *lexmemo;    /* LEXMEMO_SHORT, then LEXMEMO_LONG */

static uint64_t
text_hash(const char *s, size_t n)
{
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL, v;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
	}
	v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xFF51AFD7ED558CCDULL;
	return h ^ (h >> 29);
}

static void
lexmemo_init(void)
{
	char *arena;

	lexmemo = crm_xcalloc(LEXMEMO_SHORT + LEXMEMO_LONG, sizeof *lexmemo);
	arena = crm_xmalloc(LEXMEMO_SHORT * LEXMEMO_SHORT_TEXT + LEXMEMO_LONG * LEXMEMO_LONG_TEXT);
	for (size_t i = 0; i < LEXMEMO_SHORT + LEXMEMO_LONG; i++) {
		lexmemo[i].text = arena;
		arena += i < LEXMEMO_SHORT ? LEXMEMO_SHORT_TEXT : LEXMEMO_LONG_TEXT;
	}
}

static unsigned
lex_scan(const struct crm_sig_rules *r, const char *s, size_t n, struct lexhit *h)
{
	struct lexmemo *m;
	uint64_t k;

	if (n > LEXMEMO_LONG_TEXT)
		return lex_scan_text(r, s, n, h);
	if (!lexmemo)
		lexmemo_init();
	k = text_hash(s, n);
	m = n <= LEXMEMO_SHORT_TEXT ? &lexmemo[k % LEXMEMO_SHORT]
	    : &lexmemo[LEXMEMO_SHORT + k % LEXMEMO_LONG];
	if (m->rules_id == r->id && m->n == n && !memcmp(m->text, s, n)) {
		*h = m->hit;
		return h->flags;
	}
	lex_scan_text(r, s, n, h);
	m->rules_id = r->id;
	m->n = n;
	memcpy(m->text, s, n);
	m->hit = *h;
	return h->flags;
}

static int
lex_has(const struct crm_sig_rules *r, const char *s, size_t n, unsigned flags)
{
	struct lexhit h;
	return (lex_scan(r, s, n, &h) & flags) != 0;
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

/* fiction_phones.txt: "+44 7700900xxx<TAB>mobile". */
static int
fiction_table(struct crm_sig_rules *r, const char *dir, char *err, size_t errlen)
{
	struct rfile f;

	if (rfile_read(&f, dir, "fiction_phones.txt", 2, err, errlen) < 0)
		return -1;
	r->fiction = crm_xcalloc(f.n ? f.n : 1, sizeof *r->fiction);
	for (size_t i = 0; i < f.n; i++) {
		const char *e = f.e[i].col[0], *t = f.e[i].col[1];
		struct fiction *x = &r->fiction[r->nfiction];
		size_t k = 0, c = 0, fixed = 1;
		if (*e++ != '+')
			goto bad;
		while (a_isdigit((unsigned char)*e) && c + 1 < sizeof x->cc)
			x->cc[c++] = *e++;
		if (!c || *e++ != ' ')
			goto bad;
		for (; *e; e++) {
			if (a_isdigit((unsigned char)*e) && fixed && k + 1 < sizeof x->prefix)
				x->prefix[k++] = *e;
			else if (*e == 'x')
				fixed = 0;
			else
				goto bad;
			x->len++;
		}
		if (!k || x->len > 14)
			goto bad;
		if (!strcmp(t, "mobile"))
			x->type = CRM_PHONE_MOBILE;
		else if (!strcmp(t, "fixed"))
			x->type = CRM_PHONE_FIXED;
		else {
			fail(err, errlen, f.path, f.e[i].line, "type must be mobile or fixed");
			rfile_free(&f);
			return -1;
		}
		r->nfiction++;
		continue;
bad:
		fail(err, errlen, f.path, f.e[i].line,
		    "expected +CODE NATIONAL-NUMBER (digits, then x for the free ones)");
		rfile_free(&f);
		return -1;
	}
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
		{ "list_email", offsetof(struct crm_sig_rules, p_list_email), PCRE2_CASELESS },
		{ "url", offsetof(struct crm_sig_rules, p_url), PCRE2_CASELESS },
		{ "linkedin", offsetof(struct crm_sig_rules, p_linkedin), PCRE2_CASELESS },
		{ "fr_city", offsetof(struct crm_sig_rules, p_fr_city), PCRE2_CASELESS },
		{ "uk_city", offsetof(struct crm_sig_rules, p_uk_city), 0 },
		{ "us_city", offsetof(struct crm_sig_rules, p_us_city), 0 },
		{ "ca_city", offsetof(struct crm_sig_rules, p_ca_city), 0 },
		{ "au_city", offsetof(struct crm_sig_rules, p_au_city), 0 },
		{ "sg_city", offsetof(struct crm_sig_rules, p_sg_city), 0 },
		{ "ie_city", offsetof(struct crm_sig_rules, p_ie_city), 0 },
		{ "email_obf", offsetof(struct crm_sig_rules, p_email_obf), PCRE2_CASELESS },
		{ "nopc_city", offsetof(struct crm_sig_rules, p_nopc_city), 0 },
		{ "pc_after_city", offsetof(struct crm_sig_rules, p_pc_after_city), 0 },
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

/* A code point that PCRE2's caseless matching folds onto an ASCII
 * letter: U+017F (s), U+212A (K), U+0130 and U+0131 (i). */
static int
ascii_twin(const unsigned char *p, size_t n)
{
	return (n >= 2 && ((p[0] == 0xC5 && p[1] == 0xBF) || (p[0] == 0xC4 && (p[1] == 0xB0
	    || p[1] == 0xB1)))) || (n >= 3 && p[0] == 0xE2 && p[1] == 0x84 && p[2] == 0xAA);
}

static int
ascii_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The guard tables of the closing phrases (closings.txt). */
static int
close_guard(struct close_guard *g, const char *dir, char *err, size_t errlen)
{
	struct rfile f;

	memset(g, 0, sizeof *g);
	if (rfile_read(&f, dir, "closings.txt", 2, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < f.n; i++) {
		const unsigned char *w = (const unsigned char *)f.e[i].col[1];
		size_t n = strlen((const char *)w);
		if (!strcmp(f.e[i].col[0], "line")) {
			/* the pattern's prefix [\s\-–—*>]* could eat a first
			 * character of that class: no guard then */
			if (n < 2 || strchr("-*>", w[0]) || ascii_blank(w[0]) || w[0] == 0xE2
			    || ascii_twin(w, n) || ascii_twin(w + 1, n - 1))
				g->open_off = 1;
			else if (w[0] < 0x80 && w[1] < 0x80) {
				int a = a_lower(w[0]), b = ascii_blank(w[1]) ? ' ' : a_lower(w[1]);
				g->open[a][b >> 3] |= (unsigned char)(1 << (b & 7));
			}
			/* a non-ASCII first or second letter: the text has one
			 * too there, and may_close() lets the pattern decide */
		} else {
			unsigned char e = w[n - 1];
			size_t k = n - 1;
			while (k > 0 && (w[k] & 0xC0) == 0x80)
				k--;
			if (strchr(",.!;:", e) || ascii_blank(e) || !strcmp((const char *)w + k, "…")
			    || ascii_twin(w + k, n - k))
				g->last_off = 1;
			else if (e < 0x80)
				g->last[a_lower(e)] = g->last[a_upper(e)] = 1;
		}
	}
	rfile_free(&f);
	return 0;
}

/* First names: the entities module's gazetteer beside our directory,
 * its first column.  Another module's file, so it is optional and read
 * leniently (a line that is not a name is skipped, never fatal): without
 * it a surname-first name is put right only when the From header or the
 * address tells the first name. */
static void
first_names(struct crm_sig_rules *r, const char *dir)
{
	char path[4200], *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *fp;

	snprintf(path, sizeof path, "%s/../entities/firstnames.txt", dir);
	if (!(fp = fopen(path, "r")))
		return;
	while ((got = getline(&line, &cap, fp)) >= 0) {
		size_t n = strcspn(line, "\t\r\n#");
		while (n && line[n - 1] == ' ')
			n--;
		line[n] = 0;
		if (n && n < 64 && crm_utf8_valid(line, n))
			lex_add(r, line, LX_FIRST, NULL);
	}
	free(line);
	fclose(fp);
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
	static const char *const ph_kinds[] = { "fax", "mobile", "direct", "main", "phone", "none" };
	static const char *const no[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	static const char *const af_kinds[] = { "prefix", "suffix" };
	static unsigned long ids;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char dirbuf[4096];
	pcre2_code *pair[2] = { NULL, NULL };

	r->id = __atomic_add_fetch(&ids, 1, __ATOMIC_RELAXED);
	pthread_once(&once, sep_init);
	if (!dir) {
		snprintf(dirbuf, sizeof dirbuf, "%s", crm_rules_path("signature"));
		dir = dirbuf;
	}
	if (kinds(dir, "closings.txt", closing_kinds, 2, closing_before, closing_after,
	    PCRE2_CASELESS, pair, NULL, NULL, err, errlen) < 0)
		goto bad;
	r->closing_line = pair[0];
	r->closing_end = pair[1];
	if (close_guard(&r->cg, dir, err, errlen) < 0)
		goto bad;
	if (lex_file(r, dir, "disclaimer.txt", 2, "cue", LX_DISC_CUE, err, errlen) < 0
	    || lex_file(r, dir, "disclaimer.txt", 2, "short", LX_DISC_SHORT, err, errlen) < 0
	    || lex_file(r, dir, "titles.txt", 1, NULL, LX_TITLE, err, errlen) < 0
	    || lex_file(r, dir, "company.txt", 1, NULL, LX_COMPANY, err, errlen) < 0
	    || lex_file(r, dir, "legal_forms.txt", 1, NULL, LX_LEGAL, err, errlen) < 0
	    || lex_file(r, dir, "street.txt", 1, NULL, LX_STREET, err, errlen) < 0
	    || lex_file(r, dir, "countries.txt", 2, NULL, LX_COUNTRY, err, errlen) < 0
	    || lex_file(r, dir, "regions.txt", 1, NULL, LX_REGION, err, errlen) < 0
	    || lex_file(r, dir, "departments.txt", 1, NULL, LX_DEPT, err, errlen) < 0)
		goto bad;
	first_names(r, dir);
	{
		/* every disclaimer line must name a known kind */
		struct rfile f;
		if (rfile_read(&f, dir, "disclaimer.txt", 2, err, errlen) < 0)
			goto bad;
		for (size_t i = 0; i < f.n; i++)
			if (strcmp(f.e[i].col[0], "cue") && strcmp(f.e[i].col[0], "short")) {
				char m[200];
				snprintf(m, sizeof m, "unknown kind '%s'", f.e[i].col[0]);
				fail(err, errlen, f.path, f.e[i].line, m);
				rfile_free(&f);
				goto bad;
			}
		rfile_free(&f);
	}
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
	for (size_t i = 0; i < r->naffixes; i++) {
		const char *key = r->affixes[i].key;
		uint64_t h = crm_fnv1a(key, strlen(key));
		size_t k = h & 255, probes = 0;
		while (r->affix_tab[k].key && strcmp(r->affix_tab[k].key, key) && ++probes < 256)
			k = (k + 1) & 255;
		if (probes == 256) {
			fail(err, errlen, "name_affixes.txt", 0, "too many entries (256 at most)");
			goto bad;
		}
		r->affix_tab[k].h = h;
		r->affix_tab[k].key = key;
		r->affix_tab[k].kinds |= (unsigned char)(1 << r->affixes[i].kind);
		r->affix_first[(unsigned char)key[0]] |= (unsigned char)(1 << r->affixes[i].kind);
	}
	if (kv_table(dir, "tld_regions.txt", &r->tlds, &r->ntlds, err, errlen) < 0
	    || kv_table(dir, "cities.txt", &r->cities, &r->ncities, err, errlen) < 0
	    || list(dir, "webmail.txt", &r->webmail, &r->nwebmail, err, errlen) < 0
	    || list(dir, "social.txt", &r->social, &r->nsocial, err, errlen) < 0
	    || list(dir, "images.txt", &r->images, &r->nimages, err, errlen) < 0
	    || fiction_table(r, dir, err, errlen) < 0
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
	pcre2_code **codes[] = { &r->closing_line, &r->closing_end, &r->phone_label_before,
		&r->phone_label_after, &r->p_phone, &r->p_ext,
		&r->p_email, &r->p_list_email, &r->p_url, &r->p_linkedin, &r->p_fr_city, &r->p_uk_city,
		&r->p_us_city, &r->p_ca_city, &r->p_au_city, &r->p_sg_city, &r->p_ie_city,
		&r->p_email_obf, &r->p_nopc_city, &r->p_pc_after_city };

	if (!r)
		return;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		pcre2_code_free(*codes[i]);
	for (size_t i = 0; i < r->lexcap; i++) {
		free(r->lex[i].key);
		free(r->lex[i].legal);
		free(r->lex[i].country);
	}
	free(r->lex);
	kv_free(r->phone_labels, r->nphone_labels);
	kv_free(r->affixes, r->naffixes);
	kv_free(r->tlds, r->ntlds);
	kv_free(r->cities, r->ncities);
	for (size_t i = 0; i < r->nwebmail; i++)
		free(r->webmail[i]);
	for (size_t i = 0; i < r->nimages; i++)
		free(r->images[i]);
	free(r->images);
	free(r->fiction);
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
	char *stok[8];            /* sender name tokens, folded (in stokbuf) */
	char stokbuf[8][48];
	size_t nstok;
	unsigned char first[256]; /* first bytes of the sender tokens */
	int from_display;         /* stok came from the display name */
	char *domain;             /* sender's domain, folded */
	char *dlabel;             /* domain minus its public suffix, alnum only */
	char tld_region[3];
	int webmail;
	int from_company;         /* the display name is a firm's */
	int domain_done;
	int names_done;           /* stok, first, from_display, from_company */
	int no_dash;              /* flag_line: a dash sign-off was refused */
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
	if (!(r->affix_first[(unsigned char)folded[0]] & (1 << kind)))
		return 0;
	uint64_t h = crm_fnv1a(folded, strlen(folded));
	for (size_t k = h & 255, probes = 0; r->affix_tab[k].key && probes < 256; k = (k + 1) & 255, probes++)
		if (r->affix_tab[k].h == h && !strcmp(r->affix_tab[k].key, folded))
			return (r->affix_tab[k].kinds >> kind) & 1;
	return 0;
}

/* A folded name word without the full stop that ends a sentence
 * ("svetlova." -> "svetlova"); initials and abbreviations keep theirs
 * ("j.", "b.k."). */
static size_t
final_dot(char *f, size_t fl)
{
	if (fl > 2 && f[fl - 1] == '.' && !memchr(f, '.', fl - 1)) {
		f[--fl] = 0;
	}
	return fl;
}

/* Split a name into folded tokens (into buf), dropping affixes. */
static size_t
name_tokens(const struct crm_sig_rules *r, const char *s, size_t n, char **tok,
    char (*buf)[48], size_t max, const char *seps)
{
	unsigned char sep[256] = { 1 };     /* NUL and seps */
	size_t k = 0, i = 0;

	for (const char *p = seps; *p; p++)
		sep[(unsigned char)*p] = 1;
	while (i < n && k < max) {
		while (i < n && sep[(unsigned char)s[i]])
			i++;
		size_t j = i;
		while (j < n && !sep[(unsigned char)s[j]])
			j++;
		if (j > i) {
			char *f = buf[k];
			size_t fl = fold_buf(s + i, j - i, f, sizeof buf[k]);
			while (fl && strchr(",;:()\"'", f[fl - 1]))
				f[--fl] = 0;
			fl = final_dot(f, fl);
			if (fl && !has_affix(r, f, 0) && !has_affix(r, f, 1))
				tok[k++] = f;
		}
		i = j;
	}
	return k;
}

static void
ctx_init(struct ctx *c, const struct crm_sig_rules *r, const struct crm_sig_input *in)
{
	c->r = r;
	c->in = in;
	c->nstok = 0;
	c->from_display = c->from_company = c->webmail = 0;
	c->domain = c->dlabel = NULL;
	c->tld_region[0] = 0;
	c->domain_done = 0;
	c->names_done = 0;
	c->no_dash = 0;
	static __thread pcre2_match_data *md;
	if (!md && !(md = pcre2_match_data_create(16, NULL)))
		crm_die(3, "out of memory");
	c->md = md;
}

/* The sender's name tokens: read when a line is first matched against
 * them (most messages end in prose and never are). */
static void
ctx_names(struct ctx *c)
{
	const struct crm_sig_rules *r = c->r;
	const struct crm_sig_input *in = c->in;
	const char *e = in->from_email, *at;

	if (c->names_done)
		return;
	c->names_done = 1;
	if (in->from_name && *in->from_name) {
		size_t fl = strlen(in->from_name);
		/* "Cabinet Roussel", "Service Partenaires": not a person */
		if (!lex_has(r, in->from_name, fl, LX_COMPANY | LX_LEGAL)) {
			c->nstok = name_tokens(r, in->from_name, fl, c->stok, c->stokbuf, 8, " \t\"");
			c->from_display = c->nstok > 0;
		} else
			c->from_company = 1;
	}
	if (!c->nstok && e && (at = strrchr(e, '@')) && at[1]) {
		/* "service.clients@", "team@": a team's address names nobody */
		char loc[64];
		size_t ll = (size_t)(at - e) < sizeof loc ? (size_t)(at - e) : 0;
		for (size_t i = 0; i < ll; i++)
			loc[i] = strchr("._-+", e[i]) ? ' ' : e[i];
		struct lexhit h;
		if (!ll || (lex_scan(r, loc, ll, &h) & (LX_DEPT | LX_TITLE)) != LX_DEPT)
			c->nstok = name_tokens(r, e, (size_t)(at - e), c->stok, c->stokbuf, 8, "._-+0123456789");
	}
	memset(c->first, 0, sizeof c->first);
	for (size_t i = 0; i < c->nstok; i++) {
		unsigned char f = (unsigned char)c->stok[i][0];
		c->first[f] = 1;
		c->first[a_upper(f)] = 1;
	}
}

/* The sender's domain, its label and region: only extraction needs them. */
static void
ctx_domain(struct ctx *c)
{
	const struct crm_sig_rules *r = c->r;
	const char *e = c->in->from_email, *at;

	if (c->domain_done)
		return;
	c->domain_done = 1;
	if (e && (at = strrchr(e, '@')) && at[1]) {
		c->domain = fold(at + 1, strlen(at + 1));
		for (size_t i = 0; i < r->nwebmail; i++)
			if (r->webmail[i][0] == c->domain[0] && !strcmp(r->webmail[i], c->domain))
				c->webmail = 1;
		/* label: strip the public suffix (one label, or two for co.uk ...) */
		char *d = crm_xstrdup(c->domain), *dot = strrchr(d, '.');
		if (dot) {
			const char *tld = dot + 1;
			for (size_t i = 0; i < r->ntlds; i++)
				if (r->tlds[i].key[0] == tld[0] && !strcmp(r->tlds[i].key, tld))
					set_region(c->tld_region, r->tlds[i].val);
			*dot = 0;
			char *d2 = strrchr(d, '.');
			if (d2 && (!strcmp(d2 + 1, "co") || !strcmp(d2 + 1, "com") || !strcmp(d2 + 1, "org")
			    || !strcmp(d2 + 1, "ac") || !strcmp(d2 + 1, "gov")))
				*d2 = 0;
			char *d3 = strrchr(d, '.');
			char *lab = d3 ? d3 + 1 : d;
			size_t k = 0;
			for (char *p = lab; *p; p++)
				if (a_isalnum((unsigned char)*p))
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
	free(c->domain);
	free(c->dlabel);
}

/* ------------------------------------------------------------ locating */

enum {
	L_DISC = 1 << 0, L_SEP = 1 << 1, L_PROSE = 1 << 2, L_CLOSE = 1 << 3,
	L_CLOSE_END = 1 << 4, L_DELIM = 1 << 5, L_NAME = 1 << 6, L_FEAT = 1 << 7,
	L_QUOTE = 1 << 8, L_DONE = 1 << 9, L_DASH = 1 << 10,
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
			if (a_isalpha(ch) || ch >= 0xC3)
				letter = 1;
			i++;
		}
		w += letter;
	}
	return w;
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
		switch (s[i]) {
		case '=': case '*': case '-': case '_': case '~': case '#': case '+': case '.':
		case ' ': case 0:
			continue;
		default:
			return 0;
		}
	return 1;
}

static int name_match(struct ctx *, const char *, size_t, size_t *, size_t *);

/* "- Sam", "— Sam Okafor", "–Jo": the length of the dash and blanks
 * before a sign-off name of the sender (one to three words, no digit),
 * or 0. */
static size_t
dash_signoff(struct ctx *c, const char *s, size_t n)
{
	size_t k;

	if (n < 2 || n > 40)
		return 0;
	if (s[0] == '-' && s[1] != '-')
		k = 1;
	else if (n > 3 && (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80
	    && ((unsigned char)s[2] == 0x93 || (unsigned char)s[2] == 0x94))
		k = 3;          /* en dash, em dash */
	else
		return 0;
	while (k < n && s[k] == ' ')
		k++;
	size_t f, e;
	if (k >= n || (!a_isalpha((unsigned char)s[k]) && (unsigned char)s[k] < 0x80))
		return 0;
	if (count_digits(s + k, n - k) || count_words(s + k, n - k) > 3
	    || !name_match(c, s + k, n - k, &f, &e))
		return 0;
	return k;
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
name_match(struct ctx *c, const char *s, size_t n, size_t *first, size_t *last)
{
	size_t i = 0, full = 0, init = 0, words = 0, nick = 0;
	size_t f0 = (size_t)-1, l0 = 0;
	char t[128];
#define NSEP(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == ',' || (ch) == '|' || (ch) == '/')

	ctx_names(c);
	if (!c->nstok || n > 120)
		return 0;
	while (i < n) {
		int field_sep = 0;
		for (; i < n && NSEP(s[i]); i++)
			field_sep |= s[i] == ',' || s[i] == '|' || s[i] == '/';
		size_t j = i;
		while (j < n && !NSEP(s[j]))
			j++;
		if (j == i)
			break;
		/* "Jean Dupont, Dupont Conseil": a full name ends at a field
		 * separator; the firm named after the sender is not the name */
		if (field_sep && full >= 2)
			break;
		words++;
		/* a word whose first letter starts no sender token cannot match */
		unsigned char f0c = (unsigned char)s[i];
		if (f0c < 0x80 && !c->first[f0c]) {
			i = j;
			continue;
		}
		size_t tl = fold_buf(s + i, j - i, t, sizeof t);
		while (tl && strchr(",;:()\"'", t[tl - 1]))
			t[--tl] = 0;
		tl = final_dot(t, tl);
		int m = 0;
		if (tl >= 2 && stok_has(c, t))
			m = 2;
		else if (tl == 2 && t[1] == '.' && a_isalpha((unsigned char)t[0])) {
			for (size_t k = 0; k < c->nstok; k++)
				if (c->stok[k][0] == t[0])
					m = 1;
		} else if (c->from_display && tl >= 3 && !strncmp(c->stok[0], t, tl)
		    && strlen(c->stok[0]) > tl && words == 1)
			nick = 1;
		if (m == 2)
			full++;
		else if (m == 1)
			init++;
		if (m) {
			if (f0 == (size_t)-1)
				f0 = i;
			l0 = j;
			while (l0 > f0 && strchr(",;:", s[l0 - 1]))
				l0--;
			/* "Oksana Svetlova." (not "John F.", "B.K.") */
			if (l0 > i + 2 && s[l0 - 1] == '.' && !memchr(s + i, '.', l0 - 1 - i))
				l0--;
		}
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

/* Can the closing_line pattern match s?  0 only when it cannot: the
 * first two letters after the pattern's prefix open no phrase.  A
 * non-ASCII byte there (a Unicode blank, "À") is left to the pattern. */
static int
may_close(const struct crm_sig_rules *r, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (r->cg.open_off)
		return 1;
	for (;;) {
		if (i < n && (ascii_blank(u[i]) || u[i] == '-' || u[i] == '*' || u[i] == '>'))
			i++;
		else if (i + 2 < n && u[i] == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] == 0x93
		    || u[i + 2] == 0x94))
			i += 3;         /* – — */
		else
			break;
	}
	if (i + 1 >= n)
		return 0;       /* every phrase has two characters or more */
	if (u[i] >= 0x80 || u[i + 1] >= 0x80)
		return 1;
	int a = a_lower(u[i]), b = ascii_blank(u[i + 1]) ? ' ' : a_lower(u[i + 1]);
	return (r->cg.open[a][b >> 3] >> (b & 7)) & 1;
}

/* Can the closing_end pattern match s?  Its phrase must end where only
 * [\s,.!;:…] follow. */
static int
may_close_end(const struct crm_sig_rules *r, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (r->cg.last_off)
		return 1;
	while (n) {
		unsigned char c = u[n - 1];
		if (ascii_blank(c) || c == ',' || c == '.' || c == '!' || c == ';' || c == ':')
			n--;
		else if (n >= 3 && c == 0xA6 && u[n - 2] == 0x80 && u[n - 3] == 0xE2)
			n -= 3;         /* … */
		else if (c >= 0x80)
			return 1;       /* a Unicode blank, or a phrase's "é" */
		else
			return r->cg.last[c];
	}
	return 0;
}

static int
closing_line(struct ctx *c, const char *s, size_t n)
{
	return may_close(c->r, s, n) && rx(c, c->r->closing_line, s, n, 0) >= 0;
}

/* A line in one pass: its words holding a letter (as count_letter_words()),
 * the separators of a one-line signature (" | ", " - ", " / ", " • ",
 * " · ", " – "), and whether it shows a contact feature: eight digits,
 * an '@', or a dot before two letters (www.x, x.com, x.fr). */
static void
line_stats(const char *s, size_t n, size_t *words, size_t *seps, int *feat)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t w = 0, k = 0, digits = 0;
	int letter = 0, f = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = u[i];
		if (ch == ' ' || ch == '\t') {
			w += letter;
			letter = 0;
			if (ch == ' ' && i + 2 < n && (s[i + 1] == '|' || s[i + 1] == '-' || s[i + 1] == '/'
			    || !memcmp(s + i + 1, "•", 3) || !memcmp(s + i + 1, "·", 2)
			    || !memcmp(s + i + 1, "–", 3)) && (s[i + 2] == ' ' || u[i + 1] >= 0xC2))
				k++;
			continue;
		}
		if (a_isalpha(ch) || ch >= 0xC3)
			letter = 1;
		if (a_isdigit(ch))
			f |= ++digits >= 8;
		else if (ch == '@')
			f = 1;
		else if (ch == '.' && i + 2 < n && a_isalpha(u[i + 1]) && a_isalpha(u[i + 2]))
			f = 1;
	}
	*words = w + letter;
	*seps = k;
	*feat = f;
}

static int mentions_domain(struct ctx *c, const char *s, size_t n);

/* "Groupe Vendôme Patrimoine – SAS au capital de 250 000 € – RCS Paris
 * ...": a firm's registration line, the firm's name first, then a
 * dash or a bar; the length of the name, or 0.  The name holds no
 * notice word, no digit, five words at most, a capital first, and
 * shows itself a firm (a firm word or legal form, or the sender's
 * domain). */
static size_t
firm_before_notice(struct ctx *c, const char *s, size_t n)
{
	static const char *const seps[] = { " – ", " — ", " - ", " | ", NULL };
	size_t e = n;
	struct lexhit h;

	for (int k = 0; seps[k]; k++) {
		const char *p = memmem(s, n, seps[k], strlen(seps[k]));
		if (p && (size_t)(p - s) < e)
			e = (size_t)(p - s);
	}
	if (e == n || e < 3 || count_digits(s, e) || count_words(s, e) > 5
	    || !(a_isupper((unsigned char)s[0]) || (unsigned char)s[0] >= 0xC3))
		return 0;
	unsigned f = lex_scan(c->r, s, e, &h);
	if (f & (LX_DISC_CUE | LX_DISC_SHORT | LX_STREET | LX_TITLE))
		return 0;
	if (!(f & (LX_COMPANY | LX_LEGAL)) && !mentions_domain(c, s, e))
		return 0;
	return e;
}

/* A line of a PGP key or signature block, or of an attachment pasted as
 * text: one run of 40 or more base64 characters. */
static int
armour_line(const char *s, size_t n)
{
	if (n < 40)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(a_isalnum(ch) || ch == '+' || ch == '/' || ch == '='))
			return 0;
	}
	return 1;
}

/* "Gestion d'actifs Mont-Royal inc. | Mont-Royal Asset Management
 * Inc.": on a line cut by separators, a full stop closing a legal form
 * ("Inc.", "Ltd.", "S.A.") ends a firm's name, not a sentence ("... is
 * a trademark of Example Technologies, Inc." stays prose). */
static int
legal_form_last(const struct crm_sig_rules *r, const char *s, size_t n)
{
	size_t b = n;

	while (b && s[b - 1] != ' ')
		b--;
	return b < n && lex_has(r, s + b, n - b, LX_LEGAL);
}

/* "LinkedIn <https://www.linkedin.com/in/...?utm_source=...>": the
 * bytes of the link targets an HTML part's text shows after a link's
 * words.  They are not read, so they make no line long: a card's last
 * line "site.fr | LinkedIn <...>" is no paragraph of prose. */
static size_t
link_bytes(const char *s, size_t n)
{
	size_t k = 0;

	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), " <", 2));) {
		size_t rest = n - (size_t)(p - s);
		const char *e = memchr(p, '>', rest);
		if (!e)
			break;
		if ((rest > 9 && !strncasecmp(p + 2, "http", 4)) || (rest > 9 && !strncasecmp(p + 2, "mailto:", 7))) {
			if (!memchr(p + 2, ' ', (size_t)(e - p - 2)))
				k += (size_t)(e + 1 - p);
		}
		p = e;
	}
	return k;
}

/* "Marc – 06 14 27 83 90", "Tom, 07700 900 456", "Marc (06 ...)": the
 * signer's name then a number typed by hand, the whole card on one line
 * (the closing's, or its own); the length of the name part, or 0. */
static size_t
name_then_number(struct ctx *c, const char *s, size_t n)
{
	size_t k = 0, f, t;

	while (k < n && !a_isdigit((unsigned char)s[k]) && s[k] != '+' && s[k] != '(')
		k++;
	if (k == n || count_digits(s + k, n - k) < 8 || count_letter_words(s + k, n - k))
		return 0;
	while (k && (strchr(" ,:-|/", s[k - 1]) || (unsigned char)s[k - 1] >= 0x80))
		k--;    /* the separator before the number ("–" is three bytes) */
	/* the name opens the text: "... please contact Danny Creech at
	 * (865-...)" is a sentence */
	return k && name_match(c, s, k, &f, &t) && f == 0 ? k : 0;
}

static void
flag_line(struct ctx *c, struct tline *l)
{
	size_t w, seps, a, b;
	int feat;
	char last = l->n ? l->s[l->n - 1] : 0;

	if (l->n && l->s[0] == '>') {
		l->f |= L_QUOTE;
		return;
	}
	if (l->n == 2 && l->s[0] == '-' && l->s[1] == '-') {
		l->f |= L_DELIM;
		return;
	}
	/* "-- Sidney": the delimiter with the signer's name on its line */
	if (l->n > 3 && l->n <= 40 && l->s[0] == '-' && l->s[1] == '-' && l->s[2] == ' '
	    && l->s[3] != '-' && !count_digits(l->s, l->n) && count_words(l->s + 3, l->n - 3) <= 3) {
		l->f |= L_DELIM;
		l->tail = 3;
		return;
	}
	/* "- Sam", "— Sam", "–Jo": a single dash before the sender's own
	 * name is a sign-off too; a dash also starts list items, so only
	 * with the From header's name or first name after it */
	size_t dl = c->no_dash ? 0 : dash_signoff(c, l->s, l->n);
	if (dl) {
		l->f |= L_DELIM | L_DASH;
		l->tail = dl;
		return;
	}
	if (is_sep_line(l->s, l->n)) {
		l->f |= L_SEP;
		return;
	}
	if (armour_line(l->s, l->n)) {
		l->f |= L_DISC;
		return;
	}
	if (l->n > MAXLINE) {
		l->f |= lex_has(c->r, l->s, l->n, LX_DISC_CUE | LX_DISC_SHORT) ? L_DISC : L_PROSE;
		return;
	}
	if (l->n >= 12) {
		struct lexhit h;
		unsigned f = lex_scan(c->r, l->s, l->n, &h);
		if ((f & LX_DISC_SHORT) || (l->n >= 70 && (f & LX_DISC_CUE))) {
			size_t k = (f & LX_DISC_SHORT) ? 0 : firm_before_notice(c, l->s, l->n);
			if (!k) {
				l->f |= L_DISC;
				return;
			}
			l->n = k;       /* the firm's name is kept, its notice cut */
		}
	}
	if (l->n <= 80 && closing_line(c, l->s, l->n)) {
		PCRE2_SIZE *o = ov(c);
		l->f |= L_CLOSE;
		if (pcre2_get_ovector_count(c->md) > 1 && o[2] != PCRE2_UNSET) {
			size_t f, t;
			/* "Cordialement, Jean" - only when the tail is a name */
			if (name_match(c, l->s + o[2], o[3] - o[2], &f, &t)
			    || name_then_number(c, l->s + o[2], o[3] - o[2]))
				l->tail = o[2];
			else
				l->f &= ~(unsigned)L_CLOSE;
		}
		if (l->f & L_CLOSE)
			return;
	}
	if ((last == '.' || last == ',') && may_close_end(c->r, l->s, l->n)
	    && rx(c, c->r->closing_end, l->s, l->n, 0) >= 0) {
		l->f |= L_CLOSE_END;
		return;
	}
	line_stats(l->s, l->n, &w, &seps, &feat);
	size_t vn = l->n - link_bytes(l->s, l->n);      /* the visible length */
	if (seps >= 2 && vn <= 160)
		;       /* "Name | Title | Firm | phone": a one-line signature */
	else if (w >= 16 || vn > 140 || (w >= 8 && ((last == '.'
	    && !(seps && legal_form_last(c->r, l->s, l->n))) || last == '?' || last == '!'
	    || last == ':')) || (w >= 5 && (last == '?' || last == '!')))
		l->f |= L_PROSE;
	/* a one-line signature may run past 80 bytes and still name the
	 * sender ("Thomas Ménard | Courtier IOBSP | Ménard Financement | ...") */
	if (!(l->f & L_PROSE) && (l->n <= 80 || seps >= 2) && (name_match(c, l->s, l->n, &a, &b)
	    || (l->n <= 60 && name_then_number(c, l->s, l->n))))
		l->f |= L_NAME;
	if (feat)
		l->f |= L_FEAT;
}

/* The last MAXLINES non-blank lines of the reply, in order. */
static size_t
tail_lines(const char *s, size_t n, struct tline *out)
{
	size_t k = 0, e = n;

	while (e > 0 && k < MAXLINES) {
		const char *nl = e ? memrchr(s, '\n', e) : NULL;
		size_t b = nl ? (size_t)(nl - s) + 1 : 0;
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

static int label_kind(const struct crm_sig_rules *, const char *, size_t);

/* "[image: Logo Firm]": an image's alt text, as crm-sync (and Gmail)
 * write it.  The text of an image alone on its line, with "Logo" and
 * its connective cut off ("Logo de", "Logo -", "… logo"), is read as the
 * line's text when it names something: a firm's logo is often the only
 * place its name is written.  Icons and pictures (images.txt), captions
 * (more than six words, or an exclamation) and images inside a line of
 * text are dropped.  Appends the line as read to out
 * (a '\n' first when out holds a line), or a logo's text to logos, and
 * returns 1; 0 when nothing of it is left.  The caller puts the logos
 * after the lines: a firm written out in the text ("Cabinet Vermeil
 * Audit & Conseil") says more than its logo ("Logo Cabinet Vermeil"). */

static size_t
image_alone(const char *s, size_t n, size_t *b)
{
	const char *close;

	if (n <= CRM_HTML_IMAGE_OPEN_LEN + 1 || memcmp(s, CRM_HTML_IMAGE_OPEN, CRM_HTML_IMAGE_OPEN_LEN)
	    || s[n - 1] != ']')
		return 0;
	close = memchr(s + CRM_HTML_IMAGE_OPEN_LEN, ']', n - CRM_HTML_IMAGE_OPEN_LEN);
	if (close != s + n - 1)
		return 0;
	*b = CRM_HTML_IMAGE_OPEN_LEN;
	return n - 1 - CRM_HTML_IMAGE_OPEN_LEN;
}

static int
image_words(const struct crm_sig_rules *r, const char *t, size_t n)
{
	char f[256];
	size_t fl = fold_buf(t, n < 200 ? n : 200, f, sizeof f);

	for (size_t i = 0; i < r->nimages; i++)
		if (strlen(r->images[i]) == fl && !memcmp(r->images[i], f, fl))
			return 1;
	return 0;
}

static int
image_text(const struct crm_sig_rules *r, const char *s, size_t n, struct crm_buf *out,
    struct crm_buf *logos)
{
	static const char *const cut[] = { "logotype", "logo", NULL };
	static const char *const join[] = { "de ", "du ", "des ", "d'", "d’", "of ", "- ", "– ",
		"— ", ": ", "| ", NULL };
	size_t b, len = image_alone(s, n, &b);
	const char *t = s + b;

	if (len) {
		for (int k = 0; cut[k]; k++) {
			size_t cl = strlen(cut[k]);
			if (len > cl && !strncasecmp(t, cut[k], cl) && (t[cl] == ' ' || t[cl] == ':')) {
				t += cl + 1, len -= cl + 1;
				while (len && *t == ' ')
					t++, len--;
				for (int j = 0; join[j]; j++) {
					size_t jl = strlen(join[j]);
					if (len > jl && !strncasecmp(t, join[j], jl)) {
						t += jl, len -= jl;
						break;
					}
				}
				break;
			}
			if (len > cl + 1 && t[len - cl - 1] == ' ' && !strncasecmp(t + len - cl, cut[k], cl)) {
				len -= cl + 1;
				break;
			}
		}
		while (len && t[len - 1] == ' ')
			len--;
		/* a logo names a firm in a few words; a longer text is a
		 * caption or a slogan */
		if (!len || len > 60 || count_words(t, len) > 6 || t[len - 1] == '!' || t[len - 1] == '?'
		    || image_words(r, t, len))
			return 0;
		if (logos->len)
			crm_buf_addc(logos, '\n');
		crm_buf_add(logos, t, len);
		return 1;
	}
	if (!memmem(s, n, CRM_HTML_IMAGE_OPEN, CRM_HTML_IMAGE_OPEN_LEN)) {
		if (out->len)
			crm_buf_addc(out, '\n');
		crm_buf_add(out, s, n);
		return 1;
	}
	/* images inside a line of text: the text without them.  Icons in a
	 * row stand between items ("[image: phone] 02 40 .. [image: mobile]
	 * 07 68 .."), so an image between two pieces of text becomes a " | "
	 * separator, and an icon named like a phone label ("phone",
	 * "mobile") is kept as that label before its number */
	size_t mark = out->len, i = 0, kept = 0;
	const char *cue = NULL;
	size_t cuelen = 0;
	int pending = 0;
	if (out->len)
		crm_buf_addc(out, '\n');
	size_t from = out->len;
	while (i < n) {
		const char *o = memmem(s + i, n - i, CRM_HTML_IMAGE_OPEN, CRM_HTML_IMAGE_OPEN_LEN), *c;
		size_t e = o ? (size_t)(o - s) : n;
		for (; i < e; i++) {
			if (s[i] != ' ' && (pending || cue)) {
				while (out->len > from && out->s[out->len - 1] == ' ')
					out->len--;
				if (pending && out->len > from)
					crm_buf_adds(out, " | ");
				if (cue) {
					crm_buf_add(out, cue, cuelen);
					crm_buf_addc(out, ' ');
				}
				pending = 0, cue = NULL;
			}
			if (s[i] != ' ' || (out->len > from && out->s[out->len - 1] != ' '))
				crm_buf_addc(out, s[i]), kept += s[i] != ' ';
		}
		if (!o)
			break;
		c = memchr(o, ']', n - (size_t)(o - s));
		i = c ? (size_t)(c - s) + 1 : n;
		pending = kept > 0;
		cue = NULL;
		if (c) {
			int k = label_kind(r, o + CRM_HTML_IMAGE_OPEN_LEN,
			    (size_t)(c - o) - CRM_HTML_IMAGE_OPEN_LEN);
			if (k != PH_NONE && k != PH_NOTPHONE)
				cue = o + CRM_HTML_IMAGE_OPEN_LEN, cuelen = (size_t)(c - o) - CRM_HTML_IMAGE_OPEN_LEN;
		}
	}
	while (out->len > from && out->s[out->len - 1] == ' ')
		out->len--;
	if (!kept) {
		out->len = mark;
		if (out->s)
			out->s[mark] = 0;
		return 0;
	}
	out->s[out->len] = 0;
	return 1;
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
		if (!(a_isupper(ch) || ch >= 0xC3))
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
			if (a_isdigit(ch) || strchr("@:/|,;()&+", ch))
				return 0;
			i++;
		}
		words++;
	}
	if (words < 2 || words > 4)
		return 0;
	if (lex_has(c->r, s, n, LX_TITLE | LX_COMPANY | LX_LEGAL | LX_STREET | LX_COUNTRY | LX_DEPT))
		return 0;
	return 1;
}

/* Does the text spell the start of the sender's domain label ("groupe"
 * of groupe-prevoir-exemple.fr), letters and digits only, accents and case
 * folded? */
static int
mentions_domain(struct ctx *c, const char *s, size_t n)
{
	char f[2048], *p = f;
	size_t fl, k = 0;

	ctx_domain(c);
	if (!c->dlabel || !*c->dlabel || c->webmail)
		return 0;
	fl = fold_buf(s, n < 600 ? n : 600, f, sizeof f);
	for (size_t i = 0; i < fl; i++)
		if (a_isalnum((unsigned char)f[i]))
			p[k++] = f[i];
	p[k] = 0;
	char want[8];
	size_t wl = strlen(c->dlabel) < 6 ? strlen(c->dlabel) : 6;
	memcpy(want, c->dlabel, wl);
	want[wl] = 0;
	return strstr(p, want) != NULL;
}

/* "PS : je serai absent ...", "P.-S.", "P.S.", "PPS", "N.B. :",
 * "Post-scriptum": a line that opens a post-scriptum. */
static int
ps_line(const char *s, size_t n)
{
	static const char *const marks[] = { "p.-s.", "p.p.s.", "p.s.", "p.s", "pps", "ps",
		"n.b.", "post-scriptum", "post scriptum", NULL };

	/* marks open with "p.", "pp", "ps", "po" or "n." */
	unsigned char a = (unsigned char)(s[0] | 0x20), b = n > 1 ? (unsigned char)(s[1] | 0x20) : 0;
	if (n < 3 || !((a == 'p' && (b == '.' || b == 'p' || b == 's' || b == 'o'))
	    || (a == 'n' && b == '.')))
		return 0;
	for (int k = 0; marks[k]; k++) {
		size_t m = strlen(marks[k]);
		if (m > n || strncasecmp(s, marks[k], m))
			continue;
		unsigned char after = m < n ? (unsigned char)s[m] : 0;
		if (a_isalnum(after) || after >= 0x80)
			return 0;       /* "PSA", "Psychologue", "NBA" */
		/* "N.B." is a note only with its colon: "N.B. Conseil" is a firm */
		if (marks[k][0] == 'n') {
			size_t j = m;
			while (j < n && s[j] == ' ')
				j++;
			return j < n && s[j] == ':';
		}
		return 1;
	}
	return 0;
}

/* Does a sentence speak of a telephone number ("mon portable", "my new
 * mobile", "numéro")? */
static int
phone_words(const char *s, size_t n)
{
	static const char *const w[] = { "portable", "mobile", "numéro", "number", "téléphone",
		"telephone", "phone", "cell", "gsm", "natel", NULL };

	for (int k = 0; w[k]; k++) {
		size_t m = strlen(w[k]);
		for (size_t i = 0; i + m <= n; i++)
			if (!strncasecmp(s + i, w[k], m))
				return 1;
	}
	return 0;
}

/* A post-scriptum ending the reply at line end: the index of its first
 * line (within the last five), or end.  Its lines must be its text, not
 * a signature (a delimiter, a closing, the sender's name, a number or an
 * address): "PS : mon portable, 06 12 34 56 78" is kept for the card. */
static size_t
postscript(struct ctx *c, struct tline *ln, size_t end, size_t *card)
{
	*card = end;
	for (size_t k = end; k-- > 0 && end - k <= 5;) {
		if (!ps_line(ln[k].s, ln[k].n))
			continue;
		for (size_t j = k; j < end; j++) {
			if (!(ln[j].f & L_DONE)) {
				flag_line(c, &ln[j]);
				ln[j].f |= L_DONE;
			}
			/* "PS : mon portable a changé, c'est désormais le 07 ...":
			 * a sentence giving a number is cut like the rest of
			 * the post-scriptum, but its number goes to the card */
			if ((ln[j].f & (L_FEAT | L_PROSE)) == (L_FEAT | L_PROSE) && phone_words(ln[j].s, ln[j].n)) {
				if (*card == end)
					*card = j;
				continue;
			}
			if (ln[j].f & (L_DELIM | L_CLOSE | L_CLOSE_END | L_NAME | L_FEAT)) {
				*card = end;
				return end;
			}
		}
		return k;
	}
	return end;
}

/* "AMC" from amc.fr, "CGP" from cgp-conseil.fr: a short line in
 * capitals that starts the sender's domain is the firm's acronym, not
 * the signer's initials. */
static int
domain_acronym(struct ctx *c, const char *s, size_t n)
{
	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!a_isupper((unsigned char)s[i]))
			return 0;
	ctx_domain(c);
	if (!c->dlabel || c->webmail || strlen(c->dlabel) < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (c->dlabel[i] != a_lower((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Lines are flagged lazily, from the bottom up: the block is found within
 * the last MAXBLOCK lines above any trailing notice, so most of the tail
 * is never looked at. */
/* The first line of the block that line i (a delimiter or a closing)
 * opens: the next one, or line i itself when a name follows on it
 * ("-- Sidney", "Cordialement, Jean"), the line then cut to that name. */
static size_t
opens_block(struct tline *l, size_t i)
{
	if (!l->tail)
		return i + 1;
	l->s += l->tail;
	l->n -= l->tail;
	l->f = L_NAME | L_DONE;
	return i;
}

/* After a dash sign-off ("- Dave"), at most a short card: four short
 * lines.  Wrapped prose below one (a list post signed at its top, a
 * reply written under it) is no signature. */
static int
short_tail(const struct tline *ln, size_t i, size_t end)
{
	size_t k = 0;

	for (size_t j = i + 1; j < end; j++)
		if (ln[j].n && (++k > 4 || ln[j].n > 60 || (ln[j].f & L_PROSE)))
			return 0;
	return 1;
}

/* "Rachel Stein" / "COO": a title word of three letters or less right
 * under the sender's name is the title, not the signer's initials. */
static int
short_title(struct ctx *c, const struct tline *ln, size_t i, size_t start)
{
	return i > start && (ln[i - 1].f & L_NAME) && lex_has(c->r, ln[i].s, ln[i].n, LX_TITLE);
}

#define FLAG(i) do { if (!(ln[i].f & L_DONE)) { flag_line(&c, &ln[i]); ln[i].f |= L_DONE; } } while (0)

int
crm_sig_locate(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *out)
{
	struct tline ln[MAXLINES];
	struct ctx c;
	size_t n, end, i, start = (size_t)-1, trailing = 0;
	double bconf = 0;
	int found = 0, ps_done = 0;
	size_t ps_card = 0, ps_end = 0;  /* post-scriptum lines giving a number */

	memset(out, 0, sizeof *out);
	if (!in->reply || !in->reply_len)
		return 0;
	ctx_init(&c, r, in);
	n = tail_lines(in->reply, in->reply_len, ln);
	/* skip what follows the signature: notices, separators, quoted lines,
	 * a post-scriptum, and up to four lines of prose after them (a notice
	 * without a cue word) */
	end = n;
	int notice = 0;          /* a notice or list footer was cut */
	while (end > 0) {
		FLAG(end - 1);
		unsigned f = ln[end - 1].f;
		if (f & (L_DISC | L_SEP | L_QUOTE)) {
			notice |= !!(f & L_DISC);
			end--;
			continue;
		}
		/* a PGP or PEM block, from its END line up to its BEGIN line */
		if (ln[end - 1].n > 9 && !memcmp(ln[end - 1].s, "-----END ", 9)) {
			size_t k = end - 1;
			while (k-- > 0 && end - k <= 80)
				if (ln[k].n > 11 && !memcmp(ln[k].s, "-----BEGIN ", 11))
					break;
			if (k != (size_t)-1 && end - k <= 80) {
				for (i = k; i < end; i++)
					ln[i].f |= L_DISC | L_DONE;
				end = k;
				notice = 1;
				continue;
			}
		}
		/* a footer a list or a mail service appends comes under a rule
		 * of its own ("____", "-----"): when a line of it is known for a
		 * footer ("mailing list", "Do You Yahoo!?"), the few lines
		 * between that rule and the end are the footer too (a sponsor's
		 * line, the list's address), unless they name the sender or
		 * sign off */
		{
			size_t k = end, sep = (size_t)-1;
			int seen = notice;
			while (k-- > 0 && end - k <= 6) {
				FLAG(k);
				if (ln[k].f & L_SEP) {
					sep = k;
					break;
				}
				if (ln[k].f & (L_NAME | L_CLOSE | L_CLOSE_END | L_DELIM | L_QUOTE) || ln[k].n > 90)
					break;
				seen |= !!(ln[k].f & L_DISC);
			}
			if (sep != (size_t)-1 && seen) {
				for (i = sep; i < end; i++)
					ln[i].f |= L_DISC;
				end = sep;
				continue;
			}
		}
		/* prose after what was cut is a notice without a cue word; so
		 * is a long last paragraph right under a contact line ("...
		 * Pty Ltd ABN ..., General advice warning: ...") */
		int under_card = 0;
		if ((f & L_PROSE) && end == n && end >= 2
		    && ln[end - 1].n - link_bytes(ln[end - 1].s, ln[end - 1].n) >= 100) {
			FLAG(end - 2);
			under_card = (ln[end - 2].f & L_FEAT) && !(ln[end - 2].f & L_PROSE)
			    && ln[end - 2].n <= 60;
		}
		if ((f & L_PROSE) && trailing < 4 && (end < n || under_card)) {
			ln[end - 1].f |= L_DISC;
			trailing++;
			end--;
			continue;
		}
		if (!ps_done) {
			ps_done = 1;
			size_t k = postscript(&c, ln, end, &ps_card);
			if (k < end) {
				ps_end = end;
				for (i = k; i < end; i++)
					ln[i].f |= L_DISC | L_DONE;
				end = k;
				continue;
			}
		}
		break;
	}
	/* a long notice line directly above the end belongs to the notice */
	/* 1. "-- " delimiter; 2. the last closing line */
	for (i = end; i-- > 0 && end - i <= MAXBLOCK;) {
		FLAG(i);
		if ((ln[i].f & L_DASH) && !short_tail(ln, i, end)) {
			/* refused: read the line again as any other line */
			ln[i].f = 0;
			ln[i].tail = 0;
			c.no_dash = 1;
			FLAG(i);
			c.no_dash = 0;
		}
		if (ln[i].f & L_DELIM) {
			start = opens_block(&ln[i], i);
			bconf = 0.97;
			break;
		}
		if (ln[i].f & (L_CLOSE | L_CLOSE_END)) {
			start = opens_block(&ln[i], i);
			bconf = 0.95;
			/* a delimiter just above the closing still wins */
			for (size_t j = i; j-- > 0 && i - j <= 3;) {
				FLAG(j);
				if (ln[j].f & L_DELIM) {
					start = j + 1;
					bconf = 0.97;
					break;
				}
				if (ln[j].f & L_PROSE)
					break;
			}
			break;
		}
		if (ln[i].f & L_PROSE)
			break;
	}
	/* 3. the sender's name heading a run of non-prose lines */
	if (start == (size_t)-1) {
		for (i = end; i-- > 0;) {
			FLAG(i);
			if (ln[i].f & (L_PROSE | L_QUOTE))
				break;
			if (ln[i].f & L_NAME) {
				start = i;
				bconf = 0.93;
			}
		}
		/* a logo just above the name heads the card */
		size_t b0;
		if (start != (size_t)-1 && start > 0 && image_alone(ln[start - 1].s, ln[start - 1].n, &b0)
		    && !(ln[start - 1].f & (L_PROSE | L_QUOTE | L_DISC)))
			start--;
	}
	/* 4. a run of short lines with contact features */
	if (start == (size_t)-1) {
		size_t feat = 0, k = end;
		for (i = end; i-- > 0 && end - i <= MAXBLOCK;) {
			FLAG(i);
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
		struct crm_buf b = CRM_BUF_INIT, logos = CRM_BUF_INIT;
		size_t kept = 0, named = 0, feat = 0, shaped = 0;
		for (i = start; i < end && kept < MAXBLOCK; i++) {
			FLAG(i);
			if (ln[i].f & (L_DISC | L_SEP | L_PROSE | L_QUOTE | L_DELIM | L_CLOSE | L_CLOSE_END))
				continue;
			if (ln[i].n <= 3 && !(ln[i].f & L_NAME) && !domain_acronym(&c, ln[i].s, ln[i].n)
			    && !short_title(&c, ln, i, start))
				continue;        /* initials: "PA", "V.", "H" */
			if (!image_text(r, ln[i].s, ln[i].n, &b, &logos))
				continue;        /* an icon, a picture */
			kept++;
			named += !!(ln[i].f & L_NAME);
			feat += !!(ln[i].f & L_FEAT);
			if (!(ln[i].f & (L_NAME | L_FEAT)) && kept <= 2 && person_shape(&c, ln[i].s, ln[i].n))
				shaped++;
		}
		if (logos.len) {
			if (b.len)
				crm_buf_addc(&b, '\n');
			crm_buf_add(&b, logos.s, logos.len);
			crm_buf_free(&logos);
		}
		/* a block that neither names the sender nor spells the sender's
		 * domain cannot tie to the sender (see crm_sig_extract): leave it
		 * without reading it (list footers, spam, other people's cards) */
		if (kept && !named && !mentions_domain(&c, b.s, b.len))
			kept = 0;
		for (i = ps_card; kept && i < ps_end; i++)
			if (ln[i].f & L_FEAT) {
				crm_buf_addc(&b, '\n');
				crm_buf_add(&b, ln[i].s, ln[i].n);
				feat++;
			}
		if (kept && (named || feat || shaped || kept >= 2)) {
			out->text_len = b.len;
			out->text = crm_buf_steal(&b);
			out->start = (size_t)(ln[start].s - in->reply);
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
	int sep_before;          /* the separator before it was a dash: 1 " - ",
	                            2 " – ", 3 " — " */
	unsigned kind;
	int lex_done;            /* lex computed (lex_scan once per segment) */
	struct lexhit lex;
	size_t obf_b, obf_e;     /* span of a disguised e-mail address */
};

enum { S_EMAIL = 1, S_WEB = 2, S_PHONE = 4, S_ADDR = 8, S_NAME = 16, S_TITLE = 32,
	S_COMPANY = 64, S_SKIP = 128 };

struct phone {
	char e164[CRM_PHONE_MAX];
	int type, label, line;
	int region_guessed;
	int possible;           /* right length, not in the metadata */
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
	size_t cur_seg_len;      /* length of the segment being read for phones */
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
#define SEP(x) { x, sizeof x - 1 }
	static const struct { const char *s; size_t n; } seps[] = { SEP(" | "), SEP(" • "),
		SEP(" · "), SEP(" – "), SEP(" — "), SEP(" - "), SEP(" / "), SEP("|"), SEP("•"),
		SEP("·"), SEP("  ") };
#undef SEP
	*dash = 0;
	unsigned char ch = (unsigned char)s[i];
	if (ch != ' ' && ch != '|' && ch != 0xE2 && ch != 0xC2)
		return 0;
	for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
		size_t m = seps[k].n;
		if ((unsigned char)seps[k].s[0] == ch && i + m <= n && !memcmp(s + i, seps[k].s, m)) {
			*dash = k == 5 ? 1 : k == 3 ? 2 : k == 4 ? 3 : 0;
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
			/* a bullet before a part ("* Hack Watch News", "- Paris")
			 * marks it, it is not part of it */
			if (len > 2 && (p[0] == '*' || p[0] == '-') && p[1] == ' ') {
				p += 2;
				len -= 2;
				trim(&p, &len);
			}
			if (len) {
				struct seg *g = &x->seg[x->ns++];
				g->s = p;
				g->n = len;
				g->line = line;
				g->sep_before = prevdash;
				g->kind = 0;
				g->lex_done = 0;
				g->obf_b = g->obf_e = 0;
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

/* The type of a number crm_phone_possible() accepted: what its length
 * allows when only one type fits, else what its label says. */
static int
possible_type(int t, int label)
{
	if (t == CRM_PHONE_OTHER)
		return label == PH_MOBILE ? CRM_PHONE_MOBILE : CRM_PHONE_FIXED;
	return t;
}

/* A number in a range set aside for fiction (fiction_phones.txt), which
 * libphonenumber holds invalid: its E.164 and type, else
 * CRM_PHONE_INVALID.  p is the number as cleaned by add_phone(), "+"
 * first when written with its country code, else read as a national
 * number (trunk 0) of any country of the table. */
static int
fiction_number(const struct crm_sig_rules *r, const char *p, char e164[CRM_PHONE_MAX])
{
	char d[24];
	size_t n = 0;

	for (const char *q = p; *q; q++)
		if (a_isdigit((unsigned char)*q)) {
			if (n + 1 >= sizeof d)
				return CRM_PHONE_INVALID;
			d[n++] = *q;
		}
	d[n] = 0;
	for (size_t i = 0; i < r->nfiction; i++) {
		const struct fiction *f = &r->fiction[i];
		size_t cl = strlen(f->cc);
		const char *nat;
		if (*p == '+')
			nat = !strncmp(d, f->cc, cl) ? d + cl : NULL;
		else
			nat = d[0] == '0' ? d + 1 : NULL;
		if (nat && strlen(nat) == f->len && !strncmp(nat, f->prefix, strlen(f->prefix))) {
			/* fits: a code of three digits, fourteen more at most */
			e164[0] = '+';
			memcpy(e164 + 1, f->cc, cl);
			memcpy(e164 + 1 + cl, nat, f->len + 1);
			return f->type;
		}
	}
	return CRM_PHONE_INVALID;
}

static void
add_phone(struct ex *x, const char *num, size_t n, int label, int line)
{
	char e164[CRM_PHONE_MAX], clean[64];
	int t = CRM_PHONE_INVALID, guessed = 0, possible = 0;
	size_t digits = count_digits(num, n), k = 0;
	const char *def = x->c.in->region ? x->c.in->region : "FR";

	if (digits < 8 || digits > 16 || x->nph >= sizeof x->ph / sizeof x->ph[0] || n >= sizeof clean)
		return;
	/* digits, a leading '+' and parentheses; any other separator (dots,
	 * dashes, no-break and thin spaces) becomes a space */
	for (size_t i = 0; i < n && k + 1 < sizeof clean; i++) {
		char ch = num[i];
		if (a_isdigit((unsigned char)ch) || ch == '(' || ch == ')' || (ch == '+' && k == 0))
			clean[k++] = ch;
		else if (k && clean[k - 1] != ' ')
			clean[k++] = ' ';
	}
	clean[k] = 0;
	char *p = clean;
	while (*p == ' ' || *p == '(')
		p++;
	/* "0033 1 42 ...", "00 44 20 ...": 00 is the international call
	 * prefix of most of the world (the US's 011 excepted), and no
	 * national number begins so; read as "+", whatever the region */
	if (p[0] == '0' && p[1] == '0' && ((p[2] >= '1' && p[2] <= '9')
	    || (p[2] == ' ' && a_isdigit((unsigned char)p[3])))) {
		p[1] = '+';
		p++;
	}
	int intl = *p == '+';
	if (intl) {
		/* "+352 (0) 26 ...": a trunk 0 some write after the country code */
		char *z;
		while ((z = strstr(p, "(0)")))
			memmove(z, z + 3, strlen(z + 3) + 1);
		t = crm_phone_parse(p, strlen(p), "ZZ", e164);
		if (t == CRM_PHONE_INVALID) {
			t = fiction_number(x->c.r, p, e164);
			possible = t != CRM_PHONE_INVALID;
		}
		if (t == CRM_PHONE_INVALID && label != PH_NONE) {
			t = possible_type(crm_phone_possible(p, strlen(p), "ZZ", e164), label);
			possible = t != CRM_PHONE_INVALID;
		}
	} else {
		guessed = strcmp(x->region, def) != 0;
		t = crm_phone_parse(clean, strlen(clean), x->region, e164);
		if (t == CRM_PHONE_INVALID && guessed) {
			guessed = 0;
			t = crm_phone_parse(clean, strlen(clean), def, e164);
		}
		/* a range for fiction, before any foreign reading: "07700 900
		 * 456" is the UK's, not a German number */
		if (t == CRM_PHONE_INVALID) {
			t = fiction_number(x->c.r, p, e164);
			possible = t != CRM_PHONE_INVALID;
		}
		/* only for a number that is labelled or stands alone: numbers
		 * inside prose are not worth ten parses */
		int alone = label != PH_NONE || x->cur_seg_len <= n + 12;
		/* the right length for the sender's region but missing from
		 * libphonenumber's metadata (a new range, a range for fiction),
		 * after a phone label: that region's, with less weight, rather
		 * than a foreign reading (German numbers take almost any
		 * length); an unlabelled run of digits may be anything */
		if (t == CRM_PHONE_INVALID && label != PH_NONE) {
			t = possible_type(crm_phone_possible(clean, strlen(clean), x->region, e164), label);
			if (t == CRM_PHONE_INVALID && strcmp(x->region, def))
				t = possible_type(crm_phone_possible(clean, strlen(clean), def, e164), label);
			possible = t != CRM_PHONE_INVALID;
		}
		/* no hint: a North American number (no trunk 0 or 1), or a
		 * national number with trunk 0 in the regions of
		 * phone_regions.txt, in order */
		/* a group of one to three digits in parentheses opening the
		 * number: a US area code, or a country calling code */
		size_t cc = 0;
		const char *o = clean;
		while (*o == ' ')
			o++;
		if (*o == '(')
			while (a_isdigit((unsigned char)o[1 + cc]))
				cc++;
		if (o[1 + cc] != ')')
			cc = 0;
		if (t == CRM_PHONE_INVALID && digits == 10 && p[0] != '0' && p[0] != '1' && (cc == 0 || cc == 3)) {
			guessed = 1;
			t = crm_phone_parse(clean, strlen(clean), "US", e164);
		}
		/* a number alone that the sender's region (its domain, an
		 * address, another number) could hold by its length is not
		 * read as a foreign one: "07700 900 654" of a .co.uk sender
		 * is no German number; left out, its type unknown */
		if (t == CRM_PHONE_INVALID && label == PH_NONE && alone && p[0] == '0'
		    && (strcmp(x->region, def) || x->c.tld_region[0])) {
			char tmp[CRM_PHONE_MAX];
			if (crm_phone_possible(clean, strlen(clean), x->region, tmp) != CRM_PHONE_INVALID)
				return;
		}
		for (size_t i = 0; t == CRM_PHONE_INVALID && alone && p[0] == '0' && i < x->c.r->nphone_regions; i++) {
			guessed = 1;
			t = crm_phone_parse(clean, strlen(clean), x->c.r->phone_regions[i], e164);
		}
		/* "(852) 2845 1230", "(65) 6532 1480": a country calling code
		 * in parentheses without its '+', when no national reading
		 * holds (a US area code "(212) 555-0187" reads first) */
		if (t == CRM_PHONE_INVALID && alone && cc >= 1 && o[1] != '0') {
			char intl_buf[sizeof clean + 1];
			intl_buf[0] = '+';
			memcpy(intl_buf + 1, o + 1, cc);
			size_t rest = strlen(o + 2 + cc);
			memcpy(intl_buf + 1 + cc, o + 2 + cc, rest + 1);
			t = crm_phone_parse(intl_buf, strlen(intl_buf), "ZZ", e164);
			if (t == CRM_PHONE_INVALID) {
				t = fiction_number(x->c.r, intl_buf, e164);
				possible = t != CRM_PHONE_INVALID;
			}
			guessed = 0;
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
	ph->possible = possible;
}

/* "0033 1 ...", "00 41 22 ...": where a number written with the
 * international prefix 00 starts in s, or NULL. */
static const char *
idd_prefix(const char *s, size_t n)
{
	for (const char *p = s; (p = memchr(p, '0', n - (size_t)(p - s))) && p + 3 < s + n; p++)
		if (p[1] == '0' && (p == s || !a_isalnum((unsigned char)p[-1]))
		    && ((p[2] >= '1' && p[2] <= '9') || (p[2] == ' ' && a_isdigit((unsigned char)p[3]))))
			return p;
	return NULL;
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
	x->cur_seg_len = g->n;
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
		/* "M | +44 7700 900 412": the label is the part before a
		 * separator, alone, just before the number */
		if (label == PH_NONE && b == 0 && g > x->seg && g[-1].line == g->line && g[-1].n <= 12
		    && !count_digits(g[-1].s, g[-1].n))
			label = label_kind(c->r, g[-1].s, g[-1].n);
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
	while (n > i && strchr("/.>)]`',;", u[n - 1]))
		n--;
	if (n <= i)
		return NULL;
	out = crm_xstrndup(u + i, n - i);
	for (char *p = out; *p && *p != '/'; p++)
		*p = (char)a_lower((unsigned char)*p);
	{
		char *q = strchr(out, '?');
		if (q)
			*q = 0;
	}
	size_t ol = strlen(out);
	/* a script's page ("bugzilla/show_bug.cgi?id=", "login.cfm",
	 * "d.jsp"): a tool's or a tracker's link, not a firm's site; a
	 * site's own front page ("index.php", "default.asp") still is */
	static const char *const script[] = { ".cgi", ".php", ".php3", ".asp", ".aspx", ".jsp",
		".cfm", ".pl", ".exe", ".dll", NULL };
	const char *slash = strrchr(out, '/');
	if (slash && strncasecmp(slash + 1, "index.", 6) && strncasecmp(slash + 1, "default.", 8))
		for (int k = 0; script[k]; k++) {
			size_t sl = strlen(script[k]);
			if (ol >= sl && !strcasecmp(out + ol - sl, script[k])) {
				free(out);
				return NULL;
			}
		}
	static const char *const img[] = { ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".asc", ".zip", ".doc", NULL };
	for (int k = 0; img[k]; k++) {
		size_t il = strlen(img[k]);
		if (ol >= il && !strcasecmp(out + ol - il, img[k])) {
			free(out);
			return NULL;
		}
	}
	for (size_t k = 0; k < r->nsocial; k++)
		if (r->social[k][0] == '/' && strstr(out, r->social[k])) {
			free(out);
			return NULL;
		}
	host = crm_xstrndup(out, strcspn(out, "/"));
	/* a bare IP address (with or without a port) is a server, not a
	 * firm's site */
	if (host[strspn(host, "0123456789.:")] == 0) {
		free(host);
		free(out);
		return NULL;
	}
	for (size_t k = 0; k < r->nsocial; k++) {
		if (r->social[k][0] == '/')
			continue;
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

static int same_site(const struct ctx *c, const char *host);

/* "ville.skytta at iki.fi", "mgm (at) firm.com": a domain right after
 * an "at" or "arobase" word, however bracketed, is an address's when
 * the word before reads as a local part: the sender's own, or one with
 * a dot, an underscore or a digit ("posted at firm.com" is prose). */
static int
after_at(struct ctx *c, const char *s, size_t b)
{
	const char *from = c->in->from_email, *at = from ? strchr(from, '@') : NULL;

	while (b && (s[b - 1] == ' ' || s[b - 1] == ')' || s[b - 1] == ']' || s[b - 1] == '}'))
		b--;
	for (int k = 0; k < 2; k++) {
		const char *w = k ? "arobase" : "at";
		size_t wl = strlen(w);
		if (b < wl || strncasecmp(s + b - wl, w, wl) || (b > wl && a_isalnum((unsigned char)s[b - wl - 1])))
			continue;
		size_t e = b - wl;
		while (e && (s[e - 1] == ' ' || s[e - 1] == '(' || s[e - 1] == '[' || s[e - 1] == '{'))
			e--;
		size_t l = e, odd = 0;
		while (l && s[l - 1] != ' ') {
			l--;
			odd |= s[l] == '.' || s[l] == '_' || a_isdigit((unsigned char)s[l]);
		}
		if (l < e && (odd || (at && (size_t)(at - from) == e - l && !strncasecmp(from, s + l, e - l))))
			return 1;
	}
	return 0;
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
			crm_buf_addc(&b, (char)a_lower((unsigned char)g->s[k]));
		crm_buf_addc(&b, '/');
		crm_buf_add(&b, slug, sl);
		set_field(s, CRM_SIG_LINKEDIN, crm_buf_steal(&b), 0.97, "linkedin-url");
		g->kind |= S_WEB;
	}
	/* a URL has a dot followed by a letter */
	int dotword = 0;
	for (size_t k = 0; k + 1 < g->n && !dotword; k++)
		dotword = g->s[k] == '.' && a_isalpha((unsigned char)g->s[k + 1]);
	while (dotword && pos < g->n && rx(c, c->r->p_url, g->s, g->n, pos) >= 0) {
		PCRE2_SIZE *o = ov(c);
		size_t b = o[0], e = o[1];
		pos = e > b ? e : b + 1;
		if (b > 0 && g->s[b - 1] == '@')
			continue;
		if (g->obf_e && b >= g->obf_b && b < g->obf_e)
			continue;       /* the domain of a disguised address */
		/* "mgm at firm.com"; but "visit us at www.firm.com" */
		if (after_at(c, g->s, b) && strncasecmp(g->s + b, "www.", 4) && !memchr(g->s + b, ':', e - b)) {
			g->kind |= S_WEB;
			continue;
		}
		char *w = norm_website(c->r, g->s + b, e - b);
		if (!w) {
			g->kind |= S_WEB;
			continue;
		}
		g->kind |= S_WEB;
		/* prefer the site of the sender's own domain */
		int own = c->domain && !strncmp(w, c->domain, strlen(c->domain));
		/* "Orias n° 12 045 678 – www.orias.fr", "Regulated by the FCA
		 * (fca.org.uk)": a link on a registration or notice line is
		 * the register's, unless it is the sender's own site */
		if (!own && !same_site(c, w) && lex_has(c->r, x->lines[g->line], x->lens[g->line],
		    LX_DISC_CUE | LX_DISC_SHORT)) {
			free(w);
			continue;
		}
		if (!s->field[CRM_SIG_WEBSITE] || (own && strcmp(s->rule[CRM_SIG_WEBSITE], "own-domain-url")))
			set_field(s, CRM_SIG_WEBSITE, w, own ? 0.97 : 0.9, own ? "own-domain-url" : "url");
		else
			free(w);
	}
}

/* "whitlockdesign.studio", "firma.nl": the sender's own domain printed
 * bare is the firm's website whatever its top-level domain, which the
 * url pattern's list of them cannot all hold.  A host boundary on each
 * side: not an address's domain (after '@'), not part of a longer host. */
static void
own_domain_web(struct ex *x, struct seg *g, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	size_t dl;

	ctx_domain(c);
	if (s->field[CRM_SIG_WEBSITE] || !c->domain || c->webmail || (dl = strlen(c->domain)) >= g->n + 1)
		return;
	for (size_t b = 0; b + dl <= g->n; b++) {
		if (strncasecmp(g->s + b, c->domain, dl))
			continue;
		unsigned char pre = b ? (unsigned char)g->s[b - 1] : ' ';
		unsigned char post = b + dl < g->n ? (unsigned char)g->s[b + dl] : ' ';
		if (a_isalnum(pre) || pre == '@' || pre == '-' || pre == '_'
		    || (pre == '.' && !(b >= 4 && !strncasecmp(g->s + b - 4, "www.", 4))))
			continue;
		if (a_isalnum(post) || post == '@' || post == '-' || post == '_'
		    || (post == '.' && b + dl + 1 < g->n && a_isalnum((unsigned char)g->s[b + dl + 1])))
			continue;
		if ((g->obf_e && b >= g->obf_b && b < g->obf_e) || after_at(c, g->s, b)) {
			g->kind |= S_WEB;
			continue;       /* the domain of a disguised address */
		}
		size_t e = b + dl;
		while (e < g->n && post == '/' && g->s[e] != ' ' && g->s[e] != '|')
			e++;
		char *w = norm_website(c->r, g->s + b, e - b);
		if (w) {
			g->kind |= S_WEB;
			set_field(s, CRM_SIG_WEBSITE, w, 0.97, "own-domain-url");
		}
		return;
	}
}

/* "jean.dupont [at] firme.fr", "k.shah (at) firm.com": the address
 * written out, or NULL; *b and *e get the span it was written in. */
static char *
disguised_email(struct ex *x, struct seg *g, size_t *b, size_t *e)
{
	struct ctx *c = &x->c;
	const char *p = g->s;
	size_t n = g->n, k;

	/* its mark: "[", "(" or "{" before "at", "@" or "arobase"; or " at "
	 * and " arobase " as words */
	for (k = 0; k + 3 < n; k++)
		if (((p[k] == '[' || p[k] == '(' || p[k] == '{') && (p[k + 1] == '@' || p[k + 1] == ' '
		    || ((p[k + 1] | 0x20) == 'a' && strchr("tTrR", p[k + 2]))))
		    || (p[k] == ' ' && (p[k + 1] | 0x20) == 'a' && strchr("tTrR", p[k + 2])))
			break;
	if (k + 3 >= n || rx(c, c->r->p_email_obf, p, n, 0) < 0)
		return NULL;
	PCRE2_SIZE *o = ov(c);
	/* written in plain words ("jean at firme dot fr"), the address is
	 * the whole segment, a label at most before it: not a sentence */
	if (!memchr(p + o[0], '[', o[1] - o[0]) && !memchr(p + o[0], '(', o[1] - o[0])
	    && !memchr(p + o[0], '{', o[1] - o[0])) {
		size_t lb = o[0];
		while (lb && p[lb - 1] == ' ')
			lb--;
		if (o[0] > 16 || o[1] + 1 < n || (lb && p[lb - 1] != ':'))
			return NULL;
	}
	struct crm_buf a = CRM_BUF_INIT;
	crm_buf_add(&a, p + o[2], o[3] - o[2]);
	crm_buf_addc(&a, '@');
	size_t last = 0;
	for (size_t i = o[4]; i < o[5];) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '[' || ch == '(' || ch == '.') {
			/* "[dot]", "(point)", "." */
			size_t j = i + 1;
			if (ch != '.') {
				while (j < o[5] && p[j] != ']' && p[j] != ')')
					j++;
				j++;
			}
			crm_buf_addc(&a, '.');
			last = a.len;
			i = j;
		} else if (ch == ' ' || ch == '\t') {
			/* " dot ", " point " */
			size_t j = i;
			while (j < o[5] && p[j] == ' ')
				j++;
			size_t m = !strncasecmp(p + j, "dot ", 4) ? 3 : !strncasecmp(p + j, "point ", 6) ? 5 : 0;
			if (m && j + m < o[5]) {
				crm_buf_addc(&a, '.');
				last = a.len;
				i = j + m;
			} else
				i++;
		}
		else {
			crm_buf_addc(&a, (char)a_lower(ch));
			i++;
		}
	}
	/* the top-level domain: two letters or more */
	size_t tl = a.len - last;
	int ok = last && tl >= 2;
	for (size_t i = last; ok && i < a.len; i++)
		ok = a_isalpha((unsigned char)a.s[i]);
	if (!ok) {
		crm_buf_free(&a);
		return NULL;
	}
	*b = o[0];
	*e = o[1];
	char *out = fold(a.s, a.len);
	crm_buf_free(&a);
	return out;
}

static void
find_email(struct ex *x, struct seg *g, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	char *e;
	if (!memchr(g->s, '@', g->n) || rx(c, c->r->p_email, g->s, g->n, 0) < 0) {
		if (!(e = disguised_email(x, g, &g->obf_b, &g->obf_e)))
			return;
	} else {
		PCRE2_SIZE *o = ov(c);
		e = fold(g->s + o[0], o[1] - o[0]);
	}
	int own = c->in->from_email && !strcasecmp(e, c->in->from_email);
	g->kind |= S_EMAIL;
	/* "spamassassin-talk@lists.sourceforge.net": a list's address */
	if (!own && rx(c, c->r->p_list_email, e, strlen(e), 0) >= 0) {
		free(e);
		return;
	}
	int sameco = !own && same_site(c, strchr(e, '@') + 1);
	g->kind |= S_EMAIL;
	if (!s->field[CRM_SIG_EMAIL] || (own && strcmp(s->rule[CRM_SIG_EMAIL], "sender-address")))
		set_field(s, CRM_SIG_EMAIL, e, own ? 0.98 : sameco ? 0.9 : 0.6,
		    own ? "sender-address" : sameco ? "colleague-address" : "other-address");
	else
		free(e);
}

static const char *
country_code(struct ex *x, const char *s, size_t n)
{
	struct lexhit h;
	if (!(lex_scan(x->c.r, s, n, &h) & LX_COUNTRY))
		return NULL;
	return h.country;
}

/* Is a segment part of a street address (a street word, BP, CS ...)? */
static int
streetish(struct ex *x, const char *s, size_t n)
{
	struct lexhit h;
	unsigned f = lex_scan(x->c.r, s, n, &h);
	/* "Place des Corporations S.à r.l.": a legal form makes a firm; so
	 * does a firm word without a number ("Avenue Capital Partners") */
	return (f & (LX_STREET | LX_LEGAL)) == LX_STREET
	    && (!(f & LX_COMPANY) || count_digits(s, n));
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
	/* "A 14 Curzon Street": a builder's one-letter cue for the address,
	 * like "T" and "W" before the number and the site */
	if (n > 2 && *s == 'A' && s[1] == ' ' && a_isdigit((unsigned char)s[2])) {
		s += 2;
		n -= 2;
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

/* "Herengracht 450", "Bahnhofstrasse 42", "Keizersgracht 123-125": a
 * line that is one to four words and a house number, the street name
 * first (Dutch, German, Swiss, Belgian order), its street word often
 * glued to the name so the lexicon cannot see it. */
static int
number_last_street(const char *s, size_t n)
{
	trim(&s, &n);
	size_t e = n, d = 0;
	while (e && a_isalpha((unsigned char)s[e - 1]) && n - e < 1)
		e--;
	while (e && (a_isdigit((unsigned char)s[e - 1]) || s[e - 1] == '-'))
		e--, d++;
	if (!d || d > 9 || !e || s[e - 1] != ' ' || !a_isdigit((unsigned char)s[e]))
		return 0;
	e--;
	if (!e || !(a_isupper((unsigned char)s[0]) || (unsigned char)s[0] >= 0xC3)
	    || count_digits(s, e) || count_words(s, e) > 4)
		return 0;
	for (size_t i = 0; i < e; i++)
		if (strchr("@:|/,;()", s[i]))
			return 0;
	return 1;
}

/* "12 Grosvenor Gardens", "8 Marina View": a house number, then one to
 * four capitalised words of letters only (English order), a street
 * whose type word the lexicon may not know; read only right above a
 * postal line.  A firm, a title or a team ("3 Rivers Capital") is no
 * street. */
static int
number_first_street(struct ex *x, const char *s, size_t n)
{
	size_t i = 0;

	trim(&s, &n);
	while (i < n && a_isdigit((unsigned char)s[i]))
		i++;
	if (!i || i > 5 || i + 1 >= n || s[i] != ' ' || count_digits(s, n) != i)
		return 0;
	size_t w = count_words(s + i + 1, n - i - 1);
	if (w < 1 || w > 4)
		return 0;
	for (size_t k = i + 1; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];
		if (ch == ' ')
			continue;
		if (!(a_isalpha(ch) || ch >= 0x80 || ch == '\'' || ch == '-'))
			return 0;
		/* each word starts with a capital */
		if (s[k - 1] == ' ' && !(a_isupper(ch) || ch >= 0xC3))
			return 0;
	}
	return !lex_has(x->c.r, s, n, LX_TITLE | LX_COMPANY | LX_LEGAL | LX_DEPT | LX_COUNTRY);
}

static double company_score(struct ex *x, struct seg *g, const char **why);
static double domain_cover(struct ctx *c, const char *s, size_t n);
static double capital_ratio(const char *s, size_t n);

/* "Le Roc", "Les Docks", "Le Millenium" before "– 2 boulevard ...": a
 * building's name, an article and one to three capitalised words that
 * no lexicon knows (a firm, a title, a team, a place) and that do not
 * spell the sender's domain.  bare: the article may be missing (the
 * caller has other evidence). */
static int
building_name(struct ex *x, const char *s, size_t n, int bare)
{
	static const char *const art[] = { "Le ", "La ", "Les ", "L'", "L’", "The ", NULL };
	size_t k, a = 0, w;
	struct lexhit h;

	if (n < 4 || n > 40 || count_digits(s, n) || memchr(s, '@', n) || memchr(s, ',', n))
		return 0;
	for (k = 0; art[k]; k++)
		if (!strncmp(s, art[k], strlen(art[k])))
			a = strlen(art[k]);
	if ((!a && !bare) || a >= n || !(a_isupper((unsigned char)s[a]) || (unsigned char)s[a] >= 0xC3))
		return 0;
	w = count_words(s, n);
	if (w > 4 || capital_ratio(s + a, n - a) < 0.75)
		return 0;
	if (lex_scan(x->c.r, s, n, &h) & (LX_TITLE | LX_COMPANY | LX_LEGAL | LX_COUNTRY | LX_REGION
	    | LX_DEPT | LX_DISC_CUE | LX_DISC_SHORT))
		return 0;
	return domain_cover(&x->c, s, n) < 0.5;
}

/* "Rhodanie Patrimoine 20 boulevard ...": a firm's name glued before the
 * house number (table cells of an HTML signature read side by side):
 * the length of the firm's part to leave out, or 0.  The firm shows its
 * own evidence (the sender's domain, a legal form, a firm word). */
static size_t
firm_before_number(struct ex *x, int line, const char *s, size_t n)
{
	size_t i = 0;
	const char *why;

	while (i < n && !a_isdigit((unsigned char)s[i]))
		i++;
	if (i < 4 || i >= n || s[i - 1] != ' ')
		return 0;
	/* the number starts a street: a street word follows */
	if (!streetish(x, s + i, n - i))
		return 0;
	struct seg g = { .s = s, .n = i - 1, .line = line };
	if (!(a_isupper((unsigned char)s[0]) || (unsigned char)s[0] >= 0xC3)
	    || lex_has(x->c.r, s, i - 1, LX_STREET) || company_score(x, &g, &why) < 2)
		return 0;
	return i;
}

/* Does the segment name a tower or a building of a business centre
 * ("Tour A", "Bâtiment C", "Immeuble Le Carillon")? */
static int
building_part(const char *s, size_t n)
{
	static const char *const w[] = { "Tour ", "Immeuble ", "Bâtiment ", "Bât. ", "Bat. ",
		"Tower ", "Building ", "Résidence ", NULL };

	for (int k = 0; w[k]; k++) {
		size_t m = strlen(w[k]);
		if (n > m && !strncasecmp(s, w[k], m))
			return 1;
	}
	return 0;
}

/* Is segment k (of those from b to e) part of the street: street-like,
 * numbered, or a building's name just before a street-like one?  A
 * business centre's name needs no article when one of its towers or
 * buildings follows ("Cœur Défense – Tour A – 110 esplanade ..."). */
static int
street_seg(struct ex *x, size_t k, size_t e)
{
	const struct seg *g = &x->seg[k];
	if (streetish(x, g->s, g->n) || count_digits(g->s, g->n))
		return 1;
	if (k + 1 >= e || x->seg[k + 1].line != g->line)
		return 0;
	const struct seg *q = &x->seg[k + 1];
	if (building_part(q->s, q->n) && building_name(x, g->s, g->n, 1))
		return 1;
	return building_name(x, g->s, g->n, 0) && (streetish(x, q->s, q->n) || count_digits(q->s, q->n));
}

static void
add_street_seg(struct ex *x, struct crm_buf *b, const struct seg *g)
{
	size_t cut = count_digits(g->s, g->n) ? firm_before_number(x, g->line, g->s, g->n) : 0;
	add_street_part(b, g->s + cut, g->n - cut);
}

/* "BP 12", "CS 30001", "PO Box 5067": a post-office box alone, its word
 * and its number.  Printed before the postcode ("BP 12 – 59001 Lille
 * Cedex"), it ends the street of the line above, it does not replace it. */
static int
postbox_only(const char *s, size_t n)
{
	static const char *const box[] = { "bp ", "b.p. ", "cs ", "tsa ", "case postale ", "po box ",
		"p.o. box ", "boîte postale ", "postfach ", "postbus ", NULL };

	trim(&s, &n);
	for (int k = 0; box[k]; k++) {
		size_t m = strlen(box[k]);
		if (n <= m || strncasecmp(s, box[k], m))
			continue;
		for (size_t i = m; i < n; i++)
			if (!a_isdigit((unsigned char)s[i]) && s[i] != ' ')
				return 0;
		return 1;
	}
	return 0;
}

static int closing_line(struct ctx *c, const char *s, size_t n);

/* "Dubai International Financial Centre", "Canary Wharf" between
 * "Office 305, Level 3, Gate Village Building 4" and "PO Box 506789,
 * Dubai": a short line of capitalised words with no digit, between a
 * numbered street line above and the city's line, that no lexicon takes
 * for a title, a legal form, a team or a notice, is part of the street */
static int
district_line(struct ex *x, int k)
{
	const char *s = x->lines[k], *a = x->lines[k - 1];
	size_t n = x->lens[k], an = x->lens[k - 1];
	struct lexhit h;

	if (n < 4 || n > 50 || count_digits(s, n) || memchr(s, '@', n) || count_words(s, n) > 5
	    || !(a_isupper((unsigned char)s[0]) || (unsigned char)s[0] >= 0xC3) || capital_ratio(s, n) < 0.75
	    || closing_line(&x->c, s, n))
		return 0;
	if (lex_scan(x->c.r, s, n, &h) & (LX_TITLE | LX_LEGAL | LX_DEPT | LX_DISC_CUE | LX_DISC_SHORT))
		return 0;
	if (domain_cover(&x->c, s, n) >= 0.5)
		return 0;
	size_t f0, l0;
	if (name_match(&x->c, s, n, &f0, &l0) >= 2)
		return 0;
	/* the line above: a numbered street, not a phone */
	return count_digits(a, an) > 0 && count_digits(a, an) < 8 && streetish(x, a, an)
	    && !memchr(a, '@', an);
}

/* Street text before position `at` of line li: the street-like segments
 * of that line, or the street-like lines just above (and those lines
 * before a post-office box alone on the line). */
static char *
street_before(struct ex *x, int li, size_t at)
{
	struct crm_buf b = CRM_BUF_INIT;
	const char *line = x->lines[li];
	size_t n = at;
	char *box = NULL;

	while (n && strchr(" ,–—-|•·", line[n - 1]))
		n--;
	/* strip a trailing "–" in utf-8 */
	if (n > 0) {
		/* split the part before the postal code into segments */
		size_t save = x->ns;
		segment(x, li, line, n);
		for (size_t k = save; k < x->ns; k++)
			if (street_seg(x, k, x->ns))
				add_street_seg(x, &b, &x->seg[k]);
		x->ns = save;
	}
	if (b.len && postbox_only(b.s, b.len)) {
		box = crm_buf_steal(&b);        /* leaves b empty */
	}
	if (!b.len) {
		int top = li;
		/* many digits make a phone line, unless they are apart
		 * ("1250, boulevard ..., bureau 2200") */
		int mid = -1;   /* a district line between the street and the city */
		while (top > 0 && li - top < 2 && (streetish(x, x->lines[top - 1], x->lens[top - 1])
		    || number_last_street(x->lines[top - 1], x->lens[top - 1])
		    || (top == li && number_first_street(x, x->lines[top - 1], x->lens[top - 1]))
		    || (top == li && top >= 2 && district_line(x, top - 1) && (mid = top - 1) >= 0))
		    && (count_digits(x->lines[top - 1], x->lens[top - 1]) < 8
		    || rx(&x->c, x->c.r->p_phone, x->lines[top - 1], x->lens[top - 1], 0) < 0)
		    && !memchr(x->lines[top - 1], '@', x->lens[top - 1]))
			top--;
		if (mid >= 0 && top == mid) {
			/* the district alone is no street */
			top = li;
			mid = -1;
		}
		for (int k = top; k < li; k++) {
			if (k == mid) {
				add_street_part(&b, x->lines[k], x->lens[k]);
				continue;
			}
			size_t save = x->ns;
			segment(x, k, x->lines[k], x->lens[k]);
			for (size_t j = save; j < x->ns; j++)
				if (street_seg(x, j, x->ns))
					add_street_seg(x, &b, &x->seg[j]);
			x->ns = save;
		}
	}
	if (box) {
		add_street_part(&b, box, strlen(box));
		free(box);
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

/* A segment that is a postal code alone: 1 a code written before the
 * city ("75008", "L-2180", "1204"), 2 one written after it ("EC4R 9AB",
 * "H3B 4W5", "D02 KV60"), 0 none. */
static int
postcode_alone(const char *s, size_t n)
{
	size_t i = 0, d = 0;
	char t[10];

	/* "L-2180", "CH-1204", "B-1050", "F-75008", "D-60311" */
	while (i < n && i < 3 && a_isupper((unsigned char)s[i]))
		i++;
	if (i && i < n && s[i] == '-')
		i++;
	else
		i = 0;
	while (i + d < n && a_isdigit((unsigned char)s[i + d]))
		d++;
	if (i + d == n && (d == 4 || d == 5))
		return 1;
	/* letters and digits, one blank at most: the UK, Canadian and Irish
	 * shapes, as A9 9AA .. AA9A 9AA, A9A 9A9, A99 A9A9 */
	size_t k = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ')
			continue;
		if (k == sizeof t || !a_isalnum((unsigned char)s[i]) || a_islower((unsigned char)s[i]))
			return 0;
		t[k++] = a_isdigit((unsigned char)s[i]) ? '9' : 'A';
	}
	if (k < 5 || k > 7 || n - k > 1)
		return 0;
	int blank_in = n > k && s[n - 4] == ' ', blank_out = n > k && s[3] == ' ';
	/* UK: an outward part, then 9AA */
	if (!strncmp(t + k - 3, "9AA", 3) && (n == k || blank_in)) {
		static const char *const out[] = { "A9", "A99", "AA9", "AA99", "A9A", "AA9A", NULL };
		for (int j = 0; out[j]; j++)
			if (strlen(out[j]) == k - 3 && !strncmp(t, out[j], k - 3))
				return 2;
	}
	t[k] = 0;
	if (!strcmp(t, "A9A9A9") && (n == k || blank_in))
		return 2;       /* Canada */
	if (k == 7 && !strncmp(t, "A99", 3) && (n == k || blank_out))
		return 2;       /* Ireland */
	return 0;
}

/* A segment that can be a city: one to four words of letters, a
 * capital first, no street word, no country. */
static int
city_alone(struct ex *x, const char *s, size_t n, unsigned not)
{
	size_t w = 1;

	if (n < 2 || n > 40 || !(a_isupper((unsigned char)s[0]) || (unsigned char)s[0] >= 0xC3))
		return 0;
	/* "Dublin 2", "Paris 8": a district number */
	if (n > 3 && a_isdigit((unsigned char)s[n - 1]) && (s[n - 2] == ' '
	    || (a_isdigit((unsigned char)s[n - 2]) && s[n - 3] == ' ')))
		n -= s[n - 2] == ' ' ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ' ')
			w++;
		else if (!(a_isalpha(ch) || ch >= 0x80 || ch == '-' || ch == '\'' || ch == '.'))
			return 0;
	}
	return w <= 4 && !lex_has(x->c.r, s, n, LX_STREET | LX_TITLE | LX_COMPANY | not);
}

/* "12 Arthur Street | London | EC4R 9AB", "47 rue X · Paris · 75008":
 * an address written in separate segments, the postal code alone in
 * one.  Rewritten into out in the order the patterns read ("street |
 * London EC4R 9AB | country", "street | 75008 Paris"); 0 when the line
 * is not so. */
static size_t
address_segments(struct ex *x, int li, char *out, size_t cap)
{
	size_t save = x->ns, pc = (size_t)-1, city = (size_t)-1, len = 0;
	int shape = 0;

	segment(x, li, x->lines[li], x->lens[li]);
	for (size_t k = save; k < x->ns && !shape; k++)
		if ((shape = postcode_alone(x->seg[k].s, x->seg[k].n)))
			pc = k;
	/* the city: the segment next to the code, before it first; a
	 * country's name only after a code that names it ("L-2180 |
	 * Luxembourg") */
	if (shape) {
		unsigned not = a_isupper((unsigned char)x->seg[pc].s[0]) && shape == 1 ? 0 : LX_COUNTRY;
		if (pc > save && city_alone(x, x->seg[pc - 1].s, x->seg[pc - 1].n, not | (shape == 1) * LX_COUNTRY))
			city = pc - 1;
		else if (pc + 1 < x->ns && city_alone(x, x->seg[pc + 1].s, x->seg[pc + 1].n, not))
			city = pc + 1;
		else
			for (size_t k = save; k < x->ns && city == (size_t)-1; k++)
				if (k != pc && city_alone(x, x->seg[k].s, x->seg[k].n, LX_COUNTRY))
					city = k;
	}
	if (city != (size_t)-1) {
		struct seg *c = &x->seg[city], *p = &x->seg[pc];
		/* the street parts first, then code and city, then the rest
		 * (a country) */
		for (int pass = 0; pass < 3; pass++)
			for (size_t k = save; k < x->ns; k++) {
				struct seg *g = &x->seg[k];
				int street = k != city && k != pc && (streetish(x, g->s, g->n)
				    || (a_isdigit((unsigned char)g->s[0]) && count_digits(g->s, g->n) <= 5));
				if ((pass == 0 && !street) || (pass == 1 && k != pc)
				    || (pass == 2 && (street || k == city || k == pc)))
					continue;
				if (len + g->n + c->n + 8 > cap) {
					len = 0;
					goto out;
				}
				if (len) {
					memcpy(out + len, " | ", 3);
					len += 3;
				}
				if (pass != 1) {
					memcpy(out + len, g->s, g->n);
					len += g->n;
					continue;
				}
				const struct seg *a = shape == 1 ? p : c, *b = shape == 1 ? c : p;
				memcpy(out + len, a->s, a->n);
				len += a->n;
				out[len++] = ' ';
				memcpy(out + len, b->s, b->n);
				len += b->n;
			}
	}
out:
	x->ns = save;
	return len;
}

static int find_address_line(struct ex *x, int li, struct crm_signature *s);
static int geography(const struct crm_sig_rules *r, const char *s, size_t n);

/* The address on line li, if any; a line of separate segments is read
 * again rewritten (address_segments()) when the patterns find nothing. */
static int
find_address(struct ex *x, int li, struct crm_signature *s)
{
	char buf[MAXLINE + 16];
	size_t n;
	const char *line = x->lines[li];
	size_t len = x->lens[li];
	int found;

	if (find_address_line(x, li, s))
		return 1;
	if (len > MAXLINE || count_digits(line, len) < 2 || !(n = address_segments(x, li, buf, sizeof buf)))
		return 0;
	x->lines[li] = buf;
	x->lens[li] = n;
	found = find_address_line(x, li, s);
	x->lines[li] = line;
	x->lens[li] = len;
	return found;
}

static int
find_address_line(struct ex *x, int li, struct crm_signature *s)
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

	/* "Hong Kong", "PO Box 506789, Dubai, UAE": a city of a country
	 * without postcodes ends the line, a street above it or before it */
	if (n <= 80 && rx(c, c->r->p_nopc_city, line, n, 0) >= 0) {
		o = ov(c);
		size_t cb = o[2], ce = o[3];
		char *f = fold(line + cb, ce - cb);
		const char *iso = NULL;
		for (size_t k = 0; k < c->r->ncities && !iso; k++)
			if (!strcmp(c->r->cities[k].key, f))
				iso = c->r->cities[k].val;
		free(f);
		/* the street: the lines above, then what the line holds
		 * before the city (a district: "Central, Hong Kong") */
		char *up = street_before(x, li, 0);
		/* "Central" alone on the line above "Hong Kong": a district */
		if (!up && li > 0 && x->lens[li - 1] <= 30 && !count_digits(x->lines[li - 1], x->lens[li - 1])
		    && city_alone(x, x->lines[li - 1], x->lens[li - 1], LX_COUNTRY | LX_LEGAL | LX_DEPT)
		    && count_words(x->lines[li - 1], x->lens[li - 1]) <= 3) {
			char *above = street_before(x, li - 1, 0);
			if (above) {
				struct crm_buf b = CRM_BUF_INIT;
				crm_buf_adds(&b, above);
				add_street_part(&b, x->lines[li - 1], x->lens[li - 1]);
				free(above);
				up = crm_buf_steal(&b);
			}
		}
		const char *pre = line;
		size_t pn = cb;
		while (pn && strchr(" ,–—-|•·", line[pn - 1]))
			pn--;
		if (pn && (pn > 80 || memchr(pre, '@', pn) || (count_words(pre, pn) > 4
		    && !count_digits(pre, pn) && !streetish(x, pre, pn))))
			pn = 0;
		if (pn) {
			struct crm_buf b = CRM_BUF_INIT;
			if (up)
				crm_buf_adds(&b, up);
			add_street_part(&b, pre, pn);
			free(up);
			up = crm_buf_steal(&b);
		}
		street = up;
		if (iso && street) {
			s->address.street = street;
			s->address.postal_code = NULL;
			s->address.city = crm_xstrndup(line + cb, ce - cb);
			s->address.country = crm_xstrdup(iso);
			set_field(s, CRM_SIG_ADDRESS, NULL, 0.7, "city-without-postcode");
			return 1;
		}
		free(street);
		street = NULL;
	}
	if (count_digits(line, n) < 2)
		return 0;
	/* which postal shapes the line can hold: digit runs of 4, 5, 6, and a
	 * letter next to a digit (UK, CA, IE codes) */
	int run4 = 0, run5 = 0, run6 = 0, mixed = 0;
	for (size_t i = 0; i < n;) {
		if (!a_isdigit((unsigned char)line[i])) {
			if (i + 1 < n && a_isalpha((unsigned char)line[i]) && a_isdigit((unsigned char)line[i + 1]))
				mixed = 1;
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && a_isdigit((unsigned char)line[j]))
			j++;
		run4 |= j - i == 4;
		run5 |= j - i == 5;
		run6 |= j - i == 6;
		if (j < n && a_isalpha((unsigned char)line[j]))
			mixed = 1;
		i = j;
	}
	if (!run4 && !run5 && !run6 && !mixed)
		return 0;
	if (run5 && rx(c, c->r->p_us_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[6], o[7] - o[6]);
		country = "US";
		at = o[2];
		rule = "us-city-state-zip";
		conf = 0.85;
	} else if (mixed && rx(c, c->r->p_ca_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "CA";
		at = o[2];
		rule = "ca-city-postcode";
		conf = 0.8;
	} else if (run4 && rx(c, c->r->p_au_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[6], o[7] - o[6]);
		country = "AU";
		at = o[2];
		rule = "au-city-state-postcode";
		conf = 0.8;
	} else if (run6 && rx(c, c->r->p_sg_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "SG";
		at = o[2];
		rule = "sg-postcode";
		conf = 0.8;
	} else if (mixed && rx(c, c->r->p_ie_city, line, n, 0) >= 0) {
		o = ov(c);
		city = crm_xstrndup(line + o[2], o[3] - o[2]);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "IE";
		at = o[2];
		rule = "ie-eircode";
		conf = 0.7;
	} else if (mixed && rx(c, c->r->p_uk_city, line, n, 0) >= 0) {
		o = ov(c);
		size_t cb = o[2], ce = o[3];
		city = crm_xstrndup(line + cb, ce - cb);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = "GB";
		at = cb;
		rule = "uk-city-postcode";
		conf = 0.8;
		if (lex_has(c->r, city, strlen(city), LX_STREET)) {
			free(city);
			free(pc);
			return 0;
		}
		/* "St Helier, Jersey JE4 8QP": the island is the country, the
		 * town before it the city */
		const char *isle = country_code(x, city, strlen(city));
		if (isle && geography(c->r, city, strlen(city)) && cb >= 3 && line[cb - 2] == ',') {
			size_t e2 = cb - 2, b2 = e2;
			while (b2 > 0 && line[b2 - 1] != ',' && line[b2 - 1] != '|' && (unsigned char)line[b2 - 1] != 0xE2
			    && (unsigned char)line[b2 - 1] != 0xB7)
				b2--;
			while (b2 < e2 && line[b2] == ' ')
				b2++;
			/* a town, "St" in it a saint ("St Peter Port") */
			if (e2 > b2 && a_isupper((unsigned char)line[b2]) && count_digits(line + b2, e2 - b2) == 0
			    && count_words(line + b2, e2 - b2) <= 4) {
				free(city);
				city = crm_xstrndup(line + b2, e2 - b2);
				country = isle;
				at = b2;
			}
		}
	} else if ((run4 || run5) && rx(c, c->r->p_fr_city, line, n, 0) >= 0) {
		o = ov(c);
		char prefix[4] = "";
		if (o[2] != PCRE2_UNSET && o[3] - o[2] < sizeof prefix)
			memcpy(prefix, line + o[2], o[3] - o[2]), prefix[o[3] - o[2]] = 0;
		size_t digits = count_digits(line + o[4], o[5] - o[4]);
		int nl_code = o[5] - o[4] > digits;     /* "1017 CA" */
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		city = clean_city(line + o[6], o[7] - o[6]);
		at = o[0];
		/* "1250 Connecticut Ave": a street, not a city */
		if (lex_has(c->r, city, strlen(city), LX_STREET)) {
			free(city);
			free(pc);
			return 0;
		}
		const char *cn = country_code(x, line + o[7], n - o[7]);
		if (!cn && li + 1 < (int)x->nl)
			cn = country_code(x, x->lines[li + 1], x->lens[li + 1]);
		country = cn ? cn : nl_code ? "NL" : postal_country(x, prefix[0] ? prefix : NULL, digits);
		if (!country) {
			free(city);
			free(pc);
			return 0;
		}
		rule = digits == 5 ? "postal-code-city" : "postal-code-city-4";
		conf = digits == 5 ? 0.85 : 0.8;
	} else if (run5 && rx(c, c->r->p_pc_after_city, line, n, 0) >= 0) {
		/* "5 place de Bretagne, Rennes 35000": the postcode after the
		 * city ends the line; only with a street before it */
		o = ov(c);
		size_t cb = o[2], ce = o[3];
		if (lex_has(c->r, line + cb, ce - cb, LX_STREET | LX_TITLE | LX_COMPANY | LX_LEGAL)
		    || !(street = street_before(x, li, cb)) || !count_digits(street, strlen(street))) {
			free(street);
			return 0;
		}
		free(street);
		street = NULL;
		city = clean_city(line + cb, ce - cb);
		pc = crm_xstrndup(line + o[4], o[5] - o[4]);
		country = postal_country(x, NULL, 5);
		/* "New York 10018", "PA 17013": only where the sender's
		 * domain or a country line says the country, and the
		 * numbers do not say another */
		if (!country || (x->region[0] && strcmp(x->region, country))
		    || (strcmp(country, x->c.tld_region) && strcmp(country, x->addr_country))) {
			free(city);
			free(pc);
			return 0;
		}
		at = cb;
		rule = "city-postal-code";
		conf = 0.8;
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

/* Is a segment of the postal line part of the address found on it?
 * "Director | Harris IFA Ltd | 3 Market Place · Leeds · LS1 6DT": the
 * title and the firm beside the address are not. */
static int
address_part(struct ex *x, const struct seg *g, const struct crm_sig_address *a)
{
	if (count_digits(g->s, g->n) || streetish(x, g->s, g->n) || country_code(x, g->s, g->n))
		return 1;
	if (a->city && memmem(g->s, g->n, a->city, strlen(a->city)))
		return 1;
	if (a->street && memmem(a->street, strlen(a->street), g->s, g->n))
		return 1;
	/* "Nicolas Ferreira | Associé | Firm | 45 cours Pasteur, 33000
	 * Bordeaux": the sender's name before the address is not part of it */
	size_t f, l;
	if (name_match(&x->c, g->s, g->n, &f, &l) >= 2)
		return 0;
	/* a segment that does not look like a title or a firm: as before */
	return !(lex_has(x->c.r, g->s, g->n, LX_TITLE | LX_COMPANY | LX_LEGAL));
}

static const struct lexhit *
seg_lex(const struct crm_sig_rules *r, struct seg *g)
{
	if (!g->lex_done) {
		lex_scan(r, g->s, g->n, &g->lex);
		g->lex_done = 1;
	}
	return &g->lex;
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
			if (wl > 2 && (w[1] == '\'' || (wl > 4 && !memcmp(w + 1, "’", 3)))) {
				size_t skip = w[1] == '\'' ? 2 : 4;
				w += skip;
				wl -= skip;
			}
			words++;
			if (wl && (a_isupper((unsigned char)w[0]) || a_isdigit((unsigned char)w[0])))
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
		while (*p && !a_isalnum((unsigned char)*p))
			p++;
		if (!*p)
			break;
		char *b = p;
		while (*p && a_isalnum((unsigned char)*p))
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
		/* ... unless the domain opens on the initials of the name's
		 * first words and goes on with a word of it: "cmmidi" for
		 * "Crédit Mutualiste du Midi" */
		if (!best && pos == 0) {
			size_t k = 0;
			while (k < nt && k < dl && tok[k][0] == d[k])
				k++;
			size_t tl = 0;
			for (i = k; k >= 2 && i < nt; i++) {
				size_t l = strlen(tok[i]);
				if (l >= 3 && l <= dl - k && !strncmp(d + k, tok[i], l) && l > tl)
					tl = l;
			}
			if (k < 2 || !tl)
				break;
			pos = k;
			continue;
		}
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

/* "Notaires associés", "Conseil patrimonial": a trade, every word of
 * three letters or more a firm word.  A sender's domain that spells a
 * part of it (notaires-flandres.fr) names the firm elsewhere. */
static int
trade_only(const struct crm_sig_rules *r, const char *s, size_t n)
{
	size_t i = 0, words = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == ','))
			i++;
		size_t j = i;
		while (j < n && s[j] != ' ' && s[j] != ',')
			j++;
		if (j - i >= 3) {
			if (!lex_has(r, s + i, j - i, LX_COMPANY))
				return 0;
			words++;
		}
		i = j;
	}
	return words > 0;
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
	/* a quotation is no firm, nor a copyright line ("©2002 Example, Inc.") */
	if (memchr(g->s, '"', g->n) || memmem(g->s, g->n, "«", 2) || memmem(g->s, g->n, "“", 3)
	    || memmem(g->s, g->n, "©", 2))
		return 0;
	if ((cover = domain_cover(c, g->s, g->n)) >= 0.5 && (cover >= 1 || !trade_only(c->r, g->s, g->n))) {
		sc += 3;
		evid = 1;
		*why = "sender-domain-match";
	}
	const struct lexhit *hp = seg_lex(c->r, g);
	unsigned lf = hp->flags;
	/* "Inc." cut from "Database Services, Inc.": a legal form alone
	 * names no firm */
	if ((lf & LX_LEGAL) && hp->ntok == 1 && cover < 0.5)
		return 0;
	if (lf & LX_LEGAL) {
		sc += 2;
		if (!evid)
			*why = "legal-form";
		evid = 1;
	}
	if (lf & LX_COMPANY) {
		sc += 1;
		evid = 1;
		/* "Company", "Conseil" alone: a firm word needs a name beside it */
		if (hp->ntok == 1 && cover < 0.5)
			return 0;
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

/* Is host (a website "host[/path]" or a mail domain) the sender's own
 * domain or a subdomain of it, or the other way round? */
static int
same_site(const struct ctx *c, const char *host)
{
	size_t hl = strcspn(host, "/"), dl;
	if (!c->domain || c->webmail)
		return 0;
	dl = strlen(c->domain);
	if (hl == dl)
		return !strncasecmp(host, c->domain, hl);
	if (hl > dl)
		return host[hl - dl - 1] == '.' && !strncasecmp(host + hl - dl, c->domain, dl);
	return c->domain[dl - hl - 1] == '.' && !strncasecmp(c->domain + dl - hl, host, hl);
}

/* Title-case a domain label for the fallback company: "groupe-kalis" ->
 * "Groupe Kalis"; a part of two or three letters is an acronym
 * ("amc-assurances" -> "AMC Assurances", "ct.fr" -> "CT"), except the
 * small words of a name ("banque-de-savoie").  The label is the one
 * ctx_domain() keeps (public suffix and co/com/org/ac/gov dropped).
 * *acronym is set when the whole label is one. */
static char *
company_from_domain(struct ctx *c, int *acronym)
{
	static const char *const small[] = { "de", "du", "des", "la", "le", "les", "et", "en",
		"au", "aux", "of", "the", "and", "for", "von", "van", "der", "den", "di", "da",
		"del", "y", NULL };
	char *d, *dot, *out;

	*acronym = 0;
	if (!c->domain || c->webmail)
		return NULL;
	d = crm_xstrdup(c->domain);
	if ((dot = strrchr(d, '.')))
		*dot = 0;
	if ((dot = strrchr(d, '.')) && (!strcmp(dot + 1, "co") || !strcmp(dot + 1, "com")
	    || !strcmp(dot + 1, "org") || !strcmp(dot + 1, "ac") || !strcmp(dot + 1, "gov")))
		*dot = 0;
	if ((dot = strrchr(d, '.')))
		memmove(d, dot + 1, strlen(dot + 1) + 1);
	out = d;
	for (char *p = out; *p;) {
		size_t n = strcspn(p, "-_"), k;
		int up = n >= 2 && n <= 3, word = 0;
		for (k = 0; up && k < n; k++)
			up = a_isalpha((unsigned char)p[k]);
		for (k = 0; up && small[k]; k++)
			if (strlen(small[k]) == n && !strncmp(p, small[k], n))
				up = 0, word = 1;
		for (k = 0; k < n; k++)
			if (up || (k == 0 && (!word || p == out)))
				p[k] = (char)a_upper((unsigned char)p[k]);
		if (strlen(out) <= 3)
			*acronym = 1;
		p += n;
		if (*p)
			*p++ = ' ';
	}
	/* "kingsbridge-fo", "lefort-am": the usual abbreviations of a
	 * firm's trade at the end of its domain are written out */
	static const char *const trade[][2] = { { "FO", "Family Office" },
		{ "AM", "Asset Management" }, { "WM", "Wealth Management" } };
	char *sp = strrchr(out, ' ');
	for (size_t k = 0; sp && k < sizeof trade / sizeof trade[0]; k++)
		if (!strcmp(sp + 1, trade[k][0])) {
			struct crm_buf b = CRM_BUF_INIT;
			crm_buf_add(&b, out, (size_t)(sp + 1 - out));
			crm_buf_adds(&b, trade[k][1]);
			free(out);
			out = crm_buf_steal(&b);
			break;
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
	if (k == 2 && w[0][strlen(w[0]) - 1] == ',') {
		/* "Ryan, Shane": the surname first, said by the comma */
		char *t = w[0];
		t[strlen(t) - 1] = 0;
		memmove(w, w + 1, (k - 1) * sizeof *w);
		w[k - 1] = t;
	} else if (k >= 2) {
		int upper0 = 1, upper1 = 1;
		for (char *p = w[0]; *p; p++)
			if (a_islower((unsigned char)*p))
				upper0 = 0;
		for (char *p = w[1]; *p; p++)
			if (a_islower((unsigned char)*p))
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

/* A word's case: 2 all capitals (two letters or more, none small:
 * "BERNARD", "BÉRANGER"), 1 capitalised ("Sophie", "Jean-Marc"), 0
 * anything else. */
static int
word_case(const char *s, size_t n)
{
	size_t i = 0, letters = 0, lower = 0;
	int first_up = -1;

	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0)
			return 0;
		i += (size_t)k;
		int up = cp < 0x80 ? a_isupper(cp) : utf8proc_isupper(cp);
		int low = cp < 0x80 ? a_islower(cp) : utf8proc_islower(cp);
		if (!up && !low)
			continue;
		if (first_up < 0)
			first_up = up;
		letters++;
		lower += low;
	}
	if (letters >= 2 && !lower)
		return 2;
	return first_up == 1 ? 1 : 0;
}

#define MAXNAMEW 8

/* The words of a written name (blanks and commas between them). */
static size_t
name_words(const char *s, size_t n, const char **w, size_t *wl)
{
	size_t k = 0, i = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		size_t j = i;
		while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != ',')
			j++;
		if (j == i)
			break;
		if (k == MAXNAMEW)
			return 0;
		w[k] = s + i;
		wl[k++] = j - i;
		i = j;
	}
	return k;
}

/* Is the word the signer's first name?  The From name's first word
 * (when the From name is written first-last), the address's first part
 * ("sophie" of sophie.bernard@), or a first name of the gazetteer. */
static int
first_name(struct ctx *c, const char *w, size_t n)
{
	char f[64];
	size_t fl = fold_buf(w, n, f, sizeof f);
	struct lexhit h;
	const char *fn = c->in->from_name, *e = c->in->from_email;

	if (fn && c->from_display) {
		while (*fn == ' ' || *fn == '"')
			fn++;
		size_t k = strcspn(fn, " \t\"");
		char g[64];
		if (word_case(fn, k) == 1 && fold_buf(fn, k, g, sizeof g) == fl && !memcmp(f, g, fl))
			return 1;
	}
	if (e && !strncasecmp(e, f, fl) && e[fl] && strchr("._-", e[fl]) && fl >= 2
	    && word_case(w, n) == 1 && !memchr(w, '.', n))
		return 1;
	return (lex_scan(c->r, w, n, &h) & LX_FIRST) != 0;
}

/* The name as written, in first-last order: "BERNARD Sophie" (the
 * surname in capitals first, a French habit) becomes "Sophie BERNARD",
 * "Bernard, Sophie" (the comma says the surname came first) "Sophie
 * Bernard"; only when the word moved first is the signer's first name
 * (first_name()): "AJ McKee", "EIN News" stay.  *moved is set when the
 * order changed. */
static char *
name_in_order(struct ctx *c, const char *s, size_t n, int *moved)
{
	const char *w[MAXNAMEW], *comma = memchr(s, ',', n);
	size_t wl[MAXNAMEW], k, caps = 0;
	struct crm_buf b = CRM_BUF_INIT;

	*moved = 0;
	if (comma) {
		const char *a = s, *z = comma + 1;
		size_t an = (size_t)(comma - s), zn = n - an - 1;
		trim(&a, &an);
		trim(&z, &zn);
		if (!an || !zn || memchr(z, ',', zn) || name_words(a, an, w, wl) > 3
		    || name_words(z, zn, w, wl) != 1 || !first_name(c, z, zn))
			return crm_xstrndup(s, n);
		crm_buf_add(&b, z, zn);
		crm_buf_addc(&b, ' ');
		crm_buf_add(&b, a, an);
		*moved = 1;
		return crm_buf_steal(&b);
	}
	/* SURNAME words (no initials: "B.K."), then one first name */
	k = name_words(s, n, w, wl);
	while (caps < k && word_case(w[caps], wl[caps]) == 2 && !memchr(w[caps], '.', wl[caps]))
		caps++;
	if (k < 2 || caps != k - 1 || word_case(w[caps], wl[caps]) != 1
	    || !first_name(c, w[caps], wl[caps]))
		return crm_xstrndup(s, n);
	crm_buf_add(&b, w[caps], wl[caps]);
	for (size_t j = 0; j < caps; j++) {
		crm_buf_addc(&b, ' ');
		crm_buf_add(&b, w[j], wl[j]);
	}
	*moved = 1;
	return crm_buf_steal(&b);
}

/* A name line without its honorifics and letters: "Maître Édouard
 * Fournier" -> "Édouard Fournier", "Jane Doe, CFA" -> "Jane Doe". */
static void
strip_affixes(const struct crm_sig_rules *r, const char **s, size_t *n)
{
	const char *w[MAXNAMEW];
	size_t wl[MAXNAMEW], k = name_words(*s, *n, w, wl), b = 0, e = k;
	char f[64];

	while (b + 1 < e) {
		fold_buf(w[b], wl[b], f, sizeof f);
		if (!has_affix(r, f, 0))
			break;
		b++;
	}
	while (e > b + 1) {
		fold_buf(w[e - 1], wl[e - 1], f, sizeof f);
		if (!has_affix(r, f, 1))
			break;
		e--;
	}
	if (k && (b > 0 || e < k)) {
		*n = (size_t)(w[e - 1] + wl[e - 1] - w[b]);
		*s = w[b];
	}
	if (k && wl[e - 1] > 2 && (*s)[*n - 1] == '.' && !memchr(w[e - 1], '.', wl[e - 1] - 1))
		(*n)--;             /* "Jane Doe." */
}

static void
find_name(struct ex *x, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	int best = 0, bline = -1;
	size_t bf = 0, bl = 0;

	ctx_names(c);
	x->name_line = -1;
	for (size_t i = 0; i < x->ns; i++) {
		struct seg *g = &x->seg[i];
		size_t f, l;
		int m;
		if (g->kind & (S_EMAIL | S_WEB | S_ADDR))
			continue;
		/* "Marc (06 14 27 83 90)": the name before the number */
		size_t gn = g->kind & S_PHONE ? name_then_number(c, g->s, g->n) : g->n;
		if (!gn)
			continue;
		m = name_match(c, g->s, gn, &f, &l);
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
		int moved;
		char *nm = name_in_order(c, g->s + bf, bl - bf, &moved);
		set_field(s, CRM_SIG_NAME, nm, moved ? 0.93 : 0.97, moved ? "surname-first-reordered"
		    : c->from_display ? "sender-name-written" : "sender-address-name");
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
			t->lex_done = 0;
			t->obf_b = t->obf_e = 0;
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
			const char *ns = g->s;
			size_t nn = g->n;
			int moved;
			strip_affixes(c->r, &ns, &nn);
			set_field(s, CRM_SIG_NAME, name_in_order(c, ns, nn, &moved), 0.6, "person-shaped-line");
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
		t.lex_done = 0;
		if (company_score(x, &t, &why) >= 3 && !(seg_lex(c->r, &t)->flags & LX_TITLE)) {
			struct seg left = *g;
			left.n = (size_t)(comma - g->s);
			left.lex_done = 0;
			/* "Hudson River Bank, N.A.": the comma is inside the name */
			if (company_score(x, &left, &why) >= 2)
				continue;
			g->n = left.n;
			g->lex_done = 0;
			t.sep_before = 0;
			x->seg[x->ns++] = t;
		}
	}
}

/* Is the whole text a region or a country ("EMEA", "Suisse romande",
 * "France")? */
static int
geography(const struct crm_sig_rules *r, const char *s, size_t n)
{
	struct tok t[8];
	char key[128];
	size_t nt = tokenize(s, n, t, 8), kl = 0;
	uint64_t h = FNV_BASIS;

	if (!nt || nt > 4)
		return 0;
	for (size_t i = 0; i < nt; i++) {
		if (kl + t[i].fl + 2 >= sizeof key)
			return 0;
		if (i) {
			key[kl++] = ' ';
			h = (h ^ ' ') * FNV_PRIME;
		}
		memcpy(key + kl, t[i].f, t[i].fl);
		kl += t[i].fl;
		h = fnv_more(h, t[i].f, t[i].fl);
	}
	struct lexent *e = lex_find(r, key, kl, h);
	return e && (e->flags & (LX_REGION | LX_COUNTRY));
}

/* A team or a department ("Service Clients", "Pôle Partenaires",
 * "Customer Relations Team"), not a title, a firm nor a person: a
 * department word, no title word, no legal form, not the sender's
 * domain. */
static int
dept_seg(struct ex *x, struct seg *g)
{
	unsigned lf = seg_lex(x->c.r, g)->flags;
	return (lf & LX_DEPT) && !(lf & (LX_TITLE | LX_LEGAL | LX_COMPANY)) && domain_cover(&x->c, g->s, g->n) < 0.5;
}

/* "Partner – Fund Distribution", "Executive Director – Wealth
 * Solutions": a business line in title case after a dash (the firm
 * printed on a line of its own) is part of the title, unless it is the
 * sender's name or a word in capitals ("KPMG", "PARIS") */
static int
title_case_qualifier(struct ctx *c, const char *s, size_t n)
{
	size_t f0, l0, lower = 0;
	for (size_t i = 0; i < n; i++)
		lower += a_islower((unsigned char)s[i]) != 0;
	return lower >= 2 && !name_match(c, s, n, &f0, &l0);
}

/* Does the title end on a word that asks for more ("Directeur du",
 * "Head of", "Responsable Conformité et")? */
static int
title_open_end(const char *s, size_t n)
{
	static const char *const w[] = { "de", "du", "des", "d'", "la", "le", "les", "l'", "au", "aux",
		"of", "the", "and", "&", "et", "for", "en", "à", "-", "–", NULL };
	while (n && s[n - 1] == ' ')
		n--;
	size_t b = n;
	while (b && s[b - 1] != ' ')
		b--;
	for (int k = 0; w[k]; k++)
		if (strlen(w[k]) == n - b && !strncasecmp(s + b, w[k], n - b))
			return 1;
	return n - b >= 2 && (!strncmp(s + n - 2, "d'", 2) || (n - b >= 4 && !strncmp(s + n - 4, "d’", 4)));
}

/* A title printed on two lines ("Directeur du Développement" /
 * "Clientèle Privée"): the line after the title's is its end when it is
 * alone on its line, a few capitalised words that no lexicon knows (no
 * title, firm, street, place, team, notice), not the sender's name nor
 * domain; and either the title line asks for more, or the firm's line
 * comes right after it. */
static struct seg *
title_continuation(struct ex *x, struct seg *g, int cseg)
{
	struct ctx *c = &x->c;
	struct seg *q = NULL;
	size_t on_line = 0, next = 0, f0, l0;
	const char *why;

	for (size_t i = 0; i < x->ns; i++) {
		if (x->seg[i].line == g->line)
			on_line++;
		else if (x->seg[i].line == g->line + 1) {
			next++;
			q = &x->seg[i];
		}
	}
	if (on_line != 1 || next != 1 || q->kind || q->n > 50 || count_digits(q->s, q->n))
		return NULL;
	size_t w = count_words(q->s, q->n);
	unsigned char q0 = (unsigned char)q->s[0];
	if (w < 1 || w > 4 || !(a_isupper(q0) || q0 >= 0xC3) || capital_ratio(q->s, q->n) < 0.75
	    || memchr(q->s, '@', q->n) || memchr(q->s, ':', q->n))
		return NULL;
	/* after "Directeur de la", firm words may end the title ("Gestion
	 * Privée"), but not a legal form or the sender's domain */
	int open = title_open_end(g->s, g->n);
	if (seg_lex(c->r, q)->flags & (LX_TITLE | LX_LEGAL | LX_STREET | LX_COUNTRY
	    | LX_DEPT | LX_DISC_CUE | LX_DISC_SHORT | (open ? 0 : LX_COMPANY)))
		return NULL;
	if ((open ? domain_cover(c, q->s, q->n) >= 0.5 : company_score(x, q, &why) > 0)
	    || name_match(c, q->s, q->n, &f0, &l0) || closing_line(c, q->s, q->n))
		return NULL;
	/* a slogan is no title's end: "Investing For Generations", "Votre
	 * Patrimoine Notre Métier" */
	static const char *const own[] = { "your ", "our ", "votre ", "notre ", "vos ", "nos ",
		"we ", "nous ", NULL };
	for (int k = 0; own[k]; k++)
		if (!strncasecmp(q->s, own[k], strlen(own[k])))
			return NULL;
	for (size_t i = 0; i + 3 <= q->n; i++)
		if (!strncasecmp(q->s + i, "ing", 3) && i >= 3 && (i + 3 == q->n || q->s[i + 3] == ' '))
			return NULL;
	if (open)
		return q;
	/* a title of one word ("Founder") is whole; "Directeur du
	 * Développement" may go on, when the firm's line follows */
	if (count_words(g->s, g->n) >= 2 && cseg >= 0 && x->seg[cseg].line == q->line + 1)
		return q;
	return NULL;
}

/* The next word of s[*i..n), words being separated by spaces: 1 with
 * *i at its first byte and its length in *wl, or 0 at the end.  The
 * caller moves *i past the word (*i += *wl) before the next call. */
static int
space_word(const char *s, size_t n, size_t *i, size_t *wl)
{
	size_t b = *i, e;

	while (b < n && s[b] == ' ')
		b++;
	for (e = b; e < n && s[e] != ' '; e++)
		;
	*i = b;
	*wl = e - b;
	return e > b;
}

/* Is a would-be title a sentence, a slogan or a motto rather than a
 * job ("I cannot determine if ...", "We make it work!", "FOR MORE
 * INFORMATION PLEASE GO TO", "Linux Zealot, Conservative, and
 * Technomad")?  After the name with no title word (after_name), also a
 * line in lower case first, in capitals of three words or more, ending
 * on a full stop, a colon or a word that asks for more. */
static int
title_sentence(const char *s, size_t n, int after_name)
{
	static const char *const pron[] = { "we", "you", "your", "my", "our", "us", "je", "nous",
		"vous", "votre", "notre", NULL };
	size_t words = 0, caps = 0, lower = 0, i = 0;
	const char *lastw = s;
	size_t lastl = 0;

	while (n && (s[n - 1] == ' ' || s[n - 1] == ','))
		n--;
	if (!n)
		return 1;
	if (memchr(s, '!', n) || memchr(s, '?', n) || memchr(s, '$', n) || memmem(s, n, "==", 2)
	    || memmem(s, n, ", and ", 6) || memmem(s, n, ", et ", 5) || (n >= 3 && !memcmp(s + n - 3, "...", 3))
	    || s[n - 1] == ':')
		return 1;
	size_t wl;
	while (space_word(s, n, &i, &wl)) {
		size_t j = i + wl;
		words++;
		if (wl == 1 && s[i] == 'I')
			return 1;
		for (int k = 0; pron[k]; k++)
			if (strlen(pron[k]) == wl && !strncasecmp(s + i, pron[k], wl))
				return 1;
		/* "ONLY. NOT INTENDED": a full stop after a word inside */
		if (j < n && wl >= 5 && s[j - 1] == '.' && a_isupper((unsigned char)s[j + 1]))
			return 1;
		int up = 0, lo = 0;
		for (size_t k = i; k < j; k++) {
			up |= a_isupper((unsigned char)s[k]);
			lo |= a_islower((unsigned char)s[k]);
		}
		caps += up && !lo && wl >= 2;
		lower += lo;
		lastw = s + i;
		lastl = wl;
		i = j;
	}
	if (words > 9)
		return 1;
	/* "... University of Edinburgh.", "invisible.": a sentence's end,
	 * not an abbreviation ("Ph.D.", "Etc.", "Sr.") */
	if (s[n - 1] == '.' && lastl >= 5 && !memchr(lastw, '.', lastl - 1))
		return 1;
	unsigned char c0 = (unsigned char)s[0];
	/* "executive director Dr. Yaron Brook is available for" */
	if (words >= 6 && (a_islower(c0) || title_open_end(s, n)))
		return 1;
	if (!after_name)
		return 0;
	if (a_islower(c0) || s[n - 1] == '.')
		return 1;
	if (words >= 3 && caps == words)
		return 1;
	return title_open_end(s, n);
}

/* "Le Responsable middle-office,", "La Directrice générale,": a formal
 * letter signs with the article before the title; the length of the
 * article to leave out, or 0.  The title word must follow it at once. */
static size_t
letter_article(const struct crm_sig_rules *r, struct seg *g)
{
	static const char *const art[] = { "Le ", "La ", "L'", "L’", NULL };

	for (int k = 0; art[k]; k++) {
		size_t a = strlen(art[k]);
		if (g->n > a && !strncmp(g->s, art[k], a) && seg_lex(r, g)->title_tok == 1)
			return a;
	}
	return 0;
}

/* Is a (two to eight capitals) the acronym of s, the initials of its
 * capitalised words ("MGSP" of "Mutuelle Générale des Services
 * Publics", "CRPI" of "Caisse de Retraite des Professions
 * Indépendantes"); small words ("des", "de", "&") are skipped. */
static int
acronym_of(const char *a, size_t an, const char *s, size_t n)
{
	char init[16], fa[40];
	size_t k = 0, i = 0;

	if (an < 2 || an > 8 || word_case(a, an) != 2 || count_words(a, an) != 1)
		return 0;
	for (size_t j = 0; j < an; j++)
		if (!a_isupper((unsigned char)a[j]))
			return 0;
	size_t wl;
	while (space_word(s, n, &i, &wl)) {
		size_t j = i + wl;
		if (word_case(s + i, wl) >= 1) {
			char f[32];
			size_t cl = crm_utf8_seqlen((const unsigned char *)s + i, j - i);
			if (k >= an || fold_buf(s + i, cl, f, sizeof f) < 1)
				return 0;
			init[k++] = f[0];
		}
		i = j;
	}
	if (k != an)
		return 0;
	fold_buf(a, an, fa, sizeof fa);
	return !memcmp(init, fa, an);
}

/* "MGSP – Mutuelle Générale des Services Publics": a firm printed as its
 * acronym and, after a dash on the same line, the words it stands for
 * (or the other way round) is one name; the index of the other part, or
 * -1. */
static int
firm_expansion(struct ex *x, int cseg)
{
	const struct seg *g = &x->seg[cseg];

	if ((size_t)cseg + 1 < x->ns) {
		const struct seg *q = &x->seg[cseg + 1];
		if (q->line == g->line && q->sep_before && !q->kind
		    && (acronym_of(g->s, g->n, q->s, q->n) || acronym_of(q->s, q->n, g->s, g->n)))
			return cseg + 1;
	}
	if (cseg > 0 && g->sep_before) {
		const struct seg *q = &x->seg[cseg - 1];
		if (q->line == g->line && !q->kind
		    && (acronym_of(g->s, g->n, q->s, q->n) || acronym_of(q->s, q->n, g->s, g->n)))
			return cseg - 1;
	}
	return -1;
}

static void
find_title_company(struct ex *x, struct crm_signature *s)
{
	struct ctx *c = &x->c;
	int tseg = -1, cseg = -1, name_seg = -1, tnear = -1;
	double best = 0;
	const char *cwhy = NULL, *trule = "title-lexicon";

	split_title_firm(x);
	for (size_t i = 0; i < x->ns; i++) {
		struct seg *g = &x->seg[i];
		if (g->kind & S_NAME && name_seg < 0)
			name_seg = (int)i;
		if (g->kind || g->n > 80)
			continue;
		const struct lexhit *h = seg_lex(c->r, g);
		unsigned lf = h->flags;
		if ((lf & (LX_DISC_CUE | LX_DISC_SHORT)) || closing_line(c, g->s, g->n))
			continue;
		if (dept_seg(x, g)) {
			g->kind = S_SKIP;
			continue;
		}
		int th = (lf & LX_TITLE) != 0;
		size_t toff = th && h->title_tok > 0;
		const char *why;
		double cs = company_score(x, g, &why);
		if (th && !(cs >= 3 && toff > 0)) {
			g->kind = S_TITLE;
			if (tseg < 0 && count_digits(g->s, g->n) == 0)
				tseg = (int)i;
			/* the title nearest below the name: "P/o Philippe
			 * Arnaud, Président" above an assistant's name is the
			 * boss's */
			if (count_digits(g->s, g->n) == 0 && x->name_line >= 0 && g->line >= x->name_line
			    && (tnear < 0 || g->line < x->seg[tnear].line))
				tnear = (int)i;
			continue;
		}
		/* a firm needs its own evidence: the sender's domain, a legal
		 * form, or a firm word in a capitalised name */
		if (!strcmp(why, "company-lexicon") && cs < 2)
			continue;
		/* "Gestion d'actifs Mont-Royal inc. | Mont-Royal Asset
		 * Management Inc.": a firm with its legal form right after
		 * another on the same line is its translation; the first
		 * form is kept, as of a bilingual title */
		if (cseg >= 0 && cseg == (int)i - 1 && x->seg[cseg].line == g->line && (lf & LX_LEGAL)
		    && (seg_lex(c->r, &x->seg[cseg])->flags & LX_LEGAL))
			continue;
		if (cs > best) {
			best = cs;
			cseg = (int)i;
			cwhy = why;
		}
	}
	if (tnear >= 0)
		tseg = tnear;
	/* no title word: the part right after the name ("Sales Structurer") */
	if (tseg < 0 && name_seg >= 0 && (size_t)name_seg + 1 < x->ns) {
		struct seg *g = &x->seg[name_seg + 1];
		unsigned char g0 = (unsigned char)g->s[0];
		/* a title starts with a letter, or "(" ("--DeathToSpam--",
		 * "-----BEGIN PGP SIGNATURE-----" do not) */
		if (!g->kind && (a_isalpha(g0) || g0 >= 0xC3 || g0 == '(') && (int)(name_seg + 1) != cseg
		    && g->line <= x->seg[name_seg].line + 1
		    && count_digits(g->s, g->n) == 0 && count_words(g->s, g->n) <= 6 && g->n <= 60
		    && !memchr(g->s, '@', g->n)
		    && !(seg_lex(c->r, g)->flags & (LX_COUNTRY | LX_STREET | LX_DISC_CUE | LX_DISC_SHORT))
		    && !closing_line(c, g->s, g->n) && count_letter_words(g->s, g->n) >= 1) {
			size_t f0, l0;
			if (!name_match(c, g->s, g->n, &f0, &l0)) {
				tseg = name_seg + 1;
				trule = "after-name";
			}
		}
	}
	if (tseg >= 0 && title_sentence(x->seg[tseg].s, x->seg[tseg].n, !strcmp(trule, "after-name")))
		tseg = -1;
	if (tseg >= 0 && s->field[CRM_SIG_NAME]) {
		struct seg *g = &x->seg[tseg];
		struct crm_buf b = CRM_BUF_INIT;
		size_t art = letter_article(c->r, g), tn = g->n - art;
		while (art && tn && g->s[art + tn - 1] == ',')
			tn--;   /* "Le Responsable middle-office," */
		crm_buf_add(&b, g->s + art, tn);
		/* "Senior Portfolio Manager - EM Debt": a short unclassified
		 * qualifier after " - " belongs to the title; so does a region
		 * or a country after any dash ("Head of Sales – Europe") */
		if ((size_t)tseg + 1 < x->ns) {
			struct seg *q = &x->seg[tseg + 1];
			const char *why;
			if (q->line == g->line && q->sep_before && !q->kind && count_words(q->s, q->n) <= 3
			    && count_digits(q->s, q->n) == 0 && ((q->sep_before == 1
			    && company_score(x, q, &why) <= 0) || geography(c->r, q->s, q->n))) {
				crm_buf_adds(&b, q->sep_before == 1 ? " - " : q->sep_before == 2 ? " – " : " — ");
				crm_buf_add(&b, q->s, q->n);
				q->kind = S_TITLE;
			} else if (q->line == g->line && q->sep_before && count_words(q->s, q->n) <= 5
			    && count_digits(q->s, q->n) == 0 && (!q->kind || q->kind == S_TITLE
			    || q->kind == S_SKIP) && (dept_seg(x, q) || (q->kind == S_TITLE
			    && company_score(x, q, &why) <= 0) || ((!q->kind || q->kind == S_TITLE) && tseg + 1 != cseg
			    && cseg >= 0 && x->seg[cseg].line != g->line && count_words(q->s, q->n) <= 3
			    && !(seg_lex(c->r, q)->flags & (LX_LEGAL | LX_STREET | LX_COUNTRY))
			    && domain_cover(c, q->s, q->n) < 0.5 && (capital_ratio(q->s, q->n) < 0.75 || title_case_qualifier(c, q->s, q->n))))) {
				/* ... and "Directrice adjointe – Clientèle privée",
				 * "Chargée de mission – Expertise comptable": a field
				 * in lower case after a dash, the firm on a line of its
				 * own */
				/* "Assistante administrative – Service Comptabilité",
				 * "Expert-comptable – Commissaire aux comptes": a team
				 * or a second title after a dash */
				crm_buf_adds(&b, q->sep_before == 1 ? " - " : q->sep_before == 2 ? " – " : " — ");
				crm_buf_add(&b, q->s, q->n);
				q->kind = S_TITLE;
			}
		}
		if (!strcmp(trule, "title-lexicon")) {
			struct seg *q = title_continuation(x, g, cseg);
			if (q) {
				crm_buf_addc(&b, ' ');
				crm_buf_add(&b, q->s, q->n);
				q->kind = S_TITLE;
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
		/* "Cabinet Lumen, 06 12 34 56 78": a number after the firm's
		 * comma on a one-line signature is no part of the firm */
		for (size_t k = n; k > 2; k--)
			if (p[k - 2] == ',' && p[k - 1] == ' ') {
				if (count_digits(p + k, n - k) >= 8 && count_letter_words(p + k, n - k) <= 1) {
					n = k - 2;
					while (n && strchr(",;: ", p[n - 1]))
						n--;
				}
				break;
			}
		int other = firm_expansion(x, cseg);
		if (other >= 0) {
			/* the acronym and its words, from the first printed to
			 * the end of the second */
			struct seg *a = &x->seg[other < cseg ? other : cseg];
			struct seg *z = &x->seg[other < cseg ? cseg : other];
			p = a->s;
			n = (size_t)(z->s + z->n - a->s);
			while (n && strchr(",;:", p[n - 1]))
				n--;
			x->seg[other].kind = S_COMPANY;
		}
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
		double conf = p->possible ? 0.8 : p->region_guessed ? 0.85 : p->label == PH_MAIN ? 0.85 : 0.95;
		set_field(s, CRM_SIG_PHONE, crm_xstrdup(p->e164), conf,
		    p->possible ? "possible-number" : p->label == PH_DIRECT ? "direct-line" : p->label == PH_MAIN ? "main-number"
		    : p->type == CRM_PHONE_FIXED_OR_MOBILE ? "number-plan-ambiguous" : "fixed-line-number");
	}
	if (bm >= 0) {
		struct phone *p = &x->ph[bm];
		double conf = p->possible ? 0.8 : p->region_guessed ? 0.85 : p->type == CRM_PHONE_MOBILE ? 0.97 : 0.9;
		set_field(s, CRM_SIG_MOBILE, crm_xstrdup(p->e164), conf,
		    p->possible ? "possible-number" : p->type == CRM_PHONE_MOBILE ? "mobile-number" : "mobile-label");
	}
}

void
crm_sig_extract(const struct crm_sig_rules *r, const struct crm_sig_input *in,
    struct crm_signature *s)
{
	struct ex ex, *x = &ex;
	const char *p;
	size_t i, nfields = 0;
	double sum = 0;

	for (i = 0; i < CRM_SIG_NFIELDS; i++) {
		free(s->field[i]);
		s->field[i] = NULL;
		s->conf[i] = 0;
		s->rule[i] = NULL;
	}
	x->nl = x->ns = x->nph = 0;
	x->addr_country[0] = 0;
	x->name_line = -1;
	x->cur_seg_len = 0;
	if (!s->text)
		goto out;
	ctx_init(&x->c, r, in);
	ctx_domain(&x->c);
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
		own_domain_web(x, &x->seg[i], s);
	}
	/* region for national numbers: an international number's, the
	 * domain's, else the default */
	set_region(x->region, in->region ? in->region : "FR");
	if (x->c.tld_region[0])
		set_region(x->region, x->c.tld_region);
	for (i = 0; i < x->ns; i++) {
		const char *gs = x->seg[i].s, *plus = memchr(gs, '+', x->seg[i].n);
		size_t gn = x->seg[i].n;
		if (!plus)
			plus = idd_prefix(gs, gn);
		if (plus && rx(&x->c, r->p_phone, gs, gn, (size_t)(plus - gs)) >= 0) {
			char e164[CRM_PHONE_MAX], reg[3], num[64];
			PCRE2_SIZE *o = ov(&x->c);
			size_t nl = o[1] - o[0];
			if (nl >= sizeof num)
				continue;
			memcpy(num, gs + o[0], nl);
			if (num[0] == '0' && num[1] == '0')
				num[1] = '+';       /* "0033" as "+33" (see add_phone) */
			if (crm_phone_parse(num + (num[1] == '+'), nl - (num[1] == '+'), "ZZ", e164)
			    && crm_phone_region_of(e164, reg) == 0) {
				memcpy(x->region, reg, 3);
				break;
			}
		}
	}
	for (i = 0; i < x->nl; i++) {
		const char *cc = country_code(x, x->lines[i], x->lens[i]);
		if (cc && x->lens[i] < 30) {
			set_region(x->addr_country, cc);
			break;
		}
	}
	for (i = 0; i < x->nl; i++)
		if (find_address(x, (int)i, s)) {
			for (size_t k = 0; k < x->ns; k++)
				if ((x->seg[k].line == (int)i && address_part(x, &x->seg[k], &s->address))
				    || (s->address.street && x->seg[k].line == (int)i - 1
				    && streetish(x, x->seg[k].s, x->seg[k].n)
				    && (!count_digits(s->address.street, strlen(s->address.street))
				    || memmem(s->address.street, strlen(s->address.street), x->seg[k].s, x->seg[k].n))))
					x->seg[k].kind |= S_ADDR;
			set_region(x->region, s->address.country);
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
		    && (seg_lex(r, &x->seg[i])->flags & (LX_STREET | LX_LEGAL)) == LX_STREET)
			x->seg[i].kind |= S_ADDR;
	choose_phones(x, s);
	find_name(x, s);
	find_title_company(x, s);
	int own_email = s->field[CRM_SIG_EMAIL] && !strcmp(s->rule[CRM_SIG_EMAIL], "sender-address");
	int own_site = s->field[CRM_SIG_WEBSITE] && same_site(&x->c, s->field[CRM_SIG_WEBSITE]);
	int other_domain = (s->field[CRM_SIG_EMAIL] && !own_email && !same_site(&x->c,
	    strchr(s->field[CRM_SIG_EMAIL], '@') + 1)) || (s->field[CRM_SIG_WEBSITE] && !own_site);
	if (!s->field[CRM_SIG_COMPANY] && s->field[CRM_SIG_NAME] && !other_domain
	    && (s->field[CRM_SIG_TITLE] || s->field[CRM_SIG_PHONE] || s->field[CRM_SIG_MOBILE]
	    || s->field[CRM_SIG_EMAIL] || s->field[CRM_SIG_WEBSITE])) {
		int acronym;
		char *co = company_from_domain(&x->c, &acronym);
		/* "ct.fr": two or three letters say little of the firm's name */
		if (co)
			set_field(s, CRM_SIG_COMPANY, co, acronym ? 0.5 : 0.6, "sender-domain");
	}
	/* a card must be the sender's: their name, their address, their
	 * site, or a firm that spells their domain; list footers, slogans
	 * and other people's details tie to nobody */
	const char *nr = s->rule[CRM_SIG_NAME];
	int tied = (nr && strcmp(nr, "person-shaped-line")) || own_email || own_site
	    || (s->rule[CRM_SIG_COMPANY] && !strcmp(s->rule[CRM_SIG_COMPANY], "sender-domain-match"));
	if (!tied)
		crm_sig_threshold(s, 2.0);      /* drops every field */
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
	char buf[24];
	long k = (long)(v * 1000 + 0.5);
	double r = (double)k / 1000;

	/* "%.3f" of k / 1000 is k's own digits: written without printf */
	if (k >= 0 && k < 100000) {
		char *p = buf + sizeof buf;
		*--p = 0;
		for (int d = 0; d < 3; d++, k /= 10)
			*--p = (char)('0' + k % 10);
		*--p = '.';
		do
			*--p = (char)('0' + k % 10);
		while ((k /= 10));
		return json_object_new_double_s(r, p);
	}
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
