/* fuzz-jsonl.c — libFuzzer target: arbitrary bytes as a JSON-lines input
 * (small --max-line so the long-line path is exercised); every record is
 * written back with a stage key spliced in. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "jsonl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
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
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	char *paths[] = { path, NULL };
	struct crm_reader *rd = crm_reader_new(paths, 256);
	struct crm_rec r;
	const char *key = "fuzz";
	while (crm_reader_next(rd, &r)) {
		json_object *v = json_object_new_int(1);
		crm_emit_keys(&r, 1, &key, &v);
		json_object_put(v);
	}
	crm_reader_free(rd);
	close(fd);
	return 0;
}
