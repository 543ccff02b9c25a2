/*
 * ngx-gateway: Gateways and their listeners: addresses, supported
 * protocols and route kinds, conflicts inside a Gateway and between
 * Gateways that would need the same address and port.
 */

#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "validate/names.h"


static gw_gclass_t *
gw_graph_class(gw_graph_t *g, const char *name)
{
    size_t        i;
    gw_gclass_t  *c;

    for (i = 0; i < g->classes.n; i++) {
        c = g->classes.items[i];
        if (strcmp(c->obj->meta.name, name) == 0) {
            return c;
        }
    }

    return NULL;
}


/* The route kind a listener of this protocol carries; NULL = unsupported. */
static const char *
gw_listener_route_kind(const char *protocol)
{
    if (strcmp(protocol, "HTTP") == 0) {
        return "HTTPRoute";
    }

    return NULL;
}


static void
gw_listener_reject(gw_glistener_t *l, const char *reason, const char *msg)
{
    l->accepted = 0;
    gw_conds_set(&l->conds, "Accepted", 0, reason, msg);
    gw_conds_set(&l->conds, "Programmed", 0, "Invalid", msg);
}


static void
gw_listener_check(gw_graph_t *g, gw_glistener_t *l)
{
    size_t                 i, bad;
    gw_err_t               err;
    const char            *kind;
    const gw_listener_t   *spec;

    spec = l->spec;
    l->accepted = 1;
    l->kinds = gw_arena_alloc(g->arena, (spec->nkinds + 1) * sizeof(char *));

    gw_conds_set(&l->conds, "Accepted", 1, "Accepted",
                 "Listener is accepted");
    gw_conds_set(&l->conds, "Programmed", 1, "Programmed",
                 "Listener is programmed");
    gw_conds_set(&l->conds, "ResolvedRefs", 1, "ResolvedRefs",
                 "All references are resolved");
    gw_conds_set(&l->conds, "Conflicted", 0, "NoConflicts",
                 "No conflicts");

    kind = gw_listener_route_kind(spec->protocol);
    if (kind == NULL) {
        gw_listener_reject(l, "UnsupportedProtocol",
                           gw_arena_printf(g->arena, "protocol %s is not "
                               "supported (supported: HTTP)",
                               spec->protocol));
        return;
    }

    if (!spec->kinds_set) {
        l->kinds[l->nkinds++] = kind;
    }

    bad = 0;
    for (i = 0; spec->kinds_set && i < spec->nkinds; i++) {
        if (strcmp(spec->kinds[i].group, GW_GROUP) == 0
            && strcmp(spec->kinds[i].kind, kind) == 0)
        {
            l->kinds[l->nkinds++] = kind;
        } else {
            bad++;
        }
    }

    if (bad > 0) {
        gw_conds_set(&l->conds, "ResolvedRefs", 0, "InvalidRouteKinds",
                     gw_arena_printf(g->arena, "%zu of the allowed route "
                         "kinds are not supported on a %s listener "
                         "(supported: %s)", bad, spec->protocol, kind));
        if (l->nkinds == 0) {
            gw_listener_reject(l, "InvalidRouteKinds",
                               "no supported route kinds are allowed");
        }
    }

    if (spec->hostname != NULL
        && gw_valid_hostname(spec->hostname, 1, &err) != GW_OK)
    {
        gw_listener_reject(l, "UnsupportedValue", gw_arena_strdup(g->arena,
                           err.msg));
    }
}


/* Listeners on one port must be distinct (protocol and hostname). */
static void
gw_gateway_conflicts(gw_graph_t *g, gw_ggateway_t *gw)
{
    size_t               i, j;
    const char          *reason;
    gw_glistener_t      *a, *b;

    for (i = 0; i < gw->nlisteners; i++) {
        a = &gw->listeners[i];
        for (j = 0; j < gw->nlisteners; j++) {
            b = &gw->listeners[j];
            if (i == j || a->spec->port != b->spec->port) {
                continue;
            }

            if (strcmp(a->spec->protocol, b->spec->protocol) != 0) {
                reason = "ProtocolConflict";
            } else if (gw_streq(a->spec->hostname, b->spec->hostname)) {
                reason = "HostnameConflict";
            } else {
                continue;
            }

            gw_conds_set(&a->conds, "Conflicted", 1, reason,
                         gw_arena_printf(g->arena, "listener %s conflicts "
                             "with listener %s on port %d", a->spec->name,
                             b->spec->name, a->spec->port));
            gw_listener_reject(a, reason, gw_arena_printf(g->arena,
                               "listener conflicts with listener %s on "
                               "port %d", b->spec->name, a->spec->port));
        }
    }
}


static void
gw_gateway_address(gw_graph_t *g, gw_ggateway_t *gw)
{
    const gw_address_t  *addr;

    gw->address = g->default_address;

    if (gw->obj->u.gateway.naddresses == 0) {
        return;
    }

    addr = &gw->obj->u.gateway.addresses[0];

    if (addr->value == NULL || addr->value[0] == '\0') {
        return;
    }

    if (strcmp(addr->type, "IPAddress") == 0 && gw_valid_ip(addr->value, NULL))
    {
        gw->address = addr->value;
        return;
    }

    gw->address = NULL;
    gw_conds_set(&gw->conds, "Accepted", 0, "UnsupportedAddress",
                 gw_arena_printf(g->arena, "address %s %s is not supported: "
                     "only IPAddress values can be used in standalone mode",
                     addr->type, addr->value));
}


/*
 * Two Gateways cannot serve the same address and port: the one that came
 * first (oldest, then namespace/name) keeps it.
 */
static void
gw_gateways_port_clash(gw_graph_t *g)
{
    size_t           i, j, k, m;
    gw_ggateway_t   *a, *b;
    gw_glistener_t  *la, *lb;

    for (i = 0; i < g->gateways.n; i++) {
        b = g->gateways.items[i];
        for (j = 0; j < i; j++) {
            a = g->gateways.items[j];
            if (a->address == NULL || b->address == NULL
                || strcmp(a->address, b->address) != 0)
            {
                continue;
            }

            for (k = 0; k < b->nlisteners; k++) {
                lb = &b->listeners[k];
                for (m = 0; m < a->nlisteners; m++) {
                    la = &a->listeners[m];
                    if (la->spec->port != lb->spec->port || !la->accepted
                        || !lb->accepted)
                    {
                        continue;
                    }

                    gw_listener_reject(lb, "PortUnavailable",
                        gw_arena_printf(g->arena, "%s:%d is already used "
                            "by Gateway %s/%s listener %s; give this "
                            "Gateway its own spec.addresses",
                            b->address, lb->spec->port,
                            a->obj->meta.namespace, a->obj->meta.name,
                            la->spec->name));
                }
            }
        }
    }
}


static void
gw_gateway_summary(gw_graph_t *g, gw_ggateway_t *gw)
{
    size_t  i, valid;

    if (gw_conds_get(&gw->conds, "Accepted") != NULL) {
        /* already refused (class, address) */
        gw->accepted = 0;
        gw_conds_set(&gw->conds, "Programmed", 0, "Invalid",
                     gw_conds_get(&gw->conds, "Accepted")->message);
        for (i = 0; i < gw->nlisteners; i++) {
            gw->listeners[i].accepted = 0;
        }
        return;
    }

    valid = 0;
    for (i = 0; i < gw->nlisteners; i++) {
        valid += gw->listeners[i].accepted;
    }

    if (valid == 0) {
        gw_conds_set(&gw->conds, "Accepted", 0, "ListenersNotValid",
                     "no listener is valid");
        gw_conds_set(&gw->conds, "Programmed", 0, "Invalid",
                     "no listener is valid");
        return;
    }

    gw->accepted = 1;

    if (valid < gw->nlisteners) {
        gw_conds_set(&gw->conds, "Accepted", 1, "ListenersNotValid",
                     gw_arena_printf(g->arena, "%zu of %zu listeners are "
                         "not valid", gw->nlisteners - valid,
                         gw->nlisteners));
    } else {
        gw_conds_set(&gw->conds, "Accepted", 1, "Accepted",
                     "Gateway is accepted");
    }

    gw_conds_set(&gw->conds, "Programmed", 1, "Programmed",
                 "Gateway is programmed");
}


static int
gw_gateway_cmp(const void *a, const void *b)
{
    const gw_ggateway_t  *x = *(gw_ggateway_t * const *) a;
    const gw_ggateway_t  *y = *(gw_ggateway_t * const *) b;

    if (gw_route_precedes(x->obj, y->obj)) {
        return -1;
    }

    return gw_route_precedes(y->obj, x->obj) ? 1 : 0;
}


void
gw_graph_gateways(gw_graph_t *g, const gw_store_t *store)
{
    size_t               i, j;
    gw_gclass_t         *c;
    gw_ggateway_t       *gw;
    const gw_obj_t      *obj;
    const gw_objlist_t  *l;

    l = gw_store_list(store, GW_KIND_GATEWAY);

    for (i = 0; i < l->n; i++) {
        obj = l->items[i];
        c = gw_graph_class(g, obj->u.gateway.class_name);
        if (c == NULL) {
            continue;                   /* not ours */
        }

        gw = gw_arena_alloc(g->arena, sizeof(gw_ggateway_t));
        gw->obj = obj;
        gw->cls = c;
        gw->nlisteners = obj->u.gateway.nlisteners;
        gw->listeners = gw_arena_alloc(g->arena,
                                       gw->nlisteners
                                       * sizeof(gw_glistener_t));

        for (j = 0; j < gw->nlisteners; j++) {
            gw->listeners[j].spec = &obj->u.gateway.listeners[j];
            gw->listeners[j].gateway = gw;
            gw_listener_check(g, &gw->listeners[j]);
        }

        gw_gateway_conflicts(g, gw);

        if (!c->accepted) {
            gw_conds_set(&gw->conds, "Accepted", 0, "Invalid",
                         gw_arena_printf(g->arena, "GatewayClass %s is not "
                             "accepted", c->obj->meta.name));
        } else if (obj->u.gateway.infra_params != NULL) {
            gw_conds_set(&gw->conds, "Accepted", 0, "InvalidParameters",
                         gw_arena_printf(g->arena, "spec.infrastructure."
                             "parametersRef %s %s: this controller takes no "
                             "infrastructure parameters; remove the "
                             "reference",
                             obj->u.gateway.infra_params->kind,
                             obj->u.gateway.infra_params->name));
        } else {
            gw_gateway_address(g, gw);
        }

        gw_ptrs_push(g->arena, &g->gateways, gw);
    }

    if (g->gateways.n > 1) {
        qsort(g->gateways.items, g->gateways.n, sizeof(void *),
              gw_gateway_cmp);
    }

    gw_gateways_port_clash(g);

    for (i = 0; i < g->gateways.n; i++) {
        gw_gateway_summary(g, g->gateways.items[i]);
    }
}
