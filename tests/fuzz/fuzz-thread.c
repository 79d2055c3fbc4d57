/* fuzz-thread.c — libFuzzer target: arbitrary bytes as the input of
 * crm-thread — both passes of lib/jsonidx (small --max-line, two parser
 * threads), the threading index in the subject mode chosen by the first
 * byte, the records written back and the --tree view — and each line on
 * its own through the subject normaliser. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "jsonidx.h"
#include "jsonl.h"
#include "subject.h"
#include "thread.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int
pick(json_object *rec, const char *line, size_t len, struct crm_buf *out,
    const char **why, void *arg)
{
	(void)arg;
	if (crm_thread_pack(rec, line, len, 1, out, why) < 0)
		return -1;
	return json_object_object_get_ex(rec, "thread", NULL);
}

static void
take(size_t recno, const char *p, size_t n, void *arg)
{
	(void)recno;
	crm_thread_add_packed(arg, p, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static const char *const keys[] = { "thread" };
	char path[64];
	int fd = memfd_create("fuzz", 0);

	if (!init) {
		if (!freopen("/dev/null", "w", stdout))
			abort();
		crm_rejects_open("/dev/null");
		init = 1;
	}
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	for (const uint8_t *p = data, *e = data + size; p < e;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
		int fl;
		char *s = crm_subject_normalize((const char *)p, n, &fl);
		crm_subject_key(s);
		free(s);
		p += n + 1;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	char *paths[] = { path, NULL };
	struct crm_thread *t = crm_thread_new(1);
	struct crm_jidx_opts o = { .max_line = 512, .jobs = 2, .pick = pick,
	    .take = take, .arg = t };
	struct crm_jidx *x = crm_jidx_scan(paths, &o);
	crm_thread_run(t, size ? (enum crm_thread_subject)(data[0] % 3) :
	    CRM_THREAD_SUBJECT_REPLY);
	struct crm_jidx_rec r;
	while (crm_jidx_next(x, &r)) {
		json_object *v = crm_thread_json(t, r.recno);
		if (r.flags || crm_emit_splice(r.line, r.len, 0, 1, keys, &v) < 0) {
			struct crm_rec rec = { .line = r.line, .len = r.len,
			    .input = r.input, .lineno = r.lineno };
			if ((rec.obj = crm_jidx_parse(x, &r))) {
				crm_emit_keys(&rec, 1, keys, &v);
				json_object_put(rec.obj);
			}
		}
		json_object_put(v);
	}
	crm_thread_print(t, stdout);
	crm_jidx_free(x);
	crm_thread_free(t);
	close(fd);
	return 0;
}
