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

size_t
crm_html_entity(struct crm_buf *out, const char *s, size_t n)
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
		crm_utf8_put(out, cp == 0 ? 0xFFFD : cp);
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
			crm_utf8_put(out, entities[mid].cp);
			return i < n && s[i] == ';' ? i + 1 : i;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
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

static void
text(struct conv *c, const char *s, size_t n)
{
	struct crm_buf *o = c->out;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (c->pre && ch == '\n') {
			crm_buf_addc(o, '\n');
			c->at_line_start = 1;
			continue;
		}
		if (ch > ' ' && ch != '&') {
			/* a run of ordinary characters goes out in one copy */
			size_t j = i + 1;
			while (j < n && (unsigned char)s[j] > ' ' && s[j] != '&')
				j++;
			flush_pending(c);
			crm_buf_add(o, s + i, j - i);
			i = j - 1;
			continue;
		}
		if (!c->pre && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f')) {
			if (!c->pending)
				c->pending = 1;
			continue;
		}
		if (ch == '&') {
			struct crm_buf e = CRM_BUF_INIT;
			size_t k = crm_html_entity(&e, s + i, n - i);
			if (k) {
				flush_pending(c);
				if (e.len == 2 && !memcmp(e.s, "\xC2\xA0", 2))
					crm_buf_addc(o, ' ');    /* nbsp reads as a space */
				else
					crm_buf_add(o, e.s, e.len);
				crm_buf_free(&e);
				i += k - 1;
				continue;
			}
			crm_buf_free(&e);
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

/* Case-insensitive match of a tag name at s (n bytes), ending at a non-name char. */
static int
tagis(const char *s, size_t n, const char *name)
{
	(void)n;
	return !strcmp(s, name);     /* s is the lower-cased, NUL-terminated name */
}

/* Block elements, sorted for bsearch: 3 = paragraph break, 2 = line break. */
static const struct { const char *name; int level; } blocks[] = {
	{ "address", 3 }, { "article", 2 }, { "aside", 2 }, { "body", 2 },
	{ "caption", 2 }, { "center", 3 }, { "dd", 2 }, { "div", 2 }, { "dl", 3 },
	{ "dt", 2 }, { "fieldset", 3 }, { "figure", 2 }, { "footer", 2 },
	{ "form", 3 }, { "h1", 3 }, { "h2", 3 }, { "h3", 3 }, { "h4", 3 },
	{ "h5", 3 }, { "h6", 3 }, { "header", 2 }, { "hr", 3 }, { "html", 2 },
	{ "li", 2 }, { "main", 2 }, { "nav", 2 }, { "ol", 3 }, { "p", 3 },
	{ "section", 2 }, { "table", 3 }, { "tbody", 2 }, { "tfoot", 2 },
	{ "thead", 2 }, { "title", 2 }, { "tr", 2 }, { "ul", 3 },
};

static int
block_level(const char *name)
{
	size_t lo = 0, hi = sizeof blocks / sizeof blocks[0];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, blocks[mid].name);
		if (!c)
			return blocks[mid].level;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Value of attribute attr inside a tag's text; copies into buf. */
static int
attr(const char *tag, size_t n, const char *name, char *buf, size_t size)
{
	size_t k = strlen(name);

	for (size_t i = 0; i + k < n; i++) {
		if (strncasecmp(tag + i, name, k) || (i && isalnum((unsigned char)tag[i - 1])))
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

/* The tag text t (tl bytes, after '<') opens element name. */
static int
opens(const char *t, size_t tl, const char *name)
{
	size_t k = strlen(name);
	return tl >= k && !strncasecmp(t, name, k) && (tl == k || !isalnum((unsigned char)t[k]));
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
		snprintf(target, sizeof target, "%s", h + 7);
		char *q = strchr(target, '?');
		if (q)
			*q = 0;
	} else if (!strncasecmp(h, "http://", 7) || !strncasecmp(h, "https://", 8)) {
		snprintf(target, sizeof target, "%s", h);
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
	int visible = 0;
	for (const char *p = shown; *p && !visible; p++)
		if (!strncasecmp(p, host, hl))
			visible = 1;
	if (!visible) {
		struct crm_buf dec = CRM_BUF_INIT;
		for (size_t i = 0; target[i]; i++) {
			size_t k = target[i] == '&' ? crm_html_entity(&dec, target + i, strlen(target + i)) : 0;
			if (k)
				i += k - 1;
			else
				crm_buf_addc(&dec, target[i]);
		}
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

static void
tag(struct conv *c, const char *t, size_t n)
{
	int close = n && t[0] == '/';
	const char *name = t + close;
	size_t nl = 0;

	char lname[16];

	while (nl < n - close && (isalnum((unsigned char)name[nl])))
		nl++;
	if (!nl || nl >= sizeof lname)
		return;
	for (size_t i = 0; i < nl; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	lname[nl] = 0;
	name = lname;
	if (tagis(name, nl, "br")) {
		if (c->pending == 1)
			c->pending = 0;         /* spaces before a break vanish */
		flush_pending(c);
		crm_buf_addc(c->out, '\n');
		c->at_line_start = 1;
		return;
	}
	if (tagis(name, nl, "blockquote")) {
		brk(c, 2);
		if (close) {
			if (c->quote)
				c->quote--;
		} else
			c->quote++;
		return;
	}
	if (tagis(name, nl, "pre")) {
		brk(c, 2);
		c->pre = !close;
		return;
	}
	if (tagis(name, nl, "li") && !close) {
		brk(c, 2);
		flush_pending(c);
		crm_buf_adds(c->out, "- ");
		return;
	}
	if (tagis(name, nl, "td") || tagis(name, nl, "th")) {
		if (close)
			brk(c, 1);
		return;
	}
	if (tagis(name, nl, "a")) {
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
	int level = block_level(name);
	if (level)
		brk(c, level);
}

void
crm_html_to_text(struct crm_buf *out, const char *s, size_t n)
{
	struct conv c = { .out = out, .at_line_start = 1 };
	size_t i = 0, run = 0, base = out->len;

	c.link_start = out->len;
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			break;
		i = (size_t)(lt - s);
		text(&c, s + run, i - run);
		if (i + 3 < n && !strncmp(s + i, "<!--", 4)) {
			i = run = skip_until(s, n, i + 4, "-->");
			continue;
		}
		/* a '<' that does not open a tag is text */
		if (i + 1 >= n || !(isalpha((unsigned char)s[i + 1]) || s[i + 1] == '/' ||
		    s[i + 1] == '!' || s[i + 1] == '?')) {
			run = i;
			i++;
			text(&c, "<", 1);
			run = i;
			continue;
		}
		size_t j = i + 1;
		char q = 0;
		const char *gt = memchr(s + j, '>', n - j);
		size_t end = gt ? (size_t)(gt - s) : n;
		if (memchr(s + j, '"', end - j) || memchr(s + j, '\'', end - j)) {
			/* quoted attribute values may hide a '>' */
			while (j < n && (q || s[j] != '>')) {
				if (q && s[j] == q)
					q = 0;
				else if (!q && (s[j] == '"' || s[j] == '\'') && j > i + 1 && s[j - 1] == '=')
					q = s[j];
				j++;
			}
		} else
			j = end;
		const char *t = s + i + 1;
		size_t tl = j - i - 1;
		size_t next = j < n ? j + 1 : n;
		if (opens(t, tl, "script"))
			next = skip_until(s, n, next, "</script");
		else if (opens(t, tl, "style"))
			next = skip_until(s, n, next, "</style");
		else if (opens(t, tl, "head"))
			next = skip_until(s, n, next, "</head");
		else if (opens(t, tl, "title"))
			next = skip_until(s, n, next, "</title");
		else if (t[0] != '!' && t[0] != '?')
			tag(&c, t, tl);
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
	if (out->len > base && memmem(out->s + base, out->len - base, "\n\n\n", 3)) {
		size_t w = base, nls = 0;
		for (size_t r = base; r < out->len; r++) {
			nls = out->s[r] == '\n' ? nls + 1 : 0;
			if (nls <= 2)
				out->s[w++] = out->s[r];
		}
		out->len = w;
	}
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
		if (strncasecmp(html + i, "charset=", 8))
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
