/* buf.h — a growable byte buffer, always NUL-terminated.
 * The buffer owns its memory: crm_buf_free() releases it, crm_buf_steal()
 * hands it to the caller (free() it). */
#ifndef CRM_BUF_H
#define CRM_BUF_H

#include <stddef.h>

struct crm_buf {
	char *s;
	size_t len, cap;
};

#define CRM_BUF_INIT { NULL, 0, 0 }

void crm_buf_grow(struct crm_buf *b, size_t extra);
void crm_buf_add(struct crm_buf *b, const void *p, size_t n);
void crm_buf_adds(struct crm_buf *b, const char *s);
static inline void
crm_buf_addc(struct crm_buf *b, char c)
{
	if (b->len + 2 > b->cap)
		crm_buf_grow(b, 1);
	b->s[b->len++] = c;
	b->s[b->len] = 0;
}
void crm_buf_printf(struct crm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void crm_buf_reset(struct crm_buf *b);
void crm_buf_free(struct crm_buf *b);
char *crm_buf_steal(struct crm_buf *b);
/* Drop trailing spaces, tabs and newlines. */
void crm_buf_rtrim(struct crm_buf *b);

/* The value of a hexadecimal digit (either case), or -1. */
static inline int
crm_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
