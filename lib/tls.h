/* tls.h — verify a server's certificate chain with OpenSSL, for
 * connections whose TLS library does not (Debian's libetpan uses GnuTLS
 * and never checks the peer: INTERFACES.md §1).
 * Takes DER certificates (leaf first); allocates nothing the caller owns. */
#ifndef CRM_TLS_H
#define CRM_TLS_H

#include <stddef.h>

/* Check the chain against cafile (PEM bundle; NULL or "": the system
 * store) and the host name or IP address the caller connected to.
 * Returns 0 when valid, -1 with a message in err. */
int crm_tls_verify_der(const unsigned char *const *der, const size_t *len,
    size_t n, const char *host, const char *cafile, char *err, size_t errsz);

/* 1 when s is an IPv4 or IPv6 literal. */
int crm_is_ip_literal(const char *s);

#endif
