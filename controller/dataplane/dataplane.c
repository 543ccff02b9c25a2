/*
 * ngx-gateway: from the graph to the data plane model: one listen socket
 * per address and port, one server per hostname, and in each server the
 * matches of every route that serves that host, in the spec's precedence
 * order (hostname, then route age and name, then rule order), as
 * candidates that match.c turns into locations.
 */

#include <string.h>

#include "dataplane/dataplane_int.h"
#include "validate/names.h"


static gw_dp_listen_t *
gw_dp_listen(gw_dp_ctx_t *ctx, const gw_ggateway_t *gw, int port)
{
    const char      *key;
    gw_dp_listen_t  *l;

    key = gw_arena_printf(ctx->a, "%s %d", gw->address, port);

    l = gw_map_get(&ctx->listens, key);
    if (l != NULL) {
        return l;
    }

    l = gw_arena_alloc(ctx->a, sizeof(gw_dp_listen_t));
    l->address = gw->address;
    l->port = port;
    gw_valid_ip(gw->address, &l->is_v6);
    l->gateway = gw_arena_printf(ctx->a, "%s/%s", gw->obj->meta.namespace,
                                 gw->obj->meta.name);
    l->by_host = gw_arena_alloc(ctx->a, sizeof(gw_map_t));
    gw_map_init(l->by_host, ctx->a);

    gw_map_put(&ctx->listens, key, l);
    gw_ptrs_push(ctx->a, &ctx->dp->listens, l);

    return l;
}


static gw_dp_server_t *
gw_dp_server(gw_dp_ctx_t *ctx, gw_dp_listen_t *l, const char *hostname)
{
    const char      *key;
    gw_dp_server_t  *s;

    key = hostname ? hostname : "";

    s = gw_map_get(l->by_host, key);
    if (s != NULL) {
        return s;
    }

    s = gw_arena_alloc(ctx->a, sizeof(gw_dp_server_t));
    s->hostname = hostname;
    s->by_target = gw_arena_alloc(ctx->a, sizeof(gw_map_t));
    gw_map_init(s->by_target, ctx->a);

    gw_map_put(l->by_host, key, s);
    gw_ptrs_push(ctx->a, &l->servers, s);

    return s;
}


/*
 * The matches of a rule as candidates of the server.  A route that serves
 * the server's hostname in two tiers (its own hostname and a wildcard that
 * covers it) counts in the first.
 */
static void
gw_dp_add_rule(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_groute_t *r,
    const gw_grule_t *rule, int tier)
{
    size_t                  i, n;
    const char             *prefix, *target;
    gw_dp_target_t          t;
    gw_dp_location_t       *loc;
    const gw_http_match_t  *m;

    gw_dp_rule_target(ctx, rule, &t);

    for (i = 0; i < rule->spec->nmatches; i++) {
        m = &rule->spec->matches[i];

        target = gw_dp_target_name(ctx, r, rule->index, i);
        if (gw_map_get(s->by_target, target) != NULL) {
            continue;
        }

        loc = gw_arena_alloc(ctx->a, sizeof(gw_dp_location_t));
        loc->path = target;
        loc->route = gw_arena_printf(ctx->a, "%s/%s",
                                     r->obj->meta.namespace,
                                     r->obj->meta.name);
        loc->rule = rule->index;
        loc->match = i;
        loc->status = t.status;
        loc->upstream = t.upstream;
        loc->split = t.split;
        loc->proxy = t.proxy;
        loc->tls = t.tls;

        prefix = NULL;

        /* PathPrefix matches whole segments: "/a" is "/a" and "/a/..." */
        if (m->path_type == GW_PATH_PREFIX) {
            n = strlen(m->path);
            while (n > 1 && m->path[n - 1] == '/') {
                n--;
            }
            prefix = gw_arena_strndup(ctx->a, m->path, n);
        }

        gw_dp_rewrite(ctx, rule->rewrite, prefix, loc);
        gw_dp_filters(ctx, r, rule, prefix, loc);
        gw_dp_mirrors(ctx, s, r, rule, loc);

        gw_dp_candidate_add(ctx, s, m, tier, prefix, loc, target);
    }
}


static void
gw_dp_add_attachment(gw_dp_ctx_t *ctx, gw_dp_server_t *s,
    const gw_attach_t *at, int tier)
{
    size_t  i;

    for (i = 0; i < at->route->nrules; i++) {
        if (!at->route->rules[i].valid) {
            continue;
        }

        if (at->route->kind == GW_KIND_GRPCROUTE) {
            gw_dp_grpc_rule(ctx, s, at->route, &at->route->rules[i], tier);
        } else {
            gw_dp_add_rule(ctx, s, at->route, &at->route->rules[i], tier);
        }
    }
}


/*
 * The attachments of one listen address, indexed by the hostname they
 * serve ("" for those that serve every host), each list in precedence
 * order.
 */
static void
gw_dp_index_hosts(gw_dp_ctx_t *ctx, gw_ptrs_t *ats, gw_map_t *byhost)
{
    size_t        i, j;
    const char   *key;
    gw_ptrs_t    *list;
    gw_attach_t  *at;

    for (i = 0; i < ats->n; i++) {
        at = ats->items[i];
        for (j = 0; j == 0 || j < at->nhostnames; j++) {
            key = at->nhostnames ? at->hostnames[j] : "";
            list = gw_map_get(byhost, key);
            if (list == NULL) {
                list = gw_arena_alloc(ctx->a, sizeof(gw_ptrs_t));
                gw_map_put(byhost, key, list);
            }
            /* a route naming a hostname twice is added once */
            if (list->n == 0 || list->items[list->n - 1] != at) {
                gw_ptrs_push(ctx->a, list, at);
            }
        }
    }
}


/*
 * How well listener l matches hostname h (NULL: the catch-all): 0 not at
 * all, then from the least specific (no hostname) to the most (the same
 * hostname); a longer wildcard is more specific than a shorter one.
 */
static size_t
gw_dp_listener_rank(const gw_glistener_t *l, const char *h)
{
    const char  *lh;

    lh = l->spec->hostname;

    if (lh == NULL) {
        return 1;
    }

    if (h == NULL) {
        return 0;
    }

    if (strcmp(lh, h) == 0) {
        return (size_t) -1;
    }

    if (lh[0] == '*' && gw_hostname_intersect(lh, h) != NULL) {
        return 1 + strlen(lh);
    }

    return 0;
}


/*
 * Adds the attachments of list to server s, those of its listener only:
 * listeners isolate their routes, a request is served by the routes of
 * the most specific listener that matches its host (best: that rank).
 */
static void
gw_dp_add_list(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_ptrs_t *list,
    int tier, size_t best)
{
    size_t        i;
    gw_attach_t  *at;

    for (i = 0; list != NULL && i < list->n; i++) {
        at = list->items[i];
        if (gw_dp_listener_rank(at->listener, s->hostname) < best) {
            continue;
        }
        gw_dp_add_attachment(ctx, s, at, tier);
    }
}


/*
 * Fills the server for hostname h: first the routes for h itself, then
 * the routes for the wildcards that cover h (longest first: "*.b.c" before
 * "*.c", so each suffix of h is looked up once), then the routes for every
 * host.
 */
static void
gw_dp_fill_server(gw_dp_ctx_t *ctx, gw_dp_listen_t *l, gw_dp_server_t *s,
    gw_map_t *byhost)
{
    int          tier;
    char        *w;
    size_t       i, best, rank;
    const char  *h, *dot;

    tier = 0;
    h = s->hostname;

    best = 0;
    for (i = 0; i < l->listeners.n; i++) {
        rank = gw_dp_listener_rank(l->listeners.items[i], h);
        if (rank > best) {
            best = rank;
        }
    }

    if (h != NULL) {
        gw_dp_add_list(ctx, s, gw_map_get(byhost, h), tier, best);

        w = gw_arena_alloc(ctx->a, strlen(h) + 2);
        for (dot = strchr(h + 1, '.'); dot != NULL;
             dot = strchr(dot + 1, '.'))
        {
            w[0] = '*';
            strcpy(w + 1, dot);
            if (strcmp(w, h) == 0 || gw_map_get(byhost, w) == NULL) {
                continue;
            }
            tier++;
            gw_dp_add_list(ctx, s, gw_map_get(byhost, w), tier, best);
        }
    }

    tier++;
    gw_dp_add_list(ctx, s, gw_map_get(byhost, ""), tier, best);

    gw_dp_server_locations(ctx, s);
}


/* The listener a server is counted under (see gw_dp_server_tag_t). */
static void
gw_dp_server_tag(gw_dp_ctx_t *ctx, gw_dp_listen_t *l, gw_dp_server_t *s)
{
    size_t           i, rank, best_rank;
    gw_glistener_t  *gl, *best;

    best = NULL;
    best_rank = 0;

    for (i = 0; i < l->listeners.n; i++) {
        gl = l->listeners.items[i];
        rank = gw_dp_listener_rank(gl, s->hostname);
        if (rank > best_rank) {
            best = gl;
            best_rank = rank;
        }
    }

    if (best == NULL && l->listeners.n > 0) {
        best = l->listeners.items[0];
    }

    if (best == NULL) {
        return;
    }

    s->listener = best;
    s->tag.gateway = gw_arena_printf(ctx->a, "%s/%s",
                                     best->gateway->obj->meta.namespace,
                                     best->gateway->obj->meta.name);
    s->tag.listener = best->spec->name;
}


/* Every listener of every Gateway that shares this address and port. */
static void
gw_dp_build_listen(gw_dp_ctx_t *ctx, gw_dp_listen_t *l, gw_ptrs_t *ats)
{
    size_t           i, j;
    gw_map_t         byhost;
    gw_attach_t     *at;
    gw_glistener_t  *gl;

    gw_map_init(&byhost, ctx->a);

    gw_ptrs_sort(ats, gw_attach_cmp);

    /* the catch-all server always exists: it answers unknown hosts */
    gw_dp_server(ctx, l, NULL);

    for (i = 0; i < ats->n; i++) {
        at = ats->items[i];
        for (j = 0; j < at->nhostnames; j++) {
            gw_dp_server(ctx, l, at->hostnames[j]);
        }
    }

    /* with TLS, SNI picks a listener's certificate by its hostname */
    for (i = 0; l->ssl && i < l->listeners.n; i++) {
        gl = l->listeners.items[i];
        if (gl->spec->hostname != NULL) {
            gw_dp_server(ctx, l, gl->spec->hostname);
        }
    }

    gw_dp_index_hosts(ctx, ats, &byhost);

    for (i = 0; i < l->servers.n; i++) {
        gw_dp_fill_server(ctx, l, l->servers.items[i], &byhost);
        gw_dp_server_tag(ctx, l, l->servers.items[i]);
        gw_dp_backend_tls_server(ctx, l->servers.items[i]);
        if (l->ssl) {
            gw_dp_tls_server(ctx, l->servers.items[i]);
        }
    }

    if (l->ssl) {
        gw_dp_tls_sni(ctx, l);
    }
}


gw_dp_t *
gw_dataplane_build(gw_arena_t *a, const gw_graph_t *g, int port_offset)
{
    size_t                i, j, k;
    gw_dp_t              *dp;
    gw_ptrs_t            *fronts;
    gw_dp_ctx_t           ctx;
    gw_dp_listen_t       *l;
    gw_attach_t          *at;
    gw_ggateway_t        *gw;
    gw_glistener_t       *gl;

    dp = gw_arena_alloc(a, sizeof(gw_dp_t));
    dp->port_offset = port_offset;

    ctx.a = a;
    ctx.dp = dp;
    ctx.g = g;
    gw_map_init(&ctx.listens, a);
    gw_map_init(&ctx.upstreams, a);
    gw_map_init(&ctx.splits, a);
    gw_map_init(&ctx.joins, a);
    gw_map_init(&ctx.certs, a);
    gw_map_init(&ctx.mirrors, a);
    ctx.nmirrors = 0;

    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        if (!gw->accepted || gw->address == NULL) {
            continue;
        }

        for (j = 0; j < gw->nlisteners; j++) {
            gl = &gw->listeners[j];
            /* what the graph says the data plane serves, and is http's */
            if (!gl->accepted || !gl->served
                || !(strcmp(gl->spec->protocol, "HTTP") == 0
                     || strcmp(gl->spec->protocol, "HTTPS") == 0))
            {
                continue;
            }

            l = gw_dp_listen(&ctx, gw, gl->spec->port + port_offset);
            l->ssl = strcmp(gl->spec->protocol, "HTTPS") == 0;
            gw_ptrs_push(a, &l->listeners, gl);
            for (k = 0; k < gl->attachments.n; k++) {
                at = gl->attachments.items[k];
                if (!gw_listener_serves(gl, at->route->kind)) {
                    continue;
                }

                gw_ptrs_push(a, &l->attachments, at);

                /* gRPC needs HTTP/2: ALPN offers h2 on this port */
                if (at->route->kind == GW_KIND_GRPCROUTE) {
                    l->http2 = 1;
                }
            }
        }
    }

    fronts = gw_dp_fronts(a, g, port_offset);

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        l->front = gw_dp_front_find(fronts, l->address, l->port);
        gw_dp_build_listen(&ctx, l, &l->attachments);
    }

    gw_dp_sort(dp);
    gw_dp_tls_sort(dp);

    return dp;
}
