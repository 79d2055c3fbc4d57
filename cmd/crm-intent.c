/* crm-intent — what the sender wants, whether a machine wrote the mail,
 * and what it names: adds "intent", "auto", "auto_detail" and "entities"
 * to message records.  Options and the loop only; the engine is
 * lib/intent.h.  The engine writes its keys' JSON text itself
 * (crm_intent_render): building json-c objects only for the loop to
 * print them cost more than classifying.  The loop takes json-c values,
 * so each text travels in a string object whose serializer writes it
 * as it is. */
#include "buf.h"
#include "cli.h"
#include "config.h"
#include "exitcode.h"
#include "intent.h"
#include "jsonl.h"
#include "log.h"
#include "stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_RULES = 1, O_MAXTEXT, O_THRESHOLD, O_EXPLAIN, O_NOENT };

static const struct option longopts[] = {
	{ "rules", required_argument, NULL, O_RULES },
	{ "max-text", required_argument, NULL, O_MAXTEXT },
	{ "threshold", required_argument, NULL, O_THRESHOLD },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "no-entities", no_argument, NULL, O_NOENT },
	{ 0 },
};

struct ctx {
	struct crm_intent_opts o;
	const char *rules[17];
	size_t nrules;
	int explain, maxtext_set, threshold_set;
	struct crm_intent *ie;
	struct crm_buf ex;
};

static int
handle(int opt, const char *arg, void *p)
{
	struct ctx *c = p;
	long long v;

	switch (opt) {
	case O_RULES:
		if (c->nrules == 16)
			crm_die(CRM_EXIT_USAGE, "--rules: at most 16 files");
		c->rules[c->nrules++] = arg;
		return 0;
	case O_MAXTEXT:
		if ((v = crm_parse_size(arg)) <= 0 || v > (1LL << 30))
			crm_die(CRM_EXIT_USAGE, "--max-text: invalid size '%s'", arg);
		c->o.max_text = (size_t)v;
		c->maxtext_set = 1;
		return 0;
	case O_THRESHOLD:
		c->o.threshold = crm_parse_double("--threshold", arg, 0.01, 100);
		c->threshold_set = 1;
		return 0;
	case O_EXPLAIN:
		c->explain = 1;
		return 0;
	case O_NOENT:
		c->o.no_entities = 1;
		return 0;
	}
	return -1;
}

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	struct ctx *c = arg;
	struct crm_intent_text res;
	json_object *text = crm_get(r->obj, "text"), *body = crm_get(r->obj, "body");

	if (!json_object_is_type(text, json_type_string) &&
	    !(body && json_object_is_type(crm_get(body, "reply"), json_type_string))) {
		crm_reject(r, "record has no \"text\" (a message record from crm-sync is expected)");
		return CRM_REJECT;
	}
	if (crm_get(r->obj, "subject") && !json_object_is_type(crm_get(r->obj, "subject"), json_type_string)) {
		crm_reject(r, "\"subject\" is not a string");
		return CRM_REJECT;
	}
	if (crm_get(r->obj, "headers") && !json_object_is_type(crm_get(r->obj, "headers"), json_type_object)) {
		crm_reject(r, "\"headers\" is not an object");
		return CRM_REJECT;
	}
	crm_buf_reset(&c->ex);
	crm_intent_render(c->ie, r->obj, &res, c->explain ? &c->ex : NULL);
	if (c->explain) {
		const char *mid = crm_get_str(r->obj, "message_id");
		fprintf(stderr, "%s: %s:%ld: explain <%s>\n%s", crm_prog, r->input, r->lineno,
		    mid ? mid : "", c->ex.s ? c->ex.s : "");
	}
	crm_stage_set(st, "intent", crm_json_raw(res.intent, res.intent_len));
	crm_stage_set(st, "auto", json_object_new_string(res.auto_kind));
	if (res.auto_detail)
		crm_stage_set(st, "auto_detail", crm_json_raw(res.auto_detail, res.auto_detail_len));
	if (res.entities)
		crm_stage_set(st, "entities", crm_json_raw(res.entities, res.entities_len));
	return CRM_KEEP;
}

int
main(int argc, char **argv)
{
	struct ctx c = { .nrules = 0 };
	const struct crm_cli cli = {
		.usage = "crm-intent [--explain] [--rules FILE]... [--threshold SCORE]\n"
		    "                  [--max-text BYTES] [--no-entities] [FILE...]",
		.summary = "Add what the sender wants (intent), whether a machine wrote the mail "
		    "(auto, auto_detail) and what it names (entities) to message records.",
		.help =
		    "      --explain         show the matched rules and weights of each message on stderr\n"
		    "      --rules FILE      more rules after the shipped ones (add, replace, reweight);\n"
		    "                        repeatable (config: intent.rules)\n"
		    "      --threshold SCORE best score below which the label is 'other' (default 1.2)\n"
		    "      --max-text BYTES  bytes of the reply examined (default 2048)\n"
		    "      --no-entities     do not extract entities\n",
		.longopts = longopts,
		.handle = handle,
		.ctx = &c,
	};
	int i = crm_cli_parse(&cli, argc, argv);
	const char *cf = crm_config_get("intent.rules");

	if (cf && *cf && c.nrules < 16) {
		memmove(c.rules + 1, c.rules, c.nrules * sizeof *c.rules);
		c.rules[0] = cf;
		c.nrules++;
	}
	c.rules[c.nrules] = NULL;
	c.o.rules = c.rules;
	if (!c.threshold_set)
		c.o.threshold = crm_config_double("intent.threshold", 1.2);
	if (!c.maxtext_set)
		c.o.max_text = (size_t)crm_config_long("intent.max_text", 2048);
	c.ie = crm_intent_new(&c.o);
	int rc = crm_stage_run(argv + i, one, &c, "messages");
	crm_intent_free(c.ie);
	crm_buf_free(&c.ex);
	return rc;
}
