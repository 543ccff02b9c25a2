/*
 * ngx-gateway: the rules of GRPCRoutes, TLSRoutes, TCPRoutes and
 * UDPRoutes.  The graph resolves their attachment and backends like an
 * HTTPRoute's.  stream{} serves the L4 kinds (dataplane/stream.c);
 * GRPCRoutes are served on HTTPS listeners (dataplane/grpc.c), so a
 * GRPCRoute rule nginx could not carry as written is refused here, with
 * the reason in the route's status.
 */

#include <string.h>

#include "dataplane/filter.h"
#include "graph/graph.h"
#include "validate/names.h"
#include "validate/regex.h"


/* 1 when every character of s is a letter, a digit or one of extra. */
static int
gw_chars_ok(const char *s, const char *extra)
{
    for ( ; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
        {
            return 0;
        }
    }

    return 1;
}


/* A part of a gRPC method match (service or method); NULL when usable. */
static const char *
gw_grpc_part_check(gw_graph_t *g, const char *type, const char *what,
    const char *value, const char *extra)
{
    gw_err_t  err;

    if (value == NULL) {
        return NULL;
    }

    if (strcmp(type, "RegularExpression") == 0) {
        if (gw_valid_regex(value, &err) != GW_OK) {
            return gw_arena_printf(g->arena, "%s regex: %s", what, err.msg);
        }
        return NULL;
    }

    if (!gw_chars_ok(value, extra)) {
        return gw_arena_printf(g->arena, "%s \"%s\" has characters a gRPC "
                               "%s cannot have", what, value, what);
    }

    return NULL;
}


/* Why a GRPCRoute rule cannot be served as written, or NULL. */
static const char *
gw_grpc_rule_check(gw_graph_t *g, const gw_grpc_rule_t *rule)
{
    size_t                  i;
    const char             *why;
    gw_dp_filters_t         filters;
    const gw_grpc_match_t  *m;

    why = gw_dp_grpc_filters_check(g->arena, rule, &filters);
    if (why != NULL) {
        return why;
    }

    for (i = 0; i < rule->nmatches; i++) {
        m = &rule->matches[i];

        if (m->method != NULL) {
            why = gw_grpc_part_check(g, m->method->type, "service",
                                     m->method->service, "._");
            if (why == NULL) {
                why = gw_grpc_part_check(g, m->method->type, "method",
                                         m->method->method, "_");
            }
            if (why != NULL) {
                return gw_arena_printf(g->arena, "match %zu: %s", i, why);
            }
        }

        /* the headers as an HTTPRoute's (graph/route.c) */
        why = gw_match_kv_check(g, m->headers, m->nheaders, 1);
        if (why != NULL) {
            return gw_arena_printf(g->arena, "match %zu: %s", i, why);
        }
    }

    return NULL;
}


/*
 * 1 when rule index of GRPCRoute route has sessionPersistence, which the
 * data plane does not carry for gRPC (it is not decoded for GRPCRoutes:
 * read from the object as given).
 */
static int
gw_grpc_rule_session(const gw_obj_t *route, size_t index)
{
    const cJSON  *spec, *rules, *rule;

    spec = cJSON_GetObjectItemCaseSensitive(route->json, "spec");
    rules = cJSON_GetObjectItemCaseSensitive(spec, "rules");
    rule = cJSON_GetArrayItem(rules, (int) index);

    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
                              rule, "sessionPersistence"));
}


void
gw_route_rules_other(gw_graph_t *g, gw_groute_t *r)
{
    size_t                 i;
    gw_err_t               err;
    gw_grule_t            *gr;
    const gw_l4route_t    *l4;
    const gw_grpcroute_t  *grpc;

    for (i = 0; i < r->nhostnames; i++) {
        if (gw_valid_hostname(r->hostnames[i], 1, &err) != GW_OK) {
            r->invalid = gw_arena_strdup(g->arena, err.msg);
            return;
        }
    }

    grpc = r->kind == GW_KIND_GRPCROUTE ? &r->obj->u.grpcroute : NULL;
    l4 = r->kind == GW_KIND_GRPCROUTE ? NULL : &r->obj->u.l4route;

    r->nrules = grpc ? grpc->nrules : l4->nrules;
    r->rules = gw_arena_alloc(g->arena, (r->nrules + 1) * sizeof(gw_grule_t));

    for (i = 0; i < r->nrules; i++) {
        gr = &r->rules[i];
        gr->index = i;
        gr->backend_refs = grpc ? grpc->rules[i].backends
                                : l4->rules[i].backends;
        gr->nbackend_refs = grpc ? grpc->rules[i].nbackends
                                 : l4->rules[i].nbackends;
        gr->invalid_reason = grpc ? gw_grpc_rule_check(g, &grpc->rules[i])
                                  : NULL;
        if (grpc != NULL && gr->invalid_reason == NULL
            && gw_grpc_rule_session(r->obj, i))
        {
            gr->invalid_reason = "sessionPersistence is not supported on "
                                 "GRPCRoutes";
        }
        gr->valid = (gr->invalid_reason == NULL);
        r->nvalid_rules += gr->valid;

        if (!gr->valid) {
            gw_route_drop_rule(g, r, gr);
        }
    }
}
