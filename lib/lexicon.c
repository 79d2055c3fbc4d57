/* lexicon.c — open-addressing hash table of folded terms (see lexicon.h).
 * Prefix terms are kept in the same table, flagged, and found by probing
 * each prefix length of the word that some prefix term has: lookups stay
 * a few hash probes per word, which the per-token loops need. */
#include "lexicon.h"
#include "exitcode.h"
#include "fold.h"
#include "hash.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	char *term;
	size_t len;
	double value;
	int prefix;
};

struct crm_lexicon {
	struct slot *t;
	size_t cap, n;
	unsigned char plen[64];   /* prefix lengths in use (< 64) */
	unsigned char lead[8192]; /* bitmap of the first two bytes of every term */
};

static unsigned
lead_key(const char *w, size_t n)
{
	return ((unsigned)(unsigned char)w[0] << 8) | (n > 1 ? (unsigned char)w[1] : 0);
}

struct crm_lexicon *
crm_lexicon_new(void)
{
	struct crm_lexicon *lx = crm_xcalloc(1, sizeof *lx);
	lx->cap = 64;
	lx->t = crm_xcalloc(lx->cap, sizeof *lx->t);
	return lx;
}

static struct slot *
find(const struct crm_lexicon *lx, const char *w, size_t n, int prefix)
{
	size_t i = (size_t)(crm_fnv1a(w, n) ^ (uint64_t)prefix) & (lx->cap - 1);

	while (lx->t[i].term) {
		if (lx->t[i].len == n && lx->t[i].prefix == prefix && !memcmp(lx->t[i].term, w, n))
			return &lx->t[i];
		i = (i + 1) & (lx->cap - 1);
	}
	return &lx->t[i];
}

static void
put(struct crm_lexicon *lx, const char *w, size_t n, int prefix, double v)
{
	struct slot *s;

	if ((lx->n + 1) * 2 > lx->cap) {
		struct slot *old = lx->t;
		size_t oc = lx->cap;
		lx->cap *= 2;
		lx->t = crm_xcalloc(lx->cap, sizeof *lx->t);
		for (size_t i = 0; i < oc; i++)
			if (old[i].term)
				*find(lx, old[i].term, old[i].len, old[i].prefix) = old[i];
		free(old);
	}
	s = find(lx, w, n, prefix);
	if (s->term) {
		s->value = v;
		return;
	}
	s->term = crm_xstrndup(w, n);
	unsigned k = lead_key(w, n);
	lx->lead[k >> 3] |= (unsigned char)(1u << (k & 7));
	if (n == 1)   /* a one-byte term leads every word that starts with it */
		for (unsigned c = 0; c < 256; c++)
			lx->lead[(k | c) >> 3] |= (unsigned char)(1u << ((k | c) & 7));
	s->len = n;
	s->prefix = prefix;
	s->value = v;
	lx->n++;
	if (prefix && n < sizeof lx->plen)
		lx->plen[n] = 1;
}

void
crm_lexicon_add(struct crm_lexicon *lx, const char *folded, double value)
{
	size_t n = strlen(folded);
	int prefix = n > 1 && folded[n - 1] == '*';

	if (prefix)
		n--;
	if (prefix && n >= sizeof lx->plen)
		prefix = 0;
	put(lx, folded, n, prefix, value);
}

struct crm_lexicon *
crm_lexicon_load(const char *path)
{
	FILE *f = fopen(path, "r");
	struct crm_lexicon *lx;
	char *line = NULL, word[256];
	size_t cap = 0;
	long lineno = 0;
	ssize_t len;

	if (!f)
		crm_die(CRM_EXIT_USAGE, "%s:", path);
	lx = crm_lexicon_new();
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *s = line;
		while (*s == ' ')
			s++;
		if (!*s || *s == '#')
			continue;
		double v = 1;
		char *tab = strchr(s, '\t');
		if (tab) {
			char *end;
			*tab = 0;
			errno = 0;
			v = strtod(tab + 1, &end);
			if (errno || end == tab + 1 || *end)
				crm_die(CRM_EXIT_USAGE, "%s:%ld: value is not a number: '%s'", path, lineno, tab + 1);
		}
		size_t n = strlen(s);
		while (n && s[n - 1] == ' ')
			s[--n] = 0;
		if (!crm_fold_word(word, sizeof word, s, n))
			crm_die(CRM_EXIT_USAGE, "%s:%ld: empty or overlong term", path, lineno);
		crm_lexicon_add(lx, word, v);
	}
	free(line);
	if (ferror(f))
		crm_die(CRM_EXIT_USAGE, "%s: read error", path);
	fclose(f);
	return lx;
}

void
crm_lexicon_merge(struct crm_lexicon *lx, const char *path, unsigned flag)
{
	struct crm_lexicon *one = crm_lexicon_load(path);

	for (size_t i = 0; i < one->cap; i++) {
		struct slot *t = &one->t[i], *s;
		if (!t->term)
			continue;
		s = find(lx, t->term, t->len, t->prefix);
		put(lx, t->term, t->len, t->prefix,
		    (double)((s->term ? (unsigned)s->value : 0) | flag));
	}
	crm_lexicon_free(one);
}

int
crm_lexicon_get(const struct crm_lexicon *lx, const char *w, size_t n, double *value)
{
	struct slot *s;

	if (!lx || !n)
		return 0;
	unsigned key = lead_key(w, n);
	if (!(lx->lead[key >> 3] & (1u << (key & 7))))
		return 0;
	s = find(lx, w, n, 0);
	if (s->term) {
		if (value)
			*value = s->value;
		return 1;
	}
	for (size_t k = n < sizeof lx->plen ? n : sizeof lx->plen - 1; k > 0; k--) {
		if (!lx->plen[k])
			continue;
		s = find(lx, w, k, 1);
		if (s->term) {
			if (value)
				*value = s->value;
			return 1;
		}
	}
	return 0;
}

size_t
crm_lexicon_size(const struct crm_lexicon *lx)
{
	return lx ? lx->n : 0;
}

void
crm_lexicon_free(struct crm_lexicon *lx)
{
	if (!lx)
		return;
	for (size_t i = 0; i < lx->cap; i++)
		free(lx->t[i].term);
	free(lx->t);
	free(lx);
}
