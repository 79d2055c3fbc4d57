/* lexicon.c — open-addressing hash table of folded terms (see lexicon.h).
 * Prefix terms are kept in the same table, flagged, and found by probing
 * each prefix length of the word that some prefix term has: lookups stay
 * a few hash probes per word, which the per-token loops need.  Most
 * words are turned away before any hashing: a small table gives, for
 * the first two bytes of the terms, the lengths of the terms and of the
 * prefix terms that begin with them; a word no term of its length (or
 * shorter prefix term) begins like is not hashed at all. */
#include "lexicon.h"
#include "exitcode.h"
#include "fold.h"
#include "hash.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A term: its bytes in the lexicon's arena (terms + off; off 0: a free
 * slot), and the high half of its hash, compared before the bytes are. */
struct slot {
	uint32_t tag;
	uint32_t off;
	uint16_t len;
	uint8_t prefix;
	double value;
};

/* The terms that begin with two given bytes (one for a one-byte term). */
struct lead {
	unsigned key;             /* lead_key() + 1; 0: a free entry */
	uint64_t exact;           /* bit k: a term of length k (63: 63 or more) */
	uint64_t prefix;          /* bit k: a prefix term of length k (2..63) */
};

struct crm_lexicon {
	struct slot *t;
	size_t cap, n, nprefix;
	char *terms;              /* every term's bytes, one after the other */
	size_t tlen, tcap;
	struct lead *lead;
	size_t lcap, nlead;
	unsigned char pre1[256];  /* a one-byte prefix term: every word beginning so */
	unsigned char bits[8192]; /* bitmap of the keys in lead, and of every key
	                             beginning with a pre1 byte: the first test */
	uint64_t filter[256];     /* crm_lexicon_filter() */
};

#define PLEN_MAX 64   /* longer prefix terms are exact terms */

static uint64_t
len_bit(size_t n)
{
	return n < 63 ? 1ULL << n : 1ULL << 63;
}

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
	lx->tcap = 256;
	lx->terms = crm_xmalloc(lx->tcap);
	lx->tlen = 1;   /* offset 0 marks a free slot */
	lx->lcap = 64;
	lx->lead = crm_xcalloc(lx->lcap, sizeof *lx->lead);
	return lx;
}

static struct lead *
lead_slot(const struct crm_lexicon *lx, unsigned key)
{
	size_t i = (size_t)(((uint64_t)(key + 1) * 0x9E3779B97F4A7C15ULL) >> 40) & (lx->lcap - 1);

	while (lx->lead[i].key && lx->lead[i].key != key + 1)
		i = (i + 1) & (lx->lcap - 1);
	return &lx->lead[i];
}

static void
add_lead(struct crm_lexicon *lx, const char *w, size_t n, int prefix)
{
	struct lead *l;

	if (prefix)
		lx->filter[(unsigned char)w[0]] |= ~0ULL << (n < 63 ? n : 63);
	else
		lx->filter[(unsigned char)w[0]] |= len_bit(n);
	if (prefix && n == 1) {
		lx->pre1[(unsigned char)w[0]] = 1;
		memset(lx->bits + (unsigned char)w[0] * 32, 0xFF, 32);
		return;
	}
	if ((lx->nlead + 1) * 2 > lx->lcap) {
		struct lead *old = lx->lead;
		size_t oc = lx->lcap;
		lx->lcap *= 2;
		lx->lead = crm_xcalloc(lx->lcap, sizeof *lx->lead);
		for (size_t i = 0; i < oc; i++)
			if (old[i].key)
				*lead_slot(lx, old[i].key - 1) = old[i];
		free(old);
	}
	unsigned k = lead_key(w, n);
	lx->bits[k >> 3] |= (unsigned char)(1u << (k & 7));
	l = lead_slot(lx, k);
	if (!l->key) {
		l->key = lead_key(w, n) + 1;
		lx->nlead++;
	}
	if (prefix)
		l->prefix |= 1ULL << n;
	else
		l->exact |= len_bit(n);
}

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

/* The slot of (w, n, prefix) whose hash is h, or the empty slot to fill. */
static struct slot *
find_h(const struct crm_lexicon *lx, const char *w, size_t n, int prefix, uint64_t h)
{
	size_t i = (size_t)(h ^ (uint64_t)prefix) & (lx->cap - 1);
	uint32_t tag = (uint32_t)(h >> 32);

	while (lx->t[i].off) {
		const struct slot *s = &lx->t[i];
		if (s->tag == tag && s->len == n && s->prefix == prefix &&
		    !memcmp(lx->terms + s->off, w, n))
			return &lx->t[i];
		i = (i + 1) & (lx->cap - 1);
	}
	return &lx->t[i];
}

static struct slot *
find(const struct crm_lexicon *lx, const char *w, size_t n, int prefix)
{
	return find_h(lx, w, n, prefix, crm_fnv1a(w, n));
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
			if (old[i].off)
				*find(lx, lx->terms + old[i].off, old[i].len, old[i].prefix) = old[i];
		free(old);
	}
	s = find(lx, w, n, prefix);
	if (s->off) {
		s->value = v;
		return;
	}
	if (lx->tlen + n > lx->tcap) {
		while (lx->tlen + n > lx->tcap)
			lx->tcap *= 2;
		lx->terms = crm_xrealloc(lx->terms, lx->tcap);
	}
	memcpy(lx->terms + lx->tlen, w, n);
	s->off = (uint32_t)lx->tlen;
	lx->tlen += n;
	s->tag = (uint32_t)(crm_fnv1a(w, n) >> 32);
	s->len = (uint16_t)n;
	s->prefix = (uint8_t)prefix;
	s->value = v;
	lx->n++;
	lx->nprefix += prefix != 0;
	add_lead(lx, w, n, prefix);
}

void
crm_lexicon_add(struct crm_lexicon *lx, const char *folded, double value)
{
	size_t n = strlen(folded);
	int prefix = n > 1 && folded[n - 1] == '*';

	if (prefix)
		n--;
	if (prefix && n >= PLEN_MAX)
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
		if (!t->off)
			continue;
		const char *term = one->terms + t->off;
		s = find(lx, term, t->len, t->prefix);
		put(lx, term, t->len, t->prefix, (double)((s->off ? (unsigned)s->value : 0) | flag));
	}
	crm_lexicon_free(one);
}

int
crm_lexicon_get(const struct crm_lexicon *lx, const char *w, size_t n, double *value)
{
	const unsigned char *u = (const unsigned char *)w;
	const struct slot *s, *hit = NULL, *phit = NULL;
	uint64_t h = FNV_OFFSET, eb, pm;

	if (!lx || !n)
		return 0;
	unsigned key = lead_key(w, n);
	if (!(lx->bits[key >> 3] & (1u << (key & 7))))
		return 0;
	const struct lead *l = lead_slot(lx, key);
	eb = l->exact & len_bit(n);
	pm = (l->prefix & (n < 63 ? (2ULL << n) - 1 : ~0ULL)) | (lx->pre1[u[0]] ? 2 : 0);
	if (!eb && !pm)
		return 0;
	if (eb) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ u[i]) * FNV_PRIME;
		s = find_h(lx, w, n, 0, h);
		if (s->off)
			hit = s;
	}
	/* prefix terms: the longest that begins the word */
	h = FNV_OFFSET;
	for (size_t k = 1; !hit && k <= n && k < PLEN_MAX && pm >> k; k++) {
		h = (h ^ u[k - 1]) * FNV_PRIME;
		if (pm >> k & 1 && (s = find_h(lx, w, k, 1, h))->off)
			phit = s;
	}
	if (!hit)
		hit = phit;
	if (!hit)
		return 0;
	if (value)
		*value = hit->value;
	return 1;
}

const uint64_t *
crm_lexicon_filter(const struct crm_lexicon *lx)
{
	return lx->filter;
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
	free(lx->terms);
	free(lx->t);
	free(lx->lead);
	free(lx);
}
