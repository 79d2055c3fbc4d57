/* crm-thread — group message records into conversations (JWZ threading)
 * and add the "thread" key to each, in input order; or, with --tree, print
 * the threads for people.  Options and the two passes only: reading is in
 * lib/jsonidx.h, threading in lib/thread.h, subjects in lib/subject.h. */
#include "cli.h"
#include "config.h"
#include "exitcode.h"
#include "jsonidx.h"
#include "jsonl.h"
#include "log.h"
#include "thread.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { O_TREE = 't', O_JOBS = 'j', O_SUBJECT = 0x100 };
enum { F_HAS_THREAD = 1, F_EMPTY = 2 };      /* kept with each record by pass 1 */

static const struct option longopts[] = {
	{ "tree", no_argument, NULL, O_TREE },
	{ "subject", required_argument, NULL, O_SUBJECT },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ 0 },
};

struct opts {
	int tree, jobs;
	const char *subject;
	struct crm_thread *t;
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case O_TREE: o->tree = 1; return 0;
	case O_SUBJECT: o->subject = arg; return 0;
	case O_JOBS: o->jobs = (int)crm_parse_long("--jobs", arg, 1, 64); return 0;
	}
	return -1;
}

static int
subject_mode(const char *s, enum crm_thread_subject *m)
{
	if (!strcmp(s, "reply"))
		*m = CRM_THREAD_SUBJECT_REPLY;
	else if (!strcmp(s, "all"))
		*m = CRM_THREAD_SUBJECT_ALL;
	else if (!strcmp(s, "none"))
		*m = CRM_THREAD_SUBJECT_NONE;
	else
		return -1;
	return 0;
}

/* Pass 1, in parser threads. */
static int
pick(json_object *rec, const char *line, size_t len, struct crm_buf *out,
    const char **why, void *arg)
{
	const struct opts *o = arg;
	int fl = 0;

	if (json_object_object_get_ex(rec, "thread", NULL))
		fl |= F_HAS_THREAD;
	if (json_object_object_length(rec) == 0)
		fl |= F_EMPTY;
	if (crm_thread_pack(rec, line, len, o->tree, out, why) < 0)
		return -1;
	return fl;
}

/* Pass 1, in input order. */
static void
take(size_t recno, const char *p, size_t n, void *arg)
{
	(void)recno;
	crm_thread_add_packed(((struct opts *)arg)->t, p, n);
}

/* Pass 2: each record with its "thread" spliced in. */
static void
emit(struct crm_jidx *x, const struct crm_thread *t)
{
	static const char *const keys[] = { "thread" };
	struct crm_jidx_rec r;

	while (crm_jidx_next(x, &r)) {
		json_object *v = crm_thread_json(t, r.recno);
		if ((r.flags & F_HAS_THREAD) || crm_emit_splice(r.line, r.len,
		    r.flags & F_EMPTY, 1, keys, &v) < 0) {
			struct crm_rec rec = { .line = r.line, .len = r.len,
			    .input = r.input, .lineno = r.lineno };
			if (!(rec.obj = crm_jidx_parse(x, &r)))
				crm_die(CRM_EXIT_ENV, "%s:%ld: input changed while being read",
				    r.input, r.lineno);
			crm_emit_keys(&rec, 1, keys, &v);
			json_object_put(rec.obj);
		}
		json_object_put(v);
		crm_progress(r.recno + 1, "records written");
	}
	crm_progress_end();
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	enum crm_thread_subject mode;
	const struct crm_cli cli = {
		.usage = "crm-thread [--tree] [--subject reply|all|none] [-j N] [FILE...]",
		.summary = "Group message records into threads (JWZ) and add the "
		    "\"thread\" key to each, in input order.",
		.help =
		    "  -t, --tree            print the threads as an indented list instead\n"
		    "      --subject MODE    group root messages by subject: reply (default:\n"
		    "                        only messages whose subject says Re:/Fwd:/...),\n"
		    "                        all (also two non-replies, as JWZ), none\n"
		    "  -j, --jobs N          parser threads (default: one per CPU, at most 8)\n",
		.shortopts = "tj:",
		.longopts = longopts,
		.handle = handle,
		.ctx = &o,
	};
	int i = crm_cli_parse(&cli, argc, argv);

	if (!o.subject)
		o.subject = crm_config_get_default("thread-subject", "reply");
	if (subject_mode(o.subject, &mode) < 0) {
		crm_warn("--subject: expected reply, all or none, not '%s'", o.subject);
		crm_usage(&cli);
	}
	o.t = crm_thread_new(o.tree);
	struct crm_jidx_opts jo = {
		.max_line = crm_common.max_line, .jobs = o.jobs,
		.pick = pick, .take = take, .arg = &o,
	};
	double t0 = now();
	struct crm_jidx *x = crm_jidx_scan(i < argc ? argv + i : NULL, &jo);
	double t1 = now();
	crm_thread_run(o.t, mode);
	double t2 = now();
	if (o.tree)
		crm_thread_print(o.t, stdout);
	else
		emit(x, o.t);
	crm_debug("%zu records: read %.3fs, threaded %.3fs, written %.3fs",
	    crm_jidx_count(x), t1 - t0, t2 - t1, now() - t2);
	crm_output_close();
	crm_jidx_free(x);
	crm_thread_free(o.t);
	return crm_status();
}
