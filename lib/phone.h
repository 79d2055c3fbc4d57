/* phone.h — phone numbers through libphonenumber, as plain C: parse a
 * number written any usual way into E.164 with its type (mobile or fixed
 * line decided by the number itself), and find numbers in free text.
 * Nothing returned needs freeing: results go into caller buffers. */
#ifndef CRM_PHONE_H
#define CRM_PHONE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRM_PHONE_MAX 24        /* buffer for an E.164 string ("+" 15 digits NUL) */

enum crm_phone_type {
	CRM_PHONE_INVALID = 0,  /* not a valid number for its region */
	CRM_PHONE_FIXED,        /* fixed line */
	CRM_PHONE_MOBILE,
	CRM_PHONE_FIXED_OR_MOBILE,  /* the plan does not tell (US, CA, ...) */
	CRM_PHONE_TOLL_FREE,
	CRM_PHONE_VOIP,
	CRM_PHONE_OTHER,        /* premium, shared cost, pager, UAN, ... */
};

/* Parse text (len bytes; "+33 (0)1 23 45 67 89", "01.23.45.67.89",
 * "+44 20 7946 0958", "tel:+41...") with region (ISO 3166 alpha-2, e.g.
 * "FR"; NULL means "FR") for numbers written without a country code.
 * Writes E.164 into e164 and returns the type, or CRM_PHONE_INVALID
 * (e164 set to "") when the text is not a valid number. */
int crm_phone_parse(const char *text, size_t len, const char *region,
    char e164[CRM_PHONE_MAX]);

/* For text crm_phone_parse() finds invalid: when libphonenumber reads it
 * as a number of the right length for its region (IsPossibleNumber) that
 * is only missing from its metadata (a range opened after the metadata
 * was built, or one set aside for fiction such as the UK's 07700 900xxx),
 * writes E.164 into e164 and returns the type its length allows
 * (CRM_PHONE_MOBILE or CRM_PHONE_FIXED when only one fits, else
 * CRM_PHONE_OTHER); CRM_PHONE_INVALID when it is not even possible.
 * Callers give such numbers less weight than valid ones. */
int crm_phone_possible(const char *text, size_t len, const char *region,
    char e164[CRM_PHONE_MAX]);

/* "fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "voip",
 * "other", "invalid". */
const char *crm_phone_type_name(int type);

/* 1 when region is a two-letter region libphonenumber knows. */
int crm_phone_region_ok(const char *region);

/* The region ("FR", "GB", ...) of a valid E.164 number into region[3];
 * 0 on success, -1 when unknown. */
int crm_phone_region_of(const char *e164, char region[3]);

/* Find valid numbers in free UTF-8 text; calls cb for each with its byte
 * range [start, end), E.164 and type.  Returns the number found.  Slower
 * than crm_phone_parse (libphonenumber's matcher): use it on candidate
 * text, not on whole mailboxes line by line. */
typedef void (*crm_phone_cb)(size_t start, size_t end, const char *e164,
    int type, void *arg);
size_t crm_phone_find(const char *text, size_t len, const char *region,
    crm_phone_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif
