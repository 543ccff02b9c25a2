/*
 * ngx-gateway: ListenerSets (GEP-1713): listeners that other teams attach
 * to a Gateway.  The Gateway admits a ListenerSet by its
 * spec.allowedListeners (None by default, Same, All, Selector on the
 * ListenerSet's namespace); the admitted ListenerSets' listeners join the
 * Gateway's listener list behind its own, ordered by ListenerSet creation
 * time then namespace/name, so the conflict rules let the Gateway's
 * listeners win, then older ListenerSets'.  From there on they are
 * listeners like the Gateway's own: the same checks, the same data plane;
 * only routes with a parentRef to the ListenerSet attach to them.
 */

#include <string.h>

#include "graph/graph.h"


const char *
gw_listener_ns(const gw_glistener_t *l)
{
    return l->lset != NULL ? l->lset->obj->meta.namespace
                           : l->gateway->obj->meta.namespace;
}


const char *
gw_listener_owner_kind(const gw_glistener_t *l)
{
    return l->lset != NULL ? "ListenerSet" : "Gateway";
}


gw_glset_t *
gw_graph_lset(gw_graph_t *g, const char *ns, const char *name)
{
    size_t       i;
    gw_glset_t  *ls;

    for (i = 0; i < g->lsets.n; i++) {
        ls = g->lsets.items[i];
        if (strcmp(ls->obj->meta.namespace, ns) == 0
            && strcmp(ls->obj->meta.name, name) == 0)
        {
            return ls;
        }
    }

    return NULL;
}


int
gw_lset_detached(const gw_glset_t *ls)
{
    return !ls->allowed || !ls->gateway->accepted;
}


/* spec.allowedListeners.namespaces of gw against namespace ns. */
static int
gw_lset_allowed(const gw_ggateway_t *gw, const char *ns,
    const gw_store_t *store)
{
    gw_meta_t             synth;
    gw_label_t            label;
    const gw_obj_t       *nsobj;
    const gw_gateway_t   *spec;

    spec = &gw->obj->u.gateway;

    switch (spec->lsets_from) {
    case GW_FROM_ALL:
        return 1;
    case GW_FROM_SAME:
        return strcmp(ns, gw->obj->meta.namespace) == 0;
    case GW_FROM_NONE:
        return 0;
    case GW_FROM_SELECTOR:
        break;
    }

    nsobj = gw_store_get(store, GW_KIND_NAMESPACE, "", ns);
    if (nsobj != NULL) {
        return gw_selector_matches(spec->lsets_selector, &nsobj->meta);
    }

    /* A namespace with no object of its own has only its name label. */
    memset(&synth, 0, sizeof(synth));
    label.key = "kubernetes.io/metadata.name";
    label.value = ns;
    synth.labels = &label;
    synth.nlabels = 1;

    return gw_selector_matches(spec->lsets_selector, &synth);
}


static int
gw_lset_cmp(const void *a, const void *b)
{
    const gw_glset_t  *x = *(gw_glset_t * const *) a;
    const gw_glset_t  *y = *(gw_glset_t * const *) b;

    if (gw_route_precedes(x->obj, y->obj)) {
        return -1;
    }

    return gw_route_precedes(y->obj, x->obj) ? 1 : 0;
}


void
gw_lsets_join(gw_graph_t *g, gw_ggateway_t *gw, const gw_store_t *store)
{
    size_t                   i, j, n, total;
    const char              *ns;
    gw_ptrs_t                mine;
    gw_glset_t              *ls;
    gw_glistener_t          *all, *l;
    const gw_obj_t          *obj;
    const gw_objlist_t      *list;
    const gw_listenerset_t  *spec;

    memset(&mine, 0, sizeof(mine));
    list = gw_store_list(store, GW_KIND_LISTENERSET);
    total = gw->nlisteners;

    for (i = 0; i < list->n; i++) {
        obj = list->items[i];
        spec = &obj->u.listenerset;
        ns = spec->namespace ? spec->namespace : obj->meta.namespace;

        if (strcmp(spec->group, GW_GROUP) != 0
            || strcmp(spec->kind, "Gateway") != 0
            || strcmp(ns, gw->obj->meta.namespace) != 0
            || strcmp(spec->name, gw->obj->meta.name) != 0)
        {
            continue;
        }

        ls = gw_arena_alloc(g->arena, sizeof(gw_glset_t));
        ls->obj = obj;
        ls->gateway = gw;
        ls->allowed = gw_lset_allowed(gw, obj->meta.namespace, store);
        gw_ptrs_push(g->arena, &g->lsets, ls);

        if (ls->allowed) {
            gw_ptrs_push(g->arena, &mine, ls);
            total += spec->nlisteners;
        }
    }

    if (mine.n == 0) {
        return;
    }

    gw_ptrs_sort(&mine, gw_lset_cmp);

    /* nothing points into the Gateway's listeners yet: move them */
    all = gw_arena_alloc(g->arena, total * sizeof(gw_glistener_t));
    memcpy(all, gw->listeners, gw->nlisteners * sizeof(gw_glistener_t));
    gw->listeners = all;

    n = gw->nlisteners;
    for (i = 0; i < mine.n; i++) {
        ls = mine.items[i];
        spec = &ls->obj->u.listenerset;
        ls->first = n;
        ls->nlisteners = spec->nlisteners;

        for (j = 0; j < spec->nlisteners; j++) {
            l = &all[n++];
            l->spec = &spec->listeners[j];
            l->gateway = gw;
            l->lset = ls;
            gw_listener_check(g, l, store);
        }
    }

    gw->nlisteners = n;
}


/* A listener the ListenerSet counts as valid: accepted, references ok. */
static int
gw_lset_listener_valid(const gw_glistener_t *l)
{
    const gw_cond_t  *a, *r;

    a = gw_conds_get(&l->conds, "Accepted");
    r = gw_conds_get(&l->conds, "ResolvedRefs");

    return l->accepted && a != NULL && strcmp(a->status, "True") == 0
           && (r == NULL || strcmp(r->status, "True") == 0
               || strcmp(r->reason, "InvalidRouteKinds") == 0);
}


static void
gw_lset_refuse(gw_glset_t *ls, const char *reason, const char *msg)
{
    size_t  i;

    ls->accepted = 0;
    gw_conds_set(&ls->conds, "Accepted", 0, reason, msg);
    gw_conds_set(&ls->conds, "Programmed", 0, reason, msg);

    for (i = 0; i < ls->nlisteners; i++) {
        ls->gateway->listeners[ls->first + i].accepted = 0;
    }
}


void
gw_lsets_summary(gw_graph_t *g)
{
    size_t           i, j, valid, served;
    gw_glset_t      *ls;
    gw_ggateway_t   *gw;
    gw_glistener_t  *l;

    for (i = 0; i < g->lsets.n; i++) {
        ls = g->lsets.items[i];
        gw = ls->gateway;

        if (!ls->allowed) {
            gw_lset_refuse(ls, "NotAllowed", gw_arena_printf(g->arena,
                           "Gateway %s/%s does not allow ListenerSets from "
                           "namespace %s (spec.allowedListeners)",
                           gw->obj->meta.namespace, gw->obj->meta.name,
                           ls->obj->meta.namespace));
            continue;
        }

        if (!gw->accepted) {
            gw_lset_refuse(ls, "ParentNotAccepted", gw_arena_printf(
                           g->arena, "Gateway %s/%s is not accepted",
                           gw->obj->meta.namespace, gw->obj->meta.name));
            continue;
        }

        valid = served = 0;
        for (j = 0; j < ls->nlisteners; j++) {
            l = &gw->listeners[ls->first + j];
            if (gw_lset_listener_valid(l)) {
                valid++;
                served += l->served || l->stream;
            }
        }

        if (valid == 0) {
            gw_lset_refuse(ls, "ListenersNotValid", "no listener is valid "
                           "(see the listeners' conditions)");
            continue;
        }

        ls->accepted = 1;
        gw->attached_lsets++;

        if (valid < ls->nlisteners) {
            gw_conds_set(&ls->conds, "Accepted", 1, "ListenersNotValid",
                         gw_arena_printf(g->arena, "%zu of %zu listeners "
                             "are not valid", ls->nlisteners - valid,
                             ls->nlisteners));
        } else {
            gw_conds_set(&ls->conds, "Accepted", 1, "Accepted",
                         "ListenerSet is accepted");
        }

        if (served > 0) {
            gw_conds_set(&ls->conds, "Programmed", 1, "Programmed",
                         "ListenerSet is programmed");
        } else {
            gw_conds_set(&ls->conds, "Programmed", 0, "Pending",
                         "no listener is served by the data plane yet");
        }
    }
}
