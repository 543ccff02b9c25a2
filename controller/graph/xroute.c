/*
 * ngx-gateway: the rules of GRPCRoutes, TLSRoutes, TCPRoutes and
 * UDPRoutes.  The graph resolves their attachment and backends like an
 * HTTPRoute's.  stream{} serves the L4 kinds (dataplane/stream.c); the
 * data plane does not serve GRPCRoutes yet, which the status says
 * (attach.c), so no rule is refused here for what nginx would need.
 */

#include <string.h>

#include "graph/graph.h"
#include "validate/names.h"


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
        gr->valid = 1;
        gr->backend_refs = grpc ? grpc->rules[i].backends
                                : l4->rules[i].backends;
        gr->nbackend_refs = grpc ? grpc->rules[i].nbackends
                                 : l4->rules[i].nbackends;
    }

    r->nvalid_rules = r->nrules;
}
