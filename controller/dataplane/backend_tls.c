/*
 * ngx-gateway: TLS to backends in the data plane.
 *
 * A Service port that an accepted BackendTLSPolicy targets is proxied
 * over TLS (proxy_pass https://, or grpc_pass grpcs:// for an h2c
 * appProtocol): SNI is the policy's hostname; the peer's chain must lead
 * to the policy's CA bundle (one file made from its ConfigMaps, like the
 * certificate files) or to the system's CAs (wellKnownCACertificates
 * System), and nginx checks the certificate against the hostname
 * (proxy_ssl_verify).  A Service port that policies target but none
 * applies (all invalid or conflicted) is not spoken to in plain text: its
 * share answers 500.  A policy's subjectAltNames are checked by our
 * module instead of the hostname (gateway_upstream_verify,
 * nginx-module/ngx_http_gateway_verify.c): nginx 1.22 itself only checks
 * proxy_ssl_name, which is also the SNI.
 *
 * nginx's TLS settings belong to a location, its upstreams to a Service
 * port.  A location proxies to one upstream or splits among several: a
 * split whose shares would need different TLS settings keeps those of its
 * first share that names a usable backend, and the others answer 500.
 * Every location to one Service port agrees, since the policy is per
 * Service port.  The Gateway's backend client certificate is added per
 * server (the Gateway of the listener the server is counted under).
 */

#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"
#include "validate/names.h"


/* The CA bundles of policy p, one file. */
static const gw_dp_cert_t *
gw_dp_backend_ca(gw_dp_ctx_t *ctx, const gw_gpolicy_t *p, const char *what)
{
    size_t         i, n;
    gw_buf_t       b;
    gw_dp_cert_t  *c;

    gw_buf_init(&b);

    for (i = 0; i < p->nca_pems; i++) {
        n = strlen(p->ca_pems[i]);
        gw_buf_append(&b, p->ca_pems[i], n);
        if (n > 0 && p->ca_pems[i][n - 1] != '\n') {
            gw_buf_putc(&b, '\n');
        }
    }

    c = gw_dp_file(ctx, b.data, b.len,
                   gw_arena_printf(ctx->a, "BackendTLSPolicy %s", what));

    gw_buf_free(&b);

    return c;
}


/*
 * A subjectAltName our module can be given: a hostname (wildcard allowed),
 * or a URI of visible ASCII characters (written as a literal: a '$' is a
 * '$'), as long as the CRD allows.
 */
static int
gw_dp_backend_san_valid(const gw_san_t *san)
{
    size_t       n;
    gw_err_t     err;
    const char  *s;

    if (!san->uri) {
        return gw_valid_hostname(san->value, 1, &err);
    }

    n = strlen(san->value);
    if (n == 0 || n > 253 || strchr(san->value, ':') == NULL) {
        return GW_ERR;
    }

    for (s = san->value; *s; s++) {
        if ((unsigned char) *s <= ' ' || (unsigned char) *s >= 0x7f) {
            return GW_ERR;
        }
    }

    return GW_OK;
}


int
gw_dp_backend_tls(gw_dp_ctx_t *ctx, const gw_gbackend_t *b,
    const gw_dp_backend_tls_t **tls)
{
    size_t                        i;
    gw_err_t                      err;
    const gw_gpolicy_t           *p;
    gw_dp_backend_tls_t          *t;
    const gw_backendtlspolicy_t  *spec;

    *tls = NULL;

    if (ctx->g == NULL || ctx->g->policies.n == 0) {
        return GW_OK;
    }

    p = gw_policy_for(ctx->g, b);
    if (p == NULL) {
        return gw_policy_targeted(ctx->g, b) ? GW_ERR : GW_OK;
    }

    spec = &p->obj->u.backendtlspolicy;

    /* the CRD's pattern says so; a stray value must not reach nginx */
    if (gw_valid_hostname(spec->hostname, 0, &err) != GW_OK) {
        return GW_ERR;
    }

    /* the names our module checks: the CRD's patterns, again */
    for (i = 0; i < spec->nsans; i++) {
        if (gw_dp_backend_san_valid(&spec->sans[i]) != GW_OK) {
            return GW_ERR;
        }
    }

    t = gw_arena_alloc(ctx->a, sizeof(gw_dp_backend_tls_t));
    t->policy = p;
    t->what = gw_arena_printf(ctx->a, "%s/%s", p->obj->meta.namespace,
                              p->obj->meta.name);
    t->name = spec->hostname;
    t->sans = spec->sans;
    t->nsans = spec->nsans;

    if (!p->system_ca) {
        t->ca = gw_dp_backend_ca(ctx, p, t->what);
        if (t->ca == NULL) {
            return GW_ERR;
        }
    }

    *tls = t;

    return GW_OK;
}


static void
gw_dp_backend_tls_location(gw_dp_ctx_t *ctx, gw_dp_location_t *loc,
    const gw_dp_cert_t *client)
{
    gw_dp_backend_tls_t  *t;

    if (loc->tls == NULL || loc->status != 0) {
        return;
    }

    if (loc->grpc) {
        /* http.tmpl's grpc_pass does not speak TLS yet: no plain text */
        loc->status = 500;
        loc->upstream = NULL;
        loc->split = NULL;
        return;
    }

    if (client == NULL) {
        return;
    }

    t = gw_arena_alloc(ctx->a, sizeof(gw_dp_backend_tls_t));
    *t = *loc->tls;
    t->client = client;
    loc->tls = t;
}


void
gw_dp_backend_tls_server(gw_dp_ctx_t *ctx, gw_dp_server_t *s)
{
    size_t                i;
    const gw_obj_t       *secret;
    const gw_dp_cert_t   *client;

    client = NULL;

    if (s->listener != NULL) {
        secret = s->listener->gateway->backend_cert;
        if (secret != NULL) {
            client = gw_dp_cert(ctx, secret);
        }
    }

    for (i = 0; i < s->locations.n; i++) {
        gw_dp_backend_tls_location(ctx, s->locations.items[i], client);
    }

    for (i = 0; i < s->named.n; i++) {
        gw_dp_backend_tls_location(ctx, s->named.items[i], client);
    }
}
