/* tabular.c — plain-text tables (see tabular.h).  Widths are counted in
 * characters (UTF-8 lead bytes), which is right for the Latin text of a
 * CRM; wide CJK characters would misalign but never break the output.
 * Control characters in cells print as spaces so one cell is one line. */
#include "tabular.h"
#include "buf.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct crm_table {
	int ncols, maxw;
	char **names;
	int *right, *width;
	char **cells;               /* nrows * ncols */
	size_t nrows, cap;
};

static int
chars(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The byte length of the first w characters of s. */
static size_t
prefix_bytes(const char *s, int w)
{
	size_t i = 0;

	for (int n = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == w)
			break;
	}
	return i;
}

struct crm_table *
crm_table_new(int ncols, const char *const *names, int maxw)
{
	struct crm_table *t = crm_xcalloc(1, sizeof *t);

	t->ncols = ncols;
	t->maxw = maxw > 3 ? maxw : 40;
	t->names = crm_xcalloc((size_t)ncols, sizeof *t->names);
	t->right = crm_xcalloc((size_t)ncols, sizeof *t->right);
	t->width = crm_xcalloc((size_t)ncols, sizeof *t->width);
	for (int i = 0; i < ncols; i++) {
		t->right[i] = names[i][0] == '>';
		t->names[i] = crm_xstrdup(names[i] + t->right[i]);
		t->width[i] = chars(t->names[i]);
	}
	return t;
}

void
crm_table_row(struct crm_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = crm_xrealloc(t->cells, t->cap * (size_t)t->ncols * sizeof *t->cells);
	}
	for (int i = 0; i < t->ncols; i++) {
		char *c = crm_xstrdup(cells[i] ? cells[i] : "");
		for (char *p = c; *p; p++)
			if ((unsigned char)*p < ' ')
				*p = ' ';
		if (chars(c) > t->maxw) {
			size_t b = prefix_bytes(c, t->maxw - 3);
			memcpy(c + b, "...", 4);
		}
		int w = chars(c);
		if (w > t->width[i])
			t->width[i] = w;
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = c;
	}
	t->nrows++;
}

static void
cell(struct crm_buf *b, const char *s, int width, int right)
{
	int pad = width - chars(s);

	if (right)
		crm_buf_printf(b, "%*s%s", pad, "", s);
	else
		crm_buf_printf(b, "%s%*s", s, pad, "");
}

/* One line: cells two spaces apart, no blanks at the end. */
static void
line(struct crm_table *t, char **cells, FILE *f)
{
	struct crm_buf b = CRM_BUF_INIT;

	for (int i = 0; i < t->ncols; i++) {
		if (i)
			crm_buf_adds(&b, "  ");
		cell(&b, cells[i], t->width[i], t->right[i]);
	}
	crm_buf_rtrim(&b);
	fprintf(f, "%s\n", b.s ? b.s : "");
	crm_buf_free(&b);
}

void
crm_table_print(struct crm_table *t, FILE *f)
{
	line(t, t->names, f);
	for (size_t r = 0; r < t->nrows; r++)
		line(t, t->cells + r * (size_t)t->ncols, f);
}

void
crm_table_free(struct crm_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	for (int i = 0; i < t->ncols; i++)
		free(t->names[i]);
	free(t->cells);
	free(t->names);
	free(t->right);
	free(t->width);
	free(t);
}

const char *
crm_table_cell(json_object *v)
{
	static struct crm_buf b;

	if (!v)
		return "";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	crm_buf_reset(&b);
	crm_buf_adds(&b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	return b.s;
}
