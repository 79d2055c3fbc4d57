/* wrules.h — weighted pattern rules (lib/rules/intent/NAME.rules): PCRE2
 * patterns over folded text (fold.h), each giving a weight to a label.
 * The rules are found word by word through a trie of the literal text
 * they can begin with (wrules.c says how); the few that begin with no
 * literal text are one JIT-compiled alternation.  The rule set owns its
 * memory (crm_wrules_free); match ids index crm_wrules_rule(). */
#ifndef CRM_WRULES_H
#define CRM_WRULES_H

#include <stddef.h>

enum { CRM_WR_BODY = 1, CRM_WR_SUBJECT = 2 };
#define CRM_WR_NEUTRAL (-1)   /* label "none": matches, scores nothing */
#define CRM_WR_DROP (-2)      /* neg=-: a negated match scores nothing */

struct crm_wrule {
	const char *id, *pattern, *file;
	long line;
	int label;        /* index into the labels, or CRM_WR_NEUTRAL */
	int neg;          /* label credited when negated, CRM_WR_DROP, or the label itself */
	double weight;
	unsigned scope;
	int each;         /* times the rule may count in one message (default 1) */
};

/* One match found by crm_wrules_scan(). */
struct crm_wmatch {
	int rule;
	size_t start, end;
	int negated;
};

struct crm_wrules;

/* labels: NULL-terminated, the names a rule may give (plus "none"). */
struct crm_wrules *crm_wrules_new(const char *const *labels);
/* Read a rules file; any error is fatal (exit 2) and names file:line.
 * Later definitions of an id replace earlier ones ("weight ID W" reweights,
 * 0 disables). */
void crm_wrules_load(struct crm_wrules *w, const char *path);
/* Compile (after the last load). */
void crm_wrules_compile(struct crm_wrules *w);
size_t crm_wrules_count(const struct crm_wrules *w);
const struct crm_wrule *crm_wrules_rule(const struct crm_wrules *w, int i);
/* Find the non-overlapping matches of the scope's rules in folded text;
 * fills up to max matches, returns how many were found. */
size_t crm_wrules_scan(const struct crm_wrules *w, unsigned scope, const char *text,
    size_t n, struct crm_wmatch *m, size_t max);
void crm_wrules_free(struct crm_wrules *w);

#endif
