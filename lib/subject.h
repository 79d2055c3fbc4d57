/* subject.h — the subject of a message reduced to what its thread is about:
 * reply and forward prefixes (English, French, German, Nordic, ...), counters
 * such as "Re[2]:" and bracketed list tags (not ticket numbers) removed,
 * white space collapsed.
 * crm_subject_normalize() returns memory the caller frees; the key helpers
 * allocate nothing. */
#ifndef CRM_SUBJECT_H
#define CRM_SUBJECT_H

#include <stddef.h>
#include <stdint.h>

/* Flags set by crm_subject_normalize(). */
enum {
	CRM_SUBJECT_REPLY = 1,     /* a reply or forward prefix was removed */
	CRM_SUBJECT_TAG = 2,       /* a bracketed tag such as "[ILUG]" was removed */
};

/* Normalise the len bytes at s (UTF-8; invalid bytes are kept as they
 * are).  Returns a NUL-terminated malloc'd string, possibly empty; *flags
 * (may be NULL) receives CRM_SUBJECT_* bits. */
char *crm_subject_normalize(const char *s, size_t len, int *flags);

/* A 64-bit key of a normalised subject for grouping: equal for subjects
 * that differ only in letter case; 0 for the empty subject. */
uint64_t crm_subject_key(const char *norm);

/* 1 when two normalised subjects are equal ignoring letter case. */
int crm_subject_same(const char *a, const char *b);

#endif
