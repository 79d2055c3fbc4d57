/* quote.c — reply / quoted history / forward separation (see quote.h).
 *
 * One pass over the lines with a mark per line (reply, quoted, dropped).
 * Mail clients write a handful of fixed marker strings, so the patterns
 * are compiled in here rather than loaded as tunable rules: they describe
 * client formats, not language.  Every pattern is anchored and guarded by
 * a cheap test on the line (first character, trailing ':', length, the
 * words it must contain), so a 3 KB message costs a few microseconds; a
 * 10 MB one stays linear.  The guards are exact: a guard refuses a line
 * only when its pattern could not match it, and leaves the bytes where
 * caseless Unicode matching could see something else (a Unicode blank,
 * U+017F for 's') to the pattern; so they change the time, never the
 * split.
 *
 * Two shapes of quoting exist and both are handled:
 *   top-posting: the reply, then a marker (attribution, separator, header
 *     block, forward banner) after which everything is history;
 *   "> " quoting: an attribution followed by "> " lines; unquoted lines
 *     after them are answers written between the quotes and stay reply. */
#include "quote.h"
#include "buf.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { R_ATTR, R_ATTR_LOOSE, R_SEP, R_FWD, R_HDR_FROM, R_HDR_OTHER, R_RULE,
	R_MOBILE, R_NPAT };

/* The words mail clients put in their reply markers, FR/EN/DE first. */
#define WROTE "(?:\\ba\\s+[ée]crit|\\b[ée]crit|\\bwrote|\\bwrites|\\bschrieb|" \
	"\\bescribi[óo]|\\bha\\s+scritto|\\bschreef|\\bescreveu)"

static const char *const patterns[R_NPAT] = {
	/* R_ATTR: "Le ... a écrit :", "On ... wrote:", "Am ... schrieb X:",
	 * with a digit (date) or an address somewhere in it.  Only whether
	 * it matches is asked, so the quantifier is greedy: the verb sits
	 * near the end, where a greedy scan finds it first (a lazy one cost
	 * five times as much). */
	[R_ATTR] = "^(?:Le|On|Am|El|Il|Op|Em)\\s(?=.*[\\d@]).{3,400}" WROTE
	    ".{0,160}:$",
	/* R_ATTR_LOOSE: "X <x@y> wrote:" (only when "> " lines follow). */
	[R_ATTR_LOOSE] = "^.{1,300}" WROTE "\\s*:$",
	[R_SEP] = "^\\s*-{2,}\\s*(?:Original\\s+Message|Message\\s+d['’]origine|"
	    "Mail\\s+original|Message\\s+original|Ursprüngliche\\s+Nachricht|"
	    "Originalnachricht|Oorspronkelijk\\s+bericht|Messaggio\\s+originale|"
	    "Mensaje\\s+original|Mensagem\\s+original)\\s*-{2,}\\s*$",
	[R_FWD] = "^\\s*(?:-{2,}\\s*(?:Forwarded\\s+message|Message\\s+transf[ée]r[ée]|"
	    "Message\\s+transmis|Weitergeleitete\\s+Nachricht|Mensaje\\s+reenviado|"
	    "Messaggio\\s+inoltrato|Doorgestuurd\\s+bericht|Mensagem\\s+encaminhada)"
	    "\\s*-{2,}|(?:D[ée]but\\s+du\\s+message\\s+(?:r[ée]exp[ée]di[ée]|"
	    "transf[ée]r[ée])|Begin\\s+forwarded\\s+message|"
	    "Anfang\\s+der\\s+weitergeleiteten\\s+Nachricht|"
	    "Inicio\\s+del\\s+mensaje\\s+reenviado)\\s*:)\\s*$",
	[R_HDR_FROM] = "^\\s*\\*?(?:From|De|Von|Van|Da|Od|Från|Fra|Exp[ée]diteur)"
	    "\\s*\\*?\\s*:\\s*\\*?\\s*\\S",
	[R_HDR_OTHER] = "^\\s*\\*?(?:Sent|Date|Envoy[ée](?:\\s+le)?|Gesendet|Datum|"
	    "To|[ÀA]|An|Aan|Cc|Cci|Bcc|Subject|Objet|Sujet|Betreff|Onderwerp|Oggetto|"
	    "Asunto|Assunto|Reply-To|R[ée]pondre\\s+[àa]|Importance|Para|Enviado|"
	    "Inviato|Verzonden|Priorit[ée]|Destinataires?)\\s*\\*?\\s*:",
	[R_RULE] = "^\\s*(?:_{5,}|-{5,}|={5,}|\\*{5,}|—{3,})\\s*$",
	/* the client's phrase first (anchored, fails at once on most lines),
	 * then a device or application word somewhere after it */
	[R_MOBILE] = "^\\s*(?:Envoy[ée]\\s+(?:de|depuis|à\\s+partir\\s+de|avec|via)\\s|"
	    "Sent\\s+(?:from|via|with|using)\\s|Get\\s+Outlook\\s+for\\s|"
	    "(?:Obten(?:ir|ez)|T[ée]l[ée]charge[rz])\\s+Outlook\\s+pour\\s|"
	    "Von\\s+meinem\\s|Gesendet\\s+(?:von|mit)\\s|Enviado\\s+desde\\s|"
	    "Inviato\\s+da\\s|Verzonden\\s+(?:vanaf|met)\\s|"
	    "R[ée]dig[ée]\\s+(?:sur|depuis)\\s)"
	    "(?=.{0,60}\\b(?:iPhone|iPad|iOS|Android|mobile|smartphone|"
	    "t[ée]l[ée]phone|Samsung|Galaxy|Huawei|BlackBerry|Outlook|Mail|Xiaomi|"
	    "Pixel|Proton|Spark|portable|tablette|Windows|Yahoo|Gmail|appareil|"
	    "Handy|Blue|Nine|Edison|Superhuman|Fairphone)\\b).{0,60}$",
};

static pcre2_code *re[R_NPAT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Which patterns a line's first character can open (NUL opens all, as
 * strchr() on the letter lists had it). */
enum { FC_HDR = 1, FC_FOOT = 2, FC_FWD = 4 };
static unsigned char first_class[256];

static void
compile(void)
{
	static const struct { const char *chars; unsigned char bit; } fc[] = {
		{ "FfDdVvOoEe*", FC_HDR },              /* From, De, Von ... */
		{ "EeSsGgOoTtVvIiRr", FC_FOOT },        /* Envoyé, Sent, Get ... */
		{ "DdBbAaIi", FC_FWD },                 /* Début, Begin ... */
	};

	for (size_t k = 0; k < sizeof fc / sizeof fc[0]; k++) {
		for (const char *p = fc[k].chars; *p; p++)
			first_class[(unsigned char)*p] |= fc[k].bit;
		first_class[0] |= fc[k].bit;
	}
	for (int i = 0; i < R_NPAT; i++) {
		int err;
		PCRE2_SIZE off;
		re[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF,
		    &err, &off, NULL);
		if (!re[i]) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(err, msg, sizeof msg);
			crm_die(CRM_EXIT_ENV, "quote pattern %d: %s at %zu", i, msg,
			    (size_t)off);
		}
		pcre2_jit_compile(re[i], PCRE2_JIT_COMPLETE);
	}
}

struct line {
	size_t off, len;      /* without '\n' and a trailing '\r' */
	size_t lead;          /* bytes of leading blanks */
	size_t tlen;          /* length without trailing blanks */
};

enum { M_REPLY = 0, M_QUOTED, M_DROP };

#define STACK_LINES 256

struct split {
	const char *text;
	struct line *ln;
	unsigned char *mark;
	size_t n;
	pcre2_match_data *md;
	struct line ln_stack[STACK_LINES];    /* most messages fit */
	unsigned char mark_stack[STACK_LINES];
};

static int
match(struct split *s, int which, const char *p, size_t n)
{
	return pcre2_match(re[which], (PCRE2_SPTR)p, n, 0, 0, s->md, NULL) >= 0;
}

static int
match_line(struct split *s, int which, size_t i)
{
	const struct line *l = &s->ln[i];
	return match(s, which, s->text + l->off, l->tlen);
}

static int
is_blank(const struct line *l)
{
	return l->lead >= l->tlen;
}

static int
is_quoted(const struct split *s, size_t i)
{
	const struct line *l = &s->ln[i];
	return l->lead < l->tlen && s->text[l->off + l->lead] == '>';
}

/* Leading blanks: space, tab and U+00A0 (mail HTML loves &nbsp;). */
static inline size_t
lead_blanks(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		else if (i + 1 < n && (unsigned char)p[i] == 0xC2 && (unsigned char)p[i + 1] == 0xA0)
			i += 2;
		else
			return i;
	}
}

static inline size_t
trail_len(const char *p, size_t n)
{
	for (;;) {
		if (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		else if (n >= 2 && (unsigned char)p[n - 2] == 0xC2 && (unsigned char)p[n - 1] == 0xA0)
			n -= 2;
		else
			return n;
	}
}

static void
split_lines(struct split *s, const char *text, size_t len)
{
	size_t cap = STACK_LINES, i = 0;

	s->ln = s->ln_stack;
	s->n = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len;
		struct line *l;
		if (s->n == cap) {
			cap *= 2;
			if (s->ln == s->ln_stack) {
				s->ln = crm_xmalloc(cap * sizeof *s->ln);
				memcpy(s->ln, s->ln_stack, sizeof s->ln_stack);
			} else
				s->ln = crm_xrealloc(s->ln, cap * sizeof *s->ln);
		}
		l = &s->ln[s->n++];
		l->off = i;
		l->len = e - i;
		if (l->len && text[e - 1] == '\r')
			l->len--;
		l->tlen = trail_len(text + i, l->len);
		l->lead = lead_blanks(text + i, l->tlen);
		i = e + 1;
	}
	if (s->n <= STACK_LINES) {
		s->mark = s->mark_stack;
		memset(s->mark, 0, s->n);
	} else
		s->mark = crm_xcalloc(s->n, 1);
}

static size_t
next_nonblank(const struct split *s, size_t i)
{
	while (i < s->n && is_blank(&s->ln[i]))
		i++;
	return i;
}

/* Does line i end with ':' (ASCII or fullwidth)? */
static int
ends_colon(const struct split *s, size_t i)
{
	const struct line *l = &s->ln[i];
	const char *p = s->text + l->off;
	if (l->tlen > l->lead && p[l->tlen - 1] == ':')
		return 1;
	return l->tlen >= 3 && !memcmp(p + l->tlen - 3, "\xEF\xBC\x9A", 3);
}

/* Guards: exact byte tests that tell when a pattern cannot match a line,
 * so that the pattern is not run at all (most lines are tested against
 * the separator and mobile-footer patterns, and none matches).  A guard
 * says "cannot match" only when that is certain: on a byte outside ASCII
 * where the pattern could see a letter (caseless Unicode matching folds
 * U+017F into 's') or a blank (\s takes U+2000.. U+3000), it lets the
 * pattern decide. */

/* R_SEP and the dashed R_FWD banner: "--" first, "--" last.  p is the
 * line after its leading blanks, n its length without trailing blanks. */
static int
may_be_dashed(const char *p, size_t n)
{
	unsigned char first = (unsigned char)p[0], last;

	if (first == 0xE2 || first == 0xE3 || first == 0xE1)
		return 1;               /* a Unicode blank may come first */
	if (n < 4 || first != '-' || p[1] != '-')
		return 0;
	last = (unsigned char)p[n - 1];
	if (!(last >= 0x80 || last == '\v' || last == '\f')     /* a Unicode blank may end it */
	    && !(last == '-' && p[n - 2] == '-'))
		return 0;
	/* the first word: Original, Message, Mail, Mensaje, Ursprüngliche,
	 * Oorspronkelijk, Forwarded, Weitergeleitete, Doorgestuurd ... */
	size_t i = 2;
	while (i < n && p[i] == '-')
		i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n)
		return 0;
	unsigned char ch = (unsigned char)p[i];
	if (ch >= 0x80 || ch == '\v' || ch == '\f' || ch == '\r')
		return 1;
	return strchr("OoMmUuFfWwDd", ch) != NULL;
}

/* R_MOBILE: the line starts with one of the clients' words ('?' stands
 * for an accented letter, which is left to the pattern). */
static int
may_be_footer(const char *p, size_t n)
{
	static const char *const words[] = { "envoy", "sent", "get", "obten",
		"t?l?charge", "von", "gesendet", "enviado", "inviato", "verzonden",
		"r?dig", NULL };

	for (int k = 0; words[k]; k++) {
		const char *w = words[k];
		size_t i = 0;
		if (w[0] != (p[0] | 0x20))
			continue;       /* p[0] is an ASCII letter (could_be_footer()) */
		for (; w[i] && i < n; i++) {
			unsigned char ch = (unsigned char)p[i];
			if (ch >= 0x80)
				return 1;
			if (w[i] == '?')
				ch = ch == 'E' ? 'e' : ch;
			else if (ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch - 'A' + 'a');
			if (ch != (unsigned char)(w[i] == '?' ? 'e' : w[i]))
				break;
		}
		if (!w[i])
			return 1;
	}
	return 0;
}

/* A letter PCRE2 folds onto an ASCII one (U+017F s, U+212A K, U+0130 and
 * U+0131 i) somewhere in p: the ASCII tests below cannot speak for it. */
static int
has_ascii_twin(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char a = (unsigned char)p[i], b = (unsigned char)p[i + 1];
		if ((a == 0xC5 && b == 0xBF) || (a == 0xC4 && (b == 0xB0 || b == 0xB1))
		    || (a == 0xE2 && b == 0x84 && i + 2 < n && (unsigned char)p[i + 2] == 0xAA))
			return 1;
	}
	return 0;
}

/* R_ATTR and R_ATTR_LOOSE: a ':' last and one of the WROTE words
 * somewhere (ASCII case folded). */
static int
may_be_attribution(const char *p, size_t n)
{
	static const char *const words[] = { "crit", "wrote", "writes", "schrieb",
		"escribi", "scritto", "schreef", "escreveu", NULL };
	char low[640];

	if (!n || p[n - 1] != ':')
		return 0;
	if (n > sizeof low || has_ascii_twin(p, n))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	for (int k = 0; words[k]; k++)
		if (memmem(low, n, words[k], strlen(words[k])))
			return 1;
	return 0;
}

/* R_ATTR's opening word: Le, On, Am, El, Il, Op or Em, then a blank. */
static int
may_open_attribution(const char *p, size_t n)
{
	static const char pairs[] = "le on am el il op em ";
	unsigned char a, b, c;

	if (n < 3)
		return 0;
	a = (unsigned char)p[0];
	b = (unsigned char)p[1];
	c = (unsigned char)p[2];
	if (a >= 0x80 || b >= 0x80)
		return 1;
	if (!(c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c >= 0x80))
		return 0;
	a = (unsigned char)(a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a);
	b = (unsigned char)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
	for (const char *q = pairs; *q; q += 3)
		if (q[0] == a && q[1] == b)
			return 1;
	return 0;
}

/* An attribution ending on line i, starting up to two lines above; the
 * first line's index, or (size_t)-1. */
static size_t
attribution(struct split *s, size_t i, struct crm_buf *tmp)
{
	for (size_t k = 0; k <= 2 && k <= i; k++) {
		size_t first = i - k;
		const struct line *f = &s->ln[first];
		if (k > 0 && (is_blank(f) || s->mark[first] != M_REPLY
		    || is_quoted(s, first) || f->tlen > 300))
			break;
		/* Le, On, Am, El, Il, Op, Em */
		if (!strchr("LlOoAaEeIi", s->text[f->off + f->lead]))
			continue;
		crm_buf_reset(tmp);
		for (size_t j = first; j <= i; j++) {
			const struct line *l = &s->ln[j];
			if (j > first)
				crm_buf_addc(tmp, ' ');
			crm_buf_add(tmp, s->text + l->off + l->lead, l->tlen - l->lead);
		}
		if (tmp->len > 600)
			break;
		if (may_open_attribution(tmp->s, tmp->len)
		    && may_be_attribution(tmp->s, tmp->len) && match(s, R_ATTR, tmp->s, tmp->len))
			return first;
	}
	return (size_t)-1;
}

/* A From:/De : line followed by two or more header lines. */
static int
header_block(struct split *s, size_t i)
{
	const struct line *l = &s->ln[i];
	const char *p = s->text + l->off + l->lead;
	size_t n = l->tlen - l->lead, hits = 0;
	const char *colon;

	/* From, De, Von, Van, Da, Od, Från, Fra, Expéditeur, "*From" */
	if (!(first_class[(unsigned char)p[0]] & FC_HDR) || n < 4
	    || !(colon = memchr(p, ':', n < 24 ? n : 24)) || !match_line(s, R_HDR_FROM, i))
		return 0;
	for (size_t j = i + 1; j < s->n && j <= i + 8; j++) {
		const struct line *h = &s->ln[j];
		const char *q = s->text + h->off + h->lead;
		size_t m = h->tlen - h->lead;
		if (m == 0)
			continue;
		if (memchr(q, ':', m < 24 ? m : 24) && match_line(s, R_HDR_OTHER, j))
			hits++;
		if (hits >= 2)
			return 1;
	}
	return 0;
}

static int
could_be_footer(const struct split *s, size_t i)
{
	const struct line *l = &s->ln[i];
	size_t n = l->tlen - l->lead;
	if (n < 10 || n > 90)
		return 0;
	return first_class[(unsigned char)s->text[l->off + l->lead]] & FC_FOOT;
}

int
crm_quote_is_mobile_footer(const char *line, size_t len)
{
	struct split s;

	s.text = line;
	int r;

	pthread_once(&once, compile);
	s.md = pcre2_match_data_create_from_pattern(re[R_MOBILE], NULL);
	if (!s.md)
		crm_die(CRM_EXIT_ENV, "out of memory");
	len = trail_len(line, len);
	r = match(&s, R_MOBILE, line, len);
	pcre2_match_data_free(s.md);
	return r;
}

int
crm_subject_is_forward(const char *subject)
{
	static const char *const pre[] = { "fwd", "fw", "tr", "trans", "wg", "rv",
		"enc", "vs", "doorst", NULL };
	const char *p = subject;

	if (!p)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || !strchr("FfTtWwRrEeVvDd[", *p))
		return 0;           /* no prefix starts otherwise */
	if (*p == '[') {            /* "[EXT] TR: ..." */
		const char *e = strchr(p, ']');
		if (e)
			for (p = e + 1; *p == ' '; p++)
				;
	}
	for (int k = 0; pre[k]; k++) {
		size_t n = strlen(pre[k]);
		if (!strncasecmp(p, pre[k], n)) {
			const char *q = p + n;
			while (*q == ' ')
				q++;
			if (*q == ':')
				return 1;
		}
	}
	return 0;
}

/* Mark every line reply, quoted or dropped. */
static void
mark_lines(struct split *s, int subject_fwd, struct crm_body *out)
{
	struct crm_buf tmp = CRM_BUF_INIT;
	size_t i, rest = s->n;

	for (i = 0; i < s->n; i++) {
		const struct line *l = &s->ln[i];
		size_t nx;
		if (is_blank(l))
			continue;
		if (is_quoted(s, i)) {
			s->mark[i] = M_QUOTED;
			continue;
		}
		char c = s->text[l->off + l->lead];
		if ((c == '-' || (unsigned char)c == 0xE2)
		    && may_be_dashed(s->text + l->off + l->lead, l->tlen - l->lead)) {
			if (match_line(s, R_SEP, i)) {
				out->forwarded |= subject_fwd;
				rest = i;
				break;
			}
			if (match_line(s, R_FWD, i)) {
				out->forwarded = 1;
				rest = i;
				break;
			}
		}
		if (ends_colon(s, i)) {
			size_t first;
			if ((first_class[(unsigned char)c] & FC_FWD) && match_line(s, R_FWD, i)) {
				out->forwarded = 1;
				rest = i;
				break;
			}
			nx = next_nonblank(s, i + 1);
			first = attribution(s, i, &tmp);
			if (first == (size_t)-1 && nx < s->n && is_quoted(s, nx)
			    && may_be_attribution(s->text + l->off, l->tlen)
			    && match_line(s, R_ATTR_LOOSE, i))
				first = i;
			if (first != (size_t)-1) {
				if (nx < s->n && is_quoted(s, nx)) {
					/* "> " quoting: later unquoted lines may
					 * be answers between the quotes */
					for (size_t j = first; j <= i; j++)
						s->mark[j] = M_QUOTED;
					continue;
				}
				rest = first;
				break;
			}
		}
		if (header_block(s, i)) {
			size_t b = i;
			/* Outlook's rule line above the block belongs to it */
			while (b > 0 && is_blank(&s->ln[b - 1]))
				b--;
			if (b > 0 && s->mark[b - 1] == M_REPLY && match_line(s, R_RULE, b - 1))
				i = b - 1;
			out->forwarded |= subject_fwd;
			rest = i;
			break;
		}
		if (could_be_footer(s, i)
		    && may_be_footer(s->text + l->off + l->lead, l->tlen - l->lead)
		    && match_line(s, R_MOBILE, i)) {
			s->mark[i] = M_DROP;
			out->mobile_footer = 1;
		}
	}
	for (i = rest; i < s->n; i++)
		s->mark[i] = M_QUOTED;
	crm_buf_free(&tmp);
}

/* A run of blank lines takes the mark of the lines around it when both
 * sides agree, so paragraphs survive in the reply and in the quote. */
static void
mark_blanks(struct split *s)
{
	size_t i = 0;

	while (i < s->n) {
		size_t j = i;
		if (!is_blank(&s->ln[i])) {
			i++;
			continue;
		}
		while (j < s->n && is_blank(&s->ln[j]))
			j++;
		unsigned char m = j < s->n ? s->mark[j] : M_DROP;
		if (i > 0 && s->mark[i - 1] != m)
			m = M_DROP;
		for (; i < j; i++)
			s->mark[i] = m;
	}
}

/* Concatenate the lines marked m, without leading or trailing blank
 * lines; blank lines inside are kept empty, a line's '\r' is dropped.
 * Consecutive lines that lie in text exactly as they are written out
 * (same mark, not blank, no '\r') are copied in one piece. */
static char *
gather(const struct split *s, int m, size_t *len)
{
	size_t blanks = 0, total = 0, i, j;
	char *out, *o;

	for (i = 0; i < s->n; i++)
		if (s->mark[i] == m)
			total += s->ln[i].len + 1;
	o = out = crm_xmalloc(total + 1);
	for (i = 0; i < s->n; i = j + 1) {
		const struct line *l = &s->ln[i];
		j = i;
		if (s->mark[i] != m)
			continue;
		if (is_blank(l)) {
			blanks += o > out;
			continue;
		}
		if (o > out) {
			memset(o, '\n', blanks + 1);
			o += blanks + 1;
		}
		blanks = 0;
		while (j + 1 < s->n && s->mark[j + 1] == m && !is_blank(&s->ln[j + 1])
		    && s->ln[j + 1].off == s->ln[j].off + s->ln[j].len + 1)
			j++;
		size_t n = s->ln[j].off + s->ln[j].len - l->off;
		memcpy(o, s->text + l->off, n);
		o += n;
	}
	*o = 0;
	*len = (size_t)(o - out);
	return out;
}

int
crm_quote_split_subject(const char *text, size_t len, const char *subject,
    struct crm_body *out)
{
	struct split s;         /* not zeroed: the stack arrays are large */

	s.text = text;
	pthread_once(&once, compile);
	memset(out, 0, sizeof *out);
	if (!text)
		len = 0;
	static __thread pcre2_match_data *md;
	if (!md && !(md = pcre2_match_data_create(4, NULL)))
		crm_die(CRM_EXIT_ENV, "out of memory");
	s.md = md;
	split_lines(&s, text, len);
	mark_lines(&s, crm_subject_is_forward(subject), out);
	mark_blanks(&s);
	out->quote_start = len;
	for (size_t i = 0; i < s.n; i++)
		if (s.mark[i] == M_QUOTED) {
			out->quote_start = s.ln[i].off;
			break;
		}
	out->reply = gather(&s, M_REPLY, &out->reply_len);
	out->quoted = gather(&s, M_QUOTED, &out->quoted_len);
	if (!out->quoted_len)
		out->forwarded = 0;
	if (s.ln != s.ln_stack)
		free(s.ln);
	if (s.mark != s.mark_stack)
		free(s.mark);
	return out->quoted_len > 0;
}

int
crm_quote_split(const char *text, size_t len, struct crm_body *out)
{
	return crm_quote_split_subject(text, len, NULL, out);
}

void
crm_body_free(struct crm_body *b)
{
	if (!b)
		return;
	free(b->reply);
	free(b->quoted);
	b->reply = b->quoted = NULL;
	b->reply_len = b->quoted_len = 0;
}

/* ------------------------------------------------------------ "body" */

json_object *
crm_body_json(const struct crm_body *b)
{
	/* written as JSON text at once (the reply and the quoted history are
	 * most of a record's bytes): one escaping pass, no json-c string
	 * copies; the bytes are those json-c would write */
	static __thread struct crm_buf out;
	json_object *o;

	crm_buf_reset(&out);
	crm_buf_adds(&out, "{\"reply\":");
	crm_json_escape(&out, b->reply ? b->reply : "", b->reply_len);
	crm_buf_adds(&out, ",\"quoted\":");
	crm_json_escape(&out, b->quoted ? b->quoted : "", b->quoted_len);
	crm_buf_adds(&out, b->forwarded ? ",\"forwarded\":true}" : ",\"forwarded\":false}");
	o = crm_json_raw(out.s, out.len);
	return o;
}
