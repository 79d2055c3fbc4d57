/* lexicon.h — word lists loaded from lib/rules (gazetteers, stop words,
 * sentiment): folded terms (fold.h) in a hash table, each with a value;
 * a term ending in '*' matches every word it begins.  The lexicon owns its
 * memory (crm_lexicon_free); lookups return pointers into it. */
#ifndef CRM_LEXICON_H
#define CRM_LEXICON_H

#include <stddef.h>
#include <stdint.h>

struct crm_lexicon;

/* Load "term[<TAB>value]" lines ('#' comments, blank lines skipped); a
 * missing file or a malformed line is fatal (exit 2, naming file:line). */
struct crm_lexicon *crm_lexicon_load(const char *path);
struct crm_lexicon *crm_lexicon_new(void);
void crm_lexicon_add(struct crm_lexicon *lx, const char *folded, double value);
/* Look up a folded word of n bytes: exact terms, then prefixes ("term*").
 * Returns 1 and sets *value when found. */
/* Load a word list into lx, OR-ing flag into the value of every term
 * (gazetteers sharing one table: one lookup tells every list a word is in). */
void crm_lexicon_merge(struct crm_lexicon *lx, const char *path, unsigned flag);
int crm_lexicon_get(const struct crm_lexicon *lx, const char *w, size_t n, double *value);
size_t crm_lexicon_size(const struct crm_lexicon *lx);
/* For loops that look up every word of a text: by first byte, bit n set
 * (bit 63: 63 and more) when a term of n bytes, or a prefix term of n
 * bytes or fewer, begins with that byte.  A word whose bit is clear is
 * not in the lexicon: crm_lexicon_maybe() tells it without a call. */
const uint64_t *crm_lexicon_filter(const struct crm_lexicon *lx);
static inline int
crm_lexicon_maybe(const uint64_t *filter, const char *w, size_t n)
{
	return n && (filter[(unsigned char)w[0]] >> (n < 63 ? n : 63) & 1);
}
void crm_lexicon_free(struct crm_lexicon *lx);

#endif
