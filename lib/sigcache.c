/* sigcache.c — the card cache (see sigcache.h).  A direct-mapped table
 * of 4096 slots: a collision replaces the older entry, the full key is
 * compared on a hit, so a hash collision costs a re-read, never a wrong
 * card.  A block without a card (every field below the threshold) is
 * cached too. */
#include "sigcache.h"
#include "buf.h"
#include "hash.h"
#include "jsonl.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096

struct slot {
	uint64_t key;
	char *text;              /* the key material, NUL-separated */
	size_t len;
	json_object *sig;        /* the card as first read ("method": "rules") */
	json_object *hit;        /* its copy with "method": "cache", made at the
	                            first hit and shared by every later one */
};

struct crm_sig_cache {
	const struct crm_sig_rules *rules;
	int explain;
	double min_conf;
	unsigned long found, hits;
	struct crm_buf key;
	struct slot slot[SLOTS];
};

struct crm_sig_cache *
crm_sig_cache_new(const struct crm_sig_rules *r, int explain, double min_conf)
{
	struct crm_sig_cache *c = crm_xcalloc(1, sizeof *c);

	c->rules = r;
	c->explain = explain;
	c->min_conf = min_conf;
	return c;
}

static void
make_key(struct crm_buf *k, const struct crm_signature *s, const struct crm_sig_input *in)
{
	crm_buf_reset(k);
	crm_buf_add(k, s->text, s->text_len);
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->from_name ? in->from_name : "");
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->from_email ? in->from_email : "");
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->region ? in->region : "FR");
}

json_object *
crm_sig_card(struct crm_sig_cache *c, const struct crm_sig_input *in)
{
	struct crm_signature s;
	json_object *j = NULL;
	struct slot *sl;
	uint64_t h;

	if (!crm_sig_locate(c->rules, in, &s))
		return NULL;
	make_key(&c->key, &s, in);
	h = crm_fnv1a(c->key.s, c->key.len);
	sl = &c->slot[h % SLOTS];
	if (sl->text && sl->key == h && sl->len == c->key.len && !memcmp(sl->text, c->key.s, c->key.len)) {
		crm_signature_free(&s);
		c->hits++;
		if (!sl->sig)
			return NULL;
		c->found++;
		if (!sl->hit) {
			json_object_deep_copy(sl->sig, &sl->hit, NULL);
			json_object_object_add(sl->hit, "method", json_object_new_string("cache"));
		}
		return json_object_get(sl->hit);
	}
	crm_sig_extract(c->rules, in, &s);
	if (crm_sig_threshold(&s, c->min_conf) > 0) {
		j = crm_signature_json(&s, c->explain);
		json_object_object_add(j, "method", json_object_new_string("rules"));
		c->found++;
	}
	crm_signature_free(&s);
	free(sl->text);
	json_object_put(sl->sig);
	json_object_put(sl->hit);
	sl->key = h;
	sl->len = c->key.len;
	sl->text = crm_xmalloc(c->key.len ? c->key.len : 1);
	memcpy(sl->text, c->key.s, c->key.len);
	sl->sig = j ? json_object_get(j) : NULL;
	sl->hit = NULL;
	return j;
}

json_object *
crm_sig_card_of(struct crm_sig_cache *c, json_object *rec, json_object *text,
    const char *region, struct crm_body *b)
{
	json_object *from = crm_get(rec, "from");
	struct crm_sig_input in = { .region = region };

	crm_quote_split_subject(json_object_get_string(text), (size_t)json_object_get_string_len(text),
	    crm_get_str(rec, "subject"), b);
	if (from && json_object_is_type(from, json_type_object)) {
		in.from_name = crm_get_str(from, "name");
		in.from_email = crm_get_str(from, "email");
	}
	in.reply = b->reply;
	in.reply_len = b->reply_len;
	return crm_sig_card(c, &in);
}

void
crm_sig_cache_counts(const struct crm_sig_cache *c, unsigned long *found, unsigned long *hits)
{
	*found = c->found;
	*hits = c->hits;
}

void
crm_sig_cache_free(struct crm_sig_cache *c)
{
	if (!c)
		return;
	for (size_t k = 0; k < SLOTS; k++) {
		free(c->slot[k].text);
		json_object_put(c->slot[k].sig);
		json_object_put(c->slot[k].hit);
	}
	crm_buf_free(&c->key);
	free(c);
}
