/* sig-lib.c — crm-parse-signature's work without its JSON input and
 * output, for tests/bench/30-signature.sh: the records are read and
 * parsed first (not timed), then each one's text goes through what the
 * stage does with it (crm_sig_card_of: quote split, locate, extract,
 * cache) under the clock.  This is the measure the npm peers
 * get in sig-peers.js ("speed": the library call on an already parsed
 * record), so the two can be compared like for like.
 *
 *   sig-lib RULES_DIR FILE [MAX]
 * prints "WALL_RATE CPU_RATE N FOUND" (messages/s by wall clock and by
 * process CPU time). */
#include "jsonl.h"
#include "quote.h"
#include "sigcache.h"
#include "signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char err[512], *inputs[2] = { NULL, NULL };
	struct crm_sig_rules *rules;
	struct crm_sig_cache *cards;
	struct crm_reader *rd;
	struct crm_rec r;
	json_object **recs = NULL;
	size_t n = 0, cap = 0, max = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : (size_t)-1;
	unsigned long found = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sig-lib RULES_DIR FILE [MAX]\n");
		return 2;
	}
	if (!(rules = crm_sig_rules_load(argv[1], err, sizeof err))) {
		fprintf(stderr, "sig-lib: %s\n", err);
		return 2;
	}
	inputs[0] = argv[2];
	rd = crm_reader_new(inputs, 0);
	while (n < max && crm_reader_next(rd, &r)) {
		if (n == cap)
			recs = realloc(recs, (cap = cap ? 2 * cap : 1024) * sizeof *recs);
		recs[n++] = json_object_get(r.obj);
	}
	crm_reader_free(rd);
	cards = crm_sig_cache_new(rules, 0, 0);

	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < n; i++) {
		json_object *t = crm_get(recs[i], "text"), *sig;
		struct crm_body b;
		if (!t || !json_object_is_type(t, json_type_string))
			continue;
		sig = crm_sig_card_of(cards, recs[i], t, "FR", &b);
		found += sig != NULL;
		json_object_put(sig);
		crm_body_free(&b);
	}
	double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;

	printf("%.0f %.0f %zu %lu\n", (double)n / w, (double)n / c, n, found);
	for (size_t i = 0; i < n; i++)
		json_object_put(recs[i]);
	free(recs);
	crm_sig_cache_free(cards);
	crm_sig_rules_free(rules);
	return 0;
}
