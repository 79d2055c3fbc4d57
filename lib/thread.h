/* thread.h — JWZ threading (https://www.jwz.org/doc/threading.html) over a
 * compact index of messages: add messages in input order, run, then ask
 * each message for its thread {id, root_message_id, depth, subject}.
 * The index copies what it keeps; returned strings belong to it and live
 * until crm_thread_free(). */
#ifndef CRM_THREAD_H
#define CRM_THREAD_H

#include "buf.h"

#include <json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CRM_THREAD_NODATE INT64_MAX

/* Subject grouping of the root set (JWZ step 5). */
enum crm_thread_subject {
	CRM_THREAD_SUBJECT_NONE,    /* never group by subject */
	CRM_THREAD_SUBJECT_REPLY,   /* only attach a message whose subject had a
	                             * reply/forward prefix (mutt's sort_re) */
	CRM_THREAD_SUBJECT_ALL,     /* as JWZ wrote it: also gather two
	                             * non-replies under a new dummy */
};

struct crm_thread_msg {
	const char *message_id;     /* NULL or "" when the record has none */
	const char *key;            /* the record's "id": names the message's
	                             * container when it has no Message-ID */
	const char *const *parents; /* References then In-Reply-To, oldest first */
	size_t nparents;
	const char *subject;        /* normalised (crm_subject_normalize) */
	int reply;                  /* the subject had a reply/forward prefix */
	int64_t date;               /* seconds since the epoch, or CRM_THREAD_NODATE */
	const char *show_subject;   /* for crm_thread_print(): may be NULL */
	const char *show_from;
};

struct crm_thread_info {
	const char *id;             /* sha256 hex of the root's key */
	const char *root_message_id;/* NULL when the root has none */
	unsigned long depth;        /* 0 for the root */
	const char *subject;        /* the normalised thread subject, maybe "" */
};

struct crm_thread;

/* show: keep show_subject/show_from for crm_thread_print(). */
struct crm_thread *crm_thread_new(int show);
/* Add the next message (JWZ step 1); returns its number, from 0. */
size_t crm_thread_add(struct crm_thread *t, const struct crm_thread_msg *m);
size_t crm_thread_count(const struct crm_thread *t);
/* Steps 2-7: prune, group the root set by subject, sort; once. */
void crm_thread_run(struct crm_thread *t, enum crm_thread_subject mode);
void crm_thread_info(const struct crm_thread *t, size_t msg,
    struct crm_thread_info *out);
/* The "thread" value of message msg, a new reference. */
json_object *crm_thread_json(const struct crm_thread *t, size_t msg);
/* The indented view: one line per message or missing message, threads
 * in order of their first date.  Returns -1 on a write error. */
int crm_thread_print(const struct crm_thread *t, FILE *f);
void crm_thread_free(struct crm_thread *t);

/* Records (crm-record(5)) to index entries, in two halves so that the
 * first can run in parallel readers: crm_thread_pack() checks the types
 * of the threading keys of a parsed record and appends what the index
 * needs to out (returns 0, or -1 with *why set: reject the record);
 * crm_thread_add_packed() adds one packed entry, in input order. */
int crm_thread_pack(json_object *rec, const char *line, size_t len, int show,
    struct crm_buf *out, const char **why);
size_t crm_thread_add_packed(struct crm_thread *t, const char *p, size_t n);

/* "2025-10-30T09:12:00Z" (fraction and ±hh:mm offset allowed) to seconds
 * since the epoch; CRM_THREAD_NODATE when s is not such a date. */
int64_t crm_thread_parse_date(const char *s);

#endif
