/* entities.c — see entities.h.
 *
 * Names come from capitalisation plus word lists rather than from a
 * model: a run of capitalised words on one line is a person when a title
 * (M., Mme, Mr, Ms...) precedes it or its first word is a known first
 * name, an organisation when it holds a legal form or a firm word (SAS,
 * GmbH, Ltd, Gestion, Partners...), a location when a gazetteer knows it.
 * Dates are matched on folded text by one PCRE2 pattern with named
 * groups and resolved against the message date: a year-less date is
 * taken in the message's year unless that puts it more than 90 days in
 * the past (then the next year); a bare weekday is the next such day.
 * Phones: candidate digit runs found here, validated by phone.h.
 *
 * Cost: every word of every message goes through these loops, so they
 * work on bytes through class tables, ask the lexicons only about words
 * whose first byte and length some term has (crm_lexicon_maybe), judge
 * each distinct keyword once, skip lines without a capital for names,
 * and try the (large, anchored) date pattern only where what follows a
 * number or a date word can begin one (date_may_start).  Results are
 * gathered as C data (struct crm_ent_set) and written as JSON text
 * directly (crm_entities_render); json-c objects are built only for the
 * callers that want them. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "entities.h"
#include "buf.h"
#include "config.h"
#include "exitcode.h"
#include "fold.h"
#include "hash.h"
#include "jsonl.h"
#include "lexicon.h"
#include "log.h"
#include "phone.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define WD "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|" \
	"wednesday|thursday|friday|saturday|sunday"
#define MON "janvier|janv|fevrier|fevr|fev|mars|avril|avr|mai|juin|juillet|juil|aout|" \
	"septembre|sept|octobre|oct|novembre|nov|decembre|dec|january|jan|february|feb|" \
	"march|mar|april|apr|may|june|jun|july|jul|august|aug|september|sep|october|" \
	"november|december"

static const char date_pattern[] =
    "(?:(?<iso>\\b(?<iy>\\d{4})-(?<im>\\d{2})-(?<id>\\d{2})\\b)"
    "|(?<num>\\b(?<nd>\\d{1,2})(?<sep>[/.])(?<nm>\\d{1,2})(?:[/.](?<ny>\\d{4}|\\d{2}))?\\b(?![.,]?\\d))"
    "|(?<dmy>\\b(?:(?<wd1>" WD ")\\s+)?(?<dd>\\d{1,2})(?:er|st|nd|rd|th|e)?\\s+(?:of\\s+)?(?<dm>" MON
    ")\\b\\.?(?:\\s+(?<dy>\\d{4})\\b)?)"
    "|(?<mdy>\\b(?:(?<wd2>" WD "),?\\s+)?(?<mm>" MON ")\\.?\\s+(?<md>\\d{1,2})(?:st|nd|rd|th)?\\b"
    "(?:,?\\s+(?<my>\\d{4})\\b)?)"
    "|(?<rel>\\b(?:aujourd'hui|today|apres-demain|apres demain|demain|tomorrow|hier|yesterday)\\b)"
    "|(?<nextweek>\\b(?:la semaine prochaine|next week)\\b)"
    "|(?<wdn>\\b(?:(?<wd3>" WD ")\\s+prochain|next\\s+(?<wd4>" WD "))\\b)"
    "|(?<wdb>\\b(?<wd5>" WD ")\\b)"
    "|(?<inn>\\b(?:dans|in)\\s+(?<nn>\\d{1,2})\\s+(?<unit>jours?|days?|semaines?|weeks?)\\b))"
    "(?:,?\\s*(?:a\\s+|at\\s+|vers\\s+)?(?<hh>\\d{1,2})(?:\\s*[h:]\\s*(?<mi>\\d{2})?|\\s*(?=am\\b|pm\\b))"
    "(?:\\s*(?<ap>am|pm)\\b)?)?";

static const char email_pattern[] =
    "[A-Za-z0-9._%+\\-]+@[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,}";
static const char phone_pattern[] =
    "(?<![\\w+])(?:\\+\\d{1,3}[ .\\-]?(?:\\(0\\)[ .\\-]?)?|00\\d{2}[ .\\-]?)?\\(?\\d{1,4}\\)?"
    "(?:[ .\\-]?\\d{2,4}){2,5}(?!\\w)";

enum { G_TITLE = 1, G_FIRST = 2, G_FORM = 4, G_PLACE = 8, G_STOP = 16 };
enum { D_ALWAYS = 1, D_MONTH, D_LA, D_NEXT, D_IN };   /* date words (date_may_start) */

/* Byte classes of the scanning loops (every word of a message goes
 * through several of them): C_WORD, bytes of words (ASCII letters and
 * digits, all of non-ASCII); C_DIGIT; C_ALNUM, ASCII letters and digits;
 * C_PUNCT, what ends a run of names (tokenize); C_EMAIL, bytes of the
 * local part of an address; C_PHONE, how a phone number starts. */
enum {
	C_WORD = 1, C_DIGIT = 2, C_ALNUM = 4, C_PUNCT = 8, C_EMAIL = 16, C_PHONE = 32,
	C_DTOK = 64,     /* in a date word: word bytes, ' and - */
	C_STOK = 128,    /* in a sentiment word: word bytes and ' */
};
static unsigned char cclass[256];

static void
init_tables(void)
{
	for (int c = 0; c < 256; c++) {
		int an = c < 0x80 && isalnum(c);
		cclass[c] = (an || c >= 0x80 ? C_WORD : 0) | (c >= '0' && c <= '9' ? C_DIGIT : 0) |
		    (an ? C_ALNUM : 0) | (c && strchr(",:();!?\"/<>|-", c) ? C_PUNCT : 0) |
		    (an || (c && strchr("._%+-", c)) ? C_EMAIL : 0) |
		    (c == '0' || c == '+' || c == '(' ? C_PHONE : 0) |
		    (an || c >= 0x80 || c == '\'' || c == '-' ? C_DTOK : 0) |
		    (an || c >= 0x80 || c == '\'' ? C_STOK : 0);
	}
}

static inline int
is_word_byte(unsigned char c)
{
	return cclass[c] & C_WORD;
}

static inline int
is_digit(unsigned char c)
{
	return cclass[c] & C_DIGIT;
}

/* The named groups of date_pattern, their numbers looked up once. */
enum {
	N_ISO, N_IY, N_IM, N_ID, N_NUM, N_ND, N_SEP, N_NM, N_NY, N_DMY, N_DM, N_DD, N_DY, N_MDY,
	N_MM, N_MD, N_MY, N_REL, N_NEXTWEEK, N_WDN, N_WDB, N_WD3, N_WD4, N_WD5, N_INN, N_NN,
	N_UNIT, N_HH, N_MI, N_AP, N_COUNT
};
static const char *const group_names[N_COUNT] = { "iso", "iy", "im", "id", "num", "nd", "sep",
	"nm", "ny", "dmy", "dm", "dd", "dy", "mdy", "mm", "md", "my", "rel", "nextweek", "wdn",
	"wdb", "wd3", "wd4", "wd5", "inn", "nn", "unit", "hh", "mi", "ap" };

struct crm_entities {
	pcre2_code *date_at, *email, *phone;
	struct crm_lexicon *datewords;
	pcre2_match_data *md;
	pcre2_match_context *mc;          /* with a JIT stack of its own */
	pcre2_jit_stack *stack;
	struct crm_lexicon *gaz, *senti;   /* gaz: every gazetteer, values are G_ flags */
	struct crm_buf tmp, names;
	struct crm_ent_set scratch;       /* of the json-returning calls */
	int gnum[N_COUNT];                /* date_pattern's group numbers */
	const uint64_t *dw_filter, *gaz_filter, *senti_filter;   /* crm_lexicon_maybe() */
};

static pcre2_code *
compile(const char *pat, uint32_t extra)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | extra, &err, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		crm_die(CRM_EXIT_ENV, "internal pattern error at %zu: %s", (size_t)off, (char *)msg);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

static struct crm_lexicon *
lex(const char *name)
{
	return crm_lexicon_load(crm_rules_path(name));
}

struct crm_entities *
crm_entities_new(void)
{
	struct crm_entities *e = crm_xcalloc(1, sizeof *e);

	init_tables();
	/* the words a date can start with, by what must follow them (D_) */
	static const struct {
		const char *w;
		int kind;
	} datewords[] = {
		{ "janvier", D_MONTH }, { "janv", D_MONTH }, { "fevrier", D_MONTH }, { "fevr", D_MONTH },
		{ "fev", D_MONTH }, { "mars", D_MONTH }, { "avril", D_MONTH }, { "avr", D_MONTH },
		{ "mai", D_MONTH }, { "juin", D_MONTH }, { "juillet", D_MONTH }, { "juil", D_MONTH },
		{ "aout", D_MONTH }, { "septembre", D_MONTH }, { "sept", D_MONTH },
		{ "octobre", D_MONTH }, { "oct", D_MONTH }, { "novembre", D_MONTH }, { "nov", D_MONTH },
		{ "decembre", D_MONTH }, { "dec", D_MONTH }, { "january", D_MONTH }, { "jan", D_MONTH },
		{ "february", D_MONTH }, { "feb", D_MONTH }, { "march", D_MONTH }, { "mar", D_MONTH },
		{ "april", D_MONTH }, { "apr", D_MONTH }, { "may", D_MONTH }, { "june", D_MONTH },
		{ "jun", D_MONTH }, { "july", D_MONTH }, { "jul", D_MONTH }, { "august", D_MONTH },
		{ "aug", D_MONTH }, { "september", D_MONTH }, { "sep", D_MONTH },
		{ "october", D_MONTH }, { "november", D_MONTH }, { "december", D_MONTH },
		{ "lundi", D_ALWAYS }, { "mardi", D_ALWAYS }, { "mercredi", D_ALWAYS },
		{ "jeudi", D_ALWAYS }, { "vendredi", D_ALWAYS }, { "samedi", D_ALWAYS },
		{ "dimanche", D_ALWAYS }, { "monday", D_ALWAYS }, { "tuesday", D_ALWAYS },
		{ "wednesday", D_ALWAYS }, { "thursday", D_ALWAYS }, { "friday", D_ALWAYS },
		{ "saturday", D_ALWAYS }, { "sunday", D_ALWAYS }, { "aujourd'hui", D_ALWAYS },
		{ "today", D_ALWAYS }, { "apres-demain", D_ALWAYS }, { "apres", D_ALWAYS },
		{ "demain", D_ALWAYS }, { "tomorrow", D_ALWAYS }, { "hier", D_ALWAYS },
		{ "yesterday", D_ALWAYS }, { "la", D_LA }, { "next", D_NEXT }, { "dans", D_IN },
		{ "in", D_IN },
	};
	e->date_at = compile(date_pattern, PCRE2_ANCHORED);
	for (int i = 0; i < N_COUNT; i++)
		e->gnum[i] = pcre2_substring_number_from_name(e->date_at, (PCRE2_SPTR)group_names[i]);
	e->email = compile(email_pattern, PCRE2_ANCHORED);
	e->phone = compile(phone_pattern, PCRE2_ANCHORED);
	e->datewords = crm_lexicon_new();
	for (size_t i = 0; i < sizeof datewords / sizeof datewords[0]; i++)
		crm_lexicon_add(e->datewords, datewords[i].w, datewords[i].kind);
	e->md = pcre2_match_data_create(64, NULL);
	e->mc = pcre2_match_context_create(NULL);
	e->stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	pcre2_jit_stack_assign(e->mc, NULL, e->stack);
	e->gaz = crm_lexicon_new();
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/titles.txt"), G_TITLE);
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/firstnames.txt"), G_FIRST);
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/organisation-words.txt"), G_FORM);
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/cities.txt"), G_PLACE);
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/countries.txt"), G_PLACE);
	crm_lexicon_merge(e->gaz, crm_rules_path("entities/stopwords.txt"), G_STOP);
	e->senti = lex("intent/sentiment.txt");
	e->dw_filter = crm_lexicon_filter(e->datewords);
	e->gaz_filter = crm_lexicon_filter(e->gaz);
	e->senti_filter = crm_lexicon_filter(e->senti);
	return e;
}

void
crm_entities_free(struct crm_entities *e)
{
	if (!e)
		return;
	pcre2_code_free(e->date_at);
	crm_lexicon_free(e->datewords);
	pcre2_code_free(e->email);
	pcre2_code_free(e->phone);
	pcre2_match_data_free(e->md);
	pcre2_match_context_free(e->mc);
	pcre2_jit_stack_free(e->stack);
	crm_lexicon_free(e->gaz);
	crm_lexicon_free(e->senti);
	crm_buf_free(&e->tmp);
	crm_buf_free(&e->names);
	free(e);
}

time_t
crm_parse_iso8601(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0;

	if (!s)
		return 0;
#define D2(p) (((p)[0] - '0') * 10 + (p)[1] - '0')
#define DIG(i) isdigit((unsigned char)s[i])
	/* crm-sync's "2025-10-30T09:12:00Z" read directly; anything else as sscanf reads it */
	size_t n = strnlen(s, 19);
	if (n >= 10 && DIG(0) && DIG(1) && DIG(2) && DIG(3) && s[4] == '-' && DIG(5) && DIG(6) &&
	    s[7] == '-' && DIG(8) && DIG(9) && (n < 19 || (DIG(11) && DIG(12) && s[13] == ':' &&
	    DIG(14) && DIG(15) && s[16] == ':' && DIG(17) && DIG(18)))) {
		y = D2(s) * 100 + D2(s + 2), mo = D2(s + 5), d = D2(s + 8);
		if (n >= 19)
			h = D2(s + 11), mi = D2(s + 14), sec = D2(s + 17);
	} else {
		if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3)
			return 0;
		if (strlen(s) >= 19)
			sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &sec);
	}
#undef D2
#undef DIG
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* ---- dates ---- */

static int
month_of(const char *s, size_t n)
{
	static const char *const names[][4] = {
		{ "jan", "janv", "janvier", "january" }, { "fev", "fevr", "fevrier", "february" },
		{ "mar", "mars", "march", "" }, { "avr", "avril", "apr", "april" },
		{ "mai", "may", "", "" }, { "juin", "jun", "june", "" },
		{ "juil", "juillet", "jul", "july" }, { "aout", "aug", "august", "" },
		{ "sep", "sept", "septembre", "september" }, { "oct", "octobre", "october", "" },
		{ "nov", "novembre", "november", "" }, { "dec", "decembre", "december", "" },
	};
	for (int m = 0; m < 12; m++)
		for (int k = 0; k < 4; k++)
			if (strlen(names[m][k]) == n && !memcmp(names[m][k], s, n))
				return m + 1;
	if (n == 3 && !memcmp(s, "feb", 3))
		return 2;
	return 0;
}

static int
weekday_of(const char *s, size_t n)
{
	static const char *const fr[] = { "dimanche", "lundi", "mardi", "mercredi", "jeudi",
		"vendredi", "samedi" };
	static const char *const en[] = { "sunday", "monday", "tuesday", "wednesday",
		"thursday", "friday", "saturday" };
	for (int i = 0; i < 7; i++)
		if ((strlen(fr[i]) == n && !memcmp(fr[i], s, n)) ||
		    (strlen(en[i]) == n && !memcmp(en[i], s, n)))
			return i;
	return -1;
}

struct groups {
	const char *s;
	const int *num;            /* group numbers, by N_ */
	PCRE2_SIZE *ov;
};

static int
grp(const struct groups *g, int name, const char **p, size_t *n)
{
	int i = g->num[name];
	if (i <= 0 || g->ov[2 * i] == PCRE2_UNSET)
		return 0;
	*p = g->s + g->ov[2 * i];
	*n = g->ov[2 * i + 1] - g->ov[2 * i];
	return 1;
}

static int
grp_int(const struct groups *g, int name)
{
	const char *p;
	size_t n;
	if (!grp(g, name, &p, &n))
		return -1;
	return atoi(p);
}

static int
valid_ymd(int y, int m, int d, struct tm *out)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
	time_t t;

	if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31)
		return 0;
	t = timegm(&tm);
	gmtime_r(&t, out);
	return out->tm_mday == d && out->tm_mon == m - 1;
}

static int
resolve(const struct groups *g, time_t ref, char iso[24])
{
	const char *p;
	size_t n;
	struct tm tm, r;
	int y = -1, m = -1, d = -1, add = 0, have_ref = ref > 0;

	if (have_ref)
		gmtime_r(&ref, &r);
	if (grp(g, N_ISO, &p, &n)) {
		y = grp_int(g, N_IY), m = grp_int(g, N_IM), d = grp_int(g, N_ID);
	} else if (grp(g, N_NUM, &p, &n)) {
		const char *sep = "";   /* (the group always takes part in num) */
		size_t sn;
		d = grp_int(g, N_ND), m = grp_int(g, N_NM), y = grp_int(g, N_NY);
		grp(g, N_SEP, &sep, &sn);
		if (y < 0 && *sep == '.')
			return 0;
		if (y >= 0 && y < 100)
			y += 2000;
	} else if (grp(g, N_DMY, &p, &n)) {
		grp(g, N_DM, &p, &n);
		m = month_of(p, n), d = grp_int(g, N_DD), y = grp_int(g, N_DY);
	} else if (grp(g, N_MDY, &p, &n)) {
		grp(g, N_MM, &p, &n);
		m = month_of(p, n), d = grp_int(g, N_MD), y = grp_int(g, N_MY);
	} else if (!have_ref) {
		return 0;
	} else if (grp(g, N_REL, &p, &n)) {
		add = *p == 'a' && p[1] == 'u' ? 0 : *p == 't' && p[2] == 'd' ? 0 :
		    *p == 'a' ? 2 : *p == 'h' || *p == 'y' ? -1 : 1;
		if (n >= 5 && !memcmp(p, "today", 5))
			add = 0;
	} else if (grp(g, N_NEXTWEEK, &p, &n)) {
		add = ((8 - r.tm_wday) % 7) ? (8 - r.tm_wday) % 7 : 7;   /* next Monday */
	} else if (grp(g, N_WDN, &p, &n) || grp(g, N_WDB, &p, &n)) {
		int wd = -1, next = grp(g, N_WDN, &p, &n);
		if (grp(g, N_WD3, &p, &n) || grp(g, N_WD4, &p, &n) || grp(g, N_WD5, &p, &n))
			wd = weekday_of(p, n);
		if (wd < 0)
			return 0;
		add = (wd - r.tm_wday + 7) % 7;
		if (add == 0)
			add = 7;
		/* "jeudi prochain", "next Thursday": not this week's */
		int mon_ref = (r.tm_wday + 6) % 7, mon_d = (wd + 6) % 7;
		if (next && mon_d > mon_ref && add < 7)
			add += 7;
	} else if (grp(g, N_INN, &p, &n)) {
		const char *u = "";
		size_t un;
		add = grp_int(g, N_NN);
		grp(g, N_UNIT, &u, &un);
		if (*u == 's' || *u == 'w')
			add *= 7;
	} else
		return 0;
	if (m < 0) {
		time_t t = ref + (time_t)add * 86400;
		gmtime_r(&t, &tm);
	} else {
		if (m == 0)
			return 0;
		if (y < 0) {
			if (!have_ref)
				return 0;
			y = r.tm_year + 1900;
			if (!valid_ymd(y, m, d, &tm))
				return 0;
			if (timegm(&tm) < ref - 90 * 86400)
				y++;
		}
		if (!valid_ymd(y, m, d, &tm))
			return 0;
	}
	strftime(iso, 11, "%Y-%m-%d", &tm);
	int hh = grp_int(g, N_HH), mi = grp_int(g, N_MI);
	if (hh >= 0) {
		if (grp(g, N_AP, &p, &n) && *p == 'p' && hh < 12)
			hh += 12;
		if (hh > 23 || mi > 59)
			return 1;
		snprintf(iso + 10, 14, "T%02d:%02d", hh, mi < 0 ? 0 : mi);
	}
	return 1;
}

int
crm_entities_date_at(struct crm_entities *e, const char *folded, size_t fn,
    size_t at, time_t ref, char iso[11], size_t *end)
{
	char full[24];

	while (at < fn && folded[at] == ' ')
		at++;
	if (pcre2_match(e->date_at, (PCRE2_SPTR)folded, fn, at, PCRE2_NO_UTF_CHECK, e->md, e->mc) < 0)
		return 0;
	struct groups g = { folded, e->gnum, pcre2_get_ovector_pointer(e->md) };
	if (!resolve(&g, ref, full))
		return 0;
	memcpy(iso, full, 10);
	iso[10] = 0;
	if (end)
		*end = g.ov[1];
	return 1;
}


static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Can date_pattern match at f[p], a word start whose word ends at q?
 * What each alternative needs first, read off the pattern: at digits,
 * "dddd-" (iso), "d/d" or "dd.d" (num), "dd", maybe a suffix, blanks,
 * maybe "of" and blanks, and a month (dmy);
 * at a month, ".", then blanks and a digit (mdy); "la semaine
 * prochaine"; "next" or "dans"/"in" and a blank (the latter then a
 * digit); at a weekday or a relative day, always.  A non-ASCII
 * character where a blank or a digit is needed may be one (Unicode \s,
 * \d): the pattern decides then.  Keep this in step with date_pattern. */
/* After blanks at f[r], and "of" and blanks, a month name (a whole
 * word; or anything non-ASCII, which the pattern judges)? */
static int
month_next(struct crm_entities *e, const char *f, size_t fn, size_t r)
{
	const unsigned char *u = (const unsigned char *)f;
	double kind;

	for (int of = 0; of < 2; of++) {
		if (r < fn && u[r] >= 0x80)
			return 1;
		if (!(r < fn && is_space(u[r])))
			return 0;
		while (r < fn && is_space(u[r]))
			r++;
		size_t q = r;
		while (q < fn && is_word_byte(u[q]) && u[q] < 0x80)
			q++;
		if (q < fn && u[q] >= 0x80)
			return 1;
		if (crm_lexicon_get(e->datewords, f + r, q - r, &kind) && (int)kind == D_MONTH)
			return 1;
		if (!(q - r == 2 && f[r] == 'o' && f[r + 1] == 'f'))
			return 0;
		r = q;
	}
	return 0;
}

static int
date_may_start(struct crm_entities *e, const char *f, size_t fn, size_t p, size_t q)
{
	const unsigned char *u = (const unsigned char *)f;
	double kind;
	size_t r;

	if (is_digit(u[p])) {
		size_t d = 0;
		while (p + d < fn && is_digit(u[p + d]))
			d++;
		if (p + d >= fn)
			return 0;
		unsigned char x = u[p + d];
		if (x >= 0x80)
			return d < 4;
		if (d == 4)
			return x == '-';
		if (d > 2)
			return 0;
		if (x == '/' || x == '.')   /* num: "5/11", "5.11" */
			return p + d + 1 < fn && (is_digit(u[p + d + 1]) || u[p + d + 1] >= 0x80);
		/* dmy: "5 nov", "5th of November", "1er mars" */
		static const char *const suffix[] = { "", "er", "st", "nd", "rd", "th", "e" };
		static const unsigned char sufl[] = { 0, 2, 2, 2, 2, 2, 1 };
		for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
			size_t sl = sufl[k];
			r = p + d + sl;
			if (r >= fn || memcmp(f + p + d, suffix[k], sl) || !(is_space(u[r]) || u[r] >= 0x80))
				continue;
			if (month_next(e, f, fn, r))
				return 1;
		}
		return 0;
	}
	if (!crm_lexicon_maybe(e->dw_filter, f + p, q - p) ||
	    !crm_lexicon_get(e->datewords, f + p, q - p, &kind))
		return 0;
	switch ((int)kind) {
	case D_ALWAYS:
		return 1;
	case D_LA:
		return fn - p >= 20 && !memcmp(f + p, "la semaine prochaine", 20);
	case D_NEXT:
		return q < fn && (is_space(u[q]) || u[q] >= 0x80);
	case D_MONTH:
	case D_IN:
		r = q;
		if ((int)kind == D_MONTH && r < fn && u[r] == '.')
			r++;
		if (!(r < fn && (is_space(u[r]) || u[r] >= 0x80)))
			return 0;
		while (r < fn && is_space(u[r]))
			r++;
		return r < fn && (is_digit(u[r]) || u[r] >= 0x80);
	}
	return 1;
}

/* Dates start at a word that is a number or a date word: the anchored
 * pattern is tried only there, and only when what follows may fit. */
static void
dates(struct crm_entities *e, const char *f, size_t fn, time_t ref, struct crm_ent_set *set)
{
	size_t p = 0, found = 0;

	while (p < fn && found < 32) {
		unsigned char c = (unsigned char)f[p];
		if (!is_word_byte(c) || (p > 0 && is_word_byte((unsigned char)f[p - 1]))) {
			p++;
			continue;
		}
		size_t q = p;
		while (q < fn && (cclass[(unsigned char)f[q]] & C_DTOK))
			q++;
		if (!date_may_start(e, f, fn, p, q) ||
		    pcre2_match(e->date_at, (PCRE2_SPTR)f, fn, p, PCRE2_NO_UTF_CHECK, e->md, e->mc) < 0) {
			p = q;
			continue;
		}
		struct groups g = { f, e->gnum, pcre2_get_ovector_pointer(e->md) };
		size_t s = g.ov[0], t = g.ov[1];
		if (resolve(&g, ref, set->date_value[found])) {
			while (t > s && f[t - 1] == ' ')
				t--;
			set->dates[found++] = (struct crm_ent_str){ f + s, t - s };
		}
		p = g.ov[1] > p ? g.ov[1] : q;
	}
	set->ndates = found;
}

/* ---- lists of strings (the arrays of the "entities" object) ---- */

struct list {
	struct crm_ent_str *v;
	size_t *n, max;
};

static int
has_str(const struct list *l, const char *s, size_t n)
{
	for (size_t i = 0; i < *l->n; i++)
		if (l->v[i].n == n && !memcmp(l->v[i].s, s, n))
			return 1;
	return 0;
}

/* ---- e-mail addresses and phones ---- */

static int
email_byte(unsigned char c)
{
	return cclass[c] & C_EMAIL;
}

/* Into set's emails and phones (either skipped when its flag is 0). */
static void
contacts(struct crm_entities *e, const char *text, size_t n, struct crm_ent_set *set,
    int want_emails, int want_phones)
{
	const char *at = text, *end = text + n;
	size_t digits = 0;
	struct list emails = { set->emails, &set->nemails, 32 };
	struct list phones = { set->phones, &set->nphones, 16 };

	while (want_emails && (at = memchr(at, '@', (size_t)(end - at))) != NULL) {
		size_t p = (size_t)(at - text);
		while (p > 0 && email_byte((unsigned char)text[p - 1]))
			p--;
		at++;
		if (pcre2_match(e->email, (PCRE2_SPTR)text, n, p, PCRE2_NO_UTF_CHECK, e->md, e->mc) < 0)
			continue;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
		char buf[sizeof set->email_buf[0]];
		size_t len = ov[1] - ov[0];
		if (len < sizeof buf) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)tolower((unsigned char)text[ov[0] + i]);
			while (len && buf[len - 1] == '.')
				len--;
			if (!has_str(&emails, buf, len) && set->nemails < 32) {
				char *keep = set->email_buf[set->nemails];
				memcpy(keep, buf, len);
				set->emails[set->nemails++] = (struct crm_ent_str){ keep, len };
			}
		}
		at = text + ov[1];
	}
	for (size_t i = 0; want_phones && i < n && digits < 8; i++)
		digits += is_digit((unsigned char)text[i]) != 0;
	for (size_t p = 0; want_phones && digits >= 8 && p < n;) {
		/* numbers are written with a country code or a trunk 0 ("06 12...",
		 * "(0)1..."); other digit runs are amounts, dates, references */
		while (p < n && !(cclass[(unsigned char)text[p]] & C_PHONE))
			p++;
		if (p >= n)
			break;
		if (p > 0 && ((cclass[(unsigned char)text[p - 1]] & C_ALNUM) || text[p - 1] == '+')) {
			p++;
			continue;
		}
		if (pcre2_match(e->phone, (PCRE2_SPTR)text, n, p, PCRE2_NO_UTF_CHECK, e->md, e->mc) < 0) {
			p++;
			continue;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
		char *e164 = set->phone_buf[set->nphones < 16 ? set->nphones : 15];
		int nd = 0;
		for (size_t i = ov[0]; i < ov[1]; i++)
			nd += is_digit((unsigned char)text[i]) != 0;
		p = ov[1] > p ? ov[1] : p + 1;
		if (nd < 8 || nd > 15 || set->nphones >= 16)
			continue;
		if (crm_phone_parse(text + ov[0], ov[1] - ov[0], "FR", e164) != CRM_PHONE_INVALID &&
		    !has_str(&phones, e164, strlen(e164)))
			set->phones[set->nphones++] = (struct crm_ent_str){ e164, strlen(e164) };
	}
}

static void
to_array(json_object *arr, const struct crm_ent_str *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string_len(v[i].s, (int)v[i].n));
}

void
crm_entities_contacts(struct crm_entities *e, const char *text, size_t n,
    json_object *emails, json_object *phones)
{
	struct crm_ent_set *set = &e->scratch;

	set->nemails = set->nphones = 0;
	contacts(e, text, n, set, emails != NULL, phones != NULL);
	if (emails)
		to_array(emails, set->emails, set->nemails);
	if (phones)
		to_array(phones, set->phones, set->nphones);
}

/* ---- names ---- */

struct tok {
	unsigned s, e;              /* byte range in the line */
	unsigned char cap;          /* starts with an upper-case letter */
	unsigned char punct_after;  /* a comma, colon, parenthesis... follows before the next word */
	unsigned char dot_after;
};

static int
is_upper_at(const char *s, size_t n)
{
	if (n && !((unsigned char)s[0] & 0x80))
		return s[0] >= 'A' && s[0] <= 'Z';   /* Lu in ASCII; no Lt there */
	utf8proc_int32_t c;
	if (utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c) <= 0)
		return 0;
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
}


/* Split one line into words (letters, digits, inner ' - . &). */
static size_t
tokenize(const char *s, size_t n, struct tok *t, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;

	while (i < n && k < max) {
		unsigned char c = u[i], cl = cclass[c];
		if (!(cl & C_WORD)) {
			if (c == '&')
				t[k++] = (struct tok){ (unsigned)i, (unsigned)i + 1, 0, 0, 0 };
			else if (k && (cl & C_PUNCT))   /* "," ":" "(" "-" ... */
				t[k - 1].punct_after = 1;
			else if (k && c == '.')
				t[k - 1].dot_after = 1;
			i++;
			continue;
		}
		size_t b = i;
		for (;;) {
			while (i < n && (cclass[u[i]] & C_WORD))
				i += u[i] == 0xE2 ? 3 : 1;   /* U+20xx: the whole character */
			if (!(i + 1 < n && (u[i] == '-' || u[i] == '\'') && (cclass[u[i + 1]] & C_WORD)))
				break;
			i++;
		}
		t[k++] = (struct tok){ (unsigned)b, (unsigned)i, (unsigned char)is_upper_at(s + b, n - b),
			0, 0 };
	}
	return k;
}

/* The gazetteer flags of a word (0: in none). */
static unsigned
lookup(struct crm_entities *e, const char *s, size_t n)
{
	char w[64];
	size_t i;
	double v = 0;

	for (i = 0; i < n && i < sizeof w && !((unsigned char)s[i] & 0x80); i++)
		w[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	if (i == n) {   /* ASCII: folding is lower-casing */
		if (!crm_lexicon_maybe(e->gaz_filter, w, n) || !crm_lexicon_get(e->gaz, w, n, &v))
			return 0;
		return (unsigned)v;
	}
	crm_buf_reset(&e->tmp);
	crm_fold(&e->tmp, s, n, 0);
	if (!e->tmp.len || !crm_lexicon_get(e->gaz, e->tmp.s, e->tmp.len, &v))
		return 0;
	return (unsigned)v;
}

/* Flags of a token; a hyphenated first name ("Jean-Marc") by its first part too. */
static unsigned
token_flags(struct crm_entities *e, const char *s, size_t n)
{
	unsigned f = lookup(e, s, n);
	const char *dash = memchr(s, '-', n);

	if (dash && !(f & G_FIRST))
		f |= lookup(e, s, (size_t)(dash - s)) & G_FIRST;
	return f;
}

static int
connector(const char *s, size_t n)
{
#define IS(w) (!memcmp(s, w, sizeof w - 1))
	switch (n) {
	case 1:
		return s[0] == '&';
	case 2:
		return IS("de") || IS("du") || IS("la") || IS("le") || IS("di") || IS("da") ||
		    IS("et") || IS("of");
	case 3:
		return IS("des") || IS("van") || IS("von") || IS("der") || IS("and");
	}
	return 0;
#undef IS
}

static int
street(const char *s, size_t n)
{
	static const char *const w[] = { "rue", "avenue", "av", "boulevard", "bd", "place",
		"allee", "quai", "impasse", "chemin", "cours", "square", "route", "street", "road",
		"lane", NULL };
	char low[16];

	if (n >= sizeof low || n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	if (!strchr("rabpaqicsl", low[0]))
		return 0;
	for (const char *const *p = w; *p; p++)
		if ((*p)[0] == low[0] && strlen(*p) == n && !memcmp(*p, low, n))
			return 1;
	return n == 6 && !memcmp(low, "all\xc3\xa9" "e", 6);
}

static void
add_unique(struct list *l, const char *s, size_t n)
{
	if (!l || n == 0 || n > 120 || has_str(l, s, n) || *l->n >= l->max)
		return;
	l->v[(*l->n)++] = (struct crm_ent_str){ s, n };
}

/* Is there an ASCII capital or a byte that may begin a non-ASCII one
 * (0xC0 and up) in s?  Eight bytes at a time. */
static int
may_have_capital(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v, low;
		memcpy(&v, s + i, 8);
		if (v & (v << 1) & high)
			return 1;   /* 11xxxxxx: a lead byte */
		low = v & ~high;   /* the low seven bits of each byte, < 0x80 */
		if (((low + ones * (0x80 - 'A')) & ~(low + ones * (0x80 - 'Z' - 1)) & ~v & high))
			return 1;   /* an ASCII byte in 'A'..'Z' */
	}
	for (; i < n; i++)
		if ((s[i] >= 'A' && s[i] <= 'Z') || (unsigned char)s[i] >= 0xC0)
			return 1;
	return 0;
}

static void
names_line(struct crm_entities *e, const char *s, size_t n, struct list *persons,
    struct list *orgs, struct list *locs)
{
	struct tok t[128];
	unsigned fl[128];

	if (!may_have_capital(s, n))
		return;   /* every name starts with a capital */
	size_t k = tokenize(s, n, t, 128), i = 0;

	for (size_t m = 0; m < k; m++)
		fl[m] = t[m].cap ? token_flags(e, s + t[m].s, t[m].e - t[m].s) : 0;
	while (i < k) {
		/* a title and the capitalised words after it: a person */
		if ((fl[i] & G_TITLE) && i + 1 < k && t[i + 1].cap && !t[i].punct_after) {
			size_t j = i + 1;
			while (j < k && j < i + 4 && t[j].cap) {
				j++;
				if (t[j - 1].punct_after || t[j - 1].dot_after)
					break;
			}
			add_unique(persons, s + t[i + 1].s, t[j - 1].e - t[i + 1].s);
			i = j;
			continue;
		}
		if (!t[i].cap) {
			i++;
			continue;
		}
		/* a run of capitalised words, with connectors inside */
		size_t j = i + 1;
		while (j < k && !t[j - 1].punct_after && !t[j - 1].dot_after) {
			if (t[j].cap) {
				j++;
				continue;
			}
			if (connector(s + t[j].s, t[j].e - t[j].s) && j + 1 < k && t[j + 1].cap &&
			    !t[j].punct_after) {
				j += 2;
				continue;
			}
			break;
		}
		/* "12 avenue Jean Jaurès": a street, not a person */
		if (i > 0 && street(s + t[i - 1].s, t[i - 1].e - t[i - 1].s)) {
			i = j;
			continue;
		}
		int org = 0;
		for (size_t m = i; m < j && !org; m++)
			org = (fl[m] & G_FORM) != 0;
		size_t a = i;
		/* greetings and sentence words before a name: "Bonjour Sophie Marchand" */
		while (a < j && !(fl[a] & G_FIRST) && (fl[a] & G_STOP))
			a++;
		if (org && j - a >= 2) {
			add_unique(orgs, s + t[a].s, t[j - 1].e - t[a].s);
		} else if (j - a >= 2 && (fl[a] & G_FIRST) && !(fl[a + 1] & G_FORM)) {
			size_t b = a + 1;
			while (b + 1 < j && b < a + 2 && t[b + 1].cap)
				b++;
			add_unique(persons, s + t[a].s, t[b].e - t[a].s);
		} else if (locs) {
			for (size_t m = a; m < j; m++) {
				size_t l2 = m + 1 < j ? t[m + 1].e - t[m].s : 0;
				if (l2 && (lookup(e, s + t[m].s, l2) & G_PLACE)) {
					add_unique(locs, s + t[m].s, l2);
					m++;
				} else if (fl[m] & G_PLACE)
					add_unique(locs, s + t[m].s, t[m].e - t[m].s);
			}
		}
		i = j;
	}
}

static void
names(struct crm_entities *e, const char *text, size_t n, struct list *persons,
    struct list *orgs, struct list *locs)
{
	const char *p = text, *end = text + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && *p != '>')
			names_line(e, p, len, persons, orgs, locs);
		p += len + 1;
	}
}

void
crm_entities_names(struct crm_entities *e, const char *text, size_t n,
    json_object *persons, json_object *orgs)
{
	struct crm_ent_set *set = &e->scratch;
	struct list pl = { set->persons, &set->npersons, 16 }, ol = { set->orgs, &set->norgs, 16 };

	set->npersons = set->norgs = 0;
	names(e, text, n, persons ? &pl : NULL, orgs ? &ol : NULL, NULL);
	if (persons)
		to_array(persons, set->persons, set->npersons);
	if (orgs)
		to_array(orgs, set->orgs, set->norgs);
}

/* ---- keywords and sentiment (folded words) ---- */

struct word {
	const char *s;
	size_t n;
	int count, first;
};

static int
cmp_word(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	if (x->count != y->count)
		return y->count - x->count;
	return x->first - y->first;
}

/* Is the folded word w one of the words of names (folded, space-separated)? */
static int
in_names(const struct crm_buf *names, const char *w, size_t n)
{
	if (!names->len)
		return 0;   /* (and names->s may be NULL) */
	const char *p = names->s, *end = names->s + names->len;

	while (p < end) {
		const char *q = memchr(p, ' ', (size_t)(end - p));
		size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
		if (len == n && !memcmp(p, w, n))
			return 1;
		p = q ? q + 1 : end;
	}
	return 0;
}

static void
keywords(struct crm_entities *e, const char *f, size_t fn, const struct crm_buf *names,
    struct crm_ent_set *set)
{
	struct word w[256];
	struct crm_ent_str away[192];   /* words turned away (stop words, names) */
	short slot[512] = { 0 };        /* index + 1 into w, or -(index + 1) into away */
	size_t nw = 0, naway = 0, i = 0;
	int pos = 0;

	while (i < fn) {
		while (i < fn && !is_word_byte((unsigned char)f[i]))
			i++;
		size_t b = i;
		unsigned cls = 0;
		uint64_t h = 1469598103934665603ULL;   /* FNV-1a, as crm_fnv1a() */
		for (;;) {
			while (i < fn && (cclass[(unsigned char)f[i]] & C_WORD)) {
				cls |= cclass[(unsigned char)f[i]];
				h = (h ^ (unsigned char)f[i++]) * 1099511628211ULL;
			}
			if (!(i + 1 < fn && f[i] == '-' && is_word_byte((unsigned char)f[i + 1])))
				break;
			h = (h ^ (unsigned char)f[i++]) * 1099511628211ULL;
		}
		size_t n = i - b;
		if (n < 4 || n > 40 || (cls & C_DIGIT))
			continue;
		/* each distinct word is judged once: open addressing over the
		 * words kept and turned away (at most 448 of 512 slots) */
		size_t s = (size_t)h & 511;
		for (; slot[s]; s = (s + 1) & 511) {
			const char *os = slot[s] > 0 ? w[slot[s] - 1].s : away[-slot[s] - 1].s;
			size_t on = slot[s] > 0 ? w[slot[s] - 1].n : away[-slot[s] - 1].n;
			if (on == n && !memcmp(os, f + b, n))
				break;
		}
		if (slot[s] > 0) {
			w[slot[s] - 1].count++;
			continue;
		}
		if (slot[s] < 0)
			continue;
		if ((crm_lexicon_maybe(e->gaz_filter, f + b, n) && crm_lexicon_get(e->gaz, f + b, n, NULL)) ||
		    in_names(names, f + b, n)) {
			/* stop words, names (the persons found, first names, titles,
			 * places) are not topics */
			if (naway < sizeof away / sizeof away[0]) {
				away[naway++] = (struct crm_ent_str){ f + b, n };
				slot[s] = (short)-naway;
			}
			continue;
		}
		if (nw < 256) {
			w[nw] = (struct word){ f + b, n, 1, pos++ };
			slot[s] = (short)++nw;
		}
	}
	/* the first five in cmp_word's order (a total order: first is unique) */
	const struct word *top[5];
	size_t nt = 0;
	for (size_t k = 0; k < nw; k++) {
		size_t j = nt < 5 ? nt++ : 5;
		if (j == 5 && cmp_word(&w[k], top[4]) >= 0)
			continue;
		if (j == 5)
			j = 4;
		while (j > 0 && cmp_word(&w[k], top[j - 1]) < 0) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = &w[k];
	}
	for (size_t k = 0; k < nt; k++)
		set->keywords[k] = (struct crm_ent_str){ top[k]->s, top[k]->n };
	set->nkeywords = nt;
}

double
crm_entities_sentiment(struct crm_entities *e, const char *f, size_t fn)
{
	size_t i = 0;
	int since_neg = 99;
	double sum = 0;

	while (i < fn) {
		while (i < fn && !(cclass[(unsigned char)f[i]] & C_STOK)) {
			if (f[i] == '.' || f[i] == '!' || f[i] == '?' || f[i] == ',' || f[i] == '\n')
				since_neg = 99;
			i++;
		}
		size_t b = i;
		while (i < fn && (cclass[(unsigned char)f[i]] & C_STOK))
			i++;
		size_t n = i - b;
		if (!n) {
			i++;
			continue;
		}
		if (n > 1 && f[b + n - 1] == '\'')
			n--;
		double v;
		if (crm_negation_word(f + b, n)) {
			since_neg = 0;
			continue;
		}
		since_neg++;
		if (crm_lexicon_maybe(e->senti_filter, f + b, n) && crm_lexicon_get(e->senti, f + b, n, &v))
			sum += since_neg <= 3 ? -0.8 * v : v;
	}
	double s = sum / (fabs(sum) + 2);
	return round(s * 100) / 100;
}

void
crm_entities_scan(struct crm_entities *e, const char *text, size_t n,
    const char *folded, size_t fn, time_t ref, struct crm_ent_set *set)
{
	struct list pl = { set->persons, &set->npersons, 16 }, ol = { set->orgs, &set->norgs, 16 };
	struct list ll = { set->locs, &set->nlocs, 16 };

	set->npersons = set->norgs = set->nlocs = set->ndates = 0;
	set->nphones = set->nemails = set->nkeywords = 0;
	names(e, text, n, &pl, &ol, &ll);
	dates(e, folded, fn, ref, set);
	contacts(e, text, n, set, 1, 1);
	crm_buf_reset(&e->names);
	for (size_t i = 0; i < set->npersons; i++) {
		if (e->names.len)
			crm_buf_addc(&e->names, ' ');
		crm_fold(&e->names, set->persons[i].s, set->persons[i].n, 0);
	}
	keywords(e, folded, fn, &e->names, set);
}

json_object *
crm_entities_json(const struct crm_ent_set *set)
{
	json_object *o = json_object_new_object(), *a;

	to_array(a = json_object_new_array(), set->persons, set->npersons);
	json_object_object_add(o, "persons", a);
	to_array(a = json_object_new_array(), set->orgs, set->norgs);
	json_object_object_add(o, "organisations", a);
	to_array(a = json_object_new_array(), set->locs, set->nlocs);
	json_object_object_add(o, "locations", a);
	a = json_object_new_array();
	for (size_t i = 0; i < set->ndates; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "text",
		    json_object_new_string_len(set->dates[i].s, (int)set->dates[i].n));
		json_object_object_add(d, "value", json_object_new_string(set->date_value[i]));
		json_object_array_add(a, d);
	}
	json_object_object_add(o, "dates", a);
	to_array(a = json_object_new_array(), set->phones, set->nphones);
	json_object_object_add(o, "phones", a);
	to_array(a = json_object_new_array(), set->emails, set->nemails);
	json_object_object_add(o, "emails", a);
	to_array(a = json_object_new_array(), set->keywords, set->nkeywords);
	json_object_object_add(o, "keywords", a);
	return o;
}

static void
render_list(struct crm_buf *b, const char *key, const struct crm_ent_str *v, size_t n)
{
	crm_buf_adds(b, key);
	crm_buf_addc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			crm_buf_addc(b, ',');
		crm_json_escape(b, v[i].s, v[i].n);
	}
	crm_buf_addc(b, ']');
}

void
crm_entities_render(const struct crm_ent_set *set, struct crm_buf *b)
{
	render_list(b, "{\"persons\":", set->persons, set->npersons);
	render_list(b, ",\"organisations\":", set->orgs, set->norgs);
	render_list(b, ",\"locations\":", set->locs, set->nlocs);
	crm_buf_adds(b, ",\"dates\":[");
	for (size_t i = 0; i < set->ndates; i++) {
		crm_buf_adds(b, i ? ",{\"text\":" : "{\"text\":");
		crm_json_escape(b, set->dates[i].s, set->dates[i].n);
		crm_buf_adds(b, ",\"value\":");
		crm_json_escape(b, set->date_value[i], strlen(set->date_value[i]));
		crm_buf_addc(b, '}');
	}
	crm_buf_addc(b, ']');
	render_list(b, ",\"phones\":", set->phones, set->nphones);
	render_list(b, ",\"emails\":", set->emails, set->nemails);
	render_list(b, ",\"keywords\":", set->keywords, set->nkeywords);
	crm_buf_addc(b, '}');
}

json_object *
crm_entities_extract(struct crm_entities *e, const char *text, size_t n,
    const char *folded, size_t fn, time_t ref)
{
	crm_entities_scan(e, text, n, folded, fn, ref, &e->scratch);
	return crm_entities_json(&e->scratch);
}
