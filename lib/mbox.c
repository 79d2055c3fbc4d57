/* mbox.c — mboxo/mboxrd reading (see mailsrc.h).
 *
 * A message starts at a "From " line at the start of the file or after
 * an empty line (the usual guard against unescaped "From " in bodies).
 * Quoted ">From " lines (any number of '>') lose one '>' (mboxrd; for
 * mboxo this is also the only sensible reading).  The file is read in
 * chunks and one message at a time is kept, so memory is bounded by
 * --max-size; a larger message is skipped to the next boundary and
 * reported, not buffered. */
#include "mailsrc.h"
#include "buf.h"
#include "jsonl.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct lines {
	int fd;
	char buf[1 << 16];
	size_t start, end;
	int eof;
	struct crm_buf longline;
};

/* Next line including its '\n' (the last may lack it); 0 at EOF. */
static int
next_line(struct lines *l, const char **s, size_t *n)
{
	l->longline.len = 0;
	for (;;) {
		char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);
		if (nl) {
			size_t k = (size_t)(nl - (l->buf + l->start)) + 1;
			if (l->longline.len) {
				crm_buf_add(&l->longline, l->buf + l->start, k);
				*s = l->longline.s;
				*n = l->longline.len;
			} else {
				*s = l->buf + l->start;
				*n = k;
			}
			l->start += k;
			return 1;
		}
		if (l->eof) {
			if (l->start == l->end && !l->longline.len)
				return 0;
			crm_buf_add(&l->longline, l->buf + l->start, l->end - l->start);
			l->start = l->end;
			*s = l->longline.s;
			*n = l->longline.len;
			return 1;
		}
		if (l->start == 0 && l->end == sizeof l->buf) {
			/* a line longer than the buffer: accumulate it */
			crm_buf_add(&l->longline, l->buf, l->end);
			l->end = 0;
		} else if (l->start > 0) {
			memmove(l->buf, l->buf + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		ssize_t r = read(l->fd, l->buf + l->end, sizeof l->buf - l->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			l->eof = 1;
		else
			l->end += (size_t)r;
	}
}

static time_t
envelope_date(const char *s, size_t n)
{
	/* "From sender Wed Oct 30 09:12:00 2025" (asctime layout) */
	char tmp[128];
	struct tm tm;
	const char *p = memchr(s + 5, ' ', n > 5 ? n - 5 : 0);

	if (!p)
		return 0;
	size_t k = n - (size_t)(p - s);
	if (k >= sizeof tmp)
		k = sizeof tmp - 1;
	memcpy(tmp, p, k);
	tmp[k] = 0;
	memset(&tm, 0, sizeof tm);
	const char *e = strptime(tmp, " %a %b %d %H:%M:%S %Y", &tm);
	return e ? timegm(&tm) : 0;
}

struct msg {
	struct crm_buf b;
	off_t offset;        /* of the "From " line */
	time_t date;
	int too_big;
	int open;
};

static void
finish(struct msg *m, const char *path, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg)
{
	struct crm_msgsrc src;

	if (!m->open)
		return;
	/* the empty line before the next "From " belongs to the format */
	if (m->b.len && m->b.s[m->b.len - 1] == '\n') {
		m->b.len--;
		if (m->b.len && m->b.s[m->b.len - 1] == '\r')
			m->b.len--;
		m->b.s[m->b.len] = 0;
	}
	src = (struct crm_msgsrc){ "mbox", NULL, path, (long long)m->offset };
	if (m->too_big)
		fn(NULL, 0, &src, 0, "message larger than --max-size", arg);
	else
		fn(m->b.s ? m->b.s : "", m->b.len, &src, m->date, NULL, arg);
	(void)o;
	crm_buf_reset(&m->b);
	m->too_big = 0;
	m->open = 0;
}

int
crm_mbox_scan(const char *path, const struct crm_mailsrc_opts *o,
    crm_msg_fn fn, void *arg)
{
	struct lines *l = crm_xcalloc(1, sizeof *l);
	struct msg m = { .b = CRM_BUF_INIT };
	const char *s;
	size_t n;
	off_t pos = 0;
	int prev_empty = 1;

	l->fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (l->fd < 0) {
		crm_warn("%s:", path);
		free(l);
		return -1;
	}
	while (next_line(l, &s, &n)) {
		off_t here = pos;
		pos += (off_t)n;
		if (prev_empty && n >= 5 && !memcmp(s, "From ", 5)) {
			finish(&m, path, o, fn, arg);
			m.open = 1;
			m.offset = here;
			m.date = envelope_date(s, n - (s[n - 1] == '\n'));
			prev_empty = 0;
			continue;
		}
		prev_empty = n == 1 || (n == 2 && s[0] == '\r');
		if (!m.open) {
			/* text before the first envelope: not an mbox we can trust */
			if (prev_empty)
				continue;
			m.open = 1;
			m.offset = here;
			m.date = 0;
		}
		if (m.too_big)
			continue;
		if (n >= 6 && s[0] == '>') {
			size_t k = 0;
			while (k < n && s[k] == '>')
				k++;
			if (n - k >= 5 && !memcmp(s + k, "From ", 5))
				s++, n--;
		}
		if (o->max_size && m.b.len + n > o->max_size) {
			m.too_big = 1;
			crm_buf_free(&m.b);
			continue;
		}
		crm_buf_add(&m.b, s, n);
	}
	finish(&m, path, o, fn, arg);
	if (l->fd > 0)
		close(l->fd);
	crm_buf_free(&l->longline);
	crm_buf_free(&m.b);
	free(l);
	return 0;
}
