/* charset.h — everything becomes valid UTF-8.
 * Conversion through iconv (descriptors cached per charset), with fast
 * paths for UTF-8, US-ASCII and ISO-8859-1/Windows-1252.  Invalid or
 * unconvertible bytes become U+FFFD; nothing here fails.  Output is
 * appended to the caller's buffer. */
#ifndef CRM_CHARSET_H
#define CRM_CHARSET_H

#include "buf.h"
#include <stddef.h>

int crm_utf8_valid(const char *s, size_t n);
/* Append s, replacing every invalid UTF-8 sequence by U+FFFD. */
void crm_utf8_repair(struct crm_buf *out, const char *s, size_t n);
/* Append s converted from charset (NULL or unknown: UTF-8 if valid, else
 * Windows-1252, the usual truth of undeclared 8-bit mail). */
void crm_to_utf8(struct crm_buf *out, const char *charset, const char *s, size_t n);
/* 1 when crm_to_utf8() would append s unchanged (it is valid UTF-8 in a
 * charset read as UTF-8, or ASCII in one read as Windows-1252): the
 * caller may then use s as it is. */
int crm_utf8_as_is(const char *charset, const char *s, size_t n);
/* Length of the UTF-8 sequence at s (1 for an invalid byte). */
size_t crm_utf8_seqlen(const unsigned char *s, size_t n);
/* Encode one code point. */
void crm_utf8_put(struct crm_buf *out, unsigned long cp);

#endif
