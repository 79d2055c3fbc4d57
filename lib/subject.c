/* subject.c — subject normalisation for threading (see subject.h).
 *
 * Mail clients mark replies and forwards with a word and a colon in the
 * user's language ("Re:", "RE :", "AW:", "TR:", "Réf. :", "回复："), may add
 * a counter ("Re[2]:", "Re^2:", "Re(2):"), and mailing lists add a tag in
 * brackets ("[ILUG]") before or after those.  The prefix part of a subject
 * is read as a sequence of such tokens, each recognised by its shape (a
 * short word from the list below, an optional counter, optional white
 * space, a colon) rather than by one regular expression per client; it
 * stops at the first token of any other shape, so "Re-launch: plan" or
 * "Trade: x" keep their words, and so does a bracketed ticket number.  Words are compared after Unicode case
 * folding (utf8proc), so "RÉF" and "réf" match.  French typography puts a
 * (no-break) space before the colon; all Unicode spaces count as space.
 * Grouping keys fold case (NFKC + case folding) so "Re: QUOTE" and "quote"
 * group together. */
#include "subject.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Reply and forward words, case-folded UTF-8.  English and French first
 * (Re, Fw, Fwd, TR = transfert, Réf/Ref, Rép), then German (AW = Antwort,
 * WG = weitergeleitet), Nordic (SV = svar, VS = videresendt/vastaus,
 * VL = välitetty), Dutch (Antw, Doorst), Spanish (RV = reenviado),
 * Portuguese (RES, ENC), Polish (Odp, PD), Turkish (YNT), Italian (Rif),
 * Chinese (回复, 回覆, 答复, 转发, 轉寄). */
static const char *const words[] = {
	"re", "fw", "fwd", "tr", "réf", "ref", "rép", "aw", "wg", "sv", "vs",
	"vl", "antw", "doorst", "rv", "res", "enc", "odp", "pd", "ynt", "rif",
	"回复", "回覆", "答复", "转发", "轉寄",
};

#define MAXWORD 24      /* bytes of a prefix word, folded */
#define MAXTAG 64       /* bytes of a bracketed list tag */

/* One code point at p (< end): its length, and the code point in *cp
 * (-1 for an invalid byte, which then counts as one byte). */
static size_t
cp_at(const char *p, const char *end, utf8proc_int32_t *cp)
{
	if ((unsigned char)*p < 0x80) {
		*cp = (unsigned char)*p;
		return 1;
	}
	utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)p,
	    end - p, cp);
	if (n <= 0) {
		*cp = -1;
		return 1;
	}
	return (size_t)n;
}

static int
is_space_cp(utf8proc_int32_t c)
{
	if (c < 0)
		return 0;
	if (c < 0x80)         /* controls (tabs, folded header line breaks) */
		return c <= 0x20 || c == 0x7f;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return 1;
	default:
		return c == 0x200b || c == 0xfeff;   /* zero-width space, BOM */
	}
}

/* Skip white space from p; returns the first other position. */
static const char *
skip_space(const char *p, const char *end)
{
	utf8proc_int32_t c;
	while (p < end) {
		size_t n = cp_at(p, end, &c);
		if (!is_space_cp(c))
			break;
		p += n;
	}
	return p;
}

static int
is_letter(utf8proc_int32_t c)
{
	if (c < 0)
		return 0;
	if (c < 0x80)
		return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
		return 1;
	default:
		return 0;
	}
}

/* Is the word [p, end) one of words[] once case-folded? */
static int
known_word(const char *p, size_t n)
{
	char low[MAXWORD + 1];
	utf8proc_uint8_t *folded = NULL;
	const char *w = low;
	int ascii = 1, hit = 0;

	if (n == 0 || n > MAXWORD)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 0x80)
			ascii = 0;
		low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	low[n] = 0;
	if (!ascii) {
		if (utf8proc_map((const utf8proc_uint8_t *)p, (utf8proc_ssize_t)n,
		    &folded, UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STABLE) < 0)
			return 0;
		w = (const char *)folded;
	}
	for (size_t i = 0; i < sizeof words / sizeof words[0] && !hit; i++)
		hit = !strcmp(w, words[i]);
	free(folded);
	return hit;
}

/* A colon: ASCII or full-width (U+FF1A).  Returns its length or 0. */
static size_t
colon_at(const char *p, const char *end)
{
	if (p < end && *p == ':')
		return 1;
	if (end - p >= 3 && !memcmp(p, "\xef\xbc\x9a", 3))
		return 3;
	return 0;
}

/* A reply/forward prefix at p: "word[counter] :" ; returns the position
 * after it, or NULL. */
static const char *
prefix_at(const char *p, const char *end)
{
	const char *w = p, *q;
	utf8proc_int32_t c;
	size_t n;

	while (p < end && (n = cp_at(p, end, &c)) && is_letter(c))
		p += n;
	if (!known_word(w, (size_t)(p - w)))
		return NULL;
	if (p < end && (*p == '.'))      /* "Réf." */
		p++;
	if (p < end && (*p == '[' || *p == '(' || *p == '^')) {
		char close = *p == '[' ? ']' : *p == '(' ? ')' : 0;
		q = p + 1;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q == p + 1)
			return NULL;
		if (close) {
			if (q >= end || *q != close)
				return NULL;
			q++;
		}
		p = q;
	}
	p = skip_space(p, end);
	if (!(n = colon_at(p, end)))
		return NULL;
	return p + n;
}

/* A list tag "[...]" at p: returns the position after it, or NULL.  A tag
 * holding a digit is not a list name but a ticket or bug number ("[#4521]",
 * "[Bug 1234]", "[PATCH 2/3]") that tells conversations apart: it stays. */
static const char *
tag_at(const char *p, const char *end)
{
	const char *q;

	if (p >= end || *p != '[')
		return NULL;
	for (q = p + 1; q < end && q - p <= MAXTAG; q++) {
		if (*q == '[' || (*q >= '0' && *q <= '9'))
			return NULL;
		if (*q == ']')
			return skip_space(p + 1, q) < q ? q + 1 : NULL;
	}
	return NULL;
}

/* Trim white space at the end of [p, *end). */
static void
rtrim(const char *p, const char **end)
{
	const char *q = p, *last = p;
	utf8proc_int32_t c;

	while (*end > p && (unsigned char)(*end)[-1] < 0x80) {
		if (!is_space_cp((unsigned char)(*end)[-1]))
			return;
		(*end)--;
	}
	while (q < *end) {
		size_t n = cp_at(q, *end, &c);
		q += n;
		if (!is_space_cp(c))
			last = q;
	}
	*end = last;
}

/* Does [p, end) end with "(fwd)" (any case)?  Moves *end before it. */
static int
strip_fwd_suffix(const char *p, const char **end)
{
	const char *e = *end;
	if (e - p < 5 || strncasecmp(e - 5, "(fwd)", 5))
		return 0;
	e -= 5;
	rtrim(p, &e);
	*end = e;
	return 1;
}

char *
crm_subject_normalize(const char *s, size_t len, int *flags)
{
	const char *p = s, *end = s + len, *q;
	int fl = 0;
	char *out, *o;

	for (;;) {
		p = skip_space(p, end);
		rtrim(p, &end);
		if ((q = prefix_at(p, end))) {
			fl |= CRM_SUBJECT_REPLY;
			p = q;
			continue;
		}
		/* "[Fwd: subject]": the old way of forwarding */
		if (p < end && *p == '[' && end[-1] == ']' &&
		    prefix_at(skip_space(p + 1, end), end - 1)) {
			p++;
			end--;
			continue;
		}
		if ((q = tag_at(p, end))) {
			fl |= CRM_SUBJECT_TAG;
			p = q;
			continue;
		}
		if (strip_fwd_suffix(p, &end)) {
			fl |= CRM_SUBJECT_REPLY;
			continue;
		}
		break;
	}
	/* collapse white space runs to one space */
	o = out = crm_xmalloc((size_t)(end - p) + 1);
	while (p < end) {
		utf8proc_int32_t c;
		size_t n = cp_at(p, end, &c);
		if (is_space_cp(c)) {
			if (o > out && o[-1] != ' ')
				*o++ = ' ';
		} else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = 0;
	if (flags)
		*flags = fl;
	return out;
}

/* The case-folded form of a normalised subject: *buf is set to a
 * malloc'd copy when folding needs Unicode tables (free it), else the
 * ASCII letters are lowered into small[] or a malloc'd buffer. */
static const char *
fold(const char *s, char **buf)
{
	size_t n = strlen(s), i;
	utf8proc_uint8_t *f = NULL;

	*buf = NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			break;
	if (i < n && utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
	    &f, UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	    UTF8PROC_STABLE) >= 0) {
		*buf = (char *)f;
		return *buf;
	}
	*buf = crm_xmalloc(n + 1);
	for (i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)s[i];
		(*buf)[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	return *buf;
}

uint64_t
crm_subject_key(const char *norm)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;
	char *buf;
	size_t i;

	if (!norm || !*norm)
		return 0;
	for (i = 0; norm[i]; i++)
		if ((unsigned char)norm[i] >= 0x80)
			break;
	if (!norm[i]) {         /* ASCII: no allocation */
		for (p = (const unsigned char *)norm; *p; p++) {
			h ^= (uint64_t)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			h *= 1099511628211ULL;
		}
	} else {
		for (p = (const unsigned char *)fold(norm, &buf); *p; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		free(buf);
	}
	return h ? h : 1;
}

int
crm_subject_same(const char *a, const char *b)
{
	char *fa, *fb;
	int same = !strcmp(fold(a, &fa), fold(b, &fb));
	free(fa);
	free(fb);
	return same;
}
