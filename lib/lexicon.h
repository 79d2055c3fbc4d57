/* lexicon.h — word lists loaded from lib/rules (gazetteers, stop words,
 * sentiment): folded terms (fold.h) in a hash table, each with a value;
 * a term ending in '*' matches every word it begins.  The lexicon owns its
 * memory (crm_lexicon_free); lookups return pointers into it. */
#ifndef CRM_LEXICON_H
#define CRM_LEXICON_H

#include <stddef.h>

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
void crm_lexicon_free(struct crm_lexicon *lx);

#endif
