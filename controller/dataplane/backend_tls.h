/*
 * ngx-gateway: TLS from nginx to a backend (BackendTLSPolicy), and the
 * client certificate nginx presents there (the Gateway's
 * spec.tls.backend.clientCertificateRef); dataplane/backend_tls.c.
 */

#ifndef GW_DATAPLANE_BACKEND_TLS_H
#define GW_DATAPLANE_BACKEND_TLS_H

#include <stddef.h>

#include "api/api.h"

/* Debian's bundle of the system's trusted CAs (ca-certificates) */
#define GW_SYSTEM_CA_BUNDLE  "/etc/ssl/certs/ca-certificates.crt"

struct gw_dp_cert_s;

typedef struct {
    const void                 *policy;  /* the gw_gpolicy_t that applies */
    const char                 *what;    /* "ns/name" of the policy */
    const char                 *name;    /* SNI and the name verified */
    const struct gw_dp_cert_s  *ca;      /* CA bundle file; NULL: system */
    const struct gw_dp_cert_s  *client;  /* the Gateway's certificate file,
                                            or NULL */
    const gw_san_t             *sans;    /* verified instead of name, */
    size_t                      nsans;   /* by our module, when nsans > 0 */
} gw_dp_backend_tls_t;

#endif /* GW_DATAPLANE_BACKEND_TLS_H */
