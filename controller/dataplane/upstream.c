/*
 * ngx-gateway: upstreams, weighted splits and rewrites for the data plane.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"


size_t
gw_dp_share_add(gw_dp_share_t *shares, size_t n, const char *upstream,
    int weight)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(shares[i].upstream, upstream) == 0) {
            shares[i].weight += weight;
            return n;
        }
    }

    shares[n].upstream = upstream;
    shares[n].weight = weight;

    return n + 1;
}


static const char *
gw_dp_upstream(gw_dp_ctx_t *ctx, const gw_gbackend_t *b)
{
    size_t             i;
    const char        *name;
    gw_dp_upstream_t  *u;

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
    u->servers = gw_arena_alloc(ctx->a, (b->nendpoints + 1) * sizeof(char *));

    for (i = 0; i < b->nendpoints; i++) {
        u->servers[i] = gw_arena_printf(ctx->a,
                                        b->endpoints[i].is_v6 ? "[%s]:%d"
                                                              : "%s:%d",
                                        b->endpoints[i].address,
                                        b->endpoints[i].port);
    }

    gw_map_put(&ctx->upstreams, name, u);
    gw_ptrs_push(ctx->a, &ctx->dp->upstreams, u);

    return name;
}


static gw_dp_split_t *
gw_dp_split(gw_dp_ctx_t *ctx, gw_dp_share_t *shares, size_t n, long total)
{
    size_t          i;
    gw_buf_t        key;
    const char     *k;
    gw_dp_split_t  *s;

    gw_buf_init(&key);
    for (i = 0; i < n; i++) {
        gw_buf_printf(&key, "%s:%d,", shares[i].upstream, shares[i].weight);
    }
    k = gw_arena_strndup(ctx->a, key.data, key.len);
    gw_buf_free(&key);

    s = gw_map_get(&ctx->splits, k);
    if (s != NULL) {
        return s;
    }

    s = gw_arena_alloc(ctx->a, sizeof(gw_dp_split_t));
    s->var = gw_arena_printf(ctx->a, "gw_split_%zu", ctx->dp->splits.n);
    s->shares = shares;
    s->nshares = n;
    s->total = total;

    gw_map_put(&ctx->splits, k, s);
    gw_ptrs_push(ctx->a, &ctx->dp->splits, s);

    return s;
}


void
gw_dp_rule_target(gw_dp_ctx_t *ctx, const gw_grule_t *rule,
    gw_dp_target_t *t)
{
    size_t               i, n;
    long                 total;
    const char          *up;
    gw_dp_share_t       *shares;
    const gw_gbackend_t *b;

    memset(t, 0, sizeof(gw_dp_target_t));

    shares = gw_arena_alloc(ctx->a, (rule->nbackends + 1)
                                    * sizeof(gw_dp_share_t));
    n = 0;
    total = 0;

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];
        if (b->weight == 0) {
            continue;
        }

        /* an invalid backend's share of the traffic answers 500 */
        up = b->valid ? gw_dp_upstream(ctx, b) : GW_UPSTREAM_500;
        total += b->weight;
        n = gw_dp_share_add(shares, n, up, b->weight);
    }

    if (n == 0) {
        t->status = 500;            /* no backendRefs, or all weights 0 */
        return;
    }

    if (n == 1) {
        if (strcmp(shares[0].upstream, GW_UPSTREAM_500) == 0) {
            t->status = 500;
        } else {
            t->upstream = shares[0].upstream;
        }
        return;
    }

    t->split = gw_dp_split(ctx, shares, n, total);
}
