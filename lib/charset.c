/* charset.c — conversion to valid UTF-8 (see charset.h).
 *
 * Why not libetpan's charconv(): it opens a new iconv descriptor on every
 * call and gives up on the first invalid byte.  Mail is full of
 * mislabelled and broken text, so this module converts what it can, marks
 * the rest with U+FFFD, and keeps descriptors open for reuse.  Labels are
 * mapped as browsers do (WHATWG): iso-8859-1 and us-ascii mean
 * windows-1252, gb2312 means GB18030, ks_c_5601-1987 means CP949.
 * Most text needs no conversion at all (valid UTF-8, or ASCII under a
 * Latin label): crm_utf8_as_is() says so after one pass that skips ASCII
 * sixteen bytes at a time, and the caller keeps the bytes where they are. */
#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const unsigned short cp1252_hi[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

void
crm_utf8_put(struct crm_buf *out, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	crm_buf_add(out, b, n);
}

/* Length of a valid sequence at s, 0 if invalid. */
static size_t
seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;       /* overlong */
		if (c == 0xED && s[1] > 0x9F)
			return 0;       /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;
		return 4;
	}
	return 0;
}

size_t
crm_utf8_seqlen(const unsigned char *s, size_t n)
{
	size_t k = n ? seq(s, n) : 0;
	return k ? k : 1;
}

/* Skip ASCII sixteen (SSE2) or eight bytes at a time. */
static const unsigned char *
skip_ascii(const unsigned char *p, const unsigned char *e)
{
#ifdef __SSE2__
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		if (_mm_movemask_epi8(v))
			break;
		p += 16;
	}
#endif
	while (e - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		if (w & 0x8080808080808080ULL)
			break;
		p += 8;
	}
	return p;
}

int
crm_utf8_valid(const char *s, size_t n)
{
	if (n == 0)
		return 1;
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		p = skip_ascii(p, e);
		if (p == e)
			break;
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t k = seq(p, (size_t)(e - p));
		if (!k)
			return 0;
		p += k;
	}
	return 1;
}

void
crm_utf8_repair(struct crm_buf *out, const char *s, size_t n)
{
	if (n == 0)
		return;
	const unsigned char *p = (const unsigned char *)s, *e = p + n, *run = p;

	crm_buf_grow(out, n);
	while (p < e) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t k = seq(p, (size_t)(e - p));
		if (k) {
			p += k;
			continue;
		}
		crm_buf_add(out, run, (size_t)(p - run));
		crm_buf_add(out, "\xEF\xBF\xBD", 3);
		p++;
		run = p;
	}
	crm_buf_add(out, run, (size_t)(p - run));
}

static void
from_cp1252(struct crm_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n, *run = p;

	crm_buf_grow(out, n + n / 4);
	for (; p < e; p++) {
		p = skip_ascii(p, e);
		if (p == e)
			break;
		if (*p < 0x80)
			continue;
		crm_buf_add(out, run, (size_t)(p - run));
		crm_utf8_put(out, *p < 0xA0 ? cp1252_hi[*p - 0x80] : *p);
		run = p + 1;
	}
	crm_buf_add(out, run, (size_t)(p - run));
}

/* Canonical label, or NULL for "treat as unknown". */
static const char *
canon(const char *cs, int *fast)
{
	static const struct { const char *label, *name; int fast; } map[] = {
		{ "utf-8", "UTF-8", 1 }, { "utf8", "UTF-8", 1 },
		{ "us-ascii", "UTF-8", 1 }, { "ascii", "UTF-8", 1 },
		{ "iso-8859-1", NULL, 2 }, { "iso8859-1", NULL, 2 },
		{ "latin1", NULL, 2 }, { "latin-1", NULL, 2 },
		{ "windows-1252", NULL, 2 }, { "cp1252", NULL, 2 },
		{ "x-user-defined", NULL, 2 }, { "iso_8859-1", NULL, 2 },
		{ "gb2312", "GB18030", 0 }, { "gbk", "GB18030", 0 },
		{ "x-gbk", "GB18030", 0 }, { "ks_c_5601-1987", "CP949", 0 },
		{ "euc-kr", "CP949", 0 }, { "iso-8859-8-i", "ISO-8859-8", 0 },
		{ "x-sjis", "SHIFT_JIS", 0 }, { "shift-jis", "SHIFT_JIS", 0 },
		{ "x-mac-roman", "MACINTOSH", 0 }, { "macintosh", "MACINTOSH", 0 },
		{ "unknown-8bit", NULL, 0 }, { "x-unknown", NULL, 0 },
		{ "default", NULL, 0 }, { "unknown", NULL, 0 }, { "8bit", NULL, 0 },
	};
	int c0 = cs[0] >= 'A' && cs[0] <= 'Z' ? cs[0] + ('a' - 'A') : cs[0];

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].label[0] == c0 && !strcasecmp(cs, map[i].label)) {
			*fast = map[i].fast;
			return map[i].name;
		}
	*fast = 0;
	return cs;
}

#define NCACHE 8
static struct {
	char name[40];
	iconv_t cd;
} cache[NCACHE];
static unsigned next_slot;

static iconv_t
open_cd(const char *name)
{
	unsigned i;

	for (i = 0; i < NCACHE; i++)
		if (cache[i].name[0] && !strcasecmp(cache[i].name, name))
			return cache[i].cd;
	if (strlen(name) >= sizeof cache[0].name)
		return (iconv_t)-1;
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return cd;
	i = next_slot++ % NCACHE;
	if (cache[i].name[0])
		iconv_close(cache[i].cd);
	strcpy(cache[i].name, name);
	cache[i].cd = cd;
	return cd;
}

static int
via_iconv(struct crm_buf *out, const char *name, const char *s, size_t n)
{
	iconv_t cd = open_cd(name);
	char *in = (char *)s;
	size_t left = n;
	size_t start = out->len;

	if (cd == (iconv_t)-1)
		return -1;
	if (n == 0)
		return 0;
	iconv(cd, NULL, NULL, NULL, NULL);
	while (left > 0) {
		crm_buf_grow(out, left * 2 + 16);
		char *o = out->s + out->len;
		size_t room = out->cap - out->len - 1;
		size_t r = iconv(cd, &in, &left, &o, &room);
		out->len = (size_t)(o - out->s);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL: mark one byte and go on */
		crm_buf_add(out, "\xEF\xBF\xBD", 3);
		in++;
		left--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	out->s[out->len] = 0;
	/* iconv may emit what it believes is UTF-8; trust nothing. */
	if (!crm_utf8_valid(out->s + start, out->len - start)) {
		struct crm_buf tmp = CRM_BUF_INIT;
		crm_utf8_repair(&tmp, out->s + start, out->len - start);
		out->len = start;
		crm_buf_add(out, tmp.s, tmp.len);
		crm_buf_free(&tmp);
	}
	return 0;
}

static int
all_ascii(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	p = skip_ascii(p, e);
	while (p < e && *p < 0x80)
		p++;
	return p == e;
}

int
crm_utf8_as_is(const char *charset, const char *s, size_t n)
{
	int fast = 0;
	const char *name = charset && *charset ? canon(charset, &fast) : NULL;

	if (!charset || !*charset || !name || fast == 1)
		return crm_utf8_valid(s, n);
	return fast == 2 && all_ascii(s, n);
}

void
crm_to_utf8(struct crm_buf *out, const char *charset, const char *s, size_t n)
{
	int fast = 0;
	const char *name = charset && *charset ? canon(charset, &fast) : NULL;

	if (!charset || !*charset || !name || fast == 1) {
		if (crm_utf8_valid(s, n))
			crm_buf_add(out, s, n);
		else if (fast == 1 && name && charset && !strncasecmp(charset, "utf", 3))
			crm_utf8_repair(out, s, n);   /* declared UTF-8: keep what is valid */
		else
			from_cp1252(out, s, n);
		return;
	}
	if (fast == 2) {
		from_cp1252(out, s, n);
		return;
	}
	if (via_iconv(out, name, s, n) < 0) {
		if (crm_utf8_valid(s, n))
			crm_buf_add(out, s, n);
		else
			from_cp1252(out, s, n);
	}
}
