/* gmail.c — Gmail REST API v1 sync (see gmail.h, INTERFACES.md §3).
 *
 * Why it is built this way:
 *  - First sync: the profile's historyId H0 is read first, then every
 *    message id is listed (messages.list, 500 per page), sorted, and
 *    fetched with format=raw in id order.  Listing everything first costs
 *    a few bytes per message but gives a total order, so an interrupted
 *    first sync resumes after the last id handed on: the cursor is
 *    {"history_id": H0, "full_after": id} until the last message, whose
 *    cursor is {"history_id": H0}.  Mail that arrives meanwhile is after
 *    H0 and comes with the next incremental run.
 *  - Later runs: history.list from the stored historyId, messageAdded
 *    only.  A message's cursor is the id of its history record once the
 *    record's last message is handed on (the previous record's id before
 *    that), so a crash never skips half a record.
 *  - An expired historyId answers 404: the folder cursor is reset and a
 *    full sync runs; crm-store's upsert on (account, Message-ID) keeps it
 *    free of duplicates.
 *  - Quota errors (429; 403 with rateLimitExceeded/userRateLimitExceeded)
 *    and 5xx are retried by lib/http.c with backoff and Retry-After; a
 *    message deleted between listing and fetching (404) is counted, not
 *    an error.  Drafts, chats, spam and trash are not CRM mail: skipped.
 *  - cursor_seq is the stored seq plus the message's ordinal in the run:
 *    monotonic whatever the ids look like.
 */
#include "gmail.h"
#include "jsonl.h"
#include "log.h"
#include "oauth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	const struct crm_gmail_conf *c;
	const struct crm_src_hooks *hk;
	struct crm_src_stats *st;
	struct crm_api api;
	const char *base;
	const char *folder;
	long long seq;                /* last cursor_seq given */
	unsigned long handed;
	int stop;
};

static int
gmail_retryable(long status, const struct crm_buf *body)
{
	if (status == 429 || status == 408 || (status >= 500 && status != 501))
		return 1;
	if (status != 403 || !body->len)
		return 0;
	/* quota errors come as 403 too: retry those, not permission errors */
	return strstr(body->s, "\"rateLimitExceeded\"") || strstr(body->s, "\"userRateLimitExceeded\"");
}

static json_object *
jarr(json_object *o, const char *k)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* GET base/gmail/v1/users/me/<path> and parse the JSON; *status gets the
 * HTTP status (404 is the caller's business). */
static int
get_json(struct run *r, const char *url, json_object **out, long *status)
{
	struct crm_http_resp rs = { 0 };
	char why[256], et[300];
	int rc;

	*out = NULL;
	rc = crm_api_get(&r->api, url, NULL, &rs);
	if (rc != CRM_SRC_OK) {
		crm_http_resp_free(&rs);
		return rc;
	}
	*status = rs.status;
	if (rs.status == 404) {
		crm_http_resp_free(&rs);
		return CRM_SRC_OK;
	}
	if (rs.status != 200) {
		snprintf(r->api.err, r->api.errsz, "Gmail: %s", crm_http_error_text(&rs, et, sizeof et));
		crm_http_resp_free(&rs);
		return CRM_SRC_ENV;
	}
	if (!(*out = crm_http_json(&rs, why, sizeof why))) {
		snprintf(r->api.err, r->api.errsz, "Gmail: %s", why);
		crm_http_resp_free(&rs);
		return CRM_SRC_ENV;
	}
	crm_http_resp_free(&rs);
	return CRM_SRC_OK;
}

static void
url_for(struct run *r, struct crm_buf *u, const char *path)
{
	crm_buf_reset(u);
	crm_buf_printf(u, "%s/gmail/v1/users/me/%s", r->base, path);
}

static int
skip_labels(json_object *labels)
{
	static const char *const skip[] = { "DRAFT", "SPAM", "TRASH", "CHAT", NULL };
	size_t n = labels ? json_object_array_length(labels) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(labels, i));
		for (const char *const *s = skip; l && *s; s++)
			if (!strcmp(l, *s))
				return 1;
	}
	return 0;
}

static int
limit_reached(struct run *r)
{
	return r->c->limit && r->handed >= r->c->limit;
}

/* Fetch one message (format=raw) and hand it on with cursor. */
static int
fetch(struct run *r, const char *id, json_object *cursor)
{
	struct crm_buf u = CRM_BUF_INIT, raw = CRM_BUF_INIT;
	json_object *m = NULL, *src, *v;
	const char *data, *err = NULL;
	time_t date = 0;
	long status = 0;
	int rc;

	url_for(r, &u, "messages/");
	crm_url_escape(&u, id);
	crm_buf_adds(&u, "?format=raw");
	rc = get_json(r, u.s, &m, &status);
	crm_buf_free(&u);
	if (rc != CRM_SRC_OK) {
		json_object_put(cursor);
		return rc;
	}
	if (status == 404) {
		r->st->gone++;            /* deleted since it was listed */
		json_object_put(cursor);
		return CRM_SRC_OK;
	}
	if (skip_labels(jarr(m, "labelIds"))) {
		json_object_put(m);
		json_object_put(cursor);
		return CRM_SRC_OK;
	}
	data = crm_get_str(m, "raw");
	if (!data)
		err = "Gmail sent the message without its raw content";
	else if (crm_b64_decode(&raw, data, strlen(data)) < 0)
		err = "Gmail sent raw content that is not base64url";
	else if (r->c->max_size && raw.len > r->c->max_size)
		err = "message larger than --max-size";
	if ((data = crm_get_str(m, "internalDate")))
		date = (time_t)(strtoll(data, NULL, 10) / 1000);
	src = json_object_new_object();
	json_object_object_add(src, "kind", json_object_new_string("gmail"));
	json_object_object_add(src, "account", json_object_new_string(r->c->account));
	json_object_object_add(src, "folder", json_object_new_string(r->folder));
	json_object_object_add(src, "id", json_object_new_string(id));
	if (crm_get_str(m, "threadId"))
		json_object_object_add(src, "thread_id", json_object_new_string(crm_get_str(m, "threadId")));
	if (crm_get_str(m, "historyId"))
		json_object_object_add(src, "history_id", json_object_new_string(crm_get_str(m, "historyId")));
	if ((v = jarr(m, "labelIds")))
		json_object_object_add(src, "labels", json_object_get(v));
	json_object_object_add(src, "cursor", cursor);
	json_object_object_add(src, "cursor_seq", json_object_new_int64(++r->seq));
	json_object_put(m);
	r->handed++;
	r->st->messages++;
	if (err)
		r->st->rejected++;
	if (r->hk->message(err ? NULL : raw.s, err ? 0 : raw.len, src, date, err, r->hk->arg) < 0)
		r->stop = 1;
	crm_buf_free(&raw);
	return r->stop ? CRM_SRC_STOP : CRM_SRC_OK;
}

static json_object *
cursor_new(const char *hid, const char *full_after)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "history_id", json_object_new_string(hid));
	if (full_after)
		json_object_object_add(c, "full_after", json_object_new_string(full_after));
	return c;
}

/* Gmail ids are hex numbers: order them by length, then bytes. */
static int
cmp_id(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static int
done(struct run *r, json_object *cursor)
{
	int rc = 0;
	if (r->hk->folder_done)
		rc = r->hk->folder_done(r->folder, cursor, r->seq, r->handed, r->hk->arg);
	json_object_put(cursor);
	return rc < 0 ? CRM_SRC_ENV : CRM_SRC_OK;
}

static int
full_sync(struct run *r, const char *h0_resume, const char *after)
{
	struct crm_buf u = CRM_BUF_INIT;
	char **ids = NULL, *h0 = NULL, *token = NULL, pagesz[16];
	size_t n = 0, cap = 0, i;
	json_object *o;
	long status;
	int rc;

	if (h0_resume)
		h0 = crm_xstrdup(h0_resume);
	else {
		url_for(r, &u, "profile");
		if ((rc = get_json(r, u.s, &o, &status)) != CRM_SRC_OK)
			goto out;
		if (!o || !crm_get_str(o, "historyId")) {
			snprintf(r->api.err, r->api.errsz, "Gmail: the profile has no historyId");
			json_object_put(o);
			rc = CRM_SRC_ENV;
			goto out;
		}
		h0 = crm_xstrdup(crm_get_str(o, "historyId"));
		json_object_put(o);
	}
	snprintf(pagesz, sizeof pagesz, "%d", r->c->page_size > 0 ? r->c->page_size : 500);
	do {
		url_for(r, &u, "messages");
		crm_url_param(&u, "maxResults", pagesz);
		if (r->c->label && *r->c->label)
			crm_url_param(&u, "labelIds", r->c->label);
		crm_url_param(&u, "q", r->c->query && *r->c->query ? r->c->query : "-in:chats -in:drafts");
		if (token)
			crm_url_param(&u, "pageToken", token);
		free(token);
		token = NULL;
		if ((rc = get_json(r, u.s, &o, &status)) != CRM_SRC_OK)
			goto out;
		if (!o) {
			snprintf(r->api.err, r->api.errsz, "Gmail: messages.list answered 404");
			rc = CRM_SRC_ENV;
			goto out;
		}
		r->st->pages++;
		json_object *msgs = jarr(o, "messages");
		for (i = 0; msgs && i < json_object_array_length(msgs); i++) {
			const char *id = crm_get_str(json_object_array_get_idx(msgs, i), "id");
			if (!id || !*id)
				continue;
			if (after && cmp_id(&id, &after) <= 0)
				continue;
			if (n == cap)
				ids = crm_xrealloc(ids, (cap = cap ? 2 * cap : 256) * sizeof *ids);
			ids[n++] = crm_xstrdup(id);
		}
		if (crm_get_str(o, "nextPageToken") && *crm_get_str(o, "nextPageToken"))
			token = crm_xstrdup(crm_get_str(o, "nextPageToken"));
		json_object_put(o);
	} while (token);
	if (n)
		qsort(ids, n, sizeof *ids, cmp_id);
	rc = CRM_SRC_OK;
	for (i = 0; i < n && rc == CRM_SRC_OK && !limit_reached(r); i++) {
		if (i && !strcmp(ids[i], ids[i - 1]))
			continue;                    /* listed twice across pages */
		int last = i + 1 == n;
		rc = fetch(r, ids[i], cursor_new(h0, last ? NULL : ids[i]));
	}
	if (rc == CRM_SRC_OK && i == n)
		rc = done(r, cursor_new(h0, NULL));           /* the first sync is complete */
	else if (rc == CRM_SRC_OK && i > 0)
		rc = done(r, cursor_new(h0, ids[i - 1]));     /* cut by --limit */
out:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(token);
	free(h0);
	crm_buf_free(&u);
	return rc;
}

/* 1 when history a > b (decimal u64 strings). */
static int
later(const char *a, const char *b)
{
	return strtoull(a, NULL, 10) > strtoull(b, NULL, 10);
}

static int
incremental(struct run *r, const char *start, int *expired)
{
	struct crm_buf u = CRM_BUF_INIT;
	char *token = NULL, *prev = crm_xstrdup(start), *top = NULL, pagesz[16];
	json_object *o = NULL;
	long status;
	int rc = CRM_SRC_OK;

	*expired = 0;
	snprintf(pagesz, sizeof pagesz, "%d", r->c->page_size > 0 ? r->c->page_size : 500);
	do {
		url_for(r, &u, "history");
		crm_url_param(&u, "startHistoryId", start);
		crm_url_param(&u, "historyTypes", "messageAdded");
		crm_url_param(&u, "maxResults", pagesz);
		if (r->c->label && *r->c->label)
			crm_url_param(&u, "labelId", r->c->label);
		if (token)
			crm_url_param(&u, "pageToken", token);
		free(token);
		token = NULL;
		if ((rc = get_json(r, u.s, &o, &status)) != CRM_SRC_OK)
			break;
		if (!o) {
			*expired = 1;            /* 404: historyId too old */
			break;
		}
		r->st->pages++;
		if (crm_get_str(o, "historyId")) {
			free(top);
			top = crm_xstrdup(crm_get_str(o, "historyId"));
		}
		json_object *hist = jarr(o, "history");
		for (size_t i = 0; hist && i < json_object_array_length(hist) && rc == CRM_SRC_OK; i++) {
			json_object *h = json_object_array_get_idx(hist, i);
			const char *hid = crm_get_str(h, "id");
			json_object *added = jarr(h, "messagesAdded");
			size_t na = added ? json_object_array_length(added) : 0;
			if (!hid)
				continue;
			for (size_t k = 0; k < na && rc == CRM_SRC_OK; k++) {
				json_object *m;
				if (limit_reached(r))
					break;
				if (!json_object_object_get_ex(json_object_array_get_idx(added, k), "message", &m))
					continue;
				const char *id = crm_get_str(m, "id");
				if (!id || skip_labels(jarr(m, "labelIds")))
					continue;
				rc = fetch(r, id, cursor_new(k + 1 == na ? hid : prev, NULL));
			}
			if (limit_reached(r))
				break;
			if (rc == CRM_SRC_OK && later(hid, prev)) {
				free(prev);
				prev = crm_xstrdup(hid);
			}
		}
		if (rc == CRM_SRC_OK && !limit_reached(r) && crm_get_str(o, "nextPageToken") &&
		    *crm_get_str(o, "nextPageToken"))
			token = crm_xstrdup(crm_get_str(o, "nextPageToken"));
		json_object_put(o);
		o = NULL;
	} while (token);
	if (rc == CRM_SRC_OK && !*expired) {
		/* the mailbox's current historyId covers the records we skipped */
		const char *end = !limit_reached(r) && top && later(top, prev) ? top : prev;
		rc = done(r, cursor_new(end, NULL));
	}
	free(token);
	free(prev);
	free(top);
	crm_buf_free(&u);
	return rc;
}

int
crm_gmail_sync(struct crm_http *h, const struct crm_gmail_conf *c,
    const struct crm_src_hooks *hk, struct crm_src_stats *st, char *err, size_t errsz)
{
	struct run r = { .c = c, .hk = hk, .st = st };
	json_object *cur = NULL;
	const char *hid = NULL, *after = NULL;
	int rc, expired = 0;

	err[0] = 0;
	r.api = (struct crm_api){ .h = h, .hk = hk, .what = "Gmail", .retryable = gmail_retryable,
		.err = err, .errsz = errsz };
	r.base = c->api_base && *c->api_base ? c->api_base : "https://gmail.googleapis.com";
	r.folder = c->label && *c->label ? c->label : "";
	if (hk->get_cursor)
		cur = hk->get_cursor(r.folder, &r.seq, hk->arg);
	if (cur) {
		hid = crm_get_str(cur, "history_id");
		after = crm_get_str(cur, "full_after");
	}
	if (c->resync && cur) {
		if (hk->reset_cursor && hk->reset_cursor(r.folder, hk->arg) < 0) {
			json_object_put(cur);
			snprintf(err, errsz, "cannot reset the Gmail cursor");
			return CRM_SRC_ENV;
		}
		hid = after = NULL;
		r.seq = 0;
	}
	if (hid && !after) {
		rc = incremental(&r, hid, &expired);
		if (rc == CRM_SRC_OK && expired) {
			crm_warn("%s: Gmail history %s has expired (HTTP 404): listing the whole "
			    "mailbox again (crm-store keeps no duplicates)", c->account, hid);
			st->resyncs++;
			if (hk->reset_cursor && hk->reset_cursor(r.folder, hk->arg) < 0) {
				json_object_put(cur);
				snprintf(err, errsz, "cannot reset the Gmail cursor");
				return CRM_SRC_ENV;
			}
			r.seq = 0;
			rc = full_sync(&r, NULL, NULL);
		}
	} else {
		rc = full_sync(&r, after ? hid : NULL, after);
	}
	json_object_put(cur);
	st->folders++;
	if (rc == CRM_SRC_OK)
		err[0] = 0;
	return rc;
}
