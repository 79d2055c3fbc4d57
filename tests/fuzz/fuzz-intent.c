/* fuzz-intent.c — libFuzzer target: arbitrary bytes as a message record
 * for crm-intent's engine.  The first line is the subject, the second a
 * header value (tried as Auto-Submitted, List-Id and X-Failed-Recipients
 * in turn), the rest the text and, for odd sizes, the delivery_status:
 * the rules scan, the automatic-mail details, dates, names and phones all
 * see hostile text.  Rules come from $CRM_RULES_DIR (default lib/rules,
 * as make fuzz runs from the top of the tree).  $CRM_WRULES_CHECK makes
 * the rules engine run PCRE2 after every match it decided from a rule's
 * literal expansions, and abort when they differ; the JSON text that
 * crm_intent_render() writes must be json-c's text of the objects
 * crm_intent_classify() returns, byte for byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "charset.h"
#include "intent.h"
#include "jsonl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
same(const char *what, json_object *o, const char *text, size_t n)
{
	size_t on = 0;
	const char *os = o ? crm_json_str(o, &on) : NULL;

	if (!o != !text || (o && (on != n || memcmp(os, text, n)))) {
		fprintf(stderr, "fuzz-intent: %s differs:\n  json-c: %s\n  render: %.*s\n", what,
		    os ? os : "(none)", (int)n, text ? text : "(none)");
		abort();
	}
}

static json_object *
str(const uint8_t *p, size_t n)
{
	struct crm_buf b = CRM_BUF_INIT;
	json_object *o;

	crm_utf8_repair(&b, (const char *)p, n);   /* records are valid UTF-8 */
	o = json_object_new_string_len(b.s ? b.s : "", (int)b.len);
	crm_buf_free(&b);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct crm_intent *ie;
	static const char *const hdrs[] = { "auto-submitted", "list-id", "x-failed-recipients" };
	struct crm_intent_result res;
	struct crm_buf ex = CRM_BUF_INIT;
	const uint8_t *nl1, *nl2, *end = data + size;

	if (!ie) {
		struct crm_intent_opts o = { .max_text = 4096 };
		setenv("CRM_RULES_DIR", "lib/rules", 0);
		setenv("CRM_WRULES_CHECK", "1", 0);   /* PCRE2 confirms every literal decision */
		ie = crm_intent_new(&o);
	}
	nl1 = memchr(data, '\n', size);
	if (!nl1)
		nl1 = end;
	nl2 = nl1 < end ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
	if (!nl2)
		nl2 = end;
	json_object *rec = json_object_new_object(), *h = json_object_new_object();
	json_object_object_add(rec, "date", json_object_new_string("2025-11-05T09:00:00Z"));
	json_object_object_add(rec, "subject", str(data, (size_t)(nl1 - data)));
	if (nl1 < end)
		json_object_object_add(h, hdrs[size % 3], str(nl1 + 1, (size_t)(nl2 - nl1 - 1)));
	json_object_object_add(rec, "headers", h);
	const uint8_t *t = nl2 < end ? nl2 + 1 : end;
	json_object_object_add(rec, "text", str(t, (size_t)(end - t)));
	if (size & 1)
		json_object_object_add(rec, "delivery_status", str(t, (size_t)(end - t)));
	crm_intent_classify(ie, rec, &res, size & 2 ? &ex : NULL);
	struct crm_intent_text txt;
	crm_intent_render(ie, rec, &txt, NULL);
	same("intent", res.intent, txt.intent, txt.intent_len);
	same("auto_detail", res.auto_detail, txt.auto_detail, txt.auto_detail_len);
	same("entities", res.entities, txt.entities, txt.entities_len);
	if (strcmp(json_object_get_string(res.auto_kind), txt.auto_kind))
		abort();
	json_object_put(res.intent);
	json_object_put(res.auto_kind);
	json_object_put(res.auto_detail);
	json_object_put(res.entities);
	json_object_put(rec);
	crm_buf_free(&ex);
	return 0;
}
