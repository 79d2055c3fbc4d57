/* jsonl.c — JSON-lines reader and writer over json-c (see jsonl.h).
 *
 * Lines are read with read(2) into one buffer that grows only up to the
 * line limit; a longer line is streamed to the rejects file in pieces, so
 * an endless line costs no memory.  One json_tokener is reused for every
 * line. */
#include "jsonl.h"
#include "buf.h"
#include "charset.h"
#include "exitcode.h"
#include "log.h"

#include <printbuf.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct crm_reader {
	char **paths;
	size_t npath, ipath;
	int fd;
	const char *input;
	long lineno;
	size_t max_line;
	char *buf;               /* [start, end) holds unread bytes */
	size_t start, end, cap;
	int eof;
	json_tokener *tok;
	json_object *obj;
	unsigned long count;
};

static FILE *rejects;
static int rejects_is_stderr = 1;
static unsigned long nrejects;
static int status_code;

void
crm_rejects_open(const char *path)
{
	if (!path || !strcmp(path, "-")) {
		rejects = stderr;
		rejects_is_stderr = 1;
		return;
	}
	rejects = fopen(path, "a");
	if (!rejects)
		crm_die(CRM_EXIT_USAGE, "cannot open rejects file %s:", path);
	rejects_is_stderr = 0;
}

FILE *
crm_rejects_file(void)
{
	if (!rejects)
		rejects = stderr;
	return rejects;
}

unsigned long
crm_rejects_count(void)
{
	return nrejects;
}

void
crm_status_fail(int code)
{
	if (code > status_code)
		status_code = code;
}

int
crm_status(void)
{
	return status_code;
}

static void
reject_v(const char *input, long lineno, const void *data, size_t len,
    int whole, const char *fmt, va_list ap)
{
	char msg[1024];
	FILE *f = crm_rejects_file();

	vsnprintf(msg, sizeof msg, fmt, ap);
	crm_warn_at(input, lineno, "%s", msg);
	nrejects++;
	crm_status_fail(CRM_EXIT_REJECTS);
	if (data) {
		fwrite(data, 1, len, f);
		if (whole)
			fputc('\n', f);
	}
	if (!rejects_is_stderr)
		fflush(f);
}

void
crm_reject_raw(const char *input, long lineno, const void *data, size_t len,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reject_v(input, lineno, data, len, 1, fmt, ap);
	va_end(ap);
}

void
crm_reject(const struct crm_rec *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reject_v(r->input, r->lineno, r->line, r->len, 1, fmt, ap);
	va_end(ap);
}

struct crm_reader *
crm_reader_new(char **paths, size_t max_line)
{
	struct crm_reader *rd = crm_xcalloc(1, sizeof *rd);
	static char *dash[] = { "-", NULL };

	if (!paths || !paths[0])
		paths = dash;
	rd->paths = paths;
	while (paths[rd->npath])
		rd->npath++;
	rd->fd = -1;
	rd->max_line = max_line ? max_line : CRM_MAX_LINE_DEFAULT;
	if (rd->max_line > INT_MAX - 1)
		rd->max_line = INT_MAX - 1;     /* json-c takes an int length */
	rd->cap = 1 << 16;
	rd->buf = crm_xmalloc(rd->cap);
	rd->tok = json_tokener_new_ex(64);
	if (!rd->tok)
		crm_die(CRM_EXIT_ENV, "out of memory");
	/* UTF-8 is checked by crm_utf8_valid() (eight ASCII bytes at a step)
	 * before json-c sees a line: cheaper than its per-byte check */
	return rd;
}

void
crm_reader_free(struct crm_reader *rd)
{
	if (!rd)
		return;
	if (rd->fd > 0)
		close(rd->fd);
	json_object_put(rd->obj);
	json_tokener_free(rd->tok);
	free(rd->buf);
	free(rd);
}

unsigned long
crm_reader_count(const struct crm_reader *rd)
{
	return rd->count;
}

/* Open the next input; 0 when none is left. */
static int
open_next(struct crm_reader *rd)
{
	while (rd->ipath < rd->npath) {
		const char *p = rd->paths[rd->ipath++];
		if (!strcmp(p, "-")) {
			rd->fd = 0;
			rd->input = "<stdin>";
		} else {
			rd->fd = open(p, O_RDONLY | O_CLOEXEC);
			rd->input = p;
			if (rd->fd < 0) {
				crm_warn("%s:", p);
				crm_status_fail(CRM_EXIT_REJECTS);
				continue;
			}
		}
		rd->lineno = 0;
		rd->start = rd->end = 0;
		rd->eof = 0;
		return 1;
	}
	return 0;
}

/* Read more bytes after compacting; returns bytes read, 0 at EOF. */
static ssize_t
fill(struct crm_reader *rd)
{
	ssize_t n;

	if (rd->start > 0) {
		memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
		rd->end -= rd->start;
		rd->start = 0;
	}
	if (rd->end == rd->cap) {
		size_t cap = rd->cap * 2;
		if (cap > rd->max_line + 1)
			cap = rd->max_line + 1;
		if (cap <= rd->cap)
			return -2;      /* line too long */
		rd->buf = crm_xrealloc(rd->buf, cap);
		rd->cap = cap;
	}
	do
		n = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		crm_warn("%s: read error:", rd->input);
		crm_status_fail(CRM_EXIT_REJECTS);
		return 0;
	}
	rd->end += (size_t)n;
	return n;
}

/* Stream the rest of an over-long line to the rejects file. */
static void
skip_long_line(struct crm_reader *rd)
{
	FILE *f = crm_rejects_file();
	char *nl;

	crm_warn_at(rd->input, rd->lineno,
	    "line longer than %zu bytes (--max-line); rejected", rd->max_line);
	nrejects++;
	crm_status_fail(CRM_EXIT_REJECTS);
	for (;;) {
		nl = memchr(rd->buf + rd->start, '\n', rd->end - rd->start);
		if (nl) {
			fwrite(rd->buf + rd->start, 1, (size_t)(nl - rd->buf) - rd->start + 1, f);
			rd->start = (size_t)(nl - rd->buf) + 1;
			break;
		}
		fwrite(rd->buf + rd->start, 1, rd->end - rd->start, f);
		rd->start = rd->end = 0;
		if (fill(rd) <= 0) {
			fputc('\n', f);
			rd->eof = 1;
			break;
		}
	}
	if (!rejects_is_stderr)
		fflush(f);
}

/* Next raw line of the current input: 1 got one, 0 EOF. */
static int
next_line(struct crm_reader *rd, char **line, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		char *s = rd->buf + rd->start + scanned;
		char *nl = memchr(s, '\n', rd->end - rd->start - scanned);
		if (nl) {
			*line = rd->buf + rd->start;
			*len = (size_t)(nl - *line);
			rd->start += *len + 1;
			rd->lineno++;
			if (*len > rd->max_line) {
				rd->start -= *len + 1;
				skip_long_line(rd);
				scanned = 0;
				continue;
			}
			return 1;
		}
		scanned = rd->end - rd->start;
		if (rd->eof) {
			if (scanned == 0)
				return 0;
			*line = rd->buf + rd->start;
			*len = scanned;
			rd->start = rd->end;
			rd->lineno++;
			return 1;
		}
		ssize_t n = fill(rd);
		if (n == -2) {
			rd->lineno++;
			skip_long_line(rd);
			scanned = 0;
			continue;
		}
		if (n <= 0)
			rd->eof = 1;
	}
}

static int
blank(const char *s, size_t n)
{
	while (n--)
		if (!strchr(" \t\r", *s++))
			return 0;
	return 1;
}

int
crm_reader_next(struct crm_reader *rd, struct crm_rec *r)
{
	char *line;
	size_t len;

	json_object_put(rd->obj);
	rd->obj = NULL;
	for (;;) {
		if (rd->fd < 0 && !open_next(rd))
			return 0;
		if (!next_line(rd, &line, &len)) {
			if (rd->fd > 0)
				close(rd->fd);
			rd->fd = -1;
			continue;
		}
		if (blank(line, len))
			continue;
		if (!crm_utf8_valid(line, len)) {
			crm_reject_raw(rd->input, rd->lineno, line, len, "invalid UTF-8");
			continue;
		}
		json_tokener_reset(rd->tok);
		json_object *o = json_tokener_parse_ex(rd->tok, line, (int)len);
		enum json_tokener_error e = json_tokener_get_error(rd->tok);
		size_t used = json_tokener_get_parse_end(rd->tok);
		if (e == json_tokener_continue)
			e = json_tokener_error_parse_eof;
		else if (e == json_tokener_success && !blank(line + used, len - used))
			e = json_tokener_error_parse_unexpected;
		if (e != json_tokener_success || !json_object_is_type(o, json_type_object)) {
			crm_reject_raw(rd->input, rd->lineno, line, len, "%s",
			    e != json_tokener_success ? json_tokener_error_desc(e)
			    : "not a JSON object");
			json_object_put(o);
			continue;
		}
		rd->obj = o;
		rd->count++;
		r->obj = o;
		r->line = line;
		r->len = len;
		r->input = rd->input;
		r->lineno = rd->lineno;
		return 1;
	}
}

/* ---- writer ---- */

static char outbuf[1 << 16];
static int out_ready;

static void
out_init(void)
{
	if (!out_ready) {
		setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
		out_ready = 1;
	}
}

const char *
crm_json_str(json_object *obj, size_t *len)
{
	const char *s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	return s;
}

void
crm_emit_line(const char *line, size_t len)
{
	out_init();
	fwrite(line, 1, len, stdout);
	putc('\n', stdout);
}

void
crm_emit_json(json_object *obj)
{
	size_t len;
	const char *s = crm_json_str(obj, &len);
	crm_emit_line(s, len);
}

static void
emit_key(const char *k)
{
	json_object *ks = json_object_new_string(k);
	size_t n;
	const char *s = crm_json_str(ks, &n);
	fwrite(s, 1, n, stdout);
	json_object_put(ks);
}

int
crm_emit_splice(const char *line, size_t len, int empty, size_t n,
    const char *const *keys, json_object *const *vals)
{
	size_t i;

	out_init();
	while (len && strchr(" \t\r", line[len - 1]))
		len--;
	if (len == 0 || line[len - 1] != '}')
		return -1;
	fwrite(line, 1, len - 1, stdout);
	for (i = 0; i < n; i++) {
		size_t vn;
		const char *vs;
		if (!(empty && i == 0))
			putc(',', stdout);
		emit_key(keys[i]);
		putc(':', stdout);
		vs = vals[i] ? crm_json_str(vals[i], &vn) : (vn = 4, "null");
		fwrite(vs, 1, vn, stdout);
	}
	fputs("}\n", stdout);
	return 0;
}

void
crm_emit_keys(const struct crm_rec *r, size_t n, const char *const *keys,
    json_object *const *vals)
{
	size_t i;
	int splice = 1;

	out_init();
	for (i = 0; i < n; i++)
		if (json_object_object_get_ex(r->obj, keys[i], NULL))
			splice = 0;
	if (splice && crm_emit_splice(r->line, r->len,
	    json_object_object_length(r->obj) == 0, n, keys, vals) == 0)
		return;
	for (i = 0; i < n; i++)
		json_object_object_add(r->obj, keys[i], json_object_get(vals[i]));
	crm_emit_json(r->obj);
}

int
crm_output_close(void)
{
	out_init();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		crm_warn("error writing standard output:");
		crm_status_fail(CRM_EXIT_ENV);
		return CRM_EXIT_ENV;
	}
	if (rejects && !rejects_is_stderr && (fflush(rejects) != 0 || ferror(rejects))) {
		crm_warn("error writing rejects file:");
		crm_status_fail(CRM_EXIT_ENV);
		return CRM_EXIT_ENV;
	}
	return 0;
}

json_object *
crm_get(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (obj && json_object_object_get_ex(obj, key, &v))
		return v;
	return NULL;
}

const char *
crm_get_str(json_object *obj, const char *key)
{
	json_object *v = crm_get(obj, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

json_object *
crm_json_utf8(const char *s, size_t n)
{
	struct crm_buf b = CRM_BUF_INIT;
	json_object *o;

	if (crm_utf8_valid(s, n))
		return json_object_new_string_len(s, (int)n);
	crm_utf8_repair(&b, s, n);
	o = json_object_new_string_len(b.s, (int)b.len);
	crm_buf_free(&b);
	return o;
}

/* JSON string escaping, one implementation for the whole library.
 * json-c's own escaper handles one byte per loop turn with several
 * compares, and on message bodies it was a third of a stage's time.
 * crm_json_plain() finds the next byte to escape sixteen bytes at a time
 * (SSE2; eight at a time elsewhere), crm_json_esc1() spells it as json-c
 * does (", \, the short escapes, \u00XX in lower-case hex for the other
 * C0 controls, and '/' as "\/" unless JSON_C_TO_STRING_NOSLASHESCAPE).
 * text_serialize() plugs them into json-c through its documented
 * json_object_set_serializer() hook; crm_json_escape() appends to a
 * crm_buf for the writers that produce JSON text directly (crm-sync's
 * records, crm-intent's keys).  tests/fuzz/fuzz-jsontext.c checks that
 * both give json-c's bytes exactly. */
size_t
crm_json_plain(const char *s, size_t n, int slash)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i c1f = _mm_set1_epi8(0x1f), dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i sl = _mm_set1_epi8(slash ? '/' : '"');
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* max(v, 0x1f) == 0x1f exactly for the bytes 0x00..0x1f */
		__m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f),
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, bs)),
		    _mm_cmpeq_epi8(v, sl)));
		unsigned m = (unsigned)_mm_movemask_epi8(hit);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#else
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	for (; i + 8 <= n; i += 8) {
		uint64_t v, lt, q, b, sl;
		memcpy(&v, s + i, 8);
		lt = (v - ones * 0x20) & ~v;
		q = v ^ (ones * '"');
		b = v ^ (ones * '\\');
		sl = slash ? v ^ (ones * '/') : ~0ULL;
		if ((lt | ((q - ones) & ~q) | ((b - ones) & ~b) | ((sl - ones) & ~sl)) & high)
			break;
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\' || (c == '/' && slash))
			return i;
	}
	return n;
}

size_t
crm_json_esc1(unsigned char c, char e[7])
{
	static const char hex[] = "0123456789abcdef";
	char k = 0;

	switch (c) {
	case '"': k = '"'; break;
	case '\\': k = '\\'; break;
	case '/': k = '/'; break;
	case '\n': k = 'n'; break;
	case '\r': k = 'r'; break;
	case '\t': k = 't'; break;
	case '\b': k = 'b'; break;
	case '\f': k = 'f'; break;
	}
	e[0] = '\\';
	if (k) {
		e[1] = k;
		return 2;
	}
	memcpy(e + 1, "u00", 3);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 15];
	return 6;
}

void
crm_json_escape(struct crm_buf *b, const char *s, size_t n)
{
	char e[7];

	crm_buf_grow(b, n + 2);
	b->s[b->len++] = '"';
	for (;;) {
		size_t k = crm_json_plain(s, n, 0);
		crm_buf_add(b, s, k);
		if (k == n)
			break;
		crm_buf_add(b, e, crm_json_esc1((unsigned char)s[k], e));
		s += k + 1;
		n -= k + 1;
	}
	crm_buf_addc(b, '"');
}

void
crm_json_escape_utf8(struct crm_buf *b, const char *s, size_t n)
{
	struct crm_buf r = CRM_BUF_INIT;

	if (crm_utf8_valid(s, n)) {
		crm_json_escape(b, s, n);
		return;
	}
	crm_utf8_repair(&r, s, n);
	crm_json_escape(b, r.s, r.len);
	crm_buf_free(&r);
}

static int
text_serialize(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const char *s = json_object_get_string(jso);
	size_t n = (size_t)json_object_get_string_len(jso);
	int slash = !(flags & JSON_C_TO_STRING_NOSLASHESCAPE);
	char e[7];

	(void)level;
	printbuf_memappend_fast(pb, "\"", 1);
	for (;;) {
		size_t k = crm_json_plain(s, n, slash);
		if (k)
			printbuf_memappend_fast(pb, s, (int)k);
		if (k == n)
			break;
		printbuf_memappend_fast(pb, e, (int)crm_json_esc1((unsigned char)s[k], e));
		s += k + 1;
		n -= k + 1;
	}
	printbuf_memappend_fast(pb, "\"", 1);
	return 0;
}

/* A json-c string of s whose bytes on output are ser's. */
static json_object *
string_written_by(const char *s, size_t n, json_object_to_json_string_fn *ser)
{
	json_object *o = json_object_new_string_len(s, (int)n);

	if (o)
		json_object_set_serializer(o, ser, NULL, NULL);
	return o;
}

json_object *
crm_json_text(const char *s, size_t n)
{
	return string_written_by(s, n, text_serialize);
}

/* json-c calls this to write a value made by crm_json_raw(): its text,
 * unquoted. */
static int
raw_serialize(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_get_string(o), json_object_get_string_len(o));
}

json_object *
crm_json_raw(const char *json, size_t n)
{
	return string_written_by(json, n, raw_serialize);
}
