/* fuzz-mime.c — libFuzzer target: raw bytes through the MIME reader.
 * Every record it returns must serialise to valid UTF-8 JSON, and the
 * field-by-field header reading must give the same bytes (or the same
 * reason to reject) as the reference whole-header path. */
#include "charset.h"
#include "jsonl.h"
#include "mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crm_msgopts o = { .account = "fuzz", .html = 1, .max_size = 1 << 24 };
	const char *why;
	json_object *rec = crm_message_record((const char *)data, size, &o,
	    json_object_new_object(), &why);

	if (rec) {
		size_t n;
		const char *s = crm_json_str(rec, &n);
		if (!crm_utf8_valid(s, n))
			abort();
		json_object_put(rec);
	} else if (!why) {
		abort();
	}

	struct crm_buf a = CRM_BUF_INIT, b = CRM_BUF_INIT;
	const char *wa, *wb;
	int ra = crm_message_write(&a, (const char *)data, size, &o, "{}", 2, &wa);
	o.whole_header = 1;
	int rb = crm_message_write(&b, (const char *)data, size, &o, "{}", 2, &wb);
	if (ra != rb || (ra < 0 && wa != wb) ||
	    (ra == 0 && (a.len != b.len || memcmp(a.s, b.s, a.len))))
		abort();
	crm_buf_free(&a);
	crm_buf_free(&b);
	return 0;
}
