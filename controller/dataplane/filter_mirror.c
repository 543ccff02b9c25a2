/*
 * ngx-gateway: RequestMirror for nginx.
 *
 * The rule's locations name one internal location per mirror in nginx's
 * `mirror` (several may be given); nginx sends it a background
 * subrequest, with the request's body, whose response it discards, so
 * the client's answer does not depend on the mirror's backend.  The
 * internal location (rendered once per server) passes the request on
 * with its original URI and the rule's request headers; for a share below
 * 100% it answers 204 itself, unproxied, for the requests a split_clients
 * on the request's id ($gw_mirror_<bp>) leaves out.
 *
 * A mirror whose backendRef the graph could not resolve, or whose Service
 * a BackendTLSPolicy targets (the mirror speaks plain HTTP), or that
 * mirrors no request, is left out; the rule serves as without it.
 */

#include <string.h>

#include "dataplane/dataplane_int.h"

#define GW_DP_MIRROR_ALL  10000


const char *
gw_dp_mirror_check(gw_arena_t *a, const gw_mirror_t *m)
{
    if (m->denominator <= 0 || m->numerator < 0
        || m->numerator > m->denominator)
    {
        return gw_arena_printf(a, "RequestMirror: fraction %d/%d must be "
                               "between 0 and 1", m->numerator,
                               m->denominator);
    }

    return NULL;
}


/* The share m mirrors in basis points (rounded down; 1/3 is 33.33%). */
static int
gw_dp_mirror_bp(const gw_mirror_t *m)
{
    return (int) ((long long) m->numerator * GW_DP_MIRROR_ALL
                  / m->denominator);
}


/* Lists m as the first mirror of its share (dp->mirror_shares, by bp). */
static void
gw_dp_mirror_share(gw_dp_ctx_t *ctx, gw_dp_mirror_t *m)
{
    size_t           i;
    gw_ptrs_t       *l;
    gw_dp_mirror_t  *e;

    l = &ctx->dp->mirror_shares;

    for (i = 0; i < l->n; i++) {
        e = l->items[i];
        if (e->bp == m->bp) {
            return;
        }
        if (e->bp > m->bp) {
            break;
        }
    }

    gw_ptrs_push(ctx->a, l, m);
    memmove(&l->items[i + 1], &l->items[i], (l->n - 1 - i) * sizeof(void *));
    l->items[i] = m;
}


/* Server s's internal location for mirror i of rule, made once. */
static gw_dp_mirror_t *
gw_dp_mirror(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_groute_t *r,
    const gw_grule_t *rule, size_t i, const gw_dp_location_t *loc)
{
    size_t               k;
    const char          *key, *path;
    gw_dp_mirror_t      *m;
    const gw_gmirror_t  *gm;

    gm = &rule->mirrors[i];

    /*
     * numbered in the order the data plane meets them (the same in every
     * server), so that no name is written in the path
     */
    key = gw_arena_printf(ctx->a, "%s/%s %zu %zu", r->obj->meta.namespace,
                          r->obj->meta.name, rule->index, i);
    path = gw_map_get(&ctx->mirrors, key);
    if (path == NULL) {
        path = gw_arena_printf(ctx->a, "/_gw_mirror/%zu", ctx->nmirrors++);
        gw_map_put(&ctx->mirrors, key, (void *) path);
    }

    for (k = 0; k < s->mirrors.n; k++) {
        m = s->mirrors.items[k];
        if (strcmp(m->path, path) == 0) {
            return m;
        }
    }

    m = gw_arena_alloc(ctx->a, sizeof(gw_dp_mirror_t));
    m->path = path;
    m->route = loc->route;
    m->rule = rule->index;
    m->service = gw_arena_printf(ctx->a, "%s/%s:%d", gm->backend.namespace,
                                 gm->backend.ref->name,
                                 gm->backend.ref->port);
    m->upstream = gw_dp_backend_upstream(ctx, &gm->backend);
    m->bp = gw_dp_mirror_bp(gm->spec);
    m->host = loc->host;
    m->request = loc->request;

    gw_ptrs_push(ctx->a, &s->mirrors, m);

    if (m->bp < GW_DP_MIRROR_ALL) {
        gw_dp_mirror_share(ctx, m);
    }

    return m;
}


void
gw_dp_mirrors(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_groute_t *r,
    const gw_grule_t *rule, gw_dp_location_t *loc)
{
    size_t               i;
    const gw_gmirror_t  *gm;

    /* a redirect or a status answers before nginx would mirror */
    if (rule->nmirrors == 0 || loc->redirect != NULL || loc->status != 0) {
        return;
    }

    loc->mirrors = gw_arena_alloc(ctx->a,
                                  rule->nmirrors * sizeof(gw_dp_mirror_t *));

    for (i = 0; i < rule->nmirrors; i++) {
        gm = &rule->mirrors[i];

        if (!gm->backend.valid || gw_dp_mirror_check(ctx->a, gm->spec) != NULL
            || gw_dp_mirror_bp(gm->spec) == 0
            || gw_policy_targeted(ctx->g, &gm->backend))
        {
            continue;
        }

        loc->mirrors[loc->nmirrors++] = gw_dp_mirror(ctx, s, r, rule, i, loc);
    }
}
