/* fold.h — text folding for the rule engines: lower case, accents
 * stripped (utf8proc), typographic quotes/dashes/spaces made ASCII, runs of
 * blanks collapsed, line breaks kept.  Output is appended to the caller's
 * buffer; crm_fold_word() writes into a caller array.  Nothing to free. */
#ifndef CRM_FOLD_H
#define CRM_FOLD_H

#include "buf.h"
#include <stddef.h>

/* Fold at most max bytes of s (0: all), cut on a character boundary. */
void crm_fold(struct crm_buf *out, const char *s, size_t n, size_t max);
/* Fold one word into out (size bytes, NUL-terminated); returns its length,
 * or 0 when it does not fit. */
size_t crm_fold_word(char *out, size_t size, const char *s, size_t n);
/* 1 when the folded word w (n bytes) is a negation cue, French or English
 * ("ne", "n", "pas", "jamais", "not", "never", "don't", ...). */
int crm_negation_word(const char *w, size_t n);
/* Lower-case only (accents kept), appended to out. */
void crm_lower(struct crm_buf *out, const char *s, size_t n);

#endif
