/*
 * ngx-gateway: graph construction and conditions.
 */

#include <string.h>

#include "graph/graph.h"


void
gw_conds_set(gw_conds_t *c, const char *type, int status, const char *reason,
    const char *message)
{
    size_t      i;
    gw_cond_t  *cond;

    cond = NULL;
    for (i = 0; i < c->n; i++) {
        if (strcmp(c->items[i].type, type) == 0) {
            cond = &c->items[i];
            break;
        }
    }

    if (cond == NULL) {
        if (c->n == GW_MAX_CONDS) {
            return;
        }
        cond = &c->items[c->n++];
    }

    cond->type = type;
    cond->status = status > 0 ? "True" : (status == 0 ? "False" : "Unknown");
    cond->reason = reason;
    cond->message = message;
}


const gw_cond_t *
gw_conds_get(const gw_conds_t *c, const char *type)
{
    size_t  i;

    for (i = 0; i < c->n; i++) {
        if (strcmp(c->items[i].type, type) == 0) {
            return &c->items[i];
        }
    }

    return NULL;
}


int
gw_route_precedes(const gw_obj_t *a, const gw_obj_t *b)
{
    int  rc;

    /* RFC 3339 timestamps in UTC compare as strings; "" sorts first. */
    rc = strcmp(a->meta.creation_timestamp, b->meta.creation_timestamp);
    if (rc != 0) {
        return rc < 0;
    }

    rc = strcmp(a->meta.namespace, b->meta.namespace);
    if (rc != 0) {
        return rc < 0;
    }

    return strcmp(a->meta.name, b->meta.name) < 0;
}


/*
 * SupportedVersion, when the Gateway API CRDs are visible (always in a
 * cluster; in standalone mode when the manifests include them): True when
 * every one carries a bundle-version of the release this controller
 * implements.  An older or newer release is served best effort: the class
 * stays Accepted and the condition says which CRD differs.
 */
static void
gw_class_supported_version(gw_graph_t *g, gw_gclass_t *c,
    const gw_store_t *store)
{
    size_t               i, seen;
    const char          *v;
    const gw_obj_t      *crd;
    const gw_objlist_t  *l;

    l = gw_store_list(store, GW_KIND_CRD);
    seen = 0;

    for (i = 0; i < l->n; i++) {
        crd = l->items[i];
        if (strcmp(crd->u.crd.group, GW_GROUP) != 0) {
            continue;
        }
        seen++;

        v = crd->u.crd.bundle_version;
        if (v == NULL || strncmp(v, GW_API_RELEASE ".", sizeof(GW_API_RELEASE))
                         != 0)
        {
            gw_conds_set(&c->conds, "SupportedVersion", 0,
                         "UnsupportedVersion",
                         gw_arena_printf(g->arena, "CRD %s has bundle-version "
                             "%s; this controller implements Gateway API "
                             GW_API_RELEASE ".x", crd->meta.name,
                             v ? v : "(none)"));
            return;
        }
    }

    if (seen > 0) {
        gw_conds_set(&c->conds, "SupportedVersion", 1, "SupportedVersion",
                     "Gateway API " GW_API_RELEASE " CRDs are installed");
    }
}


void
gw_graph_classes(gw_graph_t *g, const gw_store_t *store)
{
    size_t               i;
    gw_gclass_t         *c;
    const gw_obj_t      *obj;
    const gw_objlist_t  *l;

    l = gw_store_list(store, GW_KIND_GATEWAYCLASS);

    for (i = 0; i < l->n; i++) {
        obj = l->items[i];
        if (strcmp(obj->u.gatewayclass.controller_name, g->controller_name)
            != 0)
        {
            continue;
        }

        c = gw_arena_alloc(g->arena, sizeof(gw_gclass_t));
        c->obj = obj;

        if (obj->u.gatewayclass.parameters_ref != NULL) {
            gw_conds_set(&c->conds, "Accepted", 0, "InvalidParameters",
                         gw_arena_printf(g->arena, "parametersRef %s/%s is "
                             "not supported by this controller",
                             obj->u.gatewayclass.parameters_ref->kind,
                             obj->u.gatewayclass.parameters_ref->name));
        } else {
            c->accepted = 1;
            gw_conds_set(&c->conds, "Accepted", 1, "Accepted",
                         "GatewayClass is accepted");
        }

        gw_class_supported_version(g, c, store);

        gw_ptrs_push(g->arena, &g->classes, c);
    }
}


gw_graph_t *
gw_graph_build(gw_arena_t *a, const gw_store_t *store,
    const gw_graph_conf_t *conf)
{
    gw_graph_t  *g;

    g = gw_arena_alloc(a, sizeof(gw_graph_t));
    g->arena = a;
    g->controller_name = conf->controller_name;
    g->default_address = conf->default_address;
    g->served_secrets = conf->served_secrets;
    g->addr_usable = conf->addr_usable != NULL ? conf->addr_usable
                                               : gw_addr_host_has;

    gw_graph_classes(g, store);
    gw_graph_gateways(g, store);
    gw_graph_routes(g, store);
    gw_graph_policies(g, store);

    return g;
}
