/*
 * ngx-gateway: GRPCRoutes on HTTPS listeners.
 *
 * A gRPC call is an HTTP/2 POST to /SERVICE/METHOD, so each match of a
 * GRPCRoute rule is written as the HTTPRoute match it amounts to and
 * joins the server's candidates (match.c), in the same precedence order:
 *
 *   method Exact service and method    path Exact /SERVICE/METHOD
 *   method Exact service only          PathPrefix /SERVICE
 *   method Exact method only           path~/[^/]+/METHOD
 *   method RegularExpression           path~/(?:S)/(?:M), an absent
 *                                      part being [^/]+
 *   no method                          PathPrefix /
 *
 * and header matches as an HTTPRoute's.  A rule without matches matches
 * every call.  What the rule does is the location's grpc_pass, to one
 * upstream or to a weighted split; a rule without a usable backend
 * answers UNAVAILABLE (14) as a gRPC status: HTTP 200, content-type
 * application/grpc and a grpc-status trailer (add_trailer; a 204 would
 * lose its content-type, which grpc-go insists on).  A call no match
 * takes gets UNIMPLEMENTED (12) from our module, in the dispatcher or the
 * server's last location (gateway_match_grpc_status, gateway_match_none,
 * in servers with GRPCRoutes, render/render_server.c): a Trailers-Only
 * answer, after the call's body is discarded (a grpc-status through
 * error_page made nginx 1.22 reset the stream when the call had a body).
 * Requests that are not gRPC calls keep the 404.
 *
 * The graph does not check GRPCRoute matches yet, so this file does what
 * nginx needs: a match that could not be written safely (a service or
 * method outside the gRPC name characters, a regex PCRE2 refuses, a
 * header name nginx never sees) is left out, and its rule serves only
 * its other matches.
 */

#include <string.h>

#include "dataplane/dataplane_int.h"
#include "validate/regex.h"

#define GW_GRPC_FIELD_MAX  4000


/* 1 when s is a gRPC name: letters, digits, '_', and '.' if dots. */
static int
gw_dp_grpc_name(const char *s, int dots)
{
    if (s[0] == '\0') {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '_'
              || (dots && *s == '.')))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * 1 when a field's value can be written: no control characters, and
 * short enough for nginx's configuration once quoted.
 */
static int
gw_dp_grpc_value(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 0;
        }
        n += (*s == '"' || *s == '\\') ? 2 : 1;
    }

    return n < GW_GRPC_FIELD_MAX - sizeof("header~=") - 256;
}


/* 1 when header match h can be a gateway_match field (see route.c). */
static int
gw_dp_grpc_header(const gw_kv_match_t *h)
{
    const char  *p;
    gw_err_t     err;

    if (h->name[0] == '\0' || strlen(h->name) > 256) {
        return 0;
    }

    /* nginx ignores request headers named other than [A-Za-z0-9-] */
    for (p = h->name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return 0;
        }
    }

    if (!gw_dp_grpc_value(h->value)) {
        return 0;
    }

    if (strcmp(h->type, "Exact") == 0) {
        return 1;
    }

    return strcmp(h->type, "RegularExpression") == 0
           && gw_valid_regex(h->value, &err) == GW_OK;
}


/*
 * The HTTPRoute match gm amounts to, in *m (*prefix: its normalised
 * PathPrefix, or NULL).  GW_ERR when it cannot be written safely.
 */
static int
gw_dp_grpc_match(gw_dp_ctx_t *ctx, const gw_grpc_match_t *gm,
    gw_http_match_t *m, const char **prefix)
{
    size_t                   i;
    gw_err_t                 err;
    const char              *svc, *meth;
    const gw_grpc_method_t  *gmm;

    memset(m, 0, sizeof(gw_http_match_t));
    *prefix = NULL;

    for (i = 0; gm != NULL && i < gm->nheaders; i++) {
        if (!gw_dp_grpc_header(&gm->headers[i])) {
            return GW_ERR;
        }
    }

    if (gm != NULL) {
        m->headers = gm->headers;
        m->nheaders = gm->nheaders;
    }

    gmm = gm != NULL ? gm->method : NULL;

    if (gmm == NULL) {
        m->path_type = GW_PATH_PREFIX;
        m->path = "/";
        *prefix = "/";
        return GW_OK;
    }

    svc = gmm->service;
    meth = gmm->method;

    if (gmm->type == NULL || strcmp(gmm->type, "Exact") == 0) {
        if ((svc != NULL && !gw_dp_grpc_name(svc, 1))
            || (meth != NULL && !gw_dp_grpc_name(meth, 0)))
        {
            return GW_ERR;
        }

        if (svc != NULL && meth != NULL) {
            m->path_type = GW_PATH_EXACT;
            m->path = gw_arena_printf(ctx->a, "/%s/%s", svc, meth);

        } else if (svc != NULL) {
            m->path_type = GW_PATH_PREFIX;
            m->path = gw_arena_printf(ctx->a, "/%s", svc);
            *prefix = m->path;

        } else {
            m->path_type = GW_PATH_REGEX;
            m->path = gw_arena_printf(ctx->a, "/[^/]+/%s", meth);
        }

        return GW_OK;
    }

    if (strcmp(gmm->type, "RegularExpression") != 0
        || (svc != NULL && !gw_dp_grpc_value(svc))
        || (meth != NULL && !gw_dp_grpc_value(meth)))
    {
        return GW_ERR;
    }

    m->path_type = GW_PATH_REGEX;
    m->path = gw_arena_printf(ctx->a, "/(?:%s)/(?:%s)",
                              svc != NULL ? svc : "[^/]+",
                              meth != NULL ? meth : "[^/]+");

    if (!gw_dp_grpc_value(m->path) || gw_valid_regex(m->path, &err) != GW_OK)
    {
        return GW_ERR;
    }

    return GW_OK;
}


void
gw_dp_grpc_rule(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_groute_t *r,
    const gw_grule_t *rule, int tier)
{
    size_t                   i, n;
    const char              *prefix, *target;
    gw_dp_target_t           t;
    gw_http_match_t          m;
    gw_dp_location_t        *loc;
    const gw_grpc_rule_t    *spec;
    const gw_grpc_match_t   *gm;

    spec = &r->obj->u.grpcroute.rules[rule->index];

    gw_dp_rule_target(ctx, rule, &t);

    /* no matches: one that matches every call */
    n = spec->nmatches > 0 ? spec->nmatches : 1;

    for (i = 0; i < n; i++) {
        gm = spec->nmatches > 0 ? &spec->matches[i] : NULL;

        target = gw_dp_target_name(ctx, r, rule->index, i);
        if (gw_map_get(s->by_target, target) != NULL) {
            continue;
        }

        if (gw_dp_grpc_match(ctx, gm, &m, &prefix) != GW_OK) {
            continue;
        }

        loc = gw_arena_alloc(ctx->a, sizeof(gw_dp_location_t));
        loc->path = target;
        loc->route = gw_arena_printf(ctx->a, "%s/%s",
                                     r->obj->meta.namespace,
                                     r->obj->meta.name);
        loc->rule = rule->index;
        loc->match = i;
        loc->grpc = 1;
        loc->status = t.status;
        loc->upstream = t.upstream;
        loc->split = t.split;
        loc->tls = t.tls;

        gw_dp_grpc_filters(ctx, spec, loc);
        gw_dp_candidate_add(ctx, s, &m, tier, prefix, loc, target);
    }
}
