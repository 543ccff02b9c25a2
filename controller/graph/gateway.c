/*
 * ngx-gateway: Gateways and their listeners: addresses, supported
 * protocols and route kinds, conflicts inside a Gateway and between
 * Gateways that would need the same address and port.
 */

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


/*
 * The route kinds a listener of this protocol carries (supportedKinds
 * when allowedRoutes.kinds is omitted); 0 when the protocol is not
 * supported.  A TLS listener carries TLSRoutes in either mode: Passthrough
 * (the backend terminates) and Terminate (TLSRouteModeTerminate: nginx
 * terminates with the listener's certificates and sends the plain bytes).
 */
static size_t
gw_listener_proto_kinds(const gw_listener_t *spec, const char **kinds)
{
    const char  *p;

    p = spec->protocol;

    if (strcmp(p, "HTTP") == 0 || strcmp(p, "HTTPS") == 0) {
        kinds[0] = "HTTPRoute";
        kinds[1] = "GRPCRoute";
        return 2;
    }

    if (strcmp(p, "TLS") == 0
        && (gw_streq(spec->tls_mode, "Passthrough")
            || gw_streq(spec->tls_mode, "Terminate")))
    {
        kinds[0] = "TLSRoute";
        return 1;
    }

    if (strcmp(p, "TCP") == 0) {
        kinds[0] = "TCPRoute";
        return 1;
    }

    if (strcmp(p, "UDP") == 0) {
        kinds[0] = "UDPRoute";
        return 1;
    }

    return 0;
}


static int
gw_listener_known(const gw_listener_t *spec)
{
    static const char  *known[] = { "HTTP", "HTTPS", "TLS", "TCP", "UDP" };
    size_t              i;

    for (i = 0; i < gw_countof(known); i++) {
        if (strcmp(spec->protocol, known[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* Terminates TLS itself (HTTPS, TLS mode Terminate). */
static int
gw_listener_terminates(const gw_listener_t *spec)
{
    return strcmp(spec->protocol, "HTTPS") == 0
           || (strcmp(spec->protocol, "TLS") == 0
               && gw_streq(spec->tls_mode, "Terminate"));
}


static void
gw_listener_reject(gw_glistener_t *l, const char *reason, const char *msg)
{
    l->accepted = 0;
    gw_conds_set(&l->conds, "Accepted", 0, reason, msg);
    gw_conds_set(&l->conds, "Programmed", 0, "Invalid", msg);
}


/* allowedRoutes.kinds against what the protocol carries. */
static void
gw_listener_kinds(gw_graph_t *g, gw_glistener_t *l, const char **proto,
    size_t nproto)
{
    size_t                 i, j, k, bad;
    const char            *words;
    const gw_listener_t   *spec;

    spec = l->spec;

    if (!spec->kinds_set) {
        for (i = 0; i < nproto; i++) {
            l->kinds[l->nkinds++] = proto[i];
        }
        return;
    }

    bad = 0;
    for (i = 0; i < spec->nkinds; i++) {
        for (j = 0; j < nproto; j++) {
            if (strcmp(spec->kinds[i].group, GW_GROUP) == 0
                && strcmp(spec->kinds[i].kind, proto[j]) == 0)
            {
                break;
            }
        }

        if (j == nproto) {
            bad++;
            continue;
        }

        for (k = 0; k < l->nkinds && l->kinds[k] != proto[j]; k++) {
            /* void */
        }
        if (k == l->nkinds) {
            l->kinds[l->nkinds++] = proto[j];
        }
    }

    if (bad == 0) {
        return;
    }

    words = "none";
    for (i = 0; i < nproto; i++) {
        words = i ? gw_arena_printf(g->arena, "%s, %s", words, proto[i])
                  : proto[i];
    }

    gw_conds_set(&l->conds, "ResolvedRefs", 0, "InvalidRouteKinds",
                 gw_arena_printf(g->arena, "%zu of the allowed route kinds "
                     "are not supported on a %s listener (supported: %s)",
                     bad, spec->protocol, words));

    if (l->nkinds == 0) {
        l->accepted = 0;
        gw_conds_set(&l->conds, "Programmed", 0, "Invalid",
                     "no supported route kind is allowed");
    }
}


void
gw_listener_check(gw_graph_t *g, gw_glistener_t *l, const gw_store_t *store)
{
    size_t                 nproto;
    gw_err_t               err;
    const char            *proto[2];
    const gw_listener_t   *spec;

    spec = l->spec;
    l->accepted = 1;
    l->kinds = gw_arena_alloc(g->arena, 3 * sizeof(char *));

    gw_conds_set(&l->conds, "Accepted", 1, "Accepted",
                 "Listener is accepted");
    gw_conds_set(&l->conds, "Programmed", 1, "Programmed",
                 "Listener is programmed");
    gw_conds_set(&l->conds, "ResolvedRefs", 1, "ResolvedRefs",
                 "All references are resolved");
    gw_conds_set(&l->conds, "Conflicted", 0, "NoConflicts",
                 "No conflicts");

    if (!gw_listener_known(spec)) {
        gw_listener_reject(l, "UnsupportedProtocol",
                           gw_arena_printf(g->arena, "protocol %s is not "
                               "supported (supported: HTTP, HTTPS, TLS, "
                               "TCP, UDP)", spec->protocol));
        return;
    }

    nproto = gw_listener_proto_kinds(spec, proto);
    gw_listener_kinds(g, l, proto, nproto);

    if (gw_listener_terminates(spec)) {
        gw_listener_tls(g, l, store);
    }

    if (nproto == 0) {
        gw_listener_reject(l, "UnsupportedValue", gw_arena_printf(g->arena,
                           "TLS mode %s is not supported (supported: "
                           "Passthrough, Terminate)", spec->tls_mode));
        return;
    }

    if (spec->hostname != NULL
        && gw_valid_hostname(spec->hostname, 1, &err) != GW_OK)
    {
        gw_listener_reject(l, "UnsupportedValue", gw_arena_strdup(g->arena,
                           err.msg));
    }
}


/*
 * Why listeners a and b on one port cannot be told apart (the spec's
 * distinctness: HTTP, HTTPS and TLS by hostname, TCP and UDP by port
 * only), or NULL when they can; *reason is the Conflicted reason.
 */
static const char *
gw_listener_conflict(const gw_listener_t *a, const gw_listener_t *b,
    const char **reason)
{
    int  a_udp, b_udp, a_tcp, b_tcp, a_http, b_http;

    a_udp = strcmp(a->protocol, "UDP") == 0;
    b_udp = strcmp(b->protocol, "UDP") == 0;
    if (a_udp != b_udp) {
        return NULL;                /* UDP and TCP ports are different */
    }

    *reason = "ProtocolConflict";

    a_tcp = strcmp(a->protocol, "TCP") == 0;
    b_tcp = strcmp(b->protocol, "TCP") == 0;
    if (a_udp || a_tcp || b_tcp) {
        return a_udp || (a_tcp && b_tcp)
               ? "listeners of this protocol are told apart by port only"
               : "a TCP listener cannot share its port";
    }

    a_http = strcmp(a->protocol, "HTTP") == 0;
    b_http = strcmp(b->protocol, "HTTP") == 0;
    if (a_http != b_http) {
        return "plain HTTP and TLS cannot share a port";
    }

    /*
     * HTTPS (http{}), TLS Terminate and TLS Passthrough (stream{}) are
     * told apart by hostname (TLSRouteModeMixed): the port's front sends
     * each connection where its server name belongs (dataplane/front.c).
     */

    if (gw_streq(a->hostname, b->hostname)) {
        *reason = "HostnameConflict";
        return "both have the same hostname";
    }

    return NULL;
}


/*
 * Indistinct listeners of the Gateway are all rejected: no winner is
 * picked (spec).  A ListenerSet's listener loses to every accepted
 * listener before it: the Gateway's, then earlier ListenerSets'
 * (GEP-1713).
 */
static void
gw_gateway_conflicts(gw_graph_t *g, gw_ggateway_t *gw)
{
    size_t               i, j;
    const char          *reason, *why;
    gw_glistener_t      *a, *b;

    for (i = 0; i < gw->nlisteners; i++) {
        a = &gw->listeners[i];
        for (j = 0; j < gw->nlisteners; j++) {
            b = &gw->listeners[j];
            if (i == j || a->spec->port != b->spec->port
                || !gw_listener_known(a->spec)
                || !gw_listener_known(b->spec))
            {
                continue;
            }

            /* a ListenerSet's listener yields only to accepted ones */
            if ((j > i && j >= gw->nown) || (i >= gw->nown && !b->accepted))
            {
                continue;
            }

            why = gw_listener_conflict(a->spec, b->spec, &reason);
            if (why == NULL) {
                continue;
            }

            gw_conds_set(&a->conds, "Conflicted", 1, reason,
                         gw_arena_printf(g->arena, "listener %s conflicts "
                             "with listener %s on port %d: %s",
                             a->spec->name, b->spec->name, a->spec->port,
                             why));
            gw_listener_reject(a, reason, gw_arena_printf(g->arena,
                               "listener conflicts with listener %s on "
                               "port %d: %s", b->spec->name, a->spec->port,
                               why));
        }
    }
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
                        || !lb->accepted
                        || gw_streq(la->spec->protocol, "UDP")
                           != gw_streq(lb->spec->protocol, "UDP"))
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


/* Why the data plane does not serve a listener of this protocol yet. */
static const char *
gw_listener_unserved(const gw_listener_t *spec)
{
    /*
     * HTTP and HTTPS are served in http{}, TCP, UDP and TLS in
     * stream{} (gw_listener_stream_kind()); what the graph accepts beyond
     * that would be named here.
     */
    (void) spec;

    return NULL;
}


int
gw_listener_stream_kind(const gw_listener_t *spec, gw_kind_e *kind)
{
    if (strcmp(spec->protocol, "TCP") == 0) {
        *kind = GW_KIND_TCPROUTE;
        return 1;
    }

    if (strcmp(spec->protocol, "UDP") == 0) {
        *kind = GW_KIND_UDPROUTE;
        return 1;
    }

    if (strcmp(spec->protocol, "TLS") == 0
        && (gw_streq(spec->tls_mode, "Passthrough")
            || gw_streq(spec->tls_mode, "Terminate")))
    {
        *kind = GW_KIND_TLSROUTE;
        return 1;
    }

    return 0;
}


int
gw_listener_serves(const gw_glistener_t *l, gw_kind_e kind)
{
    gw_kind_e  carried;

    if (l->stream) {
        return gw_listener_stream_kind(l->spec, &carried) && kind == carried;
    }

    /*
     * GRPCRoutes on HTTPS where ALPN picks h2, on HTTP as h2c: the port's
     * front tells the HTTP/2 preface from HTTP/1.x (dataplane/front.h).
     */
    return l->served
           && (kind == GW_KIND_HTTPROUTE || kind == GW_KIND_GRPCROUTE);
}


/*
 * Which listeners the data plane serves: the accepted HTTP and HTTPS
 * listeners in http{} (nginx terminates TLS with the listener's
 * certificates), the accepted TCP, UDP and TLS (Passthrough and
 * Terminate) listeners in stream{}.  An accepted listener it cannot serve
 * yet is Programmed=False/Pending ("not yet online and ready to accept
 * client traffic") and says why; the Gateway is Programmed when it serves
 * at least one listener.
 */
static size_t
gw_gateway_served(gw_graph_t *g, gw_ggateway_t *gw, const char **why)
{
    size_t           i, served;
    gw_kind_e        kind;
    const char      *msg;
    gw_glistener_t  *l;

    served = 0;
    *why = NULL;

    for (i = 0; i < gw->nlisteners; i++) {
        l = &gw->listeners[i];
        if (!l->accepted) {
            continue;
        }

        if (gw_listener_stream_kind(l->spec, &kind)) {
            l->stream = 1;
            served++;
            continue;
        }

        msg = gw_listener_unserved(l->spec);
        if (msg == NULL) {
            l->served = 1;
            served++;
            continue;
        }

        gw_conds_set(&l->conds, "Programmed", 0, "Pending", msg);
        *why = *why ? gw_arena_printf(g->arena, "%s; listener %s: %s", *why,
                                      l->spec->name, msg)
                    : gw_arena_printf(g->arena, "listener %s: %s",
                                      l->spec->name, msg);
    }

    return served;
}


static void
gw_gateway_summary(gw_graph_t *g, gw_ggateway_t *gw)
{
    size_t            i, valid, served;
    const char       *why;
    const gw_cond_t  *c;

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
    for (i = 0; i < gw->nown; i++) {
        c = gw_conds_get(&gw->listeners[i].conds, "Accepted");
        valid += strcmp(c->status, "True") == 0;
    }

    if (valid == 0) {
        gw_conds_set(&gw->conds, "Accepted", 0, "ListenersNotValid",
                     "no listener is valid");
        gw_conds_set(&gw->conds, "Programmed", 0, "Invalid",
                     "no listener is valid");
        return;
    }

    gw->accepted = 1;

    if (valid < gw->nown) {
        gw_conds_set(&gw->conds, "Accepted", 1, "ListenersNotValid",
                     gw_arena_printf(g->arena, "%zu of %zu listeners are "
                         "not valid", gw->nown - valid, gw->nown));
    } else {
        gw_conds_set(&gw->conds, "Accepted", 1, "Accepted",
                     "Gateway is accepted");
    }

    served = gw_gateway_served(g, gw, &why);

    if (gw->address == NULL) {
        /* every spec.addresses entry is unusable: nothing is served */
        for (i = 0; i < gw->nlisteners; i++) {
            if (gw->listeners[i].accepted) {
                gw_conds_set(&gw->listeners[i].conds, "Programmed", 0,
                             "Pending", "the Gateway has no usable "
                             "address");
            }
        }
    }

    if (gw->address_unusable != NULL && served > 0) {
        gw_conds_set(&gw->conds, "Programmed", 0, "AddressNotUsable",
                     gw->address == NULL ? gw->address_unusable
                     : gw_arena_printf(g->arena, "%s (served at %s only)",
                                       gw->address_unusable, gw->address));
    } else if (served > 0) {
        gw_conds_set(&gw->conds, "Programmed", 1, "Programmed",
                     why == NULL ? "Gateway is programmed"
                     : gw_arena_printf(g->arena, "Gateway is programmed; "
                                       "not served: %s", why));
    } else if (why != NULL) {
        gw_conds_set(&gw->conds, "Programmed", 0, "Pending",
                     gw_arena_printf(g->arena, "no listener is served by "
                                     "the data plane: %s", why));
    } else {
        gw_conds_set(&gw->conds, "Programmed", 0, "Invalid",
                     "no listener can carry traffic (see the listeners' "
                     "conditions)");
    }
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
        gw->nown = gw->nlisteners;
        gw->listeners = gw_arena_alloc(g->arena,
                                       gw->nlisteners
                                       * sizeof(gw_glistener_t));

        for (j = 0; j < gw->nlisteners; j++) {
            gw->listeners[j].spec = &obj->u.gateway.listeners[j];
            gw->listeners[j].gateway = gw;
            gw_listener_check(g, &gw->listeners[j], store);
        }

        gw_lsets_join(g, gw, store);
        gw_gateway_conflicts(g, gw);
        gw_gateway_backend_tls(g, gw, store);

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

    gw_ptrs_sort(&g->gateways, gw_gateway_cmp);

    gw_gateways_port_clash(g);

    for (i = 0; i < g->gateways.n; i++) {
        gw_gateway_summary(g, g->gateways.items[i]);
    }

    gw_lsets_summary(g);
}
