/* crm-parse-signature — split each message's reply from its quoted
 * history (key "body") and read the sender's signature into a contact
 * card (key "signature").  Options, the cache and the loop only; the
 * logic is in lib/quote.h and lib/signature.h. */
#include "buf.h"
#include "cli.h"
#include "exitcode.h"
#include "hash.h"
#include "jsonl.h"
#include "log.h"
#include "phone.h"
#include "quote.h"
#include "signature.h"
#include "stage.h"

#include <stdlib.h>
#include <string.h>

enum { O_REGION = 1, O_EXPLAIN, O_MINCONF, O_RULES };

static const struct option longopts[] = {
	{ "region", required_argument, NULL, O_REGION },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "min-confidence", required_argument, NULL, O_MINCONF },
	{ "rules", required_argument, NULL, O_RULES },
	{ 0 },
};

/* The cache: the same sender's signature recurs in every message, so the
 * extracted card is kept per (signature text, sender, region), in a
 * direct-mapped table: a collision simply replaces the older entry. */
#define CACHE_SLOTS 4096

struct slot {
	uint64_t key;
	char *text;              /* the key material, to rule out hash collisions */
	json_object *sig;
	json_object *hit;        /* sig with "method": "cache", made at the first
	                            hit and shared by every later one: the loop
	                            only serialises the values it is given */
};

struct ps {
	const char *region, *rules_dir;
	int explain;
	double min_conf;
	struct crm_sig_rules *rules;
	struct slot cache[CACHE_SLOTS];
	unsigned long records, found, hits;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct ps *ps = ctx;

	switch (opt) {
	case O_REGION:
		if (!crm_phone_region_ok(arg))
			crm_die(CRM_EXIT_USAGE, "--region: unknown region '%s' (two letters, e.g. FR)", arg);
		ps->region = arg;
		return 0;
	case O_EXPLAIN: ps->explain = 1; return 0;
	case O_MINCONF: ps->min_conf = crm_parse_double("--min-confidence", arg, 0, 1); return 0;
	case O_RULES: ps->rules_dir = arg; return 0;
	}
	return -1;
}

static void
cache_key(struct crm_buf *k, const struct crm_signature *s, const struct crm_sig_input *in)
{
	crm_buf_reset(k);
	crm_buf_add(k, s->text, s->text_len);
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->from_name ? in->from_name : "");
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->from_email ? in->from_email : "");
	crm_buf_addc(k, 0);
	crm_buf_adds(k, in->region);
}

static json_object *
signature(struct ps *ps, const struct crm_sig_input *in)
{
	struct crm_signature s;
	struct crm_buf key = CRM_BUF_INIT;
	json_object *j = NULL;
	uint64_t h;
	struct slot *sl;

	if (!crm_sig_locate(ps->rules, in, &s))
		return NULL;
	cache_key(&key, &s, in);
	h = crm_fnv1a(key.s, key.len);
	sl = &ps->cache[h % CACHE_SLOTS];
	if (sl->text && sl->key == h && !memcmp(sl->text, key.s, key.len + 1)) {
		ps->hits++;
		if (sl->sig && !sl->hit) {
			json_object_deep_copy(sl->sig, &sl->hit, NULL);
			json_object_object_add(sl->hit, "method", json_object_new_string("cache"));
		}
		j = sl->hit ? json_object_get(sl->hit) : NULL;
		crm_buf_free(&key);
		crm_signature_free(&s);
		return j;
	}
	crm_sig_extract(ps->rules, in, &s);
	if (crm_sig_threshold(&s, ps->min_conf) > 0) {
		j = crm_signature_json(&s, ps->explain);
		json_object_object_add(j, "method", json_object_new_string("rules"));
	}
	free(sl->text);
	json_object_put(sl->sig);
	json_object_put(sl->hit);
	sl->hit = NULL;
	sl->key = h;
	sl->text = crm_buf_steal(&key);
	sl->sig = j ? json_object_get(j) : NULL;
	crm_signature_free(&s);
	return j;
}

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	struct ps *ps = arg;
	json_object *t = crm_get(r->obj, "text"), *from = crm_get(r->obj, "from"), *sig;
	struct crm_body b;
	struct crm_sig_input in = { .region = ps->region };

	if (!t || !json_object_is_type(t, json_type_string)) {
		crm_reject(r, t ? "\"text\" is not a string" : "record has no \"text\"");
		return CRM_REJECT;
	}
	ps->records++;
	crm_quote_split_subject(json_object_get_string(t), (size_t)json_object_get_string_len(t),
	    crm_get_str(r->obj, "subject"), &b);
	if (from && json_object_is_type(from, json_type_object)) {
		in.from_name = crm_get_str(from, "name");
		in.from_email = crm_get_str(from, "email");
	}
	in.reply = b.reply;
	in.reply_len = b.reply_len;
	sig = signature(ps, &in);
	ps->found += sig != NULL;
	crm_stage_set(st, "body", crm_body_json(&b));
	crm_stage_set(st, "signature", sig);
	crm_body_free(&b);
	return CRM_KEEP;
}

int
main(int argc, char **argv)
{
	static struct ps ps = { .region = "FR" };
	const struct crm_cli cli = {
		.usage = "crm-parse-signature [--region CC] [--explain] [--min-confidence P]\n"
		    "                           [--rules DIR] [FILE...]",
		.summary = "Split each message record's reply from its quoted history and read the "
		    "sender's signature into a contact card (keys \"body\" and \"signature\").",
		.help =
		    "      --region CC       region of phone numbers written without a country code\n"
		    "                        when the signature gives no hint (default FR)\n"
		    "      --explain         add \"rules\": which rule produced each field\n"
		    "      --min-confidence P  drop fields whose confidence is below P (0..1)\n"
		    "      --rules DIR       signature rules directory (default: the installed\n"
		    "                        rules, or $CRM_RULES_DIR/signature)\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &ps,
	};
	char err[512];
	int i = crm_cli_parse(&cli, argc, argv), rc;

	if (!(ps.rules = crm_sig_rules_load(ps.rules_dir, err, sizeof err)))
		crm_die(CRM_EXIT_USAGE, "%s", err);
	rc = crm_stage_run(argv + i, one, &ps, "records");
	if (ps.records || crm_rejects_count())
		crm_warn("%lu records, %lu signatures found, %lu cache hits, %lu rejected",
		    ps.records, ps.found, ps.hits, crm_rejects_count());
	for (size_t k = 0; k < CACHE_SLOTS; k++) {
		free(ps.cache[k].text);
		json_object_put(ps.cache[k].sig);
		json_object_put(ps.cache[k].hit);
	}
	crm_sig_rules_free(ps.rules);
	return rc;
}
