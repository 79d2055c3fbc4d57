/* buf.c — growable buffer (see buf.h).  Doubling growth keeps appends
 * amortised O(1); the NUL terminator is kept so s is always a C string. */
#include "buf.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
crm_buf_grow(struct crm_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->s = crm_xrealloc(b->s, cap);
	b->cap = cap;
}

void
crm_buf_add(struct crm_buf *b, const void *p, size_t n)
{
	crm_buf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void
crm_buf_adds(struct crm_buf *b, const char *s)
{
	crm_buf_add(b, s, strlen(s));
}

void
crm_buf_printf(struct crm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	crm_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
crm_buf_reset(struct crm_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

void
crm_buf_free(struct crm_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *
crm_buf_steal(struct crm_buf *b)
{
	char *s;

	if (!b->s)
		crm_buf_grow(b, 0), b->s[0] = 0;
	s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void
crm_buf_rtrim(struct crm_buf *b)
{
	while (b->len && (b->s[b->len - 1] == ' ' || b->s[b->len - 1] == '\t' ||
	    b->s[b->len - 1] == '\n' || b->s[b->len - 1] == '\r'))
		b->len--;
	if (b->s)
		b->s[b->len] = 0;
}
