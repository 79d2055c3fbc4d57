/* graph.c — Microsoft Graph mail sync (see graph.h, INTERFACES.md §4).
 *
 * Why it is built this way:
 *  - Delta query per folder: the first run starts at
 *    /mailFolders/{folder}/messages/delta and follows @odata.nextLink to
 *    the last page, whose @odata.deltaLink is the next run's start.  Both
 *    links are opaque and used verbatim.
 *  - The cursor of a record is a link to resume from: the URL of the page
 *    it came from while that page still has messages to hand on, the
 *    page's nextLink (or deltaLink) once its last message is handed on.
 *    A crash re-reads at most one page; crm-store drops the duplicates.
 *  - An expired delta token answers 410 Gone: the folder's cursor is
 *    reset and the folder is read again from the start (once per run).
 *  - The MIME bytes come from /messages/{id}/$value, so the same MIME
 *    reader serves every source; a message removed meanwhile (404) is
 *    counted, not an error; "@removed" entries are counted.
 *  - Throttling (429, 503, 504 with Retry-After) is lib/http.c's; a 401
 *    refreshes the token once (lib/source.c).
 *  - cursor_seq is the stored seq plus the message's ordinal in the run.
 */
#include "graph.h"
#include "jsonl.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	const struct crm_graph_conf *c;
	const struct crm_src_hooks *hk;
	struct crm_src_stats *st;
	struct crm_api api;
	const char *base, *user, *folder;
	const char *const *headers;
	long long seq;
	unsigned long handed;
	unsigned long folder_handed;
	int stop;
};

static int
limit_reached(struct run *r)
{
	return r->c->limit && r->handed >= r->c->limit;
}

static json_object *
cursor_new(const char *link)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "link", json_object_new_string(link));
	return c;
}

static int
fetch(struct run *r, json_object *item, json_object *cursor)
{
	struct crm_buf u = CRM_BUF_INIT;
	struct crm_http_resp rs = { 0 };
	const char *id = crm_get_str(item, "id"), *err = NULL;
	json_object *src;
	char et[300];
	int rc;

	crm_buf_printf(&u, "%s/%s/messages/", r->base, r->user);
	crm_url_escape(&u, id);
	crm_buf_adds(&u, "/$value");
	rc = crm_api_get(&r->api, u.s, NULL, &rs);
	crm_buf_free(&u);
	if (rc != CRM_SRC_OK)
		goto out;
	if (rs.status == 404) {
		r->st->gone++;
		goto out;
	}
	if (rs.status != 200) {
		snprintf(r->api.err, r->api.errsz, "Graph: message %s: %s", id,
		    crm_http_error_text(&rs, et, sizeof et));
		rc = CRM_SRC_ENV;
		goto out;
	}
	if (r->c->max_size && rs.body.len > r->c->max_size)
		err = "message larger than --max-size";
	src = json_object_new_object();
	json_object_object_add(src, "kind", json_object_new_string("graph"));
	json_object_object_add(src, "account", json_object_new_string(r->c->account));
	json_object_object_add(src, "folder", json_object_new_string(r->folder));
	json_object_object_add(src, "id", json_object_new_string(id));
	if (crm_get_str(item, "internetMessageId"))
		json_object_object_add(src, "internet_message_id",
		    json_object_new_string(crm_get_str(item, "internetMessageId")));
	json_object_object_add(src, "cursor", json_object_get(cursor));
	json_object_object_add(src, "cursor_seq", json_object_new_int64(++r->seq));
	r->handed++;
	r->folder_handed++;
	r->st->messages++;
	if (err)
		r->st->rejected++;
	if (r->hk->message(err ? NULL : rs.body.s ? rs.body.s : "", err ? 0 : rs.body.len, src,
	    crm_api_time(crm_get_str(item, "receivedDateTime")), err, r->hk->arg) < 0) {
		r->stop = 1;
		rc = CRM_SRC_STOP;
	}
out:
	json_object_put(cursor);
	crm_http_resp_free(&rs);
	return rc;
}

static int
is_removed(json_object *item)
{
	json_object *v;
	return json_object_object_get_ex(item, "@removed", &v);
}

/* Follow the links from start.  *gone = 1 when the service answered 410. */
static int
walk(struct run *r, const char *start, int *gone)
{
	char *link = crm_xstrdup(start), et[300], why[256];
	json_object *o = NULL;
	int rc = CRM_SRC_OK;

	*gone = 0;
	while (link && rc == CRM_SRC_OK && !limit_reached(r)) {
		struct crm_http_resp rs = { 0 };
		rc = crm_api_get(&r->api, link, r->headers, &rs);
		if (rc != CRM_SRC_OK) {
			crm_http_resp_free(&rs);
			break;
		}
		if (rs.status == 410) {
			*gone = 1;
			crm_http_resp_free(&rs);
			break;
		}
		if (rs.status != 200) {
			snprintf(r->api.err, r->api.errsz, "Graph: folder %s: %s", r->folder,
			    crm_http_error_text(&rs, et, sizeof et));
			crm_http_resp_free(&rs);
			rc = CRM_SRC_ENV;
			break;
		}
		o = crm_http_json(&rs, why, sizeof why);
		crm_http_resp_free(&rs);
		if (!o) {
			snprintf(r->api.err, r->api.errsz, "Graph: folder %s: %s", r->folder, why);
			rc = CRM_SRC_ENV;
			break;
		}
		r->st->pages++;
		const char *next = crm_get_str(o, "@odata.nextLink"), *delta = crm_get_str(o, "@odata.deltaLink");
		json_object *val;
		size_t n = 0, last = 0;
		if (json_object_object_get_ex(o, "value", &val) && json_object_is_type(val, json_type_array))
			n = json_object_array_length(val);
		if (!next && !delta) {
			snprintf(r->api.err, r->api.errsz, "Graph: folder %s: a delta page with neither "
			    "nextLink nor deltaLink", r->folder);
			rc = CRM_SRC_ENV;
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (!is_removed(json_object_array_get_idx(val, i)))
				last = i + 1;
		for (size_t i = 0; i < n && rc == CRM_SRC_OK && !limit_reached(r); i++) {
			json_object *item = json_object_array_get_idx(val, i);
			if (is_removed(item)) {
				r->st->removed++;
				continue;
			}
			if (!crm_get_str(item, "id"))
				continue;
			rc = fetch(r, item, cursor_new(i + 1 == last ? (next ? next : delta) : link));
		}
		if (rc == CRM_SRC_OK && !limit_reached(r)) {
			free(link);
			link = crm_xstrdup(next ? next : delta);
			if (!next) {
				/* the last page: its deltaLink is where the next run starts */
				json_object *c = cursor_new(link);
				if (r->hk->folder_done &&
				    r->hk->folder_done(r->folder, c, r->seq, r->folder_handed, r->hk->arg) < 0)
					rc = CRM_SRC_ENV;
				json_object_put(c);
				free(link);
				link = NULL;
			}
		}
		json_object_put(o);
		o = NULL;
	}
	json_object_put(o);          /* set when a page ended the walk */
	free(link);
	return rc;
}

static int
sync_folder(struct run *r, const char *folder)
{
	struct crm_buf start = CRM_BUF_INIT;
	json_object *cur = NULL;
	const char *link = NULL;
	long long seq = 0;
	int rc, gone;

	r->folder = folder;
	r->folder_handed = 0;
	if (r->hk->get_cursor)
		cur = r->hk->get_cursor(folder, &seq, r->hk->arg);
	if (r->c->resync && cur) {
		if (r->hk->reset_cursor && r->hk->reset_cursor(folder, r->hk->arg) < 0) {
			json_object_put(cur);
			snprintf(r->api.err, r->api.errsz, "cannot reset the cursor of folder %s", folder);
			return CRM_SRC_ENV;
		}
		json_object_put(cur);
		cur = NULL;
		seq = 0;
	}
	r->seq = seq;
	crm_buf_printf(&start, "%s/%s/mailFolders/", r->base, r->user);
	crm_url_escape(&start, folder);
	crm_buf_adds(&start, "/messages/delta?$select=id,internetMessageId,receivedDateTime,subject");
	if (r->c->since && *r->c->since) {
		char f[96];
		snprintf(f, sizeof f, "receivedDateTime ge %.10sT00:00:00Z", r->c->since);
		crm_buf_adds(&start, "&$filter=");
		crm_url_escape(&start, f);
	}
	link = cur ? crm_get_str(cur, "link") : NULL;
	rc = walk(r, link ? link : start.s, &gone);
	if (rc == CRM_SRC_OK && gone) {
		crm_warn("%s: Graph delta token of folder %s has expired (HTTP 410): reading the "
		    "folder again (crm-store keeps no duplicates)", r->c->account, folder);
		r->st->resyncs++;
		if (r->hk->reset_cursor && r->hk->reset_cursor(folder, r->hk->arg) < 0)
			rc = CRM_SRC_ENV;
		else {
			r->seq = 0;
			rc = walk(r, start.s, &gone);
			if (rc == CRM_SRC_OK && gone) {
				snprintf(r->api.err, r->api.errsz, "Graph: folder %s: the delta query "
				    "answers 410 Gone even from the start", folder);
				rc = CRM_SRC_ENV;
			}
		}
	}
	json_object_put(cur);
	crm_buf_free(&start);
	if (rc == CRM_SRC_OK)
		r->st->folders++;
	return rc;
}

int
crm_graph_sync(struct crm_http *h, const struct crm_graph_conf *c, const char *const *folders,
    const struct crm_src_hooks *hk, struct crm_src_stats *st, char *err, size_t errsz)
{
	static const char *const inbox[] = { "inbox", NULL };
	struct run r = { .c = c, .hk = hk, .st = st };
	char prefer[64];
	const char *headers[2] = { prefer, NULL };
	int rc = CRM_SRC_OK;

	err[0] = 0;
	r.api = (struct crm_api){ .h = h, .hk = hk, .what = "Graph", .err = err, .errsz = errsz };
	r.base = c->api_base && *c->api_base ? c->api_base : "https://graph.microsoft.com/v1.0";
	r.user = c->user && *c->user && strcmp(c->user, "me") ? NULL : "me";
	struct crm_buf ub = CRM_BUF_INIT;
	if (!r.user) {
		crm_buf_adds(&ub, "users/");
		crm_url_escape(&ub, c->user);
		r.user = ub.s;
	}
	snprintf(prefer, sizeof prefer, "Prefer: odata.maxpagesize=%d",
	    c->page_size > 0 ? c->page_size : 50);
	r.headers = headers;
	if (!folders || !*folders)
		folders = inbox;
	for (const char *const *f = folders; *f && rc == CRM_SRC_OK && !limit_reached(&r); f++)
		rc = sync_folder(&r, *f);
	crm_buf_free(&ub);
	if (rc == CRM_SRC_OK)
		err[0] = 0;
	return rc;
}
