/* mailsrc.h — local mail sources: Maildir (with Maildir++ subfolders),
 * mbox (mboxo/mboxrd) and single message files.
 *
 * Each source calls fn once per message with the raw bytes (valid only
 * during the call), where they came from (a crm_msgsrc, lent for the
 * call; crm_msgsrc_write() gives the record's "source" object) and a
 * fallback date (file time or mbox envelope date, 0 if none).  Memory is
 * bounded by the largest message, not by the number of messages: files
 * are read into one reused buffer, directories are streamed in readdir
 * order.  A message that cannot be read is reported by the caller: fn
 * gets raw == NULL and the reason in err. */
#ifndef CRM_MAILSRC_H
#define CRM_MAILSRC_H

#include <json.h>
#include <stddef.h>
#include <time.h>

struct crm_buf;

/* Where a message came from: crm-record(5) "source". */
struct crm_msgsrc {
	const char *kind;       /* "maildir", "mbox", "file" or "stdin" */
	const char *folder;     /* Maildir folder ("INBOX"), or NULL */
	const char *path;       /* NULL for stdin */
	long long offset;       /* mbox: byte offset of the "From " line; -1: none */
};

/* The "source" object as JSON text appended to out (the bytes
 * crm_json_str() gives for crm_msgsrc_json()), with "uniq" (written as
 * its bytes are) last when uniq is not NULL. */
void crm_msgsrc_write(struct crm_buf *out, const struct crm_msgsrc *s, const char *uniq);
/* The same as a new json-c object (the caller owns it). */
json_object *crm_msgsrc_json(const struct crm_msgsrc *s);

typedef void (*crm_msg_fn)(const char *raw, size_t len, const struct crm_msgsrc *source,
    time_t fallback, const char *err, void *arg);

struct crm_mailsrc_opts {
	size_t max_size;        /* larger messages: err "larger than --max-size" */
	int recursive;          /* Maildir++ subfolders */
	/* Called before reading a Maildir file; nonzero skips it (incremental
	 * sync: already seen).  May be NULL. */
	int (*skip)(const char *folder, const char *name, void *arg);
};

/* Each returns 0, or -1 when the source itself cannot be opened
 * (a message has been printed). */
int crm_maildir_scan(const char *dir, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg);
int crm_mbox_scan(const char *path, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg);
/* path "-" reads standard input. */
int crm_file_scan(const char *path, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg);

/* Read a whole file (fd) into buf, up to max bytes (0: no limit);
 * returns 0, -1 on error (errno), -2 when larger than max. */
int crm_read_fd(int fd, struct crm_buf *buf, size_t max);

#endif
