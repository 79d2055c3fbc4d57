/* fuzz-remote.c — libFuzzer target for what the remote sources read from
 * the network: base64url message bodies (Gmail "raw"), JSON API answers
 * and their error texts, the OAuth redirect request line, API dates.
 * The first byte picks the parser; the decoder must round-trip. */
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "source.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crm_buf a = CRM_BUF_INIT, b = CRM_BUF_INIT, c = CRM_BUF_INIT;
	char err[512], text[256], *s, *code = NULL;
	json_object *o;

	if (size < 1)
		return 0;
	s = crm_xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		if (crm_b64_decode(&a, (const char *)data + 1, size - 1) == 0) {
			crm_b64url_encode(&b, (const unsigned char *)(a.s ? a.s : ""), a.len);
			if (crm_b64_decode(&c, b.s ? b.s : "", b.len) != 0 || c.len != a.len ||
			    (a.len && memcmp(a.s, c.s, a.len)))
				abort();
		}
		break;
	case 1: {
		struct crm_http_resp rs = { .status = 400 };
		crm_buf_add(&rs.body, data + 1, size - 1);
		o = crm_http_json(&rs, err, sizeof err);
		json_object_put(o);
		crm_http_error_text(&rs, text, sizeof text);
		crm_http_resp_free(&rs);
		break;
	}
	case 2:
		if (crm_oauth_judge(s, "fuzz-state", &code, err, sizeof err) == 1 && !code)
			abort();
		free(code);
		break;
	case 3:
		(void)crm_api_time(s);
		break;
	}
	free(s);
	crm_buf_free(&a);
	crm_buf_free(&b);
	crm_buf_free(&c);
	return 0;
}
