/* log.h — diagnostics and progress on stderr, in one shape:
 *   "crm-x: message"       (a trailing ':' in fmt appends strerror(errno))
 *   "crm-x: FILE:LINE: message" via crm_warn_at().
 * Nothing here allocates memory the caller must free. */
#ifndef CRM_LOG_H
#define CRM_LOG_H

#include <stdarg.h>
#include <stddef.h>

extern const char *crm_prog;     /* program name, set by crm_log_init() */
extern int crm_verbose;          /* -v count */

void crm_log_init(const char *argv0);
void crm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void crm_warn_at(const char *input, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void crm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void crm_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Progress: a self-overwriting line on a terminal, nothing in a pipe
 * unless forced (--progress), then one line every few seconds. */
void crm_progress_enable(int force);
void crm_progress(unsigned long done, const char *what);
void crm_progress_end(void);

/* Allocation that cannot fail (exits 3 on out-of-memory). */
void *crm_xmalloc(size_t n);
void *crm_xcalloc(size_t n, size_t m);
void *crm_xrealloc(void *p, size_t n);
char *crm_xstrdup(const char *s);
char *crm_xstrndup(const char *s, size_t n);

#endif
