/*
 * ngx-gateway: from the graph to the stream{} model.
 *
 * A TCP or UDP listener proxies every connection to the backends of one
 * route: several routes may attach (each is Accepted and counted in
 * attachedRoutes), the oldest (then namespace/name) gets the traffic.  A
 * route's backendRefs from all its rules are one weighted split; a share
 * without a valid backend, or with no ready endpoint, closes the
 * connection (GW_STREAM_REJECT).
 *
 * TLS Passthrough listeners of one address and port share one server:
 * ssl_preread reads the ClientHello's server name and an nginx map with
 * `hostnames` picks the target: exact names before the longest wildcard,
 * as the spec orders them, the routes for every host as the default, else
 * the connection is closed.  Where two routes claim one hostname the
 * oldest wins.
 *
 * TLS Terminate listeners of one address and port share another server:
 * nginx terminates TLS with the listeners' certificates (by the server
 * name when they differ) and the same kind of SNI map, over
 * $ssl_server_name, sends the plain bytes to the backends.
 *
 * A port that needs a front (dataplane/front.h) gets one more server, the
 * front, which owns the port; the TLS servers behind it listen on the
 * front's sockets instead.
 */

#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/stream.h"
#include "validate/names.h"


typedef struct {
    gw_arena_t      *a;
    gw_dp_stream_t  *s;
    gw_map_t         servers;       /* "address port tcp|udp" */
    gw_map_t         upstreams;     /* name -> gw_dp_upstream_t */
    gw_map_t         splits;        /* shares key -> gw_dp_split_t */
    gw_map_t         certs;         /* file -> gw_dp_cert_t */
} gw_dp_stream_ctx_t;


static const char *
gw_dp_stream_upstream(gw_dp_stream_ctx_t *ctx, const gw_gbackend_t *b)
{
    size_t             i;
    const char        *name;
    gw_dp_upstream_t  *u;

    if (!b->valid || b->nendpoints == 0) {
        ctx->s->reject = 1;
        return GW_STREAM_REJECT;
    }

    /* namespace and Service names are DNS labels: '_' cannot clash */
    name = gw_arena_printf(ctx->a, "%s_%s_%d", b->namespace, b->ref->name,
                           b->ref->port);

    u = gw_map_get(&ctx->upstreams, name);
    if (u != NULL) {
        return u->name;
    }

    u = gw_arena_alloc(ctx->a, sizeof(gw_dp_upstream_t));
    u->name = name;
    u->service = gw_arena_printf(ctx->a, "%s/%s:%d", b->namespace,
                                 b->ref->name, b->ref->port);
    u->nservers = b->nendpoints;
    u->servers = gw_arena_alloc(ctx->a, b->nendpoints * sizeof(char *));

    for (i = 0; i < b->nendpoints; i++) {
        u->servers[i] = gw_arena_printf(ctx->a,
                                        b->endpoints[i].is_v6 ? "[%s]:%d"
                                                              : "%s:%d",
                                        b->endpoints[i].address,
                                        b->endpoints[i].port);
    }

    gw_map_put(&ctx->upstreams, name, u);
    gw_ptrs_push(ctx->a, &ctx->s->upstreams, u);

    return name;
}


static const char *
gw_dp_stream_split(gw_dp_stream_ctx_t *ctx, gw_dp_share_t *shares, size_t n,
    long total)
{
    size_t          i;
    gw_buf_t        key;
    const char     *k;
    gw_dp_split_t  *sp;

    gw_buf_init(&key);
    for (i = 0; i < n; i++) {
        gw_buf_printf(&key, "%s:%d,", shares[i].upstream, shares[i].weight);
    }
    k = gw_arena_strndup(ctx->a, key.data, key.len);
    gw_buf_free(&key);

    sp = gw_map_get(&ctx->splits, k);
    if (sp == NULL) {
        sp = gw_arena_alloc(ctx->a, sizeof(gw_dp_split_t));
        sp->var = gw_arena_printf(ctx->a, "gw_stream_split_%zu",
                                  ctx->s->splits.n);
        sp->shares = shares;
        sp->nshares = n;
        sp->total = total;

        gw_map_put(&ctx->splits, k, sp);
        gw_ptrs_push(ctx->a, &ctx->s->splits, sp);
    }

    return gw_arena_printf(ctx->a, "$%s", sp->var);
}


/* Where the connections of route r go: its backendRefs, all rules. */
static const char *
gw_dp_stream_target(gw_dp_stream_ctx_t *ctx, const gw_groute_t *r)
{
    size_t               i, j, n, nrefs;
    long                 total;
    const char          *up;
    gw_dp_share_t       *shares;
    const gw_grule_t    *rule;
    const gw_gbackend_t *b;

    nrefs = 0;
    for (i = 0; i < r->nrules; i++) {
        nrefs += r->rules[i].nbackends;
    }

    shares = gw_arena_alloc(ctx->a, (nrefs + 1) * sizeof(gw_dp_share_t));
    n = 0;
    total = 0;

    for (i = 0; i < r->nrules; i++) {
        rule = &r->rules[i];
        if (!rule->valid) {
            continue;
        }

        for (j = 0; j < rule->nbackends; j++) {
            b = &rule->backends[j];
            if (b->weight == 0) {
                continue;
            }

            up = gw_dp_stream_upstream(ctx, b);
            total += b->weight;
            n = gw_dp_share_add(shares, n, up, b->weight);
        }
    }

    if (n == 0) {
        ctx->s->reject = 1;         /* no backendRefs, or all weights 0 */
        return GW_STREAM_REJECT;
    }

    if (n == 1) {
        return shares[0].upstream;
    }

    return gw_dp_stream_split(ctx, shares, n, total);
}


static gw_dp_stream_server_t *
gw_dp_stream_server(gw_dp_stream_ctx_t *ctx, const gw_ggateway_t *gw,
    const gw_glistener_t *gl, gw_kind_e kind, int port)
{
    int                     terminate;
    const char             *key;
    gw_dp_stream_server_t  *sv;

    terminate = (kind == GW_KIND_TLSROUTE
                 && gw_streq(gl->spec->tls_mode, "Terminate"));

    key = gw_arena_printf(ctx->a, "%s %d %s", gw->address, port,
                          kind == GW_KIND_UDPROUTE ? "udp"
                          : terminate ? "terminate" : "tcp");

    sv = gw_map_get(&ctx->servers, key);
    if (sv != NULL) {
        return sv;
    }

    sv = gw_arena_alloc(ctx->a, sizeof(gw_dp_stream_server_t));
    sv->address = gw->address;
    sv->port = port;
    gw_valid_ip(gw->address, &sv->is_v6);
    sv->udp = (kind == GW_KIND_UDPROUTE);
    sv->passthrough = (kind == GW_KIND_TLSROUTE && !terminate);
    sv->terminate = terminate;
    sv->gateway = gw_arena_printf(ctx->a, "%s/%s", gw->obj->meta.namespace,
                                  gw->obj->meta.name);
    sv->listener = gl->spec->name;

    gw_map_put(&ctx->servers, key, sv);
    gw_ptrs_push(ctx->a, &ctx->s->servers, sv);

    return sv;
}


/* The attachments of a server's listeners, in the spec's precedence. */
static void
gw_dp_stream_attachments(gw_dp_stream_ctx_t *ctx,
    const gw_dp_stream_server_t *sv, gw_ptrs_t *ats)
{
    size_t                 i, j;
    gw_attach_t           *at;
    const gw_glistener_t  *gl;

    for (i = 0; i < sv->listeners.n; i++) {
        gl = sv->listeners.items[i];
        for (j = 0; j < gl->attachments.n; j++) {
            at = gl->attachments.items[j];
            if (gw_listener_serves(gl, at->route->kind)) {
                gw_ptrs_push(ctx->a, ats, at);
            }
        }
    }

    gw_ptrs_sort(ats, gw_attach_cmp);
}


static void
gw_dp_stream_sni(gw_dp_stream_ctx_t *ctx, gw_dp_stream_server_t *sv,
    gw_map_t *seen, const char *hostname, const gw_groute_t *r)
{
    const char   *key;
    gw_dp_passthrough_t  *e;

    key = hostname ? hostname : "";

    if (gw_map_get(seen, key) != NULL) {
        return;                     /* an older route has this name */
    }

    e = gw_arena_alloc(ctx->a, sizeof(gw_dp_passthrough_t));
    e->hostname = hostname;

    if (r != NULL) {
        e->route = gw_arena_printf(ctx->a, "%s/%s", r->obj->meta.namespace,
                                   r->obj->meta.name);
        e->target = gw_dp_stream_target(ctx, r);
    } else {
        ctx->s->reject = 1;
        e->target = GW_STREAM_REJECT;
    }

    gw_map_put(seen, key, e);
    gw_ptrs_push(ctx->a, &sv->snis, e);
}


static void
gw_dp_stream_fill(gw_dp_stream_ctx_t *ctx, gw_dp_stream_server_t *sv,
    size_t index)
{
    size_t        i, j;
    gw_map_t      seen;
    gw_ptrs_t     ats;
    gw_attach_t  *at;

    memset(&ats, 0, sizeof(ats));
    gw_dp_stream_attachments(ctx, sv, &ats);

    if (!sv->passthrough && !sv->terminate) {
        if (ats.n == 0) {
            ctx->s->reject = 1;
            sv->target = GW_STREAM_REJECT;
            return;
        }

        at = ats.items[0];
        sv->route = gw_arena_printf(ctx->a, "%s/%s",
                                    at->route->obj->meta.namespace,
                                    at->route->obj->meta.name);
        sv->target = gw_dp_stream_target(ctx, at->route);
        return;
    }

    sv->sni_var = gw_arena_printf(ctx->a, "gw_stream_sni_%zu", index);
    gw_map_init(&seen, ctx->a);

    for (i = 0; i < ats.n; i++) {
        at = ats.items[i];
        for (j = 0; j == 0 || j < at->nhostnames; j++) {
            gw_dp_stream_sni(ctx, sv, &seen,
                             at->nhostnames ? at->hostnames[j] : NULL,
                             at->route);
        }
    }

    /* an unknown server name, or none: close the connection */
    gw_dp_stream_sni(ctx, sv, &seen, NULL, NULL);
}


/* File c of stream{}, once per content (see gw_dp_cert_once). */
static gw_dp_cert_t *
gw_dp_stream_file(gw_dp_stream_ctx_t *ctx, gw_dp_cert_t *c)
{
    return gw_dp_cert_once(ctx->a, &ctx->certs, &ctx->s->certs, c);
}


/*
 * The certificates of a TLS Terminate server: its listener's, or, with
 * several listeners, a map from the server name to the first certificate
 * of the listener that takes it (the most specific hostname, as nginx's
 * map with `hostnames` picks it), the listener without hostname (else the
 * first) for other names.
 */
static void
gw_dp_stream_certs(gw_dp_stream_ctx_t *ctx, gw_dp_stream_server_t *sv,
    size_t index)
{
    size_t                 i, j;
    const char            *dflt;
    gw_dp_cert_t          *c;
    gw_dp_passthrough_t   *e;
    const gw_glistener_t  *gl;

    dflt = NULL;

    for (i = 0; i < sv->listeners.n; i++) {
        gl = sv->listeners.items[i];
        c = NULL;

        /* the port's client certificate validation, as for HTTPS */
        if (gl->verify != GW_VERIFY_NONE && sv->client_ca == NULL) {
            sv->client_ca = gw_dp_client_ca_make(ctx->a, gl);
            if (sv->client_ca != NULL) {
                sv->client_ca = gw_dp_stream_file(ctx, sv->client_ca);
                sv->verify = gl->verify;
            }
        }

        for (j = 0; j < gl->nsecrets; j++) {
            c = gw_dp_stream_file(ctx, gw_dp_cert_read(ctx->a,
                                                       gl->secrets[j]));
            if (c == NULL) {
                continue;
            }
            if (sv->listeners.n == 1) {
                gw_ptrs_push(ctx->a, &sv->certs, c);
                continue;
            }
            break;
        }

        if (sv->listeners.n == 1 || c == NULL) {
            continue;
        }

        if (gl->spec->hostname == NULL || dflt == NULL) {
            dflt = c->file;
        }

        if (gl->spec->hostname != NULL) {
            e = gw_arena_alloc(ctx->a, sizeof(gw_dp_passthrough_t));
            e->hostname = gl->spec->hostname;
            e->target = c->file;
            gw_ptrs_push(ctx->a, &sv->cert_snis, e);
        }
    }

    if (dflt == NULL) {
        return;
    }

    sv->cert_var = gw_arena_printf(ctx->a, "gw_stream_cert_%zu", index);

    e = gw_arena_alloc(ctx->a, sizeof(gw_dp_passthrough_t));
    e->target = dflt;
    gw_ptrs_push(ctx->a, &sv->cert_snis, e);
}


static int
gw_dp_stream_server_cmp(const void *a, const void *b)
{
    const gw_dp_stream_server_t  *x = *(gw_dp_stream_server_t * const *) a;
    const gw_dp_stream_server_t  *y = *(gw_dp_stream_server_t * const *) b;
    int                           rc;

    rc = strcmp(x->address, y->address);
    if (rc != 0) {
        return rc;
    }

    if (x->port != y->port) {
        return x->port - y->port;
    }

    if (x->udp != y->udp) {
        return x->udp - y->udp;
    }

    if (x->terminate != y->terminate) {
        return x->terminate - y->terminate;
    }

    return (x->front == NULL) - (y->front == NULL);
}


/*
 * The fronts: a server of their own on the port, and the TLS servers of
 * the port move to the front's sockets.
 */
static void
gw_dp_stream_fronts(gw_dp_stream_ctx_t *ctx, const gw_graph_t *g,
    int port_offset)
{
    size_t                  i;
    gw_ptrs_t              *fronts;
    const gw_dp_front_t    *f;
    gw_dp_stream_server_t  *sv;

    fronts = gw_dp_fronts(ctx->a, g, port_offset);

    for (i = 0; i < ctx->s->servers.n; i++) {
        sv = ctx->s->servers.items[i];
        f = gw_dp_front_find(fronts, sv->address, sv->port);
        if ((sv->passthrough || sv->terminate) && f != NULL && f->tls) {
            sv->behind = f;
        }
    }

    for (i = 0; i < fronts->n; i++) {
        f = fronts->items[i];

        sv = gw_arena_alloc(ctx->a, sizeof(gw_dp_stream_server_t));
        sv->address = f->address;
        sv->port = f->port;
        sv->is_v6 = f->is_v6;
        sv->gateway = f->gateway;
        sv->listener = "";
        sv->front = f;

        gw_ptrs_push(ctx->a, &ctx->s->servers, sv);
    }
}


/* By hostname, the default (NULL) last. */
static int
gw_dp_sni_cmp(const void *a, const void *b)
{
    const gw_dp_passthrough_t  *x = *(gw_dp_passthrough_t * const *) a;
    const gw_dp_passthrough_t  *y = *(gw_dp_passthrough_t * const *) b;

    if (x->hostname == NULL || y->hostname == NULL) {
        return (x->hostname == NULL) - (y->hostname == NULL);
    }

    return strcmp(x->hostname, y->hostname);
}


gw_dp_stream_t *
gw_dp_stream_build(gw_arena_t *a, const gw_graph_t *g, int port_offset)
{
    size_t                  i, j;
    gw_kind_e               kind;
    gw_ggateway_t          *gw;
    gw_glistener_t         *gl;
    gw_dp_stream_ctx_t      ctx;
    gw_dp_stream_server_t  *sv;

    ctx.a = a;
    ctx.s = gw_arena_alloc(a, sizeof(gw_dp_stream_t));
    gw_map_init(&ctx.servers, a);
    gw_map_init(&ctx.upstreams, a);
    gw_map_init(&ctx.splits, a);
    gw_map_init(&ctx.certs, a);

    /* Gateways in precedence order, listeners in order: the first
     * listener of a server names it in the module's counters */
    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        if (!gw->accepted || gw->address == NULL) {
            continue;
        }

        for (j = 0; j < gw->nlisteners; j++) {
            gl = &gw->listeners[j];
            if (!gl->accepted || !gl->stream
                || !gw_listener_stream_kind(gl->spec, &kind))
            {
                continue;
            }

            sv = gw_dp_stream_server(&ctx, gw, gl, kind,
                                     gl->spec->port + port_offset);
            gw_ptrs_push(a, &sv->listeners, gl);
        }
    }

    gw_dp_stream_fronts(&ctx, g, port_offset);

    gw_ptrs_sort(&ctx.s->servers, gw_dp_stream_server_cmp);

    for (i = 0; i < ctx.s->servers.n; i++) {
        sv = ctx.s->servers.items[i];
        if (sv->front != NULL) {
            continue;
        }

        gw_dp_stream_fill(&ctx, sv, i);
        gw_ptrs_sort(&sv->snis, gw_dp_sni_cmp);

        if (sv->terminate) {
            gw_dp_stream_certs(&ctx, sv, i);
            gw_ptrs_sort(&sv->cert_snis, gw_dp_sni_cmp);
        }
    }

    gw_ptrs_sort(&ctx.s->certs, gw_dp_cert_cmp);
    gw_ptrs_sort(&ctx.s->upstreams, gw_dp_upstream_cmp);

    return ctx.s;
}
