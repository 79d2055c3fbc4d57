/* imap.c — incremental IMAP sync over libetpan (see imap.h).
 *
 * Why it is built this way:
 *  - TLS: Debian's libetpan (GnuTLS) never checks the server certificate,
 *    so after the handshake (implicit TLS, or STARTTLS before anything
 *    else) the peer chain is verified with OpenSSL (lib/tls.h), host name
 *    included, before a credential is sent.  Plain connections exist only
 *    when the account was created with an explicit --insecure.
 *  - Cursor: per folder, UIDVALIDITY and the highest UID handed on.  A
 *    folder is opened with EXAMINE (read-only) plus CONDSTORE when the
 *    server has it, and bodies are fetched with BODY.PEEK[], so a sync
 *    never changes a flag.  UIDNEXT tells at once whether anything is new:
 *    a no-change run is one round trip per folder.
 *  - Memory is bounded by the batch, not the mailbox: new UIDs are listed
 *    in UID windows (UID FETCH a:b (UID RFC822.SIZE), the window growing
 *    while it comes back sparse), then fetched in chunks of at most
 *    `batch` messages and `batch_bytes` bytes.  Bodies are handed on one
 *    at a time from libetpan's per-message handler as the response is
 *    parsed, so a chunk is never held whole as a list.
 *  - Each record's cursor is a watermark: the highest UID such that every
 *    listed UID up to it has been handed on.  If the connection drops in
 *    the middle of a chunk, the sync reconnects (backoff doubling from
 *    conf->backoff, conf->retries times, reset after progress), checks
 *    UIDVALIDITY again and resumes above the watermark: nothing lost,
 *    nothing handed on twice in one run.
 *  - QRESYNC: libetpan's SELECT ... QRESYNC is malformed (INTERFACES.md
 *    §1), so when the stored HIGHESTMODSEQ is behind, the working
 *    sequence is used: ENABLE QRESYNC after login, EXAMINE (CONDSTORE),
 *    then UID FETCH 1:<uid> (FLAGS) (CHANGEDSINCE m VANISHED), counted in
 *    the statistics (crm records are never deleted by a server expunge).
 *  - A UIDVALIDITY change is a conflict (exit 4) unless resync is asked;
 *    then the folder's cursor is forgotten and every message is handed on
 *    again (crm-store deduplicates by Message-ID).
 */
#include "imap.h"
#include "exitcode.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <libetpan/libetpan.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { IR_OK = 0, IR_RETRY, IR_FATAL, IR_CONFLICT, IR_STOP, IR_AUTH };

struct item {
	uint32_t uid, size;
	unsigned char done;
};

struct folder {
	const char *name;
	struct crm_imap_cursor stored;   /* as read at the start */
	uint32_t uidvalidity;            /* seen in this run (0: not yet) */
	uint32_t uidnext;
	uint64_t modseq;                 /* HIGHESTMODSEQ at this run's first EXAMINE */
	uint32_t mark;                   /* watermark: all UIDs <= mark handed on */
	unsigned long handed;
	/* the chunk being fetched */
	struct item *items;
	size_t nitems;
};

struct sess {
	const struct crm_imap_conf *c;
	const struct crm_imap_hooks *h;
	struct crm_imap_stats *st;
	mailimap *imap;
	int qresync;
	unsigned long handed;            /* whole run, for conf->limit */
	int stop;
	struct folder *f;                /* current folder, for the handler */
	char *err;
	size_t errsz;
};

static int
fail(struct sess *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errsz, fmt, ap);
	va_end(ap);
	return code;
}

/* The server's last response text, for messages ("" when none). */
static const char *
said(struct sess *s)
{
	const char *r = s->imap && s->imap->imap_response ? s->imap->imap_response : "";
	return r;
}

static void
trace(mailimap *imap, int type, const char *str, size_t size, void *ctx)
{
	(void)imap;
	(void)ctx;
	switch (type) {
	case MAILSTREAM_LOG_TYPE_DATA_SENT:
		fprintf(stderr, "%s: C: %.*s", crm_prog, (int)(size > 300 ? 300 : size), str);
		if (size > 300 || !size || str[size - 1] != '\n')
			fputc('\n', stderr);
		break;
	case MAILSTREAM_LOG_TYPE_DATA_SENT_PRIVATE:
		fprintf(stderr, "%s: C: <%zu bytes of credentials not shown>\n", crm_prog, size);
		break;
	case MAILSTREAM_LOG_TYPE_DATA_RECEIVED:
		fprintf(stderr, "%s: S: %.*s%s", crm_prog, (int)(size > 200 ? 200 : size), str,
		    size > 200 ? "...\n" : (size && str[size - 1] == '\n' ? "" : "\n"));
		break;
	}
}

static void
sni(struct mailstream_ssl_context *ctx, void *data)
{
	const char *host = data;
	if (!crm_is_ip_literal(host))
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

static int
verify_peer(struct sess *s)
{
	carray *ch = mailstream_get_certificate_chain(s->imap->imap_stream);
	const unsigned char **der;
	size_t *len, n;
	char why[512];
	int rc;

	if (!ch)
		return fail(s, IR_FATAL, "%s:%u: no server certificate to verify", s->c->host, s->c->port);
	n = carray_count(ch);
	der = crm_xcalloc(n ? n : 1, sizeof *der);
	len = crm_xcalloc(n ? n : 1, sizeof *len);
	for (size_t i = 0; i < n; i++) {
		MMAPString *m = carray_get(ch, (unsigned)i);
		der[i] = (const unsigned char *)m->str;
		len[i] = m->len;
	}
	rc = crm_tls_verify_der(der, len, n, s->c->host, s->c->cafile, why, sizeof why);
	mailstream_certificate_chain_free(ch);
	free(der);
	free(len);
	if (rc < 0)
		return fail(s, IR_FATAL, "%s:%u: %s; nothing was sent", s->c->host, s->c->port, why);
	return IR_OK;
}

static void
disconnect(struct sess *s)
{
	if (!s->imap)
		return;
	if (s->imap->imap_stream)
		mailimap_logout(s->imap);
	mailimap_free(s->imap);
	s->imap = NULL;
	s->qresync = 0;
}

static int
enable_qresync(struct sess *s)
{
	struct mailimap_capability_data *want, *got = NULL;
	clist *l;
	int r;

	if (!mailimap_has_qresync(s->imap) || !mailimap_has_enable(s->imap))
		return IR_OK;
	l = clist_new();
	clist_append(l, mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, strdup("QRESYNC")));
	want = mailimap_capability_data_new(l);
	r = mailimap_enable(s->imap, want, &got);
	mailimap_capability_data_free(want);
	if (got) {
		s->qresync = clist_count(got->cap_list) > 0;
		mailimap_capability_data_free(got);
	}
	if (r == MAILIMAP_ERROR_STREAM)
		return fail(s, IR_RETRY, "%s:%u: connection lost after login", s->c->host, s->c->port);
	return IR_OK;
}

static int
authenticate(struct sess *s, int refresh)
{
	int r;

	if (s->c->password) {
		r = mailimap_login(s->imap, s->c->user, s->c->password);
	} else {
		char why[512] = "";
		const char *tok = s->h->token ? s->h->token(refresh, why, sizeof why, s->h->arg) : NULL;
		if (!tok)
			return fail(s, IR_FATAL, "%s", why[0] ? why : "no OAuth2 access token");
		if (!mailimap_has_xoauth2(s->imap))
			return fail(s, IR_FATAL, "%s:%u: the server does not offer XOAUTH2",
			    s->c->host, s->c->port);
		r = mailimap_oauth2_authenticate(s->imap, s->c->user, tok);
	}
	if (r == MAILIMAP_NO_ERROR)
		return IR_OK;
	if (r == MAILIMAP_ERROR_STREAM)
		return fail(s, IR_RETRY, "%s:%u: connection lost during login", s->c->host, s->c->port);
	return fail(s, IR_AUTH, "%s:%u: login as %s refused: %s", s->c->host, s->c->port,
	    s->c->user, said(s)[0] ? said(s) : "credentials rejected");
}

static int
connect_once(struct sess *s, int refresh)
{
	const struct crm_imap_conf *c = s->c;
	int r;

	s->imap = mailimap_new(0, NULL);
	if (!s->imap)
		return fail(s, IR_FATAL, "out of memory");
	mailimap_set_timeout(s->imap, c->timeout > 0 ? c->timeout : 60);
	if (c->trace)
		mailimap_set_logger(s->imap, trace, NULL);
	if (c->tls == CRM_TLS_IMPLICIT)
		r = mailimap_ssl_connect_with_callback(s->imap, c->host, (uint16_t)c->port, sni,
		    (void *)c->host);
	else
		r = mailimap_socket_connect(s->imap, c->host, (uint16_t)c->port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		return fail(s, IR_RETRY, "%s:%u: cannot connect%s (libetpan error %d)", c->host, c->port,
		    c->tls == CRM_TLS_IMPLICIT ? " with TLS" : "", r);
	if (c->tls == CRM_TLS_STARTTLS) {
		struct mailimap_capability_data *cap = NULL;
		if (!mailimap_has_extension(s->imap, "STARTTLS")) {
			if (mailimap_capability(s->imap, &cap) == MAILIMAP_NO_ERROR && cap)
				mailimap_capability_data_free(cap);
			cap = NULL;
			if (!mailimap_has_extension(s->imap, "STARTTLS"))
				return fail(s, IR_FATAL, "%s:%u: the server does not offer STARTTLS",
				    c->host, c->port);
		}
		r = mailimap_socket_starttls_with_callback(s->imap, sni, (void *)c->host);
		if (r != MAILIMAP_NO_ERROR)
			return fail(s, r == MAILIMAP_ERROR_STREAM ? IR_RETRY : IR_FATAL,
			    "%s:%u: STARTTLS failed (libetpan error %d)", c->host, c->port, r);
	}
	if (c->tls != CRM_TLS_NONE && (r = verify_peer(s)) != IR_OK)
		return r;
	if (c->tls == CRM_TLS_STARTTLS) {
		/* RFC 3501: capabilities learnt before TLS are void */
		struct mailimap_capability_data *cap = NULL;
		r = mailimap_capability(s->imap, &cap);
		if (cap)
			mailimap_capability_data_free(cap);
		if (r != MAILIMAP_NO_ERROR)
			return fail(s, IR_RETRY, "%s:%u: CAPABILITY failed after STARTTLS", c->host, c->port);
	}
	if (s->imap->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED &&
	    (r = authenticate(s, refresh)) != IR_OK)
		return r;
	return enable_qresync(s);
}

/* Connect and log in; one token refresh when an OAuth2 login is refused. */
static int
session_open(struct sess *s)
{
	int r = connect_once(s, 0);

	if (r == IR_AUTH && !s->c->password) {
		disconnect(s);
		r = connect_once(s, 1);
	}
	if (r != IR_OK)
		disconnect(s);
	return r == IR_AUTH ? IR_FATAL : r;
}

static int
is_transient(int r)
{
	return r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE ||
	    r == MAILIMAP_ERROR_CONNECTION_REFUSED || r == MAILIMAP_ERROR_SSL;
}

static uint32_t
att_uid(struct mailimap_msg_att *ma, uint32_t *size, struct mailimap_date_time **date,
    struct mailimap_msg_att_body_section **body)
{
	uint32_t uid = 0;

	for (clistiter *c = clist_begin(ma->att_list); c; c = clist_next(c)) {
		struct mailimap_msg_att_item *it = clist_content(c);
		if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = it->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			if (size)
				*size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			if (date)
				*date = st->att_data.att_internal_date;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (body)
				*body = st->att_data.att_body_section;
			break;
		}
	}
	return uid;
}

static time_t
imap_time(const struct mailimap_date_time *d)
{
	struct tm tm = { 0 };
	int z, sign;

	if (!d || d->dt_year < 1970 || d->dt_month < 1 || d->dt_month > 12)
		return 0;
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	z = d->dt_zone;
	sign = z < 0 ? -1 : 1;
	z *= sign;
	return timegm(&tm) - sign * ((z / 100) * 3600 + (z % 100) * 60);
}

static json_object *
source(struct sess *s, struct folder *f, uint32_t uid)
{
	json_object *src = json_object_new_object(), *cur = json_object_new_object();

	json_object_object_add(src, "kind", json_object_new_string("imap"));
	json_object_object_add(src, "account", json_object_new_string(s->c->account));
	json_object_object_add(src, "folder", json_object_new_string(f->name));
	json_object_object_add(src, "uidvalidity", json_object_new_int64(f->uidvalidity));
	json_object_object_add(src, "uid", json_object_new_int64(uid));
	json_object_object_add(cur, "uidvalidity", json_object_new_int64(f->uidvalidity));
	json_object_object_add(cur, "uid", json_object_new_int64(f->mark));
	if (f->modseq)
		json_object_object_add(cur, "highestmodseq", json_object_new_int64((int64_t)f->modseq));
	json_object_object_add(src, "cursor", cur);
	json_object_object_add(src, "cursor_seq", json_object_new_int64(f->mark));
	return src;
}

/* Advance the watermark over the leading done items of the chunk. */
static void
advance(struct folder *f)
{
	for (size_t i = 0; i < f->nitems; i++) {
		if (f->items[i].uid <= f->mark)
			continue;
		if (!f->items[i].done)
			break;
		f->mark = f->items[i].uid;
	}
}

static void
hand_on(struct sess *s, struct folder *f, size_t i, const char *raw, size_t len, time_t date,
    const char *err)
{
	int r;

	f->items[i].done = 1;
	advance(f);
	r = s->h->message(raw, len, source(s, f, f->items[i].uid), date, err, s->h->arg);
	f->handed++;
	s->handed++;
	s->st->messages++;
	if (!raw)
		s->st->rejected++;
	if (r < 0)
		s->stop = 1;
}

static void
on_message(struct mailimap_msg_att *ma, void *ctx)
{
	struct sess *s = ctx;
	struct folder *f = s->f;
	struct mailimap_date_time *date = NULL;
	struct mailimap_msg_att_body_section *body = NULL;
	uint32_t uid = att_uid(ma, NULL, &date, &body);
	size_t i;

	if (s->stop || !uid)
		return;
	for (i = 0; i < f->nitems && f->items[i].uid != uid; i++)
		;
	if (i == f->nitems || f->items[i].done)
		return;          /* not asked for, or already handed on */
	if (!body || !body->sec_body_part)
		return;          /* an unsolicited FETCH (flags): not our answer */
	hand_on(s, f, i, body->sec_body_part, body->sec_length, imap_time(date), NULL);
}

static void
no_progress(size_t cur, size_t max, void *ctx)
{
	(void)cur;
	(void)max;
	(void)ctx;
}

/* Fetch the bodies of f->items (one chunk) and hand them on. */
static int
fetch_chunk(struct sess *s, struct folder *f)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *res = NULL;
	size_t want = 0;
	int r;

	for (size_t i = 0; i < f->nitems; i++) {
		if (f->items[i].done)
			continue;
		if (s->c->max_size && f->items[i].size > s->c->max_size) {
			char why[96];
			snprintf(why, sizeof why, "message of %u bytes is larger than --max-size",
			    f->items[i].size);
			hand_on(s, f, i, NULL, 0, 0, why);
			continue;
		}
		mailimap_set_add_single(set, f->items[i].uid);
		want++;
	}
	if (!want || s->stop) {
		mailimap_set_free(set);
		mailimap_fetch_type_free(ft);
		return s->stop ? IR_STOP : IR_OK;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	s->f = f;
	mailimap_set_msg_att_handler(s->imap, on_message, s);
	mailimap_set_progress_callback(s->imap, NULL, no_progress, NULL);
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_set_progress_callback(s->imap, NULL, NULL, NULL);
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	if (res)
		mailimap_fetch_list_free(res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (s->stop)
		return IR_STOP;
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, is_transient(r) ? IR_RETRY : IR_FATAL, "%s: UID FETCH failed: %s",
		    f->name, is_transient(r) ? "connection lost" : said(s));
	/* what the server did not return was expunged meanwhile */
	for (size_t i = 0; i < f->nitems; i++)
		f->items[i].done = 1;
	advance(f);
	return IR_OK;
}

static int
cmp_item(const void *a, const void *b)
{
	uint32_t x = ((const struct item *)a)->uid, y = ((const struct item *)b)->uid;
	return x < y ? -1 : x > y;
}

/* List the UIDs in [lo, hi] with their sizes. */
static int
list_window(struct sess *s, struct folder *f, uint32_t lo, uint32_t hi, struct item **out,
    size_t *n)
{
	struct mailimap_set *set = mailimap_set_new_interval(lo, hi);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *res = NULL;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		if (res)
			mailimap_fetch_list_free(res);
		return fail(s, is_transient(r) ? IR_RETRY : IR_FATAL, "%s: UID FETCH %u:%u failed: %s",
		    f->name, lo, hi, is_transient(r) ? "connection lost" : said(s));
	}
	for (clistiter *c = clist_begin(res); c; c = clist_next(c)) {
		uint32_t size = 0, uid = att_uid(clist_content(c), &size, NULL, NULL);
		if (uid < lo || uid > hi)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = crm_xrealloc(*out, cap * sizeof **out);
		}
		(*out)[(*n)++] = (struct item){ uid, size, 0 };
	}
	mailimap_fetch_list_free(res);
	qsort(*out, *n, sizeof **out, cmp_item);
	return IR_OK;
}

/* UIDs and flag changes below the cursor since the stored HIGHESTMODSEQ. */
static int
changes(struct sess *s, struct folder *f)
{
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	struct mailimap_qresync_vanished *van = NULL;
	clist *res = NULL;
	int r;

	if (!s->qresync || !f->stored.known || !f->stored.highestmodseq || !f->stored.uid ||
	    f->stored.uidvalidity != f->uidvalidity || f->stored.highestmodseq >= f->modseq)
		return IR_OK;
	set = mailimap_set_new_interval(1, f->stored.uid);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	r = mailimap_uid_fetch_qresync(s->imap, set, ft, f->stored.highestmodseq, &res, &van);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (res) {
		s->st->changed += clist_count(res);
		mailimap_fetch_list_free(res);
	}
	if (van) {
		for (clistiter *c = clist_begin(van->qr_known_uids->set_list); c; c = clist_next(c)) {
			struct mailimap_set_item *it = clist_content(c);
			uint32_t last = it->set_last ? it->set_last : f->stored.uid;
			if (last >= it->set_first)
				s->st->vanished += last - it->set_first + 1;
		}
		mailimap_qresync_vanished_free(van);
	}
	if (r != MAILIMAP_NO_ERROR && is_transient(r))
		return fail(s, IR_RETRY, "%s: connection lost", f->name);
	return IR_OK;              /* a refused CHANGEDSINCE only costs statistics */
}

static int
open_folder(struct sess *s, struct folder *f)
{
	struct mailimap_selection_info *si;
	uint64_t hms = 0;
	int r;

	if (mailimap_has_condstore(s->imap))
		r = mailimap_examine_condstore(s->imap, f->name, &hms);
	else
		r = mailimap_examine(s->imap, f->name);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, is_transient(r) ? IR_RETRY : IR_FATAL, "folder %s: cannot open it: %s",
		    f->name, is_transient(r) ? "connection lost" : said(s));
	si = s->imap->imap_selection_info;
	if (!si || !si->sel_uidvalidity)
		return fail(s, IR_FATAL, "folder %s: the server gave no UIDVALIDITY", f->name);
	if (f->uidvalidity && f->uidvalidity != si->sel_uidvalidity)
		return fail(s, IR_CONFLICT, "folder %s: UIDVALIDITY changed during the sync "
		    "(%u, now %u); run again with --resync", f->name, f->uidvalidity,
		    si->sel_uidvalidity);
	if (!f->uidvalidity && f->stored.known && f->stored.uidvalidity != si->sel_uidvalidity) {
		if (!s->c->resync)
			return fail(s, IR_CONFLICT, "folder %s: UIDVALIDITY changed (%u, now %u): the "
			    "server renumbered its messages; run again with --resync to fetch the "
			    "folder again (crm-store drops the duplicates)", f->name,
			    f->stored.uidvalidity, si->sel_uidvalidity);
		crm_warn("%s: folder %s: UIDVALIDITY changed (%u, now %u): fetching it again",
		    s->c->account, f->name, f->stored.uidvalidity, si->sel_uidvalidity);
		if (s->h->reset_cursor && s->h->reset_cursor(f->name, s->h->arg) < 0)
			return fail(s, IR_FATAL, "folder %s: cannot reset its cursor", f->name);
		f->stored.known = 0;
		f->stored.uid = 0;
		f->stored.highestmodseq = 0;
		f->mark = 0;
	}
	if (!f->uidvalidity) {
		f->uidvalidity = si->sel_uidvalidity;
		f->modseq = hms;
	}
	f->uidnext = si->sel_uidnext;
	if (si->sel_exists == 0)
		f->uidnext = f->mark + 1;            /* empty folder: nothing to list */
	else if (!f->uidnext) {
		/* no UIDNEXT: the UID of the last message, "UID FETCH * (UID)" */
		struct mailimap_set *set = mailimap_set_new_single(0);
		struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
		clist *res = NULL;
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
		r = mailimap_uid_fetch(s->imap, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(s, is_transient(r) ? IR_RETRY : IR_FATAL, "folder %s: %s", f->name,
			    is_transient(r) ? "connection lost" : said(s));
		for (clistiter *c = clist_begin(res); c; c = clist_next(c)) {
			uint32_t u = att_uid(clist_content(c), NULL, NULL, NULL);
			if (u >= f->uidnext)
				f->uidnext = u + 1;
		}
		mailimap_fetch_list_free(res);
	}
	return changes(s, f);
}

static int
limit_reached(struct sess *s)
{
	return s->c->limit && s->handed >= s->c->limit;
}

/* One pass over a folder from its watermark; IR_RETRY when the connection
 * was lost (the caller reconnects and calls again). */
static int
folder_pass(struct sess *s, struct folder *f)
{
	size_t batch = s->c->batch ? s->c->batch : 100;
	size_t bytes = s->c->batch_bytes ? s->c->batch_bytes : 8u << 20;
	uint32_t span = (uint32_t)(batch * 4);
	int r;

	if ((r = open_folder(s, f)) != IR_OK)
		return r;
	while (f->mark + 1 < f->uidnext && !limit_reached(s)) {
		uint32_t lo = f->mark + 1, hi = f->uidnext - 1;
		struct item *all;
		size_t n;
		if (hi - lo >= span)
			hi = lo + span - 1;
		if ((r = list_window(s, f, lo, hi, &all, &n)) != IR_OK)
			return r;
		if (n < batch && span < (1u << 24))
			span *= 2;
		for (size_t i = 0; i < n && !limit_reached(s);) {
			size_t j = i, sum = 0;
			while (j < n && j - i < batch && (j == i || sum + all[j].size <= bytes) &&
			    (!s->c->limit || s->handed + (j - i) < s->c->limit))
				sum += all[j++].size;
			f->items = all + i;
			f->nitems = j - i;
			r = fetch_chunk(s, f);
			f->items = NULL;
			f->nitems = 0;
			if (r != IR_OK) {
				free(all);
				return r;
			}
			i = j;
		}
		free(all);
		if (!limit_reached(s) && f->mark < hi)
			f->mark = hi;    /* the rest of the window is empty */
	}
	return IR_OK;
}

static void
pause_for(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
sync_folder(struct sess *s, const char *name)
{
	struct folder f = { .name = name };
	int attempt = 0, r;

	if (s->h->get_cursor && s->h->get_cursor(name, &f.stored, s->h->arg) < 0)
		return fail(s, IR_FATAL, "folder %s: cannot read its cursor", name);
	if (f.stored.known)
		f.mark = f.stored.uid;
	for (;;) {
		unsigned long before = f.handed;
		if (!s->imap && (r = session_open(s)) != IR_OK)
			goto failed;
		r = folder_pass(s, &f);
		if (r == IR_OK)
			break;
failed:
		if (r != IR_RETRY)
			return r;
		disconnect(s);
		if (f.handed > before)
			attempt = 0;
		if (++attempt > s->c->retries)
			return fail(s, IR_FATAL, "%s (gave up after %d reconnects)", s->err, s->c->retries);
		double wait = s->c->backoff * (double)(1u << (attempt - 1 < 10 ? attempt - 1 : 10));
		crm_warn("%s: %s; reconnecting in %.1fs (%d/%d)", s->c->account, s->err, wait,
		    attempt, s->c->retries);
		s->st->reconnects++;
		pause_for(wait);
	}
	s->st->folders++;
	{
		struct crm_imap_cursor c = { 1, f.uidvalidity, f.mark, f.modseq };
		if (s->h->folder_done && s->h->folder_done(name, &c, f.handed, s->h->arg) < 0)
			return fail(s, IR_FATAL, "folder %s: cannot record its cursor", name);
	}
	return IR_OK;
}

/* "*" in the folder list: every selectable folder the server lists. */
static int
expand(struct sess *s, const char *const *folders, char ***out)
{
	size_t n = 0, cap = 8;
	char **v = crm_xcalloc(cap, sizeof *v);
	int attempt = 0;

	for (const char *const *p = folders; *p; p++) {
		if (strcmp(*p, "*")) {
			if (n + 2 > cap)
				v = crm_xrealloc(v, (cap *= 2) * sizeof *v);
			v[n++] = crm_xstrdup(*p);
			continue;
		}
		clist *list = NULL;
		for (;;) {
			int r = s->imap ? IR_OK : session_open(s);
			if (r == IR_OK) {
				r = mailimap_list(s->imap, "", "*", &list);
				if (r == MAILIMAP_NO_ERROR)
					break;
				r = is_transient(r) ? fail(s, IR_RETRY, "connection lost") :
				    fail(s, IR_FATAL, "cannot list the folders: %s", said(s));
			}
			if (r == IR_RETRY && ++attempt <= s->c->retries) {
				disconnect(s);
				pause_for(s->c->backoff * attempt);
				continue;
			}
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return IR_FATAL;
		}
		for (clistiter *c = clist_begin(list); c; c = clist_next(c)) {
			struct mailimap_mailbox_list *mb = clist_content(c);
			if (mb->mb_flag && mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
			    mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
				continue;
			int nonexistent = 0;
			if (mb->mb_flag)
				for (clistiter *o = clist_begin(mb->mb_flag->mbf_oflags); o; o = clist_next(o)) {
					struct mailimap_mbx_list_oflag *of = clist_content(o);
					if (of->of_flag_ext && !strcasecmp(of->of_flag_ext, "NonExistent"))
						nonexistent = 1;
				}
			if (nonexistent)
				continue;
			int dup = 0;
			for (size_t k = 0; k < n && !dup; k++)
				dup = !strcmp(v[k], mb->mb_name);
			if (dup)
				continue;        /* "INBOX,*": INBOX once */
			if (n + 2 > cap)
				v = crm_xrealloc(v, (cap *= 2) * sizeof *v);
			v[n++] = crm_xstrdup(mb->mb_name);
		}
		mailimap_list_result_free(list);
	}
	v[n] = NULL;
	*out = v;
	return IR_OK;
}

int
crm_imap_sync(const struct crm_imap_conf *conf, const char *const *folders,
    const struct crm_imap_hooks *hooks, struct crm_imap_stats *stats, char *err, size_t errsz)
{
	struct sess s = { .c = conf, .h = hooks, .st = stats, .err = err, .errsz = errsz };
	static const char *const inbox[] = { "INBOX", NULL };
	char conflict[1024] = "";
	char **names = NULL;
	int r, worst = IR_OK;

	err[0] = 0;
	if (!folders || !*folders)
		folders = inbox;
	if (conf->tls == CRM_TLS_NONE)
		crm_warn("%s: WARNING: IMAP without TLS to %s:%u: the password crosses the "
		    "network in clear (account made with --insecure)", conf->account, conf->host,
		    conf->port);
	if ((r = expand(&s, folders, &names)) != IR_OK) {
		disconnect(&s);
		return CRM_EXIT_ENV;
	}
	for (char **p = names; *p && !s.stop && !limit_reached(&s); p++) {
		r = sync_folder(&s, *p);
		if (r == IR_OK)
			continue;
		if (r == IR_STOP)
			break;
		if (r == IR_CONFLICT) {
			/* other folders are independent: note it and go on */
			if (conflict[0])
				crm_warn("%s: %s", conf->account, err);
			else
				snprintf(conflict, sizeof conflict, "%s", err);
			worst = IR_CONFLICT;
			continue;
		}
		worst = IR_FATAL;
		break;
	}
	disconnect(&s);
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
	if (s.stop)
		return CRM_EXIT_ENV;
	if (worst == IR_FATAL)
		return CRM_EXIT_ENV;
	if (worst == IR_CONFLICT) {
		snprintf(err, errsz, "%s", conflict);
		return CRM_EXIT_CONFLICT;
	}
	err[0] = 0;          /* a retried failure is history, not an error */
	return CRM_EXIT_OK;
}
