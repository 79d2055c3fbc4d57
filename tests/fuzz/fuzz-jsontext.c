/* fuzz-jsontext.c — libFuzzer target: crm_json_text() serialises to exactly
 * the bytes json-c's own escaper writes, with and without slash escaping,
 * alone and inside an object, and crm_json_escape() appends the same bytes
 * to a buffer. */
#include "jsonl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
same(json_object *a, json_object *b, int flags)
{
	size_t na, nb;
	const char *sa = json_object_to_json_string_length(a, flags, &na);
	char *copy = strndup(sa, na);
	const char *sb = json_object_to_json_string_length(b, flags, &nb);
	if (na != nb || memcmp(copy, sb, na))
		abort();
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *ref = json_object_new_string_len((const char *)data, (int)size);
	json_object *fast = crm_json_text((const char *)data, size);
	int flags[] = { JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE };

	for (int i = 0; i < 2; i++)
		same(ref, fast, flags[i]);
	json_object *oa = json_object_new_object(), *ob = json_object_new_object();
	json_object_object_add(oa, "t", ref);
	json_object_object_add(ob, "t", fast);
	for (int i = 0; i < 2; i++)
		same(oa, ob, flags[i]);
	/* crm_json_escape() appends what json-c writes with NOSLASHESCAPE */
	struct crm_buf b = CRM_BUF_INIT;
	size_t nr;
	const char *r = json_object_to_json_string_length(ref,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &nr);
	crm_buf_adds(&b, "x");
	crm_json_escape(&b, (const char *)data, size);
	if (b.len != nr + 1 || memcmp(b.s + 1, r, nr) || b.s[b.len])
		abort();
	crm_buf_free(&b);
	json_object_put(oa);
	json_object_put(ob);
	return 0;
}
