/* secret.h — credentials encrypted at rest (DESIGN.md §5): AES-256-GCM
 * through OpenSSL EVP under a 256-bit key read from a 0600 key file.
 * Sealed blobs and opened plaintexts are malloc'd and owned by the caller:
 * free plaintexts with crm_secret_free() (wiped first); keys live in a
 * struct the caller wipes with crm_secret_key_wipe(). */
#ifndef CRM_SECRET_H
#define CRM_SECRET_H

#include <stddef.h>

#define CRM_SECRET_KEYLEN 32

struct crm_secret_key {
	unsigned char k[CRM_SECRET_KEYLEN];
	unsigned char id[4];     /* first bytes of SHA-256(key): names the key in blobs */
};

/* The key file in use: $CRM_SECRET_KEY_FILE (or "secret_key_file" in the
 * config file), else $CRM_HOME/secret.key, else
 * ~/.local/share/crm/secret.key.  Static buffer. */
const char *crm_secret_key_path(void);

/* Create a new random key file (64 hex digits and a newline), mode 0600,
 * parent directory made 0700 if missing; refuses to overwrite.
 * Returns 0, or -1 with a message in err. */
int crm_secret_keygen(const char *path, char *err, size_t errsz);

/* Load the key: the file must be a regular file owned by us (or root),
 * with no group or world permission bits, holding 64 hex digits or 32 raw
 * bytes.  Returns 0, or -1 with a message in err (never the key). */
int crm_secret_load_key(const char *path, struct crm_secret_key *key,
    char *err, size_t errsz);
void crm_secret_key_wipe(struct crm_secret_key *key);

/* Seal plaintext: returns a malloc'd blob
 *   0x01 | key id (4) | nonce (12) | ciphertext | tag (16)
 * with a fresh random nonce; the header and context (e.g. the account
 * address) are authenticated, so a blob cannot be moved to another
 * account.  Returns 0, or -1 (OpenSSL failure). */
int crm_secret_seal(const struct crm_secret_key *key, const char *context,
    const void *pt, size_t ptlen, unsigned char **blob, size_t *bloblen);

/* Open a blob: returns 0 and a malloc'd NUL-terminated plaintext, or -1
 * with a static reason in *why (unknown version, another key, tampered). */
int crm_secret_open(const struct crm_secret_key *key, const char *context,
    const unsigned char *blob, size_t bloblen, char **pt, size_t *ptlen,
    const char **why);

/* Wipe and free a plaintext (NULL is fine). */
void crm_secret_free(char *pt, size_t len);

/* Read one secret (first line, newline stripped) from a file descriptor,
 * a file, or — when both are absent and stdin is a terminal — a prompt
 * with echo off.  Returns a malloc'd string (crm_secret_free it), or NULL
 * with a message in err. */
char *crm_secret_read(int fd, const char *file, const char *prompt,
    char *err, size_t errsz);

#endif
