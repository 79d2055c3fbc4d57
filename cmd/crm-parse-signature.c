/* crm-parse-signature — split each message's reply from its quoted
 * history (key "body").  Options and the loop only; the logic is in
 * lib/quote.h. */
#include "cli.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"
#include "quote.h"
#include "stage.h"

#include <stdlib.h>
#include <string.h>

static const struct option longopts[] = {
	{ 0 },
};

struct ps {
	unsigned long records;
};

static json_object *
body_json(const struct crm_body *b)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "reply", json_object_new_string_len(b->reply, (int)b->reply_len));
	json_object_object_add(o, "quoted", json_object_new_string_len(b->quoted, (int)b->quoted_len));
	json_object_object_add(o, "forwarded", json_object_new_boolean(b->forwarded));
	return o;
}

static int
one(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	struct ps *ps = arg;
	json_object *t = crm_get(r->obj, "text");
	struct crm_body b;

	if (!t || !json_object_is_type(t, json_type_string)) {
		crm_reject(r, t ? "\"text\" is not a string" : "record has no \"text\"");
		return CRM_REJECT;
	}
	ps->records++;
	crm_quote_split_subject(json_object_get_string(t), (size_t)json_object_get_string_len(t),
	    crm_get_str(r->obj, "subject"), &b);
	crm_stage_set(st, "body", body_json(&b));
	crm_body_free(&b);
	return CRM_KEEP;
}

int
main(int argc, char **argv)
{
	struct ps ps = { 0 };
	const struct crm_cli cli = {
		.usage = "crm-parse-signature [FILE...]",
		.summary = "Split each message record's reply from its quoted history.",
		.help = "",
		.longopts = longopts,
	};
	int i = crm_cli_parse(&cli, argc, argv);

	return crm_stage_run(argv + i, one, &ps, "records");
}
