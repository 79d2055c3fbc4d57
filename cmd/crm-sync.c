/* crm-sync — mail sources to message records (crm-record(5)).
 * Options and the loop only; reading is in lib/mailsrc.h, parsing in
 * lib/mime.h. */
#include "cli.h"
#include "db.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"
#include "mailsrc.h"
#include "mime.h"
#include "remote.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_MAILDIR = 1, O_MBOX, O_ACCOUNT, O_HTML, O_MAXSIZE, O_RECURSIVE,
	O_IMAP, O_GMAIL, O_GRAPH, O_ALL, O_LIMIT, O_RESYNC, O_SINCE, O_CAFILE, O_STATE };

static const struct option longopts[] = {
	{ "maildir", required_argument, NULL, O_MAILDIR },
	{ "mbox", required_argument, NULL, O_MBOX },
	{ "account", required_argument, NULL, O_ACCOUNT },
	{ "html", no_argument, NULL, O_HTML },
	{ "max-size", required_argument, NULL, O_MAXSIZE },
	{ "recursive", no_argument, NULL, 'r' },
	{ "state", no_argument, NULL, O_STATE },
	/* remote sources: lib/remote.h */
	{ "imap", required_argument, NULL, O_IMAP },
	{ "gmail", required_argument, NULL, O_GMAIL },
	{ "graph", required_argument, NULL, O_GRAPH },
	{ "all", no_argument, NULL, O_ALL },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "resync", no_argument, NULL, O_RESYNC },
	{ "since", required_argument, NULL, O_SINCE },
	{ "cafile", required_argument, NULL, O_CAFILE },
	{ 0 },
};

struct sync {
	const char *maildir, *mbox;
	struct crm_msgopts mo;
	struct crm_mailsrc_opts so;
	unsigned long n;
	struct crm_remote_opts ro;
	int state;                /* --state: skip what is stored, mark the rest */
	struct crm_seen *seen;
	struct crm_buf out;       /* one record's JSON text, reused */
	struct crm_buf src;       /* its "source" */
};

static int
handle(int opt, const char *arg, void *ctx)
{
	struct sync *s = ctx;
	long long v;

	switch (opt) {
	case O_MAILDIR: s->maildir = arg; return 0;
	case O_MBOX: s->mbox = arg; return 0;
	case O_ACCOUNT: s->mo.account = arg; return 0;
	case O_HTML: s->mo.html = 1; return 0;
	case 'r': s->so.recursive = 1; return 0;
	case O_STATE: s->state = 1; return 0;
	case O_MAXSIZE:
		if ((v = crm_parse_size(arg)) <= 0)
			crm_die(CRM_EXIT_USAGE, "--max-size: invalid size '%s'", arg);
		s->mo.max_size = s->so.max_size = s->ro.max_size = (size_t)v;
		return 0;
	case O_IMAP: s->ro.imap = arg; return 0;
	case O_GMAIL: s->ro.gmail = arg; return 0;
	case O_GRAPH: s->ro.graph = arg; return 0;
	case O_ALL: s->ro.all = 1; return 0;
	case O_LIMIT: s->ro.limit = (unsigned long)crm_parse_long("--limit", arg, 1, 1L << 30); return 0;
	case O_RESYNC: s->ro.resync = 1; return 0;
	case O_SINCE: s->ro.since = arg; return 0;
	case O_CAFILE: s->ro.cafile = arg; return 0;
	}
	return -1;
}

static void
reject(const struct crm_msgsrc *s, const char *why)
{
	json_object *r = json_object_new_object();
	char where[64] = "";
	size_t n;

	if (s->offset >= 0)
		snprintf(where, sizeof where, "message at byte %lld: ", s->offset);
	json_object_object_add(r, "error", json_object_new_string(why));
	json_object_object_add(r, "source", crm_msgsrc_json(s));
	const char *line = crm_json_str(r, &n);
	crm_reject_raw(s->path ? s->path : "<stdin>", 0, line, n, "%s%s", where, why);
	json_object_put(r);
}

static void
one(const char *raw, size_t len, const struct crm_msgsrc *src, time_t fallback,
    const char *err, void *arg)
{
	struct sync *s = arg;
	const char *why = err;
	char item[256];

	if (!raw) {
		reject(src, why);
		return;
	}
	/* --state: crm-store records it as stored, in the same transaction */
	if (s->state)
		crm_maildir_item(src->path ? src->path : "", item, sizeof item);
	s->mo.fallback_date = fallback;
	s->src.len = 0;
	crm_msgsrc_write(&s->src, src, s->state ? item : NULL);
	s->out.len = 0;
	if (crm_message_write(&s->out, raw, len, &s->mo, s->src.s, s->src.len, &why) < 0) {
		reject(src, why);
		return;
	}
	crm_emit_line(s->out.s, s->out.len);
	crm_progress(++s->n, "messages");
}

/* --state: a Maildir file whose unique name is already stored is skipped */
static int
stored(const char *folder, const char *name, void *arg)
{
	struct sync *s = arg;
	char item[256];

	crm_maildir_item(name, item, sizeof item);
	return crm_seen_has(s->seen, folder, item);
}

int
main(int argc, char **argv)
{
	struct sync s = { .mo = { .max_size = 64UL << 20 }, .so = { .max_size = 64UL << 20 } };
	const struct crm_cli cli = {
		.usage = "crm-sync [--account NAME] [--html] [--max-size BYTES]\n"
		    "                [--maildir DIR [-r] [--state] | --mbox FILE | FILE...]\n"
		    "       crm-sync [--html] [--max-size BYTES] [--limit N] [--resync] [--since DATE]\n"
		    "                [--cafile FILE] --imap ACCOUNT | --gmail ACCOUNT | --graph ACCOUNT | --all",
		.summary = "Read mail from a Maildir, an mbox or message files and print one "
		    "JSON message record per message.",
		.help =
		    "      --maildir DIR     read the Maildir DIR (cur/ and new/)\n"
		    "  -r, --recursive       with --maildir, also its Maildir++ subfolders\n"
		    "      --state           with --maildir, only mail not yet stored by crm-store\n"
		    "      --mbox FILE       read the mbox FILE (mboxo/mboxrd; - for stdin)\n"
		    "      --account NAME    account name in records and ids (default $CRM_ACCOUNT or 'local')\n"
		    "      --html            also emit the decoded HTML body as \"html\"\n"
		    "      --max-size BYTES  largest message accepted (default 64M)\n"
		    "      --imap ACCOUNT    sync the IMAP account ACCOUNT (see crm-account(1))\n"
		    "      --gmail ACCOUNT   sync the Gmail account ACCOUNT over the Gmail API\n"
		    "      --graph ACCOUNT   sync the Microsoft 365 account ACCOUNT over Graph\n"
		    "      --all             sync every active account, each under a lease\n"
		    "      --limit N         at most N messages per account in this run\n"
		    "      --resync          accept a changed UIDVALIDITY / ignore stored cursors\n"
		    "      --since DATE      first Gmail/Graph sync: mail since DATE (YYYY-MM-DD)\n"
		    "      --cafile FILE     trust the CA certificates in FILE (TLS)\n",
		.shortopts = "r",
		.longopts = longopts,
		.handle = handle,
		.ctx = &s,
	};
	int i = crm_cli_parse(&cli, argc, argv);
	int remote = (s.ro.imap != NULL) + (s.ro.gmail != NULL) + (s.ro.graph != NULL) + s.ro.all;

	if (remote > 1 || (remote && (s.maildir || s.mbox || i < argc || s.mo.account || s.state))) {
		crm_warn("give one source: --imap, --gmail, --graph or --all (the account names the records)");
		crm_usage(&cli);
	}
	if (remote) {
		s.ro.html = s.mo.html;
		return crm_remote_run(&s.ro);
	}
	if (s.ro.limit || s.ro.resync || s.ro.since || s.ro.cafile) {
		crm_warn("--limit, --resync, --since and --cafile go with a remote source");
		crm_usage(&cli);
	}

	if (!s.mo.account)
		s.mo.account = getenv("CRM_ACCOUNT");
	/* test hook: the reference header reading (see mime.h), which must
	 * give the same records */
	s.mo.whole_header = getenv("CRM_SYNC_WHOLE_HEADER") != NULL;
	if (!s.mo.account || !*s.mo.account)
		s.mo.account = "local";
	if ((s.maildir != NULL) + (s.mbox != NULL) + (i < argc) > 1) {
		crm_warn("give one source: --maildir, --mbox or files");
		crm_usage(&cli);
	}
	if (s.state && !s.maildir) {
		crm_warn("--state needs --maildir");
		crm_usage(&cli);
	}
	PGconn *db = NULL;
	if (s.state) {
		db = crm_db_connect();
		crm_db_ensure_schema(db, CRM_STORE_SCHEMA);
		s.seen = crm_seen_new(db, s.mo.account, "maildir");
		s.so.skip = stored;
	}
	if (s.maildir) {
		if (crm_maildir_scan(s.maildir, &s.so, one, &s) < 0)
			crm_status_fail(CRM_EXIT_USAGE);
	} else if (s.mbox) {
		if (crm_mbox_scan(s.mbox, &s.so, one, &s) < 0)
			crm_status_fail(CRM_EXIT_USAGE);
	} else if (i < argc) {
		for (; i < argc; i++)
			crm_file_scan(argv[i], &s.so, one, &s);
	} else {
		crm_file_scan("-", &s.so, one, &s);
	}
	crm_progress_end();
	crm_output_close();
	crm_seen_free(s.seen);
	crm_db_close(db);
	crm_buf_free(&s.out);
	crm_buf_free(&s.src);
	return crm_status();
}
