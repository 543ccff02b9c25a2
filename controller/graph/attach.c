/*
 * ngx-gateway: routes attached to listeners: parentRefs, allowedRoutes
 * (namespaces, kinds), hostname intersection, and the route's Accepted
 * condition per parent.
 */

#include <string.h>

#include "dataplane/filter.h"
#include "graph/graph.h"


static gw_ggateway_t *
gw_graph_gateway(gw_graph_t *g, const char *ns, const char *name)
{
    size_t          i;
    gw_ggateway_t  *gw;

    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        if (strcmp(gw->obj->meta.namespace, ns) == 0
            && strcmp(gw->obj->meta.name, name) == 0)
        {
            return gw;
        }
    }

    return NULL;
}


static int
gw_listener_allows_ns(const gw_glistener_t *l, const gw_obj_t *route,
    const gw_store_t *store)
{
    gw_meta_t        synth;
    gw_label_t       label;
    const gw_obj_t  *ns;

    switch (l->spec->from) {
    case GW_FROM_ALL:
        return 1;
    case GW_FROM_SAME:
        return strcmp(route->meta.namespace, gw_listener_ns(l)) == 0;
    case GW_FROM_NONE:
        return 0;
    case GW_FROM_SELECTOR:
        break;
    }

    ns = gw_store_get(store, GW_KIND_NAMESPACE, "", route->meta.namespace);
    if (ns != NULL) {
        return gw_selector_matches(l->spec->selector, &ns->meta);
    }

    /* A namespace with no object of its own has only its name label. */
    memset(&synth, 0, sizeof(synth));
    label.key = "kubernetes.io/metadata.name";
    label.value = route->meta.namespace;
    synth.labels = &label;
    synth.nlabels = 1;

    return gw_selector_matches(l->spec->selector, &synth);
}


/* allowedRoutes.namespaces in words, for a refusal message. */
static const char *
gw_listener_from(gw_graph_t *g, const gw_glistener_t *l, const char *ns)
{
    size_t                i;
    const char           *words;
    const gw_selector_t  *sel;

    switch (l->spec->from) {
    case GW_FROM_ALL:
        return "routes from every namespace";
    case GW_FROM_SAME:
        return gw_arena_printf(g->arena, "routes from its %s's "
                               "namespace (%s) only",
                               gw_listener_owner_kind(l), gw_listener_ns(l));
    case GW_FROM_NONE:
        return "no routes (namespaces.from: None)";
    case GW_FROM_SELECTOR:
        break;
    }

    sel = l->spec->selector;
    words = "";
    for (i = 0; sel != NULL && i < sel->nmatch_labels; i++) {
        words = gw_arena_printf(g->arena, "%s%s%s=%s", words,
                                i ? ", " : "", sel->match_labels[i].key,
                                sel->match_labels[i].value);
    }
    if (sel != NULL && sel->nexprs > 0) {
        words = gw_arena_printf(g->arena, "%s%s%zu matchExpression%s",
                                words, sel->nmatch_labels ? " and " : "",
                                sel->nexprs, sel->nexprs > 1 ? "s" : "");
    }

    return gw_arena_printf(g->arena, "routes from namespaces labelled %s "
                           "(add the label to namespace %s, or change "
                           "allowedRoutes)", words, ns);
}


static int
gw_listener_allows_kind(const gw_glistener_t *l, const char *kind)
{
    size_t  i;

    for (i = 0; i < l->nkinds; i++) {
        if (strcmp(l->kinds[i], kind) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * 1 when the listener itself was refused (Accepted False: port taken,
 * protocol unsupported, conflict), as opposed to accepted but not
 * programmable (e.g. a bad certificate), where routes stay accepted.
 */
static int
gw_listener_refused(const gw_glistener_t *l)
{
    const gw_cond_t  *c;

    if (l == NULL) {
        return 0;
    }

    c = gw_conds_get(&l->conds, "Accepted");

    return c != NULL && strcmp(c->status, "False") == 0;
}


/* The route's hostnames as served on this listener; 0 = no intersection. */
static int
gw_route_hostnames(gw_graph_t *g, const gw_groute_t *r,
    const gw_glistener_t *l, gw_attach_t *at)
{
    size_t       i;
    const char  *h;

    at->hostnames = gw_arena_alloc(g->arena,
                                   (r->nhostnames + 1) * sizeof(char *));
    at->nhostnames = 0;

    if (r->nhostnames == 0) {
        if (l->spec->hostname != NULL) {
            at->hostnames[at->nhostnames++] = l->spec->hostname;
        }
        return 1;
    }

    for (i = 0; i < r->nhostnames; i++) {
        h = gw_hostname_intersect(l->spec->hostname, r->hostnames[i]);
        if (h != NULL) {
            at->hostnames[at->nhostnames++] = h;
        }
    }

    return at->nhostnames > 0;
}


/* An accepted route no listener serves: say so, as no condition does. */
static const char *
gw_route_unserved(gw_graph_t *g, const gw_groute_t *r)
{
    if (r->kind != GW_KIND_HTTPROUTE && r->kind != GW_KIND_GRPCROUTE) {
        return gw_arena_printf(g->arena, "Route is accepted; no traffic "
                               "reaches it yet: %ss are not implemented "
                               "in the data plane yet", r->kind_name);
    }

    return "Route is accepted; no traffic reaches it yet: the data plane "
           "does not serve its listeners (see their Programmed condition)";
}


/* 1 when every rule was refused for filters the spec calls incompatible. */
static int
gw_route_incompatible(const gw_groute_t *r)
{
    size_t  i;

    for (i = 0; i < r->nrules; i++) {
        if (r->rules[i].valid
            || r->rules[i].invalid_reason == NULL
            || strncmp(r->rules[i].invalid_reason, GW_DP_INCOMPATIBLE,
                       sizeof(GW_DP_INCOMPATIBLE) - 1) != 0)
        {
            return 0;
        }
    }

    return r->nrules > 0;
}


static void
gw_route_attach(gw_graph_t *g, gw_groute_t *r, gw_gparent_t *p,
    const gw_store_t *store)
{
    size_t           i, first, end;
    int              matched, allowed, hosts, attached, live, served;
    const char      *why, *pkind, *pns, *pname;
    gw_attach_t     *at;
    gw_glistener_t  *l, *refused;

    matched = allowed = hosts = attached = live = served = 0;
    refused = NULL;
    why = NULL;

    /* a Gateway parent's own listeners, or the ListenerSet's (GEP-1713) */
    first = p->lset ? p->lset->first : 0;
    end = p->lset ? first + p->lset->nlisteners : p->gateway->nown;
    pkind = p->lset ? "ListenerSet" : "Gateway";
    pns = p->lset ? p->lset->obj->meta.namespace
                  : p->gateway->obj->meta.namespace;
    pname = p->lset ? p->lset->obj->meta.name : p->gateway->obj->meta.name;

    for (i = first; i < end; i++) {
        l = &p->gateway->listeners[i];

        if ((p->ref->section_name != NULL
             && strcmp(p->ref->section_name, l->spec->name) != 0)
            || (p->ref->port != 0 && p->ref->port != l->spec->port))
        {
            continue;
        }
        matched++;

        if (!gw_listener_allows_kind(l, r->kind_name)) {
            why = gw_arena_printf(g->arena, "%s%slistener %s (%s) does not "
                                  "take %ss", why ? why : "",
                                  why ? "; " : "", l->spec->name,
                                  l->spec->protocol, r->kind_name);
            continue;
        }
        if (!gw_listener_allows_ns(l, r->obj, store)) {
            why = gw_arena_printf(g->arena, "%s%slistener %s allows %s",
                                  why ? why : "", why ? "; " : "",
                                  l->spec->name,
                                  gw_listener_from(g, l,
                                      r->obj->meta.namespace));
            continue;
        }
        allowed++;

        at = gw_arena_alloc(g->arena, sizeof(gw_attach_t));
        if (!gw_route_hostnames(g, r, l, at)) {
            continue;
        }
        hosts++;

        if (r->nvalid_rules == 0) {
            continue;
        }

        /* attachedRoutes counts it even on a refused listener (spec) */
        at->route = r;
        at->listener = l;
        gw_ptrs_push(g->arena, &l->attachments, at);
        l->attached++;
        attached++;

        if (l->accepted) {
            live++;
        } else if (refused == NULL) {
            refused = l;
        }

        served += gw_listener_serves(l, r->kind);
    }

    if (p->lset != NULL && gw_lset_detached(p->lset)) {
        /* its listeners are not the Gateway's: nothing to attach to */
        gw_conds_set(&p->conds, "Accepted", 0, "NoMatchingParent",
                     gw_arena_printf(g->arena, "ListenerSet %s/%s is not "
                         "accepted: %s", pns, pname,
                         gw_conds_get(&p->lset->conds, "Accepted")
                             ->message));
    } else if (matched == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NoMatchingParent",
                     p->ref->section_name != NULL
                     ? gw_arena_printf(g->arena, "%s %s has no "
                           "listener named %s%s", pkind, pname,
                           p->ref->section_name,
                           p->ref->port ? " on that port" : "")
                     : gw_arena_printf(g->arena, "%s %s has no "
                           "listener on port %d", pkind, pname,
                           p->ref->port));
    } else if (allowed == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NotAllowedByListeners",
                     gw_arena_printf(g->arena, "no listener of %s %s/%s "
                         "allows %ss from namespace %s: %s", pkind, pns,
                         pname, r->kind_name,
                         r->obj->meta.namespace, why));
    } else if (hosts == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NoMatchingListenerHostname",
                     "no hostname of the route matches a listener "
                     "hostname");
    } else if (attached == 0) {
        gw_conds_set(&p->conds, "Accepted", 0,
                     gw_route_incompatible(r) ? "IncompatibleFilters"
                                              : "UnsupportedValue",
                     r->invalid ? r->invalid : "no rule can be programmed");
    } else if (live == 0 && gw_listener_refused(refused)) {
        gw_conds_set(&p->conds, "Accepted", 0, "NotAllowedByListeners",
                     gw_arena_printf(g->arena, "listener %s of %s "
                         "%s/%s is not accepted (%s): %s",
                         refused->spec->name, pkind, pns, pname,
                         gw_conds_get(&refused->conds, "Accepted")->reason,
                         gw_conds_get(&refused->conds, "Accepted")->message));
    } else {
        p->accepted = 1;
        gw_conds_set(&p->conds, "Accepted", 1, "Accepted",
                     served > 0 ? "Route is accepted"
                     : gw_route_unserved(g, r));
    }

    gw_conds_set(&p->conds, "ResolvedRefs",
                 strcmp(r->resolved_refs.status, "True") == 0,
                 r->resolved_refs.reason, r->resolved_refs.message);

    if (p->accepted && r->nvalid_rules < r->nrules) {
        gw_conds_set(&p->conds, "PartiallyInvalid", 1, "UnsupportedValue",
                     gw_arena_printf(g->arena, "Dropped Rule(s): %s",
                                     r->invalid));
    }
}


int
gw_attach_cmp(const void *a, const void *b)
{
    const gw_attach_t  *x = *(gw_attach_t * const *) a;
    const gw_attach_t  *y = *(gw_attach_t * const *) b;

    if (gw_route_precedes(x->route->obj, y->route->obj)) {
        return -1;
    }

    return gw_route_precedes(y->route->obj, x->route->obj) ? 1 : 0;
}


/* A graph route for obj, with the parts every kind has. */
static gw_groute_t *
gw_graph_route_new(gw_graph_t *g, const gw_obj_t *obj)
{
    gw_groute_t  *r;

    r = gw_arena_alloc(g->arena, sizeof(gw_groute_t));
    r->obj = obj;
    r->kind = obj->kind;
    r->kind_name = gw_kind_name(obj->kind);

    switch (obj->kind) {
    case GW_KIND_HTTPROUTE:
        r->parent_refs = obj->u.httproute.parents;
        r->nparent_refs = obj->u.httproute.nparents;
        r->hostnames = obj->u.httproute.hostnames;
        r->nhostnames = obj->u.httproute.nhostnames;
        gw_route_rules(g, r);
        break;

    case GW_KIND_GRPCROUTE:
        r->parent_refs = obj->u.grpcroute.parents;
        r->nparent_refs = obj->u.grpcroute.nparents;
        r->hostnames = obj->u.grpcroute.hostnames;
        r->nhostnames = obj->u.grpcroute.nhostnames;
        gw_route_rules_other(g, r);
        break;

    default:
        r->parent_refs = obj->u.l4route.parents;
        r->nparent_refs = obj->u.l4route.nparents;
        r->hostnames = obj->u.l4route.hostnames;
        r->nhostnames = obj->u.l4route.nhostnames;
        gw_route_rules_other(g, r);
        break;
    }

    r->parents = gw_arena_alloc(g->arena, (r->nparent_refs + 1)
                                          * sizeof(gw_gparent_t));

    return r;
}


void
gw_graph_routes(gw_graph_t *g, const gw_store_t *store)
{
    size_t                  i, j, k, m;
    const char             *ns;
    gw_groute_t            *r;
    gw_glset_t             *ls;
    gw_gparent_t           *p;
    gw_ggateway_t          *gw;
    gw_glistener_t         *l;
    const gw_objlist_t     *list;
    const gw_parent_ref_t  *ref;
    static const gw_kind_e  kinds[] = {
        GW_KIND_HTTPROUTE, GW_KIND_GRPCROUTE, GW_KIND_TLSROUTE,
        GW_KIND_TCPROUTE, GW_KIND_UDPROUTE
    };

    for (m = 0; m < gw_countof(kinds); m++) {
        list = gw_store_list(store, kinds[m]);

        for (i = 0; i < list->n; i++) {
            r = gw_graph_route_new(g, list->items[i]);
            gw_graph_backends(g, r, store);

            for (j = 0; j < r->nparent_refs; j++) {
                ref = &r->parent_refs[j];
                ns = ref->namespace ? ref->namespace
                                    : r->obj->meta.namespace;
                ls = NULL;

                if (strcmp(ref->group, GW_GROUP) != 0) {
                    continue;
                }

                if (strcmp(ref->kind, "ListenerSet") == 0) {
                    ls = gw_graph_lset(g, ns, ref->name);
                    gw = ls ? ls->gateway : NULL;
                } else if (strcmp(ref->kind, "Gateway") == 0) {
                    gw = gw_graph_gateway(g, ns, ref->name);
                } else {
                    continue;
                }

                if (gw == NULL) {
                    continue;           /* not ours: no status entry */
                }

                p = &r->parents[r->nparents++];
                p->ref = ref;
                p->gateway = gw;
                p->lset = ls;
                gw_route_attach(g, r, p, store);
            }

            if (r->nparents > 0) {
                gw_ptrs_push(g->arena, &g->routes, r);
            }
        }
    }

    /* Listeners serve their routes in the spec's precedence order. */
    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        for (k = 0; k < gw->nlisteners; k++) {
            l = &gw->listeners[k];
            gw_ptrs_sort(&l->attachments, gw_attach_cmp);
        }
    }
}
