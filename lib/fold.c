/* fold.c — see fold.h.  ASCII, the bulk of mail text, takes a table
 * lookup per byte; other characters go through utf8proc once each
 * (case fold + decomposition + mark stripping), after a handful of
 * mappings utf8proc does not make (curly quotes, ligatures, spaces). */
#include "fold.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

/* Typographic characters mapped before utf8proc; NULL: not special. */
static const char *
special(utf8proc_int32_t c)
{
	switch (c) {
	case 0x2019: case 0x2018: case 0x02BC: case 0x00B4: case 0x2032: case 0x0060:
		return "'";
	case 0x00A0: case 0x202F: case 0x2009: case 0x2007: case 0x2002: case 0x2003:
		return " ";
	case 0x2010: case 0x2011: case 0x2013: case 0x2014: case 0x2212:
		return "-";
	case 0x00AB: case 0x00BB: case 0x201C: case 0x201D: case 0x201E:
		return "\"";
	case 0x0153: case 0x0152:
		return "oe";
	case 0x00E6: case 0x00C6:
		return "ae";
	case 0x00DF:
		return "ss";
	case 0x2026:
		return "...";
	case 0x20AC:
		return "eur";
	}
	return NULL;
}

static void
fold_cp(struct crm_buf *out, utf8proc_int32_t c)
{
	utf8proc_int32_t d[8];
	utf8proc_uint8_t enc[4];
	int last = 0;
	const char *sp = special(c);
	utf8proc_ssize_t k;

	if (sp) {
		crm_buf_adds(out, sp);
		return;
	}
	k = utf8proc_decompose_char(c, d, 8, UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE |
	    UTF8PROC_STRIPMARK | UTF8PROC_COMPAT, &last);
	if (k < 0 || k > 8) {
		k = utf8proc_encode_char(c, enc);
		crm_buf_add(out, enc, (size_t)k);
		return;
	}
	for (utf8proc_ssize_t i = 0; i < k; i++) {
		utf8proc_ssize_t m = utf8proc_encode_char(d[i], enc);
		crm_buf_add(out, enc, (size_t)m);
	}
}

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* ASCII classes: 0 a character kept (lower-cased), 1 a blank, 2 a line break. */
static const unsigned char ascii_class[128] = {
	['\t'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1, [' '] = 1, ['\n'] = 2,
};

void
crm_fold(struct crm_buf *out, const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	size_t start = out->len, len;
	int blank = 1, nl = 0;   /* pending blank / newline */
	char *o;

	/* ASCII never makes the text longer: room for all of it once, and
	 * again after each character that may have */
	crm_buf_grow(out, n + 16);
	o = out->s;
	len = out->len;
	while (p < e) {
		if (max && len - start >= max)
			break;
		/* eight plain ASCII bytes (single spaces among them) at a time:
		 * lower-cased and copied, a leading space made the separator, a
		 * trailing one left pending, as the byte loop below would */
		while (!max && !nl && e - p >= 8) {
			uint64_t v, x, sp;
			memcpy(&v, p, 8);
			x = v ^ (ONES * ' ');
			sp = ~(((x & ~HIGH) + ~HIGH) | x | ~HIGH);   /* 0x80 in each space byte */
			if ((v & HIGH) || ((v - ONES * 0x20) & ~v & HIGH) || (sp & (sp << 8)))
				break;   /* non-ASCII, a control byte, doubled spaces */
			int lead = (sp & 0x80) != 0, trail = (sp >> 63) != 0;
			if ((blank || lead) && len > start)
				o[len++] = ' ';
			uint64_t a = v + ONES * (0x80 - 'A'), z = v + ONES * (0x80 - 'Z' - 1);
			v |= (a & ~z & HIGH) >> 2;   /* 'A'..'Z' + 0x20 */
			v >>= lead ? 8 : 0;
			memcpy(o + len, &v, 8);   /* (room: the output is no longer than the input) */
			len += 8 - lead - trail;
			blank = trail;
			p += 8;
		}
		if (p >= e)
			break;
		unsigned char ch = *p;
		if (ch < 0x80) {
			p++;
			if (ascii_class[ch]) {
				if (ascii_class[ch] == 1)
					blank = 1;
				else
					nl = 1;
				continue;
			}
			if (nl | blank) {
				if (len > start)
					o[len++] = nl ? '\n' : ' ';
				nl = blank = 0;
			}
			o[len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			continue;
		}
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, e - p, &c);
		if (k <= 0) {
			p++;
			continue;
		}
		p += k;
		const char *sp = special(c);
		if (sp && sp[0] == ' ') {
			blank = 1;
			continue;
		}
		if (nl || blank) {
			if (len > start)
				o[len++] = nl ? '\n' : ' ';
			nl = blank = 0;
		}
		out->len = len;
		fold_cp(out, c);
		crm_buf_grow(out, (size_t)(e - p) + 16);
		o = out->s;
		len = out->len;
	}
	out->len = len;
	out->s[len] = 0;
}

size_t
crm_fold_word(char *out, size_t size, const char *s, size_t n)
{
	struct crm_buf b = CRM_BUF_INIT;
	size_t len;

	crm_fold(&b, s, n, 0);
	len = b.len;
	if (len + 1 > size || !len) {
		crm_buf_free(&b);
		return 0;
	}
	memcpy(out, b.s, len + 1);
	crm_buf_free(&b);
	return len;
}

void
crm_lower(struct crm_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	utf8proc_uint8_t enc[4];

	while (p < e) {
		if (*p < 0x80) {
			crm_buf_addc(out, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
			p++;
			continue;
		}
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, e - p, &c);
		if (k <= 0) {
			p++;
			continue;
		}
		p += k;
		k = utf8proc_encode_char(utf8proc_tolower(c), enc);
		crm_buf_add(out, enc, (size_t)k);
	}
}

/* By length, then the words: called for every word of a message. */
int
crm_negation_word(const char *w, size_t n)
{
#define IS(s) (!memcmp(w, s, sizeof s - 1))
	switch (n) {
	case 1:
		return w[0] == 'n';
	case 2:
		return w[0] == 'n' && (w[1] == 'e' || w[1] == 'i' || w[1] == 'o');
	case 3:
		return IS("pas") || IS("non") || IS("not") || IS("nor");
	case 4:
		return IS("sans") || IS("dont");
	case 5:
		return IS("aucun") || IS("guere") || IS("never") || IS("don't") || IS("isn't") ||
		    IS("won't") || IS("can't");
	case 6:
		return IS("jamais") || IS("aucune") || IS("didn't") || IS("aren't") || IS("wasn't") ||
		    IS("cannot") || IS("hasn't");
	case 7:
		return IS("doesn't") || IS("haven't") || IS("without");
	case 8:
		return IS("wouldn't");
	case 9:
		return IS("nullement");
	}
	return 0;
#undef IS
}
