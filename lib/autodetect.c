/* autodetect.c — see autodetect.h.
 *
 * Evidence in order of strength, and the order of the decision:
 *   bounce        a delivery-status part or report-type=delivery-status,
 *                 X-Failed-Recipients, or a MAILER-DAEMON/postmaster sender
 *                 with bounce phrases, or strong bounce phrases alone;
 *   out_of_office Auto-Submitted naming a vacation, or any automatic-reply
 *                 header (Auto-Submitted, X-Autoreply, X-Autorespond,
 *                 X-MS-Exchange-Inbox-Rules-Loop, X-Auto-Response-Suppress)
 *                 or a textual mark ("ceci est une réponse automatique")
 *                 together with absence phrases, or strong absence phrases
 *                 alone (several of them: a person may well write "je
 *                 suis en congés" in a reply);
 *   auto_reply    Auto-Submitted other than "no", X-Autoreply/Autorespond,
 *                 the Exchange rules-loop header, ticket-system headers
 *                 (Zendesk, Freshdesk, RT, OTRS, Jira, GitHub);
 *   mailing_list  List-Id, List-Unsubscribe, List-Post, Precedence
 *                 bulk/list/junk, Feedback-ID, newsletter platforms'
 *                 X- headers (Mailchimp, Mailgun, SendGrid, Brevo,
 *                 Mailjet, HubSpot, Salesforce MC, Marketo, campaigns);
 *   mailing_list  again, without list headers: two footer phrases of bulk
 *                 mail ("click here to unsubscribe", "vous recevez ce
 *                 message car...");
 *   auto_reply    again, on weaker evidence: a no-reply sender or
 *                 "ne pas répondre" / "do not reply" phrases.
 * Precedence: bulk is set by vacation responders too, which is why
 * absences are decided before lists and why bulk alone does not settle a
 * list from the headers.  crm_autodetect_headers()
 * decides what headers alone settle (reports, and list headers on a mail
 * with no automatic-reply mark and no daemon sender), so that the caller
 * can skip reading the text of list traffic.  Both read the record
 * through crm_autodetect_facts(): one pass over the headers, the names
 * of interest matched exactly after a first-byte test, instead of a
 * json-c lookup per name and a pass per family of prefixes. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "autodetect.h"
#include "buf.h"
#include "fold.h"
#include "jsonl.h"
#include "log.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *
crm_auto_name(int kind)
{
	static const char *const names[] = { "none", "out_of_office", "bounce", "auto_reply",
		"mailing_list" };
	return kind >= 0 && kind <= CRM_AUTO_LIST ? names[kind] : "none";
}

static const char *
hdr(json_object *h, const char *name)
{
	return h ? crm_get_str(h, name) : NULL;
}

static int
contains_ci(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

static const char *const platform[] = { "x-mc-", "x-mailgun-", "x-sg-", "x-sib-",
	"x-mj-", "x-mailchimp", "x-mailjet", "x-sendinblue", "x-hubspot", "x-sfmc",
	"x-marketo", "x-campaign", "x-newsletter", "list-", "feedback-id", "x-beenthere", NULL };
static const char *const ticket[] = { "x-zendesk", "x-freshdesk", "x-ticket", "x-rt-",
	"x-otrs", "x-jira", "x-github-", NULL };

/* Does a header name begin with one of prefixes (lower case), ignoring case? */
static int
has_prefix(const char *k, const char *const *prefixes)
{
#define LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
	char c0 = LOWER(k[0]), c1 = LOWER(k[1]), c2 = c1 ? LOWER(k[2]) : 0;

	for (const char *const *p = prefixes; *p; p++) {
		const char *a = k + 3, *b = *p + 3;   /* prefixes are 5 bytes or more */
		if (c0 != (*p)[0] || c1 != (*p)[1] || c2 != (*p)[2])
			continue;
		while (*b && LOWER(*a) == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

/* A string header by its exact name, as crm_get_str() finds it. */
#define IS(name) (!strcmp(k, name) && json_object_is_type(v, json_type_string))

void
crm_autodetect_facts(json_object *rec, struct crm_auto_facts *f)
{
	json_object *h = crm_get(rec, "headers"), *from = crm_get(rec, "from");
	const char *email = from ? crm_get_str(from, "email") : NULL;
	size_t i = 0;

	memset(f, 0, sizeof *f);
	f->rec = rec;
	f->delivery_status = crm_get_str(rec, "delivery_status") != NULL;
	f->from_name = from ? crm_get_str(from, "name") : NULL;
	/* the local part of the sender's address, lower-cased */
	for (; email && email[i] && email[i] != '@' && i + 1 < sizeof f->local; i++)
		f->local[i] = (char)tolower((unsigned char)email[i]);
	f->local[i] = 0;
	/* the headers in one pass (names matched exactly, prefixes in any case) */
	if (!h || !json_object_is_type(h, json_type_object))
		return;
	json_object_object_foreach(h, k, v) {
		char c = LOWER(k[0]);
		if (c == 'a' && IS("auto-submitted"))
			f->auto_submitted = json_object_get_string(v);
		else if (c == 'p' && IS("precedence"))
			f->precedence = json_object_get_string(v);
		else if (c == 'c' && IS("content-type"))
			f->content_type = json_object_get_string(v);
		if (c != 'x' && c != 'l' && c != 'f')
			continue;
		if (IS("x-failed-recipients"))
			f->failed_recipients = 1;
		else if (IS("x-autoreply") || IS("x-autorespond") || IS("x-autogenerated") ||
		    IS("x-ms-exchange-inbox-rules-loop"))
			f->auto_mark = 1;
		else if (IS("x-auto-response-suppress"))
			f->suppress = 1;
		f->platform |= has_prefix(k, platform);
		f->ticket |= has_prefix(k, ticket);
	}
#undef LOWER
}
#undef IS

static int
daemon_sender(const struct crm_auto_facts *f)
{
	const char *local = f->local, *name = f->from_name;

	return !strcmp(local, "mailer-daemon") || !strcmp(local, "postmaster") ||
	    !strncmp(local, "microsoftexchange", 17) || contains_ci(name, "mail delivery") ||
	    contains_ci(name, "mailer-daemon") || contains_ci(name, "mail administrator");
}

static int
noreply_sender(const struct crm_auto_facts *f)
{
	static const char *const w[] = { "noreply", "no-reply", "no_reply", "donotreply",
		"do-not-reply", "do_not_reply", "nepasrepondre", "ne-pas-repondre",
		"ne_pas_repondre", "notification", "mailer", "bounce", "automate", NULL };

	for (const char *const *p = w; *p; p++)
		if (strstr(f->local, *p))
			return 1;
	return 0;
}

static int
auto_header(const struct crm_auto_facts *f)
{
	const char *as = f->auto_submitted;
	return (as && strncasecmp(as, "no", 2)) || f->auto_mark;
}

int
crm_autodetect_headers_f(const struct crm_auto_facts *f, const char **why)
{
	const char *prec = f->precedence;

	if (f->delivery_status || contains_ci(f->content_type, "report-type=delivery-status")) {
		*why = "delivery-status report";
		return CRM_AUTO_BOUNCE;
	}
	if (f->failed_recipients) {
		*why = "X-Failed-Recipients";
		return CRM_AUTO_BOUNCE;
	}
	if (!auto_header(f) && !f->suppress && !daemon_sender(f) &&
	    (f->platform || (prec && (!strcasecmp(prec, "list") || !strcasecmp(prec, "junk"))))) {
		*why = "list or newsletter header";
		return CRM_AUTO_LIST;
	}
	return -1;
}

int
crm_autodetect_f(const struct crm_auto_facts *f, const struct crm_auto_phrases *ph,
    const char **why)
{
	const char *as = f->auto_submitted, *prec = f->precedence;
	int auto_hdr = auto_header(f);
	int weak_auto = auto_hdr || f->suppress || (prec && !strcasecmp(prec, "auto_reply"));

	if (f->delivery_status || contains_ci(f->content_type, "report-type=delivery-status")) {
		*why = "delivery-status report";
		return CRM_AUTO_BOUNCE;
	}
	if (f->failed_recipients) {
		*why = "X-Failed-Recipients";
		return CRM_AUTO_BOUNCE;
	}
	if ((daemon_sender(f) && ph->bounce >= 1) || ph->bounce >= 3) {
		*why = "bounce phrases";
		return CRM_AUTO_BOUNCE;
	}
	if (contains_ci(as, "vacation") || contains_ci(as, "out-of-office") ||
	    ((weak_auto || ph->reply >= 1.5) && ph->ooo >= 1) || ph->ooo >= 4) {
		*why = "absence";
		return CRM_AUTO_OOO;
	}
	if (auto_hdr) {
		*why = "automatic-reply header";
		return CRM_AUTO_REPLY;
	}
	if (f->ticket) {
		*why = "ticket-system header";
		return CRM_AUTO_REPLY;
	}
	if (f->platform ||
	    (prec && (!strcasecmp(prec, "bulk") || !strcasecmp(prec, "list") ||
	    !strcasecmp(prec, "junk")))) {
		*why = "list or newsletter header";
		return CRM_AUTO_LIST;
	}
	if (ph->list >= 2) {
		*why = "bulk-mail footer";
		return CRM_AUTO_LIST;
	}
	if (noreply_sender(f) || ph->reply >= 2) {
		*why = "no-reply sender or phrases";
		return CRM_AUTO_REPLY;
	}
	*why = "no evidence";
	return CRM_AUTO_NONE;
}

int
crm_autodetect_headers(json_object *rec, const char **why)
{
	struct crm_auto_facts f;

	crm_autodetect_facts(rec, &f);
	return crm_autodetect_headers_f(&f, why);
}

int
crm_autodetect(json_object *rec, const struct crm_auto_phrases *ph, const char **why)
{
	struct crm_auto_facts f;

	crm_autodetect_facts(rec, &f);
	return crm_autodetect_f(&f, ph, why);
}

/* ---- details ---- */

static pcre2_code *
re_get(pcre2_code **slot, const char *pat)
{
	int err;
	PCRE2_SIZE off;

	if (!*slot) {
		*slot = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_MULTILINE, &err, &off, NULL);
		if (!*slot)
			crm_die(3, "internal pattern error %d at %zu", err, (size_t)off);
		pcre2_jit_compile(*slot, PCRE2_JIT_COMPLETE);
	}
	return *slot;
}

/* First match of re in s; group g's range in *a, *b. */
static int
find(pcre2_code *re, const char *s, size_t n, size_t from, int g, size_t *a, size_t *b)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)s, n, from, 0, md, NULL);
	if (rc > g) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (ov[2 * g] != PCRE2_UNSET) {
			*a = ov[2 * g];
			*b = ov[2 * g + 1];
			pcre2_match_data_free(md);
			return 1;
		}
	}
	pcre2_match_data_free(md);
	return 0;
}

static pcre2_code *re_final, *re_action, *re_status, *re_diag, *re_status_text, *re_smtp,
	*re_angle, *re_email, *re_copy, *re_return, *re_until, *re_contact;

static json_object *
bounce_detail(json_object *rec)
{
	const char *dsn = crm_get_str(rec, "delivery_status"), *text = crm_get_str(rec, "text");
	json_object *h = crm_get(rec, "headers"), *d = json_object_new_object();
	json_object *rcpt = json_object_new_array();
	const char *xf = hdr(h, "x-failed-recipients");
	char status[16] = "";
	size_t a, b, from = 0, tn = text ? strlen(text) : 0;

	if (dsn) {
		size_t n = strlen(dsn);
		pcre2_code *re = re_get(&re_final, "^Final-Recipient:\\s*(?:rfc822\\s*;\\s*)?<?([^\\s>]+@[^\\s>]+)");
		while (from < n && find(re, dsn, n, from, 1, &a, &b)) {
			json_object_array_add(rcpt, json_object_new_string_len(dsn + a, (int)(b - a)));
			from = b;
		}
		if (find(re_get(&re_action, "^Action:\\s*(\\w+)"), dsn, n, 0, 1, &a, &b))
			json_object_object_add(d, "action", json_object_new_string_len(dsn + a, (int)(b - a)));
		if (find(re_get(&re_status, "^Status:\\s*([245]\\.\\d{1,3}\\.\\d{1,3})"), dsn, n, 0, 1, &a, &b))
			snprintf(status, sizeof status, "%.*s", (int)(b - a), dsn + a);
		if (find(re_get(&re_diag, "^Diagnostic-Code:\\s*(?:[\\w-]+\\s*;\\s*)?(.+(?:\\n[ \\t]+.+)*)"),
		    dsn, n, 0, 1, &a, &b)) {
			struct crm_buf t = CRM_BUF_INIT;
			for (size_t i = a; i < b && t.len < 300; i++) {
				if (dsn[i] == '\n' || dsn[i] == '\t') {
					while (i + 1 < b && (dsn[i + 1] == ' ' || dsn[i + 1] == '\t'))
						i++;
					crm_buf_addc(&t, ' ');
				} else
					crm_buf_addc(&t, dsn[i]);
			}
			json_object_object_add(d, "diagnostic", json_object_new_string_len(t.s, (int)t.len));
			crm_buf_free(&t);
		}
	}
	if (!json_object_array_length(rcpt) && xf) {
		/* "a@b, c@d" */
		const char *p = xf;
		while (*p) {
			while (*p == ' ' || *p == ',')
				p++;
			const char *q = p;
			while (*q && *q != ',' && *q != ' ')
				q++;
			if (q > p && memchr(p, '@', (size_t)(q - p)))
				json_object_array_add(rcpt, json_object_new_string_len(p, (int)(q - p)));
			p = q;
		}
	}
	if (text) {
		/* the notice's own text ends where the returned copy begins */
		size_t end = tn;
		if (find(re_get(&re_copy, "^(?:-+ ?(?:This is a copy|Below this line|Original message)|"
		    "Message d'origine|Original subject|(?:Return-Path|Received|Message-I[Dd]|"
		    "Date|To|From|Subject|Content-Type):|-+ Message)"), text, tn, 0, 0, &a, &b))
			end = a;
		if (!json_object_array_length(rcpt)) {
			pcre2_code *re = re_get(&re_angle, "<([^\\s<>@]+@[^\\s<>]+)>\\s*:");
			if (!find(re, text, end, 0, 1, &a, &b))
				re = re_get(&re_email, "(?<![\\w.+-])([\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+)");
			from = 0;
			json_object *fr = crm_get(rec, "to");
			const char *self = fr && json_object_array_length(fr) ?
			    crm_get_str(json_object_array_get_idx(fr, 0), "email") : NULL;
			while (from < end && find(re, text, end, from, 1, &a, &b)) {
				if (!(self && strlen(self) == b - a && !strncasecmp(self, text + a, b - a)) &&
				    json_object_array_length(rcpt) < 4) {
					int dup = 0;
					for (size_t i = 0; i < json_object_array_length(rcpt); i++)
						if (!strncasecmp(json_object_get_string(json_object_array_get_idx(rcpt, i)),
						    text + a, b - a))
							dup = 1;
					if (!dup)
						json_object_array_add(rcpt, json_object_new_string_len(text + a, (int)(b - a)));
				}
				from = b;
			}
		}
		if (!status[0] && find(re_get(&re_status_text, "(?<![\\d.])([245]\\.\\d{1,3}\\.\\d{1,3})(?![\\d.])"),
		    text, end, 0, 1, &a, &b))
			snprintf(status, sizeof status, "%.*s", (int)(b - a), text + a);
		if (!status[0] && find(re_get(&re_smtp, "(?<!\\d)([45][0-5]\\d)(?=[ :-])"), text, end, 0, 1, &a, &b))
			snprintf(status, sizeof status, "%.*s", (int)(b - a), text + a);
	}
	for (size_t i = 0; i < json_object_array_length(rcpt); i++) {
		json_object *v = json_object_array_get_idx(rcpt, i);
		char lower[256];
		snprintf(lower, sizeof lower, "%s", json_object_get_string(v));
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_array_put_idx(rcpt, i, json_object_new_string(lower));
	}
	json_object_object_add(d, "recipients", rcpt);
	if (status[0]) {
		json_object_object_add(d, "status", json_object_new_string(status));
		json_object_object_add(d, "permanent", json_object_new_boolean(status[0] == '5'));
	}
	return d;
}

/* Sentences of the reply that name someone to contact instead. */
static void
contact(struct crm_entities *e, const char *reply, size_t n, json_object *d)
{
	pcre2_code *re = re_get(&re_contact, "contact|joindre|adresse[rz]|adressant|ecrire|urgen|"
	    "colleague|collegue|absence|reach|replacement|remplac|assistant|email|e-mail|mail|"
	    "standard|office on|charge|repris|desormais|now covers");
	const char *p = reply, *end = reply + n;
	json_object *c = json_object_new_object();
	struct crm_buf f = CRM_BUF_INIT;

	while (p < end) {
		/* a sentence: up to a line break or ". " */
		const char *q = p;
		while (q < end && *q != '\n' && !(*q == '.' && q + 1 < end && q[1] == ' ' &&
		    !(q > p && q - p < 3)))
			q++;
		crm_buf_reset(&f);
		crm_fold(&f, p, (size_t)(q - p), 0);
		size_t a, b;
		if (f.len && find(re, f.s, f.len, 0, 0, &a, &b)) {
			json_object *pe = json_object_new_array(), *em = json_object_new_array();
			json_object *ph = json_object_new_array();
			crm_entities_names(e, p, (size_t)(q - p), pe, NULL);
			crm_entities_contacts(e, p, (size_t)(q - p), em, ph);
			if (json_object_array_length(pe) && !crm_get(c, "name"))
				json_object_object_add(c, "name", json_object_get(json_object_array_get_idx(pe, 0)));
			if (json_object_array_length(em) && !crm_get(c, "email"))
				json_object_object_add(c, "email", json_object_get(json_object_array_get_idx(em, 0)));
			if (json_object_array_length(ph) && !crm_get(c, "phone"))
				json_object_object_add(c, "phone", json_object_get(json_object_array_get_idx(ph, 0)));
			json_object_put(pe);
			json_object_put(em);
			json_object_put(ph);
		}
		p = q + 1;
	}
	crm_buf_free(&f);
	if (json_object_object_length(c))
		json_object_object_add(d, "contact", c);
	else
		json_object_put(c);
}

static json_object *
absence_detail(struct crm_entities *e, const char *reply, size_t n, const char *f, size_t fn,
    time_t ref)
{
	json_object *d = json_object_new_object();
	char iso[11];
	size_t a, b, from = 0;
	int got = 0;

	/* a stated return date wins over the end of the absence */
	pcre2_code *ret = re_get(&re_return, "(?:de retour|retour prevu|reviendrai|je rentre|back|"
	    "return(?:ing)?|reprendrai|a mon retour|reply|respond|traiterai|consulterai|"
	    "repondre qu'a partir|a partir)\\D{0,30}?(?=\\d|lundi|mardi|mercredi|jeudi|vendredi|"
	    "samedi|dimanche|monday|tuesday|wednesday|thursday|friday|demain|tomorrow)");
	pcre2_code *until = re_get(&re_until, "(?:jusqu'?(?:au|a|le)|until|till|through|au)\\s+"
	    "(?:et y compris\\s+|le\\s+|the\\s+)?(?=\\d|lundi|mardi|mercredi|jeudi|vendredi|samedi|"
	    "dimanche|monday|tuesday|wednesday|thursday|friday)");
	while (!got && from < fn && find(ret, f, fn, from, 0, &a, &b)) {
		got = crm_entities_date_at(e, f, fn, b, ref, iso, NULL);
		from = b;
	}
	from = 0;
	while (!got && from < fn && find(until, f, fn, from, 0, &a, &b)) {
		got = crm_entities_date_at(e, f, fn, b, ref, iso, NULL);
		from = b;
	}
	if (got)
		json_object_object_add(d, "return_date", json_object_new_string(iso));
	contact(e, reply, n, d);
	if (!json_object_object_length(d)) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

json_object *
crm_auto_detail(struct crm_entities *e, int kind, json_object *rec,
    const char *reply, size_t n, const char *folded, size_t fn, time_t ref)
{
	if (kind == CRM_AUTO_BOUNCE)
		return bounce_detail(rec);
	if (kind == CRM_AUTO_OOO || kind == CRM_AUTO_REPLY)
		return absence_detail(e, reply, n, folded, fn, ref);
	return NULL;
}
