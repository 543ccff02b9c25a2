/*
 * ngx-gateway: backendRefs -> Services -> EndpointSlices, and
 * ReferenceGrants for references that cross namespaces.
 */

#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "validate/names.h"


int
gw_refgrant_allows(const gw_store_t *store, const char *from_group,
    const char *from_kind, const char *from_ns, const char *to_group,
    const char *to_kind, const char *to_ns, const char *to_name)
{
    size_t                i, j, k;
    const gw_obj_t       *obj;
    const gw_refgrant_t  *rg;
    const gw_objlist_t   *l;

    l = gw_store_list(store, GW_KIND_REFERENCEGRANT);

    for (i = 0; i < l->n; i++) {
        obj = l->items[i];
        if (strcmp(obj->meta.namespace, to_ns) != 0) {
            continue;
        }
        rg = &obj->u.refgrant;

        for (j = 0; j < rg->nfrom; j++) {
            if (strcmp(rg->from[j].group, from_group) != 0
                || strcmp(rg->from[j].kind, from_kind) != 0
                || strcmp(rg->from[j].namespace, from_ns) != 0)
            {
                continue;
            }

            for (k = 0; k < rg->nto; k++) {
                if (strcmp(rg->to[k].group, to_group) == 0
                    && strcmp(rg->to[k].kind, to_kind) == 0
                    && (rg->to[k].name == NULL
                        || strcmp(rg->to[k].name, to_name) == 0))
                {
                    return 1;
                }
            }
        }
    }

    return 0;
}


static int
gw_endpoint_cmp(const void *a, const void *b)
{
    const gw_endpoint_addr_t  *x = a;
    const gw_endpoint_addr_t  *y = b;
    int                        rc;

    rc = strcmp(x->address, y->address);
    if (rc != 0) {
        return rc;
    }

    return x->port - y->port;
}


/*
 * The EndpointSlices of Service ns/svc (label kubernetes.io/service-name),
 * or NULL; indexed once per graph.
 */
static const gw_ptrs_t *
gw_graph_slices(gw_graph_t *g, const gw_store_t *store, const char *ns,
    const char *svc)
{
    size_t               i;
    char                *key;
    gw_ptrs_t           *list;
    const gw_obj_t      *obj;
    const gw_objlist_t  *all;

    if (g->slices == NULL) {
        g->slices = gw_arena_alloc(g->arena, sizeof(gw_map_t));
        gw_map_init(g->slices, g->arena);

        all = gw_store_list(store, GW_KIND_ENDPOINTSLICE);
        for (i = 0; i < all->n; i++) {
            obj = all->items[i];
            if (obj->u.endpointslice.service_name == NULL) {
                continue;
            }
            key = gw_arena_printf(g->arena, "%s/%s", obj->meta.namespace,
                                  obj->u.endpointslice.service_name);
            list = gw_map_get(g->slices, key);
            if (list == NULL) {
                list = gw_arena_alloc(g->arena, sizeof(gw_ptrs_t));
                gw_map_put(g->slices, key, list);
            }
            gw_ptrs_push(g->arena, list, (void *) obj);
        }
    }

    key = gw_arena_printf(g->arena, "%s/%s", ns, svc);

    return gw_map_get(g->slices, key);
}


/* Ready endpoints of the Service port, from the Service's EndpointSlices. */
static void
gw_backend_endpoints(gw_graph_t *g, gw_gbackend_t *b, const char *svc,
    const gw_store_t *store)
{
    int                        port, v6;
    size_t                     i, j, k, m, cap;
    const gw_obj_t            *obj;
    const gw_ptrs_t           *l;
    gw_endpoint_addr_t        *out;
    const gw_endpointslice_t  *es;

    l = gw_graph_slices(g, store, b->namespace, svc);
    cap = 0;
    out = NULL;

    for (i = 0; l != NULL && i < l->n; i++) {
        obj = l->items[i];
        es = &obj->u.endpointslice;
        if ((strcmp(es->address_type, "IPv4") != 0
                && strcmp(es->address_type, "IPv6") != 0))
        {
            continue;
        }

        /* The slice names its ports after the Service's ports. */
        port = 0;
        for (j = 0; j < es->nports; j++) {
            if (strcmp(es->ports[j].name, b->svc_port->name) == 0) {
                port = es->ports[j].port;
                break;
            }
        }
        if (es->nports == 0) {
            port = b->svc_port->target_port;
        }
        if (port == 0) {
            continue;
        }

        for (j = 0; j < es->nendpoints; j++) {
            if (!es->endpoints[j].ready) {
                continue;
            }
            for (k = 0; k < es->endpoints[j].naddresses; k++) {
                if (!gw_valid_ip(es->endpoints[j].addresses[k], &v6)) {
                    continue;
                }
                if (b->nendpoints == cap) {
                    cap = cap ? cap * 2 : 4;
                    out = gw_arena_alloc(g->arena,
                                         cap * sizeof(gw_endpoint_addr_t));
                    if (b->nendpoints > 0) {
                        memcpy(out, b->endpoints,
                               b->nendpoints * sizeof(gw_endpoint_addr_t));
                    }
                    b->endpoints = out;
                }
                out[b->nendpoints].address = es->endpoints[j].addresses[k];
                out[b->nendpoints].port = port;
                out[b->nendpoints].is_v6 = v6;
                b->nendpoints++;
            }
        }
    }

    if (b->nendpoints < 2) {
        return;
    }

    qsort(b->endpoints, b->nendpoints, sizeof(gw_endpoint_addr_t),
          gw_endpoint_cmp);

    /* the same address may appear in several slices */
    m = 1;
    for (i = 1; i < b->nendpoints; i++) {
        if (gw_endpoint_cmp(&b->endpoints[i], &b->endpoints[m - 1]) != 0) {
            b->endpoints[m++] = b->endpoints[i];
        }
    }
    b->nendpoints = m;
}


/* Resolves one backendRef; returns NULL or the failure (reason, message). */
static const char *
gw_backend_resolve(gw_graph_t *g, const gw_groute_t *r, gw_gbackend_t *b,
    const gw_store_t *store, const char **message)
{
    size_t                   i;
    const gw_obj_t          *svc;
    const gw_backend_ref_t  *ref;

    ref = b->ref;

    if (ref->group[0] != '\0' || strcmp(ref->kind, "Service") != 0) {
        *message = gw_arena_printf(g->arena, "backendRef %s: kind %s%s%s is "
                                   "not supported", ref->name, ref->group,
                                   ref->group[0] ? "/" : "", ref->kind);
        return "InvalidKind";
    }

    if (strcmp(b->namespace, r->obj->meta.namespace) != 0
        && !gw_refgrant_allows(store, GW_GROUP, r->kind_name,
                               r->obj->meta.namespace, "", "Service",
                               b->namespace, ref->name))
    {
        *message = gw_arena_printf(g->arena, "backendRef %s/%s: no "
                                   "ReferenceGrant in namespace %s allows "
                                   "%ss from namespace %s to refer to it",
                                   b->namespace, ref->name, b->namespace,
                                   r->kind_name, r->obj->meta.namespace);
        return "RefNotPermitted";
    }

    svc = gw_store_get(store, GW_KIND_SERVICE, b->namespace, ref->name);
    if (svc == NULL) {
        *message = gw_arena_printf(g->arena, "backendRef %s/%s: Service not "
                                   "found", b->namespace, ref->name);
        return "BackendNotFound";
    }

    for (i = 0; i < svc->u.service.nports; i++) {
        if (svc->u.service.ports[i].port == ref->port) {
            b->svc_port = &svc->u.service.ports[i];
            break;
        }
    }

    if (b->svc_port == NULL) {
        *message = gw_arena_printf(g->arena, "backendRef %s/%s: Service has "
                                   "no port %d", b->namespace, ref->name,
                                   ref->port);
        return "BackendNotFound";
    }

    /* a UDPRoute needs a UDP port, every other kind a TCP one */
    if (gw_streq(b->svc_port->protocol, "UDP")
        != (r->kind == GW_KIND_UDPROUTE))
    {
        *message = gw_arena_printf(g->arena, "backendRef %s/%s: Service "
                                   "port %d is %s; a %s needs %s",
                                   b->namespace, ref->name, ref->port,
                                   b->svc_port->protocol, r->kind_name,
                                   r->kind == GW_KIND_UDPROUTE
                                   ? "UDP" : "TCP");
        b->svc_port = NULL;
        return "UnsupportedProtocol";
    }

    if (r->kind == GW_KIND_HTTPROUTE) {
        *message = gw_backend_app_protocol_check(g, b->svc_port);
        if (*message != NULL) {
            *message = gw_arena_printf(g->arena, "backendRef %s/%s: %s",
                                       b->namespace, ref->name, *message);
            b->svc_port = NULL;
            return "UnsupportedProtocol";
        }
    }

    gw_backend_endpoints(g, b, ref->name, store);

    return NULL;
}


/*
 * The RequestMirror filters of an HTTPRoute rule: each backendRef resolved
 * as a backendRef is (kind, ReferenceGrant, Service port, endpoints);
 * returns the first failure's reason (and *message), or NULL.
 */
static const char *
gw_graph_mirrors(gw_graph_t *g, gw_groute_t *r, gw_grule_t *rule,
    const gw_store_t *store, const char **message)
{
    size_t                   i, n;
    const char              *reason, *first, *msg;
    gw_gmirror_t            *m;
    gw_backend_ref_t        *ref;
    const gw_http_filter_t  *f;

    if (rule->spec == NULL) {
        return NULL;
    }

    n = 0;
    for (i = 0; i < rule->spec->nfilters; i++) {
        n += (rule->spec->filters[i].kind == GW_FILTER_REQUEST_MIRROR);
    }

    if (n == 0) {
        return NULL;
    }

    rule->mirrors = gw_arena_alloc(g->arena, n * sizeof(gw_gmirror_t));
    first = NULL;

    for (i = 0; i < rule->spec->nfilters; i++) {
        f = &rule->spec->filters[i];
        if (f->kind != GW_FILTER_REQUEST_MIRROR) {
            continue;
        }

        ref = gw_arena_alloc(g->arena, sizeof(gw_backend_ref_t));
        ref->group = f->mirror->backend.group;
        ref->kind = f->mirror->backend.kind;
        ref->name = f->mirror->backend.name;
        ref->namespace = f->mirror->backend.namespace;
        ref->port = f->mirror->port;
        ref->weight = 1;

        m = &rule->mirrors[rule->nmirrors++];
        m->spec = f->mirror;
        m->backend.ref = ref;
        m->backend.weight = 1;
        m->backend.namespace = ref->namespace ? ref->namespace
                                              : r->obj->meta.namespace;

        msg = NULL;
        reason = gw_backend_resolve(g, r, &m->backend, store, &msg);
        m->backend.valid = (reason == NULL);

        if (reason != NULL && first == NULL) {
            first = reason;
            *message = gw_arena_printf(g->arena, "RequestMirror %s", msg);
        }
    }

    return first;
}


void
gw_graph_backends(gw_graph_t *g, gw_groute_t *r, const gw_store_t *store)
{
    size_t          i, j;
    const char     *reason, *message, *first_reason, *first_message;
    gw_grule_t     *rule;
    gw_gbackend_t  *b;

    first_reason = NULL;
    first_message = NULL;

    for (i = 0; i < r->nrules; i++) {
        rule = &r->rules[i];
        if (rule->spec != NULL) {
            rule->backend_refs = rule->spec->backends;
            rule->nbackend_refs = rule->spec->nbackends;
        }

        rule->nbackends = rule->nbackend_refs;
        rule->backends = gw_arena_alloc(g->arena, (rule->nbackends + 1)
                                                  * sizeof(gw_gbackend_t));

        for (j = 0; j < rule->nbackends; j++) {
            b = &rule->backends[j];
            b->ref = &rule->backend_refs[j];
            b->weight = b->ref->weight;
            b->namespace = b->ref->namespace ? b->ref->namespace
                                             : r->obj->meta.namespace;

            message = NULL;
            reason = gw_backend_resolve(g, r, b, store, &message);
            b->valid = (reason == NULL);

            if (reason != NULL && first_reason == NULL) {
                first_reason = reason;
                first_message = message;
            }
        }

        message = NULL;
        reason = gw_graph_mirrors(g, r, rule, store, &message);
        if (reason != NULL && first_reason == NULL) {
            first_reason = reason;
            first_message = message;
        }

        /* an ExtensionRef of a kind we do not know (filter.c) */
        if (rule->extension != NULL && first_reason == NULL) {
            first_reason = "InvalidKind";
            first_message = gw_arena_printf(g->arena, "rule %zu: %s", i,
                                            rule->extension);
        }
    }

    if (r->kind == GW_KIND_HTTPROUTE) {
        gw_route_ext_rules(g, r);
    }

    r->resolved_refs.type = "ResolvedRefs";
    if (first_reason == NULL) {
        r->resolved_refs.status = "True";
        r->resolved_refs.reason = "ResolvedRefs";
        r->resolved_refs.message = "All references are resolved";
    } else {
        r->resolved_refs.status = "False";
        r->resolved_refs.reason = first_reason;
        r->resolved_refs.message = first_message;
    }
}
