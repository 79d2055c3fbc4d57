/* tls.c — peer certificate verification with OpenSSL (see tls.h).
 *
 * Why here and not in the TLS library: libetpan on Debian is built on
 * GnuTLS and hands back the peer's chain unverified, so crm checks it
 * itself before any credential is sent: the chain must lead to a trusted
 * CA (the --cafile bundle, else the system store), be valid for a TLS
 * server (purpose sslserver), and name the host we dialled (DNS names by
 * RFC 6125 rules without partial wildcards, IP literals against IP SANs).
 * The first error OpenSSL reports is given in words. */
#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

int
crm_is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static const char *
reason(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "issued by an unknown certificate authority";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "issued for another host name";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	default:
		return X509_verify_cert_error_string(e);
	}
}

int
crm_tls_verify_der(const unsigned char *const *der, const size_t *len, size_t n,
    const char *host, const char *cafile, char *err, size_t errsz)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	X509_VERIFY_PARAM *vp;
	int rc = -1;

	if (n == 0) {
		snprintf(err, errsz, "the server sent no certificate");
		return -1;
	}
	if (!(store = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new()) ||
	    !(rest = sk_X509_new_null())) {
		snprintf(err, errsz, "OpenSSL: out of memory");
		goto out;
	}
	if (cafile && *cafile) {
		if (X509_STORE_load_locations(store, cafile, NULL) != 1) {
			snprintf(err, errsz, "cannot load CA certificates from %s", cafile);
			goto out;
		}
	} else if (X509_STORE_set_default_paths(store) != 1) {
		snprintf(err, errsz, "cannot load the system CA certificates");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = der[i];
		X509 *x = d2i_X509(NULL, &p, (long)len[i]);
		if (!x) {
			snprintf(err, errsz, "the server sent an unreadable certificate");
			goto out;
		}
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(rest, x)) {
			X509_free(x);
			snprintf(err, errsz, "OpenSSL: out of memory");
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, rest) != 1) {
		snprintf(err, errsz, "OpenSSL: cannot set up verification");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	vp = X509_STORE_CTX_get0_param(ctx);
	if (crm_is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
			snprintf(err, errsz, "bad IP address %s", host);
			goto out;
		}
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1) {
			snprintf(err, errsz, "bad host name %s", host);
			goto out;
		}
	}
	if (X509_verify_cert(ctx) == 1)
		rc = 0;
	else {
		int e = X509_STORE_CTX_get_error(ctx);
		snprintf(err, errsz, "server certificate for %s refused: %s", host, reason(e));
	}
out:
	ERR_clear_error();
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}
