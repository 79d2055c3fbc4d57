/* maildir.c — Maildir and Maildir++ reading, and single files (see mailsrc.h).
 *
 * Folders are walked in readdir order and never sorted, so memory does not
 * grow with the mailbox.  The Maildir++ layout keeps subfolders as
 * ".Name" (".Sales.2025" for nesting) directories beside cur/ and new/;
 * with --recursive they are visited after the top folder ("INBOX").
 * A message file costs four system calls (openat on the folder's fd,
 * fstat, one read into the reused buffer, close): the name from readdir
 * needs no stat, and a short read of a regular file is its end. */
#include "mailsrc.h"
#include "buf.h"
#include "jsonl.h"
#include "log.h"
#include "mime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read fd to its end into b; st: its fstat, or NULL.  A regular file is
 * read in one call into a buffer one byte larger than the file: a short
 * read is its end, so no second read(2) is needed to see it. */
static int
read_all(int fd, struct crm_buf *b, size_t max, const struct stat *st)
{
	size_t want = 1 << 16;
	int regular = st && S_ISREG(st->st_mode);

	crm_buf_reset(b);
	if (regular) {
		if (max && (size_t)st->st_size > max)
			return -2;
		want = (size_t)st->st_size + 1;
	}
	for (;;) {
		crm_buf_grow(b, want);
		size_t room = b->cap - b->len - 1;
		ssize_t n = read(fd, b->s + b->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (max && b->len > max)
			return -2;
		if (regular && (size_t)n < room)
			break;          /* the end of a regular file */
		if (b->len + 1 >= b->cap)
			want = b->cap;
	}
	b->s[b->len] = 0;
	return 0;
}

int
crm_read_fd(int fd, struct crm_buf *b, size_t max)
{
	struct stat st;

	return read_all(fd, b, max, fstat(fd, &st) == 0 ? &st : NULL);
}

void
crm_msgsrc_write(struct crm_buf *out, const struct crm_msgsrc *s, const char *uniq)
{
	crm_buf_adds(out, "{\"kind\":");
	crm_json_escape_utf8(out, s->kind, strlen(s->kind));
	if (s->folder) {
		crm_buf_adds(out, ",\"folder\":");
		crm_json_escape_utf8(out, s->folder, strlen(s->folder));
	}
	if (s->path) {
		crm_buf_adds(out, ",\"path\":");
		crm_json_escape_utf8(out, s->path, strlen(s->path));
	}
	if (s->offset >= 0)
		crm_buf_printf(out, ",\"offset\":%lld", s->offset);
	if (uniq) {
		crm_buf_adds(out, ",\"uniq\":");
		crm_json_escape(out, uniq, strlen(uniq));
	}
	crm_buf_addc(out, '}');
}

json_object *
crm_msgsrc_json(const struct crm_msgsrc *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(s->kind));
	if (s->folder)
		json_object_object_add(o, "folder", crm_json_utf8(s->folder, strlen(s->folder)));
	if (s->path)
		json_object_object_add(o, "path", crm_json_utf8(s->path, strlen(s->path)));
	if (s->offset >= 0)
		json_object_object_add(o, "offset", json_object_new_int64(s->offset));
	return o;
}

static void
read_one(int dirfd, const char *name, const char *path, const struct crm_msgsrc *src,
    const struct crm_mailsrc_opts *o, struct crm_buf *buf, crm_msg_fn fn, void *arg)
{
	struct stat st;
	int fd = dirfd >= 0 ? openat(dirfd, name, O_RDONLY | O_CLOEXEC) :
	    (strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0);
	char err[256];

	if (fd < 0) {
		snprintf(err, sizeof err, "cannot open: %s", strerror(errno));
		fn(NULL, 0, src, 0, err, arg);
		return;
	}
	int have = fstat(fd, &st) == 0;
	time_t mtime = have && S_ISREG(st.st_mode) ? st.st_mtime : 0;
	int r = read_all(fd, buf, o->max_size, have ? &st : NULL);
	int e = errno;
	if (fd > 0)
		close(fd);
	if (r == -2)
		fn(NULL, 0, src, 0, "message larger than --max-size", arg);
	else if (r < 0) {
		snprintf(err, sizeof err, "read error: %s", strerror(e));
		fn(NULL, 0, src, 0, err, arg);
	} else
		fn(buf->s, buf->len, src, mtime, NULL, arg);
}

/* One Maildir folder: cur/ then new/. */
static int
scan_folder(const char *dir, const char *folder, const struct crm_mailsrc_opts *o,
    struct crm_buf *buf, crm_msg_fn fn, void *arg)
{
	static const char *const subs[] = { "cur", "new" };
	int found = 0;

	for (int i = 0; i < 2; i++) {
		struct crm_buf p = CRM_BUF_INIT;
		crm_buf_printf(&p, "%s/%s", dir, subs[i]);
		DIR *d = opendir(p.s);
		if (!d) {
			if (errno != ENOENT)
				crm_warn("%s:", p.s);
			crm_buf_free(&p);
			continue;
		}
		found++;
		struct dirent *de;
		size_t base = p.len;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
				continue;
			if (o->skip && o->skip(folder, de->d_name, arg))
				continue;
			p.len = base;
			crm_buf_printf(&p, "/%s", de->d_name);
			struct crm_msgsrc src = { "maildir", folder, p.s, -1 };
			read_one(dirfd(d), de->d_name, p.s, &src, o, buf, fn, arg);
		}
		closedir(d);
		crm_buf_free(&p);
	}
	return found ? 0 : -1;
}

int
crm_maildir_scan(const char *dir, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg)
{
	struct crm_buf buf = CRM_BUF_INIT;
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) < 0) {
		crm_warn("%s:", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		crm_warn("%s: not a directory", dir);
		return -1;
	}
	if (scan_folder(dir, "INBOX", o, &buf, fn, arg) < 0 && !o->recursive) {
		crm_warn("%s: not a Maildir (no cur/ or new/)", dir);
		rc = -1;
	}
	if (o->recursive) {
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] != '.' || !strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			struct crm_buf sub = CRM_BUF_INIT;
			crm_buf_printf(&sub, "%s/%s", dir, de->d_name);
			if (stat(sub.s, &st) == 0 && S_ISDIR(st.st_mode))
				scan_folder(sub.s, de->d_name + 1, o, &buf, fn, arg);
			crm_buf_free(&sub);
		}
		if (d)
			closedir(d);
	}
	crm_buf_free(&buf);
	return rc;
}

int
crm_file_scan(const char *path, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg)
{
	struct crm_buf buf = CRM_BUF_INIT;
	int is_stdin = !strcmp(path, "-");
	struct crm_msgsrc src = { is_stdin ? "stdin" : "file", NULL, is_stdin ? NULL : path, -1 };

	read_one(-1, NULL, path, &src, o, &buf, fn, arg);
	crm_buf_free(&buf);
	return 0;
}
