/* hash.c — SHA-256 through OpenSSL's EVP interface (see hash.h).
 * The digest and its context are kept for the life of the process (one
 * per program; not thread-safe — callers hash from one thread). */
#include "hash.h"
#include "exitcode.h"
#include "log.h"

#include <openssl/evp.h>

void
crm_sha256_hex(char out[CRM_SHA256_HEX], size_t nparts,
    const void *const *parts, const size_t *lens)
{
	static const char hex[] = "0123456789abcdef";
	static EVP_MD *sha256;      /* fetched once: implicit fetches cost */
	static EVP_MD_CTX *c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!sha256 && !(sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)))
		crm_die(CRM_EXIT_ENV, "OpenSSL: SHA-256 not available");
	if (!c && !(c = EVP_MD_CTX_new()))
		crm_die(CRM_EXIT_ENV, "out of memory");
	if (!EVP_DigestInit_ex(c, sha256, NULL))
		crm_die(CRM_EXIT_ENV, "OpenSSL: cannot initialise SHA-256");
	for (size_t k = 0; k < nparts; k++)
		EVP_DigestUpdate(c, parts[k], lens[k]);
	EVP_DigestFinal_ex(c, md, &mdlen);
	for (i = 0; i < mdlen && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * i] = 0;
}

uint64_t
crm_fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}
