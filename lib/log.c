/* log.c — one error shape for every program (see log.h).
 *
 * Progress is rate-limited by wall clock so that a hot loop can call
 * crm_progress() per record: the clock is read only every 256 calls. */
#include "log.h"
#include "exitcode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *crm_prog = "crm";
int crm_verbose;

static int progress_on;      /* 0 off, 1 terminal, 2 forced into a pipe/file */
static int progress_drawn;
static unsigned long progress_done;
static const char *progress_what;
static struct timespec progress_last, progress_start;

void
crm_log_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;
	crm_prog = s ? s + 1 : (argv0 && *argv0 ? argv0 : "crm");
}

static void
vwarn(const char *prefix, const char *fmt, va_list ap)
{
	int e = errno;
	size_t n = strlen(fmt);

	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		progress_drawn = 0;
	}
	fprintf(stderr, "%s: ", crm_prog);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(e));
	fputc('\n', stderr);
}

void
crm_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(NULL, fmt, ap);
	va_end(ap);
}

void
crm_warn_at(const char *input, long line, const char *fmt, ...)
{
	char pre[4096];
	va_list ap;

	if (line > 0)
		snprintf(pre, sizeof pre, "%s:%ld: ", input, line);
	else
		snprintf(pre, sizeof pre, "%s: ", input);
	va_start(ap, fmt);
	vwarn(pre, fmt, ap);
	va_end(ap);
}

void
crm_debug(const char *fmt, ...)
{
	va_list ap;
	if (!crm_verbose)
		return;
	va_start(ap, fmt);
	vwarn(NULL, fmt, ap);
	va_end(ap);
}

void
crm_die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void
crm_progress_enable(int force)
{
	if (force)
		progress_on = isatty(2) ? 1 : 2;
	else
		progress_on = isatty(2) ? 1 : 0;
	clock_gettime(CLOCK_MONOTONIC, &progress_start);
	progress_last = progress_start;
}

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

void
crm_progress(unsigned long done, const char *what)
{
	struct timespec now;
	double el;

	progress_done = done;
	progress_what = what;
	if (!progress_on || (done & 255))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&progress_last, &now) < (progress_on == 1 ? 0.25 : 5.0))
		return;
	progress_last = now;
	el = since(&progress_start, &now);
	if (progress_on == 1) {
		fprintf(stderr, "\r\033[K%s: %lu %s (%.0f/s)", crm_prog, done, what,
		    el > 0 ? done / el : 0.0);
		progress_drawn = 1;
	} else {
		fprintf(stderr, "%s: %lu %s (%.0f/s)\n", crm_prog, done, what,
		    el > 0 ? done / el : 0.0);
	}
}

void
crm_progress_end(void)
{
	struct timespec now;
	double el;

	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		progress_drawn = 0;
	}
	if (progress_on == 2 && progress_what) {
		/* forced into a file or pipe: a final line says where it ended */
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = since(&progress_start, &now);
		fprintf(stderr, "%s: %lu %s in %.1f s (%.0f/s)\n", crm_prog, progress_done,
		    progress_what, el, el > 0 ? progress_done / el : 0.0);
	}
}

static void *
oom(void)
{
	crm_die(CRM_EXIT_ENV, "out of memory");
}

void *
crm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *
crm_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	return p ? p : oom();
}

void *
crm_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	return p ? p : oom();
}

char *
crm_xstrdup(const char *s)
{
	char *p = strdup(s);
	return p ? p : oom();
}

char *
crm_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	return p ? p : oom();
}
