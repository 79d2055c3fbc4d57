/* stage-floor.c — the cost of the JSON-lines loop alone, for the
 * benchmarks: crm_stage_run() reads, validates and parses every line with
 * json-c, and splices one small key into the output line, exactly as every
 * crm stage does, but does no work of its own.  A stage cannot run faster
 * than this on one core; tests/bench/15-floor.sh builds and times it. */
#include "cli.h"
#include "stage.h"

static int
nothing(struct crm_stage *st, const struct crm_rec *r, void *arg)
{
	(void)r;
	(void)arg;
	crm_stage_set(st, "floor", json_object_new_boolean(1));
	return CRM_KEEP;
}

int
main(int argc, char **argv)
{
	(void)argc;
	return crm_stage_run(argv[1] ? argv + 1 : NULL, nothing, NULL, "records");
}
