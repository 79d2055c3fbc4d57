/* mime.h — raw RFC 5322/MIME message bytes to the crm message record
 * (crm-record(5)), over libetpan's parsers.
 *
 * crm_message_record() returns a new json object the caller owns
 * (json_object_put), or NULL with a static reason in *why when the bytes
 * are not a mail message (empty, binary, no header fields, too large);
 * crm_message_write() writes the same record as JSON text, which is how
 * it is built (a stream of records never needs the json-c tree).
 * The helpers below are shared with the other stages. */
#ifndef CRM_MIME_H
#define CRM_MIME_H

#include "buf.h"
#include <json.h>
#include <stddef.h>
#include <time.h>

struct crm_msgopts {
	const char *account;    /* goes into "account" and the id */
	int html;               /* also emit "html" */
	size_t max_size;        /* 0: no limit */
	time_t fallback_date;   /* used when no Date/Received date (0: none) */
	int whole_header;       /* parse the header in one libetpan call, never
	                         * field by field (the reference; same records) */
};

json_object *crm_message_record(const char *raw, size_t len,
    const struct crm_msgopts *o, json_object *source, const char **why);
/* The same record as one line of JSON text (no newline), appended to out,
 * with source (JSON text, source_len bytes; NULL: null) as its "source";
 * the bytes crm_json_str() gives for crm_message_record()'s object.
 * Returns 0, or -1 with a static reason in *why (out unchanged). */
int crm_message_write(struct crm_buf *out, const char *raw, size_t len,
    const struct crm_msgopts *o, const char *source, size_t source_len,
    const char **why);

/* Header value (possibly folded, RFC 2047-encoded, 8-bit) to UTF-8,
 * appended to out, unfolded, with surrounding whitespace trimmed. */
void crm_header_decode(struct crm_buf *out, const char *raw, size_t n);
/* UTC ISO-8601 "2025-10-30T09:12:00Z" into buf (at least 21 bytes). */
void crm_iso8601(char *buf, size_t size, time_t t);
/* Parse an RFC 5322 date (lenient); (time_t)-1 when unparseable. */
time_t crm_parse_rfc5322_date(const char *s, size_t n);
/* The number of bytes of an mbox "From " envelope line at the start of a
 * message (0 if none). */
size_t crm_mbox_envelope_len(const char *raw, size_t len);

#endif
