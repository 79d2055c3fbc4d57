/* crm-parse-signature — split each message's reply from its quoted
 * history (key "body") and read the sender's signature into a contact
 * card (key "signature").  Options and the loop only; the logic is in
 * lib/quote.h, lib/signature.h and lib/sigcache.h. */
#include "cli.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"
#include "phone.h"
#include "quote.h"
#include "sigcache.h"
#include "signature.h"
#include "stage.h"

enum { O_REGION = 1, O_EXPLAIN, O_MINCONF, O_RULES };

static const struct option longopts[] = {
	{ "region", required_argument, NULL, O_REGION },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "min-confidence", required_argument, NULL, O_MINCONF },
	{ "rules", required_argument, NULL, O_RULES },
	{ 0 },
};

struct ps {
	const char *region, *rules_dir;
	int explain;
	double min_conf;
	struct crm_sig_rules *rules;
	struct crm_sig_cache *cards;
	unsigned long records;
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

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	struct ps *ps = arg;
	json_object *t = crm_get(r->obj, "text"), *sig;
	struct crm_body b;

	if (!t || !json_object_is_type(t, json_type_string)) {
		crm_reject(r, t ? "\"text\" is not a string" : "record has no \"text\"");
		return CRM_REJECT;
	}
	ps->records++;
	sig = crm_sig_card_of(ps->cards, r->obj, t, ps->region, &b);
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
	unsigned long found, hits;

	if (!(ps.rules = crm_sig_rules_load(ps.rules_dir, err, sizeof err)))
		crm_die(CRM_EXIT_USAGE, "%s", err);
	ps.cards = crm_sig_cache_new(ps.rules, ps.explain, ps.min_conf);
	rc = crm_stage_run(argv + i, one, &ps, "records");
	crm_sig_cache_counts(ps.cards, &found, &hits);
	if (ps.records || crm_rejects_count())
		crm_warn("%lu records, %lu signatures found, %lu cache hits, %lu rejected",
		    ps.records, found, hits, crm_rejects_count());
	crm_sig_cache_free(ps.cards);
	crm_sig_rules_free(ps.rules);
	return rc;
}
