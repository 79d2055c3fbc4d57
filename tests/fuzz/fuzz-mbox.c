/* fuzz-mbox.c — libFuzzer target: arbitrary bytes as an mbox file, each
 * message through the MIME reader. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mailsrc.h"
#include "mime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void
one(const char *raw, size_t len, const struct crm_msgsrc *src, time_t fb, const char *err,
    void *arg)
{
	struct crm_msgopts o = { .account = "fuzz", .max_size = 1 << 20, .fallback_date = fb };
	const char *why;
	(void)err;
	(void)arg;
	if (raw) {
		json_object *rec = crm_message_record(raw, len, &o, crm_msgsrc_json(src), &why);
		json_object_put(rec);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("fuzz", 0);
	struct crm_mailsrc_opts so = { .max_size = 1 << 20 };

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	crm_mbox_scan(path, &so, one, NULL);
	close(fd);
	return 0;
}
