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


/*
 * The upstream of backend b; copies > 1: a retry upstream that lists each
 * endpoint copies times (see proxy.c); session: the rule's own upstream,
 * balanced by its session key (see session.c); tls: how it is spoken to.
 */
static const char *
gw_dp_upstream(gw_dp_ctx_t *ctx, const gw_gbackend_t *b, int copies,
    const gw_dp_session_t *session, const gw_dp_backend_tls_t *tls)
{
    int                k;
    size_t             i, n;
    const char        *name, *addr;
    gw_dp_upstream_t  *u;

    /* namespace and Service names are DNS labels: '_' cannot clash */
    name = (copies > 1)
           ? gw_arena_printf(ctx->a, "%s_%s_%d_x%d", b->namespace,
                             b->ref->name, b->ref->port, copies)
           : gw_arena_printf(ctx->a, "%s_%s_%d", b->namespace, b->ref->name,
                             b->ref->port);

    if (session != NULL) {
        name = gw_arena_printf(ctx->a, "%s_%s", name, session->var);
    }

    u = gw_map_get(&ctx->upstreams, name);
    if (u != NULL) {
        return u->name;
    }

    u = gw_arena_alloc(ctx->a, sizeof(gw_dp_upstream_t));
    u->name = name;
    u->service = gw_arena_printf(ctx->a, "%s/%s:%d", b->namespace,
                                 b->ref->name, b->ref->port);
    u->nservers = b->nendpoints * (size_t) copies;
    u->retry = (copies > 1);
    if (session != NULL) {
        u->hash = gw_arena_printf(ctx->a, "%s_key", session->var);
    }
    u->tls = tls;
    u->servers = gw_arena_alloc(ctx->a, (u->nservers + 1) * sizeof(char *));

    n = 0;
    for (i = 0; i < b->nendpoints; i++) {
        addr = gw_arena_printf(ctx->a,
                               b->endpoints[i].is_v6 ? "[%s]:%d" : "%s:%d",
                               b->endpoints[i].address,
                               b->endpoints[i].port);
        for (k = 0; k < copies; k++) {
            u->servers[n++] = addr;
        }
    }

    gw_map_put(&ctx->upstreams, name, u);
    gw_ptrs_push(ctx->a, &ctx->dp->upstreams, u);

    return name;
}


const char *
gw_dp_backend_upstream(gw_dp_ctx_t *ctx, const gw_gbackend_t *b)
{
    return gw_dp_upstream(ctx, b, 1, NULL, NULL);
}


/* A weighted split of shares by key (NULL: $request_id). */
static gw_dp_split_t *
gw_dp_split(gw_dp_ctx_t *ctx, gw_dp_share_t *shares, size_t n, long total,
    const char *by)
{
    size_t          i;
    gw_buf_t        key;
    const char     *k;
    gw_dp_split_t  *s;

    gw_buf_init(&key);
    if (by != NULL) {
        gw_buf_printf(&key, "%s|", by);
    }
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
    s->key = by;
    s->shares = shares;
    s->nshares = n;
    s->total = total;

    gw_map_put(&ctx->splits, k, s);
    gw_ptrs_push(ctx->a, &ctx->dp->splits, s);

    return s;
}


/* Two backends are spoken to alike: no TLS, or the same policy's. */
static int
gw_dp_tls_same(const gw_dp_backend_tls_t *a, const gw_dp_backend_tls_t *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return a->policy == b->policy;
}


/*
 * The upstream of backend b in a rule whose location speaks *tls to its
 * backends (*first: no backend decided it yet), or GW_UPSTREAM_500: b is
 * invalid, policies target it but none applies, or it needs TLS settings
 * other than the location's (see backend_tls.c).
 */
static const char *
gw_dp_rule_upstream(gw_dp_ctx_t *ctx, const gw_gbackend_t *b, int copies,
    const gw_dp_session_t *session, const gw_dp_backend_tls_t **tls,
    int *first)
{
    const gw_dp_backend_tls_t  *bt;

    if (!b->valid || gw_dp_backend_tls(ctx, b, &bt) != GW_OK) {
        return GW_UPSTREAM_500;
    }

    if (*first) {
        *tls = bt;
        *first = 0;

    } else if (!gw_dp_tls_same(*tls, bt)) {
        return GW_UPSTREAM_500;
    }

    return gw_dp_upstream(ctx, b, copies, session, bt);
}


/*
 * 1 when the request headers of rule depend on the backendRef chosen:
 * several backendRefs, one with a RequestHeaderModifier (filter.c).
 */
static int
gw_dp_rule_labelled(const gw_grule_t *rule)
{
    size_t                   i, j;
    const gw_backend_ref_t  *b;

    if (rule->spec == NULL || rule->nbackends < 2) {
        return 0;
    }

    for (i = 0; i < rule->nbackends; i++) {
        b = rule->backends[i].ref;
        for (j = 0; j < b->nfilters; j++) {
            if (b->filters[j].kind == GW_FILTER_REQUEST_HEADER) {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * A labelled split: one share per backendRef, even of the same upstream,
 * never shared with another rule (its header maps are the rule's).
 */
static gw_dp_split_t *
gw_dp_split_labelled(gw_dp_ctx_t *ctx, gw_dp_share_t *shares, size_t n,
    long total, const char *by)
{
    gw_dp_split_t  *s;

    s = gw_arena_alloc(ctx->a, sizeof(gw_dp_split_t));
    s->var = gw_arena_printf(ctx->a, "gw_split_%zu", ctx->dp->splits.n);
    s->key = by;
    s->shares = shares;
    s->nshares = n;
    s->total = total;
    s->labelled = 1;

    gw_ptrs_push(ctx->a, &ctx->dp->splits, s);

    return s;
}


void
gw_dp_rule_target(gw_dp_ctx_t *ctx, const gw_grule_t *rule,
    gw_dp_target_t *t)
{
    int                    copies, first, labelled;
    size_t                 i, n;
    long                   total;
    const char            *up, *by;
    gw_dp_share_t         *shares;
    const gw_gbackend_t   *b;
    const gw_dp_session_t *session;

    memset(t, 0, sizeof(gw_dp_target_t));

    copies = 1;
    session = NULL;
    if (rule->spec != NULL) {
        t->proxy = gw_dp_proxy(ctx, rule, &copies);
        if (t->proxy != NULL) {
            session = t->proxy->session;
        }
    }

    shares = gw_arena_alloc(ctx->a, (rule->nbackends + 1)
                                    * sizeof(gw_dp_share_t));
    n = 0;
    total = 0;
    first = 1;
    labelled = gw_dp_rule_labelled(rule);

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];
        if (b->weight == 0) {
            continue;
        }

        /* an invalid backend's share of the traffic answers 500 */
        up = gw_dp_rule_upstream(ctx, b, copies, session, &t->tls, &first);
        total += b->weight;

        if (!labelled) {
            n = gw_dp_share_add(shares, n, up, b->weight);
            continue;
        }

        shares[n].upstream = up;
        shares[n].weight = b->weight;
        shares[n].backend = i;
        n++;
    }

    if (n == 0) {
        t->status = 500;            /* no backendRefs, or all weights 0 */
        return;
    }

    /* a session keeps its backend while the weights stay (session.c) */
    by = session ? gw_arena_printf(ctx->a, "%s_key", session->var) : NULL;

    if (labelled && (n > 1 || strcmp(shares[0].upstream, GW_UPSTREAM_500)
                              != 0))
    {
        t->split = gw_dp_split_labelled(ctx, shares, n, total, by);
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

    t->split = gw_dp_split(ctx, shares, n, total, by);
}
