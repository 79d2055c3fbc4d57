/* hash.h — SHA-256 (OpenSSL) as lowercase hex, and a fast 64-bit FNV-1a
 * for in-process caches.  Output buffers belong to the caller. */
#ifndef CRM_HASH_H
#define CRM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CRM_SHA256_HEX 65   /* 64 hex digits + NUL */

/* SHA-256 over the concatenation of n (pointer, length) parts. */
void crm_sha256_hex(char out[CRM_SHA256_HEX], size_t nparts,
    const void *const *parts, const size_t *lens);
uint64_t crm_fnv1a(const void *p, size_t n);

#endif
