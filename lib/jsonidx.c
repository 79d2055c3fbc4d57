/* jsonidx.c — two-pass JSON-lines reading (see jsonidx.h).
 *
 * Why it is built this way: parsing JSON is most of the cost of a stage
 * that only needs a few keys of each record, and json-c parses one line at
 * a time on one core.  The inputs are therefore cut into 1 MiB chunks that
 * parser threads claim in turn; a line belongs to the chunk its first byte
 * lies in, so every thread finds its lines without talking to the others.
 * Each thread keeps its own json_tokener and read window (pread, so the
 * file offset is shared by no one).  The calling thread consumes finished
 * chunks strictly in input order — line numbers, rejects and take() calls
 * come out exactly as a sequential reader would produce them — and the
 * threads never run more than a few chunks ahead, so memory stays bounded
 * by the chunk window plus the index, whatever the input size.
 * Pass 2 reads the kept lines back by offset through one window; nothing of
 * a record is held between the passes except its position.
 * UTF-8 is checked by crm_utf8_valid() (eight ASCII bytes at a step) before
 * json-c sees a line, rather than by json-c's per-character check: the same
 * lines are rejected with the same message (overlong forms and surrogates
 * too), at a third less parsing time. */
#include "jsonidx.h"
#include "charset.h"
#include "exitcode.h"
#include "jsonl.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1UL << 20)       /* bytes of input per parser task */
#define READ_MIN (1UL << 20)    /* smallest read into a window */
#define AHEAD 4                 /* chunks in flight per thread */
#define MAXJOBS 64

enum { K_REJECT = -1, K_LONG = -2 };

struct src {
	int fd;
	const char *name;
	uint64_t base, size;    /* the input is [base, base + size) of fd */
	struct stat st;         /* of a regular file read in place */
	int inplace;
};

struct item {
	uint64_t off;           /* of the line, within its source */
	uint32_t len;
	int kind;               /* flags >= 0 (a record), K_REJECT, K_LONG */
	uint64_t lline;         /* line number within the chunk, from 1 */
	const char *why;
	size_t eoff, elen;      /* what pick() appended, in the chunk's ext */
};

struct chunk {
	uint32_t src;
	uint64_t start, end;
	int done, err;
	uint64_t nlines;
	struct item *it;
	size_t nit, capit;
	struct crm_buf ext;
};

struct win {                    /* a read window over one source */
	char *buf;
	size_t cap, len;
	uint32_t src;
	uint64_t off;
	int err;
	json_tokener *tok;
};

struct rec {
	uint64_t off;
	uint64_t lineno;
	uint32_t src, len;
	int flags;
};

struct crm_jidx {
	struct crm_jidx_opts o;
	struct src *src;
	size_t nsrc;
	int tmpfd;
	uint64_t tmpsize;
	struct chunk *ch;
	size_t nch;
	struct rec *rec;
	size_t nrec, caprec;
	struct win w;           /* the calling thread's window */
	size_t next2;           /* pass 2 position */
	/* parser threads */
	pthread_mutex_t mu;
	pthread_cond_t done_cv, room_cv;
	size_t claim, consumed, ahead;
};

/* ---- inputs ---- */

static int
tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	snprintf(path, sizeof path, "%s/crm-jsonidx.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		crm_die(CRM_EXIT_ENV, "cannot create a temporary file in %s:", dir);
	unlink(path);
	return fd;
}

/* Copy a pipe (or any unseekable input) to the end of the spool file. */
static void
spool(struct crm_jidx *x, int fd, struct src *s)
{
	char *buf = crm_xmalloc(READ_MIN);
	ssize_t n;

	if (x->tmpfd < 0)
		x->tmpfd = tmpfile_fd();
	s->fd = x->tmpfd;
	s->base = x->tmpsize;
	for (;;) {
		n = read(fd, buf, READ_MIN);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			crm_warn("%s: read error:", s->name);
			crm_status_fail(CRM_EXIT_REJECTS);
			break;
		}
		if (n == 0)
			break;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = pwrite(x->tmpfd, buf + w, (size_t)(n - w),
			    (off_t)x->tmpsize);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				crm_die(CRM_EXIT_ENV, "cannot write the temporary copy of %s:",
				    s->name);
			w += k;
			x->tmpsize += (uint64_t)k;
		}
	}
	s->size = x->tmpsize - s->base;
	free(buf);
}

static void
add_source(struct crm_jidx *x, const char *path)
{
	struct src *s = &x->src[x->nsrc];
	struct stat st;
	off_t at = -1;
	int fd;

	if (!strcmp(path, "-")) {
		fd = 0;
		s->name = "<stdin>";
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		s->name = path;
		if (fd < 0) {
			crm_warn("%s:", path);
			crm_status_fail(CRM_EXIT_REJECTS);
			return;
		}
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : errno;
		crm_warn("%s:", s->name);
		crm_status_fail(CRM_EXIT_REJECTS);
		if (fd > 0)
			close(fd);
		return;
	}
	if (S_ISREG(st.st_mode))
		at = lseek(fd, 0, SEEK_CUR);
	if (at >= 0 && at <= st.st_size) {
		s->inplace = 1;
		s->st = st;
		s->fd = fd;
		s->base = (uint64_t)at;
		s->size = (uint64_t)(st.st_size - at);
	} else {
		spool(x, fd, s);
		if (fd > 0)
			close(fd);
	}
	x->nsrc++;
}

/* ---- read windows ---- */

/* Make [pos, pos + need) of source si readable in w (less at its end);
 * returns the bytes available from pos. */
static size_t
avail(const struct crm_jidx *x, struct win *w, uint32_t si, uint64_t pos,
    size_t need)
{
	const struct src *s = &x->src[si];
	uint64_t left = pos < s->size ? s->size - pos : 0;
	size_t want, got = 0;

	if (need > left)
		need = (size_t)left;
	if (w->src == si && w->buf && pos >= w->off && pos + need <= w->off + w->len)
		return (size_t)(w->off + w->len - pos);
	want = need > READ_MIN ? need : READ_MIN;
	if (want > left)
		want = (size_t)left;
	if (want > w->cap) {
		free(w->buf);
		w->buf = crm_xmalloc(want);
		w->cap = want;
	}
	while (got < want) {
		ssize_t n = pread(s->fd, w->buf + got, want - got,
		    (off_t)(s->base + pos + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				w->err = errno;
			break;
		}
		got += (size_t)n;
	}
	w->src = si;
	w->off = pos;
	w->len = got;
	return got;
}

/* ---- pass 1: one chunk ---- */

static int
blank(const char *s, size_t n)
{
	while (n--)
		if (!strchr(" \t\r", *s++))
			return 0;
	return 1;
}

static struct item *
new_item(struct chunk *c, uint64_t off, size_t len, int kind)
{
	struct item *it;

	if (c->nit == c->capit) {
		c->capit = c->capit ? c->capit * 2 : 256;
		c->it = crm_xrealloc(c->it, c->capit * sizeof *c->it);
	}
	it = &c->it[c->nit++];
	it->off = off;
	it->len = (uint32_t)len;
	it->kind = kind;
	it->lline = c->nlines;
	it->why = NULL;
	it->eoff = it->elen = 0;
	return it;
}

static void
one_line(const struct crm_jidx *x, struct win *w, struct chunk *c, uint64_t off,
    const char *line, size_t len)
{
	json_object *o;
	enum json_tokener_error e;
	size_t used;
	struct item *it;

	if (blank(line, len))
		return;
	if (!crm_utf8_valid(line, len)) {
		it = new_item(c, off, len, K_REJECT);
		it->why = json_tokener_error_desc(json_tokener_error_parse_utf8_string);
		return;
	}
	json_tokener_reset(w->tok);
	o = json_tokener_parse_ex(w->tok, line, (int)len);
	e = json_tokener_get_error(w->tok);
	used = json_tokener_get_parse_end(w->tok);
	if (e == json_tokener_continue)
		e = json_tokener_error_parse_eof;
	else if (e == json_tokener_success && !blank(line + used, len - used))
		e = json_tokener_error_parse_unexpected;
	if (e != json_tokener_success || !json_object_is_type(o, json_type_object)) {
		it = new_item(c, off, len, K_REJECT);
		it->why = e != json_tokener_success ? json_tokener_error_desc(e)
		    : "not a JSON object";
		json_object_put(o);
		return;
	}
	size_t at = c->ext.len;
	const char *why = NULL;
	int fl = x->o.pick(o, line, len, &c->ext, &why, x->o.arg);
	json_object_put(o);
	if (fl < 0) {
		c->ext.len = at;
		it = new_item(c, off, len, K_REJECT);
		it->why = why ? why : "record rejected";
		return;
	}
	it = new_item(c, off, len, fl & 255);
	it->eoff = at;
	it->elen = c->ext.len - at;
}

/* The position after the next newline at or after pos, not looking past
 * the chunk's end (then the chunk's end). */
static uint64_t
skip_line(const struct crm_jidx *x, struct win *w, const struct chunk *c,
    uint64_t pos)
{
	while (pos < c->end) {
		size_t a = avail(x, w, c->src, pos, 1);
		if (a == 0)
			return c->end;
		const char *p = w->buf + (pos - w->off);
		const char *nl = memchr(p, '\n', a);
		if (nl)
			return pos + (uint64_t)(nl - p) + 1;
		pos += a;
	}
	return c->end;
}

static void
do_chunk(const struct crm_jidx *x, struct win *w, struct chunk *c)
{
	const struct src *s = &x->src[c->src];
	size_t max = x->o.max_line;
	uint64_t pos = c->start;

	w->err = 0;
	if (pos > 0) {          /* skip the line that began in an earlier chunk */
		size_t lim = (size_t)(c->end - pos);    /* a newline at end - 1 starts the next chunk's line */
		size_t a = avail(x, w, c->src, pos - 1, lim);
		const char *p = w->buf + (pos - 1 - w->off);
		const char *nl = a ? memchr(p, '\n', a < lim ? a : lim) : NULL;
		if (!nl)
			goto out;
		pos = pos - 1 + (uint64_t)(nl - p) + 1;
	}
	while (pos < c->end) {
		size_t a = avail(x, w, c->src, pos, 1), scanned = 0, len;
		const char *p, *nl;
		for (;;) {
			p = w->buf + (pos - w->off);
			nl = memchr(p + scanned, '\n', a - scanned);
			if (nl || pos + a >= s->size || a > max || w->err)
				break;
			scanned = a;
			size_t more = a * 2 > max + 1 ? max + 1 : a * 2;
			a = avail(x, w, c->src, pos, more);
			if (a <= scanned)
				break;
		}
		if (w->err)
			break;
		c->nlines++;
		len = nl ? (size_t)(nl - p) : a;
		if (len > max) {
			new_item(c, pos, 0, K_LONG);
			pos = skip_line(x, w, c, pos + max + 1);
			continue;
		}
		one_line(x, w, c, pos, p, len);
		pos += len + 1;
	}
out:
	c->err = w->err;
}

static void
win_init(struct win *w)
{
	memset(w, 0, sizeof *w);
	w->src = UINT32_MAX;
	w->tok = json_tokener_new_ex(64);
	if (!w->tok)
		crm_die(CRM_EXIT_ENV, "out of memory");
}

static void
win_free(struct win *w)
{
	free(w->buf);
	json_tokener_free(w->tok);
}

static void *
worker(void *arg)
{
	struct crm_jidx *x = arg;
	struct win w;
	size_t i;

	win_init(&w);
	for (;;) {
		pthread_mutex_lock(&x->mu);
		while (x->claim < x->nch && x->claim >= x->consumed + x->ahead)
			pthread_cond_wait(&x->room_cv, &x->mu);
		if (x->claim >= x->nch) {
			pthread_mutex_unlock(&x->mu);
			break;
		}
		i = x->claim++;
		pthread_mutex_unlock(&x->mu);
		do_chunk(x, &w, &x->ch[i]);
		pthread_mutex_lock(&x->mu);
		x->ch[i].done = 1;
		pthread_cond_broadcast(&x->done_cv);
		pthread_mutex_unlock(&x->mu);
	}
	win_free(&w);
	return NULL;
}

/* ---- pass 1: in order, in the calling thread ---- */

static void
reject_long(struct crm_jidx *x, const struct src *s, uint32_t si, uint64_t off,
    long lineno)
{
	FILE *f = crm_rejects_file();

	crm_reject_raw(s->name, lineno, NULL, 0,
	    "line longer than %zu bytes (--max-line); rejected", x->o.max_line);
	for (;;) {
		size_t a = avail(x, &x->w, si, off, 1);
		if (a == 0)
			break;
		const char *p = x->w.buf + (off - x->w.off);
		const char *nl = memchr(p, '\n', a);
		fwrite(p, 1, nl ? (size_t)(nl - p) : a, f);
		if (nl)
			break;
		off += a;
	}
	fputc('\n', f);
	fflush(f);
}

static void
consume(struct crm_jidx *x, struct chunk *c, uint64_t *linebase)
{
	const struct src *s = &x->src[c->src];

	for (size_t i = 0; i < c->nit; i++) {
		const struct item *it = &c->it[i];
		long lineno = (long)(linebase[c->src] + it->lline);
		if (it->kind == K_LONG) {
			reject_long(x, s, c->src, it->off, lineno);
		} else if (it->kind == K_REJECT) {
			size_t a = avail(x, &x->w, c->src, it->off, it->len);
			crm_reject_raw(s->name, lineno, x->w.buf + (it->off - x->w.off),
			    a < it->len ? a : it->len, "%s", it->why);
		} else {
			if (x->nrec == x->caprec) {
				x->caprec = x->caprec ? x->caprec * 2 : 4096;
				x->rec = crm_xrealloc(x->rec, x->caprec * sizeof *x->rec);
			}
			struct rec *r = &x->rec[x->nrec];
			r->off = it->off;
			r->len = it->len;
			r->src = c->src;
			r->lineno = (uint64_t)lineno;
			r->flags = it->kind;
			x->o.take(x->nrec++, c->ext.s + it->eoff, it->elen, x->o.arg);
			crm_progress(x->nrec, "records read");
		}
	}
	if (c->err) {
		errno = c->err;
		crm_warn("%s: read error:", s->name);
		crm_status_fail(CRM_EXIT_REJECTS);
	}
	linebase[c->src] += c->nlines;
	free(c->it);
	c->it = NULL;
	crm_buf_free(&c->ext);
}

static int
cpus(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof set, &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : n;
}

static void
make_chunks(struct crm_jidx *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->nsrc; i++)
		n += (size_t)((x->src[i].size + CHUNK - 1) / CHUNK);
	x->ch = crm_xcalloc(n + 1, sizeof *x->ch);
	for (size_t i = 0; i < x->nsrc; i++)
		for (uint64_t p = 0; p < x->src[i].size; p += CHUNK) {
			struct chunk *c = &x->ch[x->nch++];
			c->src = (uint32_t)i;
			c->start = p;
			c->end = p + CHUNK < x->src[i].size ? p + CHUNK : x->src[i].size;
		}
}

struct crm_jidx *
crm_jidx_scan(char **paths, const struct crm_jidx_opts *o)
{
	static char *dash[] = { "-", NULL };
	struct crm_jidx *x = crm_xcalloc(1, sizeof *x);
	pthread_t *th;
	int jobs, started = 0;
	size_t n = 0;

	x->o = *o;
	if (!x->o.max_line)
		x->o.max_line = CRM_MAX_LINE_DEFAULT;
	if (x->o.max_line > INT_MAX - 1)
		x->o.max_line = INT_MAX - 1;    /* json-c takes an int length */
	x->tmpfd = -1;
	if (!paths || !paths[0])
		paths = dash;
	while (paths[n])
		n++;
	x->src = crm_xcalloc(n, sizeof *x->src);
	for (size_t i = 0; i < n; i++)
		add_source(x, paths[i]);
	make_chunks(x);
	win_init(&x->w);

	jobs = o->jobs > 0 ? o->jobs : cpus();
	if (jobs > MAXJOBS)
		jobs = MAXJOBS;
	if ((size_t)jobs > x->nch)
		jobs = (int)x->nch;
	uint64_t *linebase = crm_xcalloc(x->nsrc + 1, sizeof *linebase);
	if (jobs <= 1) {
		for (size_t i = 0; i < x->nch; i++) {
			do_chunk(x, &x->w, &x->ch[i]);
			consume(x, &x->ch[i], linebase);
		}
	} else {
		pthread_mutex_init(&x->mu, NULL);
		pthread_cond_init(&x->done_cv, NULL);
		pthread_cond_init(&x->room_cv, NULL);
		x->ahead = (size_t)jobs * AHEAD;
		th = crm_xcalloc((size_t)jobs, sizeof *th);
		for (; started < jobs; started++)
			if (pthread_create(&th[started], NULL, worker, x) != 0)
				break;
		if (!started)
			crm_die(CRM_EXIT_ENV, "cannot start a parser thread");
		for (size_t i = 0; i < x->nch; i++) {
			pthread_mutex_lock(&x->mu);
			while (!x->ch[i].done)
				pthread_cond_wait(&x->done_cv, &x->mu);
			pthread_mutex_unlock(&x->mu);
			consume(x, &x->ch[i], linebase);
			pthread_mutex_lock(&x->mu);
			x->consumed = i + 1;
			pthread_cond_broadcast(&x->room_cv);
			pthread_mutex_unlock(&x->mu);
		}
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		free(th);
		pthread_mutex_destroy(&x->mu);
		pthread_cond_destroy(&x->done_cv);
		pthread_cond_destroy(&x->room_cv);
	}
	free(linebase);
	crm_progress_end();
	return x;
}

size_t
crm_jidx_count(const struct crm_jidx *x)
{
	return x->nrec;
}

/* ---- pass 2 ---- */

/* A file read in place must be the same for pass 2 as it was for pass 1. */
static void
check_unchanged(const struct src *s)
{
	struct stat st;

	if (!s->inplace)
		return;
	if (fstat(s->fd, &st) < 0 || st.st_size < s->st.st_size ||
	    st.st_ino != s->st.st_ino || st.st_dev != s->st.st_dev ||
	    (st.st_size == s->st.st_size &&
	    (st.st_mtim.tv_sec != s->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->st.st_mtim.tv_nsec)))
		crm_die(CRM_EXIT_ENV, "%s: input changed while being read", s->name);
}

int
crm_jidx_next(struct crm_jidx *x, struct crm_jidx_rec *r)
{
	const struct rec *e;
	size_t a;

	if (x->next2 == 0)
		for (size_t i = 0; i < x->nsrc; i++)
			check_unchanged(&x->src[i]);
	if (x->next2 >= x->nrec)
		return 0;
	e = &x->rec[x->next2];
	a = avail(x, &x->w, e->src, e->off, e->len);
	if (a < e->len)
		crm_die(CRM_EXIT_ENV, "%s: input changed or became unreadable "
		    "while being read", x->src[e->src].name);
	r->line = x->w.buf + (e->off - x->w.off);
	r->len = e->len;
	r->input = x->src[e->src].name;
	r->lineno = (long)e->lineno;
	r->recno = x->next2++;
	r->flags = e->flags;
	return 1;
}

json_object *
crm_jidx_parse(struct crm_jidx *x, const struct crm_jidx_rec *r)
{
	json_tokener_reset(x->w.tok);
	json_object *o = json_tokener_parse_ex(x->w.tok, r->line, (int)r->len);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void
crm_jidx_free(struct crm_jidx *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nsrc; i++)
		if (x->src[i].fd > 0 && x->src[i].fd != x->tmpfd)
			close(x->src[i].fd);
	if (x->tmpfd >= 0)
		close(x->tmpfd);
	for (size_t i = 0; i < x->nch; i++) {
		free(x->ch[i].it);
		crm_buf_free(&x->ch[i].ext);
	}
	free(x->ch);
	free(x->src);
	free(x->rec);
	win_free(&x->w);
	free(x);
}
