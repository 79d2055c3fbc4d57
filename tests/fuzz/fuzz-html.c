/* fuzz-html.c — libFuzzer target: HTML to text never reads out of bounds,
 * and valid UTF-8 in gives valid UTF-8 out. */
#include "charset.h"
#include "html.h"

#include <stdint.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crm_buf out = CRM_BUF_INIT;
	int valid = crm_utf8_valid((const char *)data, size);

	crm_html_to_text(&out, (const char *)data, size);
	if (valid && !crm_utf8_valid(out.s ? out.s : "", out.len))
		abort();
	crm_buf_free(&out);
	return 0;
}
