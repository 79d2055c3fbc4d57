/* html.c — HTML to text for mail bodies (see html.h).
 *
 * A single forward pass with a tiny tag tokenizer, not a DOM: mail HTML
 * is often broken (unclosed tags, stray '<'), and a forgiving scanner
 * that never fails serves better than a strict parser.  Output is built
 * with pending-break state so that runs of block boundaries collapse to
 * at most one blank line. */
#include "html.h"
#include "charset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const struct { const char *name; unsigned cp; } entities[] = {
	{ "AElig", 198 }, { "Aacute", 193 }, { "Acirc", 194 }, { "Agrave", 192 },
	{ "Aring", 197 }, { "Atilde", 195 }, { "Auml", 196 }, { "Ccedil", 199 },
	{ "Eacute", 201 }, { "Ecirc", 202 }, { "Egrave", 200 }, { "Euml", 203 },
	{ "Iacute", 205 }, { "Icirc", 206 }, { "Igrave", 204 }, { "Iuml", 207 },
	{ "Ntilde", 209 }, { "OElig", 338 }, { "Oacute", 211 }, { "Ocirc", 212 },
	{ "Ograve", 210 }, { "Oslash", 216 }, { "Otilde", 213 }, { "Ouml", 214 },
	{ "Uacute", 218 }, { "Ucirc", 219 }, { "Ugrave", 217 }, { "Uuml", 220 },
	{ "Yacute", 221 }, { "aacute", 225 }, { "acirc", 226 }, { "acute", 180 },
	{ "aelig", 230 }, { "agrave", 224 }, { "amp", 38 }, { "apos", 39 },
	{ "aring", 229 }, { "atilde", 227 }, { "auml", 228 }, { "bdquo", 8222 },
	{ "brvbar", 166 }, { "bull", 8226 }, { "ccedil", 231 }, { "cedil", 184 },
	{ "cent", 162 }, { "copy", 169 }, { "curren", 164 }, { "dagger", 8224 },
	{ "deg", 176 }, { "divide", 247 }, { "eacute", 233 }, { "ecirc", 234 },
	{ "egrave", 232 }, { "emsp", 8195 }, { "ensp", 8194 }, { "eth", 240 },
	{ "euml", 235 }, { "euro", 8364 }, { "frac12", 189 }, { "frac14", 188 },
	{ "frac34", 190 }, { "gt", 62 }, { "hellip", 8230 }, { "iacute", 237 },
	{ "icirc", 238 }, { "iexcl", 161 }, { "igrave", 236 }, { "iquest", 191 },
	{ "iuml", 239 }, { "laquo", 171 }, { "ldquo", 8220 }, { "lsaquo", 8249 },
	{ "lsquo", 8216 }, { "lt", 60 }, { "macr", 175 }, { "mdash", 8212 },
	{ "micro", 181 }, { "middot", 183 }, { "nbsp", 160 }, { "ndash", 8211 },
	{ "not", 172 }, { "ntilde", 241 }, { "oacute", 243 }, { "ocirc", 244 },
	{ "oelig", 339 }, { "ograve", 242 }, { "ordf", 170 }, { "ordm", 186 },
	{ "oslash", 248 }, { "otilde", 245 }, { "ouml", 246 }, { "para", 182 },
	{ "permil", 8240 }, { "plusmn", 177 }, { "pound", 163 }, { "quot", 34 },
	{ "raquo", 187 }, { "rdquo", 8221 }, { "reg", 174 }, { "rsaquo", 8250 },
	{ "rsquo", 8217 }, { "sbquo", 8218 }, { "scaron", 353 }, { "sect", 167 },
	{ "shy", 173 }, { "sup1", 185 }, { "sup2", 178 }, { "sup3", 179 },
	{ "szlig", 223 }, { "thinsp", 8201 }, { "thorn", 254 }, { "times", 215 },
	{ "trade", 8482 }, { "uacute", 250 }, { "ucirc", 251 }, { "ugrave", 249 },
	{ "uml", 168 }, { "uuml", 252 }, { "yacute", 253 }, { "yen", 165 },
	{ "yuml", 255 }, { "zwj", 8205 }, { "zwnj", 8204 },
};

/* The entity at s as a code point (0xFFFD for &#0;); returns the bytes it
 * takes, 0 if s does not start a known entity. */
static size_t
entity_cp(const char *s, size_t n, unsigned long *out)
{
	size_t i = 1;
	char name[16];

	if (n < 3 || s[0] != '&')
		return 0;
	if (s[1] == '#') {
		unsigned long cp = 0;
		int hex = i + 1 < n && (s[2] == 'x' || s[2] == 'X');
		size_t j = hex ? 3 : 2, start = j;
		while (j < n && j < start + 8 && (hex ? isxdigit((unsigned char)s[j])
		    : isdigit((unsigned char)s[j]))) {
			char c = s[j];
			cp = cp * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)c) ? c - '0'
			    : (tolower((unsigned char)c) - 'a' + 10));
			j++;
		}
		if (j == start)
			return 0;
		if (j < n && s[j] == ';')
			j++;
		if (cp >= 0x80 && cp < 0xA0) {
			/* Windows-1252 numeric references, as browsers read them */
			static const unsigned short hi[32] = {
				0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
				0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
				0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
				0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178 };
			cp = hi[cp - 0x80];
		}
		*out = cp == 0 ? 0xFFFD : cp;
		return j;
	}
	while (i < n && i < sizeof name && isalnum((unsigned char)s[i])) {
		name[i - 1] = s[i];
		i++;
	}
	if (i == 1 || i - 1 >= sizeof name)
		return 0;
	name[i - 1] = 0;
	size_t lo = 0, hi = sizeof entities / sizeof entities[0];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, entities[mid].name);
		if (c == 0) {
			*out = entities[mid].cp;
			return i < n && s[i] == ';' ? i + 1 : i;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

size_t
crm_html_entity(struct crm_buf *out, const char *s, size_t n)
{
	unsigned long cp;
	size_t k = entity_cp(s, n, &cp);

	if (k)
		crm_utf8_put(out, cp);
	return k;
}

struct conv {
	struct crm_buf *out;
	int pending;        /* 0 none, 1 space, 2 newline, 3 blank line */
	int quote;          /* blockquote depth */
	int pre;
	int at_line_start;
	char href[512];     /* current <a href> */
	size_t link_start;  /* out->len when the <a> opened */
};

static inline int
lc(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static inline int
alnum(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Append n bytes (the hot path of crm_buf_add, inline). */
static inline void
put(struct crm_buf *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap)
		crm_buf_grow(o, n);
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = 0;
}

static void
put_prefix(struct conv *c)
{
	for (int i = 0; i < c->quote; i++)
		crm_buf_add(c->out, "> ", 2);
}

static void
flush_pending(struct conv *c)
{
	if (c->out->len == 0) {
		c->pending = 0;
	} else if (c->pending == 1) {
		if (!c->at_line_start)
			crm_buf_addc(c->out, ' ');
	} else if (c->pending >= 2) {
		crm_buf_addc(c->out, '\n');
		if (c->pending == 3) {
			if (c->quote)
				crm_buf_add(c->out, ">", 1);
			crm_buf_addc(c->out, '\n');
		}
		c->at_line_start = 1;
	}
	c->pending = 0;
	if (c->at_line_start) {
		put_prefix(c);
		c->at_line_start = 0;
	}
}

/* Bytes of text: 0 ordinary, 1 collapsible white space, 2 '&', 3 other
 * control bytes (kept as they are). */
static const unsigned char text_class[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 3, 1, 1, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	1, 0, 0, 0, 0, 0, 2,
};

/* The end of a run of ordinary bytes from j, single spaces between
 * them included. */
static size_t
word_run(const char *s, size_t j, size_t n)
{
	for (;;) {
#ifdef __SSE2__
		/* sixteen at a time to the first byte <= ' ' or '&' */
		const __m128i sp = _mm_set1_epi8(' '), amp = _mm_set1_epi8('&');
		unsigned m = 0;
		while (j + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
			m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, sp),
			    sp), _mm_cmpeq_epi8(v, amp)));
			if (m)
				break;
			j += 16;
		}
		if (m)
			j += (size_t)__builtin_ctz(m);
		else
#endif
			while (j < n && text_class[(unsigned char)s[j]] == 0)
				j++;
		if (j + 1 < n && s[j] == ' ' && text_class[(unsigned char)s[j + 1]] == 0)
			j += 2;
		else
			return j;
	}
}

static void
text(struct conv *c, const char *s, size_t n)
{
	struct crm_buf *o = c->out;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int cl = text_class[ch];
		if (cl == 0) {
			/* a run of ordinary characters goes out in one copy, with
			 * the single spaces between its words (which come out as
			 * they are) */
			size_t j = word_run(s, i + 1, n);
			if (c->pending == 1 && !c->at_line_start && o->len)
				crm_buf_addc(o, ' '), c->pending = 0;
			else if (c->pending || c->at_line_start)
				flush_pending(c);
			put(o, s + i, j - i);
			i = j - 1;
			continue;
		}
		if (c->pre && ch == '\n') {
			crm_buf_addc(o, '\n');
			c->at_line_start = 1;
			continue;
		}
		if (cl == 1 && !c->pre) {
			if (!c->pending)
				c->pending = 1;
			while (i + 1 < n && text_class[(unsigned char)s[i + 1]] == 1)
				i++;        /* the rest of the run changes nothing */
			continue;
		}
		if (cl == 2) {
			unsigned long cp;
			size_t k = entity_cp(s + i, n - i, &cp);
			if (k) {
				flush_pending(c);
				if (cp == 0xA0)
					crm_buf_addc(o, ' ');    /* nbsp reads as a space */
				else
					crm_utf8_put(o, cp);
				i += k - 1;
				continue;
			}
		}
		flush_pending(c);
		crm_buf_addc(o, (char)ch);
	}
}

static void
brk(struct conv *c, int level)
{
	if (c->pending < level)
		c->pending = level;
}

/* What a tag name (lower case, nl bytes) means here: the elements with
 * their own handling, and the block elements (3: paragraph break, 2: line
 * break).  A switch on the length, then whole-name compares: this runs
 * for every tag of every HTML part. */
enum { T_OTHER, T_BR, T_BLOCKQUOTE, T_PRE, T_LI, T_TD, T_TH, T_A, T_SCRIPT,
	T_STYLE, T_HEAD, T_TITLE, T_IMG };

static int
lookup(const char *l, size_t nl, int *level)
{
#define IS(w) (!memcmp(l, w, sizeof w - 1))
	*level = 0;
	switch (nl) {
	case 1:
		if (l[0] == 'a')
			return T_A;
		if (l[0] == 'p')
			*level = 3;
		break;
	case 2:
		if (IS("br"))
			return T_BR;
		if (IS("li")) {
			*level = 2;
			return T_LI;
		}
		if (IS("td"))
			return T_TD;
		if (IS("th"))
			return T_TH;
		if (l[0] == 'h' && l[1] >= '1' && l[1] <= '6')
			*level = 3;
		else if (IS("dl") || IS("hr") || IS("ol") || IS("ul"))
			*level = 3;
		else if (IS("dd") || IS("dt") || IS("tr"))
			*level = 2;
		break;
	case 3:
		if (IS("pre"))
			return T_PRE;
		if (IS("img"))
			return T_IMG;
		if (IS("div") || IS("nav"))
			*level = 2;
		break;
	case 4:
		if (IS("head"))
			return T_HEAD;
		if (IS("form"))
			*level = 3;
		else if (IS("body") || IS("html") || IS("main"))
			*level = 2;
		break;
	case 5:
		if (IS("style"))
			return T_STYLE;
		if (IS("title")) {
			*level = 2;
			return T_TITLE;
		}
		if (IS("table"))
			*level = 3;
		else if (IS("aside") || IS("tbody") || IS("tfoot") || IS("thead"))
			*level = 2;
		break;
	case 6:
		if (IS("script"))
			return T_SCRIPT;
		if (IS("center"))
			*level = 3;
		else if (IS("figure") || IS("footer") || IS("header"))
			*level = 2;
		break;
	case 7:
		if (IS("address"))
			*level = 3;
		else if (IS("article") || IS("caption") || IS("section"))
			*level = 2;
		break;
	case 8:
		if (IS("fieldset"))
			*level = 3;
		break;
	case 10:
		if (IS("blockquote"))
			return T_BLOCKQUOTE;
		break;
	}
	return T_OTHER;
#undef IS
}

/* Value of attribute attr inside a tag's text; copies into buf. */
static int
attr(const char *tag, size_t n, const char *name, char *buf, size_t size)
{
	size_t k = strlen(name);

	for (size_t i = 0; i + k < n; i++) {
		if (lc((unsigned char)tag[i]) != name[0] || strncasecmp(tag + i, name, k) ||
		    (i && isalnum((unsigned char)tag[i - 1])))
			continue;
		size_t j = i + k;
		while (j < n && isspace((unsigned char)tag[j]))
			j++;
		if (j >= n || tag[j] != '=')
			continue;
		j++;
		while (j < n && isspace((unsigned char)tag[j]))
			j++;
		char q = j < n && (tag[j] == '"' || tag[j] == '\'') ? tag[j++] : 0;
		size_t b = 0;
		while (j < n && (q ? tag[j] != q : !isspace((unsigned char)tag[j]) && tag[j] != '>')) {
			if (b + 1 < size)
				buf[b++] = tag[j];
			j++;
		}
		buf[b] = 0;
		return 1;
	}
	return 0;
}

/* Skip to the end of a raw-text element (script/style) or "-->". */
static size_t
skip_until(const char *s, size_t n, size_t i, const char *end)
{
	size_t k = strlen(end);
	const char *p;

	while (i + k <= n && (p = memchr(s + i, end[0], n - i - k + 1))) {
		i = (size_t)(p - s);
		if (!strncasecmp(p, end, k))
			return i + k;
		i++;
	}
	return n;
}

/* An attribute's value (a NUL-terminated copy) with its entities
 * decoded, appended to dec; with blank, white space written in the
 * value becomes a plain space. */
static void
decode_value(struct crm_buf *dec, const char *v, int blank)
{
	for (size_t i = 0; v[i]; i++) {
		size_t k = v[i] == '&' ? crm_html_entity(dec, v + i, strlen(v + i)) : 0;
		if (k)
			i += k - 1;
		else
			crm_buf_addc(dec, blank && isspace((unsigned char)v[i]) ? ' ' : v[i]);
	}
}

static void
link_end(struct conv *c)
{
	const char *h = c->href;
	const char *shown = c->out->s ? c->out->s + c->link_start : "";
	char target[512];

	if (!*h)
		return;
	if (!strncasecmp(h, "mailto:", 7)) {
		memcpy(target, h + 7, strlen(h + 7) + 1);    /* href fits target */
		char *q = strchr(target, '?');
		if (q)
			*q = 0;
	} else if (!strncasecmp(h, "http://", 7) || !strncasecmp(h, "https://", 8)) {
		memcpy(target, h, strlen(h) + 1);
	} else {
		c->href[0] = 0;
		return;
	}
	/* the host (or address) already visible in the link text? */
	const char *host = strstr(target, "://");
	host = host ? host + 3 : target;
	if (!strncasecmp(host, "www.", 4))
		host += 4;
	size_t hl = strcspn(host, "/?#");
	int visible = hl == 0 && *shown;
	for (const char *p = shown; hl && *p && !visible; p++)
		if (lc((unsigned char)*p) == lc((unsigned char)host[0]) && !strncasecmp(p, host, hl))
			visible = 1;
	if (!visible) {
		struct crm_buf dec = CRM_BUF_INIT;
		decode_value(&dec, target, 0);
		if (c->out->len > c->link_start)
			crm_buf_adds(c->out, " <");
		else {
			flush_pending(c);
			crm_buf_adds(c->out, "<");
		}
		crm_buf_add(c->out, dec.s, dec.len);
		crm_buf_addc(c->out, '>');
		crm_buf_free(&dec);
	}
	c->href[0] = 0;
}

/* Does an image's alt text only name its file ("image001.png",
 * "cid:logo@01D...")?  Such text says nothing a reader would see. */
static int
alt_is_file(const char *a)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg",
		".webp", ".tif", ".tiff", NULL };
	size_t n = strlen(a);

	if (!strncasecmp(a, "cid:", 4) || !strncasecmp(a, "http://", 7) || !strncasecmp(a, "https://", 8))
		return 1;
	for (int k = 0; ext[k]; k++) {
		size_t e = strlen(ext[k]);
		if (n >= e && !strcasecmp(a + n - e, ext[k]))
			return 1;
	}
	return 0;
}

/* <img alt="...">: the alt text is what the image says to somebody who
 * cannot see it (a firm's logo in a signature often carries the firm's
 * name and nothing else does), so it is written as Gmail writes it in
 * the text part of the mail it sends, "[image: Logo Firm]", and readers
 * downstream (the signature reader) meet one form whatever the client.
 * Empty alt text (spacers, tracking pixels) and file names are dropped. */
static void
image_alt(struct conv *c, const char *t, size_t n)
{
	char alt[256];
	struct crm_buf dec = CRM_BUF_INIT;
	size_t b = 0, e;

	if (!attr(t, n, "alt", alt, sizeof alt))
		return;
	decode_value(&dec, alt, 1);
	e = dec.len;
	while (b < e && dec.s[b] == ' ')
		b++;
	while (e > b && dec.s[e - 1] == ' ')
		e--;
	if (e > b) {
		dec.s[e] = 0;
		if (!alt_is_file(dec.s + b)) {
			/* a space before it, unless a line or a space is open */
			if (!c->pending && c->out->len && c->out->s[c->out->len - 1] != '\n'
			    && c->out->s[c->out->len - 1] != ' ')
				c->pending = 1;
			flush_pending(c);
			crm_buf_adds(c->out, CRM_HTML_IMAGE_OPEN);
			crm_buf_add(c->out, dec.s + b, e - b);
			crm_buf_addc(c->out, ']');
			c->pending = 1;
		}
	}
	crm_buf_free(&dec);
}

/* A start or end tag (t: its text after '<', n bytes; id and level from
 * lookup() of its name). */
static void
tag(struct conv *c, const char *t, size_t n, int close, int id, int level)
{
	switch (id) {
	case T_BR:
		if (c->pending == 1)
			c->pending = 0;         /* spaces before a break vanish */
		flush_pending(c);
		crm_buf_addc(c->out, '\n');
		c->at_line_start = 1;
		return;
	case T_BLOCKQUOTE:
		brk(c, 2);
		if (close) {
			if (c->quote)
				c->quote--;
		} else
			c->quote++;
		return;
	case T_PRE:
		brk(c, 2);
		c->pre = !close;
		return;
	case T_LI:
		if (close)
			break;
		brk(c, 2);
		flush_pending(c);
		crm_buf_adds(c->out, "- ");
		return;
	case T_TD:
	case T_TH:
		if (close)
			brk(c, 1);
		return;
	case T_IMG:
		if (!close)
			image_alt(c, t, n);
		return;
	case T_A:
		if (close)
			link_end(c);
		else {
			if (!attr(t, n, "href", c->href, sizeof c->href))
				c->href[0] = 0;
			flush_pending(c);
			c->link_start = c->out->len;
		}
		return;
	}
	if (level)
		brk(c, level);
}

/* Drop runs of more than two newlines from out[base..]. */
static void
collapse_newlines(struct crm_buf *out, size_t base)
{
	char *s = out->s, *e = out->s + out->len;
	char *r = memmem(s + base, out->len - base, "\n\n\n", 3), *w;

	if (!r)
		return;
	w = r + 2;                  /* keep two of the run */
	r += 3;
	for (;;) {
		while (r < e && *r == '\n')
			r++;
		/* copy up to and including the next "\n\n" */
		char *nl = r;
		while (nl < e && (nl = memchr(nl, '\n', (size_t)(e - nl))) &&
		    !(nl + 1 < e && nl[1] == '\n'))
			nl++;
		char *stop = nl && nl < e ? nl + 2 : e;
		memmove(w, r, (size_t)(stop - r));
		w += stop - r;
		r = stop;
		if (r >= e)
			break;
	}
	out->len = (size_t)(w - out->s);
}

/* The first '>', '"' or '\'' at or after j (n if none). */
static size_t
tag_stop(const char *s, size_t j, size_t n)
{
#ifdef __SSE2__
	const __m128i gt = _mm_set1_epi8('>'), dq = _mm_set1_epi8('"'), sq = _mm_set1_epi8('\'');
	while (j + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, gt),
		    _mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, sq))));
		if (m)
			return j + (size_t)__builtin_ctz(m);
		j += 16;
	}
#endif
	while (j < n && s[j] != '>' && s[j] != '"' && s[j] != '\'')
		j++;
	return j;
}

void
crm_html_to_text(struct crm_buf *out, const char *s, size_t n)
{
	struct conv c = { .out = out, .at_line_start = 1 };
	size_t i = 0, run = 0, base = out->len;

	c.link_start = out->len;
	crm_buf_grow(out, n / 2 + 16);
	out->s[out->len] = 0;       /* link_end() reads the output as a string */
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			break;
		i = (size_t)(lt - s);
		text(&c, s + run, i - run);
		if (i + 3 < n && !memcmp(s + i, "<!--", 4)) {
			i = run = skip_until(s, n, i + 4, "-->");
			continue;
		}
		/* a '<' that does not open a tag is text */
		if (i + 1 >= n || !((lc((unsigned char)s[i + 1]) >= 'a' && lc((unsigned char)s[i + 1]) <= 'z') || s[i + 1] == '/' ||
		    s[i + 1] == '!' || s[i + 1] == '?')) {
			run = i;
			i++;
			text(&c, "<", 1);
			run = i;
			continue;
		}
		/* the tag ends at the first '>' outside a value quoted right
		 * after '=' (quoted values may hide a '>') */
		size_t j = i + 1;
		for (;;) {
			j = tag_stop(s, j, n);
			if (j >= n || s[j] == '>')
				break;
			if (j > i + 1 && s[j - 1] == '=') {
				const char *qe = memchr(s + j + 1, s[j], n - j - 1);
				j = qe ? (size_t)(qe - s) + 1 : n;
			} else
				j++;
		}
		const char *t = s + i + 1;
		size_t tl = j - i - 1;
		size_t next = j < n ? j + 1 : n;
		/* the element name, lower-cased */
		int close = tl && t[0] == '/', id = T_OTHER, level = 0;
		char lname[16];
		size_t nl = 0;
		while (nl < tl - close && nl < sizeof lname && alnum((unsigned char)t[close + nl])) {
			lname[nl] = (char)lc((unsigned char)t[close + nl]);
			nl++;
		}
		if (nl && nl < sizeof lname && (nl == tl - close || !alnum((unsigned char)t[close + nl])))
			id = lookup(lname, nl, &level);
		if (!close && id == T_SCRIPT)
			next = skip_until(s, n, next, "</script");
		else if (!close && id == T_STYLE)
			next = skip_until(s, n, next, "</style");
		else if (!close && id == T_HEAD)
			next = skip_until(s, n, next, "</head");
		else if (!close && id == T_TITLE)
			next = skip_until(s, n, next, "</title");
		else if (t[0] != '!' && t[0] != '?')
			tag(&c, t, tl, close, id, level);
		if (next < n && s[next - 1] != '>') {   /* skipped element: eat its '>' */
			while (next < n && s[next] != '>')
				next++;
			if (next < n)
				next++;
		}
		i = run = next;
	}
	text(&c, s + run, n - run);
	/* at most one blank line in a row */
	if (out->len > base)
		collapse_newlines(out, base);
	/* trim trailing blank space */
	while (out->len > base && (out->s[out->len - 1] == ' ' || out->s[out->len - 1] == '\n'))
		out->len--;
	/* attribute values are copied into bounded buffers, which may cut a
	 * UTF-8 sequence: repair rather than trust */
	if (out->len > base && !crm_utf8_valid(out->s + base, out->len - base)) {
		struct crm_buf fix = CRM_BUF_INIT;
		crm_utf8_repair(&fix, out->s + base, out->len - base);
		out->len = base;
		crm_buf_add(out, fix.s, fix.len);
		crm_buf_free(&fix);
	}
	if (out->s)
		out->s[out->len] = 0;
}

const char *
crm_html_meta_charset(const char *html, size_t n, char *buf, size_t size)
{
	size_t lim = n < 4096 ? n : 4096;

	for (size_t i = 0; i + 8 < lim; i++) {
		if (lc((unsigned char)html[i]) != 'c' || strncasecmp(html + i, "charset=", 8))
			continue;
		size_t j = i + 8, b = 0;
		if (j < lim && (html[j] == '"' || html[j] == '\''))
			j++;
		while (j < lim && b + 1 < size && (isalnum((unsigned char)html[j]) ||
		    html[j] == '-' || html[j] == '_' || html[j] == ':' || html[j] == '.'))
			buf[b++] = html[j++];
		buf[b] = 0;
		return b ? buf : NULL;
	}
	return NULL;
}
