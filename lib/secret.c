/* secret.c — AES-256-GCM sealing of credentials (see secret.h).
 *
 * Why this shape: GCM gives confidentiality and integrity in one pass and
 * is what OpenSSL's EVP does best; a 96-bit random nonce per message is
 * safe for the handful of blobs an installation writes.  The blob carries
 * a version byte (so the format can change) and a 4-byte key id (so "this
 * was sealed under another key" is a clear message, not a tag failure).
 * The version, key id, nonce and a caller context (the account address)
 * are additional authenticated data.  The key file is checked like ssh
 * checks private keys: refused when group or world could read it.
 * Secrets never pass through argv or the log: the reader below takes a
 * descriptor, a file or a terminal prompt. */
#include "secret.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define VERSION 0x01
#define NONCE 12
#define TAG 16
#define HDR (1 + 4 + NONCE)
#define MAX_SECRET (64 * 1024)

const char *
crm_secret_key_path(void)
{
	static char path[PATH_MAX];
	const char *v = crm_config_get("secret_key_file");
	const char *home = getenv("CRM_HOME");

	if (v && *v)
		snprintf(path, sizeof path, "%s", v);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/secret.key", home);
	else {
		home = getenv("HOME");
		snprintf(path, sizeof path, "%s/.local/share/crm/secret.key",
		    home && *home ? home : ".");
	}
	return path;
}

static void
key_id(struct crm_secret_key *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(key->k, sizeof key->k, md, &n, EVP_sha256(), NULL);
	memcpy(key->id, md, sizeof key->id);
	OPENSSL_cleanse(md, sizeof md);
}

/* mkdir -p for the parent of path, new directories 0700. */
static int
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *s;

	snprintf(dir, sizeof dir, "%s", path);
	if (!(s = strrchr(dir, '/')) || s == dir)
		return 0;
	*s = 0;
	for (s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int
crm_secret_keygen(const char *path, char *err, size_t errsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char k[CRM_SECRET_KEYLEN];
	char text[2 * CRM_SECRET_KEYLEN + 1];
	int fd;

	if (make_parent(path) < 0) {
		snprintf(err, errsz, "%s: cannot create its directory: %s", path, strerror(errno));
		return -1;
	}
	if (RAND_bytes(k, sizeof k) != 1) {
		snprintf(err, errsz, "OpenSSL: no random bytes for a key");
		return -1;
	}
	for (size_t i = 0; i < sizeof k; i++) {
		text[2 * i] = hex[k[i] >> 4];
		text[2 * i + 1] = hex[k[i] & 15];
	}
	text[sizeof text - 1] = '\n';
	OPENSSL_cleanse(k, sizeof k);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsz, errno == EEXIST ?
		    "%s: already exists; refusing to overwrite a key (the credentials sealed under it would be lost)" :
		    "%s: %s", path, strerror(errno));
		OPENSSL_cleanse(text, sizeof text);
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, sizeof text) != (ssize_t)sizeof text ||
	    fsync(fd) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		OPENSSL_cleanse(text, sizeof text);
		close(fd);
		unlink(path);
		return -1;
	}
	OPENSSL_cleanse(text, sizeof text);
	if (close(fd) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
crm_secret_load_key(const char *path, struct crm_secret_key *key, char *err, size_t errsz)
{
	unsigned char buf[256];
	struct stat st;
	ssize_t n;
	int fd, ok = 0;

	if (!path || !*path)
		path = crm_secret_key_path();
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errsz, errno == ENOENT ?
		    "secret key file %s does not exist (create it with 'crm-account keygen')" :
		    "secret key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "secret key file %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "secret key file %s has mode %04o: it must not be readable "
		    "by group or others (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errsz, "secret key file %s is owned by uid %u, not by us (uid %u)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n == CRM_SECRET_KEYLEN) {
		memcpy(key->k, buf, CRM_SECRET_KEYLEN);
		ok = 1;
	} else if (n >= 2 * CRM_SECRET_KEYLEN) {
		ssize_t end = n;
		while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' ||
		    buf[end - 1] == ' ' || buf[end - 1] == '\t'))
			end--;
		if (end == 2 * CRM_SECRET_KEYLEN) {
			ok = 1;
			for (int i = 0; i < CRM_SECRET_KEYLEN && ok; i++) {
				int hi = crm_hexval(buf[2 * i]), lo = crm_hexval(buf[2 * i + 1]);
				if (hi < 0 || lo < 0)
					ok = 0;
				else
					key->k[i] = (unsigned char)(hi << 4 | lo);
			}
		}
	}
	OPENSSL_cleanse(buf, sizeof buf);
	if (!ok) {
		crm_secret_key_wipe(key);
		snprintf(err, errsz, "secret key file %s: expected 64 hex digits or 32 bytes", path);
		return -1;
	}
	key_id(key);
	return 0;
}

void
crm_secret_key_wipe(struct crm_secret_key *key)
{
	OPENSSL_cleanse(key, sizeof *key);
}

static int
aad(EVP_CIPHER_CTX *c, const unsigned char *hdr, const char *context)
{
	static const char label[] = "crm-secret";
	int n;

	return EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)label, sizeof label) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &n, hdr, HDR) == 1 &&
	    (!context || !*context ||
	    EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)context, (int)strlen(context)) == 1);
}

static int
aad_dec(EVP_CIPHER_CTX *c, const unsigned char *hdr, const char *context)
{
	static const char label[] = "crm-secret";
	int n;

	return EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)label, sizeof label) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &n, hdr, HDR) == 1 &&
	    (!context || !*context ||
	    EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)context, (int)strlen(context)) == 1);
}

int
crm_secret_seal(const struct crm_secret_key *key, const char *context,
    const void *pt, size_t ptlen, unsigned char **blob, size_t *bloblen)
{
	EVP_CIPHER_CTX *c;
	unsigned char *b;
	int n, m, ok = 0;

	if (ptlen > MAX_SECRET)
		return -1;
	b = crm_xmalloc(HDR + ptlen + TAG);
	b[0] = VERSION;
	memcpy(b + 1, key->id, 4);
	if (RAND_bytes(b + 5, NONCE) != 1) {
		free(b);
		return -1;
	}
	if ((c = EVP_CIPHER_CTX_new()) &&
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
	    EVP_EncryptInit_ex(c, NULL, NULL, key->k, b + 5) == 1 &&
	    aad(c, b, context) &&
	    EVP_EncryptUpdate(c, b + HDR, &n, pt, (int)ptlen) == 1 &&
	    EVP_EncryptFinal_ex(c, b + HDR + n, &m) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, b + HDR + n + m) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		free(b);
		return -1;
	}
	*blob = b;
	*bloblen = HDR + ptlen + TAG;
	return 0;
}

int
crm_secret_open(const struct crm_secret_key *key, const char *context,
    const unsigned char *blob, size_t bloblen, char **pt, size_t *ptlen,
    const char **why)
{
	EVP_CIPHER_CTX *c;
	size_t n;
	char *p;
	int len, fin, ok = 0;

	*pt = NULL;
	if (bloblen < HDR + TAG) {
		*why = "sealed credentials are truncated";
		return -1;
	}
	if (blob[0] != VERSION) {
		*why = "sealed credentials have an unknown format version";
		return -1;
	}
	if (memcmp(blob + 1, key->id, 4)) {
		*why = "credentials were sealed under another key (wrong CRM_SECRET_KEY_FILE?)";
		return -1;
	}
	n = bloblen - HDR - TAG;
	p = crm_xmalloc(n + 1);
	if ((c = EVP_CIPHER_CTX_new()) &&
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
	    EVP_DecryptInit_ex(c, NULL, NULL, key->k, blob + 5) == 1 &&
	    aad_dec(c, blob, context) &&
	    EVP_DecryptUpdate(c, (unsigned char *)p, &len, blob + HDR, (int)n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(blob + HDR + n)) == 1 &&
	    EVP_DecryptFinal_ex(c, (unsigned char *)p + len, &fin) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		crm_secret_free(p, n + 1);
		*why = "sealed credentials fail authentication (tampered, or sealed for another account)";
		return -1;
	}
	p[n] = 0;
	*pt = p;
	*ptlen = n;
	return 0;
}

void
crm_secret_free(char *pt, size_t len)
{
	if (!pt)
		return;
	OPENSSL_cleanse(pt, len ? len : strlen(pt));
	free(pt);
}

/* Read up to the first newline (or EOF) of fd into a wiped-on-free buffer. */
static char *
read_line_fd(int fd, char *err, size_t errsz, const char *what)
{
	char *s = crm_xmalloc(MAX_SECRET + 1);
	size_t n = 0;
	ssize_t r;
	char c;

	while (n < MAX_SECRET && (r = read(fd, &c, 1)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errsz, "%s: %s", what, strerror(errno));
			crm_secret_free(s, MAX_SECRET + 1);
			return NULL;
		}
		if (c == '\n')
			break;
		s[n++] = c;
	}
	if (n == MAX_SECRET) {
		snprintf(err, errsz, "%s: secret longer than %d bytes", what, MAX_SECRET);
		crm_secret_free(s, MAX_SECRET + 1);
		return NULL;
	}
	if (n && s[n - 1] == '\r')
		n--;
	s[n] = 0;
	if (!n) {
		snprintf(err, errsz, "%s: empty secret", what);
		crm_secret_free(s, MAX_SECRET + 1);
		return NULL;
	}
	char *out = crm_xstrndup(s, n);
	crm_secret_free(s, MAX_SECRET + 1);
	return out;
}

char *
crm_secret_read(int fd, const char *file, const char *prompt, char *err, size_t errsz)
{
	char what[PATH_MAX + 32];
	struct termios old, quiet;
	char *s;
	int tty;

	if (fd >= 0) {
		snprintf(what, sizeof what, "file descriptor %d", fd);
		return read_line_fd(fd, err, errsz, what);
	}
	if (file) {
		int f = open(file, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			snprintf(err, errsz, "%s: %s", file, strerror(errno));
			return NULL;
		}
		s = read_line_fd(f, err, errsz, file);
		close(f);
		return s;
	}
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0 || !isatty(0)) {
		if (tty >= 0)
			close(tty);
		snprintf(err, errsz, "no terminal to prompt for the secret: give it with a "
		    "file descriptor or a file");
		return NULL;
	}
	if (write(tty, prompt, strlen(prompt)) < 0 || tcgetattr(tty, &old) < 0) {
		snprintf(err, errsz, "/dev/tty: %s", strerror(errno));
		close(tty);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(tty, TCSAFLUSH, &quiet);
	s = read_line_fd(tty, err, errsz, "/dev/tty");
	tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0) {
		/* nothing useful to do */
	}
	close(tty);
	return s;
}
