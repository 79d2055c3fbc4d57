/* fuzz-mime.c — libFuzzer target: raw bytes through the MIME reader.
 * Every record it returns must serialise to valid UTF-8 JSON. */
#include "charset.h"
#include "jsonl.h"
#include "mime.h"

#include <stdint.h>
#include <stdlib.h>

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
	return 0;
}
