/* quote.h — split a message's text into the new reply, the quoted
 * history and forwarded content (the "body" key of crm-record(5)).
 * crm_quote_split() fills a struct crm_body whose strings are malloc'd
 * and owned by the caller: release them with crm_body_free().
 *
 * Recognised, in French, English and German (and the usual Spanish,
 * Italian and Dutch spellings of the same client strings):
 *   attribution lines, also wrapped over up to three lines:
 *     "Le 12 oct. 2025 à 10:02, X <x@y> a écrit :"
 *     "On Mon, Oct 12, 2025 at 10:02 AM X <x@y> wrote:"
 *     "Am 12.10.2025 um 10:02 schrieb X <x@y>:"
 *     "X <x@y> wrote:" when quoted ("> ") lines follow
 *   separators: "-----Original Message-----", "-----Message d'origine-----",
 *     "----- Mail original -----", "-----Ursprüngliche Nachricht-----"
 *   header blocks: "From: / Sent: / To: / Subject:", "De : / Envoyé : /
 *     À : / Objet :", "Von: / Gesendet: / An: / Betreff:" (two or more
 *     header lines after the From line), with the "____" rule above them
 *   forward banners: "---------- Forwarded message ---------",
 *     "-------- Message transféré --------", "Début du message réexpédié :",
 *     "Begin forwarded message:"; an Outlook header block counts as a
 *     forward when the subject given starts with "Fwd:", "TR:", "WG:" ...
 *   "> " prefixed lines (interleaved answers keep their unquoted lines)
 *   mobile footers on a line of their own ("Envoyé de mon iPhone", "Sent
 *     from my iPhone", "Sent from Outlook for Android", ...): dropped from
 *     the reply and counted in mobile_footer.
 *
 * Patterns are compiled once (PCRE2, UTF-8 + UCP, JIT) on first use; the
 * functions are safe to call from several threads.  Any bytes are
 * accepted: invalid UTF-8 never makes a pattern fail or crash. */
#ifndef CRM_QUOTE_H
#define CRM_QUOTE_H

#include <json.h>
#include <stddef.h>

struct crm_body {
	char *reply;          /* the new text, trailing blank lines trimmed */
	size_t reply_len;
	char *quoted;         /* quoted history or forwarded message, "" if none */
	size_t quoted_len;
	int forwarded;        /* 1: the quoted part is a forwarded message */
	int mobile_footer;    /* 1: a mobile footer was cut from the reply */
	size_t quote_start;   /* byte offset in text of the first quoted line
	                         (len when nothing is quoted) */
};

/* Split text (len bytes, need not be NUL-terminated).  Returns 1 when
 * some quoted or forwarded content was found, 0 when the whole text is
 * the reply.  Never fails; out is always filled. */
int crm_quote_split(const char *text, size_t len, struct crm_body *out);

/* The same, with the message subject (may be NULL), which tells an
 * Outlook forward ("TR: ...", "Fwd: ...") from an Outlook reply. */
int crm_quote_split_subject(const char *text, size_t len, const char *subject,
    struct crm_body *out);

/* 1 when subject starts with a forward prefix (Fwd:, Fw:, TR:, WG:, RV:, ...). */
int crm_subject_is_forward(const char *subject);

/* 1 when the line (no newline) is a mobile-client footer on its own. */
int crm_quote_is_mobile_footer(const char *line, size_t len);

void crm_body_free(struct crm_body *b);

/* The "body" value {"reply", "quoted", "forwarded"} as a new json object
 * (the caller owns it).  Its serialisation is rendered once here with a
 * table-driven escaper: json-c's own string escaping costs as much as
 * parsing the record, and body repeats the whole text. */
json_object *crm_body_json(const struct crm_body *b);

#endif
