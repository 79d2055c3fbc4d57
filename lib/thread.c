/* thread.c — JWZ threading over an index (see thread.h).
 *
 * Why it is built this way:
 * - Containers live in one array and point at each other by 32-bit index
 *   (parent, first/last child, next/previous sibling): compact, no pointer
 *   chasing through malloc'd nodes, and an unlink is O(1).  Strings (keys,
 *   Message-IDs, subjects) live in one arena addressed by offset.  Whole
 *   records are never kept: a message costs a container, a few offsets and
 *   its normalised subject.
 * - Step 1 runs as each message is added, so the References lists need not
 *   be stored.  A link is either declared by the message itself (its last
 *   reference) or presumed from another message's References; when a
 *   message's own parent would close a loop through presumed links, the
 *   presumed link gives way (JWZ drops the declared one instead, which
 *   splits threads whose References some client wrote out of order).  The loop check before a link walks up from the would-be
 *   parent (a forest has one path to the root), which is what JWZ's "search
 *   down the children" amounts to, and is O(1) when the child has no
 *   children — the common case when mail arrives in order.
 * - Every later step (pruning, subject grouping, ordering, depths) walks the
 *   forest with explicit stacks: a 50,000-message chain must not recurse.
 * - Thread ids must survive a re-run over more mail, so they are derived
 *   from the root alone: sha256 of its Message-ID (a missing parent's id
 *   for a dummy root; the record "id" for a root without Message-ID; the
 *   earliest member's Message-ID for a dummy made by subject grouping).
 *   For the same reason a dummy root is never pruned away (see prune()).
 * - Duplicate Message-IDs: the second message gets a container of its own
 *   that is not entered in the id table (JWZ); it keeps the Message-ID as
 *   its key, so a duplicate root has the same thread id as the original. */
#include "thread.h"
#include "exitcode.h"
#include "hash.h"
#include "jsonl.h"
#include "log.h"
#include "subject.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIL UINT32_MAX
#define NOSTR ((size_t)-1)

enum {
	C_REMOVED = 1,          /* pruned or merged away */
	C_SUBJECT = 2,          /* a dummy made by subject grouping */
	C_OWN = 4,              /* the parent link was declared by the message
	                         * itself (step C), not presumed (step B) */
};

struct cont {
	uint32_t parent, child, last, next, prev;
	uint32_t msg;           /* message number, NIL for a dummy */
	uint32_t h;             /* hash of key (id table) */
	uint32_t thr;           /* thread number, after run */
	uint32_t depth;
	uint32_t flags;
	size_t key;             /* offset of the thread-id key */
	size_t mid;             /* offset of the Message-ID, or NOSTR */
};

struct msg {
	uint32_t cont;
	int reply;
	int64_t date;
	size_t subj;            /* normalised subject */
	size_t show_subj, show_from;
};

struct thr {
	char id[CRM_SHA256_HEX];
	size_t mid, subj;
	uint32_t root;
};

struct crm_thread {
	int show, ran;
	struct cont *c;
	size_t nc, capc;
	struct msg *m;
	size_t nm, capm;
	struct thr *th;
	size_t nth;
	char *str;              /* the string arena */
	size_t nstr, capstr;
	uint32_t *slot;         /* Message-ID -> container (open addressing) */
	size_t nslot, used;
	/* during run */
	int64_t *bd;            /* earliest (date, message) of each subtree */
	uint32_t *bm;
};

/* ---- arena, containers, id table ---- */

static size_t
str_add(struct crm_thread *t, const char *s, size_t n)
{
	size_t off = t->nstr;

	if (t->nstr + n + 1 > t->capstr) {
		size_t cap = t->capstr ? t->capstr : 1 << 16;
		while (t->nstr + n + 1 > cap)
			cap *= 2;
		t->str = crm_xrealloc(t->str, cap);
		t->capstr = cap;
	}
	memcpy(t->str + off, s, n);
	t->str[off + n] = 0;
	t->nstr += n + 1;
	return off;
}

static const char *
S(const struct crm_thread *t, size_t off)
{
	return off == NOSTR ? NULL : t->str + off;
}

static uint32_t
cont_new(struct crm_thread *t, size_t key, size_t mid, uint32_t h)
{
	struct cont *c;

	if (t->nc == t->capc) {
		if (t->nc >= NIL - 1)
			crm_die(CRM_EXIT_ENV, "too many messages to thread");
		t->capc = t->capc ? t->capc * 2 : 1024;
		t->c = crm_xrealloc(t->c, t->capc * sizeof *t->c);
	}
	c = &t->c[t->nc];
	c->parent = c->child = c->last = c->next = c->prev = NIL;
	c->msg = NIL;
	c->h = h;
	c->thr = NIL;
	c->depth = 0;
	c->flags = 0;
	c->key = key;
	c->mid = mid;
	return (uint32_t)t->nc++;
}

static uint32_t
hash32(const char *s, size_t n)
{
	uint64_t h = crm_fnv1a(s, n);
	return (uint32_t)(h ^ (h >> 32));
}

static void
table_grow(struct crm_thread *t)
{
	size_t cap = t->nslot ? t->nslot * 2 : 1 << 12;
	uint32_t *s = crm_xmalloc(cap * sizeof *s);

	memset(s, 0xff, cap * sizeof *s);
	for (size_t i = 0; i < t->nslot; i++) {
		uint32_t ci = t->slot[i];
		if (ci == NIL)
			continue;
		size_t j = t->c[ci].h & (cap - 1);
		while (s[j] != NIL)
			j = (j + 1) & (cap - 1);
		s[j] = ci;
	}
	free(t->slot);
	t->slot = s;
	t->nslot = cap;
}

/* The container of Message-ID id; created (a dummy) when create is set
 * and none exists.  NIL when absent and not created. */
static uint32_t
lookup(struct crm_thread *t, const char *id, int create)
{
	size_t n = strlen(id), j;
	uint32_t h = hash32(id, n), ci;

	if (2 * (t->used + 1) > t->nslot)
		table_grow(t);
	for (j = h & (t->nslot - 1); (ci = t->slot[j]) != NIL; j = (j + 1) & (t->nslot - 1))
		if (t->c[ci].h == h && !strcmp(t->str + t->c[ci].key, id))
			return ci;
	if (!create)
		return NIL;
	size_t off = str_add(t, id, n);
	ci = cont_new(t, off, off, h);
	t->slot[j] = ci;
	t->used++;
	return ci;
}

/* ---- tree surgery ---- */

static void
unlink_cont(struct crm_thread *t, uint32_t x)
{
	struct cont *c = &t->c[x];
	uint32_t p = c->parent;

	if (p == NIL)
		return;
	if (c->prev != NIL)
		t->c[c->prev].next = c->next;
	else
		t->c[p].child = c->next;
	if (c->next != NIL)
		t->c[c->next].prev = c->prev;
	else
		t->c[p].last = c->prev;
	c->parent = c->next = c->prev = NIL;
}

static void
link_cont(struct crm_thread *t, uint32_t p, uint32_t x)
{
	struct cont *c = &t->c[x];

	unlink_cont(t, x);
	c->parent = p;
	c->prev = t->c[p].last;
	c->next = NIL;
	if (t->c[p].last != NIL)
		t->c[t->c[p].last].next = x;
	else
		t->c[p].child = x;
	t->c[p].last = x;
}

/* Would making x a child of p create a loop (x is p or an ancestor of p)? */
static int
would_loop(const struct crm_thread *t, uint32_t p, uint32_t x)
{
	if (t->c[x].child == NIL)
		return p == x;
	for (; p != NIL; p = t->c[p].parent)
		if (p == x)
			return 1;
	return 0;
}

/* x is an ancestor of p, which x's own message names as its parent: the
 * path between them holds links that other messages' References merely
 * presumed (some clients write References out of order).  Cut the presumed
 * link nearest to x so that the message's own word wins; 0 when every link
 * on the path was declared by its own message (a true loop: JWZ then
 * leaves x without parent). */
static int
cut_presumed(struct crm_thread *t, uint32_t p, uint32_t x)
{
	uint32_t cut = NIL;

	for (uint32_t y = p; y != x && y != NIL; y = t->c[y].parent)
		if (!(t->c[y].flags & C_OWN))
			cut = y;
	if (cut == NIL)
		return 0;
	unlink_cont(t, cut);
	return 1;
}

/* ---- step 1 ---- */

struct crm_thread *
crm_thread_new(int show)
{
	struct crm_thread *t = crm_xcalloc(1, sizeof *t);
	t->show = show;
	return t;
}

size_t
crm_thread_count(const struct crm_thread *t)
{
	return t->nm;
}

static size_t
str_or_nostr(struct crm_thread *t, const char *s)
{
	return s ? str_add(t, s, strlen(s)) : NOSTR;
}

size_t
crm_thread_add(struct crm_thread *t, const struct crm_thread_msg *m)
{
	uint32_t x, prev = NIL;
	size_t no = t->nm;
	struct msg *mm;

	if (t->ran)
		crm_die(CRM_EXIT_ENV, "internal error: crm_thread_add after crm_thread_run");
	if (t->nm == t->capm) {
		t->capm = t->capm ? t->capm * 2 : 1024;
		t->m = crm_xrealloc(t->m, t->capm * sizeof *t->m);
	}
	/* A: the message's container */
	if (m->message_id && *m->message_id) {
		x = lookup(t, m->message_id, 1);
		if (t->c[x].msg != NIL)     /* duplicate: a container of its own */
			x = cont_new(t, t->c[x].key, t->c[x].mid, 0);
	} else {
		const char *k = m->key ? m->key : "";
		x = cont_new(t, str_add(t, k, strlen(k)), NOSTR, 0);
	}
	t->c[x].msg = (uint32_t)no;
	/* B: link the References chain, never changing existing links */
	for (size_t i = 0; i < m->nparents; i++) {
		if (!m->parents[i] || !*m->parents[i])
			continue;
		uint32_t r = lookup(t, m->parents[i], 1);
		if (r == x)
			continue;           /* a self-reference */
		if (prev != NIL && t->c[r].parent == NIL && !would_loop(t, prev, r)) {
			link_cont(t, prev, r);
			t->c[r].flags &= ~C_OWN;
		}
		prev = r;
	}
	/* C: the last reference is the parent, overriding presumed links */
	if (prev != NIL && would_loop(t, prev, x) && !cut_presumed(t, prev, x))
		prev = NIL;
	if (t->c[x].parent != prev) {
		unlink_cont(t, x);
		if (prev != NIL)
			link_cont(t, prev, x);
	}
	t->c[x].flags |= C_OWN;
	mm = &t->m[t->nm++];
	mm->cont = x;
	mm->reply = m->reply;
	mm->date = m->date;
	mm->subj = str_add(t, m->subject ? m->subject : "", m->subject ? strlen(m->subject) : 0);
	mm->show_subj = t->show ? str_or_nostr(t, m->show_subject) : NOSTR;
	mm->show_from = t->show ? str_or_nostr(t, m->show_from) : NOSTR;
	return no;
}

/* ---- walking ---- */

/* Pre-order of the forest under the given roots (children in order). */
static uint32_t *
preorder(const struct crm_thread *t, const uint32_t *roots, size_t nroots,
    size_t *n)
{
	uint32_t *out = crm_xmalloc((t->nc + 1) * sizeof *out);
	uint32_t *stack = crm_xmalloc((t->nc + 1) * sizeof *stack);
	size_t no = 0, ns = 0;

	for (size_t i = nroots; i-- > 0;)
		stack[ns++] = roots[i];
	while (ns) {
		uint32_t x = stack[--ns];
		out[no++] = x;
		for (uint32_t ch = t->c[x].last; ch != NIL; ch = t->c[ch].prev)
			stack[ns++] = ch;
	}
	free(stack);
	*n = no;
	return out;
}

static uint32_t *
live_roots(const struct crm_thread *t, size_t *n)
{
	uint32_t *r = crm_xmalloc((t->nc + 1) * sizeof *r);
	size_t k = 0;

	for (size_t i = 0; i < t->nc; i++)
		if (t->c[i].parent == NIL && !(t->c[i].flags & C_REMOVED))
			r[k++] = (uint32_t)i;
	*n = k;
	return r;
}

/* ---- step 4: prune empty containers ---- */

static void
prune(struct crm_thread *t)
{
	size_t nroots, n;
	uint32_t *roots = live_roots(t, &nroots);
	uint32_t *order = preorder(t, roots, nroots, &n);

	for (size_t i = n; i-- > 0;) {          /* children before parents */
		uint32_t x = order[i], p = t->c[x].parent, ch;
		if (t->c[x].msg != NIL)
			continue;
		if (t->c[x].child == NIL) {
			unlink_cont(t, x);
			t->c[x].flags |= C_REMOVED;
		} else if (p != NIL) {
			while ((ch = t->c[x].child) != NIL)
				link_cont(t, p, ch);
			unlink_cont(t, x);
			t->c[x].flags |= C_REMOVED;
		}
		/* A dummy root stays, even with one child (JWZ would promote
		 * that child): the thread keeps the id of the message its
		 * replies name as their first reference, whether that message
		 * is in the input or not, so ids and depths do not change when
		 * it arrives later or when another mailbox holds it. */
	}
	free(order);
	free(roots);
}

/* ---- step 5: group the root set by subject ---- */

struct sroot {
	uint32_t c;
	int reply;
	uint64_t key;
	size_t subj;
	int64_t date;           /* the root's, or its earliest child's */
};

/* Subject of a root: its message's, or for a dummy its earliest child's. */
static void
root_subject(const struct crm_thread *t, uint32_t x, struct sroot *r)
{
	uint32_t best = NIL;

	r->c = x;
	if (t->c[x].msg == NIL) {
		for (uint32_t ch = t->c[x].child; ch != NIL; ch = t->c[ch].next) {
			uint32_t mi = t->c[ch].msg;
			if (mi == NIL)
				continue;
			if (best == NIL || t->m[mi].date < t->m[best].date ||
			    (t->m[mi].date == t->m[best].date && mi < best))
				best = mi;
		}
	} else {
		best = t->c[x].msg;
	}
	if (best == NIL) {
		r->key = 0;
		r->reply = 0;
		r->subj = NOSTR;
		return;
	}
	r->date = t->m[best].date;
	r->subj = t->m[best].subj;
	r->reply = t->m[best].reply;
	r->key = crm_subject_key(t->str + r->subj);
}

/* Should root a hold the subject table entry rather than b?  JWZ: a dummy
 * before a message, then a subject without "Re:"; and, so that the result
 * does not depend on the order of the input, then the earlier date, then
 * the smaller key. */
static int
better(const struct crm_thread *t, const struct sroot *a, const struct sroot *b)
{
	int adum = t->c[a->c].msg == NIL, bdum = t->c[b->c].msg == NIL;

	if (adum != bdum)
		return adum;
	if (!adum && a->reply != b->reply)
		return !a->reply;
	if (a->date != b->date)
		return a->date < b->date;
	return strcmp(t->str + t->c[a->c].key, t->str + t->c[b->c].key) < 0;
}

/* Merge root b into the group held by table entry *o (JWZ step 5B). */
static void
merge(struct crm_thread *t, struct sroot *rs, size_t *nrs, size_t *o, size_t b,
    enum crm_thread_subject mode)
{
	struct sroot *A = &rs[*o], *B = &rs[b];
	uint32_t a = A->c, bc = B->c, ch;
	int adum = t->c[a].msg == NIL, bdum = t->c[bc].msg == NIL;
	int strict = mode == CRM_THREAD_SUBJECT_REPLY;

	if (adum && bdum) {
		if (strict && !B->reply)
			return;
		while ((ch = t->c[bc].child) != NIL)
			link_cont(t, a, ch);
		t->c[bc].flags |= C_REMOVED;
	} else if (adum) {
		if (strict && !B->reply)
			return;
		link_cont(t, a, bc);
	} else if (bdum) {
		if (strict && !A->reply)
			return;
		link_cont(t, bc, a);
		*o = b;
	} else if (!A->reply && B->reply) {
		link_cont(t, a, bc);
	} else if (A->reply && !B->reply) {
		link_cont(t, bc, a);
		*o = b;
	} else {
		if (strict && !(A->reply && B->reply))
			return;
		uint32_t d = cont_new(t, NOSTR, NOSTR, 0);
		t->c[d].flags = C_SUBJECT;
		link_cont(t, d, a);
		link_cont(t, d, bc);
		rs[*nrs] = *A;          /* room was made for one per root */
		rs[*nrs].c = d;
		*o = (*nrs)++;
	}
}

static void
group_subjects(struct crm_thread *t, enum crm_thread_subject mode)
{
	size_t nroots, nrs, n0, cap, i;
	uint32_t *roots = live_roots(t, &nroots);
	struct sroot *rs = crm_xmalloc((2 * nroots + 1) * sizeof *rs);
	size_t *tab;

	for (i = 0; i < nroots; i++)
		root_subject(t, roots[i], &rs[i]);
	free(roots);
	n0 = nrs = nroots;
	for (cap = 16; cap < 2 * nroots + 2; cap *= 2)
		;
	tab = crm_xmalloc(cap * sizeof *tab);
	memset(tab, 0xff, cap * sizeof *tab);
	/* fill: one entry per subject, the best root by better() */
	for (i = 0; i < n0; i++) {
		size_t j;
		if (!rs[i].key)
			continue;
		for (j = rs[i].key & (cap - 1); tab[j] != (size_t)-1; j = (j + 1) & (cap - 1))
			if (rs[tab[j]].key == rs[i].key)
				break;
		if (tab[j] == (size_t)-1) {
			tab[j] = i;
			continue;
		}
		if (better(t, &rs[i], &rs[tab[j]]))
			tab[j] = i;
	}
	/* merge every other root into its table entry */
	for (i = 0; i < n0; i++) {
		size_t j;
		uint32_t x = rs[i].c;
		if (!rs[i].key || t->c[x].parent != NIL || (t->c[x].flags & C_REMOVED))
			continue;       /* no subject, or already gathered */
		for (j = rs[i].key & (cap - 1); rs[tab[j]].key != rs[i].key; j = (j + 1) & (cap - 1))
			;
		if (tab[j] == i || !crm_subject_same(t->str + rs[tab[j]].subj,
		    t->str + rs[i].subj))
			continue;
		merge(t, rs, &nrs, &tab[j], i, mode);
	}
	free(tab);
	free(rs);
}

/* ---- steps 6-7: order, thread numbers, depths ---- */

static int
cmp_best(const void *a, const void *b, void *arg)
{
	const struct crm_thread *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (t->bd[x] != t->bd[y])
		return t->bd[x] < t->bd[y] ? -1 : 1;
	return t->bm[x] < t->bm[y] ? -1 : t->bm[x] > t->bm[y];
}

static void
sort_children(struct crm_thread *t, uint32_t x, uint32_t **tmp, size_t *cap)
{
	size_t n = 0;
	uint32_t ch;

	for (ch = t->c[x].child; ch != NIL; ch = t->c[ch].next) {
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*tmp = crm_xrealloc(*tmp, *cap * sizeof **tmp);
		}
		(*tmp)[n++] = ch;
	}
	if (n < 2)
		return;
	qsort_r(*tmp, n, sizeof **tmp, cmp_best, t);
	t->c[x].child = (*tmp)[0];
	t->c[x].last = (*tmp)[n - 1];
	for (size_t i = 0; i < n; i++) {
		t->c[(*tmp)[i]].prev = i ? (*tmp)[i - 1] : NIL;
		t->c[(*tmp)[i]].next = i + 1 < n ? (*tmp)[i + 1] : NIL;
	}
}

static void
order_and_number(struct crm_thread *t)
{
	size_t nroots, n, cap = 0;
	uint32_t *roots = live_roots(t, &nroots);
	uint32_t *order = preorder(t, roots, nroots, &n), *tmp = NULL;

	t->bd = crm_xmalloc((t->nc + 1) * sizeof *t->bd);
	t->bm = crm_xmalloc((t->nc + 1) * sizeof *t->bm);
	for (size_t i = n; i-- > 0;) {
		uint32_t x = order[i], mi = t->c[x].msg;
		t->bd[x] = mi != NIL ? t->m[mi].date : CRM_THREAD_NODATE;
		t->bm[x] = mi;
		for (uint32_t ch = t->c[x].child; ch != NIL; ch = t->c[ch].next)
			if (t->bd[ch] < t->bd[x] || (t->bd[ch] == t->bd[x] && t->bm[ch] < t->bm[x])) {
				t->bd[x] = t->bd[ch];
				t->bm[x] = t->bm[ch];
			}
		sort_children(t, x, &tmp, &cap);
		if (t->c[x].flags & C_SUBJECT) {      /* named after its earliest member */
			t->c[x].key = t->c[t->c[x].child].key;
			t->c[x].mid = t->c[t->c[x].child].mid;
		}
	}
	free(tmp);
	qsort_r(roots, nroots, sizeof *roots, cmp_best, t);
	free(order);

	/* threads in order of their first message; depths in pre-order */
	t->th = crm_xcalloc(nroots + 1, sizeof *t->th);
	t->nth = nroots;
	order = preorder(t, roots, nroots, &n);
	uint32_t k = 0, next = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = order[i], p = t->c[x].parent;
		if (p == NIL) {
			k = next++;
			struct thr *th = &t->th[k];
			const char *key = t->str + t->c[x].key;
			size_t kl = strlen(key);
			const void *parts[1] = { key };
			crm_sha256_hex(th->id, 1, parts, &kl);
			th->mid = t->c[x].mid;
			th->subj = NOSTR;
			th->root = x;
			t->c[x].depth = 0;
		} else {
			t->c[x].depth = t->c[p].depth + 1;
		}
		t->c[x].thr = k;
		uint32_t mi = t->c[x].msg;
		if (mi != NIL && t->th[k].subj == NOSTR && t->str[t->m[mi].subj])
			t->th[k].subj = t->m[mi].subj;
	}
	free(order);
	free(roots);
	free(t->bd);
	free(t->bm);
	t->bd = NULL;
	t->bm = NULL;
}

void
crm_thread_run(struct crm_thread *t, enum crm_thread_subject mode)
{
	if (t->ran)
		return;
	t->ran = 1;
	free(t->slot);          /* step 3: the id table is no longer needed */
	t->slot = NULL;
	t->nslot = t->used = 0;
	prune(t);
	if (mode != CRM_THREAD_SUBJECT_NONE)
		group_subjects(t, mode);
	order_and_number(t);
}

void
crm_thread_info(const struct crm_thread *t, size_t msg, struct crm_thread_info *out)
{
	const struct cont *c = &t->c[t->m[msg].cont];
	const struct thr *th = &t->th[c->thr];

	out->id = th->id;
	out->root_message_id = S(t, th->mid);
	out->depth = c->depth;
	out->subject = th->subj == NOSTR ? "" : t->str + th->subj;
}

#define NEWKEY (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)

json_object *
crm_thread_json(const struct crm_thread *t, size_t msg)
{
	struct crm_thread_info in;
	json_object *o = json_object_new_object();

	crm_thread_info(t, msg, &in);
	/* called once per record: literal keys, known to be new */
	json_object_object_add_ex(o, "id", json_object_new_string_len(in.id, 64), NEWKEY);
	json_object_object_add_ex(o, "root_message_id",
	    in.root_message_id ? json_object_new_string(in.root_message_id) : NULL, NEWKEY);
	json_object_object_add_ex(o, "depth", json_object_new_int64((int64_t)in.depth), NEWKEY);
	json_object_object_add_ex(o, "subject", json_object_new_string(in.subject), NEWKEY);
	return o;
}

/* ---- the indented view ---- */

#define MAXINDENT 32    /* deeper lines are marked "[depth] " instead */

/* Write s with control characters (C0, DEL, C1) shown as spaces. */
static void
put_clean(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			putc(' ', f);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putc(' ', f);
			p++;
		} else
			putc(*p, f);
	}
}

static void
put_date(FILE *f, int64_t d)
{
	struct tm tm;
	time_t tt = (time_t)d;
	char buf[32];

	if (d == CRM_THREAD_NODATE || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm))
		fputs("no date", f);
	else
		fputs(buf, f);
}

int
crm_thread_print(const struct crm_thread *t, FILE *f)
{
	size_t n;
	uint32_t *roots = crm_xmalloc((t->nth + 1) * sizeof *roots);

	for (size_t k = 0; k < t->nth; k++)
		roots[k] = t->th[k].root;
	uint32_t *order = preorder(t, roots, t->nth, &n);
	for (size_t i = 0; i < n; i++) {
		const struct cont *c = &t->c[order[i]];
		for (uint32_t d = 0; d < c->depth && d < MAXINDENT; d++)
			fputs("  ", f);
		if (c->depth > MAXINDENT)
			fprintf(f, "[%lu] ", (unsigned long)c->depth);
		if (c->msg != NIL) {
			const struct msg *m = &t->m[c->msg];
			const char *s = S(t, m->show_subj), *fr = S(t, m->show_from);
			put_clean(f, s && *s ? s : "(no subject)");
			fputs("  (", f);
			put_clean(f, fr && *fr ? fr : "unknown sender");
			fputs(", ", f);
			put_date(f, m->date);
			fputs(")\n", f);
		} else if (c->flags & C_SUBJECT) {
			const struct thr *th = &t->th[c->thr];
			fputs("* ", f);
			put_clean(f, th->subj != NOSTR ? t->str + th->subj : "");
			fputs("  (grouped by subject)\n", f);
		} else {
			putc('<', f);
			put_clean(f, t->str + c->mid);
			fputs(">  (not in the input)\n", f);
		}
	}
	free(order);
	free(roots);
	return ferror(f) ? -1 : 0;
}

void
crm_thread_free(struct crm_thread *t)
{
	if (!t)
		return;
	free(t->c);
	free(t->m);
	free(t->th);
	free(t->str);
	free(t->slot);
	free(t);
}

/* ---- records to index entries ---- */

static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
crm_thread_parse_date(const char *s)
{
	int Y, M, D, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
	    !digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    !digits(s + 17, 2, &sec) || M < 1 || M > 12 || D < 1 || D > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return CRM_THREAD_NODATE;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh))
			return CRM_THREAD_NODATE;
		p += 3;
		if (*p == ':')
			p++;
		if (!digits(p, 2, &om))
			return CRM_THREAD_NODATE;
		p += 2;
	} else if (*p == 'Z') {
		p++;
	}
	if (*p)
		return CRM_THREAD_NODATE;
	return days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
}

/* A Message-ID as stored: surrounding white space and one pair of angle
 * brackets removed. */
static const char *
clean_id(const char *s, size_t *n)
{
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n", *s)) {
		s++;
		len--;
	}
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	*n = len;
	return s;
}

static void
put_u32(struct crm_buf *b, uint32_t v)
{
	crm_buf_add(b, &v, sizeof v);
}

static void
put_str(struct crm_buf *b, const char *s, size_t n)
{
	crm_buf_add(b, s, n);
	crm_buf_addc(b, 0);
}

/* Kind check of an optional key: absent/null -> 0, wrong type -> -1. */
static int
opt_str(json_object *rec, const char *k, const char **v)
{
	json_object *o = crm_get(rec, k);
	*v = NULL;
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_string))
		return -1;
	*v = json_object_get_string(o);
	return 0;
}

static void
show_from(json_object *rec, struct crm_buf *b)
{
	json_object *f = crm_get(rec, "from");
	const char *name = crm_get_str(f, "name"), *email = crm_get_str(f, "email");

	if (json_object_is_type(f, json_type_string))
		crm_buf_adds(b, json_object_get_string(f));
	else if (name && *name && email && *email)
		crm_buf_printf(b, "%s <%s>", name, email);
	else if (email && *email)
		crm_buf_adds(b, email);
	else if (name)
		crm_buf_adds(b, name);
	crm_buf_addc(b, 0);
}

/* Packed layout: date (int64), reply (u32), nparents (u32), then NUL-
 * terminated strings: Message-ID, key, subject, parents..., and with show
 * the subject as written and the sender.  JSON strings may hold "\u0000";
 * ids and subjects are cut at the first NUL, as C strings. */
int
crm_thread_pack(json_object *rec, const char *line, size_t len, int show,
    struct crm_buf *out, const char **why)
{
	const char *mid, *irt, *subj, *rid, *date, *last = NULL, *id;
	json_object *refs = crm_get(rec, "references");
	size_t n, nrefs = 0, lastn = 0, at_count;
	uint32_t np = 0;
	int flags = 0;
	char *norm;
	int64_t d;

	if (opt_str(rec, "message_id", &mid) < 0) {
		*why = "\"message_id\" is not a string";
		return -1;
	}
	if (opt_str(rec, "in_reply_to", &irt) < 0) {
		*why = "\"in_reply_to\" is not a string";
		return -1;
	}
	if (opt_str(rec, "subject", &subj) < 0) {
		*why = "\"subject\" is not a string";
		return -1;
	}
	if (refs) {
		if (!json_object_is_type(refs, json_type_array)) {
			*why = "\"references\" is not an array of strings";
			return -1;
		}
		nrefs = json_object_array_length(refs);
		for (size_t i = 0; i < nrefs; i++)
			if (!json_object_is_type(json_object_array_get_idx(refs, i),
			    json_type_string)) {
				*why = "\"references\" is not an array of strings";
				return -1;
			}
	}
	opt_str(rec, "date", &date);
	d = crm_thread_parse_date(date);
	crm_buf_add(out, &d, sizeof d);
	at_count = out->len;
	put_u32(out, 0);            /* reply, set below */
	put_u32(out, 0);            /* nparents, set below */
	if (mid) {
		id = clean_id(mid, &n);
		put_str(out, id, strnlen(id, n));
	} else {
		put_str(out, "", 0);
	}
	if (opt_str(rec, "id", &rid) == 0 && rid && *rid) {
		put_str(out, rid, strlen(rid));
	} else {
		char hex[CRM_SHA256_HEX];
		const void *parts[1] = { line };
		crm_sha256_hex(hex, 1, parts, &len);
		put_str(out, hex, strlen(hex));
	}
	norm = crm_subject_normalize(subj ? subj : "", subj ? strlen(subj) : 0, &flags);
	put_str(out, norm, strlen(norm));
	free(norm);
	for (size_t i = 0; i < nrefs; i++) {
		id = clean_id(json_object_get_string(json_object_array_get_idx(refs, i)), &n);
		n = strnlen(id, n);
		if (!n)
			continue;
		put_str(out, id, n);
		last = id;
		lastn = n;
		np++;
	}
	if (irt) {
		id = clean_id(irt, &n);
		n = strnlen(id, n);
		if (n && !(last && lastn == n && !memcmp(last, id, n))) {
			put_str(out, id, n);
			np++;
		}
	}
	if (show) {
		put_str(out, subj ? subj : "", subj ? strlen(subj) : 0);
		show_from(rec, out);
	}
	uint32_t reply = (flags & CRM_SUBJECT_REPLY) != 0;
	memcpy(out->s + at_count, &reply, sizeof reply);
	memcpy(out->s + at_count + 4, &np, sizeof np);
	return 0;
}

size_t
crm_thread_add_packed(struct crm_thread *t, const char *p, size_t n)
{
	struct crm_thread_msg m = { 0 };
	const char *end = p + n, *small[16], **par = small;
	uint32_t reply, np;
	size_t no;

	memcpy(&m.date, p, sizeof m.date);
	p += sizeof m.date;
	memcpy(&reply, p, 4);
	memcpy(&np, p + 4, 4);
	p += 8;
	m.reply = (int)reply;
	m.message_id = p;
	p += strlen(p) + 1;
	m.key = p;
	p += strlen(p) + 1;
	m.subject = p;
	p += strlen(p) + 1;
	if (np > 16)
		par = crm_xmalloc(np * sizeof *par);
	for (uint32_t i = 0; i < np && p < end; i++) {
		par[i] = p;
		p += strlen(p) + 1;
	}
	m.parents = par;
	m.nparents = np;
	if (t->show && p < end) {
		m.show_subject = p;
		p += strlen(p) + 1;
		m.show_from = p < end ? p : NULL;
	}
	no = crm_thread_add(t, &m);
	if (par != small)
		free(par);
	return no;
}
