/* sigcache.h — a sender's signature recurs in every message they send, so
 * the card read out of a block is kept and handed out again: the key is
 * the block's text with the sender (name, address) and the default phone
 * region, which are all that crm_sig_extract() reads besides the block.
 * Used by crm-parse-signature(1) and by the library benchmark
 * (tests/bench/sig-lib.c), both through crm_sig_card_of(). */
#ifndef CRM_SIGCACHE_H
#define CRM_SIGCACHE_H

#include "quote.h"
#include "signature.h"

#include <json.h>

struct crm_sig_cache;

/* explain: add "rules" to the cards; min_conf: crm_sig_threshold()'s
 * bound.  The rules must outlive the cache. */
struct crm_sig_cache *crm_sig_cache_new(const struct crm_sig_rules *r, int explain, double min_conf);

/* The "signature" value for in->reply: the card, with "method" "rules"
 * when it was read now and "cache" when it was read before, or NULL when
 * the reply has no signature block or no field of it passes min_conf.
 * A new reference, owned by the caller. */
json_object *crm_sig_card(struct crm_sig_cache *c, const struct crm_sig_input *in);

/* What crm-parse-signature does with a message record: its text (a
 * JSON string, which the caller has checked) split into *b under its
 * subject (crm_quote_split_subject; the caller frees b), then the card
 * of the reply for the From header's sender, phone numbers read in
 * region (NULL: FR).  Returns as crm_sig_card(). */
json_object *crm_sig_card_of(struct crm_sig_cache *c, json_object *rec, json_object *text,
    const char *region, struct crm_body *b);

/* Replies given a card, and blocks the cache answered (with a card or
 * without one). */
void crm_sig_cache_counts(const struct crm_sig_cache *c, unsigned long *found, unsigned long *hits);

void crm_sig_cache_free(struct crm_sig_cache *c);

#endif
