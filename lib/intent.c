/* intent.c — see intent.h.
 *
 * One pass per message: the reply (body.reply when crm-parse-signature
 * ran, else quote.h's split of text), capped, is folded once; the rules
 * (wrules.h) scan it once and the subject once; each rule counts at most
 * once per message (each=N: N times); a negated match counts for its
 * neg= label.  The
 * automatic-mail decision (autodetect.h) then bends the result: a bounce
 * or list message is "other", an absence is "out_of_office", an
 * automatic reply is "other" unless it names someone else to write to
 * (a referral, with twice the usual evidence).  Below the threshold
 * the label is "other".
 *
 * Confidence is (1 - e^-best) * best / (best + second): one strong rule
 * gives about 0.9, two labels tied give half of that.
 *
 * Mail clients that send plain text wrap paragraphs near 72-78
 * columns, so a phrase ("quelle\nrétrocession") or a negation's scope can
 * straddle a line break; the rules read a copy in which such soft breaks
 * are blanks (join_wrapped), while short lines, lists, quotes and
 * sentence ends keep their breaks.
 *
 * The decision (judge) fills a plain struct; crm_intent_classify() turns
 * it into json-c objects, crm_intent_render() into the JSON text json-c
 * would write for them (doubles formatted by json-c once per value and
 * remembered), which is what crm-intent prints: building objects only
 * to serialise them cost more than deciding.  The record's headers and
 * sender are read once (crm_autodetect_facts) for both decisions. */
#include "intent.h"
#include "autodetect.h"
#include "config.h"
#include "entities.h"
#include "exitcode.h"
#include "fold.h"
#include "html.h"
#include "jsonl.h"
#include "log.h"
#include "quote.h"
#include "signature.h"
#include "wrules.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const crm_intent_labels[] = {
	"meeting_request", "quote_request", "information_request", "interested",
	"not_interested", "referral", "follow_up", "complaint", "unsubscribe",
	"out_of_office", "other", NULL
};
enum { L_REFERRAL = 5, L_OOO = 9, L_OTHER = 10, NINTENT = 11 };

static const char *const all_labels[] = {
	"meeting_request", "quote_request", "information_request", "interested",
	"not_interested", "referral", "follow_up", "complaint", "unsubscribe",
	"out_of_office", "other",
	"auto.out_of_office", "auto.bounce", "auto.auto_reply", "auto.mailing_list", NULL
};
enum { A_OOO = 11, A_BOUNCE, A_REPLY, A_LIST, NLABELS };

#define MAXMATCH 256

/* What one message gives, before it is written as JSON objects
 * (crm_intent_classify) or as their text (crm_intent_render). */
struct verdict {
	int machine;                  /* settled by the headers: text not read */
	int kind;                     /* CRM_AUTO_* */
	int label;
	double conf, sentiment;
	double sc[NLABELS];
	json_object *detail;          /* auto_detail, or NULL */
	int entities;                 /* ie->set holds them */
};

/* json-c's text of a double, by its bits (json-c itself writes each once). */
struct dcache {
	uint64_t bits;
	unsigned char len, used;
	char s[30];
};

struct crm_intent {
	struct crm_wrules *rules;
	struct crm_entities *ent;
	struct crm_sig_rules *sig;    /* to find the sender's signature block */
	size_t max_text;
	double threshold;
	int no_entities;
	struct crm_buf fold, subj;
	struct crm_buf read;          /* fold with addresses blanked: what the rules read */
	unsigned char *seen;
	struct crm_wmatch m[MAXMATCH];
	struct crm_ent_set set;
	struct crm_buf out[3];        /* crm_intent_render(): intent, auto_detail, entities */
	char *reply;                  /* the last message's reply (the entities point into it) */
	struct dcache dc[1024];
};

struct crm_intent *
crm_intent_new(const struct crm_intent_opts *o)
{
	struct crm_intent *ie = crm_xcalloc(1, sizeof *ie);

	ie->rules = crm_wrules_new(all_labels);
	crm_wrules_load(ie->rules, crm_rules_path("intent/intent.rules"));
	crm_wrules_load(ie->rules, crm_rules_path("intent/auto.rules"));
	for (const char *const *f = o->rules; f && *f; f++)
		crm_wrules_load(ie->rules, *f);
	crm_wrules_compile(ie->rules);
	ie->seen = crm_xcalloc(crm_wrules_count(ie->rules) + 1, 1);
	ie->ent = crm_entities_new();
	char err[512];
	if (!(ie->sig = crm_sig_rules_load(NULL, err, sizeof err)))
		crm_die(CRM_EXIT_USAGE, "%s", err);
	ie->max_text = o->max_text ? o->max_text : 2048;
	ie->threshold = o->threshold > 0 ? o->threshold : 1.2;
	ie->no_entities = o->no_entities;
	return ie;
}

void
crm_intent_free(struct crm_intent *ie)
{
	if (!ie)
		return;
	crm_wrules_free(ie->rules);
	crm_entities_free(ie->ent);
	crm_sig_rules_free(ie->sig);
	crm_buf_free(&ie->fold);
	crm_buf_free(&ie->read);
	crm_buf_free(&ie->subj);
	for (int i = 0; i < 3; i++)
		crm_buf_free(&ie->out[i]);
	free(ie->seen);
	free(ie->reply);
	free(ie);
}

/* "Re:", "RE :", "TR:", "Fwd:", "AW:", "WG:", "RV:", "Réf." ... */
static int
subject_is_reply(const char *s)
{
	static const char *const p[] = { "re", "tr", "fw", "fwd", "aw", "wg", "rv", "ref", "sv", NULL };
	while (*s == ' ')
		s++;
	for (const char *const *q = p; *q; q++) {
		size_t n = strlen(*q);
		if (!strncmp(s, *q, n)) {
			const char *t = s + n;
			while (*t == ' ')
				t++;
			if (*t == ':')
				return 1;
		}
	}
	return 0;
}

static void
explain_match(struct crm_buf *ex, const struct crm_wrule *r, const char *t,
    const struct crm_wmatch *m, const char *where, int label, int counted)
{
	crm_buf_printf(ex, "  %-20s %+5.2f  %s (%s:%ld, %s%s%s): \"%.*s\"\n",
	    label >= 0 ? all_labels[label] : "none", counted ? r->weight : 0.0, r->id, r->file,
	    r->line, where, m->negated ? ", negated" : "", counted ? "" : ", counted already",
	    (int)(m->end - m->start), t + m->start);
}

static void
score(struct crm_intent *ie, unsigned scope, const char *t, size_t n, int intent_too,
    double *sc, struct crm_buf *ex)
{
	size_t k = crm_wrules_scan(ie->rules, scope, t, n, ie->m, MAXMATCH);

	for (size_t i = 0; i < k; i++) {
		const struct crm_wrule *r = crm_wrules_rule(ie->rules, ie->m[i].rule);
		int label = ie->m[i].negated ? r->neg : r->label;
		int counted = ie->seen[ie->m[i].rule] < r->each;
		if (label >= 0 && label < NINTENT && !intent_too)
			continue;
		if (ex)
			explain_match(ex, r, t, &ie->m[i], scope == CRM_WR_SUBJECT ? "subject" : "body",
			    label, counted && label >= 0);
		if (label < 0 || !counted)
			continue;
		ie->seen[ie->m[i].rule]++;
		sc[label] += r->weight;
	}
}

static double
round2(double x)
{
	return round(x * 100) / 100;
}

/* The reply: body.reply, else the quote split of text. */
static char *
reply_of(json_object *rec, const char *subject, size_t max, size_t *n)
{
	json_object *body = crm_get(rec, "body");
	const char *r = body ? crm_get_str(body, "reply") : NULL;
	const char *text = crm_get_str(rec, "text");
	struct crm_body b;

	/* only max bytes are read, and the one after tells whether it cuts a
	 * character: the rest is not even measured */
	if (r) {
		*n = strnlen(r, max + 1);
		return crm_xstrndup(r, *n);
	}
	if (!text) {
		*n = 0;
		return crm_xstrdup("");
	}
	/* the reply comes first: splitting more than we read is wasted */
	size_t len = strnlen(text, max + 1);
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	crm_quote_split_subject(text, len, subject, &b);
	char *out = b.reply;
	*n = b.reply_len;
	b.reply = NULL;
	crm_body_free(&b);
	return out ? out : crm_xstrdup("");
}

/* Bounces and list traffic settled by their headers: no person wrote
 * them, so their text is not read (no scores, no entities). */
static int
machine_mail(struct crm_intent *ie, const struct crm_auto_facts *af, struct verdict *v,
    struct crm_buf *ex)
{
	const char *why;
	json_object *rec = af->rec;
	int kind = crm_autodetect_headers_f(af, &why);

	if (kind < 0)
		return 0;
	v->machine = 1;
	v->kind = kind;
	v->label = L_OTHER;
	v->conf = 0.95;
	v->detail = kind == CRM_AUTO_BOUNCE ?
	    crm_auto_detail(ie->ent, kind, rec, NULL, 0, NULL, 0, 0) : NULL;
	if (ex)
		crm_buf_printf(ex, "  auto: %s (%s, from the headers alone; text not read)\n"
		    "  intent: other, confidence 0.95\n", crm_auto_name(kind), why);
	return 1;
}

/* A soft line break: the line before it is long (a client wrapped it),
 * does not end a sentence or introduce a list, is not quoted, and the
 * next line goes on with text.  Such breaks become blanks in place. */
enum { WRAP_MIN = 50 };

static void
join_wrapped(char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		size_t len = i - start, e = i;
		while (e > start && s[e - 1] == ' ')
			e--;
		char last = e > start ? s[e - 1] : 0, next = i + 1 < n ? s[i + 1] : 0;
		if (len >= WRAP_MIN && s[start] != '>' && !strchr(".!?:;", last) &&
		    next && !strchr("\n>-*", next))
			s[i] = ' ';
		start = i + 1;
	}
}

/* "[image: Logo]", "[image: Editors' Choice]": an image's alt text, as
 * crm-sync and Gmail write it in the text.  Pictures say nothing of what
 * the sender wants: their spans become blanks in place. */
static void
blank_images(char *s, size_t n)
{
	char *p = s, *e = s + n;

	while ((p = memmem(p, (size_t)(e - p), CRM_HTML_IMAGE_OPEN, CRM_HTML_IMAGE_OPEN_LEN))) {
		char *c = memchr(p, ']', (size_t)(e - p));
		char *nl = memchr(p, '\n', (size_t)(e - p));
		if (!c || (nl && nl < c))
			break;          /* not closed on its line: text, left alone */
		memset(p, ' ', (size_t)(c - p) + 1);
		p = c + 1;
	}
}

/* E-mail addresses and web addresses are blanked (same length) in the
 * copy the rules read: "caisse-retraite-cadres.fr" or "www.associes.fr"
 * names a firm, its words say nothing of what the sender wants. */
static int
addr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
	    c == '_' || c == '+' || c == '%' || c >= 0x80;
}

static void
blank_addresses(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t b, e;
		if (s[i] == '@') {
			b = i;
			while (b > 0 && addr_char((unsigned char)s[b - 1]))
				b--;
			e = i + 1;
			while (e < n && addr_char((unsigned char)s[e]))
				e++;
			if (b == i || e == i + 1 || !memchr(s + i + 1, '.', e - i - 1))
				continue;
		} else if ((n - i >= 7 && !memcmp(s + i, "http://", 7)) ||
		    (n - i >= 8 && !memcmp(s + i, "https://", 8)) ||
		    (n - i >= 4 && !memcmp(s + i, "www.", 4) && (i == 0 || !addr_char((unsigned char)s[i - 1])))) {
			b = i;
			e = i;
			while (e < n && s[e] != ' ' && s[e] != '\n' && s[e] != '>' && s[e] != ')' && s[e] != '"')
				e++;
		} else
			continue;
		while (e > b && s[e - 1] == '.')
			e--;        /* the full stop after an address ends the sentence */
		memset(s + b, ' ', e - b);
		i = e;
	}
}

/* Where the sender's signature block begins in reply[0..n), else n: its
 * titles, firm and street ("Responsable des partenariats", "Portfolio
 * Manager") say who writes, not what they want, and the rules read the
 * reply above it.  The block is found by signature.h, the module
 * crm-parse-signature uses. */
static size_t
signature_start(struct crm_intent *ie, json_object *rec, const char *reply, size_t n)
{
	json_object *from = crm_get(rec, "from");
	struct crm_sig_input in = {
		.reply = reply, .reply_len = n,
		.from_name = from ? crm_get_str(from, "name") : NULL,
		.from_email = from ? crm_get_str(from, "email") : NULL,
	};
	struct crm_signature sig;
	size_t at = n;

	/* only a block the sender signed off or delimited ("-- ", a closing,
	 * the sender's name), under some text: a bare run of contact lines
	 * may be the message itself ("écrivez désormais à x@y.fr") */
	if (crm_sig_locate(ie->sig, &in, &sig) && sig.block_confidence >= 0.93 && sig.start < n) {
		size_t i = 0;
		while (i < sig.start && (reply[i] == ' ' || reply[i] == '\t' || reply[i] == '\r' || reply[i] == '\n'))
			i++;
		if (i < sig.start)
			at = sig.start;
	}
	crm_signature_free(&sig);
	return at;
}

/* Quick writers drop apostrophes ("c est", "j ai", "qu il", "don t",
 * "i m"): the rules, written with them, read a copy in which the blank of
 * such an elision is an apostrophe again (same length: match offsets
 * hold).  Only pairs that cannot be two words are mended; "la part C
 * est..." (a share class) is left alone. */
static int
in_list(const char *w, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !memcmp(*list, w, n))
			return 1;
	return 0;
}

static int
elision(const char *l, size_t ln, const char *r, size_t rn, const char *before, size_t bn)
{
	static const char *const nt[] = { "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
		"won", "can", "couldn", "wouldn", "shouldn", "haven", "hasn", "hadn", "mustn",
		"needn", NULL };
	static const char *const ve[] = { "i", "we", "you", "they", "could", "would", "should", NULL };
	static const char *const ll[] = { "i", "we", "you", "they", "he", "she", "it", "that", NULL };
	static const char *const re[] = { "we", "you", "they", NULL };
	static const char *const s_[] = { "it", "that", "what", "there", "here", "he", "she", "let",
		"who", "where", NULL };
	static const char *const est[] = { "est", "etait", "etaient", NULL };
	static const char *const il[] = { "il", "ils", NULL };
	static const char *const share[] = { "part", "parts", "classe", "class", "action",
		"actions", "serie", "categorie", "tranche", NULL };

	if (rn == 1 && *r == 't')
		return in_list(l, ln, nt);
	if (rn == 1 && *r == 'm')
		return ln == 1 && *l == 'i';
	if (rn == 1 && *r == 'd')
		return in_list(l, ln, re) || (ln == 1 && *l == 'i');
	if (rn == 1 && *r == 's')
		return in_list(l, ln, s_);
	if (rn == 2 && !memcmp(r, "ve", 2))
		return in_list(l, ln, ve);
	if (rn == 2 && !memcmp(r, "ll", 2))
		return in_list(l, ln, ll);
	if (rn == 2 && !memcmp(r, "re", 2))
		return in_list(l, ln, re);
	if (ln == 1 && *l == 'c')
		return in_list(r, rn, est) && !in_list(before, bn, share);
	if (ln == 1 && *l == 's')
		return in_list(r, rn, il);
	if ((ln == 1 && (*l == 'j' || *l == 'n')) || (ln == 2 && !memcmp(l, "qu", 2)))
		return rn > 1 && strchr("aeiouyh", *r) && !in_list(before, bn, share);
	return 0;
}

static int
letter(int c)
{
	return c >= 'a' && c <= 'z';
}

static void
restore_elisions(char *s, size_t n)
{
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] != ' ' || !letter((unsigned char)s[i - 1]) || !letter((unsigned char)s[i + 1]))
			continue;
		size_t a = i, b = i + 1;
		while (a > 0 && letter((unsigned char)s[a - 1]))
			a--;
		if (a > 0 && (s[a - 1] == '\'' || s[a - 1] == '-'))
			continue;
		if (i - a > 7)
			continue;
		while (b < n && letter((unsigned char)s[b]))
			b++;
		if (b < n && (s[b] == '\'' || s[b] == '-') && b - (i + 1) <= 2)
			continue;
		/* the word before the left one, for "part C est" */
		size_t pe = a, pa;
		while (pe > 0 && s[pe - 1] == ' ')
			pe--;
		pa = pe;
		while (pa > 0 && letter((unsigned char)s[pa - 1]))
			pa--;
		if (elision(s + a, i - a, s + i + 1, b - i - 1, s + pa, pe - pa))
			s[i] = '\'';
	}
}

/* Whether the opening of the reply names the recipient ("Bonjour
 * Julien,", "Julien -", "Hi Julien"): a responder without headers cannot
 * know whom it answers, a person writing does. */
static int
names_recipient(json_object *rec, const char *fold, size_t n)
{
	json_object *to = crm_get(rec, "to");
	if (!to || !json_object_is_type(to, json_type_array) || json_object_array_length(to) < 1)
		return 0;
	const char *name = crm_get_str(json_object_array_get_idx(to, 0), "name");
	if (!name)
		return 0;
	size_t i = 0;
	while (i < n && (fold[i] == ' ' || fold[i] == '\n'))
		i++;
	size_t lim = i + 60 < n ? i + 60 : n;
	for (const char *p = name; *p;) {
		size_t k = strcspn(p, " ,.-'");
		char w[64];
		size_t wl = k >= 3 ? crm_fold_word(w, sizeof w, p, k) : 0;
		for (size_t j = i; wl && j + wl <= lim; j++)
			if (!memcmp(fold + j, w, wl) && (j == 0 || !letter((unsigned char)fold[j - 1])) &&
			    (j + wl == n || !letter((unsigned char)fold[j + wl])))
				return 1;
		p += k;
		while (*p && strchr(" ,.-'", *p))
			p++;
	}
	return 0;
}

/* An automatic-reply mark in the headers (not the text). */
static int
machine_marked(const struct crm_auto_facts *f)
{
	return (f->auto_submitted && strncasecmp(f->auto_submitted, "no", 2)) || f->auto_mark ||
	    f->suppress || (f->precedence && !strcasecmp(f->precedence, "auto_reply"));
}

static void
judge(struct crm_intent *ie, json_object *rec, struct verdict *v, struct crm_buf *ex)
{
	double *sc = v->sc, ssc[NLABELS] = { 0 };
	const char *subject = crm_get_str(rec, "subject");
	const char *why;
	size_t n, cut;

	struct crm_auto_facts af;

	memset(v, 0, sizeof *v);
	crm_autodetect_facts(rec, &af);
	if (machine_mail(ie, &af, v, ex))
		return;
	char *reply = reply_of(rec, subject, ie->max_text, &n);
	time_t ref = crm_parse_iso8601(crm_get_str(rec, "date"));

	/* cap the reply on a character boundary */
	cut = n > ie->max_text ? ie->max_text : n;
	while (cut < n && cut > 0 && ((unsigned char)reply[cut] & 0xC0) == 0x80)
		cut--;
	size_t sig = signature_start(ie, rec, reply, cut);
	crm_buf_reset(&ie->fold);
	crm_fold(&ie->fold, reply, sig, 0);
	blank_images(ie->fold.s, ie->fold.len);
	join_wrapped(ie->fold.s, ie->fold.len);
	restore_elisions(ie->fold.s, ie->fold.len);
	crm_buf_reset(&ie->subj);
	if (subject)
		crm_fold(&ie->subj, subject, strlen(subject), 512);
	memset(ie->seen, 0, crm_wrules_count(ie->rules) + 1);
	if (ex && sig < cut)
		crm_buf_printf(ex, "  signature: from byte %zu, not read by the rules\n", sig);
	if (ex)
		crm_buf_printf(ex, "  matches:\n");
	crm_buf_reset(&ie->read);
	if (ie->fold.len)
		crm_buf_add(&ie->read, ie->fold.s, ie->fold.len);
	if (ie->read.s)
		blank_addresses(ie->read.s, ie->read.len);
	score(ie, CRM_WR_BODY, ie->read.s ? ie->read.s : "", ie->read.len, 1, sc, ex);
	if (ie->subj.len)
		score(ie, CRM_WR_SUBJECT, ie->subj.s, ie->subj.len, !subject_is_reply(ie->subj.s), ssc, ex);
	for (int i = NINTENT; i < NLABELS; i++)
		sc[i] += ssc[i];

	struct crm_auto_phrases ph = { sc[A_OOO], sc[A_BOUNCE], sc[A_REPLY], sc[A_LIST] };
	int kind = crm_autodetect_f(&af, &ph, &why);
	const char *fs = ie->fold.s ? ie->fold.s : "";

	/* absence phrases without a header make a notice, unless the reply
	 * greets the recipient by name: then a person wrote it */
	if (kind == CRM_AUTO_OOO && !machine_marked(&af) && ph.reply < 1.5 &&
	    names_recipient(rec, fs, ie->fold.len)) {
		kind = CRM_AUTO_NONE;
		why = "absence phrases, but the reply greets the recipient by name";
	}
	double threshold = ie->threshold;

	/* a machine's subject echoes the message it answers: only a person's
	 * own subject ("Demande de devis") says what they want */
	if (kind == CRM_AUTO_NONE)
		for (int i = 0; i < NINTENT; i++)
			sc[i] += ssc[i];

	if (kind == CRM_AUTO_OOO)
		sc[L_OOO] += 5;
	else if (kind == CRM_AUTO_REPLY) {
		/* a machine's answer wants nothing, unless it names someone else */
		threshold *= 2;
		for (int i = 0; i < NINTENT; i++)
			if (i != L_REFERRAL)
				sc[i] = 0;
	}
	else if (kind == CRM_AUTO_NONE && ph.ooo >= 2 && (sc[L_OOO] > 0 || sc[L_REFERRAL] > 0))
		/* a person saying he is away and whom to see meanwhile ("je
		 * suis absent jusqu'au 3, voyez avec Anne") gives an absence
		 * notice all the same, with less weight than a machine's */
		sc[L_OOO] += ph.ooo + 1;
	else if (kind == CRM_AUTO_NONE)
		sc[L_OOO] = 0;   /* a stand-in without an absence, or an absence told in passing */

	/* on a tie, the label a salesperson must not miss wins: unsubscribe,
	 * complaint, out_of_office, referral, not_interested, quote, ... */
	static const int order[] = { 8, 7, 9, 5, 4, 1, 2, 0, 6, 3 };
	int best = L_OTHER, second = -1;
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		int i = order[k];
		if (sc[i] <= 0)
			continue;
		if (best == L_OTHER || sc[i] > sc[best]) {
			second = best == L_OTHER ? second : best;
			best = i;
		} else if (second < 0 || sc[i] > sc[second])
			second = i;
	}
	double top = best == L_OTHER ? 0 : sc[best], sec = second >= 0 ? sc[second] : 0;
	double conf;
	int label = best;
	if (kind == CRM_AUTO_BOUNCE || kind == CRM_AUTO_LIST) {
		label = L_OTHER;
		conf = 0.95;
	} else if (top < threshold) {
		label = L_OTHER;
		conf = 1 - 0.5 * top / threshold;
	} else
		conf = (1 - exp(-top)) * top / (top + sec);

	v->kind = kind;
	v->label = label;
	v->conf = conf;
	v->sentiment = crm_entities_sentiment(ie->ent, ie->fold.s ? ie->fold.s : "", ie->fold.len);
	v->detail = crm_auto_detail(ie->ent, kind, rec, reply, cut,
	    ie->fold.s ? ie->fold.s : "", ie->fold.len, ref);
	if (!ie->no_entities) {
		crm_entities_scan(ie->ent, reply, cut, ie->fold.s ? ie->fold.s : "", ie->fold.len, ref,
		    &ie->set);
		v->entities = 1;
	}
	if (ex)
		crm_buf_printf(ex, "  auto: %s (%s; phrases ooo %.2f bounce %.2f reply %.2f list %.2f)\n"
		    "  intent: %s, confidence %.2f (best %.2f, second %.2f, threshold %.2f)\n",
		    crm_auto_name(kind), why, ph.ooo, ph.bounce, ph.reply, ph.list,
		    all_labels[label], round2(conf), top, sec, threshold);
	/* the entities point into the reply: it lives in ie->reply until the next message */
	free(ie->reply);
	ie->reply = reply;
}

void
crm_intent_classify(struct crm_intent *ie, json_object *rec,
    struct crm_intent_result *out, struct crm_buf *ex)
{
	struct verdict v;
	json_object *intent = json_object_new_object(), *scores = json_object_new_object();

	judge(ie, rec, &v, ex);
	for (int i = 0; i < NINTENT; i++)
		if (v.sc[i] > 0)
			json_object_object_add(scores, all_labels[i], json_object_new_double(round2(v.sc[i])));
	json_object_object_add(intent, "label", json_object_new_string(all_labels[v.label]));
	json_object_object_add(intent, "confidence", json_object_new_double(round2(v.conf)));
	json_object_object_add(intent, "scores", scores);
	json_object_object_add(intent, "method", json_object_new_string("rules"));
	if (!v.machine)
		json_object_object_add(intent, "sentiment", json_object_new_double(v.sentiment));
	out->intent = intent;
	out->auto_kind = json_object_new_string(crm_auto_name(v.kind));
	out->auto_detail = v.detail;
	out->entities = v.entities ? crm_entities_json(&ie->set) : NULL;
}

/* v as json-c writes it (crm_json_str): doubles by json-c, once each */
static void
put_double(struct crm_intent *ie, struct crm_buf *b, double x)
{
	uint64_t bits;
	size_t n;

	memcpy(&bits, &x, sizeof bits);
	struct dcache *c = &ie->dc[(bits * 0x9E3779B97F4A7C15ULL) >> 54];
	if (!c->used || c->bits != bits) {
		json_object *o = json_object_new_double(x);
		const char *s = crm_json_str(o, &n);
		if (n >= sizeof c->s) {
			crm_buf_add(b, s, n);
			json_object_put(o);
			return;
		}
		memcpy(c->s, s, n);
		c->len = (unsigned char)n;
		c->bits = bits;
		c->used = 1;
		json_object_put(o);
	}
	crm_buf_add(b, c->s, c->len);
}

void
crm_intent_render(struct crm_intent *ie, json_object *rec, struct crm_intent_text *out,
    struct crm_buf *ex)
{
	struct verdict v;
	struct crm_buf *b = &ie->out[0];
	int first = 1;

	judge(ie, rec, &v, ex);
	crm_buf_reset(b);
	crm_buf_adds(b, "{\"label\":\"");
	crm_buf_adds(b, all_labels[v.label]);
	crm_buf_adds(b, "\",\"confidence\":");
	put_double(ie, b, round2(v.conf));
	crm_buf_adds(b, ",\"scores\":{");
	for (int i = 0; i < NINTENT; i++)
		if (v.sc[i] > 0) {
			crm_buf_adds(b, first ? "\"" : ",\"");
			crm_buf_adds(b, all_labels[i]);
			crm_buf_adds(b, "\":");
			put_double(ie, b, round2(v.sc[i]));
			first = 0;
		}
	crm_buf_adds(b, "},\"method\":\"rules\"");
	if (!v.machine) {
		crm_buf_adds(b, ",\"sentiment\":");
		put_double(ie, b, v.sentiment);
	}
	crm_buf_addc(b, '}');
	out->intent = b->s;
	out->intent_len = b->len;
	out->auto_kind = crm_auto_name(v.kind);
	out->auto_detail = NULL;
	out->auto_detail_len = 0;
	if (v.detail) {
		size_t n;
		const char *s = crm_json_str(v.detail, &n);
		crm_buf_reset(&ie->out[1]);
		crm_buf_add(&ie->out[1], s, n);
		out->auto_detail = ie->out[1].s;
		out->auto_detail_len = n;
		json_object_put(v.detail);
	}
	out->entities = NULL;
	out->entities_len = 0;
	if (v.entities) {
		crm_buf_reset(&ie->out[2]);
		crm_entities_render(&ie->set, &ie->out[2]);
		out->entities = ie->out[2].s;
		out->entities_len = ie->out[2].len;
	}
}
